package io.pesakit

/**
 * A [Logger] from a lambda: `Logger { level, message -> println("$level $message") }`.
 * pesakit's log lines never contain a secret. The lambda runs on pesakit's worker
 * threads; keep it quick and do not call a client's blocking methods from it.
 */
fun Logger(log: (level: LogLevel, message: String) -> Unit): Logger = object : Logger {
    override fun log(level: LogLevel, message: String) = log(level, message)
}
