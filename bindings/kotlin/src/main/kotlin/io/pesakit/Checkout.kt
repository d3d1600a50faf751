package io.pesakit

import java.time.Instant

// Kotlin conveniences over the hosted-checkout webhook verifier. The verification itself
// (constant-time HMAC over "{timestamp}.{raw body}", tolerance window, parsing) is the
// Rust core's; these only read the headers and convert the time types.

/** The headers a hosted-checkout webhook arrives with (HTTP header names are case-insensitive). */
object CheckoutWebhookHeaders {
    /** The event name (`payment.completed`, …). */
    const val EVENT: String = "X-PaymentService-Event"

    /** When the gateway signed the delivery, in unix seconds. */
    const val TIMESTAMP: String = "X-PaymentService-Timestamp"

    /** Lowercase hex HMAC-SHA256 over `"{timestamp}.{raw body}"`. */
    const val SIGNATURE: String = "X-PaymentService-Signature"
}

/**
 * Verifies the raw [body] of a delivery whose headers [header] returns by name (`null` when
 * absent), then parses it: `verifier.verifyAndParse(bytes) { exchange.requestHeaders.getFirst(it) }`.
 * A bad, missing or stale signature is a [PesakitException.WebhookSignature] and nothing is parsed.
 */
fun CheckoutWebhookVerifier.verifyAndParse(body: ByteArray, header: (name: String) -> String?): CheckoutWebhookEvent =
    verifyAndParse(
        body,
        header(CheckoutWebhookHeaders.SIGNATURE),
        header(CheckoutWebhookHeaders.TIMESTAMP),
        header(CheckoutWebhookHeaders.EVENT),
    )

/** [verifyAndParse] as if the time were [now] (replays of stored deliveries, tests). */
fun CheckoutWebhookVerifier.verifyAndParseAt(body: ByteArray, now: Instant, header: (name: String) -> String?): CheckoutWebhookEvent =
    verifyAndParseAt(
        body,
        header(CheckoutWebhookHeaders.SIGNATURE),
        header(CheckoutWebhookHeaders.TIMESTAMP),
        now,
        header(CheckoutWebhookHeaders.EVENT),
    )

/** The signature the gateway sends for [body] signed at [signedAt] (to the second). */
fun CheckoutWebhookVerifier.sign(signedAt: Instant, body: ByteArray): String = sign(signedAt.epochSecond, body)
