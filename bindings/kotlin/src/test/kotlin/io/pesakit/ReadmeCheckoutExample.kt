package io.pesakit

import java.math.BigDecimal
import kotlin.time.Duration.Companion.seconds

// The gateway is white-label: pass your deployment's base URL (the emulator's is
// "http://127.0.0.1:PORT/checkout", with CheckoutOptions(allowInsecureLoopback = true)), or
// use CheckoutClient.fromEnv() with PAYMENT_BASE_URL, PAYMENT_CLIENT_ID, PAYMENT_CLIENT_TOKEN
// and WEBHOOK_SECRET set.
fun shopCheckout(
    baseUrl: String,
    clientToken: String, // scopes payments.create and payments.get (or *)
    clientId: String, // the payment application's 32-character client id
    webhookSecret: String,
    options: CheckoutOptions = CheckoutOptions(),
): CheckoutClient = CheckoutClient(
    baseUrl,
    clientToken = clientToken,
    webhookSecret = webhookSecret,
    options = options.copy(clientId = clientId).apply { requestTimeout = 15.seconds },
)

/** Starts a payment; send the payer to the returned page. 100.50 USD goes out as 10050 cents. */
suspend fun startCheckout(checkout: CheckoutClient, orderId: String): String = try {
    checkout.createCheckout(CheckoutRequest(amount = BigDecimal("100.50"), currency = "USD", reference = orderId)).checkoutUrl
} catch (e: PesakitException) {
    // Not retried once it may have arrived (the gateway has no idempotency key): the message
    // says what to check first. A 422 lists the gateway's complaints in e.fieldErrors.
    println("checkout for $orderId failed: ${e.message} ${e.fieldErrors}")
    throw e
}

/**
 * Your webhook endpoint, given the raw body and a header lookup (with the JDK's HTTP server:
 * `{ exchange.requestHeaders.getFirst(it) }`): the payment once it is paid. Deliveries
 * repeat, so act once per (payment id, event).
 */
fun onCheckoutWebhook(checkout: CheckoutClient, rawBody: ByteArray, header: (String) -> String?): Payment? =
    (checkout.webhookVerifier() ?: error("no webhook secret")).use { verifier ->
        // Forged, altered or replayed (signed over 5 minutes ago): PesakitException.WebhookSignature.
        val event = verifier.verifyAndParse(rawBody, header)
        event.payment.takeIf { event.kind == CheckoutEventKind.PAYMENT_COMPLETED }
    }

/** The blocking twin, from a thread that is not a coroutine: where the payment stands. */
fun checkoutStatus(checkout: CheckoutClient, paymentId: String): PaymentStatus =
    checkout.getPaymentBlocking(paymentId).status

/**
 * Dashboard calls take the tokens of an OAuth sign-in:
 * `CheckoutOAuth(accessToken, clientId = oauthClientId, refreshToken = refreshToken, clientSecret = oauthClientSecret)`.
 * pesakit refreshes them when they expire and keeps the rotated ones in `store`.
 */
suspend fun applicationNames(baseUrl: String, oauth: CheckoutOAuth, store: TokenStore, options: CheckoutOptions = CheckoutOptions()): List<String> =
    CheckoutClient(baseUrl, oauth = oauth, options = options, tokenStore = store).use { dashboard ->
        dashboard.paymentApplications().map { it.name }
    }
