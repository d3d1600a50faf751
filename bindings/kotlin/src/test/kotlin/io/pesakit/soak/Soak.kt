package io.pesakit.soak

import io.pesakit.CashRequest
import io.pesakit.CheckoutClient
import io.pesakit.CheckoutOptions
import io.pesakit.CheckoutRequest
import io.pesakit.CheckoutWebhookVerifier
import io.pesakit.LogLevel
import io.pesakit.Logger
import io.pesakit.PaypackClient
import io.pesakit.PaypackOptions
import io.pesakit.PaypackWebhookVerifier
import io.pesakit.PesakitException
import io.pesakit.TokenSet
import io.pesakit.TokenStore
import io.pesakit.pesakitVersion
import io.pesakit.status
import kotlinx.coroutines.runBlocking
import java.io.File
import java.io.PrintWriter
import java.math.BigDecimal
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong
import kotlin.system.exitProcess

/*
 * FFI soak for the Kotlin/JVM package: many calls through pesakit against a running
 * emulator, checking every outcome and sampling the process's RSS.
 *
 *   java -cp <jar>:<test-classes>:<runtime deps> io.pesakit.soak.SoakKt --url http://127.0.0.1:PORT \
 *        [--calls N] [--csv FILE] [--rss-bound-mb MB]
 *
 * The same mix as the Python soak (bindings/python/soak/pesakit_soak.py): successful HTTP
 * calls (Paypack profile/find, checkout getPayment), HTTP errors (404s, injected 500s),
 * validation errors that never reach the network, and webhook verifications, valid and
 * invalid. Blocks of BLOCK calls alternate between the blocking methods and the suspend
 * ones. Every client keeps its tokens in a Kotlin TokenStore (CountingStore) and logs
 * through a Kotlin Logger; before every block the emulator expires the access tokens
 * (every tenth block: all tokens), so each client refreshes or logs in again and saves
 * through the store; clients are replaced every SAMPLE_EVERY calls, so the new ones load
 * from it. Uses only the jar's runtime dependencies (no JUnit, no JSON library).
 */

private const val CLIENT_ID = "demo-client-id"
private const val CLIENT_SECRET = "demo-client-secret"
private const val WEBHOOK_SECRET = "demo-webhook-secret"
private const val CHECKOUT_TOKEN = "demo-checkout-token"
private const val CHECKOUT_CLIENT_ID = "demo0checkout0client0id000000001"
private const val CHECKOUT_WEBHOOK_SECRET = "demo-checkout-webhook-secret"
private const val MERCHANT_NAME = "Sandbox Merchant demo-client-id"

/** Calls per block: blocks alternate between blocking and suspend calls; tokens expire before each. */
const val BLOCK = 1000

/** Every this many calls: an RSS sample, and fresh clients (which load from the store). */
const val SAMPLE_EVERY = 10_000
private const val FAULT_REF = "soak-fault-500"
private const val MISSING_REF = "soak-no-such-reference"

private val PAYPACK_EVENT = (
    """{"event_id":"evt-soak","event_kind":"transaction:processed","created_at":"2024-05-01T10:00:00Z",""" +
        """"data":{"ref":"ref-soak","kind":"CASHIN","amount":1000,"fee":23,"status":"successful",""" +
        """"provider":"mtn","client":"0788123456","merchant":"ABC123",""" +
        """"created_at":"2024-05-01T09:59:00Z","processed_at":"2024-05-01T10:00:00Z"}}"""
    ).toByteArray()
private val PAYPACK_EVENT_TAMPERED = PAYPACK_EVENT + ' '.code.toByte()
private val CHECKOUT_EVENT = """{"payment":{"id":"pay-soak","status":"CONFIRMED"}}""".toByteArray()

/** The resident set size of this process, in kB (`VmRSS`). */
fun rssKb(): Long = File("/proc/self/status").useLines { lines ->
    lines.first { it.startsWith("VmRSS:") }.split(Regex("\\s+"))[1].toLong()
}

/** A token store in a map that counts how often pesakit calls it. */
class CountingStore : TokenStore {
    private val tokens = ConcurrentHashMap<String, TokenSet>()
    val loads = AtomicLong()
    val saves = AtomicLong()
    val clears = AtomicLong()

    override fun load(key: String): TokenSet? {
        loads.incrementAndGet()
        return tokens[key]
    }

    override fun save(key: String, tokens: TokenSet) {
        saves.incrementAndGet()
        // The replaced set is released at once rather than left to the Cleaner.
        this.tokens.put(key, tokens)?.close()
    }

    override fun clear(key: String) {
        clears.incrementAndGet()
        tokens.remove(key)?.close()
    }
}

/** Counts log lines by level (nothing is kept: the soak measures memory). */
class CountingLogger : Logger {
    val counts = ConcurrentHashMap<LogLevel, AtomicLong>()
    override fun log(level: LogLevel, message: String) {
        counts.computeIfAbsent(level) { AtomicLong() }.incrementAndGet()
    }
}

/** A call that ended otherwise than the soak expects. */
class Unexpected(message: String) : Exception(message)

/** What a soak run did. */
class Summary {
    var calls = 0L
    var seconds = 0.0
    val outcomes = sortedMapOf<String, Long>()
    val unexpected = mutableListOf<String>()
    val samples = mutableListOf<Triple<Long, Double, Long>>()
    var loads = 0L
    var saves = 0L
    var clears = 0L
    var logLines = mapOf<LogLevel, Long>()
    var tokenExpiries = 0
    var clientsCreated = 0

    /** RSS at the last sample within the first 10% of calls (the first sample if none). */
    fun rssAtWarmup(): Long = (samples.lastOrNull { it.first <= calls / 10 } ?: samples.first()).third

    fun report(): String = buildString {
        val rss = samples.map { it.third }
        appendLine("calls: $calls in ${"%.1f".format(seconds)} s (${"%.0f".format(calls / seconds)} calls/s)")
        appendLine("RSS kB: start ${rss.first()}, after warm-up ${rssAtWarmup()}, end ${rss.last()}, max ${rss.max()}" +
            " (growth after warm-up ${"%.1f".format((rss.last() - rssAtWarmup()) / 1024.0)} MB)")
        appendLine("outcomes: " + outcomes.entries.joinToString(", ") { "${it.key}=${it.value}" })
        appendLine("TokenStore callbacks: load=$loads, save=$saves, clear=$clears")
        appendLine("Logger callbacks: " + logLines.entries.sortedBy { it.key }.joinToString(", ") { "${it.key.name.lowercase()}=${it.value}" })
        appendLine("token expiries forced: $tokenExpiries; clients created: $clientsCreated")
        append("unexpected outcomes: ${unexpected.size}")
        unexpected.take(10).forEach { append("\n  $it") }
    }
}

private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

/** One call to the emulator's control API with a JSON body; fails unless 2xx. */
fun control(url: String, path: String, json: String) {
    val request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build()
    val answer = http.send(request, HttpResponse.BodyHandlers.ofString())
    check(answer.statusCode() in 200..299) { "POST $path answered ${answer.statusCode()}: ${answer.body()}" }
}

/** One set of clients (Paypack and checkout) sharing a store and a logger. */
class Clients(url: String, store: CountingStore, logger: CountingLogger) : AutoCloseable {
    val paypack = PaypackClient(
        CLIENT_ID, CLIENT_SECRET,
        PaypackOptions(baseUrl = "$url/paypack/api", allowInsecureLoopback = true, initialBackoffMs = 10u, maxBackoffMs = 50u),
        store, logger,
    )
    val checkout = CheckoutClient(
        "$url/checkout", clientToken = CHECKOUT_TOKEN, webhookSecret = null, oauth = null,
        options = CheckoutOptions(clientId = CHECKOUT_CLIENT_ID, allowInsecureLoopback = true, initialBackoffMs = 10u, maxBackoffMs = 50u),
        tokenStore = null, logger = logger,
    )

    override fun close() {
        paypack.close()
        checkout.close()
    }
}

/** One kind of call: a name, the blocking form, and the suspend form (null for local-only calls). */
class Op(val name: String, val blocking: () -> Unit, val suspending: (suspend () -> Unit)? = null)

class Soak(private val url: String) {
    private val store = CountingStore()
    private val logger = CountingLogger()
    private var clients = Clients(url, store, logger)
    val summary = Summary().apply { clientsCreated = 1 }
    private val reference: String = clients.paypack.cashinBlocking(CashRequest(BigDecimal("1000"), "0788123456")).reference
    private val paymentId: String = clients.checkout.createCheckoutBlocking(CheckoutRequest(BigDecimal("10.00"), "USD", "soak-order")).paymentId
    private val paypackVerifier = PaypackWebhookVerifier(WEBHOOK_SECRET)
    private val paypackSignature = paypackVerifier.sign(PAYPACK_EVENT)
    private val checkoutVerifier = CheckoutWebhookVerifier(CHECKOUT_WEBHOOK_SECRET)
    private var checkoutTimestamp = ""
    private var checkoutSignature = ""

    init {
        // Paypack finds only processed transactions.
        control(url, "/_sandbox/paypack/transactions/$reference/settle", """{"status":"successful"}""")
        for (path in listOf("/paypack/api/transactions/find/$FAULT_REF", "/checkout/api/payment/$FAULT_REF")) {
            control(url, "/_sandbox/faults", """{"path":"$path","kind":"status","status":500,"count":1000000000}""")
        }
        signCheckout()
    }

    /** Signs the checkout webhook now (its timestamp must stay within 300 s). */
    private fun signCheckout() {
        val now = System.currentTimeMillis() / 1000
        checkoutTimestamp = now.toString()
        checkoutSignature = checkoutVerifier.sign(now, CHECKOUT_EVENT)
    }

    private inline fun <reified E : PesakitException> expectError(status: Int?, call: () -> Unit) {
        try {
            call()
        } catch (e: PesakitException) {
            if (e !is E) throw Unexpected("${e::class.simpleName}, expected ${E::class.simpleName}: ${e.message}")
            if (e.status?.toInt() != status) throw Unexpected("${e::class.simpleName} with status ${e.status}, expected $status: ${e.message}")
            return
        }
        throw Unexpected("succeeded, expected ${E::class.simpleName}")
    }

    private fun expect(ok: Boolean, what: () -> String) {
        if (!ok) throw Unexpected(what())
    }

    private fun ops(): List<Op> {
        val c = clients
        val profile = Op("http_ok:paypack.profile",
            { c.paypack.profileBlocking().let { p -> expect(p.name == MERCHANT_NAME) { "profile ${p.name}" } } },
            { c.paypack.profile().let { p -> expect(p.name == MERCHANT_NAME) { "profile ${p.name}" } } })
        val paypackValid = Op("webhook_ok:paypack", {
            val event = paypackVerifier.verifyAndParse(PAYPACK_EVENT, paypackSignature)
            expect(event.id == "evt-soak") { "event ${event.id}" }
        })
        val checkoutValid = Op("webhook_ok:checkout", {
            val event = checkoutVerifier.verifyAndParse(CHECKOUT_EVENT, checkoutSignature, checkoutTimestamp, "payment.completed")
            expect(event.payment.id == "pay-soak") { "checkout event for ${event.payment.id}" }
        })
        val badCash = CashRequest(BigDecimal("1000"), "12345")
        val badCheckout = CheckoutRequest(BigDecimal("1.001"), "USD", "x")
        return listOf(
            profile,
            paypackValid,
            Op("http_ok:paypack.find",
                { c.paypack.findBlocking(reference).let { t -> expect(t.reference == reference) { "found ${t.reference}" } } },
                { c.paypack.find(reference).let { t -> expect(t.reference == reference) { "found ${t.reference}" } } }),
            Op("local_error:paypack.cashin",
                { expectError<PesakitException.Validation>(null) { c.paypack.cashinBlocking(badCash) } },
                { expectError<PesakitException.Validation>(null) { c.paypack.cashin(badCash) } }),
            Op("webhook_bad:paypack", {
                expectError<PesakitException.WebhookSignature>(null) { paypackVerifier.verify(PAYPACK_EVENT_TAMPERED, paypackSignature) }
            }),
            Op("http_404:paypack.find",
                { expectError<PesakitException.NotFound>(404) { c.paypack.findBlocking(MISSING_REF) } },
                { expectError<PesakitException.NotFound>(404) { c.paypack.find(MISSING_REF) } }),
            Op("http_ok:checkout.get_payment",
                { c.checkout.getPaymentBlocking(paymentId).let { p -> expect(p.id == paymentId) { "payment ${p.id}" } } },
                { c.checkout.getPayment(paymentId).let { p -> expect(p.id == paymentId) { "payment ${p.id}" } } }),
            checkoutValid,
            Op("http_500:paypack.find",
                { expectError<PesakitException.Gateway>(500) { c.paypack.findBlocking(FAULT_REF) } },
                { expectError<PesakitException.Gateway>(500) { c.paypack.find(FAULT_REF) } }),
            Op("webhook_bad:checkout", {
                expectError<PesakitException.WebhookSignature>(null) {
                    checkoutVerifier.verifyAndParse(CHECKOUT_EVENT, "0".repeat(64), checkoutTimestamp, "payment.completed")
                }
            }),
            Op("local_error:checkout.create_checkout",
                { expectError<PesakitException.Validation>(null) { c.checkout.createCheckoutBlocking(badCheckout) } },
                { expectError<PesakitException.Validation>(null) { c.checkout.createCheckout(badCheckout) } }),
            Op("http_404:checkout.get_payment",
                { expectError<PesakitException.NotFound>(404) { c.checkout.getPaymentBlocking(MISSING_REF) } },
                { expectError<PesakitException.NotFound>(404) { c.checkout.getPayment(MISSING_REF) } }),
            Op("http_500:checkout.get_payment",
                { expectError<PesakitException.Gateway>(500) { c.checkout.getPaymentBlocking(FAULT_REF) } },
                { expectError<PesakitException.Gateway>(500) { c.checkout.getPayment(FAULT_REF) } }),
            paypackValid,
            profile,
            checkoutValid,
        )
    }

    private fun record(name: String, problem: Throwable?) {
        if (problem == null) {
            summary.outcomes.merge(name, 1L, Long::plus)
        } else {
            summary.unexpected += "call ${summary.calls}: $name: ${problem::class.simpleName}: ${problem.message}"
            check(summary.unexpected.size <= 100) { "more than 100 unexpected outcomes:\n" + summary.unexpected.take(10).joinToString("\n") }
        }
        summary.calls++
    }

    private fun blockBlocking(ops: List<Op>, start: Long, n: Int) {
        for (i in start until start + n) {
            val op = ops[(i % ops.size).toInt()]
            record("${op.name}:blocking", runCatching { op.blocking() }.exceptionOrNull())
        }
    }

    private suspend fun blockSuspend(ops: List<Op>, start: Long, n: Int) {
        for (i in start until start + n) {
            val op = ops[(i % ops.size).toInt()]
            val call = op.suspending
            val mode = if (call != null) "suspend" else "blocking"
            val problem = try {
                if (call != null) call() else op.blocking()
                null
            } catch (e: Exception) {
                e
            }
            record("${op.name}:$mode", problem)
        }
    }

    fun run(calls: Long, csv: File?, progress: Boolean): Summary {
        val started = System.nanoTime()
        val writer: PrintWriter? = csv?.let { PrintWriter(it.bufferedWriter()) }
        fun sample() {
            val row = Triple(summary.calls, (System.nanoTime() - started) / 1e9, rssKb())
            summary.samples += row
            writer?.println("${row.first},${"%.3f".format(row.second)},${row.third}")
            writer?.flush()
            if (progress) println("  %9d calls %8.1f s  RSS %d kB".format(row.first, row.second, row.third))
        }
        try {
            writer?.println("calls,seconds,rss_kb")
            sample()
            var block = 0
            while (summary.calls < calls) {
                val n = minOf(BLOCK.toLong(), calls - summary.calls).toInt()
                control(url, "/_sandbox/paypack/tokens/expire", """{"which":"${if (block % 10 == 9) "all" else "access"}"}""")
                summary.tokenExpiries++
                signCheckout()
                val ops = ops()
                if (block % 2 == 0) blockBlocking(ops, summary.calls, n)
                else runBlocking { blockSuspend(ops, summary.calls, n) }
                block++
                if (summary.calls % SAMPLE_EVERY == 0L || summary.calls >= calls) {
                    sample()
                    if (summary.calls < calls) {
                        // Fresh clients: the old ones are closed, the new ones load from the store.
                        clients.close()
                        clients = Clients(url, store, logger)
                        summary.clientsCreated++
                    }
                }
            }
        } finally {
            clients.close()
            writer?.close()
        }
        summary.seconds = (System.nanoTime() - started) / 1e9
        summary.loads = store.loads.get()
        summary.saves = store.saves.get()
        summary.clears = store.clears.get()
        summary.logLines = logger.counts.mapValues { it.value.get() }
        return summary
    }
}

/** Runs the soak against the emulator at [url] and returns what happened. */
fun runSoak(url: String, calls: Long, csv: File? = null, progress: Boolean = false): Summary =
    Soak(url).run(calls, csv, progress)

fun main(args: Array<String>) {
    val options = args.toList().chunked(2).associate { (k, v) -> k to v }
    val url = options["--url"] ?: run { System.err.println("usage: --url URL [--calls N] [--csv FILE] [--rss-bound-mb MB]"); exitProcess(2) }
    val calls = options["--calls"]?.toLong() ?: 1_000_000L
    val bound = options["--rss-bound-mb"]?.toDouble() ?: 20.0
    println("Kotlin soak: $calls calls against $url (pesakit ${pesakitVersion()})")
    val summary = runSoak(url, calls, options["--csv"]?.let(::File), progress = true)
    println(summary.report())
    val growthMb = (summary.samples.last().third - summary.rssAtWarmup()) / 1024.0
    val failures = mutableListOf<String>()
    if (summary.unexpected.isNotEmpty()) failures += "${summary.unexpected.size} unexpected outcomes"
    if (summary.loads == 0L || summary.saves == 0L) failures += "the Kotlin TokenStore was not called"
    if (growthMb > bound) failures += "RSS grew ${"%.1f".format(growthMb)} MB after warm-up, more than $bound MB"
    println("RSS bound: $bound MB after warm-up; measured ${"%.1f".format(growthMb)} MB")
    if (failures.isNotEmpty()) {
        println("Kotlin soak FAILED: " + failures.joinToString("; "))
        exitProcess(1)
    }
    println("Kotlin soak passed")
}
