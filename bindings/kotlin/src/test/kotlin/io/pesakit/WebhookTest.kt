package io.pesakit

import com.sun.net.httpserver.HttpServer
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import kotlin.test.assertNotNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.math.BigDecimal
import java.net.InetSocketAddress
import java.time.Instant
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

class WebhookTest {
    private val body = """{"event_id":"f6e775c6-1d1f-4b7a-9d7a-2b9d1f6c3e10","event_kind":"transaction:processed",""" +
        """"created_at":"2022-01-03T15:22:29.430397Z","data":{"ref":"b2c3","kind":"CASHIN","fee":18.4,""" +
        """"merchant":"4Q6UHJ","client":"0780633340","amount":800,"status":"successful",""" +
        """"created_at":"2022-01-03T17:22:02.7422568+02:00","processed_at":"2022-01-03T17:22:29.43022813+02:00"}}"""

    @Test
    fun `a valid signature verifies and parses the event`() {
        PaypackWebhookVerifier(WEBHOOK_SECRET).use { verifier ->
            val bytes = body.toByteArray()
            val event = verifier.verifyAndParse(bytes, verifier.sign(bytes))
            assertEquals("f6e775c6-1d1f-4b7a-9d7a-2b9d1f6c3e10", event.id)
            assertEquals(EventKind.TRANSACTION_PROCESSED, event.kind)
            assertEquals(Instant.parse("2022-01-03T15:22:29.430397Z"), event.createdAt)
            val tx = event.transaction
            assertEquals(TransactionStatus.SUCCESSFUL, tx.status)
            assertEquals(0, BigDecimal("800").compareTo(tx.amount))
            assertEquals(0, BigDecimal("18.4").compareTo(tx.fee))
            assertEquals(Instant.parse("2022-01-03T15:22:02.742256800Z"), tx.createdAt)
            assertEquals(Instant.parse("2022-01-03T15:22:29.430228130Z"), tx.processedAt)
            verifier.verify(bytes, verifier.sign(bytes))
            assertEquals("X-Paypack-Signature", verifier.signatureHeader())
        }
    }

    @Test
    fun `tampered, wrong and missing signatures are refused`() {
        PaypackWebhookVerifier(WEBHOOK_SECRET).use { verifier ->
            val bytes = body.toByteArray()
            val signature = verifier.sign(bytes)
            val tampered = body.replace("\"amount\":800", "\"amount\":900").toByteArray()
            val cases = mapOf(
                "tampered body" to (tampered to signature),
                "tampered signature" to (bytes to (if (signature[0] == 'A') "B" else "A") + signature.drop(1)),
                "missing signature" to (bytes to null),
                "garbage signature" to (bytes to "not base64 at all!"),
                "wrong secret" to (bytes to PaypackWebhookVerifier("not-the-secret").use { it.sign(bytes) }),
            )
            for ((name, case) in cases) {
                val e = assertThrows<PesakitException.WebhookSignature>(name) { verifier.verifyAndParse(case.first, case.second) }
                assertSentence(e)
                assertEquals(ErrorKind.WEBHOOK_SIGNATURE, e.kind)
                assertThrows<PesakitException.WebhookSignature>(name) { verifier.verify(case.first, case.second) }
            }
        }
    }

    @Test
    fun `printing a verifier shows no secret`() {
        PaypackWebhookVerifier("super-secret-webhook-key").use { verifier ->
            assertFalse(verifier.toString().contains("super-secret-webhook-key"), verifier.toString())
        }
    }

    @Test
    fun `webhooks delivered by the emulator verify over their raw bytes`() {
        val received = LinkedBlockingQueue<Pair<ByteArray, String?>>()
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/hook") { exchange ->
            if (exchange.requestMethod == "POST") {
                received += exchange.requestBody.readBytes() to exchange.requestHeaders.getFirst("X-Paypack-Signature")
            }
            exchange.sendResponseHeaders(200, -1)
            exchange.close()
        }
        server.start()
        try {
            Sandbox.start().use { sandbox ->
                sandbox.control("POST", "/_sandbox/paypack/webhooks", buildJsonObject {
                    put("url", JsonPrimitive("http://127.0.0.1:${server.address.port}/hook"))
                })
                testClient(sandbox).use { client ->
                    val tx = client.cashinBlocking(CashRequest(BigDecimal("2500"), "0788123456"))
                    sandbox.settle(tx.reference, "successful")
                    PaypackWebhookVerifier(WEBHOOK_SECRET).use { verifier ->
                        val events = (1..2).map {
                            val (bytes, signature) = assertNotNull(received.poll(30, TimeUnit.SECONDS), "webhook $it arrived")
                            verifier.verifyAndParse(bytes, signature)
                        }
                        assertEquals(setOf(EventKind.TRANSACTION_CREATED, EventKind.TRANSACTION_PROCESSED), events.map { it.kind }.toSet())
                        events.forEach { assertEquals(tx.reference, it.transaction.reference) }
                        assertEquals(0, BigDecimal("2500").compareTo(events.first().transaction.amount))
                    }
                }
            }
        } finally {
            server.stop(0)
        }
    }
}
