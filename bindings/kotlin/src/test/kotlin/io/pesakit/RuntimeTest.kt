package io.pesakit

import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.jsonArray
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.math.BigDecimal
import java.util.concurrent.Executors

/** How calls reach pesakit's runtimes from the JVM (docs/adr/0006, docs/adr/0009). */
class RuntimeTest {
    @Test
    fun `async calls are resumed by pesakit threads that stay attached to the JVM`() {
        Sandbox.start().use { sandbox ->
            testClient(sandbox).use { client ->
                runBlocking {
                    (1..50).map { async { client.cashin(CashRequest(BigDecimal(100 + it), "0788123456")) } }.awaitAll()
                }
                // Attached once and kept: the resuming workers show up as live JVM threads
                // (JNA's default would have detached them after each callback).
                val resumers = Thread.getAllStackTraces().keys.filter { it.name.startsWith("pesakit-resume") }
                assertTrue(resumers.isNotEmpty(), "no pesakit-resume thread")
                assertTrue(resumers.all { it.isDaemon }, "they must not keep the JVM alive")
            }
        }
    }

    @Test
    fun `blocking calls from many threads and async calls at once on one client`() {
        Sandbox.start().use { sandbox ->
            testClient(sandbox).use { client ->
                val pool = Executors.newFixedThreadPool(8)
                try {
                    val blocking = (0 until 8).map { t ->
                        pool.submit<List<String>> {
                            (0 until 20).map { i ->
                                client.cashinBlocking(CashRequest(BigDecimal(100 + t * 100 + i), "0788123456")).reference
                            }
                        }
                    }
                    val fromAsync = runBlocking {
                        (0 until 40).map { async { client.cashin(CashRequest(BigDecimal(5000 + it), "0788123456")).reference } }
                            .awaitAll()
                    }
                    val all = blocking.flatMap { it.get() } + fromAsync
                    assertEquals(200, all.size)
                    assertEquals(200, all.toSet().size, "each cash-in created once")
                    assertEquals(200, sandbox.ledger()["transactions"]!!.jsonArray.size)
                } finally {
                    pool.shutdown()
                }
            }
        }
    }
}
