//! OAuth 2.0 pieces shared by the gateways that use it (RFC 6749): reading a token
//! response and turning §5.2 error answers into authentication errors.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use crate::time::Timestamp;
use crate::token::{jwt_expiry, TokenSet};

/// A successful token response (RFC 6749 §5.1). Fields the gateway adds are kept.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    token_type: Option<String>,
    /// Every other field of the answer (`scope`, `user_data`, `authorities`, …).
    #[serde(flatten)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenResponse {
    /// An extra field as text (`""` when absent).
    pub(crate) fn extra_text(&self, key: &str) -> String {
        match self.extra.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        }
    }

    /// The token set this response grants. A response without a refresh token keeps
    /// `previous_refresh` (RFC 6749 §6: the server may keep the old one valid); a
    /// response with one replaces it (rotation).
    pub(crate) fn into_token_set(
        self,
        what: &str,
        previous_refresh: Option<&Secret>,
        fallback_lifetime: Duration,
    ) -> Result<TokenSet> {
        let access = self
            .access_token
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Error::decode(format!("{what}: the answer has no access_token")))?;
        if let Some(kind) = &self.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(Error::decode(format!(
                    "{what}: token_type {kind:?} is not supported (only Bearer)"
                )));
            }
        }
        let now = Timestamp::now();
        let seconds = self.expires_in.as_ref().and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
        // An absurd lifetime (1e30 s) counts as unreadable: the fallback applies.
        let lifetime = seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(fallback_lifetime);
        let expires_at = jiff::SignedDuration::try_from(lifetime)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .or_else(|| jwt_expiry(&access))
            .unwrap_or(now);
        let refresh_token = self
            .refresh_token
            .filter(|r| !r.is_empty())
            .map(Secret::new)
            .or_else(|| previous_refresh.cloned());
        let refresh_expires_at = refresh_token.as_ref().and_then(|r| jwt_expiry(r.expose()));
        Ok(TokenSet {
            access_token: Secret::new(access),
            refresh_token,
            expires_at,
            refresh_expires_at,
            obtained_at: now,
        })
    }
}

/// Reads a token answer. It carries tokens, so a failure never keeps the body.
pub(crate) fn decode_token_response(what: &str, body: &[u8]) -> Result<TokenResponse> {
    crate::http::decode(what, body, true)
}

/// Makes an RFC 6749 §5.2 error answer (`invalid_grant`, `invalid_client`, …) an
/// authentication error that keeps the OAuth error code, with advice for the codes
/// that need a person.
pub(crate) fn token_error(e: Error, what: &str) -> Error {
    let code = e.gateway_code().map(str::to_owned);
    match (e.status(), code.as_deref()) {
        (Some(400 | 401), Some(code)) => {
            let advice = match code {
                "invalid_grant" => {
                    "the grant was refused (expired, revoked or already used): sign in again"
                }
                "invalid_client" => "the OAuth client id or secret was refused",
                "unauthorized_client" => "this OAuth client may not use this grant",
                "unsupported_grant_type" => "the server does not support this grant",
                "invalid_scope" => "a requested scope was refused",
                _ => "the token request was refused",
            };
            let rebuilt = Error::new(ErrorKind::Authentication, format!("{what}: {advice}"))
                .with_status(e.status().unwrap_or(400))
                .with_gateway_message(e.gateway_message().map(str::to_owned))
                .with_gateway_code(Some(code.to_owned()));
            rebuilt
        }
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_fallbacks() {
        let r: TokenResponse = serde_json::from_str(
            r#"{"token_type":"Bearer","expires_in":3600,"access_token":"a","refresh_token":"r2","authorities":["x"]}"#,
        )
        .unwrap();
        assert_eq!(r.extra["authorities"][0], "x");
        let old = Secret::new("r1");
        let t = r
            .into_token_set("t", Some(&old), Duration::from_secs(60))
            .unwrap();
        assert_eq!(t.refresh_token.unwrap().expose(), "r2");
        let lifetime = t.expires_at.duration_since(t.obtained_at).as_secs();
        assert_eq!(lifetime, 3600);

        let kept: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        let t = kept
            .into_token_set("t", Some(&old), Duration::from_secs(60))
            .unwrap();
        assert_eq!(t.refresh_token.unwrap().expose(), "r1");

        // Found while writing the fuzz targets: a lifetime beyond `Duration` panicked.
        for huge in ["1e30", "\"36893488147419103232\"", "1.7976931348623157e308"] {
            let r: TokenResponse =
                serde_json::from_str(&format!(r#"{{"access_token":"a","expires_in":{huge}}}"#))
                    .unwrap();
            let t = r
                .into_token_set("t", None, Duration::from_secs(60))
                .unwrap();
            assert_eq!(
                t.expires_at.duration_since(t.obtained_at).as_secs(),
                60,
                "{huge}"
            );
        }

        let mac: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","token_type":"mac"}"#).unwrap();
        assert!(mac
            .into_token_set("t", None, Duration::from_secs(60))
            .is_err());
    }
}
