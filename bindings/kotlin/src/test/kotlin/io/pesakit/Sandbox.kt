package io.pesakit

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.TimeUnit

/** The repository root, from `PESAKIT_REPO` (set by scripts/test-kotlin) or found upwards. */
val repoRoot: File by lazy {
    System.getenv("PESAKIT_REPO")?.takeIf { it.isNotBlank() }?.let { File(it) }
        ?: generateSequence(File("").absoluteFile) { it.parentFile }
            .firstOrNull { File(it, "tests/conformance").isDirectory && File(it, "Cargo.toml").isFile }
        ?: error("set PESAKIT_REPO to the pesakit repository")
}

/**
 * One emulator process (`pesakit-sandbox --port 0 --settle-after-ms 0`), started fresh for a
 * test and stopped by [close]. Its control API is reached over real HTTP.
 */
class Sandbox private constructor(private val process: Process, val baseUrl: String) : AutoCloseable {
    /** Paypack's base URL on this emulator. */
    val paypackBaseUrl: String get() = "$baseUrl/paypack/api"

    /** The hosted-checkout gateway's base URL on this emulator (its API is below `/api`). */
    val checkoutBaseUrl: String get() = "$baseUrl/checkout"

    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    /** A reply of the control API (or a raw gateway request). */
    class Reply(val status: Int, val text: String) {
        val json: JsonElement get() = Json.parseToJsonElement(text)
    }

    fun request(method: String, path: String, body: JsonElement? = null): Reply {
        val builder = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30))
        if (body != null) {
            builder.header("Content-Type", "application/json")
            builder.method(method, HttpRequest.BodyPublishers.ofString(body.toString()))
        } else {
            builder.method(method, HttpRequest.BodyPublishers.noBody())
        }
        val answer = http.send(builder.build(), HttpResponse.BodyHandlers.ofString())
        return Reply(answer.statusCode(), answer.body())
    }

    /** A form-encoded POST (RFC 6749 token requests), as a browser or a dashboard sends it. */
    fun postForm(path: String, fields: Map<String, String>): Reply {
        val form = fields.entries.joinToString("&") { (k, v) ->
            URLEncoder.encode(k, Charsets.UTF_8) + "=" + URLEncoder.encode(v, Charsets.UTF_8)
        }
        val request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build()
        val answer = http.send(request, HttpResponse.BodyHandlers.ofString())
        return Reply(answer.statusCode(), answer.body())
    }

    /** A control call that must succeed (2xx); its JSON answer. */
    fun control(method: String, path: String, body: JsonElement? = null): JsonElement {
        val reply = request(method, path, body)
        check(reply.status in 200..299) { "$method $path answered ${reply.status}: ${reply.text}" }
        return reply.json
    }

    /** The request log, oldest first. */
    fun requests(): List<JsonObject> = control("GET", "/_sandbox/requests").jsonArray.map { it as JsonObject }

    fun clearRequests() { control("DELETE", "/_sandbox/requests") }

    fun ledger(): JsonObject = control("GET", "/_sandbox/paypack/ledger") as JsonObject

    fun settle(reference: String, status: String? = null): JsonElement =
        control("POST", "/_sandbox/paypack/transactions/$reference/settle",
            JsonObject(if (status == null) emptyMap() else mapOf("status" to kotlinx.serialization.json.JsonPrimitive(status))))

    fun fault(fault: JsonObject): JsonElement = control("POST", "/_sandbox/faults", fault)

    /** The logged requests with this method whose path starts with `/paypack/api` + [path]. */
    fun paypackRequests(method: String?, path: String): List<JsonObject> = requests().filter { r ->
        val m = (r["method"] as? kotlinx.serialization.json.JsonPrimitive)?.content
        val p = (r["path"] as? kotlinx.serialization.json.JsonPrimitive)?.content ?: ""
        (method == null || m.equals(method, ignoreCase = true)) && p.startsWith("/paypack/api$path")
    }

    /** The logged requests with this method whose path starts with `/checkout` + [path]. */
    fun checkoutRequests(method: String?, path: String): List<JsonObject> = requests().filter { r ->
        val m = (r["method"] as? kotlinx.serialization.json.JsonPrimitive)?.content
        val p = (r["path"] as? kotlinx.serialization.json.JsonPrimitive)?.content ?: ""
        (method == null || m.equals(method, ignoreCase = true)) && p.startsWith("/checkout$path")
    }

    fun checkoutLedger(): JsonObject = control("GET", "/_sandbox/checkout/ledger") as JsonObject

    /** Moves a checkout payment to [status] (`RECEIVED`, `CONFIRMED`, …), sending its webhook. */
    fun paymentStatus(paymentId: String, status: String): JsonElement =
        control("POST", "/_sandbox/checkout/payments/$paymentId/status",
            JsonObject(mapOf("status" to kotlinx.serialization.json.JsonPrimitive(status))))

    override fun close() {
        live -= process
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor(10, TimeUnit.SECONDS)
        }
    }

    companion object {
        /** The emulator binary: `PESAKIT_SANDBOX_BIN`, or the debug build in the repository. */
        val binary: String by lazy {
            System.getenv("PESAKIT_SANDBOX_BIN")?.takeIf { it.isNotBlank() }
                ?: File(repoRoot, "${System.getenv("CARGO_TARGET_DIR") ?: "target"}/debug/pesakit-sandbox").path
        }

        /** Emulators not yet closed; stopped at JVM exit should a test leak one. */
        private val live: MutableSet<Process> = java.util.concurrent.ConcurrentHashMap.newKeySet<Process>().also { set ->
            Runtime.getRuntime().addShutdownHook(Thread { set.forEach { it.destroyForcibly() } })
        }

        private val LISTENING = Regex("""^pesakit-sandbox listening on (http://\S+)$""")

        fun start(vararg extraArgs: String): Sandbox {
            check(File(binary).canExecute()) { "emulator binary not found at $binary (cargo build -p pesakit-sandbox)" }
            val command = listOf(binary, "--port", "0", "--settle-after-ms", "0") + extraArgs
            val process = ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start()
            live += process
            try {
                val stdout = process.inputStream.bufferedReader()
                val first = stdout.readLine() ?: error("the emulator exited before printing its address")
                val url = LISTENING.find(first.trim())?.groupValues?.get(1)
                    ?: error("unexpected first line from the emulator: $first")
                // Keep draining stdout so the emulator never blocks on a full pipe.
                Thread({ runCatching { stdout.forEachLine { } } }, "sandbox-stdout").apply { isDaemon = true }.start()
                return Sandbox(process, url.trimEnd('/'))
            } catch (e: Throwable) {
                live -= process
                process.destroyForcibly()
                throw e
            }
        }
    }
}

/** A token store over a map: what every runner uses, and what a Keystore-backed one looks like. */
class MapTokenStore : TokenStore {
    val entries = java.util.concurrent.ConcurrentHashMap<String, String>()
    val saves = java.util.concurrent.atomic.AtomicInteger()
    val loads = java.util.concurrent.atomic.AtomicInteger()

    override fun load(key: String): TokenSet? {
        loads.incrementAndGet()
        return entries[key]?.let { TokenSet.fromJson(it) }
    }

    override fun save(key: String, tokens: TokenSet) {
        saves.incrementAndGet()
        entries[key] = tokens.toJson()
    }

    override fun clear(key: String) {
        entries.remove(key)
    }
}

/** The JSON array of a control answer, as objects. */
fun JsonElement.objects(): List<JsonObject> = (this as JsonArray).map { it as JsonObject }
