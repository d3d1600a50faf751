package io.pesakit

// UniFFI generates one subclass of PesakitException per error kind, each carrying the same
// fields; the sealed base class itself declares none. These properties read them from any
// PesakitException, so `catch (e: PesakitException) { e.kind }` works without a `when`.

/** What went wrong, in a form a program can branch on. */
val PesakitException.kind: ErrorKind
    get() = fields.kind

/** What happened, as a sentence (the same text as [PesakitException.message]). */
val PesakitException.summary: String
    get() = fields.summary

/** The HTTP status of the gateway's answer, when there was one. */
val PesakitException.status: UShort?
    get() = fields.status

/** The gateway's own message. */
val PesakitException.gatewayMessage: String?
    get() = fields.gatewayMessage

/** The gateway's own error code. */
val PesakitException.gatewayCode: String?
    get() = fields.gatewayCode

/** The raw body of the gateway's answer (never one carrying tokens). */
val PesakitException.body: String?
    get() = fields.body

/** How long the gateway asked to wait, in milliseconds. */
val PesakitException.retryAfterMs: ULong?
    get() = fields.retryAfterMs

/** For money calls, the idempotency key to retry with when the outcome is unknown. */
val PesakitException.idempotencyKey: String?
    get() = fields.idempotencyKey

/** The gateway's complaints per input field (HTTP 422); empty otherwise. */
val PesakitException.fieldErrors: List<FieldError>
    get() = fields.fieldErrors

private class Fields(
    val kind: ErrorKind,
    val summary: String,
    val status: UShort?,
    val gatewayMessage: String?,
    val gatewayCode: String?,
    val body: String?,
    val retryAfterMs: ULong?,
    val idempotencyKey: String?,
    val fieldErrors: List<FieldError>,
)

private val PesakitException.fields: Fields
    get() = when (this) {
        is PesakitException.Authentication -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Permission -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Validation -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.NotFound -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.RateLimited -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Gateway -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Network -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Timeout -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Decode -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Configuration -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.WebhookSignature -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.TokenStore -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
        is PesakitException.Internal -> Fields(kind, summary, status, gatewayMessage, gatewayCode, body, retryAfterMs, idempotencyKey, fieldErrors)
    }
