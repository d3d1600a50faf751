package io.pesakit

import com.sun.net.httpserver.HttpServer
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonPrimitive
import java.net.InetSocketAddress
import java.util.TreeMap
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

const val CLIENT_ID = "demo-client-id"
const val CLIENT_SECRET = "demo-client-secret"
const val WEBHOOK_SECRET = "demo-webhook-secret"
const val AUTHORIZE_PATH = "/paypack/api/auth/agents/authorize"

/** Options for a client of [sandbox], fast retries and polling so tests stay quick. */
fun testOptions(sandbox: Sandbox) = PaypackOptions(
    baseUrl = sandbox.paypackBaseUrl,
    allowInsecureLoopback = true,
    initialBackoffMs = 10u,
    maxBackoffMs = 50u,
    pollIntervalMs = 20u,
)

/** A client of [sandbox] with the emulator's default application. */
fun testClient(
    sandbox: Sandbox,
    tokenStore: TokenStore? = null,
    logger: Logger? = null,
    clientSecret: String = CLIENT_SECRET,
) = PaypackClient(CLIENT_ID, clientSecret, testOptions(sandbox), tokenStore, logger)

/** How many `POST /auth/agents/authorize` the emulator has seen. */
fun Sandbox.authorizeCount(): Int = requests().count {
    it.str("method") == "POST" && it.str("path") == AUTHORIZE_PATH
}

fun JsonObject.str(key: String): String? = this[key]?.jsonPrimitive?.content

// ---- hosted checkout (the emulator's defaults, tests/sandbox/README.md) ----

const val CHECKOUT_TOKEN = "demo-checkout-token"
const val CHECKOUT_LIMITED_TOKEN = "demo-limited-token"
const val CHECKOUT_CLIENT_ID = "demo0checkout0client0id000000001"
const val CHECKOUT_WEBHOOK_SECRET = "demo-checkout-webhook-secret"
const val OAUTH_CLIENT_ID = "demo-oauth-client"
const val OAUTH_CLIENT_SECRET = "demo-oauth-secret"
const val OAUTH_USERNAME = "demo@pesakit.dev"
const val OAUTH_PASSWORD = "demo-password"
const val CHECKOUT_CREATE_PATH = "/api/payment/checkout"
const val OAUTH_TOKEN_PATH = "/oauth/token"

/** Checkout options for [sandbox]'s default application, fast retries so tests stay quick. */
fun checkoutOptions() = CheckoutOptions(
    clientId = CHECKOUT_CLIENT_ID,
    allowInsecureLoopback = true,
    initialBackoffMs = 10u,
    maxBackoffMs = 50u,
)

/** A checkout client of [sandbox]: the all-scopes client token and the default webhook secret unless told. */
fun checkoutClient(
    sandbox: Sandbox,
    clientToken: String? = CHECKOUT_TOKEN,
    oauth: CheckoutOAuth? = null,
    tokenStore: TokenStore? = null,
    logger: Logger? = null,
    webhookSecret: String? = CHECKOUT_WEBHOOK_SECRET,
    options: CheckoutOptions = checkoutOptions(),
) = CheckoutClient(sandbox.checkoutBaseUrl, clientToken, webhookSecret, oauth, options, tokenStore, logger)

/** The tokens of a dashboard sign-in. */
class SignIn(val accessToken: String, val refreshToken: String, val expiresIn: Long) {
    /** These tokens as pesakit takes them (no `expiresAt`: assumed one hour). */
    fun oauth(): CheckoutOAuth =
        CheckoutOAuth(accessToken, OAUTH_CLIENT_ID, refreshToken, clientSecret = OAUTH_CLIENT_SECRET)

    override fun toString() = "SignIn([redacted])"
}

/** Signs in to the emulator's checkout OAuth server as its demo user, with raw HTTP (password grant). */
fun Sandbox.signIn(): SignIn {
    val reply = postForm("/checkout$OAUTH_TOKEN_PATH", mapOf(
        "grant_type" to "password",
        "username" to OAUTH_USERNAME,
        "password" to OAUTH_PASSWORD,
        "client_id" to OAUTH_CLIENT_ID,
        "client_secret" to OAUTH_CLIENT_SECRET,
    ))
    check(reply.status == 200) { "the password grant answered ${reply.status}: ${reply.text}" }
    val answer = reply.json as JsonObject
    return SignIn(answer.str("access_token")!!, answer.str("refresh_token")!!, answer.str("expires_in")!!.toLong())
}

/** The token-store key under which a checkout client keeps its OAuth tokens. */
fun Sandbox.oauthStoreKey() = "checkout-oauth|$checkoutBaseUrl|$OAUTH_CLIENT_ID"

/** One webhook delivery as the receiver saw it: the raw bytes, and headers by case-insensitive name. */
class Delivery(val body: ByteArray, val headers: Map<String, String>) {
    fun header(name: String): String? = headers[name]
    val signature: String? get() = header(CheckoutWebhookHeaders.SIGNATURE)
    val timestamp: String? get() = header(CheckoutWebhookHeaders.TIMESTAMP)
    val event: String? get() = header(CheckoutWebhookHeaders.EVENT)
}

/** A local HTTP server (the JDK's) taking webhook POSTs at [url] and answering 200. */
class WebhookReceiver : AutoCloseable {
    private val deliveries = LinkedBlockingQueue<Delivery>()
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
        createContext("/hooks") { exchange ->
            if (exchange.requestMethod == "POST") {
                val headers = TreeMap<String, String>(String.CASE_INSENSITIVE_ORDER)
                exchange.requestHeaders.forEach { (name, values) -> headers[name] = values.first() }
                deliveries += Delivery(exchange.requestBody.readBytes(), headers)
            }
            exchange.sendResponseHeaders(200, -1)
            exchange.close()
        }
        start()
    }

    val url: String = "http://127.0.0.1:${server.address.port}/hooks"

    /** The next delivery; fails after 30 s without one. */
    fun next(): Delivery = deliveries.poll(30, TimeUnit.SECONDS) ?: error("no webhook arrived at $url within 30 s")

    override fun close() = server.stop(0)
}

// ---- Paga Connect (the emulator's defaults, tests/sandbox/README.md) ----

const val PAGA_CLIENT_ID = "demo-paga-client"
const val PAGA_CLIENT_SECRET = "demo-paga-secret"
const val PAGA_REDIRECT_URI = "https://shop.example/paga/callback"
const val PAGA_TOKEN_PATH = "/paga-webservices/oauth2/token"
val PAGA_SCOPES = listOf("MERCHANT_PAYMENT", "MONEY_TRANSFER", "USER_DETAILS_REQUEST")

/** The emulator's Paga Connect base URL. */
val Sandbox.pagaBaseUrl: String get() = "$baseUrl/paga"

/** Paga options for [sandbox], fast retries so tests stay quick. */
fun pagaOptions(
    sandbox: Sandbox,
    style: PagaTokenRequestStyle? = null,
    pkce: Boolean = false,
) = PagaOptions(
    environment = PagaEnvironment.Custom(sandbox.pagaBaseUrl),
    tokenRequestStyle = style,
    pkce = pkce,
    allowInsecureLoopback = true,
    initialBackoffMs = 10u,
    maxBackoffMs = 50u,
)

/** A Paga client of [sandbox] with the emulator's default OAuth client. */
fun pagaClient(
    sandbox: Sandbox,
    tokenStore: TokenStore? = null,
    options: PagaOptions = pagaOptions(sandbox),
    logger: Logger? = null,
) = PagaClient(PAGA_CLIENT_ID, PAGA_CLIENT_SECRET, PAGA_REDIRECT_URI, options, tokenStore, logger)

private val noRedirects: java.net.http.HttpClient = java.net.http.HttpClient.newBuilder()
    .followRedirects(java.net.http.HttpClient.Redirect.NEVER)
    .connectTimeout(java.time.Duration.ofSeconds(5))
    .build()

/**
 * The browser's part of Paga Connect: GETs [url] (with `&sandbox_user=` when given)
 * without following redirects and returns the `Location` Paga sent the user back to.
 */
fun pagaBrowse(url: String, sandboxUser: String? = null): String {
    val target = if (sandboxUser == null) url
    else url + (if ('?' in url) "&" else "?") + "sandbox_user=" + java.net.URLEncoder.encode(sandboxUser, Charsets.UTF_8)
    val request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(target))
        .timeout(java.time.Duration.ofSeconds(30)).GET().build()
    val answer = noRedirects.send(request, java.net.http.HttpResponse.BodyHandlers.ofString())
    check(answer.statusCode() == 302) { "the authorization answered ${answer.statusCode()}: ${answer.body()}" }
    return answer.headers().firstValue("location").orElseThrow { IllegalStateException("no Location header") }
}

/** The logged requests with this method whose path starts with `/paga` + [path]. */
fun Sandbox.pagaRequests(method: String?, path: String): List<JsonObject> = requests().filter { r ->
    (method == null || r.str("method").equals(method, ignoreCase = true)) && (r.str("path") ?: "").startsWith("/paga$path")
}

/** How many token requests Paga has seen. */
fun Sandbox.pagaTokenRequests(): List<JsonObject> = pagaRequests("POST", PAGA_TOKEN_PATH)
