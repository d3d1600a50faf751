package io.pesakit

import com.sun.jna.Memory
import com.sun.jna.Pointer
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.jsonArray
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.math.BigDecimal
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executors

/**
 * How calls reach pesakit's runtimes from the JVM (docs/adr/0006, docs/adr/0009, docs/adr/0012,
 * docs/adr/0016).
 */
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

    @Test
    fun `a call made from a callback during a call has its own status, and a failure leaves nothing behind`() {
        Sandbox.start().use { sandbox ->
            val caller = Thread.currentThread()
            val loadThreads = CopyOnWriteArrayList<Thread>()
            val innerFailures = CopyOnWriteArrayList<PesakitException>()
            // Each load makes a pesakit call that fails while the outer call is in progress.
            val store = object : TokenStore {
                override fun load(key: String): TokenSet? {
                    loadThreads += Thread.currentThread()
                    try {
                        TokenSet.fromJson("not json")
                    } catch (e: PesakitException) {
                        innerFailures += e
                    }
                    return null
                }
                override fun save(key: String, tokens: TokenSet) {}
                override fun clear(key: String) {}
            }
            testClient(sandbox, store).use { client ->
                val ref = client.cashinBlocking(CashRequest(BigDecimal("250"), "0788123456")).reference
                // The premise: the callback ran on this thread, inside the outer call.
                assertEquals(listOf(caller), loadThreads.distinct())
                assertEquals(loadThreads.size, innerFailures.size)
                sandbox.settle(ref) // found only once processed

                // A failed call, then calls that succeed, on the same thread.
                val missing = assertThrows<PesakitException.NotFound> { client.findBlocking("no-such-reference") }
                assertEquals(ErrorKind.NOT_FOUND, missing.kind)
                assertEquals(ref, client.findBlocking(ref).reference)
                assertThrows<PesakitException> { TokenSet.fromJson("{") }
                assertEquals(0, BigDecimal("250").compareTo(client.findBlocking(ref).amount))
            }
        }
    }

    @Test
    fun `a buffer Rust returns by value is read into memory of its own, outside JNA's table of blocks`() {
        val buffer = RustBuffer.alloc(5UL)
        try {
            assertEquals(5L, buffer.len)
            assertTrue(buffer.capacity >= 5L, "capacity ${buffer.capacity}")
            assertNotEquals(0L, Pointer.nativeValue(buffer.data))
            val memory = buffer.pointer
            assertTrue(memory is UniffiByValueMemory, "memory is ${memory.javaClass}")
            // JNA's own Memory enters every block in this table; ours must not be in it.
            val table = Memory::class.java.getDeclaredField("allocatedMemory")
                .apply { isAccessible = true }.get(null) as Map<*, *>
            assertFalse(table.containsKey(Pointer.nativeValue(memory)))
        } finally {
            RustBuffer.free(buffer)
        }
    }

    @Test
    fun `a by-value buffer built over a native structure copies it, as JNA does for callbacks`() {
        val data = Memory(8)
        val native = Memory(24).apply {
            setLong(0, 8)
            setLong(8, 3)
            setPointer(16, data)
        }
        val buffer = RustBuffer.ByValue(native)
        native.clear() // the copy must not depend on the original afterwards
        buffer.read()
        assertEquals(8L, buffer.capacity)
        assertEquals(3L, buffer.len)
        assertEquals(Pointer.nativeValue(data), Pointer.nativeValue(buffer.data))
        assertNotEquals(Pointer.nativeValue(native), Pointer.nativeValue(buffer.pointer))
    }
}
