package io.pesakit

import java.math.BigDecimal
import kotlin.time.Duration.Companion.seconds

// Credentials come from PAYPACK_CLIENT_ID and PAYPACK_CLIENT_SECRET. `options` chooses the
// gateway: leave it out for production, or point it at the local emulator:
//   PaypackOptions(baseUrl = "http://127.0.0.1:PORT/paypack/api", allowInsecureLoopback = true)

/** Coroutines: every call is a `suspend fun`. */
suspend fun collectPayment(options: PaypackOptions = PaypackOptions()): Transaction =
    PaypackClient.fromEnv(options).use { client ->
        val pending = client.cashin(CashRequest(amount = BigDecimal("1000"), number = "0788123456"))
        println("waiting for the customer to confirm ${pending.reference}")
        client.waitForCompletion(pending.reference, timeout = 120.seconds)
    }

/** Plain JVM threads: the same calls, each with a `Blocking` twin. */
fun collectPaymentBlocking(options: PaypackOptions = PaypackOptions()): Transaction =
    PaypackClient.fromEnv(options).use { client ->
        try {
            val pending = client.cashinBlocking(CashRequest(amount = BigDecimal("1000"), number = "0788123456"))
            client.waitForCompletionBlocking(pending.reference, timeout = 120.seconds)
        } catch (e: PesakitException) {
            println("payment failed: ${e.message}") // a sentence; e.kind, e.status, e.body for code
            throw e
        }
    }
