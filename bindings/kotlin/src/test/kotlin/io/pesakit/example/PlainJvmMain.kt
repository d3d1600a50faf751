package io.pesakit.example

import io.pesakit.CashRequest
import io.pesakit.CheckoutClient
import io.pesakit.CheckoutOptions
import io.pesakit.CheckoutRequest
import io.pesakit.PaypackClient
import io.pesakit.PaypackOptions
import io.pesakit.PesakitException
import io.pesakit.TransactionFilter
import io.pesakit.TransactionStatus
import io.pesakit.pesakitVersion
import io.pesakit.transactionsFlow
import io.pesakit.waitForCompletionBlocking
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import java.math.BigDecimal
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.seconds

/**
 * Proves the jar works on a plain JVM: run with `java -cp pesakit.jar:<runtime deps>:<this>`
 * and no `-Djna.library.path`. Starts the emulator from `PESAKIT_SANDBOX_BIN`, moves money
 * through the blocking and the suspend API (Paypack and hosted checkout), and exits non-zero
 * if anything fails.
 * Uses only the jar's runtime dependencies (no JUnit, no JSON library).
 */
fun main() {
    val bin = System.getenv("PESAKIT_SANDBOX_BIN") ?: fail("set PESAKIT_SANDBOX_BIN to the pesakit-sandbox binary")
    check(System.getProperty("jna.library.path") == null) { "this proof must run without -Djna.library.path" }
    val jnaLog = recordJnaLoading()
    var failed = false
    val process = ProcessBuilder(bin, "--port", "0", "--settle-after-ms", "0")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start()
    try {
        val first = process.inputStream.bufferedReader().readLine() ?: fail("the emulator printed nothing")
        val base = Regex("""listening on (http://\S+)""").find(first)?.groupValues?.get(1) ?: fail("unexpected: $first")
        println("emulator: $base")
        println("pesakit ${pesakitVersion()}")
        // JNA's own account of where the library came from: the jar, not a library path.
        val found = jnaLog.firstOrNull { it.startsWith("Found library resource at") && it.contains("libpesakit_ffi.so") }
            ?: fail("JNA did not load libpesakit_ffi.so from a classpath resource: $jnaLog")
        check(found.contains("jar:file:") && found.contains(".jar!/linux-x86-64/libpesakit_ffi.so")) { "not from a jar: $found" }
        println("JNA: $found")
        jnaLog.firstOrNull { it.startsWith("Found library 'pesakit_ffi'") }?.let { println("JNA: $it") }

        val options = PaypackOptions(baseUrl = "$base/paypack/api", allowInsecureLoopback = true, pollIntervalMs = 20u)
        PaypackClient("demo-client-id", "demo-client-secret", options).use { client ->
            println("client: $client")
            val pending = client.cashinBlocking(CashRequest(amount = BigDecimal("1000"), number = "0788123456"))
            println("cash-in (blocking): ${pending.reference} ${pending.status} ${pending.amount} RWF at ${pending.createdAt}")
            settle(base, pending.reference)
            val done = client.waitForCompletionBlocking(pending.reference, 30.seconds)
            println("completed (blocking): ${done.status}, fee ${done.fee} RWF")
            check(done.status == TransactionStatus.SUCCESSFUL) { "expected a successful transaction, got ${done.status}" }

            val listed = runBlocking {
                client.cashout(CashRequest(amount = BigDecimal("250.75"), number = "0723456789"))
                client.transactionsFlow(TransactionFilter(limit = 1u)).toList()
            }
            println("transactions (suspend, Flow over ${listed.size} pages of 1): ${listed.map { "${it.kind} ${it.amount}" }}")
            check(listed.size == 2) { "expected 2 transactions, got ${listed.size}" }

            try {
                client.findBlocking("no-such-reference")
                fail("finding an unknown reference succeeded")
            } catch (e: PesakitException.NotFound) {
                println("error as printed: $e")
            }
        }
        val checkoutOptions = CheckoutOptions(clientId = "demo0checkout0client0id000000001", allowInsecureLoopback = true)
        CheckoutClient("$base/checkout", clientToken = "demo-checkout-token", options = checkoutOptions).use { checkout ->
            val created = checkout.createCheckoutBlocking(CheckoutRequest(BigDecimal("100.50"), "USD", "order-1"))
            val payment = runBlocking { checkout.getPayment(created.paymentId) }
            println("checkout (blocking + suspend): ${created.checkoutUrl} -> ${payment.status} ${payment.amount?.formatted}")
            check(payment.amount?.minorUnits == 10050L) { "expected 10050 minor units, got ${payment.amount}" }
        }
        println("OK: the jar ran on a plain JVM with no -Djna.library.path")
    } catch (e: Throwable) {
        System.err.println("FAILED: $e")
        e.printStackTrace()
        failed = true
    } finally {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }
    exitProcess(if (failed) 1 else 0)
}

private fun settle(base: String, reference: String) {
    val request = HttpRequest.newBuilder(URI.create("$base/_sandbox/paypack/transactions/$reference/settle"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("""{"status":"successful"}""")).build()
    val answer = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
    check(answer.statusCode() == 200) { "settle answered ${answer.statusCode()}: ${answer.body()}" }
}

/** Turns on JNA's load logging and keeps its lines (instead of printing them). */
private fun recordJnaLoading(): MutableList<String> {
    System.setProperty("jna.debug_load", "true")
    val lines = java.util.Collections.synchronizedList(mutableListOf<String>())
    jnaLogger.useParentHandlers = false
    val formatter = java.util.logging.SimpleFormatter()
    jnaLogger.addHandler(object : java.util.logging.Handler() {
        override fun publish(record: java.util.logging.LogRecord) { lines += formatter.formatMessage(record) }
        override fun flush() {}
        override fun close() {}
    })
    return lines
}

private val jnaLogger: java.util.logging.Logger = java.util.logging.Logger.getLogger("com.sun.jna")

private fun fail(message: String): Nothing = throw IllegalStateException(message)
