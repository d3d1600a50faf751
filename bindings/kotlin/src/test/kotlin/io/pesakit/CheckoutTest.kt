package io.pesakit

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.math.BigDecimal
import java.nio.file.Path
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertNotNull
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds

/** The hosted-checkout client against a fresh emulator per test, over real HTTP. */
class CheckoutTest {
    /** The JSON body of the [index]th logged create-checkout request. */
    private fun Sandbox.sentCheckout(index: Int = 0): JsonObject =
        Json.parseToJsonElement(checkoutRequests("POST", CHECKOUT_CREATE_PATH)[index].str("body")!!).jsonObject

    private fun Sandbox.statuses(method: String, path: String): List<Long?> =
        checkoutRequests(method, path).map { it["status"]?.jsonPrimitive?.content?.toLongOrNull() }

    private fun Sandbox.tokenRequests() = checkoutRequests("POST", OAUTH_TOKEN_PATH)

    private fun Sandbox.expireOAuth(which: String? = null) {
        control("POST", "/_sandbox/checkout/oauth/expire", buildJsonObject { if (which != null) put("which", which) })
    }

    // ---- operations -----------------------------------------------------------------

    @Test
    fun `suspend operations create a checkout in minor units and read it back`() {
        runBlocking {
            Sandbox.start().use { sandbox ->
                checkoutClient(sandbox).use { client ->
                    assertEquals(sandbox.checkoutBaseUrl, client.baseUrl())
                    val created = client.createCheckout(
                        CheckoutRequest(amount = BigDecimal("100.50"), currency = "USD", reference = "order-1001", referenceLabel = "Order 1001"),
                    )
                    assertTrue(created.checkoutUrl.startsWith("${sandbox.checkoutBaseUrl}/checkout/${created.paymentId}?"), created.checkoutUrl)
                    val expires = assertNotNull(created.expiresAt)
                    assertTrue(expires.isAfter(Instant.now().plusSeconds(3000)), "the page works for about an hour: $expires")

                    // 100.50 USD goes out as the integer 10050 (cents), never as a decimal.
                    val sent = sandbox.sentCheckout()
                    val amount = sent["amount"]!!.jsonPrimitive
                    assertFalse(amount.isString, "amount is a JSON number: $sent")
                    assertEquals("10050", amount.content)
                    assertEquals("USD", sent.str("currencyCode"))
                    assertEquals(CHECKOUT_CLIENT_ID, sent.str("clientId"))
                    assertEquals("order-1001", sent.str("reference"))
                    assertEquals("Order 1001", sent.str("referenceLabel"))
                    val headers = sandbox.checkoutRequests("POST", CHECKOUT_CREATE_PATH).single()["headers"]!!.jsonObject
                    assertEquals("Bearer $CHECKOUT_TOKEN", headers.str("authorization"))

                    val payment = client.getPayment(created.paymentId)
                    assertEquals(created.paymentId, payment.id)
                    assertEquals(PaymentStatus.OPEN, payment.status)
                    assertEquals("OPEN", payment.statusRaw)
                    assertEquals("order-1001", payment.reference)
                    assertEquals("Order 1001", payment.referenceLabel)
                    assertEquals("USD", payment.currencyCode)
                    val money = assertNotNull(payment.amount)
                    assertEquals(10050L, money.minorUnits)
                    assertEquals(0, BigDecimal("100.5").compareTo(money.value), "value ${money.value}")
                    assertNotNull(money.formatted)
                    assertNull(payment.receivedAmount)
                    assertNull(payment.foundAt)
                    assertNull(payment.confirmedAt)
                    assertNotNull(payment.date)

                    // RWF has no minor unit: whole francs go out as they are.
                    val rwf = client.createCheckout(CheckoutRequest(BigDecimal("5000"), "RWF", "order-1002"))
                    assertEquals("5000", sandbox.sentCheckout(1)["amount"]!!.jsonPrimitive.content)
                    val rwfAmount = assertNotNull(client.getPayment(rwf.paymentId).amount)
                    assertEquals(5000L, rwfAmount.minorUnits)
                    assertEquals(0, BigDecimal("5000").compareTo(rwfAmount.value))

                    // Payer instructions are the provider's own JSON, as text.
                    val instructions = Json.parseToJsonElement(client.payerInstructions(created.paymentId, "bitcoin", "onchain")).jsonObject
                    assertEquals("bitcoin", instructions.str("provider"))
                    assertEquals("onchain", instructions.str("method"))
                    assertTrue(instructions.str("address")!!.isNotBlank(), "$instructions")
                    assertEquals("order-1001", instructions["extra"]!!.jsonObject.str("memo"))
                }
            }
        }
    }

    @Test
    fun `blocking operations work from a plain thread`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox).use { client ->
                val created = client.createCheckoutBlocking(CheckoutRequest(BigDecimal("1500"), "rwf", "order-2001"))
                assertEquals("1500", sandbox.sentCheckout()["amount"]!!.jsonPrimitive.content)
                assertEquals("RWF", sandbox.sentCheckout().str("currencyCode"), "the currency is sent in capitals")
                assertEquals(PaymentStatus.OPEN, client.getPaymentBlocking(created.paymentId).status)

                sandbox.paymentStatus(created.paymentId, "CONFIRMED")
                val paid = client.getPaymentBlocking(created.paymentId)
                assertEquals(PaymentStatus.CONFIRMED, paid.status)
                assertNotNull(paid.foundAt)
                assertNotNull(paid.confirmedAt)
                assertEquals(1500L, paid.receivedAmount?.minorUnits)
                assertEquals(1500L, paid.settledAmount?.minorUnits)

                val instructions = Json.parseToJsonElement(client.payerInstructionsBlocking(created.paymentId, "ethereum", "erc20")).jsonObject
                assertEquals("ethereum", instructions.str("provider"))
                assertEquals(1500L, instructions["amount"]!!.jsonObject["amount"]!!.jsonPrimitive.long)
            }
        }
    }

    @Test
    fun `BTC carries eight decimals and an unknown currency needs its exponent`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox).use { client ->
                val btc = client.createCheckoutBlocking(CheckoutRequest(BigDecimal("0.00012345"), "BTC", "order-3001"))
                assertEquals("12345", sandbox.sentCheckout(0)["amount"]!!.jsonPrimitive.content)
                assertEquals(12345L, client.getPaymentBlocking(btc.paymentId).amount?.minorUnits)

                val unknown = assertThrows<PesakitException.Validation> {
                    client.createCheckoutBlocking(CheckoutRequest(BigDecimal("2.5"), "XTS", "order-3002"))
                }
                assertSentence(unknown)
                assertTrue(unknown.summary.contains("exponent"), unknown.summary)
                runBlocking { client.createCheckout(CheckoutRequest(BigDecimal("2.5"), "XTS", "order-3002", exponent = 3u)) }
                assertEquals("2500", sandbox.sentCheckout(1)["amount"]!!.jsonPrimitive.content)
            }
        }
    }

    @Test
    fun `amounts the currency cannot express are refused before anything is sent`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox).use { client ->
                val cases = listOf(
                    CheckoutRequest(BigDecimal("100.505"), "USD", "r") to "USD",
                    CheckoutRequest(BigDecimal("10.5"), "RWF", "r") to "RWF",
                    CheckoutRequest(BigDecimal("0.000000001"), "BTC", "r") to "BTC",
                    CheckoutRequest(BigDecimal("1.0001"), "XTS", "r", exponent = 3u) to "XTS",
                )
                for ((request, currency) in cases) {
                    val viaSuspend = assertThrows<PesakitException.Validation>("$request") { runBlocking { client.createCheckout(request) } }
                    val viaBlocking = assertThrows<PesakitException.Validation>("$request") { client.createCheckoutBlocking(request) }
                    for (e in listOf(viaSuspend, viaBlocking)) {
                        assertSentence(e)
                        assertEquals(ErrorKind.VALIDATION, e.kind)
                        assertNull(e.status, "refused locally: no HTTP status")
                        assertNull(e.body)
                        assertTrue(e.fieldErrors.isEmpty())
                        assertTrue(e.summary.contains(currency), e.summary)
                    }
                }
                for (bad in listOf(CheckoutRequest(BigDecimal.ZERO, "USD", "r"), CheckoutRequest(BigDecimal("1"), "USD", "  "))) {
                    assertSentence(assertThrows<PesakitException.Validation> { client.createCheckoutBlocking(bad) })
                }
                assertEquals(0, sandbox.requests().size, "nothing reached the gateway")
            }
        }
    }

    // ---- errors and retries -----------------------------------------------------------

    @Test
    fun `a token without the scope gets a 403 naming it, never retried`() {
        Sandbox.start().use { sandbox ->
            val paymentId = checkoutClient(sandbox).use { it.createCheckoutBlocking(CheckoutRequest(BigDecimal("10"), "USD", "o")).paymentId }
            sandbox.clearRequests()
            checkoutClient(sandbox, clientToken = CHECKOUT_LIMITED_TOKEN).use { limited ->
                val viaSuspend = assertThrows<PesakitException.Permission> {
                    runBlocking { limited.createCheckout(CheckoutRequest(BigDecimal("10"), "USD", "o")) }
                }
                val viaBlocking = assertThrows<PesakitException.Permission> {
                    limited.createCheckoutBlocking(CheckoutRequest(BigDecimal("10"), "USD", "o"))
                }
                for (e in listOf(viaSuspend, viaBlocking)) {
                    assertSentence(e)
                    assertEquals(ErrorKind.PERMISSION, e.kind)
                    assertEquals(403.toUShort(), e.status)
                    assertEquals("Insufficient permissions", e.gatewayMessage)
                    assertTrue(e.summary.contains("payments.create"), e.summary)
                }
                assertEquals(2, sandbox.checkoutRequests("POST", CHECKOUT_CREATE_PATH).size, "one request per call: a 403 is never retried")

                val instructions = assertThrows<PesakitException.Permission> {
                    limited.payerInstructionsBlocking(paymentId, "bitcoin", "onchain")
                }
                assertTrue(instructions.summary.contains("payments.user-instructions.get"), instructions.summary)
                val async = assertThrows<PesakitException.Permission> {
                    runBlocking { limited.payerInstructions(paymentId, "bitcoin", "onchain") }
                }
                assertTrue(async.summary.contains("payments.user-instructions.get"), async.summary)
                assertEquals(2, sandbox.checkoutRequests("GET", "/api/payment/$paymentId/provider").size)

                // The scope it has works.
                assertEquals(PaymentStatus.OPEN, limited.getPaymentBlocking(paymentId).status)
                assertEquals(PaymentStatus.OPEN, runBlocking { limited.getPayment(paymentId) }.status)
            }
            checkoutClient(sandbox, clientToken = "not-a-token").use { stranger ->
                val e = assertThrows<PesakitException.Authentication> { stranger.getPaymentBlocking(paymentId) }
                assertSentence(e)
                assertEquals(401.toUShort(), e.status)
                assertEquals("Unauthenticated.", e.gatewayMessage)
            }
            checkoutClient(sandbox).use { client ->
                val missing = assertThrows<PesakitException.NotFound> { runBlocking { client.getPayment("6b3f7f9e-0000-4000-8000-000000000000") } }
                assertSentence(missing)
                assertEquals(404.toUShort(), missing.status)
            }
        }
    }

    @Test
    fun `a 422 carries the gateway's complaints per field`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox).use { client ->
                // Valid to pesakit (an explicit exponent, a well-formed time), refused by the gateway.
                val request = CheckoutRequest(
                    amount = BigDecimal("10"),
                    currency = "US1",
                    reference = "order-422",
                    expiresAt = Instant.parse("2001-09-09T01:46:40Z"),
                    exponent = 2u,
                )
                val e = assertThrows<PesakitException.Validation> { runBlocking { client.createCheckout(request) } }
                assertSentence(e)
                assertEquals(422.toUShort(), e.status)
                val fields = e.fieldErrors.associate { it.field to it.messages }
                assertEquals(setOf("currencyCode", "expiresAt"), fields.keys, "${e.fieldErrors}")
                fields.values.forEach { assertTrue(it.isNotEmpty() && it.all(String::isNotBlank), "$fields") }
                assertTrue(e.summary.contains("currencyCode"), e.summary)
                assertNotNull(e.body)

                val blocking = assertThrows<PesakitException.Validation> {
                    client.createCheckoutBlocking(CheckoutRequest(BigDecimal("10"), "USD", "order-423", redirectUrl = "not a url"))
                }
                assertEquals(listOf("redirectUrl"), blocking.fieldErrors.map { it.field })
                assertEquals(ErrorKind.VALIDATION, blocking.kind)

                val provider = assertThrows<PesakitException.Validation> {
                    client.payerInstructionsBlocking(client.createCheckoutBlocking(CheckoutRequest(BigDecimal("1"), "USD", "o")).paymentId, "no-such-coin", "x")
                }
                assertEquals(listOf("provider"), provider.fieldErrors.map { it.field })
            }
        }
    }

    @Test
    fun `createCheckout is not retried after a 503 or a lost answer, but is after a 429`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox).use { client ->
                sandbox.fault(buildJsonObject {
                    put("path", "/checkout$CHECKOUT_CREATE_PATH")
                    put("kind", "status")
                    put("status", 503)
                })
                val e = assertThrows<PesakitException.Gateway> {
                    runBlocking { client.createCheckout(CheckoutRequest(BigDecimal("10"), "USD", "order-9")) }
                }
                assertSentence(e)
                assertEquals(503.toUShort(), e.status)
                assertTrue(e.summary.contains("look for reference order-9"), e.summary)
                assertEquals(listOf<Long?>(503), sandbox.statuses("POST", CHECKOUT_CREATE_PATH), "tried once")

                // The answer is lost after the gateway acted: a payment exists, so a retry would make a second.
                sandbox.clearRequests()
                sandbox.fault(buildJsonObject {
                    put("path", "/checkout$CHECKOUT_CREATE_PATH")
                    put("kind", "drop_after")
                })
                val lost = assertThrows<PesakitException.Network> {
                    client.createCheckoutBlocking(CheckoutRequest(BigDecimal("10"), "USD", "order-10"))
                }
                assertTrue(lost.summary.contains("look for reference order-10"), lost.summary)
                assertEquals(1, sandbox.checkoutRequests("POST", CHECKOUT_CREATE_PATH).size, "tried once")
                assertEquals(1, sandbox.checkoutLedger()["payments"]!!.jsonArray.size, "the gateway did create it")

                // A 429 means the gateway refused before acting: retried, in both forms.
                for (blocking in listOf(false, true)) {
                    sandbox.clearRequests()
                    sandbox.fault(buildJsonObject {
                        put("path", "/checkout$CHECKOUT_CREATE_PATH")
                        put("kind", "status")
                        put("status", 429)
                        put("retry_after", 0)
                    })
                    val request = CheckoutRequest(BigDecimal("10"), "USD", "order-11")
                    val created = if (blocking) client.createCheckoutBlocking(request) else runBlocking { client.createCheckout(request) }
                    assertTrue(created.paymentId.isNotBlank())
                    assertEquals(listOf<Long?>(429, 200), sandbox.statuses("POST", CHECKOUT_CREATE_PATH), "blocking=$blocking")
                }

                // Reads are retried.
                val id = sandbox.checkoutLedger()["payments"]!!.jsonArray.last().jsonObject.str("id")!!
                sandbox.clearRequests()
                sandbox.fault(buildJsonObject {
                    put("path", "/checkout/api/payment/")
                    put("method", "GET")
                    put("kind", "status")
                    put("status", 503)
                })
                assertEquals(PaymentStatus.OPEN, client.getPaymentBlocking(id).status)
                assertEquals(listOf<Long?>(503, 200), sandbox.statuses("GET", "/api/payment/"))
            }
        }
    }

    @Test
    fun `cancelling the coroutine cancels the call`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox).use { client ->
                val id = client.createCheckoutBlocking(CheckoutRequest(BigDecimal("10"), "USD", "o")).paymentId
                sandbox.fault(buildJsonObject {
                    put("path", "/checkout/api/payment/")
                    put("method", "GET")
                    put("kind", "delay")
                    put("delay_ms", 10_000)
                })
                runBlocking {
                    val took = kotlin.time.measureTime {
                        assertNull(withTimeoutOrNull(300.milliseconds) { client.getPayment(id) }, "cancelled, not completed")
                    }
                    assertTrue(took < 5.seconds, "cancellation returned promptly ($took)")
                }
                assertEquals(PaymentStatus.OPEN, client.getPaymentBlocking(id).status, "the client is still usable")
            }
        }
    }

    // ---- OAuth: payment applications ----------------------------------------------------

    @Test
    fun `payment applications over OAuth, refreshed once when the access token expires`() {
        Sandbox.start().use { sandbox ->
            val signIn = sandbox.signIn()
            val store = MapTokenStore()
            signIn.oauth().use { oauth ->
                checkoutClient(sandbox, clientToken = null, oauth = oauth, tokenStore = store).use { client ->
                    val apps = runBlocking { client.paymentApplications() }
                    val demo = apps.single()
                    assertEquals("Demo shop", demo.name)
                    assertEquals(CHECKOUT_CLIENT_ID, demo.clientId)
                    assertTrue(demo.currencyWhitelist.isEmpty())
                    assertTrue(Json.parseToJsonElement(demo.rawJson).jsonObject.containsKey("site"), demo.rawJson)
                    assertEquals(apps, client.paymentApplicationsBlocking())
                    assertEquals(setOf(sandbox.oauthStoreKey()), store.entries.keys, "the sign-in tokens went to the store")

                    val second = runBlocking {
                        client.createPaymentApplication(
                            NewPaymentApplication(
                                name = "Second shop",
                                callbackUrl = "https://shop.example/hooks",
                                currencyWhitelist = listOf("USD", "RWF"),
                                allowUnderpay = true,
                            ),
                            "shop-2-secret",
                        )
                    }
                    assertEquals("Second shop", second.name)
                    assertEquals(32, second.clientId?.length)
                    assertEquals(listOf("USD", "RWF"), second.currencyWhitelist)
                    assertEquals("https://shop.example/hooks", second.callbackUrl)
                    assertEquals(true, second.allowUnderpay)
                    assertNotNull(second.createdAt)
                    val third = client.createPaymentApplicationBlocking(NewPaymentApplication(name = "Third shop"), "shop-3-secret")
                    val secrets = sandbox.checkoutLedger()["applications"]!!.jsonArray.associate { it.jsonObject.str("name") to it.jsonObject.str("secret") }
                    assertEquals("shop-2-secret", secrets["Second shop"])
                    assertEquals("shop-3-secret", secrets["Third shop"])

                    assertEquals("Second shop", runBlocking { client.paymentApplication(second.id) }.name)
                    assertEquals(third.clientId, client.paymentApplicationBlocking(third.id).clientId)
                    assertThrows<PesakitException.NotFound> { client.paymentApplicationBlocking("999") }

                    val invalid = assertThrows<PesakitException.Validation> {
                        client.createPaymentApplicationBlocking(NewPaymentApplication(name = "Bad shop", callbackUrl = "not a url"), "s")
                    }
                    assertEquals(422.toUShort(), invalid.status)
                    assertEquals(listOf("callbackUrl"), invalid.fieldErrors.map { it.field })
                    assertSentence(assertThrows<PesakitException.Validation> {
                        runBlocking { client.createPaymentApplication(NewPaymentApplication(name = "ab"), "s") }
                    })

                    // The gateway expires the access token: the next call gets a 401, refreshes once
                    // (the refresh token rotates) and is retried.
                    sandbox.expireOAuth()
                    sandbox.clearRequests()
                    assertEquals(3, runBlocking { client.paymentApplications() }.size)
                    assertEquals(listOf<Long?>(401, 200), sandbox.statuses("GET", "/api/payment-applications"))
                    val refresh = sandbox.tokenRequests().single()
                    assertTrue(refresh.str("body")!!.contains("grant_type=refresh_token"), "${refresh.str("body")}")
                    assertTrue(refresh["headers"]!!.jsonObject.str("authorization")!!.startsWith("Basic "), "the OAuth client authenticates with HTTP Basic")
                    TokenSet.fromJson(store.entries.getValue(sandbox.oauthStoreKey())).use { rotated ->
                        assertFalse(rotated.refreshToken() == signIn.refreshToken, "the refresh token rotated")
                        assertFalse(rotated.accessToken() == signIn.accessToken)
                        val lastCall = sandbox.checkoutRequests("GET", "/api/payment-applications").last()
                        assertEquals("Bearer ${rotated.accessToken()}", lastCall["headers"]!!.jsonObject.str("authorization"))
                    }
                    // Passport revoked the old refresh token with the rotation.
                    val replay = sandbox.postForm("/checkout$OAUTH_TOKEN_PATH", mapOf(
                        "grant_type" to "refresh_token",
                        "refresh_token" to signIn.refreshToken,
                        "client_id" to OAUTH_CLIENT_ID,
                        "client_secret" to OAUTH_CLIENT_SECRET,
                    ))
                    assertEquals(400, replay.status, replay.text)

                    // The new tokens serve the next calls with no further refresh.
                    assertEquals(3, client.paymentApplicationsBlocking().size)
                    assertEquals(2, sandbox.tokenRequests().size, "the refresh and the replay above, nothing more")

                    // Client-token calls need the client token.
                    val e = assertThrows<PesakitException.Configuration> { client.getPaymentBlocking("x") }
                    assertSentence(e)
                }
            }
        }
    }

    @Test
    fun `when the refresh token is refused too, the error asks to sign in again`() {
        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox, oauth = sandbox.signIn().oauth()).use { client ->
                client.paymentApplicationsBlocking()
                sandbox.expireOAuth("all")
                sandbox.clearRequests()
                val e = assertThrows<PesakitException.Authentication> { runBlocking { client.paymentApplications() } }
                assertSentence(e)
                assertTrue(e.summary.contains("sign in again"), e.summary)
                assertEquals(1, sandbox.tokenRequests().size, "one refresh attempt")
            }
        }
    }

    @Test
    fun `a Kotlin token store keeps the OAuth tokens so a second client reuses them`(@TempDir dir: Path) {
        Sandbox.start().use { sandbox ->
            val signIn = sandbox.signIn()
            sandbox.clearRequests()
            checkoutClient(sandbox, clientToken = null, oauth = signIn.oauth(), tokenStore = FileTokenStore(dir.toFile())).use { first ->
                first.paymentApplicationsBlocking()
                sandbox.expireOAuth()
                runBlocking { first.paymentApplications() } // refreshes: both sign-in tokens are now dead
            }
            assertEquals(1, sandbox.tokenRequests().size, "one refresh")
            val files = dir.toFile().listFiles()!!.filter { it.name.endsWith(".json") }
            assertEquals(1, files.size, "one account, one file")
            val stored = TokenSet.fromJson(files.single().readText())

            // After a restart: a new store over the same files, and the app hands over the
            // sign-in tokens it kept. The store's (newer) tokens win.
            sandbox.clearRequests()
            checkoutClient(sandbox, clientToken = null, oauth = signIn.oauth(), tokenStore = FileTokenStore(dir.toFile())).use { second ->
                assertEquals("Demo shop", second.paymentApplicationsBlocking().single().name)
                assertEquals("Demo shop", runBlocking { second.paymentApplications() }.single().name)
            }
            assertEquals(0, sandbox.tokenRequests().size, "no refresh, no sign-in: the stored tokens worked")
            assertEquals(listOf<Long?>(200, 200), sandbox.statuses("GET", "/api/payment-applications"))
            val calls = sandbox.checkoutRequests("GET", "/api/payment-applications")
            calls.forEach { assertEquals("Bearer ${stored.accessToken()}", it["headers"]!!.jsonObject.str("authorization")) }
            stored.close()

            // Without the store the same stale sign-in tokens cannot be renewed.
            checkoutClient(sandbox, clientToken = null, oauth = signIn.oauth()).use { forgetful ->
                val e = assertThrows<PesakitException.Authentication> { forgetful.paymentApplicationsBlocking() }
                assertTrue(e.summary.contains("sign in again"), e.summary)
            }
        }
    }

    // ---- webhooks ----------------------------------------------------------------------

    @Test
    fun `webhooks delivered by the emulator verify with the client's verifier`() {
        WebhookReceiver().use { receiver ->
            Sandbox.start().use { sandbox ->
                sandbox.control("POST", "/_sandbox/checkout/config", buildJsonObject { put("callback_url", receiver.url) })
                checkoutClient(sandbox).use { client ->
                    val id = client.createCheckoutBlocking(CheckoutRequest(BigDecimal("40"), "USD", "order-7")).paymentId
                    sandbox.paymentStatus(id, "RECEIVED")
                    sandbox.paymentStatus(id, "CONFIRMED")
                    val verifier = assertNotNull(client.webhookVerifier(), "the client was given the webhook secret")
                    val events = (1..2).map {
                        val d = receiver.next()
                        val event = verifier.verifyAndParse(d.body) { name -> d.header(name) }
                        assertEquals(event, verifier.verifyAndParse(d.body, d.signature, d.timestamp, d.event))
                        assertEquals(id, event.payment.id)
                        assertEquals(d.event, event.kindRaw)
                        val signedAt = Instant.ofEpochSecond(d.timestamp!!.toLong())
                        assertEquals(signedAt, event.timestamp)
                        assertTrue(java.time.Duration.between(signedAt, Instant.now()).abs().seconds < 60)

                        // Tampered bodies, timestamps and signatures are refused.
                        val text = d.body.decodeToString()
                        val tampered = text.replaceFirst("\"amount\":4000", "\"amount\":9000")
                        assertFalse(tampered == text, "the body carries the amount in minor units: $text")
                        val refusals = mapOf(
                            "tampered body" to { verifier.verifyAndParse(tampered.toByteArray(), d.signature, d.timestamp, d.event) },
                            "moved timestamp" to { verifier.verifyAndParse(d.body, d.signature, (signedAt.epochSecond + 1).toString(), d.event) },
                            "missing signature" to { verifier.verifyAndParse(d.body, null, d.timestamp, d.event) },
                            "missing timestamp" to { verifier.verifyAndParse(d.body, d.signature, null, d.event) },
                            "wrong secret" to { CheckoutWebhookVerifier("not-the-secret").use { it.verifyAndParse(d.body) { n -> d.header(n) } } },
                            // A captured delivery replayed an hour later falls outside the 300 s window.
                            "stale" to { verifier.verifyAndParseAt(d.body, d.signature, d.timestamp, signedAt.plusSeconds(3600), d.event) },
                        )
                        for ((name, attempt) in refusals) {
                            val e = assertThrows<PesakitException.WebhookSignature>(name) { attempt() }
                            assertSentence(e)
                            assertEquals(ErrorKind.WEBHOOK_SIGNATURE, e.kind)
                            if (name == "stale") assertTrue(e.summary.contains("tolerance"), e.summary)
                        }
                        // Inside the window it verifies whatever the clock says.
                        assertEquals(event, verifier.verifyAndParseAt(d.body, signedAt.plusSeconds(299)) { name -> d.header(name) })
                        event
                    }
                    assertEquals(
                        setOf(CheckoutEventKind.PAYMENT_RECEIVED to PaymentStatus.RECEIVED, CheckoutEventKind.PAYMENT_COMPLETED to PaymentStatus.CONFIRMED),
                        events.map { it.kind to it.payment.status }.toSet(),
                    )
                    val completed = events.single { it.kind == CheckoutEventKind.PAYMENT_COMPLETED }
                    assertEquals(4000L, completed.payment.amount?.minorUnits)
                    assertNotNull(completed.payment.confirmedAt)
                    assertEquals("payment.completed", completed.kindRaw)
                    verifier.close()
                }
            }
        }
    }

    @Test
    fun `a verifier of its own signs and checks with a tolerance given as a Duration`() {
        val body = """{"payment":{"id":"p1","status":"REFUND","amount":{"value":1.5,"amount":150,"formatted":"1.50 USD"}}}""".toByteArray()
        CheckoutWebhookVerifier("app-secret", 10.minutes).use { verifier ->
            val now = Instant.now()
            val signature = verifier.sign(now, body)
            assertEquals(signature, verifier.sign(now.epochSecond, body))
            assertTrue(Regex("^[0-9a-f]{64}$").matches(signature), signature)
            val headers = mapOf(
                CheckoutWebhookHeaders.SIGNATURE to signature,
                CheckoutWebhookHeaders.TIMESTAMP to now.epochSecond.toString(),
                CheckoutWebhookHeaders.EVENT to "payment.refund",
            )
            val event = verifier.verifyAndParse(body) { headers[it] }
            assertEquals(CheckoutEventKind.UNKNOWN, event.kind)
            assertEquals("payment.refund", event.kindRaw)
            assertEquals(PaymentStatus.REFUND, event.payment.status)
            assertEquals(0, BigDecimal("1.5").compareTo(event.payment.amount?.value))
            // 10 minutes either side, not the default 5.
            verifier.verifyAndParseAt(body, now.plusSeconds(590)) { headers[it] }
            assertThrows<PesakitException.WebhookSignature> { verifier.verifyAndParseAt(body, now.plusSeconds(610)) { headers[it] } }
            assertThrows<PesakitException.WebhookSignature> { verifier.verifyAndParseAt(body, now.minusSeconds(610)) { headers[it] } }
        }
        CheckoutWebhookVerifier("app-secret").use { default ->
            val now = Instant.now()
            val headers = mapOf(CheckoutWebhookHeaders.SIGNATURE to default.sign(now, body), CheckoutWebhookHeaders.TIMESTAMP to now.epochSecond.toString())
            assertThrows<PesakitException.WebhookSignature> { default.verifyAndParseAt(body, now.plusSeconds(400)) { headers[it] } }
            // A valid signature over a body that is not a webhook: verified, then a decode error.
            val junk = "not json".toByteArray()
            val e = assertThrows<PesakitException.Decode> {
                default.verifyAndParse(junk, default.sign(now, junk), now.epochSecond.toString(), null)
            }
            assertSentence(e)
        }
        assertThrows<IllegalArgumentException> { CheckoutWebhookVerifier("s", (-1).seconds) }
        assertSentence(assertThrows<PesakitException.Configuration> { CheckoutWebhookVerifier("") })
    }

    // ---- secrets, configuration, options -------------------------------------------------

    @Test
    fun `log lines and errors never contain a secret`() {
        Sandbox.start().use { sandbox ->
            val lines = CopyOnWriteArrayList<Pair<LogLevel, String>>()
            val logger = Logger { level, message -> lines += level to message }
            val signIn = sandbox.signIn()
            val store = MapTokenStore()
            val errors = mutableListOf<PesakitException>()
            checkoutClient(sandbox, oauth = signIn.oauth(), tokenStore = store, logger = logger).use { client ->
                runBlocking {
                    val id = client.createCheckout(CheckoutRequest(BigDecimal("12.34"), "USD", "order-log")).paymentId
                    client.getPayment(id)
                    client.payerInstructions(id, "bitcoin", "lightning")
                    client.paymentApplications()
                    client.createPaymentApplication(NewPaymentApplication(name = "Logged shop"), "app-secret-never-logged")
                }
                sandbox.expireOAuth()
                client.paymentApplicationsBlocking()
                errors += assertThrows<PesakitException.Validation> {
                    client.createPaymentApplicationBlocking(NewPaymentApplication(name = "Bad shop", url = "nope"), "another-app-secret")
                }
                errors += assertThrows<PesakitException.NotFound> { client.getPaymentBlocking("6b3f7f9e-0000-4000-8000-000000000000") }
            }
            checkoutClient(sandbox, clientToken = CHECKOUT_LIMITED_TOKEN, logger = logger).use { limited ->
                errors += assertThrows<PesakitException.Permission> { limited.createCheckoutBlocking(CheckoutRequest(BigDecimal("1"), "USD", "o")) }
            }
            checkoutClient(sandbox, oauth = CheckoutOAuth("dead-access-token-secret", OAUTH_CLIENT_ID, "dead-refresh-token-secret", Instant.EPOCH, OAUTH_CLIENT_SECRET), logger = logger).use { dead ->
                errors += assertThrows<PesakitException.Authentication> { dead.paymentApplicationsBlocking() }
            }

            val secrets = mutableListOf(
                CHECKOUT_TOKEN, CHECKOUT_LIMITED_TOKEN, CHECKOUT_WEBHOOK_SECRET, OAUTH_CLIENT_SECRET,
                signIn.accessToken, signIn.refreshToken, "app-secret-never-logged", "another-app-secret",
                "dead-access-token-secret", "dead-refresh-token-secret",
            )
            store.entries.values.forEach { json ->
                TokenSet.fromJson(json).use { t ->
                    secrets += t.accessToken()
                    t.refreshToken()?.let { secrets += it }
                }
            }
            assertTrue(lines.any { it.first == LogLevel.DEBUG }, "HTTP exchanges are logged at DEBUG")
            assertTrue(lines.any { it.first == LogLevel.INFO && it.second.contains("refreshed") }, "the refresh was logged: $lines")
            for ((level, line) in lines) {
                for (secret in secrets) if (line.contains(secret)) fail<Unit>("a $level log line leaks a secret: $line")
            }
            for (e in errors) {
                for (secret in secrets) {
                    assertFalse(e.toString().contains(secret) || (e.body ?: "").contains(secret), "an error leaks a secret: $e ${e.body}")
                }
            }
        }
    }

    @Test
    fun `printing a client, OAuth tokens or a verifier shows no secret`() {
        Sandbox.start().use { sandbox ->
            val signIn = sandbox.signIn()
            signIn.oauth().use { oauth ->
                val printed = oauth.toString()
                assertTrue(printed.contains(OAUTH_CLIENT_ID) && printed.contains("redacted"), printed)
                for (secret in listOf(signIn.accessToken, signIn.refreshToken, OAUTH_CLIENT_SECRET)) assertFalse(printed.contains(secret), printed)

                checkoutClient(sandbox, oauth = oauth).use { client ->
                    client.paymentApplicationsBlocking()
                    val text = client.toString()
                    assertTrue(text.contains(sandbox.checkoutBaseUrl), text)
                    for (secret in listOf(CHECKOUT_TOKEN, CHECKOUT_WEBHOOK_SECRET, signIn.accessToken, signIn.refreshToken, OAUTH_CLIENT_SECRET)) {
                        assertFalse(text.contains(secret), text)
                    }
                    client.webhookVerifier()!!.use { verifier ->
                        assertFalse(verifier.toString().contains(CHECKOUT_WEBHOOK_SECRET), verifier.toString())
                        assertTrue(verifier.toString().contains("redacted"), verifier.toString())
                    }
                }
            }
            CheckoutWebhookVerifier("super-secret-webhook-key").use { assertFalse(it.toString().contains("super-secret-webhook-key"), it.toString()) }
            assertFalse(checkoutOptions().toString().contains(CHECKOUT_TOKEN))
        }
    }

    @Test
    fun `configuration mistakes are Configuration errors`() {
        val noCredentials = assertThrows<PesakitException.Configuration> { CheckoutClient("https://pay.example.com") }
        assertSentence(noCredentials)
        assertTrue(noCredentials.summary.contains("client token"), noCredentials.summary)
        assertSentence(assertThrows<PesakitException.Configuration> { CheckoutClient("  ", clientToken = "t") })
        assertSentence(assertThrows<PesakitException.Configuration> {
            CheckoutClient("http://pay.example.com", clientToken = "t", options = CheckoutOptions(allowInsecureLoopback = true))
        })
        assertSentence(assertThrows<PesakitException.Configuration> { CheckoutClient("http://127.0.0.1:9/checkout", clientToken = "t") })

        Sandbox.start().use { sandbox ->
            checkoutClient(sandbox, webhookSecret = null).use { client ->
                assertNull(client.webhookVerifier())
                val e = assertThrows<PesakitException.Configuration> { runBlocking { client.paymentApplications() } }
                assertSentence(e)
                assertTrue(e.summary.contains("OAuth"), e.summary)
            }
            checkoutClient(sandbox, options = checkoutOptions().apply { clientId = null }).use { client ->
                assertSentence(assertThrows<PesakitException.Configuration> { client.createCheckoutBlocking(CheckoutRequest(BigDecimal("1"), "USD", "o")) })
                // A site id stands in for the client id.
                client.createCheckoutBlocking(CheckoutRequest(BigDecimal("1"), "USD", "o", siteId = "1"))
                assertEquals("1", sandbox.sentCheckout()["siteId"]!!.jsonPrimitive.content)
            }
            assertEquals(1, sandbox.requests().size)
        }
    }

    @Test
    fun `fromEnv reads PAYMENT_BASE_URL, PAYMENT_CLIENT_TOKEN and WEBHOOK_SECRET`() {
        // Surefire sets these (see pom.xml): a JVM cannot set its own environment.
        assertEquals("https://pay.example.com", System.getenv("PAYMENT_BASE_URL"), "run through Maven")
        CheckoutClient.fromEnv().use { client ->
            assertEquals("https://pay.example.com", client.baseUrl())
            val text = client.toString()
            assertFalse(text.contains(System.getenv("PAYMENT_CLIENT_TOKEN")) || text.contains(System.getenv("WEBHOOK_SECRET")), text)
            client.webhookVerifier()!!.use { verifier ->
                val now = Instant.now()
                val body = """{"payment":{"id":"p","status":"OPEN"}}""".toByteArray()
                // The verifier holds WEBHOOK_SECRET: a signature made with it verifies.
                CheckoutWebhookVerifier(System.getenv("WEBHOOK_SECRET")).use { same ->
                    verifier.verifyAndParse(body, same.sign(now, body), now.epochSecond.toString(), null)
                }
            }
        }
    }

    @Test
    fun `duration helpers read and write the millisecond options`() {
        val options = CheckoutOptions()
        assertEquals(10.seconds, options.connectTimeout)
        assertEquals(30.seconds, options.requestTimeout)
        assertEquals(200.milliseconds, options.initialBackoff)
        assertEquals(5.seconds, options.maxBackoff)
        assertEquals(30.seconds, options.maxRetryAfter)
        assertEquals(1.minutes, options.refreshSkew)
        options.apply {
            connectTimeout = 2.seconds
            requestTimeout = 1500.milliseconds
            initialBackoff = 50.milliseconds
            maxBackoff = 1.seconds
            maxRetryAfter = 10.seconds
            refreshSkew = 2.minutes
        }
        assertEquals(CheckoutOptions(connectTimeoutMs = 2000u, requestTimeoutMs = 1500u, initialBackoffMs = 50u, maxBackoffMs = 1000u, maxRetryAfterMs = 10_000u, refreshSkewMs = 120_000u), options)
        assertThrows<IllegalArgumentException> { options.requestTimeout = (-1).seconds }
    }

    @Test
    fun `a short request timeout is a Timeout error`() {
        Sandbox.start().use { sandbox ->
            val options = checkoutOptions().apply { requestTimeout = 200.milliseconds; maxRetries = 0u }
            checkoutClient(sandbox, options = options).use { client ->
                sandbox.fault(buildJsonObject {
                    put("path", "/checkout/api/payment/")
                    put("kind", "delay")
                    put("delay_ms", 2000)
                })
                val e = assertThrows<PesakitException.Timeout> { client.getPaymentBlocking("6b3f7f9e-0000-4000-8000-000000000000") }
                assertSentence(e)
            }
        }
    }
}
