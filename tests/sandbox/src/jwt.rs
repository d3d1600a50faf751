//! Minimal HS256 JSON Web Tokens: enough to hand out JWT-shaped tokens and to check
//! that a token presented back was issued by this sandbox.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The claims every sandbox token carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The application (client id) the token belongs to.
    pub sub: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// `access` or `refresh`.
    pub typ: String,
}

/// Why a token could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// Not three base64url segments of JSON.
    Malformed,
    /// The signature does not match the key.
    BadSignature,
}

/// Encodes and signs `claims` with HS256.
pub(crate) fn encode(claims: &Claims, key: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(signing_input.as_bytes(), key));
    format!("{signing_input}.{signature}")
}

/// Verifies the HS256 signature of `token` and returns its claims.
pub(crate) fn decode(token: &str, key: &[u8]) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::BadSignature)?;
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(JwtError::Malformed)?;
    if header.get("alg").and_then(|alg| alg.as_str()) != Some("HS256") {
        return Err(JwtError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(JwtError::Malformed)
}

fn sign(data: &[u8], key: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "app".into(),
            iat: 1,
            exp: 2,
            jti: "j".into(),
            typ: "access".into(),
        }
    }

    #[test]
    fn round_trip() {
        let token = encode(&claims(), b"key");
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(decode(&token, b"key"), Ok(claims()));
    }

    #[test]
    fn wrong_key_or_garbage_is_rejected() {
        let token = encode(&claims(), b"key");
        assert_eq!(decode(&token, b"other"), Err(JwtError::BadSignature));
        assert_eq!(decode("a.b", b"key"), Err(JwtError::Malformed));
        assert_eq!(decode("a.b.c.d", b"key"), Err(JwtError::Malformed));
    }
}
