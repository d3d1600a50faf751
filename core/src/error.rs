use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// The result type of every fallible pesakit call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in a form a program can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The gateway refused the credentials or the token (HTTP 401), or a token could
    /// not be obtained.
    Authentication,
    /// The credentials are valid but not allowed to do this (HTTP 403).
    Permission,
    /// The input was refused, by pesakit before any request or by the gateway
    /// (HTTP 400/409/422).
    Validation,
    /// The gateway does not know the thing asked for (HTTP 404).
    NotFound,
    /// The gateway asked to slow down (HTTP 429); see [`Error::retry_after`].
    RateLimited,
    /// The gateway or a proxy in front of it failed (HTTP 5xx or an unexpected status).
    Gateway,
    /// The connection could not be made or was lost before an answer arrived.
    Network,
    /// No answer arrived within the configured time.
    Timeout,
    /// The answer arrived but could not be read (not JSON, truncated, wrong shape).
    Decode,
    /// The client was configured wrongly (missing credentials, refused URL, …).
    Configuration,
    /// A webhook's signature is missing, malformed or does not match its body.
    WebhookSignature,
    /// The [`TokenStore`](crate::TokenStore) failed to load, save or clear tokens.
    TokenStore,
}

impl ErrorKind {
    /// A stable lowercase name for the kind (`"authentication"`, `"not_found"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication",
            ErrorKind::Permission => "permission",
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Gateway => "gateway",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Decode => "decode",
            ErrorKind::Configuration => "configuration",
            ErrorKind::WebhookSignature => "webhook_signature",
            ErrorKind::TokenStore => "token_store",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one error type of pesakit.
///
/// It carries a [`kind`](Error::kind) to branch on, the HTTP status and the gateway's
/// own message and code where there was an answer, and the raw body (never for
/// answers that carry tokens). Its `Display` is a sentence a person understands, for
/// example: `Paypack find: not found (HTTP 404): transaction not found`.
///
/// No secret ever appears in an error: URLs are stripped from transport errors and
/// token-bearing bodies are not kept.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    gateway_message: Option<String>,
    gateway_code: Option<String>,
    body: Option<String>,
    retry_after: Option<Duration>,
    idempotency_key: Option<String>,
    field_errors: Vec<FieldError>,
    note: Option<String>,
    /// Set on failures that no retry can cure (a refused certificate).
    permanent: bool,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// A gateway's complaint about one input field (Laravel-style `errors` in a 422).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as the gateway names it (`amount`, `currencyCode`, …).
    pub field: String,
    /// What is wrong with it, one sentence per rule.
    pub messages: Vec<String>,
}

impl Error {
    /// A new error of `kind` whose text is `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                gateway_message: None,
                gateway_code: None,
                body: None,
                retry_after: None,
                idempotency_key: None,
                field_errors: Vec::new(),
                note: None,
                permanent: false,
                source: None,
            }),
        }
    }

    /// A validation error: input refused before anything was sent.
    pub fn validation(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Validation, message)
    }

    /// A configuration error.
    pub fn configuration(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Configuration, message)
    }

    /// An error a [`TokenStore`](crate::TokenStore) implementation returns when it
    /// cannot load, save or clear tokens.
    pub fn token_store(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::TokenStore, message)
    }

    pub(crate) fn webhook_signature(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::WebhookSignature, message)
    }

    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Decode, message)
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_gateway_message(mut self, message: Option<String>) -> Self {
        self.inner.gateway_message = message;
        self
    }

    pub(crate) fn with_gateway_code(mut self, code: Option<String>) -> Self {
        self.inner.gateway_code = code;
        self
    }

    pub(crate) fn with_body(mut self, body: Option<String>) -> Self {
        self.inner.body = body;
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }

    pub(crate) fn with_idempotency_key(mut self, key: &str) -> Self {
        self.inner.idempotency_key = Some(key.to_owned());
        self
    }

    pub(crate) fn with_field_errors(mut self, fields: Vec<FieldError>) -> Self {
        self.inner.field_errors = fields;
        self
    }

    /// Adds advice printed after everything else (what to do about the error).
    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.inner.note = Some(note.into());
        self
    }

    /// Marks a failure that no retry can cure.
    pub(crate) fn permanent(mut self) -> Self {
        self.inner.permanent = true;
        self
    }

    pub(crate) fn is_permanent(&self) -> bool {
        self.inner.permanent
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn prefixed(mut self, context: &str) -> Self {
        self.inner.message = format!("{context}: {}", self.inner.message);
        self
    }

    /// What went wrong, to branch on.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The sentence describing the error, without the gateway's message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status of the gateway's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The gateway's own message (`{"message": …}` and the like), when it sent one.
    pub fn gateway_message(&self) -> Option<&str> {
        self.inner.gateway_message.as_deref()
    }

    /// The gateway's own error code, when it sent one.
    pub fn gateway_code(&self) -> Option<&str> {
        self.inner.gateway_code.as_deref()
    }

    /// The raw body of the gateway's answer (at most 16 KiB), when there was one and it
    /// carried no token.
    pub fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }

    /// How long the gateway asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// For a money-moving call, the idempotency key it was sent with. When the outcome
    /// is unknown (timeout, lost connection, server error), send the same request again
    /// with this key: the gateway then returns the first transaction instead of
    /// creating a second one.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.inner.idempotency_key.as_deref()
    }

    /// The gateway's complaints per input field (HTTP 422), if it sent any.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.inner.field_errors
    }

    /// Whether trying the same call again later may succeed (rate limits, server errors,
    /// timeouts and lost connections).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::RateLimited | ErrorKind::Gateway | ErrorKind::Network | ErrorKind::Timeout
        )
    }

    /// Whether the gateway may have acted on the request although the call failed: a
    /// server error, a timeout or lost connection after the request was sent, or an
    /// answer that could not be read. For a call that moves money or creates something,
    /// look it up (or repeat it with the same idempotency key) before trying again.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Gateway | ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Decode
        )
    }

    /// Adds `note` (advice on finding out what happened) when the outcome is unknown.
    pub(crate) fn note_if_outcome_unknown(self, note: impl FnOnce() -> String) -> Self {
        if self.outcome_unknown() {
            self.with_note(note())
        } else {
            self
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(status) = self.inner.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(message) = &self.inner.gateway_message {
            write!(f, ": {message}")?;
        }
        for field in &self.inner.field_errors {
            write!(f, "; {}: {}", field.field, field.messages.join(" "))?;
        }
        if let Some(key) = &self.inner.idempotency_key {
            if self.outcome_unknown() {
                write!(
                    f,
                    "; the outcome is unknown: retry with idempotency key {key} or look the transaction up"
                )?;
            }
        }
        if let Some(note) = &self.inner.note {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(status) = self.inner.status {
            d.field("status", &status);
        }
        if let Some(m) = &self.inner.gateway_message {
            d.field("gateway_message", m);
        }
        if let Some(c) = &self.inner.gateway_code {
            d.field("gateway_code", c);
        }
        if let Some(r) = &self.inner.retry_after {
            d.field("retry_after", r);
        }
        if let Some(k) = &self.inner.idempotency_key {
            d.field("idempotency_key", k);
        }
        if !self.inner.field_errors.is_empty() {
            d.field("field_errors", &self.inner.field_errors);
        }
        if let Some(n) = &self.inner.note {
            d.field("note", n);
        }
        if let Some(b) = &self.inner.body {
            d.field("body", b);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_sentence_with_status_and_gateway_message() {
        let e = Error::new(ErrorKind::NotFound, "Paypack find: not found")
            .with_status(404)
            .with_gateway_message(Some("transaction not found".into()));
        assert_eq!(
            e.to_string(),
            "Paypack find: not found (HTTP 404): transaction not found"
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.is_transient());
    }

    #[test]
    fn unknown_outcome_names_the_idempotency_key() {
        let e =
            Error::new(ErrorKind::Timeout, "Paypack cash-in: no answer").with_idempotency_key("k1");
        assert!(e.to_string().contains("retry with idempotency key k1"));
        let v = Error::validation("bad").with_idempotency_key("k1");
        assert_eq!(v.to_string(), "bad");
        // An unreadable answer to a money call: the gateway acted, the result is unknown.
        let d = Error::decode("Paypack cash-in: the answer was empty").with_idempotency_key("k2");
        assert!(d.outcome_unknown());
        assert!(d.to_string().contains("retry with idempotency key k2"));
        // A rate limit means the gateway did not act.
        let r = Error::new(ErrorKind::RateLimited, "slow down").with_idempotency_key("k3");
        assert!(!r.outcome_unknown());
        assert!(!r.to_string().contains("k3"));
    }

    #[test]
    fn kinds_have_stable_names() {
        assert_eq!(ErrorKind::WebhookSignature.as_str(), "webhook_signature");
        assert_eq!(ErrorKind::NotFound.to_string(), "not_found");
    }
}
