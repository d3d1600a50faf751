package io.pesakit

import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import kotlin.test.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.math.BigDecimal
import java.time.Duration as JavaDuration
import java.time.Instant
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class ClientTest {
    @Test
    fun `suspend operations move money and read it back`() {
        runBlocking {
            Sandbox.start().use { sandbox ->
                testClient(sandbox).use { client ->
                    val before = Instant.now().minusSeconds(5)
                    val expires = client.authorize()
                    assertTrue(expires.isAfter(Instant.now()), "the token expires in the future: $expires")

                    val pending = client.cashin(CashRequest(amount = BigDecimal("1000"), number = "0788123456"))
                    assertEquals(TransactionStatus.PENDING, pending.status)
                    assertEquals(TransactionKind.CASH_IN, pending.kind)
                    assertEquals(0, BigDecimal("1000").compareTo(pending.amount))
                    assertEquals("mtn", pending.provider)
                    val created = assertNotNull(pending.createdAt)
                    assertTrue(created.isAfter(before) && created.isBefore(Instant.now().plusSeconds(5)), "created_at $created")

                    sandbox.settle(pending.reference, "successful")
                    val done = client.waitForCompletion(pending.reference, 10.seconds)
                    assertEquals(TransactionStatus.SUCCESSFUL, done.status)
                    assertEquals("successful", done.statusRaw)
                    // 2.3 % of 1000, exactly: BigDecimal all the way.
                    assertEquals(0, BigDecimal("23").compareTo(done.fee))
                    assertNotNull(done.createdAt)

                    val found = client.find(pending.reference)
                    assertEquals(pending.reference, found.reference)
                    assertEquals("0788123456", found.client)

                    val profile = client.profile()
                    assertEquals("Sandbox Merchant demo-client-id", profile.name)
                    assertEquals(0, BigDecimal("100977").compareTo(profile.mtnBalance))
                    assertEquals(0, BigDecimal("0.023").compareTo(profile.inRate))

                    val cashout = client.cashout(CashRequest(amount = BigDecimal("150.50"), number = "+250 72 312 3456"))
                    assertEquals(TransactionKind.CASH_OUT, cashout.kind)
                    assertEquals("airtel", cashout.provider)
                    assertEquals(0, BigDecimal("150.5").compareTo(cashout.amount))
                }
            }
        }
    }

    @Test
    fun `blocking operations work from a plain thread`() {
        Sandbox.start().use { sandbox ->
            testClient(sandbox).use { client ->
                val pending = client.cashinBlocking(CashRequest(BigDecimal("118.40"), "0730000000"))
                sandbox.settle(pending.reference)
                val done = client.waitForCompletionBlocking(pending.reference, 10.seconds)
                // A number ending in 0000 always fails in the emulator.
                assertEquals(TransactionStatus.FAILED, done.status)
                assertEquals(0, BigDecimal("118.4").compareTo(done.amount))
                assertEquals(done.reference, client.findBlocking(pending.reference).reference)

                val page = client.listTransactionsBlocking(TransactionFilter(limit = 10u))
                assertEquals(1uL, page.total)
                assertEquals(listOf(pending.reference), page.transactions.map { it.reference })
                assertTrue(client.profileBlocking().balance > BigDecimal.ZERO)
                assertTrue(client.authorizeBlocking().isAfter(Instant.now()))
                assertEquals(1, sandbox.authorizeCount(), "one token served every call")
            }
        }
    }

    @Test
    fun `waiting for a pending transaction times out with a Timeout error`() {
        Sandbox.start().use { sandbox ->
            testClient(sandbox).use { client ->
                val pending = client.cashinBlocking(CashRequest(BigDecimal("500"), "0788123456"))
                val e = assertThrows<PesakitException.Timeout> { client.waitForCompletionBlocking(pending.reference, 200.milliseconds) }
                assertEquals(ErrorKind.TIMEOUT, e.kind)
            }
        }
    }

    @Test
    fun `cancelling the coroutine cancels the call`() {
        Sandbox.start().use { sandbox ->
            testClient(sandbox).use { client ->
                val pending = client.cashinBlocking(CashRequest(BigDecimal("500"), "0788123456"))
                runBlocking {
                    val took = kotlin.time.measureTime {
                        val result = kotlinx.coroutines.withTimeoutOrNull(300.milliseconds) {
                            client.waitForCompletion(pending.reference, 120.seconds)
                        }
                        assertNull(result, "the wait was cancelled, not completed")
                    }
                    assertTrue(took < 30.seconds, "cancellation returned promptly ($took), not after the 120 s timeout")
                }
                // The client is still usable after a cancelled call.
                sandbox.settle(pending.reference, "successful")
                assertEquals(TransactionStatus.SUCCESSFUL, client.waitForCompletionBlocking(pending.reference, 10.seconds).status)
            }
        }
    }

    @Test
    fun `concurrent suspend calls share one authorization`() {
        runBlocking {
            Sandbox.start().use { sandbox ->
                testClient(sandbox).use { client ->
                    val refs = coroutineScope {
                        (1..8).map { async { client.cashin(CashRequest(BigDecimal(100 + it), "0788123456")).reference } }.awaitAll()
                    }
                    assertEquals(8, refs.toSet().size)
                    assertEquals(1, sandbox.authorizeCount())
                    assertEquals(8, sandbox.ledger()["transactions"]!!.jsonArray.size)
                }
            }
        }
    }

    @Test
    fun `errors print their sentence and carry the gateway's answer`() {
        Sandbox.start().use { sandbox ->
            // Refused by the gateway: status, gateway message and body are set.
            testClient(sandbox).use { client ->
                val e = assertThrows<PesakitException.Validation> {
                    client.cashinBlocking(CashRequest(BigDecimal("1000"), "0712345678", validate = false))
                }
                assertSentence(e)
                assertEquals(ErrorKind.VALIDATION, e.kind)
                assertEquals(400.toUShort(), e.status)
                assertNotNull(e.gatewayMessage)
                assertTrue(e.body!!.contains(e.gatewayMessage), "body ${e.body} carries the gateway's message")
                assertTrue(e.summary.contains(e.gatewayMessage), "the sentence quotes the gateway: ${e.summary}")

                // The same through the base type's extension properties.
                val base: PesakitException = e
                assertEquals(ErrorKind.VALIDATION, base.kind)
                assertEquals(400.toUShort(), base.status)

                // Refused before sending: no status, no body.
                val local = assertThrows<PesakitException.Validation> {
                    client.cashinBlocking(CashRequest(BigDecimal("1000"), "12345"))
                }
                assertSentence(local)
                assertNull(local.status)
                assertNull(local.body)

                val notFound = assertThrows<PesakitException.NotFound> { runBlocking { client.find("no-such-reference") } }
                assertSentence(notFound)
                assertEquals(404.toUShort(), notFound.status)
                assertEquals(ErrorKind.NOT_FOUND, notFound.kind)
            }

            testClient(sandbox, clientSecret = "wrong-secret").use { client ->
                val e = assertThrows<PesakitException.Authentication> { client.profileBlocking() }
                assertSentence(e)
                assertEquals(401.toUShort(), e.status)
                assertEquals("invalid client credentials", e.gatewayMessage)
                // Answers of the token endpoints are never kept as `body` (they may carry tokens).
                assertFalse(e.toString().contains("wrong-secret"))
            }

            sandbox.fault(kotlinx.serialization.json.buildJsonObject {
                put("path", kotlinx.serialization.json.JsonPrimitive("/paypack/api/merchants/me"))
                put("kind", kotlinx.serialization.json.JsonPrimitive("status"))
                put("status", kotlinx.serialization.json.JsonPrimitive(429))
                put("retry_after", kotlinx.serialization.json.JsonPrimitive(7))
                put("count", kotlinx.serialization.json.JsonPrimitive(10))
            })
            val options = testOptions(sandbox).apply { maxRetries = 0u }
            PaypackClient(CLIENT_ID, CLIENT_SECRET, options).use { client ->
                val e = assertThrows<PesakitException.RateLimited> { client.profileBlocking() }
                assertSentence(e)
                assertEquals(7000uL, e.retryAfterMs)
                assertEquals(7.seconds, e.retryAfter)
            }
        }
    }

    @Test
    fun `plain http to a non-loopback host is a configuration error`() {
        val e = assertThrows<PesakitException.Configuration> {
            PaypackClient(CLIENT_ID, CLIENT_SECRET, PaypackOptions(baseUrl = "http://example.com/api", allowInsecureLoopback = true))
        }
        assertSentence(e)
        val loopback = assertThrows<PesakitException.Configuration> {
            PaypackClient(CLIENT_ID, CLIENT_SECRET, PaypackOptions(baseUrl = "http://127.0.0.1:9/api"))
        }
        assertSentence(loopback)
    }

    @Test
    fun `printing a client or tokens shows no secret`() {
        Sandbox.start().use { sandbox ->
            val store = MapTokenStore()
            testClient(sandbox, store).use { client ->
                client.authorizeBlocking()
                val text = client.toString()
                assertTrue(text.contains(sandbox.paypackBaseUrl), text)
                assertFalse(text.contains(CLIENT_SECRET), text)
                val json = store.entries.values.single()
                val tokens = TokenSet.fromJson(json)
                val printed = tokens.toString()
                assertTrue(printed.contains("redacted"), printed)
                assertFalse(printed.contains(tokens.accessToken()), printed)
                assertFalse(printed.contains(tokens.refreshToken()!!), printed)
                assertFalse(testOptions(sandbox).toString().contains(CLIENT_SECRET))
            }
        }
    }

    @Test
    fun `flows and sequences walk every page`() {
        runBlocking {
            Sandbox.start().use { sandbox ->
                testClient(sandbox).use { client ->
                    val created = (1..7).map {
                        client.cashin(CashRequest(BigDecimal(1000 + it), "0788123456")).reference
                    }
                    sandbox.clearRequests()

                    val all = client.transactionsFlow(TransactionFilter(limit = 3u)).toList()
                    assertEquals(created.toSet(), all.map { it.reference }.toSet())
                    assertEquals(7, all.size)
                    assertEquals(created.reversed(), all.map { it.reference }, "newest first")
                    val pages = sandbox.paypackRequests("GET", "/transactions/list")
                    assertEquals(3, pages.size, "7 items at 3 a page is 3 pages")
                    assertEquals(listOf("0", "3", "6"), pages.map { Regex("offset=(\\d+)").find(it.str("query")!!)!!.groupValues[1] })

                    // A flow is cold: collecting again walks again; take() stops early.
                    assertEquals(created.reversed().take(2), client.transactionsFlow(TransactionFilter(limit = 3u)).take(2).toList().map { it.reference })

                    val events = client.eventsFlow(EventFilter(limit = 2u)).toList()
                    assertEquals(7, events.size)
                    assertTrue(events.all { it.kind == EventKind.TRANSACTION_CREATED })
                    assertEquals(7, events.map { it.id }.toSet().size)

                    val blocking = client.transactionsSequence(TransactionFilter(limit = 4u, kind = TransactionKind.CASH_IN)).toList()
                    assertEquals(7, blocking.size)
                    assertEquals(7, client.eventsSequence(EventFilter(limit = 5u)).count())
                    assertEquals(7, client.transactions(TransactionFilter(limit = 2u)).asSequence().count())
                    assertEquals(7, client.events(EventFilter(limit = 2u)).asFlow().toList().size)

                    // A bad filter fails when the flow is collected.
                    assertThrows<PesakitException.Validation> {
                        runBlocking { client.transactionsFlow(TransactionFilter(kind = TransactionKind.UNKNOWN)).toList() }
                    }
                }
            }
        }
    }

    @Test
    fun `duration helpers read and write the millisecond options`() {
        val options = PaypackOptions()
        assertEquals(30.seconds, options.requestTimeout)
        options.requestTimeout = 1500.milliseconds
        options.pollInterval = 250.milliseconds
        assertEquals(1500uL, options.requestTimeoutMs)
        assertEquals(250uL, options.pollIntervalMs)
        assertThrows<IllegalArgumentException> { options.connectTimeout = (-1).seconds }
        assertEquals(JavaDuration.ofSeconds(2).toMillis().toULong(), PaypackOptions().pollIntervalMs)
    }

    @Test
    fun `free functions`() {
        assertEquals("0788123456", normalizeRwPhone("+250 788 123 456"))
        assertEquals(32, newIdempotencyKey().length)
        assertTrue(pesakitVersion().isNotBlank())
        assertSentence(assertThrows<PesakitException.Validation> { normalizeRwPhone("12") })
    }
}

/** `message` is the error's sentence and printing it shows that sentence, not a field dump. */
fun assertSentence(e: PesakitException) {
    assertTrue(e.summary.isNotBlank())
    assertEquals(e.summary, e.message)
    assertEquals(e.summary, e.localizedMessage)
    assertEquals("${e.javaClass.name}: ${e.summary}", e.toString())
    assertFalse(e.toString().contains("summary="), e.toString())
    assertFalse(e.toString().contains("kind="), e.toString())
}
