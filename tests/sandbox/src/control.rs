//! What every gateway shares: the request log, the fault queue, the middleware that
//! records requests and applies faults, and the gateway-independent `/_sandbox` routes.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{self, parse_json, ApiError};
use crate::server::ConnAbort;

/// How many requests the log keeps; older ones are forgotten first.
pub(crate) const REQUEST_LOG_CAPACITY: usize = 10_000;

/// Largest request body the gateways read.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request as the gateway received it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LoggedRequest {
    /// Arrival order, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers; repeated headers are joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// Body, decoded as lossy UTF-8.
    pub body: String,
    /// Status answered, `None` while in flight or when the connection was dropped.
    pub status: Option<u16>,
}

/// The kinds of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    /// Answer a given status with `{"message": "injected fault", "status": N}`.
    Status,
    /// Answer normally, late.
    Delay,
    /// Close the connection without running the handler.
    DropBefore,
    /// Run the handler, then close the connection without answering.
    DropAfter,
    /// Answer the handler's status with a truncated JSON body.
    MalformedJson,
    /// Answer an edge proxy's HTML error page.
    Html,
    /// Answer the handler's status with an empty body.
    Empty,
    /// Send the headers, then the body one byte at a time.
    SlowBody,
    /// Answer `status` (default 200) with the fault's own JSON `body`: a gateway answer
    /// the emulator would never give (unknown values, odd spellings, odd instants).
    Json,
}

impl FaultKind {
    fn runs_handler_by_default(self) -> bool {
        matches!(
            self,
            FaultKind::DropAfter
                | FaultKind::MalformedJson
                | FaultKind::Empty
                | FaultKind::SlowBody
        )
    }

    fn default_delay_ms(self) -> u64 {
        match self {
            FaultKind::Delay => 1000,
            FaultKind::SlowBody => 500,
            _ => 0,
        }
    }
}

/// A fault as posted to `POST /_sandbox/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    count: Option<u32>,
    kind: FaultKind,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    after_handler: Option<bool>,
    #[serde(default)]
    body: Option<serde_json::Value>,
}

/// A pending fault, with its defaults resolved.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Fault {
    id: u64,
    path: String,
    method: Option<String>,
    /// How many more matching requests this fault hits.
    count: u32,
    kind: FaultKind,
    status: Option<u16>,
    retry_after: Option<u64>,
    delay_ms: u64,
    after_handler: bool,
    /// The answer of a `json` fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        path.starts_with(&self.path)
            && self
                .method
                .as_deref()
                .map_or(true, |m| m.eq_ignore_ascii_case(method))
    }
}

#[derive(Debug, Default)]
struct ControlState {
    requests: VecDeque<LoggedRequest>,
    next_seq: u64,
    faults: Vec<Fault>,
    next_fault_id: u64,
}

/// The request log and the fault queue, shared by every gateway.
#[derive(Debug, Default)]
pub(crate) struct Control {
    state: Mutex<ControlState>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log_request(&self, parts: &axum::http::request::Parts, body: &[u8]) -> u64 {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        let mut state = self.lock();
        state.next_seq += 1;
        let seq = state.next_seq;
        if state.requests.len() >= REQUEST_LOG_CAPACITY {
            state.requests.pop_front();
        }
        state.requests.push_back(LoggedRequest {
            seq,
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
            status: None,
        });
        seq
    }

    fn set_status(&self, seq: u64, status: StatusCode) {
        let mut state = self.lock();
        if let Ok(index) = state.requests.binary_search_by_key(&seq, |r| r.seq) {
            state.requests[index].status = Some(status.as_u16());
        }
    }

    /// Takes one hit of the first pending fault matching the request, if any.
    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut state = self.lock();
        let index = state.faults.iter().position(|f| f.matches(method, path))?;
        let fault = &mut state.faults[index];
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            state.faults.remove(index);
        }
        Some(taken)
    }
}

/// Middleware in front of every gateway route: buffers and logs the request, then
/// applies the first matching fault, if any.
pub(crate) async fn gateway_layer(
    State(control): State<Arc<Control>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return ApiError::bad_request("could not read the request body").into_response(),
    };
    let seq = control.log_request(&parts, &body);
    let fault = control.take_fault(parts.method.as_str(), parts.uri.path());
    let abort = parts.extensions.get::<ConnAbort>().cloned();
    let request = Request::from_parts(parts, Body::from(body));
    let response = match fault {
        None => next.run(request).await,
        Some(fault) => apply_fault(fault, request, next, abort).await,
    };
    control.set_status(seq, response.status());
    response
}

async fn apply_fault(
    fault: Fault,
    request: Request,
    next: Next,
    abort: Option<ConnAbort>,
) -> Response {
    let delay = Duration::from_millis(fault.delay_ms);
    match fault.kind {
        FaultKind::Delay => {
            if fault.after_handler {
                let response = next.run(request).await;
                tokio::time::sleep(delay).await;
                response
            } else {
                tokio::time::sleep(delay).await;
                next.run(request).await
            }
        }
        FaultKind::Status | FaultKind::Html | FaultKind::Json => {
            if fault.after_handler {
                drop(next.run(request).await);
            }
            tokio::time::sleep(delay).await;
            match fault.kind {
                FaultKind::Status => {
                    injected_status(fault.status.unwrap_or(503), fault.retry_after)
                }
                FaultKind::Html => html_page(fault.status.unwrap_or(502), fault.retry_after),
                _ => (
                    status_code(fault.status.unwrap_or(200)),
                    Json(fault.body.unwrap_or(serde_json::Value::Null)),
                )
                    .into_response(),
            }
        }
        FaultKind::DropBefore | FaultKind::DropAfter => {
            if fault.after_handler {
                drop(next.run(request).await);
            }
            tokio::time::sleep(delay).await;
            match abort {
                Some(abort) => {
                    abort.abort();
                    // The connection task drops this future along with the socket.
                    std::future::pending().await
                }
                None => ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "this connection cannot be dropped",
                )
                .into_response(),
            }
        }
        FaultKind::MalformedJson | FaultKind::Empty | FaultKind::SlowBody => {
            let response = if fault.after_handler {
                next.run(request).await
            } else {
                injected_status(fault.status.unwrap_or(200), None)
            };
            let (mut parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            match fault.kind {
                FaultKind::MalformedJson => {
                    tokio::time::sleep(delay).await;
                    parts.headers.remove(CONTENT_LENGTH);
                    parts
                        .headers
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Response::from_parts(parts, Body::from(truncate_json(&body)))
                }
                FaultKind::Empty => {
                    tokio::time::sleep(delay).await;
                    parts.headers.remove(CONTENT_LENGTH);
                    Response::from_parts(parts, Body::empty())
                }
                _ => {
                    parts
                        .headers
                        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                    Response::from_parts(parts, slow_body(body, delay))
                }
            }
        }
    }
}

/// A proper prefix of a JSON object or array, which is never valid JSON.
fn truncate_json(body: &Bytes) -> Bytes {
    if body.len() < 2 {
        return Bytes::from_static(b"{\"");
    }
    body.slice(..body.len() / 2)
}

fn slow_body(body: Bytes, pace: Duration) -> Body {
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let body = body.clone();
        async move {
            if sent >= body.len() {
                return None;
            }
            tokio::time::sleep(pace).await;
            Some((Ok::<_, Infallible>(body.slice(sent..sent + 1)), sent + 1))
        }
    });
    Body::from_stream(stream)
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
    let mut response = (
        status_code(status),
        Json(json!({ "message": "injected fault", "status": status })),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn html_page(status: u16, retry_after: Option<u64>) -> Response {
    let code = status_code(status);
    let title = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
         <center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n\
         </body>\r\n</html>\r\n"
    );
    let mut response = (
        code,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=UTF-8"),
        )],
        page,
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The `/_sandbox` routes common to all gateways.
pub(crate) fn router(control: Arc<Control>) -> Router {
    Router::new()
        .route("/_sandbox/health", get(health))
        .route("/_sandbox/usage", get(usage))
        .route(
            "/_sandbox/requests",
            get(list_requests).delete(clear_requests),
        )
        .route(
            "/_sandbox/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sandbox/{*rest}", any(error::not_found))
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(control)
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "ok": true }))
}

/// The CPU time of the emulator's process so far (`crate::usage`); 501 where the platform
/// cannot tell.
async fn usage() -> Response {
    match crate::usage::process_cpu_time() {
        Some(cpu) => Json(json!({
            "cpu_user_us": cpu.user_us,
            "cpu_system_us": cpu.system_us,
        }))
        .into_response(),
        None => (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({"message": "this platform does not report CPU time"})),
        )
            .into_response(),
    }
}

async fn list_requests(State(control): State<Arc<Control>>) -> Json<Vec<LoggedRequest>> {
    Json(control.lock().requests.iter().cloned().collect())
}

async fn clear_requests(State(control): State<Arc<Control>>) -> Json<serde_json::Value> {
    let mut state = control.lock();
    let cleared = state.requests.len();
    state.requests.clear();
    Json(json!({ "cleared": cleared }))
}

async fn list_faults(State(control): State<Arc<Control>>) -> Json<Vec<Fault>> {
    Json(control.lock().faults.clone())
}

async fn clear_faults(State(control): State<Arc<Control>>) -> Json<serde_json::Value> {
    let mut state = control.lock();
    let cleared = state.faults.len();
    state.faults.clear();
    Json(json!({ "cleared": cleared }))
}

async fn add_fault(
    State(control): State<Arc<Control>>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let spec: FaultSpec = parse_json(&body, false)?;
    let count = spec.count.unwrap_or(1);
    if count == 0 {
        return Err(ApiError::bad_request("count must be at least 1"));
    }
    if let Some(status) = spec.status {
        if !(100..=599).contains(&status) {
            return Err(ApiError::bad_request("status must be between 100 and 599"));
        }
    }
    if (spec.kind == FaultKind::Json) != spec.body.is_some() {
        return Err(ApiError::bad_request(
            "a json fault needs a body, and only a json fault takes one",
        ));
    }
    let method = match spec.method {
        Some(method) if method.trim().is_empty() => None,
        Some(method) => Some(method.trim().to_ascii_uppercase()),
        None => None,
    };
    let mut state = control.lock();
    state.next_fault_id += 1;
    let id = state.next_fault_id;
    state.faults.push(Fault {
        id,
        path: spec.path.unwrap_or_else(|| "/".to_owned()),
        method,
        count,
        kind: spec.kind,
        status: spec.status,
        retry_after: spec.retry_after,
        delay_ms: spec.delay_ms.unwrap_or(spec.kind.default_delay_ms()),
        after_handler: spec
            .after_handler
            .unwrap_or(spec.kind.runs_handler_by_default()),
        body: spec.body,
    });
    Ok(Json(json!({ "id": id })))
}

/// Which tokens a control call acts on: the body `{"which": "access" | "refresh" | "all"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    /// Access tokens only.
    Access,
    /// Refresh tokens only.
    Refresh,
    /// Both.
    All,
}

impl Which {
    /// Reads the body. Unless `required`, an empty body or one without `which` means
    /// `access`.
    pub(crate) fn parse(body: &[u8], required: bool) -> Result<Which, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            #[serde(default)]
            which: Option<String>,
        }
        let body: Body = parse_json(body, !required)?;
        match body.which.as_deref() {
            None if required => Err(ApiError::bad_request("which is required")),
            None | Some("access") => Ok(Which::Access),
            Some("refresh") => Ok(Which::Refresh),
            Some("all") => Ok(Which::All),
            Some(_) => Err(ApiError::bad_request(
                "which must be \"access\", \"refresh\" or \"all\"",
            )),
        }
    }

    /// Whether access tokens are meant.
    pub(crate) fn access(self) -> bool {
        self != Which::Refresh
    }

    /// Whether refresh tokens are meant.
    pub(crate) fn refresh(self) -> bool {
        self != Which::Access
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_json_never_parses() {
        for body in [&b"{}"[..], b"{\"a\":1}", b"[1,2,3]", b"", b"{"] {
            let cut = truncate_json(&Bytes::copy_from_slice(body));
            assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
        }
    }

    #[test]
    fn faults_are_consumed_in_order() {
        let control = Control::default();
        {
            let mut state = control.lock();
            for (id, path) in [(1, "/paypack/api/transactions"), (2, "/paypack")] {
                state.faults.push(Fault {
                    id,
                    path: path.into(),
                    method: Some("POST".into()),
                    count: 1,
                    kind: FaultKind::Status,
                    status: None,
                    retry_after: None,
                    delay_ms: 0,
                    after_handler: false,
                    body: None,
                });
            }
        }
        assert!(control
            .take_fault("GET", "/paypack/api/transactions/list")
            .is_none());
        let first = control.take_fault("post", "/paypack/api/transactions/cashin");
        assert_eq!(first.map(|f| f.id), Some(1));
        let second = control.take_fault("POST", "/paypack/api/transactions/cashin");
        assert_eq!(second.map(|f| f.id), Some(2));
        assert!(control.take_fault("POST", "/paypack/api/x").is_none());
    }
}
