//! `PesakitError`: the one error of every language, with a variant per kind.

use pesakit::ErrorKind as CoreKind;

/// What went wrong, in a form a program can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ErrorKind {
    /// Credentials or token refused (HTTP 401), or no token could be obtained.
    Authentication,
    /// Not allowed (HTTP 403).
    Permission,
    /// Input refused, before sending or by the gateway (HTTP 400/409/422).
    Validation,
    /// Unknown to the gateway (HTTP 404).
    NotFound,
    /// Slow down (HTTP 429); see `retry_after_ms`.
    RateLimited,
    /// The gateway or a proxy failed (HTTP 5xx).
    Gateway,
    /// The connection failed or was lost.
    Network,
    /// No answer in time.
    Timeout,
    /// The answer could not be read.
    Decode,
    /// The client was configured wrongly.
    Configuration,
    /// A webhook signature is missing, malformed or wrong.
    WebhookSignature,
    /// The token store failed.
    TokenStore,
    /// A fault inside pesakit or at the language boundary.
    Internal,
}

/// Everything a `PesakitError` carries besides its kind.
#[derive(Default)]
struct Fields {
    summary: String,
    status: Option<u16>,
    gateway_message: Option<String>,
    gateway_code: Option<String>,
    body: Option<String>,
    retry_after_ms: Option<u64>,
    idempotency_key: Option<String>,
    field_errors: Vec<FieldError>,
}

/// A gateway's complaint about one input field.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldError {
    /// The field, as the gateway names it.
    pub field: String,
    /// What is wrong with it.
    pub messages: Vec<String>,
}

macro_rules! pesakit_error {
    ($($(#[$doc:meta])* $variant:ident),* $(,)?) => {
        /// The error of every pesakit call. One variant per [`ErrorKind`], each carrying
        /// the same fields. Printing it gives `summary`, a sentence a person
        /// understands; `status`, `gateway_message`, `gateway_code` and `body` describe
        /// the gateway's answer where there was one.
        #[derive(Debug, Clone, PartialEq, uniffi::Error)]
        pub enum PesakitError {
            $(
                $(#[$doc])*
                $variant {
                    /// The kind, the same as the variant.
                    kind: ErrorKind,
                    /// What happened, as a sentence.
                    summary: String,
                    /// The HTTP status of the gateway's answer.
                    status: Option<u16>,
                    /// The gateway's own message.
                    gateway_message: Option<String>,
                    /// The gateway's own error code.
                    gateway_code: Option<String>,
                    /// The raw body of the gateway's answer (never one carrying tokens).
                    body: Option<String>,
                    /// How long the gateway asked to wait, in milliseconds.
                    retry_after_ms: Option<u64>,
                    /// For money calls, the idempotency key to retry with when the outcome
                    /// is unknown.
                    idempotency_key: Option<String>,
                    /// The gateway's complaints per input field (HTTP 422).
                    field_errors: Vec<FieldError>,
                },
            )*
        }

        impl PesakitError {
            fn build(kind: ErrorKind, fields: Fields) -> Self {
                let Fields { summary, status, gateway_message, gateway_code, body, retry_after_ms, idempotency_key, field_errors } = fields;
                match kind {
                    $(ErrorKind::$variant => PesakitError::$variant {
                        kind, summary, status, gateway_message, gateway_code, body, retry_after_ms, idempotency_key, field_errors,
                    },)*
                }
            }

            /// The sentence describing the error.
            pub fn summary(&self) -> &str {
                match self {
                    $(PesakitError::$variant { summary, .. } => summary,)*
                }
            }

            /// The kind of the error.
            pub fn kind(&self) -> ErrorKind {
                match self {
                    $(PesakitError::$variant { kind, .. } => *kind,)*
                }
            }
        }
    };
}

pesakit_error! {
    /// Credentials or token refused, or no token could be obtained.
    Authentication,
    /// Not allowed.
    Permission,
    /// Input refused.
    Validation,
    /// Unknown to the gateway.
    NotFound,
    /// Slow down.
    RateLimited,
    /// The gateway or a proxy failed.
    Gateway,
    /// The connection failed or was lost.
    Network,
    /// No answer in time.
    Timeout,
    /// The answer could not be read.
    Decode,
    /// The client was configured wrongly.
    Configuration,
    /// A webhook signature is missing, malformed or wrong.
    WebhookSignature,
    /// The token store failed.
    TokenStore,
    /// A fault inside pesakit or at the language boundary.
    Internal,
}

impl PesakitError {
    pub(crate) fn simple(kind: ErrorKind, summary: String) -> Self {
        PesakitError::build(
            kind,
            Fields {
                summary,
                ..Fields::default()
            },
        )
    }

    pub(crate) fn internal(summary: String) -> Self {
        PesakitError::simple(ErrorKind::Internal, summary)
    }

    pub(crate) fn validation(summary: String) -> Self {
        PesakitError::simple(ErrorKind::Validation, summary)
    }
}

impl std::fmt::Display for PesakitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.summary())
    }
}

impl std::error::Error for PesakitError {}

fn kind_of(kind: CoreKind) -> ErrorKind {
    match kind {
        CoreKind::Authentication => ErrorKind::Authentication,
        CoreKind::Permission => ErrorKind::Permission,
        CoreKind::Validation => ErrorKind::Validation,
        CoreKind::NotFound => ErrorKind::NotFound,
        CoreKind::RateLimited => ErrorKind::RateLimited,
        CoreKind::Gateway => ErrorKind::Gateway,
        CoreKind::Network => ErrorKind::Network,
        CoreKind::Timeout => ErrorKind::Timeout,
        CoreKind::Decode => ErrorKind::Decode,
        CoreKind::Configuration => ErrorKind::Configuration,
        CoreKind::WebhookSignature => ErrorKind::WebhookSignature,
        CoreKind::TokenStore => ErrorKind::TokenStore,
        _ => ErrorKind::Internal,
    }
}

impl From<pesakit::Error> for PesakitError {
    fn from(e: pesakit::Error) -> Self {
        PesakitError::build(
            kind_of(e.kind()),
            Fields {
                summary: e.to_string(),
                status: e.status(),
                gateway_message: e.gateway_message().map(str::to_owned),
                gateway_code: e.gateway_code().map(str::to_owned),
                body: e.body().map(str::to_owned),
                retry_after_ms: e
                    .retry_after()
                    .map(|d| d.as_millis().min(u64::MAX as u128) as u64),
                idempotency_key: e.idempotency_key().map(str::to_owned),
                field_errors: e
                    .field_errors()
                    .iter()
                    .map(|f| FieldError {
                        field: f.field.clone(),
                        messages: f.messages.clone(),
                    })
                    .collect(),
            },
        )
    }
}

/// A foreign `TokenStore` or `Logger` that threw something other than a
/// `PesakitError`.
impl From<uniffi::UnexpectedUniFFICallbackError> for PesakitError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PesakitError::simple(
            ErrorKind::TokenStore,
            // The reason may be a whole stack trace: its first line names the exception.
            format!(
                "a callback implemented in the host language failed: {}",
                e.reason.lines().next().unwrap_or("").trim()
            ),
        )
    }
}

/// Back into the core's error, for errors raised by foreign `TokenStore`s.
impl From<PesakitError> for pesakit::Error {
    fn from(e: PesakitError) -> Self {
        let kind = match e.kind() {
            ErrorKind::TokenStore => CoreKind::TokenStore,
            ErrorKind::Authentication => CoreKind::Authentication,
            ErrorKind::Configuration => CoreKind::Configuration,
            ErrorKind::Validation => CoreKind::Validation,
            _ => CoreKind::TokenStore,
        };
        pesakit::Error::new(kind, e.summary().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_every_field() {
        let core = pesakit::Error::new(CoreKind::NotFound, "Paypack find: not found");
        let e = PesakitError::from(core);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(matches!(e, PesakitError::NotFound { .. }));
        assert_eq!(e.to_string(), "Paypack find: not found");
        let back =
            pesakit::Error::from(PesakitError::simple(ErrorKind::TokenStore, "locked".into()));
        assert_eq!(back.kind(), CoreKind::TokenStore);
        assert_eq!(back.to_string(), "locked");
    }
}
