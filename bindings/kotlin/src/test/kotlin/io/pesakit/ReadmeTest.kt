package io.pesakit

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.math.BigDecimal

class ReadmeTest {
    private val kotlinDir = File(repoRoot, "bindings/kotlin")

    /** The ```kotlin block between `<!-- [marker]:start -->` and `<!-- [marker]:end -->` must be [file], verbatim. */
    private fun assertReadmeShows(marker: String, file: String) {
        val readme = File(kotlinDir, "README.md").readText()
        val start = "<!-- $marker:start -->"
        val end = "<!-- $marker:end -->"
        assertTrue(readme.contains(start) && readme.contains(end), "README.md has the $marker markers")
        val block = readme.substringAfter(start).substringBefore(end).trim()
        assertTrue(block.startsWith("```kotlin\n") && block.endsWith("\n```"), "the example is one ```kotlin block")
        val shown = block.removePrefix("```kotlin\n").removeSuffix("```")
        val source = File(kotlinDir, "src/test/kotlin/io/pesakit/$file").readText()
        assertEquals(source.trimEnd(), shown.trimEnd(), "README.md's example differs from $file: copy the file into the README")
    }

    @Test
    fun `the README shows exactly ReadmeExample kt`() = assertReadmeShows("kotlin-example", "ReadmeExample.kt")

    @Test
    fun `the README's Paga section shows exactly ReadmePagaExample kt`() =
        assertReadmeShows("kotlin-paga-example", "ReadmePagaExample.kt")

    @Test
    fun `the Paga README example runs against the emulator`() {
        Sandbox.start().use { sandbox ->
            val paid = runBlocking { chargeThroughPaga(pagaOptions(sandbox)) { url -> pagaBrowse(url) } }
            assertEquals(0, BigDecimal("1500").compareTo(paid.amount!!))
            assertTrue(paid.transactionId != null)
        }
    }

    @Test
    fun `the README's hosted-checkout section shows exactly ReadmeCheckoutExample kt`() =
        assertReadmeShows("kotlin-checkout-example", "ReadmeCheckoutExample.kt")

    @Test
    fun `the hosted-checkout README example runs against the emulator`() {
        WebhookReceiver().use { receiver ->
            Sandbox.start().use { sandbox ->
                sandbox.control("POST", "/_sandbox/checkout/config", buildJsonObject { put("callback_url", JsonPrimitive(receiver.url)) })
                val options = CheckoutOptions(allowInsecureLoopback = true)
                shopCheckout(sandbox.checkoutBaseUrl, CHECKOUT_TOKEN, CHECKOUT_CLIENT_ID, CHECKOUT_WEBHOOK_SECRET, options).use { checkout ->
                    val url = runBlocking { startCheckout(checkout, "order-42") }
                    val payment = sandbox.checkoutLedger()["payments"]!!.jsonArray.single().jsonObject
                    val paymentId = payment.str("id")!!
                    assertTrue(url.contains(paymentId), url)
                    assertEquals("10050", payment["amount"]!!.jsonObject.str("amount"))
                    assertEquals(PaymentStatus.OPEN, checkoutStatus(checkout, paymentId))

                    sandbox.paymentStatus(paymentId, "CONFIRMED")
                    val delivery = receiver.next()
                    val paid = onCheckoutWebhook(checkout, delivery.body) { delivery.header(it) }
                    assertEquals(paymentId, paid?.id)
                    assertEquals(PaymentStatus.CONFIRMED, checkoutStatus(checkout, paymentId))
                    assertThrows<PesakitException.WebhookSignature> {
                        onCheckoutWebhook(checkout, delivery.body + ' '.code.toByte()) { delivery.header(it) }
                    }
                }
                sandbox.signIn().oauth().use { oauth ->
                    assertEquals(listOf("Demo shop"), runBlocking { applicationNames(sandbox.checkoutBaseUrl, oauth, MapTokenStore(), options) })
                }
            }
        }
    }

    @Test
    fun `the README example runs against the emulator`() {
        // Surefire sets PAYPACK_CLIENT_ID / PAYPACK_CLIENT_SECRET (see pom.xml): a JVM cannot set its own environment.
        assertEquals(CLIENT_ID, System.getenv("PAYPACK_CLIENT_ID"), "run through Maven (surefire sets the credentials)")
        Sandbox.start().use { sandbox ->
            // Let the emulator's customers confirm by themselves, quickly.
            sandbox.control("POST", "/_sandbox/paypack/config", buildJsonObject { put("settle_after_ms", JsonPrimitive(50)) })
            val options = PaypackOptions(baseUrl = sandbox.paypackBaseUrl, allowInsecureLoopback = true, pollIntervalMs = 20u)

            val viaCoroutines = runBlocking { collectPayment(options) }
            assertEquals(TransactionStatus.SUCCESSFUL, viaCoroutines.status)
            assertEquals(0, BigDecimal("1000").compareTo(viaCoroutines.amount))

            val viaThreads = collectPaymentBlocking(options)
            assertEquals(TransactionStatus.SUCCESSFUL, viaThreads.status)
            assertEquals(2, sandbox.ledger()["transactions"]!!.let { (it as kotlinx.serialization.json.JsonArray).size })
        }
    }
}
