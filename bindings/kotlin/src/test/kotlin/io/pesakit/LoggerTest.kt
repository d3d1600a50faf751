package io.pesakit

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.math.BigDecimal
import java.util.concurrent.CopyOnWriteArrayList

class LoggerTest {
    @Test
    fun `log lines and errors never contain a secret`() {
        Sandbox.start().use { sandbox ->
            val lines = CopyOnWriteArrayList<Pair<LogLevel, String>>()
            val logger = Logger { level, message -> lines += level to message }
            val seen = CopyOnWriteArrayList<String>()
            val store = object : TokenStore {
                val inner = MapTokenStore()
                override fun load(key: String) = inner.load(key)
                override fun save(key: String, tokens: TokenSet) { seen += tokens.toJson(); inner.save(key, tokens) }
                override fun clear(key: String) = inner.clear(key)
            }
            val errors = mutableListOf<PesakitException>()
            testClient(sandbox, store, logger).use { client ->
                runBlocking {
                    val tx = client.cashin(CashRequest(BigDecimal("1000"), "0788123456"))
                    errors += assertThrows<PesakitException.NotFound> { runBlocking { client.find(tx.reference) } }
                    sandbox.settle(tx.reference)
                    client.waitForCompletion(tx.reference, 10_000u)
                }
                sandbox.control("POST", "/_sandbox/paypack/tokens/expire", buildJsonObject { put("which", JsonPrimitive("access")) })
                client.profileBlocking()
                sandbox.control("POST", "/_sandbox/paypack/tokens/revoke", buildJsonObject { put("which", JsonPrimitive("all")) })
                client.listEventsBlocking(EventFilter())
            }
            testClient(sandbox, logger = logger, clientSecret = "wrong-and-secret").use { client ->
                errors += assertThrows<PesakitException.Authentication> { client.profileBlocking() }
            }

            val secrets = mutableListOf(CLIENT_SECRET, "wrong-and-secret")
            for (json in seen) {
                TokenSet.fromJson(json).use { t ->
                    secrets += t.accessToken()
                    t.refreshToken()?.let { secrets += it }
                }
            }
            assertTrue(seen.size >= 3, "authorized, refreshed, authorized again after the revoke: ${seen.size}")
            assertTrue(lines.isNotEmpty(), "the logger was called")
            assertTrue(lines.any { it.first == LogLevel.DEBUG }, "HTTP exchanges are logged at DEBUG")
            assertTrue(lines.any { it.first == LogLevel.INFO && it.second.contains("refreshed") }, "the refresh was logged: $lines")
            for ((level, line) in lines) {
                for (secret in secrets) if (line.contains(secret)) fail<Unit>("a $level log line leaks a secret: $line")
            }
            for (e in errors) {
                for (secret in secrets) {
                    assertTrue(!e.toString().contains(secret) && !(e.body ?: "").contains(secret), "an error leaks a secret: $e")
                }
            }
        }
    }

    @Test
    fun `a logger that throws does not fail the call`() {
        Sandbox.start().use { sandbox ->
            var calls = 0
            val logger = Logger { _, _ -> calls++; throw RuntimeException("logging backend down") }
            testClient(sandbox, logger = logger).use { client ->
                assertEquals("Sandbox Merchant demo-client-id", client.profileBlocking().name)
            }
            assertTrue(calls > 0)
        }
    }
}
