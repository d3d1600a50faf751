package io.pesakit

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.math.BigDecimal
import java.net.URI
import java.net.URLDecoder
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList

private const val PAYPACK_ID = "leakcheck-paypack-app"
private const val PAYPACK_SECRET = "sk-LEAKCHECK-paypack-secret-7f3a9c"
private const val PAYPACK_WRONG_SECRET = "sk-LEAKCHECK-paypack-wrong-51d2e8"
private const val PAYPACK_HOOK_SECRET = "whsec-LEAKCHECK-paypack-b4c1d9"
private const val CO_TOKEN = "ct-LEAKCHECK-checkout-token-2e9f41"
private const val CO_LIMITED_TOKEN = "ct-LEAKCHECK-limited-token-8a7c03"
private const val CO_UNKNOWN_TOKEN = "ct-LEAKCHECK-unknown-token-6b2d5f"
private const val CO_HOOK_SECRET = "whsec-LEAKCHECK-checkout-c0ffee"
private const val APP_HOOK_SECRET = "whsec-LEAKCHECK-new-app-9d8e7f"
private const val PAGA_WRONG_SECRET = "sk-LEAKCHECK-paga-wrong-1f0b2d"
private const val WRONG_HOOK_SECRET = "whsec-LEAKCHECK-wrong-4a6b8c"
private const val WINDOW = 16

/** Every fault kind of the emulator, before and after the handler ran. */
private val FAULTS: List<Map<String, Any>> = listOf(
    mapOf("kind" to "status", "status" to 500),
    mapOf("kind" to "status", "status" to 500, "after_handler" to true),
    mapOf("kind" to "status", "status" to 503, "retry_after" to 0),
    mapOf("kind" to "status", "status" to 429, "retry_after" to 0),
    mapOf("kind" to "html", "status" to 502, "after_handler" to true),
    mapOf("kind" to "drop_before"),
    mapOf("kind" to "drop_after"),
    mapOf("kind" to "malformed_json"),
    mapOf("kind" to "empty"),
    mapOf("kind" to "slow_body", "delay_ms" to 400),
    mapOf("kind" to "delay", "delay_ms" to 600),
)

private fun json(map: Map<String, Any>): JsonObject = buildJsonObject {
    for ((k, v) in map) put(k, when (v) {
        is Boolean -> JsonPrimitive(v)
        is Number -> JsonPrimitive(v)
        else -> JsonPrimitive(v.toString())
    })
}

/** A token store that remembers every token set saved, in a list siblings share. */
class RecordingStore(val saved: MutableList<String> = CopyOnWriteArrayList()) : TokenStore {
    private val tokens = ConcurrentHashMap<String, String>()
    fun sibling() = RecordingStore(saved)
    override fun load(key: String): TokenSet? = tokens[key]?.let { TokenSet.fromJson(it) }
    override fun save(key: String, tokens: TokenSet) {
        val text = tokens.toJson()
        saved += text
        this.tokens[key] = text
    }
    override fun clear(key: String) { tokens.remove(key) }
}

/**
 * The secrets sweep through the Kotlin package: clients configured with recognisable secrets
 * are driven down every path (blocking and suspend), and nothing Kotlin code gets to see —
 * `toString()` of clients and objects, exceptions (`message`, `toString()`, the stack trace
 * text, every field), and Logger lines — may contain a secret: the configured ones, or the
 * tokens and codes the emulator issued (from the token store and the request log). Secrets
 * match by any 16-character window; any JWT header (`eyJhbGciOi`) is a leak too.
 */
class SecretsTest {
    private val texts = CopyOnWriteArrayList<Pair<String, String>>()
    private val secrets = ConcurrentHashMap.newKeySet<String>().apply {
        addAll(listOf(PAYPACK_SECRET, PAYPACK_WRONG_SECRET, PAYPACK_HOOK_SECRET, CO_TOKEN, CO_LIMITED_TOKEN,
            CO_UNKNOWN_TOKEN, CO_HOOK_SECRET, APP_HOOK_SECRET, PAGA_CLIENT_SECRET, PAGA_WRONG_SECRET, WRONG_HOOK_SECRET,
            OAUTH_CLIENT_SECRET, OAUTH_PASSWORD))
    }
    private val lines = CopyOnWriteArrayList<String>()
    private val logger = Logger { level, message -> lines += "$level $message" }
    private val store = RecordingStore()

    private fun secret(value: String?) { if (!value.isNullOrEmpty()) secrets += value }

    private fun show(what: String, value: Any?) { texts += what to value.toString() }

    private fun error(what: String, e: PesakitException) {
        show(what, e)
        show("$what.message", e.message)
        show("$what.summary", e.summary)
        show("$what.body", e.body)
        show("$what.gatewayMessage", e.gatewayMessage)
        show("$what.gatewayCode", e.gatewayCode)
        show("$what.fieldErrors", e.fieldErrors)
        show("$what.stackTrace", e.stackTraceToString())
    }

    /** Runs [block]; keeps its PesakitException, or the `toString()` of its value. */
    private fun <T> call(what: String, block: suspend () -> T): Any? = try {
        runBlocking { block() }.also { show(what, it) }
    } catch (e: PesakitException) {
        error(what, e)
        e
    }

    private fun Sandbox.expire(path: String, which: String) {
        control("POST", path, buildJsonObject { put("which", JsonPrimitive(which)) })
    }

    private fun Sandbox.fault(path: String, fault: Map<String, Any>) {
        fault(json(fault + mapOf("path" to path, "count" to 4)))
    }

    private fun Sandbox.clearFaults() { control("DELETE", "/_sandbox/faults") }

    private fun harvest(sandbox: Sandbox) {
        for (text in store.saved) {
            TokenSet.fromJson(text).use { t ->
                show("TokenSet", t)
                secret(t.accessToken())
                secret(t.refreshToken())
            }
        }
        for (r in sandbox.requests()) {
            r["headers"]?.jsonObject?.get("authorization")?.jsonPrimitive?.content?.let { secret(it.substringAfter(' ')) }
            for (part in listOf(r.str("query"), r.str("body"))) {
                part ?: continue
                for (pair in part.split('&')) {
                    val (k, v) = pair.split('=', limit = 2).let { it[0] to it.getOrElse(1) { "" } }
                    if (k in setOf("refresh_token", "code", "code_verifier", "client_secret", "password")) {
                        secret(URLDecoder.decode(v, Charsets.UTF_8))
                    }
                }
            }
            val path = r.str("path") ?: ""
            for (prefix in listOf("/paypack/api/auth/refresh/", "/paypack/api/auth/agents/refresh/")) {
                if (path.startsWith(prefix)) secret(path.removePrefix(prefix))
            }
        }
    }

    private fun assertClean(minSecrets: Int) {
        lines.forEach { texts += "Logger" to it }
        assertTrue(lines.isNotEmpty(), "the logger received lines")
        assertTrue(secrets.size >= minSecrets, "only ${secrets.size} secrets collected")
        val windows = HashSet<String>()
        for (s in secrets) for (i in 0..maxOf(0, s.length - WINDOW)) windows += s.substring(i, minOf(s.length, i + WINDOW))
        val short = secrets.filter { it.length <= WINDOW }
        val leaks = texts.filter { (_, text) ->
            "eyJhbGciOi" in text || short.any { it in text } ||
                (0..text.length - WINDOW).any { text.substring(it, it + WINDOW) in windows }
        }
        assertEquals(emptyList<Pair<String, String>>(), leaks, "${leaks.size} texts leak a secret")
        println("secrets sweep: ${texts.size} texts (${lines.size} log lines) checked against ${secrets.size} secrets")
    }

    private fun start() = Sandbox.start(
        "--app", "$PAYPACK_ID:$PAYPACK_SECRET",
        "--webhook-secret", PAYPACK_HOOK_SECRET,
        "--checkout-token", "$CO_TOKEN:*",
        "--checkout-token", "$CO_LIMITED_TOKEN:payments.get",
        "--checkout-webhook-secret", CO_HOOK_SECRET,
    )

    private fun paypack(sandbox: Sandbox, tokenStore: TokenStore = store, secret: String = PAYPACK_SECRET, timeoutMs: ULong = 30_000u) =
        PaypackClient(PAYPACK_ID, secret, testOptions(sandbox).copy(requestTimeoutMs = timeoutMs), tokenStore, logger).also {
            show("PaypackClient", it)
        }

    @Test
    fun `Paypack never leaks a secret`() = start().use { sandbox ->
        val client = paypack(sandbox)
        call("authorize") { client.authorizeBlocking() }
        val tx = client.cashinBlocking(CashRequest(BigDecimal("1000"), "0788123456"))
        show("cashin", tx)
        sandbox.settle(tx.reference, "successful")
        call("wait") { client.waitForCompletion(tx.reference, 10_000u) }
        call("find") { client.find(tx.reference) }
        call("list") { client.listTransactionsBlocking(TransactionFilter()) }
        call("events") { client.listEvents(EventFilter()) }
        call("cashout") { client.cashout(CashRequest(BigDecimal("100"), "0723456789")) }
        for ((action, which) in listOf("expire" to "access", "revoke" to "access", "expire" to "all", "revoke" to "all")) {
            sandbox.expire("/_sandbox/paypack/tokens/$action", which)
            assertTrue(call("profile after $action $which") { client.profile() } is Profile)
        }
        paypack(sandbox, store.sibling(), PAYPACK_WRONG_SECRET).use { wrong ->
            val e = call("wrong secret") { wrong.profileBlocking() }
            assertTrue(e is PesakitException.Authentication && e.status?.toInt() == 401, "$e")
        }
        sandbox.fault(json(mapOf("path" to "/paypack/api/merchants/me", "kind" to "status", "status" to 401, "count" to 2)))
        call("401 twice") { client.profileBlocking() }
        for (request in listOf(CashRequest(BigDecimal("1000"), "12345"), CashRequest(BigDecimal("0"), "0788123456"),
            CashRequest(BigDecimal("1000"), "0788123456", idempotencyKey = "x".repeat(40)))) {
            assertTrue(call("invalid cashin") { client.cashin(request) } is PesakitException.Validation)
        }
        call("find ..") { client.findBlocking("..") }
        call("404") { client.find("no-such-reference") }

        for (fault in FAULTS) {
            for ((target, path) in listOf("authorize" to "/paypack/api/auth/agents/authorize",
                "refresh" to "/paypack/api/auth/", "data" to "/paypack/api/merchants/me")) {
                paypack(sandbox, store.sibling(), timeoutMs = 250u).use { c ->
                    if (target != "authorize") c.authorizeBlocking()
                    if (target == "refresh") sandbox.expire("/_sandbox/paypack/tokens/expire", "access")
                    sandbox.fault(path, fault)
                    call("$target with $fault") { c.profile() }
                    sandbox.clearFaults()
                    call("authorize after $fault") { c.authorizeBlocking() }
                }
            }
        }
        client.close()
        harvest(sandbox)
        assertClean(20)
    }

    private fun checkout(sandbox: Sandbox, token: String? = CO_TOKEN, oauth: CheckoutOAuth? = null,
                         tokenStore: TokenStore = store, timeoutMs: ULong = 30_000u) =
        CheckoutClient(sandbox.checkoutBaseUrl, token, CO_HOOK_SECRET, oauth,
            checkoutOptions().copy(requestTimeoutMs = timeoutMs), tokenStore, logger).also {
            show("CheckoutClient", it)
            show("CheckoutWebhookVerifier", it.webhookVerifier())
        }

    private fun signIn(sandbox: Sandbox): CheckoutOAuth {
        val s = sandbox.signIn()
        secret(s.accessToken)
        secret(s.refreshToken)
        return s.oauth().also { show("CheckoutOAuth", it) }
    }

    @Test
    fun `hosted checkout never leaks a secret`() = start().use { sandbox ->
        val client = checkout(sandbox, oauth = signIn(sandbox))
        val created = client.createCheckoutBlocking(CheckoutRequest(BigDecimal("100.50"), "USD", "order-1"))
        show("checkout", created)
        call("get") { client.getPayment(created.paymentId) }
        call("instructions") { client.payerInstructionsBlocking(created.paymentId, "bitcoin", "onchain") }
        call("404") { client.getPaymentBlocking("no-such-payment") }
        for (token in listOf(CO_LIMITED_TOKEN, CO_UNKNOWN_TOKEN)) {
            checkout(sandbox, token).use { other ->
                val e = call("refused token") { other.createCheckout(CheckoutRequest(BigDecimal("5"), "USD", "order-2")) }
                assertTrue(e is PesakitException && e.status?.toInt() in setOf(401, 403), "$e")
            }
        }
        for ((amount, currency) in listOf("1.001" to "USD", "1" to "", "1" to "XYZ")) {
            assertTrue(call("invalid") { client.createCheckout(CheckoutRequest(BigDecimal(amount), currency, "o")) } is PesakitException)
        }
        call("create application") {
            client.createPaymentApplicationBlocking(NewPaymentApplication("Leak shop", callbackUrl = "https://shop.example/hooks"), APP_HOOK_SECRET)
        }
        for (app in listOf(NewPaymentApplication("x"), NewPaymentApplication("Leak shop", callbackUrl = "not a url"))) {
            assertTrue(call("invalid application") { client.createPaymentApplication(app, APP_HOOK_SECRET) } is PesakitException)
        }
        sandbox.expire("/_sandbox/checkout/oauth/expire", "access")
        assertTrue(call("applications after expiry") { client.paymentApplications() } is List<*>)
        sandbox.expire("/_sandbox/checkout/oauth/expire", "all")
        assertTrue(call("refresh refused") { client.paymentApplicationsBlocking() } is PesakitException)

        for (fault in FAULTS) {
            checkout(sandbox, oauth = signIn(sandbox), tokenStore = store.sibling(), timeoutMs = 250u).use { c ->
                c.paymentApplicationsBlocking()
                sandbox.expire("/_sandbox/checkout/oauth/expire", "access")
                sandbox.fault("/checkout/oauth/token", fault)
                call("OAuth refresh with $fault") { c.paymentApplications() }
                sandbox.clearFaults()
                sandbox.fault("/checkout/api/payment", fault)
                call("create with $fault") { c.createCheckoutBlocking(CheckoutRequest(BigDecimal("7"), "USD", "order-f")) }
                call("get with $fault") { c.getPayment(created.paymentId) }
                sandbox.clearFaults()
            }
        }
        client.close()
        harvest(sandbox)
        assertClean(20)
    }

    private fun approve(authorization: PagaAuthorization, user: String? = null): String {
        secret(authorization.pkceVerifier())
        show("PagaAuthorization", authorization)
        val callback = pagaBrowse(authorization.url(), user)
        URI(callback).rawQuery.split('&').map { it.split('=', limit = 2) }.firstOrNull { it[0] == "code" }
            ?.let { secret(URLDecoder.decode(it[1], Charsets.UTF_8)) }
        return callback
    }

    @Test
    fun `Paga Connect never leaks a secret`() = start().use { sandbox ->
        for (style in listOf(PagaTokenRequestStyle.FORM_BODY, PagaTokenRequestStyle.QUERY_STRING)) {
            fun make(secret: String = PAGA_CLIENT_SECRET, tokenStore: TokenStore = store, timeoutMs: ULong = 30_000u) =
                PagaClient(PAGA_CLIENT_ID, secret, PAGA_REDIRECT_URI,
                    pagaOptions(sandbox, style, pkce = true).copy(requestTimeoutMs = timeoutMs), tokenStore, logger)
                    .also { show("PagaClient", it) }
            val client = make()
            val user = "user-$style"
            val auth = client.authorizationUrl(PAGA_SCOPES, listOf("FIRST_NAME"))
            show("authorization url", auth.url())
            val callback = approve(auth)
            assertTrue(call("callback") { client.handleCallback(callback, auth, user) } is PagaGrant)
            call("used code") { client.handleCallbackBlocking(callback, auth, user) }
            val other = client.authorizationUrl(PAGA_SCOPES, emptyList())
            secret(other.pkceVerifier())
            call("wrong state") { client.handleCallbackBlocking(callback, other, user) }
            val fresh = client.authorizationUrl(PAGA_SCOPES, emptyList())
            val cb = approve(fresh)
            call("wrong verifier") {
                client.handleCallbackBlocking(cb, PagaAuthorization.restore(fresh.url(), fresh.state(), other.pkceVerifier()), user)
            }
            val denied = client.authorizationUrl(PAGA_SCOPES, emptyList())
            call("denied") { client.handleCallback(approve(denied, "denying-paga-user"), denied, user) }
            val payment = PagaMerchantPaymentRequest(newPagaReferenceNumber(), BigDecimal("100"), "customer-1")
            call("pay") { client.merchantPayment(user, payment) }
            call("duplicate") { client.merchantPaymentBlocking(user, payment) }
            sandbox.expire("/_sandbox/paga/tokens/expire", "access")
            assertTrue(call("transfer after expiry") {
                client.moneyTransferBlocking(user, PagaMoneyTransferRequest(newPagaReferenceNumber(), BigDecimal("10"), "08030000002", true))
            } is PagaPaymentResult)
            call("invalid payment") { client.merchantPayment(user, payment.copy(amount = BigDecimal("0"))) }
            sandbox.expire("/_sandbox/paga/tokens/expire", "all")
            assertTrue(call("refresh refused") { client.userDetails(user) } is PesakitException)
            call("unknown user") { client.userDetailsBlocking("never-connected") }
            make(PAGA_WRONG_SECRET, store.sibling()).use { wrong ->
                val req = wrong.authorizationUrl(PAGA_SCOPES, emptyList())
                val e = call("wrong client secret") { wrong.handleCallbackBlocking(approve(req), req, user) }
                assertTrue(e is PesakitException && e.status?.toInt() == 401, "$e")
            }
            for (fault in FAULTS) {
                make(tokenStore = store.sibling(), timeoutMs = 250u).use { c ->
                    for (target in listOf("exchange", "refresh", "operation")) {
                        val req = c.authorizationUrl(PAGA_SCOPES, emptyList())
                        val back = approve(req)
                        if (target != "exchange") c.handleCallbackBlocking(back, req, user)
                        if (target == "refresh") sandbox.expire("/_sandbox/paga/tokens/expire", "access")
                        sandbox.fault("/paga/paga-webservices/oauth2/" + if (target == "operation") "secure/" else "token", fault)
                        if (target == "exchange") call("exchange with $fault") { c.handleCallback(back, req, user) }
                        else call("$target with $fault") { c.userDetails(user) }
                        sandbox.clearFaults()
                    }
                }
            }
            client.close()
        }
        harvest(sandbox)
        assertClean(20)
    }

    @Test
    fun `webhooks and printed objects never leak a secret`() {
        secret("access-LEAKCHECK-printed-token")
        secret("refresh-LEAKCHECK-printed-token")
        val body = ("""{"event_id":"e1","event_kind":"transaction:processed","created_at":"2024-05-01T10:00:00Z",""" +
            """"data":{"ref":"r1","kind":"CASHIN","amount":1000,"status":"successful","client":"0788123456"}}""").toByteArray()
        val verifier = PaypackWebhookVerifier(PAYPACK_HOOK_SECRET)
        val wrong = PaypackWebhookVerifier(WRONG_HOOK_SECRET)
        show("PaypackWebhookVerifier", verifier)
        val good = verifier.sign(body)
        call("valid") { verifier.verifyAndParse(body, good) }
        for ((what, block) in listOf<Pair<String, () -> Unit>>(
            "wrong secret" to { wrong.verify(body, good) },
            "bad signature" to { verifier.verify(body, "not-base64!") },
            "missing" to { verifier.verify(body, null) },
            "tampered" to { verifier.verify("{}".toByteArray(), good) },
            "not JSON" to { verifier.verifyAndParse("nope".toByteArray(), verifier.sign("nope".toByteArray())) },
            "empty secret" to { PaypackWebhookVerifier("") },
        )) {
            assertTrue(call(what) { block() } is PesakitException, what)
        }
        val co = CheckoutWebhookVerifier(CO_HOOK_SECRET)
        val coWrong = CheckoutWebhookVerifier(WRONG_HOOK_SECRET)
        show("CheckoutWebhookVerifier", co)
        val coBody = """{"payment":{"id":"p1","status":"CONFIRMED"}}""".toByteArray()
        val now = System.currentTimeMillis() / 1000
        val sig = co.sign(now, coBody)
        call("valid checkout") { co.verifyAndParse(coBody, sig, now.toString(), "payment.completed") }
        for ((what, block) in listOf<Pair<String, () -> Unit>>(
            "wrong secret" to { coWrong.verifyAndParse(coBody, sig, now.toString(), "payment.completed") },
            "bad signature" to { co.verifyAndParse(coBody, "0".repeat(64), now.toString()) },
            "stale" to { co.verifyAndParse(coBody, co.sign(now - 3600, coBody), (now - 3600).toString()) },
            "no timestamp" to { co.verifyAndParse(coBody, sig, null) },
        )) {
            assertTrue(call(what) { block() } is PesakitException, what)
        }
        TokenSet("access-LEAKCHECK-printed-token", java.time.Instant.now(), "refresh-LEAKCHECK-printed-token").use { show("TokenSet", it) }
        CheckoutOAuth("access-LEAKCHECK-printed-token", "c", "refresh-LEAKCHECK-printed-token", clientSecret = WRONG_HOOK_SECRET)
            .use { show("CheckoutOAuth", it) }
        call("unreadable stored tokens") { TokenSet.fromJson("""{"access_token": "access-LEAKCHECK-printed-token", "expires_at": 5}""") }
        for (url in listOf("https://user:$PAYPACK_HOOK_SECRET@example.com/api?x=1", "http://user:$PAYPACK_HOOK_SECRET@example.com/api",
            "https://user:$PAYPACK_HOOK_SECRET@exa mple.com/api")) {
            assertTrue(call("credentials in the URL") { PaypackClient("x", PAYPACK_SECRET, PaypackOptions(baseUrl = url)) } is PesakitException.Configuration)
            assertTrue(call("credentials in the checkout URL") { CheckoutClient(url, CO_TOKEN) } is PesakitException.Configuration)
        }
        lines += "nothing logged here"
        assertClean(5)
    }
}
