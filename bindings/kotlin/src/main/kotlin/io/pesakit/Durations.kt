package io.pesakit

import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

// kotlin.time.Duration views of the millisecond settings, so options read naturally:
//   PaypackOptions(baseUrl = url).apply { requestTimeout = 5.seconds; pollInterval = 500.milliseconds }
//   CheckoutOptions(clientId = id).apply { requestTimeout = 10.seconds; maxBackoff = 2.seconds }
//   PagaOptions(pkce = true).apply { requestTimeout = 10.seconds; refreshSkew = 2.minutes }

private fun Duration.toMs(name: String): ULong {
    require(!isNegative()) { "$name must not be negative, got $this" }
    return inWholeMilliseconds.toULong()
}

private fun ULong.toDuration(): Duration = toLong().milliseconds

private fun Duration.toWholeSeconds(name: String): ULong {
    require(!isNegative()) { "$name must not be negative, got $this" }
    return inWholeSeconds.toULong()
}

/** How long to wait for a connection ([PaypackOptions.connectTimeoutMs]). */
var PaypackOptions.connectTimeout: Duration
    get() = connectTimeoutMs.toDuration()
    set(value) { connectTimeoutMs = value.toMs("connectTimeout") }

/** How long one try of a request may take ([PaypackOptions.requestTimeoutMs]). */
var PaypackOptions.requestTimeout: Duration
    get() = requestTimeoutMs.toDuration()
    set(value) { requestTimeoutMs = value.toMs("requestTimeout") }

/** The wait before the first retry ([PaypackOptions.initialBackoffMs]). */
var PaypackOptions.initialBackoff: Duration
    get() = initialBackoffMs.toDuration()
    set(value) { initialBackoffMs = value.toMs("initialBackoff") }

/** The longest wait between tries ([PaypackOptions.maxBackoffMs]). */
var PaypackOptions.maxBackoff: Duration
    get() = maxBackoffMs.toDuration()
    set(value) { maxBackoffMs = value.toMs("maxBackoff") }

/** The longest `Retry-After` waited out ([PaypackOptions.maxRetryAfterMs]). */
var PaypackOptions.maxRetryAfter: Duration
    get() = maxRetryAfterMs.toDuration()
    set(value) { maxRetryAfterMs = value.toMs("maxRetryAfter") }

/** How long before expiry the access token is renewed ([PaypackOptions.refreshSkewMs]). */
var PaypackOptions.refreshSkew: Duration
    get() = refreshSkewMs.toDuration()
    set(value) { refreshSkewMs = value.toMs("refreshSkew") }

/** How often `waitForCompletion` asks ([PaypackOptions.pollIntervalMs]). */
var PaypackOptions.pollInterval: Duration
    get() = pollIntervalMs.toDuration()
    set(value) { pollIntervalMs = value.toMs("pollInterval") }

/** How long to wait for a connection ([CheckoutOptions.connectTimeoutMs]). */
var CheckoutOptions.connectTimeout: Duration
    get() = connectTimeoutMs.toDuration()
    set(value) { connectTimeoutMs = value.toMs("connectTimeout") }

/** How long one try of a request may take ([CheckoutOptions.requestTimeoutMs]). */
var CheckoutOptions.requestTimeout: Duration
    get() = requestTimeoutMs.toDuration()
    set(value) { requestTimeoutMs = value.toMs("requestTimeout") }

/** The wait before the first retry ([CheckoutOptions.initialBackoffMs]). */
var CheckoutOptions.initialBackoff: Duration
    get() = initialBackoffMs.toDuration()
    set(value) { initialBackoffMs = value.toMs("initialBackoff") }

/** The longest wait between tries ([CheckoutOptions.maxBackoffMs]). */
var CheckoutOptions.maxBackoff: Duration
    get() = maxBackoffMs.toDuration()
    set(value) { maxBackoffMs = value.toMs("maxBackoff") }

/** The longest `Retry-After` waited out ([CheckoutOptions.maxRetryAfterMs]). */
var CheckoutOptions.maxRetryAfter: Duration
    get() = maxRetryAfterMs.toDuration()
    set(value) { maxRetryAfterMs = value.toMs("maxRetryAfter") }

/** How long before expiry the OAuth access token is refreshed ([CheckoutOptions.refreshSkewMs]). */
var CheckoutOptions.refreshSkew: Duration
    get() = refreshSkewMs.toDuration()
    set(value) { refreshSkewMs = value.toMs("refreshSkew") }

/** How long to wait for a connection ([PagaOptions.connectTimeoutMs]). */
var PagaOptions.connectTimeout: Duration
    get() = connectTimeoutMs.toDuration()
    set(value) { connectTimeoutMs = value.toMs("connectTimeout") }

/** How long one try of a request may take ([PagaOptions.requestTimeoutMs]). */
var PagaOptions.requestTimeout: Duration
    get() = requestTimeoutMs.toDuration()
    set(value) { requestTimeoutMs = value.toMs("requestTimeout") }

/** The wait before the first retry ([PagaOptions.initialBackoffMs]). */
var PagaOptions.initialBackoff: Duration
    get() = initialBackoffMs.toDuration()
    set(value) { initialBackoffMs = value.toMs("initialBackoff") }

/** The longest wait between tries ([PagaOptions.maxBackoffMs]). */
var PagaOptions.maxBackoff: Duration
    get() = maxBackoffMs.toDuration()
    set(value) { maxBackoffMs = value.toMs("maxBackoff") }

/** How long before expiry a user's token is refreshed ([PagaOptions.refreshSkewMs]). */
var PagaOptions.refreshSkew: Duration
    get() = refreshSkewMs.toDuration()
    set(value) { refreshSkewMs = value.toMs("refreshSkew") }

/**
 * A checkout webhook verifier for [secret] accepting signatures made up to [tolerance]
 * either side of now (whole seconds; the default is 5 minutes).
 */
fun CheckoutWebhookVerifier(secret: String, tolerance: Duration): CheckoutWebhookVerifier =
    CheckoutWebhookVerifier(secret, tolerance.toWholeSeconds("tolerance"))

/** How long the gateway asked to wait, when it did. */
val PesakitException.retryAfter: Duration?
    get() = retryAfterMs?.toDuration()

/**
 * Waits until [reference] is processed (successful or failed) and returns it; a
 * [PesakitException.Timeout] after [timeout].
 */
suspend fun PaypackClient.waitForCompletion(reference: String, timeout: Duration): Transaction =
    waitForCompletion(reference, timeout.toMs("timeout"))

/** The blocking form of [waitForCompletion] with a [Duration]. */
fun PaypackClient.waitForCompletionBlocking(reference: String, timeout: Duration): Transaction =
    waitForCompletionBlocking(reference, timeout.toMs("timeout"))
