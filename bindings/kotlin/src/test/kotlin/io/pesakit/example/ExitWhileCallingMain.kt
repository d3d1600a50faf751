package io.pesakit.example

import io.pesakit.LogLevel
import io.pesakit.Logger
import io.pesakit.PaypackClient
import io.pesakit.PaypackOptions
import io.pesakit.TokenSet
import io.pesakit.TokenStore
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/**
 * Ends the JVM while daemon threads are in blocking calls whose logger and token store are
 * Kotlin: `main` returns once the daemons have made 40 calls. Arguments: the emulator's
 * Paypack base URL, a settled transaction's reference, the number of daemon threads.
 */
fun main(args: Array<String>) {
    val (baseUrl, reference, threads) = args
    val lines = AtomicInteger()
    val logger = object : Logger {
        override fun log(level: LogLevel, message: String) {
            lines.incrementAndGet()
            Thread.yield()
        }
    }
    class Store : TokenStore {
        private val saved = ConcurrentHashMap<String, TokenSet>()
        override fun load(key: String): TokenSet? = saved[key]
        override fun save(key: String, tokens: TokenSet) { saved[key] = tokens }
        override fun clear(key: String) { saved.remove(key) }
    }
    fun client() = PaypackClient(
        "demo-client-id", "demo-client-secret",
        PaypackOptions(baseUrl = baseUrl, allowInsecureLoopback = true),
        tokenStore = Store(),
        logger = logger,
    )
    val done = AtomicInteger()
    repeat(threads.toInt()) { i ->
        val worker = Thread {
            val shared = client()
            while (true) {
                val c = if (i % 2 == 1) client() else shared
                check(c.findBlocking(reference).reference == reference)
                if (c !== shared) c.close()
                done.incrementAndGet()
            }
        }
        worker.isDaemon = true
        worker.start()
    }
    while (done.get() < 40) Thread.sleep(1)
    check(lines.get() > 0) { "the logger was called" }
    println("exiting")
}
