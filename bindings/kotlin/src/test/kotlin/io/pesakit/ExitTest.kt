package io.pesakit

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import java.io.File
import java.math.BigDecimal
import java.util.concurrent.TimeUnit

/**
 * The JVM ends cleanly while daemon threads are in blocking calls whose logger and token
 * store are Kotlin (the Python package needs `pesakit_host_closing` for the same case; see
 * `bindings/ffi/src/host.rs`). Each run is a fresh JVM running `ExitWhileCallingMain`.
 */
class ExitTest {
    @ParameterizedTest(name = "{0} daemon thread(s)")
    @ValueSource(ints = [1, 8])
    fun `the JVM exits cleanly while daemon threads are in calls`(threads: Int) {
        Sandbox.start().use { sandbox ->
            val reference = testClient(sandbox).use { it.cashinBlocking(CashRequest(BigDecimal(100), "0788123456")).reference }
            sandbox.settle(reference)
            val java = File(System.getProperty("java.home"), "bin/java").path
            val classpath = System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path")
            repeat(5) { run ->
                val log = File.createTempFile("pesakit-exit", ".log").apply { deleteOnExit() }
                val process = ProcessBuilder(
                    java, "-cp", classpath, "io.pesakit.example.ExitWhileCallingMainKt",
                    sandbox.paypackBaseUrl, reference, threads.toString(),
                ).redirectErrorStream(true).redirectOutput(log).start()
                val ended = process.waitFor(60, TimeUnit.SECONDS)
                if (!ended) process.destroyForcibly()
                val output = log.readText()
                log.delete()
                assertTrue(ended, "run $run did not end:\n$output")
                assertEquals(0, process.exitValue(), "run $run:\n$output")
                assertEquals("exiting", output.trim(), "run $run")
            }
        }
    }
}
