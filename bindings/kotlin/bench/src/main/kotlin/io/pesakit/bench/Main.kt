package io.pesakit.bench

import io.pesakit.CashRequest
import io.pesakit.EventFilter
import io.pesakit.EventKind
import io.pesakit.PaypackClient
import io.pesakit.PaypackOptions
import io.pesakit.PaypackWebhookVerifier
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.io.File
import java.lang.management.ManagementFactory
import java.math.BigDecimal
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlin.system.exitProcess

/*
 * The Kotlin side of pesakit's benchmarks: one program, four commands, each writing the
 * JSON lines of the benchmark contract (see bindings/kotlin/bench/README.md).
 *
 *   loadgen --client kotlin|kotlin-async --base-url URL --op find|cashin --concurrency N
 *           --requests N --warmup N --out FILE [--reference REF]
 *   decode  --base-url URL [--events 10000] [--repeat 7] --out FILE
 *   webhook [--body-bytes 1024] [--calls 20000] [--repeat 5] --out FILE
 *   memory  --base-url URL [--requests 5000] [--concurrency 16] --out FILE [--reference REF]
 */

private const val CLIENT_ID = "demo-client-id"
private const val CLIENT_SECRET = "demo-client-secret"
private const val WEBHOOK_SECRET = "demo-webhook-secret"
private val CASHIN_AMOUNT = BigDecimal("100")
private const val CASHIN_NUMBER = "0788123456"

/** Warm-up rounds of this many calls run until the JIT is quiet. */
private const val JIT_CHUNK = 2000

/** A warm-up round counts as quiet when the JIT compiled for under this share of its time. */
private const val JIT_QUIET_SHARE = 0.02

/**
 * The warm-up lasts at least this long. HotSpot's compilers can be quiet for a round while
 * the call path still runs in its early tiers: `kotlin-async` `find` at concurrency 16 ran
 * at about half its speed for its first 4–5 seconds, with quiet rounds among them.
 */
private const val WARMUP_MIN_NANOS = 8_000_000_000L

/** The warm-up stops after this long even if the JIT never goes quiet. */
private const val WARMUP_MAX_NANOS = 30_000_000_000L

fun main(argv: Array<String>) {
    if (argv.isEmpty()) usage("a command is required")
    val args = Args(argv.drop(1))
    try {
        when (argv[0]) {
            "loadgen" -> loadgen(args)
            "decode" -> decode(args)
            "webhook" -> webhook(args)
            "memory" -> memory(args)
            else -> usage("unknown command ${argv[0]}")
        }
    } catch (e: IllegalArgumentException) {
        usage(e.message ?: e.toString())
    }
    exitProcess(0)
}

private fun usage(problem: String): Nothing {
    System.err.println("pesakit Kotlin bench: $problem")
    System.err.println("commands: loadgen | decode | webhook | memory (see bindings/kotlin/bench/README.md)")
    exitProcess(2)
}

/** `--name value` pairs. */
private class Args(list: List<String>) {
    private val values = HashMap<String, String>()

    init {
        require(list.size % 2 == 0) { "arguments come in --name value pairs: $list" }
        for (i in list.indices step 2) {
            require(list[i].startsWith("--")) { "expected --name, got ${list[i]}" }
            values[list[i].removePrefix("--")] = list[i + 1]
        }
    }

    fun string(name: String): String = values[name] ?: throw IllegalArgumentException("--$name is required")
    fun optional(name: String): String? = values[name]
    fun int(name: String, default: Int): Int = values[name]?.toInt() ?: default
}

// --- shared --------------------------------------------------------------------------

private fun paypackUrl(baseUrl: String) = baseUrl.trimEnd('/') + "/paypack/api"

private fun newClient(baseUrl: String) =
    PaypackClient(CLIENT_ID, CLIENT_SECRET, PaypackOptions(baseUrl = paypackUrl(baseUrl), allowInsecureLoopback = true))

private val http: HttpClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()

private fun post(url: String, json: String, headers: Map<String, String> = emptyMap()): HttpResponse<String> {
    val builder = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json))
    headers.forEach { (k, v) -> builder.header(k, v) }
    return http.send(builder.build(), HttpResponse.BodyHandlers.ofString())
}

/** A reference `find` answers: one cash-in through [client], settled through the control API. */
private fun settledReference(baseUrl: String, client: PaypackClient): String {
    val reference = client.cashinBlocking(CashRequest(CASHIN_AMOUNT, CASHIN_NUMBER)).reference
    val answer = post("${baseUrl.trimEnd('/')}/_sandbox/paypack/transactions/$reference/settle", """{"status":"successful"}""")
    // 409: the emulator had settled it by itself already.
    check(answer.statusCode() == 200 || answer.statusCode() == 409) { "settle answered ${answer.statusCode()}: ${answer.body()}" }
    return reference
}

private fun emit(out: String?, json: String) {
    if (out != null) {
        val file = File(out).absoluteFile
        file.parentFile?.mkdirs()
        file.appendText(json + "\n")
    }
    println(json)
}

private fun median(values: List<Double>): Double {
    val sorted = values.sorted()
    val n = sorted.size
    return if (n % 2 == 1) sorted[n / 2] else (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

/** Nearest-rank percentile of sorted values. */
private fun percentile(sorted: LongArray, q: Int): Long {
    if (sorted.isEmpty()) return 0
    val rank = maxOf(1, Math.ceil(sorted.size * q / 100.0).toInt())
    return sorted[rank - 1]
}

private fun round(value: Double, digits: Int): Double {
    val scale = Math.pow(10.0, digits.toDouble())
    return Math.round(value * scale) / scale
}

private fun rssKb(field: String = "VmRSS"): Long =
    File("/proc/self/status").readLines().first { it.startsWith("$field:") }.split(Regex("\\s+"))[1].toLong()

// --- loadgen -------------------------------------------------------------------------

private class Run(val latenciesNs: LongArray, val seconds: Double, val errors: Int, val firstError: Throwable?)

/** CPU time a measured run cost, in µs: this JVM's and the emulator's (null when it cannot tell). */
private class Cpu(val clientUs: Long, val emulatorUs: Long?)

/** CPU time this JVM has used so far, every thread (the JIT's and the collector's too), in µs. */
private fun clientCpuUs(): Long =
    (ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean).processCpuTime / 1000

/** CPU time the emulator's process has used so far (`GET /_sandbox/usage`), in µs; null when it cannot tell. */
private fun emulatorCpuUs(baseUrl: String): Long? = try {
    val answer = http.send(
        HttpRequest.newBuilder(URI.create("${baseUrl.trimEnd('/')}/_sandbox/usage")).GET().build(),
        HttpResponse.BodyHandlers.ofString(),
    )
    fun field(name: String) = Regex(""""$name"\s*:\s*(\d+)""").find(answer.body())?.groupValues?.get(1)?.toLong()
    val user = field("cpu_user_us")
    val system = field("cpu_system_us")
    if (answer.statusCode() == 200 && user != null && system != null) user + system else null
} catch (e: java.io.IOException) {
    null
}

/** Runs [run] and measures the CPU time it costs this JVM and the emulator; both are read outside it. */
private fun metered(baseUrl: String, run: () -> Run): Pair<Run, Cpu> {
    val emulatorBefore = emulatorCpuUs(baseUrl)
    val clientBefore = clientCpuUs()
    val result = run()
    val client = clientCpuUs() - clientBefore
    val emulatorAfter = emulatorCpuUs(baseUrl)
    val emulator = if (emulatorBefore != null && emulatorAfter != null) emulatorAfter - emulatorBefore else null
    return result to Cpu(client, emulator)
}

/** [totalUs] per call to a tenth, as JSON (`null` when unknown). */
private fun perCall(totalUs: Long?, calls: Int): String =
    if (totalUs == null || calls == 0) "null" else round(totalUs.toDouble() / calls, 1).toString()

/** [total] calls of [call] from [concurrency] threads of [pool] (or this thread). */
private fun runThreads(total: Int, concurrency: Int, pool: java.util.concurrent.ExecutorService?, call: () -> Unit): Run {
    val latencies = LongArray(total)
    val next = AtomicInteger()
    val errors = AtomicInteger()
    val first = AtomicReference<Throwable?>(null)
    val worker = Runnable {
        while (true) {
            val i = next.getAndIncrement()
            if (i >= total) break
            val start = System.nanoTime()
            try {
                call()
            } catch (e: Exception) {
                errors.incrementAndGet()
                first.compareAndSet(null, e)
            }
            latencies[i] = System.nanoTime() - start
        }
    }
    val started = System.nanoTime()
    if (pool == null) worker.run() else (1..concurrency).map { pool.submit(worker) }.forEach { it.get() }
    return Run(latencies, (System.nanoTime() - started) / 1e9, errors.get(), first.get())
}

/** [total] calls of the suspending [call] from [concurrency] coroutines. */
private fun runCoroutines(total: Int, concurrency: Int, call: suspend () -> Unit): Run {
    val latencies = LongArray(total)
    val next = AtomicInteger()
    val errors = AtomicInteger()
    val first = AtomicReference<Throwable?>(null)
    val started = System.nanoTime()
    runBlocking(Dispatchers.Default) {
        repeat(concurrency) {
            launch {
                while (true) {
                    val i = next.getAndIncrement()
                    if (i >= total) break
                    val start = System.nanoTime()
                    try {
                        call()
                    } catch (e: Exception) {
                        errors.incrementAndGet()
                        first.compareAndSet(null, e)
                    }
                    latencies[i] = System.nanoTime() - start
                }
            }
        }
    }
    return Run(latencies, (System.nanoTime() - started) / 1e9, errors.get(), first.get())
}

private fun loadgen(args: Args) {
    val client = args.optional("client") ?: "kotlin"
    require(client == "kotlin" || client == "kotlin-async") { "--client must be kotlin or kotlin-async" }
    val baseUrl = args.string("base-url")
    val op = args.string("op")
    require(op == "find" || op == "cashin") { "--op must be find or cashin" }
    val concurrency = args.int("concurrency", 1)
    val requests = args.int("requests", 1000)
    val warmup = args.int("warmup", 100)
    require(concurrency >= 1 && requests >= 1) { "--concurrency and --requests must be positive" }

    newClient(baseUrl).use { paypack ->
        val reference = args.optional("reference") ?: if (op == "find") settledReference(baseUrl, paypack) else ""
        val request = CashRequest(CASHIN_AMOUNT, CASHIN_NUMBER) // no key given: one is generated per call
        val (measured, warmed) = if (client == "kotlin") {
            val call: () -> Unit = if (op == "find") {
                { paypack.findBlocking(reference) }
            } else {
                { paypack.cashinBlocking(request) }
            }
            val pool = if (concurrency > 1) Executors.newFixedThreadPool(concurrency) else null
            try {
                val warmed = warmUp(warmup) { runThreads(it, concurrency, pool, call) }
                metered(baseUrl) { runThreads(requests, concurrency, pool, call) } to warmed
            } finally {
                pool?.shutdown()
                pool?.awaitTermination(10, TimeUnit.SECONDS)
            }
        } else {
            val call: suspend () -> Unit = if (op == "find") {
                { paypack.find(reference) }
            } else {
                { paypack.cashin(request) }
            }
            val warmed = warmUp(warmup) { runCoroutines(it, concurrency, call) }
            metered(baseUrl) { runCoroutines(requests, concurrency, call) } to warmed
        }
        val (run, cpu) = measured
        run.firstError?.let { System.err.println("$client $op: ${run.errors} calls failed; the first: $it") }
        val sorted = run.latenciesNs.sortedArray()
        val n = sorted.size
        emit(
            args.optional("out"),
            """{"group":"per_call","client":"$client","op":"$op","concurrency":$concurrency,"requests":$n,""" +
                """"seconds":${round(run.seconds, 6)},"rps":${round(n / run.seconds, 1)},""" +
                """"p50_us":${round(percentile(sorted, 50) / 1000.0, 1)},"p99_us":${round(percentile(sorted, 99) / 1000.0, 1)},""" +
                """"errors":${run.errors},"warmup_calls":$warmed,""" +
                """"client_cpu_us":${perCall(cpu.clientUs, n)},"emulator_cpu_us":${perCall(cpu.emulatorUs, n)}}""",
        )
    }
}

/**
 * Warms the call path up: [requested] calls, then rounds of [JIT_CHUNK] calls until one
 * in which the JIT compiled for under [JIT_QUIET_SHARE] of the round's time, once at least
 * [WARMUP_MIN_NANOS] have passed (at most [WARMUP_MAX_NANOS]). A fresh JVM interprets, then
 * compiles the path several times over: measuring meanwhile measures the compiler. Returns
 * the number of calls made.
 */
private fun warmUp(requested: Int, run: (Int) -> Unit): Int {
    val jit = ManagementFactory.getCompilationMXBean()
    val started = System.nanoTime()
    var calls = 0
    if (requested > 0) {
        run(requested)
        calls += requested
    }
    while (System.nanoTime() - started < WARMUP_MAX_NANOS) {
        val compiledBefore = jit.totalCompilationTime
        val roundStarted = System.nanoTime()
        run(JIT_CHUNK)
        calls += JIT_CHUNK
        val compiledMs = jit.totalCompilationTime - compiledBefore
        val roundMs = (System.nanoTime() - roundStarted) / 1e6
        if (System.getenv("PESAKIT_BENCH_JIT_TRACE") != null) {
            System.err.println("warm-up: $calls calls, last round ${"%.0f".format(roundMs)} ms, JIT $compiledMs ms")
        }
        if (compiledMs < JIT_QUIET_SHARE * roundMs && System.nanoTime() - started >= WARMUP_MIN_NANOS) break
    }
    return calls
}

// --- decode --------------------------------------------------------------------------

/** Makes the default application hold at least [count] events (seed endpoint, else cash-ins). */
private fun ensureEvents(baseUrl: String, client: PaypackClient, count: Int) {
    var have = client.listEventsBlocking(EventFilter(limit = 1uL)).total.toLong()
    if (have >= count) return
    val missing = (count - have + 1) / 2
    val seeded = post("${baseUrl.trimEnd('/')}/_sandbox/paypack/seed", """{"count":$missing}""")
    if (seeded.statusCode() != 200) {
        repeat(missing.toInt()) { settledReference(baseUrl, client) }
    }
    have = client.listEventsBlocking(EventFilter(limit = 1uL)).total.toLong()
    check(have >= count) { "the emulator holds $have events after seeding, wanted $count" }
}

/** Median milliseconds of [repeat] runs of [run] after one unmeasured run. */
private fun <T> timedMedian(repeat: Int, run: () -> T): Pair<Double, T> {
    var result = run()
    val samples = (1..repeat).map {
        val start = System.nanoTime()
        result = run()
        (System.nanoTime() - start) / 1e6
    }
    return median(samples) to result
}

private fun decode(args: Args) {
    val baseUrl = args.string("base-url")
    val events = args.int("events", 10000)
    val repeat = args.int("repeat", 7)
    newClient(baseUrl).use { client ->
        ensureEvents(baseUrl, client, events)
        // The HTTP share: the same page's bytes through the JDK's HTTP client, not decoded.
        val token = Regex(""""access"\s*:\s*"([^"]+)"""").find(
            post("${paypackUrl(baseUrl)}/auth/agents/authorize", """{"client_id":"$CLIENT_ID","client_secret":"$CLIENT_SECRET"}""").body(),
        )!!.groupValues[1]
        val pageRequest = HttpRequest.newBuilder(URI.create("${paypackUrl(baseUrl)}/events/transactions?offset=0&limit=$events"))
            .header("Authorization", "Bearer $token").header("Accept", "application/json").GET().build()
        val (httpMs, bytes) = timedMedian(repeat) { http.send(pageRequest, HttpResponse.BodyHandlers.ofByteArray()).body() }

        val filter = EventFilter(offset = 0uL, limit = events.toULong())
        val (ms, page) = timedMedian(repeat) { client.listEventsBlocking(filter) }
        check(page.events.size == events) { "expected $events events, got ${page.events.size}" }
        emit(args.optional("out"), """{"group":"decode","client":"kotlin","events":$events,"ms":${round(ms, 3)},"bytes":${bytes.size}}""")
        emit(args.optional("out"), """{"group":"decode","client":"kotlin-http-bytes","events":$events,"ms":${round(httpMs, 3)}}""")
    }
}

// --- webhook -------------------------------------------------------------------------

/** A webhook body of exactly [size] bytes: the envelope the emulator sends, padded in `metadata`. */
internal fun webhookBody(size: Int): ByteArray {
    fun body(note: String) =
        """{"event_id":"8a3f4c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b","event_kind":"transaction:processed",""" +
            """"created_at":"2026-01-02T10:00:01.123456Z","data":{"ref":"4f1b2c3d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",""" +
            """"kind":"CASHIN","fee":2.3,"merchant":"ABC123","client":"0788123456","amount":100,"provider":"mtn",""" +
            """"status":"successful","created_at":"2026-01-02T12:00:00.123456789+02:00",""" +
            """"processed_at":"2026-01-02T12:00:01.12345678+02:00","metadata":{"note":"$note"}}}"""
    val base = body("").toByteArray().size
    require(size >= base) { "--body-bytes must be at least $base" }
    return body("x".repeat(size - base)).toByteArray().also { check(it.size == size) }
}

private fun webhook(args: Args) {
    val size = args.int("body-bytes", 1024)
    val calls = args.int("calls", 20000)
    val repeat = args.int("repeat", 5)
    val body = webhookBody(size)
    PaypackWebhookVerifier(WEBHOOK_SECRET).use { verifier ->
        val signature = verifier.sign(body)
        val event = verifier.verifyAndParse(body, signature)
        check(event.kind == EventKind.TRANSACTION_PROCESSED && event.transaction.amount.compareTo(BigDecimal(100)) == 0) { "unexpected $event" }
        val samples = (0..repeat).map {
            val start = System.nanoTime()
            repeat(calls) { verifier.verifyAndParse(body, signature) }
            (System.nanoTime() - start) / 1e9
        }.drop(1) // the first run warms the JIT up
        val seconds = median(samples)
        emit(
            args.optional("out"),
            """{"group":"webhook","client":"kotlin","body_bytes":$size,"mb_s":${round(size.toLong() * calls / seconds / 1e6, 3)},""" +
                """"per_call_us":${round(seconds / calls * 1e6, 3)}}""",
        )
    }
}

// --- memory --------------------------------------------------------------------------

private fun memory(args: Args) {
    val baseUrl = args.string("base-url")
    val requests = args.int("requests", 5000)
    val concurrency = args.int("concurrency", 16)
    newClient(baseUrl).use { client ->
        val reference = args.optional("reference") ?: settledReference(baseUrl, client)
        client.findBlocking(reference)
        System.gc()
        val idle = rssKb()
        val pool = Executors.newFixedThreadPool(concurrency)
        val run = try {
            runThreads(requests, concurrency, pool) { client.findBlocking(reference) }
        } finally {
            pool.shutdown()
        }
        check(run.errors == 0) { "${run.errors} calls failed under load: ${run.firstError}" }
        emit(args.optional("out"), """{"group":"memory","client":"kotlin","idle_rss_kb":$idle,"load_rss_kb":${rssKb("VmHWM")}}""")
    }
}
