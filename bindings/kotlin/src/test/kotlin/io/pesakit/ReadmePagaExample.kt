package io.pesakit

import java.math.BigDecimal

/**
 * Send a Paga user to approve, handle their return, charge them. [browser] stands for the
 * user's browser: it opens Paga's URL and returns the URL Paga sends them back to.
 */
suspend fun chargeThroughPaga(options: PagaOptions, browser: (String) -> String): PagaPaymentResult =
    PagaClient("demo-paga-client", "demo-paga-secret", "https://shop.example/paga/callback", options).use { paga ->
        // 1. Send the user to Paga; keep the authorization (its state) in their session.
        val authorization = paga.authorizationUrl(listOf("MERCHANT_PAYMENT"), listOf("FIRST_NAME"))
        val callbackUrl = browser(authorization.url())

        // 2. Your callback handler: checks the state, exchanges the code, stores the tokens.
        paga.handleCallback(callbackUrl, authorization, "customer-42")

        // 3. Charge them, now or later, by the key their tokens were stored under.
        val request = PagaMerchantPaymentRequest(newPagaReferenceNumber(), BigDecimal("1500"), "customer-42")
        paga.merchantPayment("customer-42", request)
    }
