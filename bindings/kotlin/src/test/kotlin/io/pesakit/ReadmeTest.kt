package io.pesakit

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.math.BigDecimal

class ReadmeTest {
    private val kotlinDir = File(repoRoot, "bindings/kotlin")

    @Test
    fun `the README shows exactly ReadmeExample kt`() {
        val readme = File(kotlinDir, "README.md").readText()
        val start = "<!-- kotlin-example:start -->"
        val end = "<!-- kotlin-example:end -->"
        assertTrue(readme.contains(start) && readme.contains(end), "README.md has the example markers")
        val block = readme.substringAfter(start).substringBefore(end).trim()
        assertTrue(block.startsWith("```kotlin\n") && block.endsWith("\n```"), "the example is one ```kotlin block")
        val shown = block.removePrefix("```kotlin\n").removeSuffix("```")
        val source = File(kotlinDir, "src/test/kotlin/io/pesakit/ReadmeExample.kt").readText()
        assertEquals(source.trimEnd(), shown.trimEnd(), "README.md's example differs from ReadmeExample.kt: copy the file into the README")
    }

    @Test
    fun `the README example runs against the emulator`() {
        // Surefire sets PAYPACK_CLIENT_ID / PAYPACK_CLIENT_SECRET (see pom.xml): a JVM cannot set its own environment.
        assertEquals(CLIENT_ID, System.getenv("PAYPACK_CLIENT_ID"), "run through Maven (surefire sets the credentials)")
        Sandbox.start().use { sandbox ->
            // Let the emulator's customers confirm by themselves, quickly.
            sandbox.control("POST", "/_sandbox/paypack/config", buildJsonObject { put("settle_after_ms", JsonPrimitive(50)) })
            val options = PaypackOptions(baseUrl = sandbox.paypackBaseUrl, allowInsecureLoopback = true, pollIntervalMs = 20u)

            val viaCoroutines = runBlocking { collectPayment(options) }
            assertEquals(TransactionStatus.SUCCESSFUL, viaCoroutines.status)
            assertEquals(0, BigDecimal("1000").compareTo(viaCoroutines.amount))

            val viaThreads = collectPaymentBlocking(options)
            assertEquals(TransactionStatus.SUCCESSFUL, viaThreads.status)
            assertEquals(2, sandbox.ledger()["transactions"]!!.let { (it as kotlinx.serialization.json.JsonArray).size })
        }
    }
}
