package io.pesakit

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.buildJsonArray
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import java.io.File
import java.math.BigDecimal
import java.time.Instant

/**
 * Runs every conformance scenario (the `.json` files of `tests/conformance/paypack`,
 * `tests/conformance/checkout` and `tests/conformance/paga`) against a fresh emulator, as
 * `tests/conformance/README.md` specifies. `PESAKIT_CONFORMANCE_DIR` /
 * `PESAKIT_CHECKOUT_CONFORMANCE_DIR` / `PESAKIT_PAGA_CONFORMANCE_DIR` point the runner at
 * other directories of scenarios.
 */
class ConformanceTest {
    @TestFactory
    fun paypack(): List<DynamicTest> = scenarios("paypack", "PESAKIT_CONFORMANCE_DIR")

    @TestFactory
    fun checkout(): List<DynamicTest> = scenarios("checkout", "PESAKIT_CHECKOUT_CONFORMANCE_DIR")

    @TestFactory
    fun paga(): List<DynamicTest> = scenarios("paga", "PESAKIT_PAGA_CONFORMANCE_DIR")

    private fun scenarios(gateway: String, override: String): List<DynamicTest> {
        val dir = System.getenv(override)?.takeIf { it.isNotBlank() }?.let(::File)
            ?: File(repoRoot, "tests/conformance/$gateway")
        val files = dir.listFiles { f -> f.isFile && f.name.endsWith(".json") }.orEmpty().sortedBy { it.name }
        assertTrue(files.isNotEmpty(), "no conformance scenarios found in $dir")
        return files.map { file ->
            DynamicTest.dynamicTest(file.nameWithoutExtension) { ScenarioRunner(file, gateway).run() }
        }
    }
}

/** Thrown when a scenario step does not hold; carries the step for the report. */
class ScenarioFailure(message: String, cause: Throwable? = null) : AssertionError(message, cause)

/**
 * One scenario. A Paypack scenario drives a [PaypackClient]; a hosted-checkout one
 * (`"gateway": "checkout"`) a [CheckoutClient] below the emulator's `/checkout`; a Paga
 * Connect one (`"gateway": "paga"`) a [PagaClient] below `/paga`.
 */
class ScenarioRunner(private val file: File, defaultGateway: String = "paypack") {
    private val scenario: JsonObject = Json.parseToJsonElement(file.readText()).jsonObject
    private val gateway: String = scenario["gateway"]?.jsonPrimitive?.content ?: defaultGateway
    private val isCheckout: Boolean = when (gateway) {
        "paypack", "paga" -> false
        "checkout" -> true
        else -> throw ScenarioFailure("${file.name}: unknown gateway \"$gateway\"")
    }
    private val isPaga: Boolean = gateway == "paga"
    private val saved = mutableMapOf<String, JsonElement>()
    private val store = MapTokenStore()
    private lateinit var sandbox: Sandbox
    private var client: PaypackClient? = null
    private var checkoutClient: CheckoutClient? = null
    private var pagaClient: PagaClient? = null

    /** The dashboard sign-in of an `"oauth": true` checkout scenario: (access token, refresh token). */
    private var oauthTokens: Pair<String, String>? = null

    private val clientConfig: JsonObject = scenario["client"]?.jsonObject ?: JsonObject(emptyMap())
    private val clientId: String get() = clientConfig["client_id"]?.jsonPrimitive?.content ?: DEFAULT_CLIENT_ID
    private val clientSecret: String get() = clientConfig["client_secret"]?.jsonPrimitive?.content ?: DEFAULT_CLIENT_SECRET

    /** Where this gateway's requests are logged: the prefix of `assert` paths. */
    private val pathPrefix: String get() = when {
        isCheckout -> "/checkout"
        isPaga -> "/paga"
        else -> "/paypack/api"
    }

    fun run() {
        val steps = scenario["steps"]?.jsonArray ?: throw ScenarioFailure("${file.name}: no \"steps\"")
        val unknownTop = scenario.keys - TOP_KEYS - COMMENT_KEYS
        if (unknownTop.isNotEmpty()) throw ScenarioFailure("${file.name}: unknown keys $unknownTop")
        Sandbox.start().use { sb ->
            sandbox = sb
            scenario["sandbox"]?.let { sb.control("POST", "/_sandbox/$gateway/config", it) }
            if (scenario["oauth"]?.jsonPrimitive?.booleanOrNull == true) {
                if (!isCheckout) throw ScenarioFailure("${file.name}: \"oauth\" is for checkout scenarios")
                oauthTokens = signIn()
            }
            openClient()
            try {
                runBlocking {
                    steps.forEachIndexed { i, raw ->
                        val step = raw.jsonObject
                        try {
                            runStep(step)
                        } catch (e: Throwable) {
                            throw ScenarioFailure("${file.name}: step ${i + 1} $step failed: ${e.message}", e)
                        }
                    }
                }
            } finally {
                client?.close()
                checkoutClient?.close()
                pagaClient?.close()
            }
        }
    }

    // ---- client ----------------------------------------------------------------------

    private fun openClient() {
        when {
            isCheckout -> checkoutClient = newCheckoutClient()
            isPaga -> pagaClient = newPagaClient()
            else -> client = newClient()
        }
    }

    /** The Paga client of README "Paga Connect scenarios", with the runner's store. */
    private fun newPagaClient(): PagaClient {
        val options = PagaOptions(
            environment = PagaEnvironment.Custom("${sandbox.baseUrl}/paga"),
            allowInsecureLoopback = true,
            initialBackoffMs = 10u,
            maxBackoffMs = 50u,
        )
        for ((key, value) in clientConfig) {
            val v = value.jsonPrimitive
            when (key) {
                "pkce" -> options.pkce = v.booleanOrNull ?: fail("$key must be a boolean")
                "token_request_style" -> options.tokenRequestStyle = when (v.content) {
                    "form_body" -> PagaTokenRequestStyle.FORM_BODY
                    "query_string" -> PagaTokenRequestStyle.QUERY_STRING
                    else -> fail("unknown token request style \"${v.content}\"")
                }
                "connect_timeout_ms" -> options.connectTimeoutMs = v.uLong(key)
                "request_timeout_ms" -> options.requestTimeoutMs = v.uLong(key)
                "max_retries" -> options.maxRetries = v.uLong(key).toUInt()
                "initial_backoff_ms" -> options.initialBackoffMs = v.uLong(key)
                "max_backoff_ms" -> options.maxBackoffMs = v.uLong(key)
                "refresh_skew_ms" -> options.refreshSkewMs = v.uLong(key)
                else -> fail("unknown paga client option \"$key\"")
            }
        }
        return PagaClient(DEFAULT_PAGA_CLIENT_ID, DEFAULT_PAGA_CLIENT_SECRET, DEFAULT_PAGA_REDIRECT_URI, options, store)
    }

    /** The checkout client of README "Hosted checkout scenarios", with the runner's store. */
    private fun newCheckoutClient(): CheckoutClient {
        val options = CheckoutOptions(
            clientId = DEFAULT_CHECKOUT_CLIENT_ID,
            allowInsecureLoopback = true,
            initialBackoffMs = 10u,
            maxBackoffMs = 50u,
        )
        var clientToken = DEFAULT_CHECKOUT_TOKEN
        for ((key, value) in clientConfig) {
            val v = value.jsonPrimitive
            when (key) {
                "client_token" -> clientToken = v.content
                "connect_timeout_ms" -> options.connectTimeoutMs = v.uLong(key)
                "request_timeout_ms" -> options.requestTimeoutMs = v.uLong(key)
                "max_retries" -> options.maxRetries = v.uLong(key).toUInt()
                "initial_backoff_ms" -> options.initialBackoffMs = v.uLong(key)
                "max_backoff_ms" -> options.maxBackoffMs = v.uLong(key)
                "max_retry_after_ms" -> options.maxRetryAfterMs = v.uLong(key)
                "refresh_skew_ms" -> options.refreshSkewMs = v.uLong(key)
                else -> fail("unknown checkout client option \"$key\"")
            }
        }
        val oauth = oauthTokens?.let { (access, refresh) ->
            CheckoutOAuth(access, DEFAULT_OAUTH_CLIENT_ID, refresh, clientSecret = DEFAULT_OAUTH_CLIENT_SECRET)
        }
        // The client keeps its own copy of the OAuth tokens: the handle can go at once.
        return oauth.use { CheckoutClient(sandbox.checkoutBaseUrl, clientToken, DEFAULT_CHECKOUT_WEBHOOK_SECRET, it, options, store) }
    }

    /** Signs in with raw HTTP, as a dashboard would (password grant). */
    private fun signIn(): Pair<String, String> {
        val reply = sandbox.postForm("/checkout/oauth/token", mapOf(
            "grant_type" to "password",
            "username" to DEFAULT_OAUTH_USERNAME,
            "password" to DEFAULT_OAUTH_PASSWORD,
            "client_id" to DEFAULT_OAUTH_CLIENT_ID,
            "client_secret" to DEFAULT_OAUTH_CLIENT_SECRET,
        ))
        if (reply.status != 200) fail("the OAuth sign-in answered ${reply.status}: ${reply.text}")
        val answer = reply.json.jsonObject
        return answer.string("access_token") to answer.string("refresh_token")
    }

    private fun newClient(): PaypackClient {
        val options = PaypackOptions(
            baseUrl = sandbox.paypackBaseUrl,
            allowInsecureLoopback = true,
            initialBackoffMs = 10u,
            maxBackoffMs = 50u,
            pollIntervalMs = 20u,
        )
        for ((key, value) in clientConfig) {
            val v = value.jsonPrimitive
            when (key) {
                "client_id", "client_secret" -> {}
                "base_url" -> options.baseUrl = v.content
                "allow_insecure_loopback" -> options.allowInsecureLoopback = v.booleanOrNull ?: fail("$key must be a boolean")
                "webhook_mode" -> options.webhookMode = webhookMode(v.content)
                "connect_timeout_ms" -> options.connectTimeoutMs = v.uLong(key)
                "request_timeout_ms" -> options.requestTimeoutMs = v.uLong(key)
                "max_retries" -> options.maxRetries = v.uLong(key).toUInt()
                "initial_backoff_ms" -> options.initialBackoffMs = v.uLong(key)
                "max_backoff_ms" -> options.maxBackoffMs = v.uLong(key)
                "max_retry_after_ms" -> options.maxRetryAfterMs = v.uLong(key)
                "refresh_skew_ms" -> options.refreshSkewMs = v.uLong(key)
                "poll_interval_ms" -> options.pollIntervalMs = v.uLong(key)
                else -> fail("unknown client option \"$key\"")
            }
        }
        return PaypackClient(clientId, clientSecret, options, store)
    }

    // ---- steps -----------------------------------------------------------------------

    private suspend fun runStep(rawStep: JsonObject) {
        val step = resolve(rawStep) as JsonObject
        val kinds = listOf("call", "control", "assert", "webhook", "new_client", "connect").filter { it in step }
        if (kinds.size != 1) fail("a step needs exactly one of call/control/assert/webhook/new_client/connect, found $kinds")
        val allowed = when {
            isCheckout -> CHECKOUT_STEP_KEYS
            isPaga -> PAGA_STEP_KEYS
            else -> STEP_KEYS
        }
        // Unknown keys fail loudly: a runner that silently ignored one would pass a scenario it did not run.
        val unknown = step.keys - (allowed[kinds.single()] ?: fail("a ${kinds.single()} step is not for $gateway scenarios")) - COMMENT_KEYS
        if (unknown.isNotEmpty()) fail("unknown keys $unknown in a ${kinds.single()} step")
        when (kinds.single()) {
            "call" -> runCall(step)
            "control" -> runControl(step)
            "assert" -> runAssert(step)
            "webhook" -> if (isCheckout) runCheckoutWebhook(step) else runWebhook(step)
            "connect" -> runConnect(step)
            "new_client" -> {
                client?.close()
                checkoutClient?.close()
                pagaClient?.close()
                openClient()
            }
        }
    }

    private suspend fun runCall(step: JsonObject) {
        val name = step.string("call")
        val args = step["args"]?.jsonObject ?: JsonObject(emptyMap())
        val blocking = step["blocking"]?.jsonPrimitive?.booleanOrNull ?: false
        val concurrency = step["concurrency"]?.jsonPrimitive?.longOrNull?.toInt() ?: 1
        val call: suspend (Boolean) -> JsonElement = if (isCheckout) {
            val c = checkoutClient ?: fail("no client")
            ({ b -> invokeCheckout(c, name, args, b) })
        } else if (isPaga) {
            val c = pagaClient ?: fail("no client")
            ({ b -> invokePaga(c, name, args, b) })
        } else {
            val c = client ?: fail("no client")
            ({ b -> invoke(c, name, args, b) })
        }
        // `repeat`: the call N times, one after another; the last result counts.
        val repeat = step["repeat"]?.jsonPrimitive?.longOrNull?.toInt() ?: 1
        val outcomes: List<Result<JsonElement>> = if (concurrency <= 1) {
            listOf((1..repeat).map { outcome { call(blocking) } }.last())
        } else coroutineScope {
            // Async calls run concurrently on this thread; blocking ones each get a thread.
            (1..concurrency).map {
                if (blocking) async(Dispatchers.IO) { outcome { call(true) } }
                else async { outcome { call(false) } }
            }.awaitAll()
        }
        outcomes.forEachIndexed { i, o -> check(step, o, if (outcomes.size > 1) "call ${i + 1} of ${outcomes.size}: " else "") }
        step["save"]?.let { saved[it.jsonPrimitive.content] = outcomes.first().getOrThrow() }
    }

    private suspend fun invoke(c: PaypackClient, name: String, args: JsonObject, blocking: Boolean): JsonElement =
        when (name) {
            "authorize" -> {
                val expires = if (blocking) c.authorizeBlocking() else c.authorize()
                buildJsonObject { put("expires_in_future", expires.isAfter(Instant.now())) }
            }
            "profile" -> canonicalProfile(if (blocking) c.profileBlocking() else c.profile())
            "cashin" -> cashRequest(args).let { canonical(if (blocking) c.cashinBlocking(it) else c.cashin(it)) }
            "cashout" -> cashRequest(args).let { canonical(if (blocking) c.cashoutBlocking(it) else c.cashout(it)) }
            "find" -> args.string("reference").let { canonical(if (blocking) c.findBlocking(it) else c.find(it)) }
            "wait_for_completion" -> {
                val reference = args.string("reference")
                val timeout = args["timeout_ms"]?.jsonPrimitive?.uLong("timeout_ms") ?: 10_000u
                canonical(if (blocking) c.waitForCompletionBlocking(reference, timeout) else c.waitForCompletion(reference, timeout))
            }
            "list_transactions" -> transactionFilter(args).let {
                canonical(if (blocking) c.listTransactionsBlocking(it) else c.listTransactions(it))
            }
            "list_events" -> eventFilter(args).let { canonical(if (blocking) c.listEventsBlocking(it) else c.listEvents(it)) }
            "transactions" -> {
                val filter = transactionFilter(args)
                val refs = if (blocking) c.transactionsSequence(filter).map { it.reference }.toList()
                else c.transactionsFlow(filter).toList().map { it.reference }
                pager(refs)
            }
            "events" -> {
                val filter = eventFilter(args)
                val ids = if (blocking) c.eventsSequence(filter).map { it.id }.toList()
                else c.eventsFlow(filter).toList().map { it.id }
                pager(ids)
            }
            else -> fail("unknown call \"$name\"")
        }

    /**
     * The browser part of OAuth: `authorization_url`, a GET of it without following
     * redirects, then `handle_callback` with the `Location` (and, for `"state": "forged"`,
     * a second, fresh authorization).
     */
    private suspend fun runConnect(step: JsonObject) {
        val c = pagaClient ?: fail("no client")
        val connect = step["connect"]?.jsonObject ?: fail("connect needs an object")
        val unknown = connect.keys - PAGA_CONNECT_KEYS
        if (unknown.isNotEmpty()) fail("unknown connect keys $unknown")
        val user = connect.string("user")
        val scopes = connect["scopes"]?.jsonArray?.map { it.jsonPrimitive.content }.orEmpty()
        val userData = connect["user_data"]?.jsonArray?.map { it.jsonPrimitive.content }.orEmpty()
        val forged = when (val state = connect.optString("state") ?: "valid") {
            "valid" -> false
            "forged" -> true
            else -> fail("unknown state \"$state\"")
        }
        val o = c.authorizationUrl(scopes, userData).use { authorization ->
            val location = pagaBrowse(authorization.url(), connect.optString("sandbox_user"))
            outcome {
                if (forged) {
                    c.authorizationUrl(scopes, userData).use { other -> canonical(c.handleCallback(location, other, user)) }
                } else {
                    canonical(c.handleCallback(location, authorization, user))
                }
            }
        }
        check(step, o, "")
        step["save"]?.let { saved[it.jsonPrimitive.content] = o.getOrThrow() }
    }

    private suspend fun invokePaga(c: PagaClient, name: String, args: JsonObject, blocking: Boolean): JsonElement {
        val unknown = args.keys - (PAGA_CALL_ARGS[name] ?: fail("unknown paga call \"$name\""))
        if (unknown.isNotEmpty()) fail("unknown args $unknown for $name")
        val user = args.string("user")
        return when (name) {
            "user_details" -> {
                val d = if (blocking) c.userDetailsBlocking(user) else c.userDetails(user)
                buildJsonObject {
                    put("first_name", d.firstName)
                    put("username", d.username)
                    put("account_balance", amount(d.accountBalance))
                }
            }
            "merchant_payment" -> {
                val request = PagaMerchantPaymentRequest(
                    referenceNumber = args.string("reference_number"),
                    amount = BigDecimal(args.string("amount")),
                    customerReference = args.string("customer_reference"),
                    productCode = args.optString("product_code"),
                    currency = args.optString("currency"),
                )
                val p = if (blocking) c.merchantPaymentBlocking(user, request) else c.merchantPayment(user, request)
                buildJsonObject {
                    put("has_transaction_id", p.transactionId != null)
                    put("amount", amount(p.amount))
                    put("fee", amount(p.fee))
                }
            }
            "money_transfer" -> {
                val request = PagaMoneyTransferRequest(
                    referenceNumber = args.string("reference_number"),
                    amount = BigDecimal(args.string("amount")),
                    recipient = args.string("recipient"),
                    skipMessaging = args["skip_messaging"]?.jsonPrimitive?.booleanOrNull ?: false,
                )
                val t = if (blocking) c.moneyTransferBlocking(user, request) else c.moneyTransfer(user, request)
                buildJsonObject {
                    put("has_transaction_id", t.transactionId != null)
                    put("amount", amount(t.amount))
                }
            }
            "one_time_token" -> {
                val reference = args.string("reference_number")
                val text = if (blocking) c.oneTimeTokenBlocking(user, reference) else c.oneTimeToken(user, reference)
                buildJsonObject { put("is_object", Json.parseToJsonElement(text) is JsonObject) }
            }
            else -> fail("unknown paga call \"$name\"")
        }
    }

    private fun pager(ids: List<String>) = buildJsonObject {
        put("count", ids.size)
        put("unique", ids.toSet().size)
    }

    private suspend fun invokeCheckout(c: CheckoutClient, name: String, args: JsonObject, blocking: Boolean): JsonElement {
        val unknown = args.keys - (CHECKOUT_CALL_ARGS[name] ?: fail("unknown checkout call \"$name\""))
        if (unknown.isNotEmpty()) fail("unknown args $unknown for $name")
        return when (name) {
            "create_checkout" -> {
                val request = CheckoutRequest(
                    amount = BigDecimal(args.string("amount")),
                    currency = args.string("currency"),
                    reference = args.string("reference"),
                    referenceLabel = args.optString("reference_label"),
                    exponent = args["exponent"]?.jsonPrimitive?.uLong("exponent")?.toUInt(),
                )
                val created = if (blocking) c.createCheckoutBlocking(request) else c.createCheckout(request)
                buildJsonObject {
                    put("payment_id", created.paymentId)
                    put("url_has_payment_id", created.checkoutUrl.contains(created.paymentId))
                    put("has_expires_at", created.expiresAt != null)
                }
            }
            "get_payment" -> args.string("id").let { canonical(if (blocking) c.getPaymentBlocking(it) else c.getPayment(it)) }
            "payer_instructions" -> {
                val (id, provider, method) = listOf("payment_id", "provider", "method").map { args.string(it) }
                Json.parseToJsonElement(if (blocking) c.payerInstructionsBlocking(id, provider, method) else c.payerInstructions(id, provider, method))
            }
            "payment_applications" -> {
                val apps = if (blocking) c.paymentApplicationsBlocking() else c.paymentApplications()
                buildJsonObject {
                    put("count", apps.size)
                    put("names", buildJsonArray { apps.forEach { add(JsonPrimitive(it.name)) } })
                }
            }
            "payment_application" -> args.string("id").let { canonical(if (blocking) c.paymentApplicationBlocking(it) else c.paymentApplication(it)) }
            "create_payment_application" -> {
                val app = NewPaymentApplication(
                    name = args.string("name"),
                    callbackUrl = args.optString("callback_url"),
                    currencyWhitelist = args["currency_whitelist"]?.jsonArray?.map { it.jsonPrimitive.content }.orEmpty(),
                )
                val secret = args.string("secret")
                canonical(if (blocking) c.createPaymentApplicationBlocking(app, secret) else c.createPaymentApplication(app, secret))
            }
            else -> fail("unknown checkout call \"$name\"")
        }
    }

    private fun cashRequest(args: JsonObject) = CashRequest(
        amount = BigDecimal(args.string("amount")),
        number = args.string("number"),
        idempotencyKey = args.optString("idempotency_key"),
        webhookMode = args.optString("webhook_mode")?.let(::webhookMode),
        validate = args["validate"]?.jsonPrimitive?.booleanOrNull ?: true,
    )

    private fun transactionFilter(args: JsonObject): TransactionFilter {
        val filter = TransactionFilter()
        for ((key, value) in args) {
            val v = value.jsonPrimitive
            when (key) {
                "offset" -> filter.offset = v.uLong(key)
                "limit" -> filter.limit = v.uLong(key)
                "kind" -> filter.kind = transactionKind(v.content)
                "client" -> filter.client = v.content
                "from" -> filter.from = Instant.parse(v.content)
                "to" -> filter.to = Instant.parse(v.content)
                else -> fail("unknown transaction filter \"$key\"")
            }
        }
        return filter
    }

    private fun eventFilter(args: JsonObject): EventFilter {
        val filter = EventFilter()
        for ((key, value) in args) {
            val v = value.jsonPrimitive
            when (key) {
                "reference" -> filter.reference = v.content
                "kind" -> filter.kind = transactionKind(v.content)
                "client" -> filter.client = v.content
                "status" -> filter.status = transactionStatus(v.content)
                "offset" -> filter.offset = v.uLong(key)
                "limit" -> filter.limit = v.uLong(key)
                "from" -> filter.from = Instant.parse(v.content)
                "to" -> filter.to = Instant.parse(v.content)
                else -> fail("unknown event filter \"$key\"")
            }
        }
        return filter
    }

    private fun runControl(step: JsonObject) {
        val name = step.string("control")
        if (isPaga) {
            when (name) {
                "paga_expire_tokens" -> sandbox.control(
                    "POST", "/_sandbox/paga/tokens/expire",
                    buildJsonObject { step.optString("which")?.let { put("which", it) } },
                )
                "config" -> sandbox.control("POST", "/_sandbox/paga/config", step["config"] ?: fail("config needs \"config\""))
                "fault" -> sandbox.control("POST", "/_sandbox/faults", step["fault"] ?: fail("fault needs \"fault\""))
                "clear_faults" -> sandbox.control("DELETE", "/_sandbox/faults")
                "clear_requests" -> sandbox.control("DELETE", "/_sandbox/requests")
                else -> fail("unknown paga control \"$name\"")
            }
            return
        }
        if (isCheckout) {
            when (name) {
                "payment_status" -> sandbox.control(
                    "POST", "/_sandbox/checkout/payments/${step.string("payment_id")}/status",
                    buildJsonObject { put("status", step.string("status")) },
                )
                "oauth_expire" -> sandbox.control(
                    "POST", "/_sandbox/checkout/oauth/expire",
                    buildJsonObject { step.optString("which")?.let { put("which", it) } },
                )
                "config" -> sandbox.control("POST", "/_sandbox/checkout/config", step["config"] ?: fail("config needs \"config\""))
                "fault" -> sandbox.control("POST", "/_sandbox/faults", step["fault"] ?: fail("fault needs \"fault\""))
                "clear_faults" -> sandbox.control("DELETE", "/_sandbox/faults")
                "clear_requests" -> sandbox.control("DELETE", "/_sandbox/requests")
                else -> fail("unknown checkout control \"$name\"")
            }
            return
        }
        when (name) {
            "settle" -> sandbox.control(
                "POST", "/_sandbox/paypack/transactions/${step.string("reference")}/settle",
                buildJsonObject { step.optString("status")?.let { put("status", it) } },
            )
            "fault" -> sandbox.control("POST", "/_sandbox/faults", step["fault"] ?: fail("fault needs \"fault\""))
            "clear_faults" -> sandbox.control("DELETE", "/_sandbox/faults")
            "clear_requests" -> sandbox.control("DELETE", "/_sandbox/requests")
            "expire_tokens", "revoke_tokens" -> sandbox.control(
                "POST", "/_sandbox/paypack/tokens/${name.removeSuffix("_tokens")}",
                buildJsonObject { step.optString("which")?.let { put("which", it) } },
            )
            "config" -> sandbox.control("POST", "/_sandbox/paypack/config", step["config"] ?: fail("config needs \"config\""))
            "seed_tokens" -> seedTokens(step["expires_in_secs"]?.jsonPrimitive?.longOrNull ?: fail("seed_tokens needs expires_in_secs"))
            else -> fail("unknown control \"$name\"")
        }
    }

    /** Authorizes with raw HTTP and saves the real tokens into the runner's store. */
    private fun seedTokens(expiresInSecs: Long) {
        val reply = sandbox.request("POST", "/paypack/api/auth/agents/authorize", buildJsonObject {
            put("client_id", clientId)
            put("client_secret", clientSecret)
        })
        if (reply.status != 200) fail("raw authorize answered ${reply.status}: ${reply.text}")
        val answer = reply.json.jsonObject
        val now = Instant.now()
        val tokens = TokenSet(
            accessToken = answer.string("access"),
            expiresAt = now.plusSeconds(expiresInSecs),
            refreshToken = answer.optString("refresh"),
            refreshExpiresAt = null,
            obtainedAt = now.minusSeconds(900),
        )
        store.save("paypack|${sandbox.paypackBaseUrl}|$clientId", tokens)
        sandbox.clearRequests()
    }

    private fun runAssert(step: JsonObject) {
        when (val name = step.string("assert")) {
            "requests" -> {
                val matching = logged(step)
                val want = step.long("count")
                if (matching.size.toLong() != want) {
                    fail("expected $want ${describe(step)} requests, the emulator logged ${matching.size}: " +
                        sandbox.requests().joinToString { "${it.string("method")} ${it.string("path")}" })
                }
            }
            "ledger" -> {
                val count = if (isCheckout) sandbox.checkoutLedger()["payments"]!!.jsonArray.size
                else sandbox.ledger()["transactions"]!!.jsonArray.size
                val what = if (isCheckout) "payments" else "transactions"
                if (count.toLong() != step.long("count")) fail("expected ${step.long("count")} $what in the ledger, found $count")
            }
            "header" -> {
                val matching = logged(step)
                val index = step["index"]?.jsonPrimitive?.longOrNull?.toInt() ?: 0
                val request = matching.getOrNull(index)
                    ?: fail("no request #$index among ${matching.size} ${describe(step)} requests")
                val wanted = step.string("header").lowercase()
                val headers = request["headers"]?.jsonObject ?: JsonObject(emptyMap())
                val value = headers.entries.firstOrNull { it.key.lowercase() == wanted }?.value?.jsonPrimitive?.content
                when {
                    "equals" in step -> {
                        val expected = (step["equals"] as? JsonPrimitive)?.takeIf { it !is JsonNull }?.content
                        if (value != expected) fail("header $wanted of ${describe(step)} #$index is $value, expected $expected")
                    }
                    "matches" in step -> {
                        val pattern = Regex(step.string("matches"))
                        if (value == null || !pattern.containsMatchIn(value)) {
                            fail("header $wanted of ${describe(step)} #$index is $value, expected to match $pattern")
                        }
                    }
                    else -> fail("a header assertion needs equals or matches")
                }
            }
            "statuses" -> {
                val actual = logged(step).map { it["status"]?.jsonPrimitive?.longOrNull }
                val expected = step["equals"]!!.jsonArray.map { (it as? JsonPrimitive)?.longOrNull }
                if (actual != expected) fail("statuses of ${describe(step)} are $actual, expected $expected")
            }
            else -> fail("unknown assert \"$name\"")
        }
    }

    private fun describe(step: JsonObject) = "${step.optString("method") ?: "*"} $pathPrefix${step.optString("path") ?: ""}"

    private fun logged(step: JsonObject): List<JsonObject> = if (isCheckout) {
        sandbox.checkoutRequests(step.optString("method"), step.optString("path") ?: "")
    } else if (isPaga) {
        sandbox.pagaRequests(step.optString("method"), step.optString("path") ?: "")
    } else {
        sandbox.paypackRequests(step.optString("method"), step.optString("path") ?: "")
    }

    /** The webhook body: `body` as compact JSON, or `body_text` verbatim. */
    private fun webhookText(w: JsonObject): String =
        w.optString("body_text") ?: Json.encodeToString(JsonElement.serializer(), w["body"] ?: fail("webhook needs body or body_text"))

    /** The body after a `tamper_body`: the `tamper` text replaced, or the amount's first digit changed. */
    private fun tamperedBody(w: JsonObject, text: String): ByteArray {
        val tampered = w.optString("tamper")?.let { target ->
            if (!text.contains(target)) fail("tamper string \"$target\" is not in the body")
            text.replaceFirst(target, w.optString("tamper_with") ?: fail("tamper needs tamper_with"))
        } ?: tamperAmount(text)
        return tampered.toByteArray(Charsets.UTF_8)
    }

    private fun runWebhook(step: JsonObject) {
        val w = step["webhook"]!!.jsonObject
        val unknown = w.keys - PAYPACK_WEBHOOK_KEYS
        if (unknown.isNotEmpty()) fail("unknown webhook keys $unknown")
        val secret = w.optString("secret") ?: "demo-webhook-secret"
        val text = webhookText(w)
        val bytes = text.toByteArray(Charsets.UTF_8)
        PaypackWebhookVerifier(secret).use { verifier ->
            val (body, signature) = when (val mode = w.optString("signature") ?: "valid") {
                "valid" -> bytes to verifier.sign(bytes)
                "tamper_body" -> tamperedBody(w, text) to verifier.sign(bytes)
                "tamper_signature" -> {
                    val valid = verifier.sign(bytes)
                    bytes to (if (valid.first() == 'A') "B" else "A") + valid.drop(1)
                }
                "missing" -> bytes to null
                "wrong_secret" -> bytes to PaypackWebhookVerifier("not-the-secret").use { it.sign(bytes) }
                else -> fail("unknown signature mode \"$mode\"")
            }
            val o = outcome { canonical(verifier.verifyAndParse(body, signature)) }
            check(step, o, "")
            step["save"]?.let { saved[it.jsonPrimitive.content] = o.getOrThrow() }
        }
    }

    /**
     * A checkout webhook: signed over `"{ts}.{body}"` with `ts` = now (or an hour ago for
     * `stale`), then verified with the timestamp and event headers.
     */
    private fun runCheckoutWebhook(step: JsonObject) {
        val w = step["webhook"]!!.jsonObject
        val unknown = w.keys - CHECKOUT_WEBHOOK_KEYS
        if (unknown.isNotEmpty()) fail("unknown webhook keys $unknown")
        val secret = w.optString("secret") ?: DEFAULT_CHECKOUT_WEBHOOK_SECRET
        val text = webhookText(w)
        val bytes = text.toByteArray(Charsets.UTF_8)
        val mode = w.optString("signature") ?: "valid"
        val now = Instant.now().epochSecond
        val ts = if (mode == "stale") now - 3600 else now
        CheckoutWebhookVerifier(secret).use { verifier ->
            val valid = verifier.sign(ts, bytes)
            var body = bytes
            var signature: String? = valid
            var timestamp: String? = ts.toString()
            when (mode) {
                "valid", "stale" -> {}
                "tamper_body" -> body = tamperedBody(w, text)
                "tamper_signature" -> signature = (if (valid.first() == '0') "1" else "0") + valid.drop(1)
                "missing" -> signature = null
                "missing_timestamp" -> timestamp = null
                "wrong_secret" -> signature = CheckoutWebhookVerifier("not-the-secret").use { it.sign(ts, bytes) }
                else -> fail("unknown signature mode \"$mode\"")
            }
            val o = outcome { canonical(verifier.verifyAndParse(body, signature, timestamp, w.optString("event"))) }
            check(step, o, "")
            step["save"]?.let { saved[it.jsonPrimitive.content] = o.getOrThrow() }
        }
    }

    /** Replaces the first digit after the first `"amount":` by the next digit (`9` becoming `0`). */
    private fun tamperAmount(text: String): String {
        val at = text.indexOf("\"amount\":")
        if (at < 0) fail("no \"amount\": in the webhook body to tamper with")
        val digit = (at + "\"amount\":".length until text.length).firstOrNull { text[it].isDigit() }
            ?: fail("no digit after \"amount\": in the webhook body")
        val replacement = if (text[digit] == '9') '0' else text[digit] + 1
        return text.substring(0, digit) + replacement + text.substring(digit + 1)
    }

    // ---- outcomes and expectations ---------------------------------------------------

    private inline fun outcome(block: () -> JsonElement): Result<JsonElement> = try {
        Result.success(block())
    } catch (e: PesakitException) {
        Result.failure(e)
    }

    private fun check(step: JsonObject, outcome: Result<JsonElement>, prefix: String) {
        val expectError = step["expect_error"]?.jsonObject
        if (expectError != null) {
            val error = outcome.exceptionOrNull() as? PesakitException
                ?: fail("${prefix}expected an error, got ${outcome.getOrNull()}")
            val actual = canonical(error)
            val wanted = JsonObject(expectError - "summary_contains")
            mismatch(wanted, actual, "error")?.let { fail("$prefix$it (error: $actual)") }
            expectError["summary_contains"]?.jsonPrimitive?.content?.let { text ->
                if (!error.summary.contains(text)) fail("${prefix}error summary \"${error.summary}\" does not contain \"$text\"")
            }
            return
        }
        val result = outcome.getOrElse { e ->
            val canonicalError = (e as? PesakitException)?.let { canonical(it) }
            throw ScenarioFailure("${prefix}expected success, got ${canonicalError ?: e}", e)
        }
        step["expect"]?.let { expected -> mismatch(expected, result, "result")?.let { fail("$prefix$it (result: $result)") } }
    }

    private fun mismatch(expected: JsonElement, actual: JsonElement?, path: String): String? = when (expected) {
        is JsonObject -> {
            if (actual !is JsonObject) "$path: expected an object, got $actual"
            else expected.entries.firstNotNullOfOrNull { (key, value) ->
                if (key !in actual) "$path.$key: missing" else mismatch(value, actual[key], "$path.$key")
            }
        }
        is JsonArray -> when {
            actual !is JsonArray -> "$path: expected a list, got $actual"
            actual.size != expected.size -> "$path: expected ${expected.size} items, got ${actual.size}: $actual"
            else -> expected.indices.firstNotNullOfOrNull { mismatch(expected[it], actual[it], "$path[$it]") }
        }
        is JsonNull -> if (actual == null || actual is JsonNull) null else "$path: expected null, got $actual"
        is JsonPrimitive -> when {
            actual !is JsonPrimitive || actual is JsonNull -> "$path: expected $expected, got $actual"
            expected.isString != actual.isString -> "$path: expected $expected, got $actual"
            !expected.isString && expected.booleanOrNull == null && actual.booleanOrNull == null ->
                if (BigDecimal(expected.content).compareTo(BigDecimal(actual.content)) == 0) null
                else "$path: expected $expected, got $actual"
            expected.content != actual.content -> "$path: expected $expected, got $actual"
            else -> null
        }
    }

    // ---- references ------------------------------------------------------------------

    /**
     * Replaces every `"$name.field"` string whose `name` was saved by the saved value, except
     * in regexes (`matches`). Any other string starting with `$` (`"$100.00"`) is literal.
     */
    private fun resolve(element: JsonElement, key: String? = null): JsonElement = when (element) {
        is JsonObject -> JsonObject(element.mapValues { (k, v) -> resolve(v, k) })
        is JsonArray -> JsonArray(element.map { resolve(it) })
        is JsonPrimitive -> if (element.isString && key != "matches" && isReference(element.content)) {
            lookup(element.content.substring(1))
        } else element
    }

    private fun isReference(text: String): Boolean =
        text.startsWith("$") && text.contains('.') && text.substring(1).substringBefore('.') in saved

    private fun lookup(reference: String): JsonElement {
        val parts = reference.split(".")
        var value: JsonElement = saved[parts[0]] ?: fail("\$${parts[0]} was never saved (saved: ${saved.keys})")
        for (part in parts.drop(1)) {
            value = when (value) {
                is JsonObject -> value[part] ?: fail("\$$reference: no field \"$part\" in $value")
                is JsonArray -> part.toIntOrNull()?.let { value.jsonArray.getOrNull(it) } ?: fail("\$$reference: no item $part")
                else -> fail("\$$reference: cannot read \"$part\" of $value")
            }
        }
        return value
    }

    companion object {
        private val STEP_KEYS = mapOf(
            "call" to setOf("call", "args", "save", "expect", "expect_error", "concurrency", "blocking", "repeat"),
            "control" to setOf("control", "reference", "status", "fault", "which", "config", "expires_in_secs"),
            "assert" to setOf("assert", "method", "path", "count", "index", "header", "equals", "matches"),
            "webhook" to setOf("webhook", "expect", "expect_error", "save"),
            "new_client" to setOf("new_client"),
        )
        private val CHECKOUT_STEP_KEYS = STEP_KEYS + mapOf(
            "control" to setOf("control", "payment_id", "status", "fault", "which", "config"),
        )
        private val PAGA_STEP_KEYS = mapOf(
            "call" to STEP_KEYS.getValue("call"),
            "control" to setOf("control", "which", "fault", "config"),
            "assert" to STEP_KEYS.getValue("assert"),
            "connect" to setOf("connect", "expect", "expect_error", "save"),
            "new_client" to setOf("new_client"),
        )
        private val PAGA_CONNECT_KEYS = setOf("user", "scopes", "user_data", "sandbox_user", "state")
        private val PAGA_CALL_ARGS = mapOf(
            "user_details" to setOf("user"),
            "merchant_payment" to setOf("user", "reference_number", "amount", "customer_reference", "product_code", "currency"),
            "money_transfer" to setOf("user", "reference_number", "amount", "recipient", "skip_messaging"),
            "one_time_token" to setOf("user", "reference_number"),
        )
        private val CHECKOUT_CALL_ARGS = mapOf(
            "create_checkout" to setOf("amount", "currency", "reference", "reference_label", "exponent"),
            "get_payment" to setOf("id"),
            "payer_instructions" to setOf("payment_id", "provider", "method"),
            "payment_applications" to emptySet(),
            "payment_application" to setOf("id"),
            "create_payment_application" to setOf("name", "secret", "callback_url", "currency_whitelist"),
        )
        private val PAYPACK_WEBHOOK_KEYS = setOf("secret", "body", "body_text", "signature", "tamper", "tamper_with")
        private val CHECKOUT_WEBHOOK_KEYS = setOf("secret", "body", "body_text", "event", "signature", "tamper", "tamper_with")
        private val TOP_KEYS = setOf("steps", "gateway", "client", "sandbox", "oauth")
        private val COMMENT_KEYS = setOf("name", "description", "comment", "note")

        const val DEFAULT_CLIENT_ID = "demo-client-id"
        const val DEFAULT_CLIENT_SECRET = "demo-client-secret"
        const val DEFAULT_CHECKOUT_TOKEN = "demo-checkout-token"
        const val DEFAULT_CHECKOUT_CLIENT_ID = "demo0checkout0client0id000000001"
        const val DEFAULT_CHECKOUT_WEBHOOK_SECRET = "demo-checkout-webhook-secret"
        const val DEFAULT_OAUTH_CLIENT_ID = "demo-oauth-client"
        const val DEFAULT_OAUTH_CLIENT_SECRET = "demo-oauth-secret"
        const val DEFAULT_OAUTH_USERNAME = "demo@pesakit.dev"
        const val DEFAULT_OAUTH_PASSWORD = "demo-password"
        const val DEFAULT_PAGA_CLIENT_ID = "demo-paga-client"
        const val DEFAULT_PAGA_CLIENT_SECRET = "demo-paga-secret"
        const val DEFAULT_PAGA_REDIRECT_URI = "https://shop.example/paga/callback"

        private fun fail(message: String): Nothing = throw ScenarioFailure(message)

        private fun JsonObject.string(key: String): String =
            (this[key] as? JsonPrimitive)?.takeIf { it !is JsonNull }?.content ?: fail("missing \"$key\" in $this")

        private fun JsonObject.optString(key: String): String? =
            (this[key] as? JsonPrimitive)?.takeIf { it !is JsonNull }?.content

        private fun JsonObject.long(key: String): Long =
            (this[key] as? JsonPrimitive)?.longOrNull ?: fail("\"$key\" must be an integer in $this")

        private fun JsonPrimitive.uLong(key: String): ULong =
            longOrNull?.takeIf { it >= 0 }?.toULong() ?: fail("\"$key\" must be a non-negative integer, got $this")

        private fun webhookMode(text: String) = when (text) {
            "development" -> WebhookMode.DEVELOPMENT
            "production" -> WebhookMode.PRODUCTION
            else -> fail("unknown webhook mode \"$text\"")
        }

        private fun transactionKind(text: String) = when (text) {
            "cash_in" -> TransactionKind.CASH_IN
            "cash_out" -> TransactionKind.CASH_OUT
            "unknown" -> TransactionKind.UNKNOWN
            else -> fail("unknown transaction kind \"$text\"")
        }

        private fun transactionStatus(text: String) = when (text) {
            "pending" -> TransactionStatus.PENDING
            "successful" -> TransactionStatus.SUCCESSFUL
            "failed" -> TransactionStatus.FAILED
            "unknown" -> TransactionStatus.UNKNOWN
            else -> fail("unknown transaction status \"$text\"")
        }

        // ---- canonical forms (README "Canonical forms") ----

        fun amount(value: BigDecimal?): String? = value?.stripTrailingZeros()?.toPlainString()

        fun canonical(t: Transaction): JsonObject = buildJsonObject {
            put("reference", t.reference)
            put("status", t.status.name.lowercase())
            put("status_raw", t.statusRaw)
            put("amount", amount(t.amount))
            put("fee", amount(t.fee))
            put("kind", t.kind.name.lowercase())
            put("kind_raw", t.kindRaw)
            put("provider", t.provider)
            put("client", t.client)
            put("has_created_at", t.createdAt != null)
            put("has_processed_at", t.processedAt != null)
        }

        fun canonical(e: Event): JsonObject = buildJsonObject {
            put("id", e.id)
            put("kind", e.kind.name.lowercase())
            put("kind_raw", e.kindRaw)
            put("transaction", canonical(e.transaction))
        }

        fun canonical(p: TransactionPage): JsonObject = buildJsonObject {
            put("offset", p.offset.toLong())
            put("limit", p.limit.toLong())
            put("total", p.total.toLong())
            put("count", p.transactions.size)
            put("cashin_total", amount(p.cashinTotal))
            put("cashout_total", amount(p.cashoutTotal))
            put("fee_total", amount(p.feeTotal))
            put("references", buildJsonArray { p.transactions.forEach { add(JsonPrimitive(it.reference)) } })
        }

        fun canonical(p: EventPage): JsonObject = buildJsonObject {
            put("offset", p.offset.toLong())
            put("limit", p.limit.toLong())
            put("total", p.total.toLong())
            put("count", p.events.size)
            put("kinds", buildJsonArray { p.events.forEach { add(JsonPrimitive(it.kind.name.lowercase())) } })
        }

        fun canonicalProfile(p: Profile): JsonObject = buildJsonObject {
            put("id", p.id)
            put("name", p.name)
            put("balance", amount(p.balance))
            put("mtn_balance", amount(p.mtnBalance))
            put("airtel_balance", amount(p.airtelBalance))
            put("in_rate", amount(p.inRate))
            put("out_rate", amount(p.outRate))
        }

        fun canonical(e: PesakitException): JsonObject = buildJsonObject {
            put("kind", e.kind.name.lowercase())
            put("status", e.status?.toInt())
            put("gateway_message", e.gatewayMessage)
            put("gateway_code", e.gatewayCode)
            put("has_body", e.body != null)
            put("retry_after_ms", e.retryAfterMs?.toLong())
            put("idempotency_key", e.idempotencyKey)
            put("summary", e.summary)
            put("fields", buildJsonArray { e.fieldErrors.map { it.field }.sorted().forEach { add(JsonPrimitive(it)) } })
        }

        // ---- Paga Connect (README "Paga Connect scenarios") ----

        fun canonical(g: PagaGrant): JsonObject = buildJsonObject {
            put("scopes", buildJsonArray { g.scopes.forEach { add(JsonPrimitive(it)) } })
            put("user_data", buildJsonArray { g.userData.forEach { add(JsonPrimitive(it)) } })
            put("has_authorities", (Json.parseToJsonElement(g.extraJson) as? JsonObject)?.containsKey("authorities") == true)
        }

        // ---- hosted checkout (README "Hosted checkout scenarios") ----

        fun canonical(m: Money?): JsonElement = if (m == null) JsonNull else buildJsonObject {
            put("value", amount(m.value))
            put("minor_units", m.minorUnits)
            put("formatted", m.formatted)
        }

        fun canonical(p: Payment): JsonObject = buildJsonObject {
            put("id", p.id)
            put("status", p.status.name.lowercase())
            put("status_raw", p.statusRaw)
            put("reference", p.reference)
            put("currency_code", p.currencyCode)
            put("amount", canonical(p.amount))
            put("received_amount", canonical(p.receivedAmount))
            put("has_found_at", p.foundAt != null)
            put("has_confirmed_at", p.confirmedAt != null)
            put("has_date", p.date != null)
        }

        fun canonical(a: PaymentApplication): JsonObject = buildJsonObject {
            put("id", a.id)
            put("name", a.name)
            put("client_id_length", a.clientId?.length)
            put("currency_whitelist", buildJsonArray { a.currencyWhitelist.forEach { add(JsonPrimitive(it)) } })
        }

        fun canonical(e: CheckoutWebhookEvent): JsonObject = buildJsonObject {
            put("kind", e.kind.name.lowercase())
            put("kind_raw", e.kindRaw)
            put("payment", canonical(e.payment))
        }
    }
}
