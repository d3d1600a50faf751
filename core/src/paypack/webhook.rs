//! How Paypack signs webhooks, and how pesakit checks them.
//!
//! Paypack POSTs the event envelope (`event_id`, the event kind, `created_at`, `data`)
//! with the header `X-Paypack-Signature`: the base64 of HMAC-SHA256 over the raw body
//! bytes, keyed with the webhook secret as UTF-8. There is no timestamp, hence no
//! replay window: deduplicate on [`Event::id`]. Before the first POST, an unsigned
//! `HEAD` request probes the endpoint; answer it with 200 and do not verify it.

use base64::Engine;

use super::models::{Event, WireEvent};
use crate::error::{Error, Result};
use crate::signature::HmacKey;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Paypack-Signature";

/// Verifies and parses Paypack webhooks.
///
/// ```
/// use pesakit::paypack::WebhookVerifier;
/// let verifier = WebhookVerifier::new("my-webhook-secret").unwrap();
/// let body = br#"{"event_id":"e1","event_kind":"transaction:processed","data":{"ref":"r1","status":"successful","amount":100,"kind":"CASHIN"}}"#;
/// let signature = verifier.sign(body); // what Paypack sends in X-Paypack-Signature
/// let event = verifier.verify_and_parse(body, Some(&signature)).unwrap();
/// assert_eq!(event.transaction.reference, "r1");
/// assert!(verifier.verify_and_parse(body, None).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct WebhookVerifier {
    key: HmacKey,
}

impl WebhookVerifier {
    /// A verifier for webhooks signed with `secret`. An empty secret is refused.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self> {
        let secret = secret.as_ref();
        if secret.is_empty() {
            return Err(Error::configuration("the Paypack webhook secret is empty"));
        }
        Ok(WebhookVerifier {
            key: HmacKey::new(secret),
        })
    }

    /// The signature Paypack would send for `body` (for tests and tools).
    pub fn sign(&self, body: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.sign(&[body]))
    }

    /// Checks that `signature` (the `X-Paypack-Signature` header value, `None` when the
    /// header is absent) is the signature of the raw `body` bytes, in constant time.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> Result<()> {
        let header = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::webhook_signature(format!(
                    "the Paypack webhook has no {SIGNATURE_HEADER} header"
                ))
            })?;
        let tag = base64::engine::general_purpose::STANDARD
            .decode(header)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(header))
            .map_err(|_| {
                Error::webhook_signature(format!(
                    "the Paypack webhook's {SIGNATURE_HEADER} header is not base64"
                ))
            })?;
        if self.key.verify(&[body], &tag) {
            Ok(())
        } else {
            Err(Error::webhook_signature(
                "the Paypack webhook's signature does not match its body (wrong secret, or the body was altered)",
            ))
        }
    }

    /// Verifies the signature, then parses the body into the same [`Event`] the events
    /// API returns. A bad or missing signature is a
    /// [`WebhookSignature`](crate::ErrorKind::WebhookSignature) error and the body is not
    /// parsed; a valid signature over an unreadable body is a
    /// [`Decode`](crate::ErrorKind::Decode) error.
    pub fn verify_and_parse(&self, body: &[u8], signature: Option<&str>) -> Result<Event> {
        self.verify(body, signature)?;
        parse_event(body)
    }
}

/// Parses a webhook or event body without checking a signature.
pub(crate) fn parse_event(body: &[u8]) -> Result<Event> {
    let wire: WireEvent = crate::http::decode("Paypack webhook", body, false)?;
    wire.into_model().map_err(|problem| {
        Error::decode(format!("Paypack webhook: {problem}")).with_body(crate::http::raw_body(body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const BODY: &[u8] = br#"{"event_id":"e1","event_kind":"transaction:created","created_at":"2022-01-03T15:22:29.430397Z","data":{"ref":"r1","status":"pending","amount":100,"kind":"CASHIN"}}"#;

    #[test]
    fn known_vector() {
        // base64(HMAC-SHA256("secret", "hello")), computed independently.
        let v = WebhookVerifier::new("secret").unwrap();
        assert_eq!(
            v.sign(b"hello"),
            "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs="
        );
    }

    #[test]
    fn tampering_is_refused() {
        let v = WebhookVerifier::new("s3cret").unwrap();
        let sig = v.sign(BODY);
        assert_eq!(v.verify_and_parse(BODY, Some(&sig)).unwrap().id, "e1");
        let mut tampered = BODY.to_vec();
        tampered[60] ^= 1;
        let cases: [(&[u8], Option<&str>); 5] = [
            (&tampered, Some(&sig)),
            (BODY, Some("AAAA")),
            (BODY, Some("not base64 !!")),
            (BODY, None),
            (BODY, Some("  ")),
        ];
        for (body, sig) in cases {
            let e = v.verify_and_parse(body, sig).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WebhookSignature, "{sig:?}");
        }
        let other = WebhookVerifier::new("other").unwrap();
        assert_eq!(
            other.verify(BODY, Some(&sig)).unwrap_err().kind(),
            ErrorKind::WebhookSignature
        );
        assert!(WebhookVerifier::new("").is_err());
    }

    #[test]
    fn valid_signature_over_garbage_is_a_decode_error() {
        let v = WebhookVerifier::new("s").unwrap();
        let body = b"{\"event_id\": ";
        let e = v.verify_and_parse(body, Some(&v.sign(body))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
    }
}
