//! The HTTP transport every gateway client shares: one connection pool per client,
//! the retry policy, and the translation of answers into [`Error`]s.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::Method;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::log::{LogLevel, LogSink};

/// How requests are retried.
///
/// Only requests that are safe to repeat are retried: reads (`GET`), and money-moving
/// requests that carry an idempotency key the gateway honours. A request is retried on
/// a failed connection (it never reached the gateway), a timeout or a lost connection
/// (safe requests only), HTTP 429 (honouring `Retry-After`), 502, 503 and 504. Waits grow
/// exponentially from `initial_backoff`, capped at `max_backoff`, with random jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request may be repeated after the first try (0 = never).
    pub max_retries: u32,
    /// The wait before the first retry.
    pub initial_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// The longest `Retry-After` that is waited out; a longer one ends the retries and
    /// the rate-limit error is returned with its `retry_after`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (0-based): a random point in the upper half
    /// of the capped exponential step.
    fn backoff(&self, retry: u32) -> Duration {
        let step = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let half = step / 2;
        half + step.saturating_sub(half).mul_f64(fastrand::f64())
    }
}

/// Whether a request may be sent more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Safe to repeat: a read, or a money call carrying an idempotency key.
    Safe,
    /// Repeated only when it certainly did not reach the gateway.
    OnlyIfNotSent,
}

/// One request, described once and sent as many times as the policy allows.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    /// The path below the base URL, already percent-encoded.
    pub(crate) path: String,
    /// What logs and errors show instead of the path (no secret in it).
    pub(crate) label: Cow<'static, str>,
    /// The operation, for error sentences ("cash-in", "find", …).
    pub(crate) operation: &'static str,
    pub(crate) query: Vec<(&'a str, String)>,
    pub(crate) body: Option<Bytes>,
    pub(crate) headers: HeaderMap,
    pub(crate) bearer: Option<crate::secret::Secret>,
    pub(crate) repeat: Repeat,
    /// The answer carries tokens: never keep its body in an error.
    pub(crate) sensitive: bool,
    pub(crate) idempotency_key: Option<&'a str>,
    /// The body is form-encoded rather than JSON.
    pub(crate) form: bool,
    /// HTTP Basic credentials (OAuth client authentication).
    pub(crate) basic: Option<(String, crate::secret::Secret)>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        method: Method,
        path: String,
        label: impl Into<Cow<'static, str>>,
        operation: &'static str,
    ) -> Self {
        let repeat = if method == Method::GET {
            Repeat::Safe
        } else {
            Repeat::OnlyIfNotSent
        };
        Call {
            method,
            path,
            label: label.into(),
            operation,
            query: Vec::new(),
            body: None,
            headers: HeaderMap::new(),
            bearer: None,
            repeat,
            sensitive: false,
            idempotency_key: None,
            form: false,
            basic: None,
        }
    }

    pub(crate) fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(Bytes::from(
            serde_json::to_vec(body).expect("a JSON value always serialises"),
        ));
        self
    }

    /// An `application/x-www-form-urlencoded` body (OAuth token requests).
    pub(crate) fn form(mut self, fields: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.body = Some(Bytes::from(body));
        self.form = true;
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::validation(format!("{value:?} cannot be sent in the {name} header"))
        })?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    pub(crate) fn query(mut self, name: &'a str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((name, v.to_string()));
        }
        self
    }
}

/// A successful (2xx) answer.
pub(crate) struct Answer {
    pub(crate) body: Bytes,
}

/// One gateway's HTTP transport: base URL, pooled client, retry policy, log sink.
pub(crate) struct Transport {
    gateway: &'static str,
    base: String,
    /// `base` parsed once: each request copies it and sets its path, so that the
    /// scheme, host and port are not parsed again on every call.
    base_url: Url,
    /// `base_url`'s path without its trailing slash; each call's path goes after it.
    base_path: String,
    http: reqwest::Client,
    retry: RetryPolicy,
    request_timeout: Duration,
    log: LogSink,
}

/// Settings the transport is built from.
pub(crate) struct TransportConfig {
    pub(crate) gateway: &'static str,
    pub(crate) base_url: String,
    pub(crate) allow_insecure_loopback: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) log: LogSink,
}

/// Checks a base URL: https, or http to a loopback address when explicitly allowed.
/// Returns it without a trailing slash. Error messages show the URL with any
/// credentials (`user:password@`) replaced by `[redacted]`.
pub(crate) fn check_base_url(
    gateway: &str,
    raw: &str,
    allow_insecure_loopback: bool,
) -> Result<String> {
    let url = parse_base_url(gateway, raw, allow_insecure_loopback)?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// [`check_base_url`]'s checks, returning the parsed URL.
fn parse_base_url(gateway: &str, raw: &str, allow_insecure_loopback: bool) -> Result<Url> {
    let url = Url::parse(raw.trim());
    // What messages show: the URL without its credentials.
    let raw = redact_userinfo(raw);
    let url = url.map_err(|e| {
        Error::configuration(format!(
            "{gateway} base URL {raw:?} is not a valid URL: {e}"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::configuration(format!(
            "{gateway} base URL must not carry credentials"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::configuration(format!(
            "{gateway} base URL {raw:?} must not carry a query or fragment"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback {
                return Err(Error::configuration(format!(
                    "{gateway} base URL {raw:?} uses plain http://; only https:// is allowed (http:// is accepted for loopback addresses when allow_insecure_loopback is set)"
                )));
            }
            if !allow_insecure_loopback {
                return Err(Error::configuration(format!(
                    "{gateway} base URL {raw:?} uses plain http:// to a loopback address; call allow_insecure_loopback(true) to permit it (for the emulator and local tests)"
                )));
            }
        }
        other => {
            return Err(Error::configuration(format!(
                "{gateway} base URL {raw:?} has unsupported scheme {other:?}; use https://"
            )))
        }
    }
    Ok(url)
}

impl Transport {
    pub(crate) fn new(config: TransportConfig) -> Result<Self> {
        let base_url = parse_base_url(
            config.gateway,
            &config.base_url,
            config.allow_insecure_loopback,
        )?;
        let base = base_url.as_str().trim_end_matches('/').to_owned();
        let base_path = base_url.path().trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!config.allow_insecure_loopback)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| {
                Error::configuration("the HTTP client could not be built")
                    .with_source(e.without_url())
            })?;
        Ok(Transport {
            gateway: config.gateway,
            base,
            base_url,
            base_path,
            http,
            retry: config.retry,
            request_timeout: config.request_timeout,
            log: config.log,
        })
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn log(&self) -> &LogSink {
        &self.log
    }

    /// Sends `call`, retrying as the policy and `call.repeat` allow. Returns the body of
    /// a 2xx answer, or the error the last try ended with.
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Answer> {
        let mut retries = 0u32;
        loop {
            let started = Instant::now();
            let outcome = self.send_once(call).await;
            let elapsed = started.elapsed();
            let attempt = retries + 1;
            let (error, sent) = match outcome {
                Ok(answer) => {
                    self.log.log(LogLevel::Debug, || {
                        format!(
                            "{} {} {} -> ok in {} ms (attempt {attempt})",
                            self.gateway,
                            call.method,
                            call.label,
                            elapsed.as_millis()
                        )
                    });
                    return Ok(answer);
                }
                Err(failure) => failure,
            };
            self.log.log(LogLevel::Debug, || {
                format!(
                    "{} {} {} -> {} in {} ms (attempt {attempt})",
                    self.gateway,
                    call.method,
                    call.label,
                    error
                        .status()
                        .map_or_else(|| error.kind().to_string(), |s| s.to_string()),
                    elapsed.as_millis()
                )
            });
            let wait = self.retry_wait(call, &error, sent, retries);
            let error = match call.idempotency_key {
                Some(key) => error.with_idempotency_key(key),
                None => error,
            };
            match wait {
                Some(wait) => {
                    self.log.log(LogLevel::Warn, || {
                        format!(
                            "{} {} {} failed ({}); retrying in {} ms",
                            self.gateway,
                            call.method,
                            call.label,
                            error.kind(),
                            wait.as_millis()
                        )
                    });
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                None => return Err(error),
            }
        }
    }

    /// How long to wait before trying `call` again after `error`, or `None` to stop.
    fn retry_wait(
        &self,
        call: &Call<'_>,
        error: &Error,
        sent: bool,
        retries: u32,
    ) -> Option<Duration> {
        if retries >= self.retry.max_retries || error.is_permanent() {
            return None;
        }
        let safe = call.repeat == Repeat::Safe;
        let retryable = match (error.kind(), error.status()) {
            // Never reached the gateway: always safe to try again.
            (ErrorKind::Network, None) if !sent => true,
            (ErrorKind::Network | ErrorKind::Timeout, None) => safe,
            (ErrorKind::RateLimited, Some(429)) => true,
            (_, Some(502..=504)) => safe,
            _ => false,
        };
        if !retryable {
            return None;
        }
        match error.retry_after() {
            Some(after) if after > self.retry.max_retry_after => None,
            Some(after) => Some(after),
            None => Some(self.retry.backoff(retries)),
        }
    }

    /// One try. On failure, also says whether the request may have reached the gateway.
    async fn send_once(&self, call: &Call<'_>) -> std::result::Result<Answer, (Error, bool)> {
        let url = self.url(&call.path);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .headers(call.headers.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(token) = &call.bearer {
            request = request.bearer_auth(token.expose());
        }
        if let Some((user, password)) = &call.basic {
            request = request.basic_auth(user, Some(password.expose()));
        }
        if let Some(body) = &call.body {
            let content_type = if call.form {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let sent = !e.is_connect();
                return Err((self.transport_error(call, e), sent));
            }
        };
        let status = response.status();
        // Headers are only read from failed answers (Retry-After, an HTML error page).
        let failure_headers = (!status.is_success()).then(|| response.headers().clone());
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err((self.transport_error(call, e), true)),
        };
        match failure_headers {
            None => Ok(Answer { body }),
            Some(headers) => Err((
                failed_answer(
                    &self.what(call),
                    status.as_u16(),
                    &headers,
                    &body,
                    call.sensitive,
                ),
                true,
            )),
        }
    }

    fn what(&self, call: &Call<'_>) -> String {
        format!("{} {}", self.gateway, call.operation)
    }

    fn transport_error(&self, call: &Call<'_>, e: reqwest::Error) -> Error {
        let what = self.what(call);
        let (kind, text) = if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!(
                    "{what}: no complete answer within {} ms",
                    self.request_timeout.as_millis()
                ),
            )
        } else if let Some(tls) = tls_failure(&e) {
            // A certificate the client does not trust stays untrusted: never retried.
            let text = format!(
                "{what}: the TLS handshake with {} failed ({tls}); no request was sent",
                self.host()
            );
            return Error::new(ErrorKind::Network, text)
                .permanent()
                .with_source(e.without_url());
        } else if e.is_connect() {
            (
                ErrorKind::Network,
                format!("{what}: could not connect to {}", self.host()),
            )
        } else {
            (
                ErrorKind::Network,
                format!("{what}: the connection was lost before a complete answer arrived"),
            )
        };
        // Strip the URL: a refresh path carries a token.
        Error::new(kind, text).with_source(e.without_url())
    }

    /// The URL of `path` (already percent-encoded, starting with `/`) below the base
    /// URL: the same URL as parsing the base URL followed by `path`, without parsing the
    /// scheme and host again.
    fn url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let mut full = String::with_capacity(self.base_path.len() + path.len());
        full.push_str(&self.base_path);
        full.push_str(path);
        url.set_path(&full);
        url
    }

    fn host(&self) -> String {
        self.base_url
            .host_str()
            .map_or_else(|| "the gateway".to_owned(), str::to_owned)
    }
}

/// The error a non-2xx answer becomes: [`status_error`] plus the `Retry-After` wait.
/// HTML is recognised from the `Content-Type` header as well as from the body.
pub(crate) fn failed_answer(
    what: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    sensitive: bool,
) -> Error {
    let retry_after = headers.get(RETRY_AFTER).and_then(parse_retry_after);
    let is_html = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"));
    status_error(what, status, body, is_html, sensitive).with_retry_after(retry_after)
}

/// Translates a non-2xx answer into an [`Error`]: the kind from the status, the
/// gateway's message, code and field errors from a JSON body, and the raw body unless
/// the answer may carry tokens (`sensitive`). `what` names the gateway and operation.
pub(crate) fn status_error(
    what: &str,
    code: u16,
    body: &[u8],
    is_html: bool,
    sensitive: bool,
) -> Error {
    let (kind, phrase) = match code {
        401 => (ErrorKind::Authentication, "authentication failed"),
        403 => (ErrorKind::Permission, "permission denied"),
        404 => (ErrorKind::NotFound, "not found"),
        400 | 409 | 422 => (ErrorKind::Validation, "the request was refused as invalid"),
        429 => (ErrorKind::RateLimited, "rate limited"),
        500..=599 => (ErrorKind::Gateway, "the gateway failed"),
        _ => (ErrorKind::Gateway, "unexpected answer"),
    };
    let trimmed = trim_ascii(body);
    let mut text = format!("{what}: {phrase}");
    let mut field_errors = Vec::new();
    let (message, gateway_code) = if trimmed.is_empty() {
        text.push_str(" with an empty body");
        (None, None)
    } else if is_html || trimmed.first() == Some(&b'<') {
        text.push_str(" with an HTML page instead of JSON (often a proxy or maintenance page)");
        (None, None)
    } else {
        match serde_json::from_slice::<serde_json::Value>(trimmed) {
            Ok(v) => {
                field_errors = laravel_field_errors(&v);
                gateway_fields(&v)
            }
            Err(_) => {
                text.push_str(" with a body that is not JSON");
                (None, None)
            }
        }
    };
    Error::new(kind, text)
        .with_status(code)
        .with_gateway_message(message)
        .with_gateway_code(gateway_code)
        .with_field_errors(field_errors)
        .with_body(if sensitive { None } else { raw_body(body) })
}

/// `raw` (trimmed) with any `user:password@` of its authority replaced by
/// `[redacted]@`, for error messages; works on text that is not a valid URL too.
fn redact_userinfo(raw: &str) -> String {
    let raw = raw.trim();
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}[redacted]@{}", &rest[at + 1..]),
        None => raw.to_owned(),
    }
}

/// Percent-encodes one path segment: everything but letters, digits, `-`, `.`, `_` and
/// `~`. A value that is only `.` or `..` is refused: URLs treat it (even encoded) as a
/// relative path step, which would send the request to another resource.
pub(crate) fn segment(value: &str) -> Result<String> {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    if value == "." || value == ".." {
        return Err(Error::validation(format!(
            "{value:?} cannot be sent as part of a URL path"
        )));
    }
    Ok(percent_encoding::utf8_percent_encode(value, SEGMENT).to_string())
}

/// The body kept in an error: UTF-8 (lossy), at most 16 KiB.
pub(crate) fn raw_body(body: &[u8]) -> Option<String> {
    const LIMIT: usize = 16 * 1024;
    if body.is_empty() {
        return None;
    }
    let cut = &body[..body.len().min(LIMIT)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if body.len() > LIMIT {
        text.push_str("…[truncated]");
    }
    Some(text)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// The gateway's message and code from a JSON error body, whatever the gateway calls
/// them.
fn gateway_fields(v: &serde_json::Value) -> (Option<String>, Option<String>) {
    let text = |key: &str| -> Option<String> {
        match v.get(key)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let message = text("message")
        .or_else(|| text("error_description"))
        .or_else(|| text("errorMessage"))
        .or_else(|| text("error"));
    let code = text("code").or_else(|| text("errorCode")).or_else(|| {
        // An OAuth-style `error` next to a description is a code.
        text("error_description").and(text("error"))
    });
    (message, code)
}

/// Per-field messages of a Laravel-style `{"errors": {"field": ["…"]}}` body.
fn laravel_field_errors(v: &serde_json::Value) -> Vec<crate::error::FieldError> {
    let Some(errors) = v.get("errors").and_then(serde_json::Value::as_object) else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|(field, messages)| crate::error::FieldError {
            field: field.clone(),
            messages: match messages {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .collect(),
                serde_json::Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            },
        })
        .collect()
}

/// The TLS failure behind a transport error, if there is one (a refused certificate,
/// a handshake the server broke off), found by walking the error's sources.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // An `io::Error` wrapping another error reports that error's source, not the
        // error itself: step into it explicitly.
        source = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &HeaderValue) -> Option<Duration> {
    let s = v.to_str().ok()?.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = jiff::fmt::rfc2822::parse(s).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Decodes a 2xx body into `T`, turning failures into decode errors that keep the
/// body (unless `sensitive`).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    body: &[u8],
    sensitive: bool,
) -> Result<T> {
    let trimmed = trim_ascii(body);
    let problem = if trimmed.is_empty() {
        "the answer was empty".to_owned()
    } else if trimmed.first() == Some(&b'<') {
        "the answer was an HTML page instead of JSON".to_owned()
    } else {
        match serde_json::from_slice::<T>(trimmed) {
            Ok(v) => return Ok(v),
            Err(e) if e.is_eof() => "the answer was cut short (truncated JSON)".to_owned(),
            Err(e) if e.is_syntax() => format!("the answer is not valid JSON ({e})"),
            // serde quotes the offending value, which in a token answer may be a token.
            Err(e) if sensitive => format!(
                "the answer does not have the expected shape (at line {} column {})",
                e.line(),
                e.column()
            ),
            Err(e) => format!("the answer does not have the expected shape ({e})"),
        }
    };
    Err(
        Error::decode(format!("{what}: {problem}")).with_body(if sensitive {
            None
        } else {
            raw_body(body)
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_never_become_path_steps() {
        assert_eq!(segment(".").unwrap_err().kind(), ErrorKind::Validation);
        assert_eq!(segment("..").unwrap_err().kind(), ErrorKind::Validation);
        assert_eq!(segment("a/b c").unwrap(), "a%2Fb%20c");
        assert_eq!(segment("ref-1_x~.5").unwrap(), "ref-1_x~.5");
        assert_eq!(segment("...").unwrap(), "...");
    }

    #[test]
    fn base_url_policy() {
        assert_eq!(
            check_base_url("P", "https://payments.paypack.rw/api/", false).unwrap(),
            "https://payments.paypack.rw/api"
        );
        let e = check_base_url("P", "http://example.com/api", true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(check_base_url("P", "http://127.0.0.1:9/api", false).is_err());
        assert!(check_base_url("P", "http://127.0.0.1:9/api", true).is_ok());
        assert!(check_base_url("P", "http://[::1]:9/api", true).is_ok());
        assert!(check_base_url("P", "http://localhost:9", true).is_ok());
        assert!(check_base_url("P", "ftp://127.0.0.1", true).is_err());
        assert!(check_base_url("P", "not a url", true).is_err());
        assert!(check_base_url("P", "https://user:pw@example.com", true).is_err());
        for raw in [
            "https://user:hunter2@example.com/api?x=1",
            "http://user:hunter2@example.com/api",
            "https://user:hunter2@exa mple.com/api",
            "https://hunter2@example.com",
        ] {
            let e = check_base_url("P", raw, false).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        assert_eq!(
            redact_userinfo(" https://u:p@h:1/a@b?c "),
            "https://[redacted]@h:1/a@b?c"
        );
        assert_eq!(redact_userinfo("https://h/a@b"), "https://h/a@b");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = p.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let late = p.backoff(30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("7")),
            Some(Duration::from_secs(7))
        );
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
    }

    #[test]
    fn decode_errors_say_what_was_wrong() {
        let e = decode::<serde_json::Value>("x", b"", false).unwrap_err();
        assert!(e.to_string().contains("empty"));
        let e = decode::<serde_json::Value>("x", b"<html>502</html>", false).unwrap_err();
        assert!(e.to_string().contains("HTML"));
        let e = decode::<serde_json::Value>("x", b"{\"ref\": \"a", false).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        assert_eq!(e.body(), Some("{\"ref\": \"a"));
        let e = decode::<serde_json::Value>("x", b"{\"access\": \"tok", true).unwrap_err();
        assert_eq!(e.body(), None);
        #[derive(serde::Deserialize, Debug)]
        struct Tokens {
            #[allow(dead_code)]
            access: u64,
        }
        let e = decode::<Tokens>("x", b"{\"access\": \"tok-hunter2\"}", true).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
        let e = decode::<Tokens>("x", b"{\"access\": \"not-secret\"}", false).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn gateway_fields_cover_known_shapes() {
        let (m, c) =
            gateway_fields(&serde_json::json!({"message": "invalid token", "status": 401}));
        assert_eq!(m.as_deref(), Some("invalid token"));
        assert_eq!(c, None);
        let (m, c) = gateway_fields(
            &serde_json::json!({"error": "invalid_grant", "error_description": "expired"}),
        );
        assert_eq!(m.as_deref(), Some("expired"));
        assert_eq!(c.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn request_urls_equal_parsing_the_base_and_path_together() {
        let bases = [
            "https://payments.paypack.rw/api",
            "https://payments.paypack.rw/api/",
            "https://Payments.Paypack.RW:8443/a%20b/c/",
            "https://xn--mller-kva.example/",
            "http://127.0.0.1:18080/paypack/api",
            "http://[::1]:9",
            "http://localhost",
        ];
        let paths = [
            "/transactions/find/ref-1_x~.5",
            "/transactions/find/a%2Fb%20c",
            "/transactions/find/...",
            "/events/transactions",
            "/",
            "/a/%C3%A9%F0%9F%98%80",
        ];
        for base in bases {
            let transport = Transport::new(TransportConfig {
                gateway: "P",
                base_url: base.to_owned(),
                allow_insecure_loopback: true,
                connect_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(1),
                retry: RetryPolicy::default(),
                log: LogSink::new(None),
            })
            .unwrap();
            for path in paths {
                let parsed = Url::parse(&format!("{}{path}", transport.base_url())).unwrap();
                assert_eq!(transport.url(path), parsed, "{base} + {path}");
            }
        }
    }
}
