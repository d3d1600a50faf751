package io.pesakit

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.math.BigDecimal
import java.net.URLEncoder
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.util.concurrent.CopyOnWriteArrayList

/** Tokens in files, one per account, written with [TokenSet.toJson]: tokens survive a restart. */
class FileTokenStore(private val dir: File) : TokenStore {
    private fun file(key: String) = File(dir, URLEncoder.encode(key, Charsets.UTF_8) + ".json")

    override fun load(key: String): TokenSet? = file(key).takeIf { it.isFile }?.let { TokenSet.fromJson(it.readText()) }

    override fun save(key: String, tokens: TokenSet) {
        val tmp = File.createTempFile("tokens", ".tmp", dir)
        tmp.writeText(tokens.toJson())
        Files.move(tmp.toPath(), file(key).toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
    }

    override fun clear(key: String) {
        file(key).delete()
    }
}

class TokenStoreTest {
    @Test
    fun `a second client reuses stored tokens without authorizing`() {
        Sandbox.start().use { sandbox ->
            val store = MapTokenStore()
            testClient(sandbox, store).use { it.authorizeBlocking() }
            assertEquals(setOf("paypack|${sandbox.paypackBaseUrl}|$CLIENT_ID"), store.entries.keys)

            testClient(sandbox, store).use { second ->
                runBlocking {
                    second.profile()
                    second.cashin(CashRequest(BigDecimal("1000"), "0788123456"))
                }
                second.listTransactionsBlocking(TransactionFilter())
            }
            assertEquals(1, sandbox.authorizeCount(), "only the first client authorized")
            assertEquals(4, sandbox.requests().size, "authorize, profile, cash-in, list")
        }
    }

    @Test
    fun `tokens persisted in a file survive a restart`(@TempDir dir: Path) {
        Sandbox.start().use { sandbox ->
            testClient(sandbox, FileTokenStore(dir.toFile())).use { it.profileBlocking() }
            val files = dir.toFile().listFiles()!!.filter { it.name.endsWith(".json") }
            assertEquals(1, files.size)
            // A new store over the same directory, as after a process restart.
            testClient(sandbox, FileTokenStore(dir.toFile())).use { it.profileBlocking() }
            assertEquals(1, sandbox.authorizeCount())
            assertEquals(2, sandbox.paypackRequests("GET", "/merchants/me").size)
        }
    }

    @Test
    fun `renewed tokens are saved to the store`() {
        Sandbox.start().use { sandbox ->
            val store = MapTokenStore()
            testClient(sandbox, store).use { client ->
                client.profileBlocking()
                val first = store.entries.values.single()
                sandbox.control("POST", "/_sandbox/paypack/tokens/expire", buildJsonObject { put("which", JsonPrimitive("access")) })
                client.profileBlocking()
                assertEquals(2, store.saves.get())
                assertFalse(first == store.entries.values.single(), "the refreshed tokens replaced the old ones")
                assertEquals(1, sandbox.authorizeCount(), "refreshed, not authorized again")
            }
        }
    }

    @Test
    fun `a store that throws fails the call with a TokenStore error, never a crash`() {
        Sandbox.start().use { sandbox ->
            val failingLoad = object : TokenStore {
                override fun load(key: String): TokenSet? = throw IllegalStateException("the disk is on fire")
                override fun save(key: String, tokens: TokenSet) {}
                override fun clear(key: String) {}
            }
            testClient(sandbox, failingLoad).use { client ->
                val e = assertThrows<PesakitException.TokenStore> { client.profileBlocking() }
                assertSentence(e)
                assertEquals(ErrorKind.TOKEN_STORE, e.kind)
                assertTrue(e.summary.contains("the disk is on fire"), e.summary)
                val async = assertThrows<PesakitException.TokenStore> { runBlocking { client.profile() } }
                assertTrue(async.summary.contains("the disk is on fire"), async.summary)
            }
            assertEquals(0, sandbox.requests().size, "nothing was sent without tokens")

            // Even a JVM Error (not an Exception) thrown by a store ends as a TokenStore error.
            val erroring = object : TokenStore {
                override fun load(key: String): TokenSet? = throw AssertionError("not an Exception")
                override fun save(key: String, tokens: TokenSet) {}
                override fun clear(key: String) {}
            }
            testClient(sandbox, erroring).use { client ->
                assertEquals(ErrorKind.TOKEN_STORE, assertThrows<PesakitException.TokenStore> { client.profileBlocking() }.kind)
            }

            val saves = CopyOnWriteArrayList<String>()
            val failingSave = object : TokenStore {
                override fun load(key: String): TokenSet? = null
                override fun save(key: String, tokens: TokenSet) {
                    saves += key
                    throw PesakitException.TokenStore(ErrorKind.TOKEN_STORE, "the keystore is locked", null, null, null, null, null, null, emptyList())
                }
                override fun clear(key: String) {}
            }
            testClient(sandbox, failingSave).use { client ->
                val e = assertThrows<PesakitException.TokenStore> { client.authorizeBlocking() }
                assertSentence(e)
                assertTrue(e.summary.contains("the keystore is locked"), e.summary)
                // The tokens were kept in memory: the next call needs no new login.
                client.profileBlocking()
                assertEquals(1, sandbox.authorizeCount())
                assertEquals(1, saves.size)
            }
        }
    }
}
