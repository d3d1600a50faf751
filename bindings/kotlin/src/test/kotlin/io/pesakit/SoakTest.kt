package io.pesakit

import io.pesakit.soak.runSoak
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The short version of the FFI soak (scripts/soak runs the long one): the same mix of calls,
 * SOAK_CALLS of them (default 20,000), with no unexpected outcome and the Kotlin
 * TokenStore and Logger really called. Memory growth is judged by the long run only.
 */
class SoakTest {
    @Test
    fun `a short soak has no unexpected outcome and calls the foreign callbacks`() {
        val calls = System.getenv("SOAK_CALLS")?.toLongOrNull() ?: 20_000L
        val summary = Sandbox.start().use { sandbox -> runSoak(sandbox.baseUrl, calls) }
        println(summary.report())
        assertEquals(emptyList<String>(), summary.unexpected)
        assertEquals(calls, summary.calls)
        assertEquals(calls, summary.outcomes.values.sum())
        // Both APIs, every kind of outcome.
        for (kind in listOf("http_ok", "http_404", "http_500", "local_error", "webhook_ok", "webhook_bad")) {
            assertTrue(summary.outcomes.keys.any { it.startsWith("$kind:") && it.endsWith(":suspend") || kind.startsWith("webhook") && it.startsWith("$kind:") }, "no $kind outcome: ${summary.outcomes}")
            assertTrue(summary.outcomes.keys.any { it.startsWith("$kind:") && it.endsWith(":blocking") }, "no blocking $kind outcome: ${summary.outcomes}")
        }
        // Tokens were expired before every block: each one was renewed and saved through the store.
        val blocks = (calls + 999) / 1000
        assertTrue(summary.saves >= blocks, "saves ${summary.saves} < blocks $blocks")
        assertTrue(summary.loads >= summary.clientsCreated.toLong(), "loads ${summary.loads} < clients ${summary.clientsCreated}")
        assertTrue((summary.logLines[LogLevel.DEBUG] ?: 0L) > calls / 3, "log lines: ${summary.logLines}")
    }
}
