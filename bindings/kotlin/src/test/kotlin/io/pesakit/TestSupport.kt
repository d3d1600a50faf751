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
