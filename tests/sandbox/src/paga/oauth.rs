//! `GET /paga-webservices/oauth2/authorization` (the user's approval, answered as a
//! redirect) and `POST /paga-webservices/oauth2/token` (the `authorization_code` and
//! `refresh_token` grants, HTTP Basic client authentication, parameters in the form
//! body or the query string).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::state::{Grant, Issued, KNOWN_SCOPES, KNOWN_USER_DATA};
use super::Paga;
use crate::DEFAULT_PAGA_USER;

/// The `limitMaximum` every token answer carries.
const LIMIT_MAXIMUM: u64 = 100_000;

/// Parameters of a query string or form body (`+` is a space); the first occurrence
/// of a repeated parameter wins, empty values count as missing.
fn parse_params(text: &[u8], into: &mut HashMap<String, String>) {
    for (key, value) in url::form_urlencoded::parse(text) {
        if value.trim().is_empty() {
            continue;
        }
        into.entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
}

/// Names separated by spaces or `+` (also when the `+` arrived percent-encoded),
/// deduplicated, in order.
fn names(text: Option<&String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in text
        .map(String::as_str)
        .unwrap_or("")
        .split(|c: char| c == '+' || c.is_whitespace())
    {
        if name.is_empty() {
            continue;
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// A 400 HTML page: the request cannot be redirected back to the client.
fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!DOCTYPE html><html><head><title>Paga Connect</title></head><body>\
             <h1>Authorization error</h1><p>{message}</p></body></html>"
        )),
    )
        .into_response()
}

/// `302` to `redirect_uri` with these query parameters added.
fn redirect(mut target: url::Url, pairs: &[(&str, Option<&str>)]) -> Response {
    {
        let mut query = target.query_pairs_mut();
        for (key, value) in pairs {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
    }
    match HeaderValue::from_str(target.as_str()) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(LOCATION, location);
            response
        }
        Err(_) => error_page("invalid redirect_uri"),
    }
}

/// `GET /paga-webservices/oauth2/authorization`.
pub(super) async fn authorization(
    State(paga): State<Arc<Paga>>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut params = HashMap::new();
    parse_params(query.unwrap_or_default().as_bytes(), &mut params);
    let mut ledger = paga.lock();
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    if client_id != ledger.client_id {
        return error_page("unknown client_id");
    }
    let Some(redirect_uri) = params.get("redirect_uri").cloned() else {
        return error_page("missing redirect_uri");
    };
    let Ok(target) = url::Url::parse(&redirect_uri) else {
        return error_page("invalid redirect_uri");
    };
    let state = params.get("state").map(String::as_str);
    let error = |code: &str| redirect(target.clone(), &[("error", Some(code)), ("state", state)]);
    if params.get("response_type").map(String::as_str) != Some("code") {
        return error("unsupported_response_type");
    }
    let scopes = names(params.get("scope"));
    let user_data = names(params.get("user_data"));
    if scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str()))
        || user_data
            .iter()
            .any(|s| !KNOWN_USER_DATA.contains(&s.as_str()))
    {
        return error("invalid_scope");
    }
    let challenge = params.get("code_challenge").cloned();
    if challenge.is_some()
        && params.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return error("invalid_request");
    }
    let login = params
        .get("sandbox_user")
        .cloned()
        .unwrap_or_else(|| DEFAULT_PAGA_USER.to_owned());
    let Some(user) = ledger.user(&login) else {
        return error_page("unknown sandbox_user");
    };
    if !user.approves {
        return error("access_denied");
    }
    let grant = Grant {
        login,
        client_id,
        scopes,
        user_data,
    };
    let code = ledger.issue_code(grant, redirect_uri, challenge, Timestamp::now());
    redirect(target, &[("code", Some(&code)), ("state", state)])
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oauth2/client\""),
        );
    }
    response
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

fn issued(pair: Issued) -> Response {
    let mut response = Json(json!({
        "access_token": pair.access_token,
        "token_type": "bearer",
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "scope": pair.grant.scopes.join(" "),
        "user_data": pair.grant.user_data.join(" "),
        "authorities": ["ROLE_USER"],
        "limitMaximum": LIMIT_MAXIMUM,
    }))
    .into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /paga-webservices/oauth2/token`.
pub(super) async fn token(
    State(paga): State<Arc<Paga>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let invalid_grant = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    let invalid_request = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d);
    let Some((client_id, client_secret)) = basic_credentials(&headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "HTTP Basic client authentication is required",
        );
    };
    let mut params = HashMap::new();
    parse_params(&body, &mut params);
    parse_params(query.unwrap_or_default().as_bytes(), &mut params);
    let mut ledger = paga.lock();
    if !ledger.check_client(&client_id, &client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    let now = Timestamp::now();
    match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = params.get("code") else {
                return invalid_request("Missing code");
            };
            let entry = match ledger.take_code(code, &client_id, now) {
                Ok(entry) => entry,
                Err(e) => return invalid_grant(e.0),
            };
            if params.get("redirect_uri") != Some(&entry.redirect_uri) {
                return invalid_grant("Redirect URI mismatch");
            }
            if let Some(challenge) = &entry.challenge {
                let Some(verifier) = params.get("code_verifier") else {
                    return invalid_grant("Missing code_verifier");
                };
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if &computed != challenge {
                    return invalid_grant("PKCE verification failed");
                }
            }
            issued(ledger.issue(entry.grant, now))
        }
        Some("refresh_token") => {
            let Some(token) = params.get("refresh_token") else {
                return invalid_request("Missing refresh_token");
            };
            match ledger.refresh(token, &client_id, now) {
                Ok(pair) => issued(pair),
                Err(e) => invalid_grant(e.0),
            }
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    }
}
