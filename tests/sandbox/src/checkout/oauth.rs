//! `POST /oauth/token` (RFC 6749, as Laravel Passport / league/oauth2-server answer it):
//! the `password` and `refresh_token` grants, with rotation on refresh.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::state::IssuedPair;
use super::Checkout;

/// An RFC 6749 §5.2 error answer, with Passport's extra `hint` and `message`.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    hint: Option<String>,
    /// `WWW-Authenticate` scheme to challenge with (invalid_client with an
    /// `Authorization` header).
    challenge: Option<&'static str>,
}

impl OAuthError {
    fn invalid_request(parameter: &str) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: "The request is missing a required parameter, includes an invalid \
                          parameter value, includes a parameter more than once, or is \
                          otherwise malformed.",
            hint: Some(format!("Check the `{parameter}` parameter")),
            challenge: None,
        }
    }

    fn unsupported_grant_type() -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: "The authorization grant type is not supported by the \
                          authorization server.",
            hint: Some("Check that all required parameters have been provided".to_owned()),
            challenge: None,
        }
    }

    fn invalid_client(headers: &HeaderMap) -> Self {
        let challenge = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                if v.trim_start().starts_with("Basic") {
                    "Basic"
                } else {
                    "Bearer"
                }
            });
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "Client authentication failed",
            hint: None,
            challenge,
        }
    }

    fn invalid_grant(description: &'static str, hint: Option<&str>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description,
            hint: hint.map(str::to_owned),
            challenge: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.error,
            "error_description": self.description,
            "message": self.description,
        });
        if let Some(hint) = self.hint {
            body["hint"] = Value::String(hint);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(scheme) = self.challenge {
            let value = format!("{scheme} realm=\"OAuth\"");
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// The request's parameters: a form body (RFC 6749), or a JSON object as Laravel also
/// accepts. The first occurrence of a repeated parameter wins.
fn parameters(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let mut params = HashMap::new();
    if is_json {
        if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
            for (key, value) in map {
                let text = match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                params.insert(key, text);
            }
        }
    } else {
        for (key, value) in url::form_urlencoded::parse(body) {
            params
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
    }
    // Laravel turns empty strings into null: an empty parameter is a missing one.
    params.retain(|_, value| !value.trim().is_empty());
    params
}

/// `Authorization: Basic base64(id:secret)`, if present and well formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn issued(pair: IssuedPair) -> Response {
    let mut response = Json(json!({
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
    }))
    .into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `POST /oauth/token`.
pub(super) async fn token(
    State(checkout): State<Arc<Checkout>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match grant(&checkout, &headers, &body) {
        Ok(pair) => issued(pair),
        Err(error) => error.into_response(),
    }
}

fn grant(checkout: &Checkout, headers: &HeaderMap, body: &[u8]) -> Result<IssuedPair, OAuthError> {
    let params = parameters(headers, body);
    let grant_type = params.get("grant_type").map(String::as_str);
    if !matches!(grant_type, Some("password" | "refresh_token")) {
        return Err(OAuthError::unsupported_grant_type());
    }
    // Body parameters first, HTTP Basic as the fallback (league/oauth2-server's order).
    let basic = basic_credentials(headers);
    let client_id = params
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
        .ok_or_else(|| OAuthError::invalid_request("client_id"))?;
    let client_secret = params
        .get("client_secret")
        .cloned()
        .or_else(|| basic.as_ref().map(|(_, secret)| secret.clone()))
        .unwrap_or_default();
    let mut ledger = checkout.lock();
    if !ledger.check_oauth_client(&client_id, &client_secret) {
        return Err(OAuthError::invalid_client(headers));
    }
    let now = Timestamp::now();
    if grant_type == Some("password") {
        let username = params
            .get("username")
            .ok_or_else(|| OAuthError::invalid_request("username"))?;
        let password = params
            .get("password")
            .ok_or_else(|| OAuthError::invalid_request("password"))?;
        let user = ledger.check_user(username, password).ok_or_else(|| {
            OAuthError::invalid_grant("The user credentials were incorrect.", None)
        })?;
        Ok(ledger.issue_pair(user, &client_id, &checkout.jwt_key, now))
    } else {
        let refresh_token = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token"))?;
        ledger
            .refresh(refresh_token, &client_id, &checkout.jwt_key, now)
            .map_err(|e| OAuthError::invalid_grant(e.description, Some(e.hint)))
    }
}
