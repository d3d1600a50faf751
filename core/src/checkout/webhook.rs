//! How the hosted-checkout gateway signs webhooks, and how pesakit checks them.
//!
//! The gateway POSTs `{"payment": {...}}` to the application's callback URL with:
//! `X-PaymentService-Event` (`payment.completed`, …), `X-PaymentService-Timestamp`
//! (unix seconds) and `X-PaymentService-Signature`: lowercase hex HMAC-SHA256 over
//! `"{timestamp}.{raw body}"`, keyed with the application's secret. pesakit compares in
//! constant time and refuses timestamps outside a tolerance window (300 s by default)
//! so a captured webhook cannot be replayed later. Deliveries are retried for about 40
//! hours: deduplicate on (payment id, event).

use std::time::Duration;

use super::models::{Payment, WebhookBody, WebhookEventKind};
use crate::error::{Error, Result};
use crate::signature::HmacKey;
use crate::time::Timestamp;

/// The header naming the event.
pub const EVENT_HEADER: &str = "X-PaymentService-Event";
/// The header carrying the signing time (unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-PaymentService-Timestamp";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-PaymentService-Signature";
/// The default tolerance between the signing time and now.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A verified webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    /// What happened (`X-PaymentService-Event`).
    pub kind: WebhookEventKind,
    /// When the gateway signed it.
    pub timestamp: Timestamp,
    /// The payment as it is now.
    pub payment: Payment,
}

/// Verifies and parses hosted-checkout webhooks.
///
/// ```
/// use pesakit::checkout::WebhookVerifier;
/// let verifier = WebhookVerifier::new("app-secret").unwrap();
/// let body = br#"{"payment":{"id":"p1","status":"CONFIRMED"}}"#;
/// let now = pesakit::Timestamp::now();
/// let ts = now.as_second().to_string();
/// let sig = verifier.sign(now.as_second(), body);
/// let event = verifier
///     .verify_and_parse(body, Some(&sig), Some(&ts), Some("payment.completed"))
///     .unwrap();
/// assert_eq!(event.payment.id, "p1");
/// ```
#[derive(Clone, Debug)]
pub struct WebhookVerifier {
    key: HmacKey,
    tolerance: Duration,
}

impl WebhookVerifier {
    /// A verifier for webhooks signed with the application `secret`, with the default
    /// 300-second tolerance. An empty secret is refused.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self> {
        let secret = secret.as_ref();
        if secret.is_empty() {
            return Err(Error::configuration("the checkout webhook secret is empty"));
        }
        Ok(WebhookVerifier {
            key: HmacKey::new(secret),
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// The same verifier with another tolerance window (either side of now).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The tolerance window.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// The signature the gateway sends for `body` signed at `timestamp` (unix seconds).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let ts = timestamp.to_string();
        hex::encode(self.key.sign(&[ts.as_bytes(), b".", body]))
    }

    /// Checks the signature and the timestamp against the current time; returns the
    /// signing time.
    pub fn verify(
        &self,
        body: &[u8],
        signature: Option<&str>,
        timestamp: Option<&str>,
    ) -> Result<Timestamp> {
        self.verify_at(body, signature, timestamp, Timestamp::now())
    }

    /// [`verify`](Self::verify) with the current time given (for tests and replays of
    /// stored deliveries).
    pub fn verify_at(
        &self,
        body: &[u8],
        signature: Option<&str>,
        timestamp: Option<&str>,
        now: Timestamp,
    ) -> Result<Timestamp> {
        let missing =
            |h: &str| Error::webhook_signature(format!("the checkout webhook has no {h} header"));
        let ts_text = timestamp
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing(TIMESTAMP_HEADER))?;
        let signature = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing(SIGNATURE_HEADER))?;
        let seconds: i64 = ts_text.parse().map_err(|_| {
            Error::webhook_signature(format!(
                "the checkout webhook's {TIMESTAMP_HEADER} {ts_text:?} is not unix seconds"
            ))
        })?;
        let signed_at = Timestamp::from_second(seconds).map_err(|_| {
            Error::webhook_signature(format!(
                "the checkout webhook's {TIMESTAMP_HEADER} {seconds} is out of range"
            ))
        })?;
        let tag = hex::decode(signature).map_err(|_| {
            Error::webhook_signature(format!(
                "the checkout webhook's {SIGNATURE_HEADER} header is not hexadecimal"
            ))
        })?;
        // The signature covers the timestamp text exactly as sent.
        if !self.key.verify(&[ts_text.as_bytes(), b".", body], &tag) {
            return Err(Error::webhook_signature(
                "the checkout webhook's signature does not match its timestamp and body (wrong secret, or altered)",
            ));
        }
        let skew = now.duration_since(signed_at).unsigned_abs();
        if skew > self.tolerance {
            return Err(Error::webhook_signature(format!(
                "the checkout webhook was signed {} s away from now, outside the {} s tolerance (a replay, or a wrong clock)",
                skew.as_secs(),
                self.tolerance.as_secs()
            )));
        }
        Ok(signed_at)
    }

    /// Verifies, then parses the body and the event header into a [`WebhookEvent`]. A
    /// bad, missing or stale signature is a
    /// [`WebhookSignature`](crate::ErrorKind::WebhookSignature) error and nothing is
    /// parsed.
    pub fn verify_and_parse(
        &self,
        body: &[u8],
        signature: Option<&str>,
        timestamp: Option<&str>,
        event: Option<&str>,
    ) -> Result<WebhookEvent> {
        self.verify_and_parse_at(body, signature, timestamp, event, Timestamp::now())
    }

    /// [`verify_and_parse`](Self::verify_and_parse) with the current time given.
    pub fn verify_and_parse_at(
        &self,
        body: &[u8],
        signature: Option<&str>,
        timestamp: Option<&str>,
        event: Option<&str>,
        now: Timestamp,
    ) -> Result<WebhookEvent> {
        let signed_at = self.verify_at(body, signature, timestamp, now)?;
        let wire: WebhookBody = crate::http::decode("checkout webhook", body, false)?;
        let payment = wire
            .payment
            .ok_or_else(|| Error::decode("checkout webhook: the body has no `payment`"))?
            .into_model()
            .map_err(|p| Error::decode(format!("checkout webhook: {p}")))?;
        Ok(WebhookEvent {
            kind: WebhookEventKind::parse(event.unwrap_or("")),
            timestamp: signed_at,
            payment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const BODY: &[u8] = br#"{"payment":{"id":"p1","status":"RECEIVED","amount":{"value":1.5,"amount":150,"formatted":"$1.50"}}}"#;

    #[test]
    fn known_vector() {
        // hex(HMAC-SHA256("secret", "1700000000.hello")), computed independently.
        let v = WebhookVerifier::new("secret").unwrap();
        assert_eq!(
            v.sign(1_700_000_000, b"hello"),
            "47b1df0ab12338b2685470b0d2b37033add7c3b2bc8172f313e77413f1bb78c8"
        );
    }

    #[test]
    fn window_signature_and_headers() {
        let v = WebhookVerifier::new("s").unwrap();
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        let sig = v.sign(1_700_000_000, BODY);
        let ts = "1700000000";
        let ok = v
            .verify_and_parse_at(BODY, Some(&sig), Some(ts), Some("payment.received"), t0)
            .unwrap();
        assert_eq!(ok.kind, WebhookEventKind::PaymentReceived);
        assert_eq!(ok.payment.amount.unwrap().minor_units, Some(150));
        // Inside the window on both sides, outside beyond it.
        let at = |s: i64| Timestamp::from_second(1_700_000_000 + s).unwrap();
        assert!(v.verify_at(BODY, Some(&sig), Some(ts), at(300)).is_ok());
        assert!(v.verify_at(BODY, Some(&sig), Some(ts), at(-300)).is_ok());
        for late in [301, -301, 86_400] {
            let e = v
                .verify_at(BODY, Some(&sig), Some(ts), at(late))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WebhookSignature);
            assert!(e.to_string().contains("tolerance"), "{e}");
        }
        let narrow = v.clone().with_tolerance(Duration::from_secs(10));
        assert!(narrow
            .verify_at(BODY, Some(&sig), Some(ts), at(11))
            .is_err());
        // A changed timestamp breaks the signature even inside the window.
        let e = v
            .verify_at(BODY, Some(&sig), Some("1700000001"), t0)
            .unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        for (sig, ts) in [
            (None, Some(ts)),
            (Some(sig.as_str()), None),
            (Some("zz"), Some(ts)),
            (Some(sig.as_str()), Some("soon")),
        ] {
            let e = v.verify_at(BODY, sig, ts, t0).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WebhookSignature);
        }
        let upper = sig.to_uppercase();
        assert!(
            v.verify_at(BODY, Some(&upper), Some(ts), t0).is_ok(),
            "hex case does not matter"
        );
    }
}
