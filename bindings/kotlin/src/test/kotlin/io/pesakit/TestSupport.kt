package io.pesakit

import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonPrimitive

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
