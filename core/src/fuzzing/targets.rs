//! The fuzz targets' bodies: each takes raw bytes, splits them into the fields of one
//! entry point, runs it and checks what must hold whatever the input. A broken
//! invariant panics, which libFuzzer reports as a crash.
//!
//! Inputs are text-friendly so that seeds can be read and written by hand: the first
//! byte picks a mode (`'0'`, `'1'`, … select mode 0, 1, …; any other byte maps onto a
//! mode too). Answer targets take the body right after it (`1{"ref": …}`); targets with
//! headers take the mode line, then one header per line, then the body.

use base64::Engine;

use super::ErrorPath;
use crate::error::{Error, ErrorKind};
use crate::money::Amount;
use crate::time::Timestamp;
use crate::token::TokenSet;

/// A target's body: it takes the raw input and panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target: its name (the directory of its seeds and regressions) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("paypack_webhook", paypack_webhook),
    ("checkout_webhook", checkout_webhook),
    ("paypack_answers", paypack_answers),
    ("checkout_answers", checkout_answers),
    ("paga_answers", paga_answers),
    ("error_answers", error_answers),
    ("paga_callback", paga_callback),
    ("amount", amount),
    ("timestamp", timestamp),
    ("phone", phone),
];

/// The Paypack webhook secret the targets verify with (the conformance fixtures' one).
pub const PAYPACK_SECRET: &str = "whsec-test";
/// The checkout webhook secret the targets verify with (the conformance fixtures' one).
pub const CHECKOUT_SECRET: &str = "app-secret";
/// The fixed "now" of the checkout webhook target (unix seconds).
pub const CHECKOUT_NOW: i64 = 1_700_000_000;

/// Raw input, consumed field by field.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { rest: data }
    }

    /// The first byte mapped onto `0..n` so that `'0'` is 0, `'1'` is 1, …
    pub fn mode(&mut self, n: u8) -> u8 {
        match self.rest.split_first() {
            Some((b, rest)) => {
                self.rest = rest;
                b.wrapping_sub(b'0') % n
            }
            None => 0,
        }
    }

    /// The first line's first byte mapped onto `0..n` like [`mode`](Self::mode); the
    /// rest of that line is skipped.
    pub fn mode_line(&mut self, n: u8) -> u8 {
        let line = self.line();
        Input::new(line).mode(n)
    }

    /// The bytes up to the next newline (consumed with it), or everything left.
    pub fn line(&mut self) -> &'a [u8] {
        match self.rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &self.rest[..i];
                self.rest = &self.rest[i + 1..];
                line
            }
            None => std::mem::take(&mut self.rest),
        }
    }

    /// [`line`](Self::line) as text (invalid UTF-8 replaced, as a header would be).
    pub fn text_line(&mut self) -> String {
        String::from_utf8_lossy(self.line()).into_owned()
    }

    /// Everything left.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// Formats an outcome both ways, as a program printing it would.
fn show<T: std::fmt::Debug>(outcome: &Result<T, Error>) {
    match outcome {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(e) => {
            show_error(e);
        }
    }
}

/// Formats an error both ways and returns its sentence, which is never empty.
fn show_error(e: &Error) -> String {
    let text = e.to_string();
    assert!(!text.is_empty(), "an error printed as an empty sentence");
    let _ = format!("{e:?}");
    text
}

/// Tokens never print themselves, and errors of token answers never keep the body.
fn check_tokens(outcome: &Result<TokenSet, Error>) {
    match outcome {
        Ok(t) => {
            assert!(
                !t.access_token.is_empty(),
                "an empty access token was accepted"
            );
            // What a token prints must not depend on its value.
            let shown = |s: &crate::secret::Secret| format!("{s:?} {s}");
            let reference = shown(&crate::secret::Secret::new("reference-token"));
            assert_eq!(
                shown(&t.access_token),
                reference,
                "an access token printed itself"
            );
            if let Some(r) = &t.refresh_token {
                assert_eq!(shown(r), reference, "a refresh token printed itself");
            }
        }
        Err(e) => assert!(
            e.body().is_none(),
            "a token answer's body was kept in an error"
        ),
    }
}

// ---- webhooks -------------------------------------------------------------------------

/// Paypack webhook: `mode \n signature \n body`.
///
/// Mode 0 sends the signature line as the header; 1 signs the body with the secret
/// (so the parser behind the check is reached); 2 signs it too, without base64
/// padding and with spaces around; 3 sends no header.
pub fn paypack_webhook(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode_line(4);
    let given = input.text_line();
    let body = input.rest();
    let verifier = crate::paypack::WebhookVerifier::new(PAYPACK_SECRET).expect("a secret");
    let valid = verifier.sign(body);
    let header = match mode {
        0 => Some(given.clone()),
        1 => Some(valid.clone()),
        2 => Some(format!(" {} ", valid.trim_end_matches('='))),
        _ => None,
    };
    let outcome = verifier.verify_and_parse(body, header.as_deref());
    show(&outcome);
    let refused = matches!(&outcome, Err(e) if e.kind() == ErrorKind::WebhookSignature);
    match mode {
        0 if !refused => {
            // Only the right tag may pass, in either base64 spelling.
            let engine = base64::engine::general_purpose::STANDARD;
            let want = engine.decode(&valid).expect("own signature is base64");
            let sent = given.trim();
            let got = engine
                .decode(sent)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(sent));
            assert_eq!(got.ok(), Some(want), "a wrong signature was accepted");
        }
        1 | 2 => {
            assert!(!refused, "a valid signature was refused: {outcome:?}");
            let unsigned = super::paypack_webhook_body(body);
            match (&outcome, &unsigned) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => {
                    assert_eq!(a.kind(), ErrorKind::Decode);
                    assert_eq!(a.kind(), b.kind());
                }
                _ => panic!("verified and unverified parses disagree"),
            }
            if let Ok(event) = &outcome {
                assert!(!event.id.is_empty() && !event.transaction.reference.is_empty());
            }
        }
        3 => assert!(refused, "an unsigned webhook was accepted"),
        _ => {}
    }
}

/// Checkout webhook: `mode \n signature \n timestamp \n event \n body`, verified at
/// the fixed [`CHECKOUT_NOW`].
///
/// Mode 0 sends the signature and timestamp lines as given; 1 signs
/// `"{timestamp}.{body}"` with the secret (the timestamp text as given, so its parsing
/// and the window are reached); 2 signs it too, in uppercase hex with spaces around;
/// 3 sends neither header.
pub fn checkout_webhook(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode_line(4);
    let given_signature = input.text_line();
    let timestamp = input.text_line();
    let event = input.text_line();
    let body = input.rest();
    let verifier = crate::checkout::WebhookVerifier::new(CHECKOUT_SECRET).expect("a secret");
    let key = crate::signature::HmacKey::new(CHECKOUT_SECRET.as_bytes());
    let valid = hex::encode(key.sign(&[timestamp.trim().as_bytes(), b".", body]));
    let (signature, ts) = match mode {
        0 => (Some(given_signature.clone()), Some(timestamp.as_str())),
        1 => (Some(valid.clone()), Some(timestamp.as_str())),
        2 => (
            Some(format!("  {}\t", valid.to_uppercase())),
            Some(timestamp.as_str()),
        ),
        _ => (None, None),
    };
    let now = Timestamp::from_second(CHECKOUT_NOW).expect("in range");
    let outcome = verifier.verify_and_parse_at(body, signature.as_deref(), ts, Some(&event), now);
    show(&outcome);
    let refused = matches!(&outcome, Err(e) if e.kind() == ErrorKind::WebhookSignature);
    // Whether the timestamp text is unix seconds inside the 300 s window.
    let fresh = timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| Timestamp::from_second(*s).is_ok())
        .is_some_and(|s| (i128::from(s) - i128::from(CHECKOUT_NOW)).abs() <= 300);
    match mode {
        0 if !refused => {
            assert!(fresh, "a stale or unreadable timestamp was accepted");
            let sent = hex::decode(given_signature.trim()).ok();
            assert_eq!(
                sent,
                hex::decode(&valid).ok(),
                "a wrong signature was accepted"
            );
        }
        1 | 2 => assert_eq!(
            refused, !fresh,
            "a valid signature was judged wrongly (fresh = {fresh}): {outcome:?}"
        ),
        3 => assert!(refused, "an unsigned webhook was accepted"),
        _ => {}
    }
    if let Ok(e) = &outcome {
        assert!(!e.payment.id.is_empty());
        assert_eq!(
            Some(e.timestamp.as_second()),
            timestamp.trim().parse::<i64>().ok()
        );
        assert!(e.kind.as_str().trim().eq_ignore_ascii_case(event.trim()));
    }
}

// ---- answers --------------------------------------------------------------------------

/// Paypack answers: `mode body` — 0 token, 1 transaction, 2 transaction list,
/// 3 events page, 4 profile.
pub fn paypack_answers(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode(5);
    let body = input.rest();
    match mode {
        0 => {
            let out = super::paypack_token(body);
            show(&out);
            check_tokens(&out);
        }
        1 => {
            let out = super::paypack_transaction(body);
            show(&out);
            if let Ok(t) = &out {
                assert!(!t.reference.is_empty());
            }
        }
        2 => {
            let out = super::paypack_transaction_page(body);
            show(&out);
            if let Ok(p) = &out {
                assert!(p.transactions.iter().all(|t| !t.reference.is_empty()));
            }
        }
        3 => {
            let out = super::paypack_event_page(body);
            show(&out);
            if let Ok(p) = &out {
                assert!(p.events.iter().all(|e| !e.id.is_empty()));
            }
        }
        _ => {
            show(&super::paypack_profile(body));
        }
    }
}

/// Checkout answers: `mode body` — 0 create checkout, 1 payment, 2 payer instructions,
/// 3 applications list, 4 one application, 5 OAuth refresh.
pub fn checkout_answers(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode(6);
    let body = input.rest();
    match mode {
        0 => {
            let out = super::checkout_created(body);
            show(&out);
            if let Ok(c) = &out {
                assert!(uuid::Uuid::parse_str(&c.payment_id).is_ok());
                assert!(c.checkout_url.contains(&c.payment_id));
            }
        }
        1 => {
            let out = super::checkout_payment(body);
            show(&out);
            if let Ok(p) = &out {
                assert!(!p.id.is_empty());
            }
        }
        2 => {
            show(&super::checkout_payer_instructions(body));
        }
        3 => {
            let out = super::checkout_applications(body);
            show(&out);
        }
        4 => {
            show(&super::checkout_application(body));
        }
        _ => {
            let out = super::checkout_oauth_refresh(body);
            show(&out);
            check_tokens(&out);
            if let Ok(t) = &out {
                assert!(
                    t.refresh_token.is_some(),
                    "the previous refresh token was lost"
                );
            }
        }
    }
}

/// Paga answers: `mode body` — 0 code exchange, 1 refresh, 2 merchant payment,
/// 3 money transfer, 4 user details, 5 one-time token.
pub fn paga_answers(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode(6);
    let body = input.rest();
    match mode {
        0 => {
            let out = super::paga_code_exchange(body);
            show(&out);
            check_tokens(&out.as_ref().map(|(_, t)| t.clone()).map_err(clone_error));
            if let Ok((grant, tokens)) = &out {
                assert_eq!(grant.expires_at, tokens.expires_at);
            }
        }
        1 => {
            let out = super::paga_refresh(body);
            show(&out);
            check_tokens(&out);
        }
        2 => {
            show(&super::paga_merchant_payment(body));
        }
        3 => {
            show(&super::paga_money_transfer(body));
        }
        4 => {
            show(&super::paga_user_details(body));
        }
        _ => {
            let out = super::paga_one_time_token(body);
            show(&out);
            if let Err(e) = &out {
                assert!(matches!(e.kind(), ErrorKind::Decode | ErrorKind::Gateway));
            }
        }
    }
}

/// The parts of an error the token check looks at.
fn clone_error(e: &Error) -> Error {
    Error::new(e.kind(), e.message().to_owned()).with_body(e.body().map(str::to_owned))
}

/// Error answers: `path \n status \n content-type \n retry-after \n body`.
///
/// The path (mode 0–7) is the client call the answer came back to ([`ErrorPath::ALL`]
/// order); the status line is read as a number (anything else picks one from its
/// bytes), kept in 100–999 like an HTTP status.
pub fn error_answers(data: &[u8]) {
    let mut input = Input::new(data);
    let path = ErrorPath::ALL[usize::from(input.mode_line(ErrorPath::ALL.len() as u8))];
    let status_line = input.line();
    let status = std::str::from_utf8(status_line)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s))
        .unwrap_or_else(|| {
            let n = status_line.iter().fold(0u32, |acc, b| {
                acc.wrapping_mul(31).wrapping_add(u32::from(*b))
            });
            (400 + n % 200) as u16
        });
    let content_type = input.line();
    let retry_after = input.line();
    let body = input.rest();
    let e = super::error_answer(
        path,
        status,
        (!content_type.is_empty()).then_some(content_type),
        (!retry_after.is_empty()).then_some(retry_after),
        body,
    );
    let text = show_error(&e);
    assert_eq!(e.status(), Some(status), "the status was lost");
    let token_refusal = matches!(path, ErrorPath::CheckoutOAuthRefresh | ErrorPath::PagaToken)
        && matches!(status, 400 | 401)
        && e.gateway_code().is_some();
    let want = match status {
        _ if token_refusal => ErrorKind::Authentication,
        401 => ErrorKind::Authentication,
        403 => ErrorKind::Permission,
        404 => ErrorKind::NotFound,
        400 | 409 | 422 => ErrorKind::Validation,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Gateway,
    };
    assert_eq!(e.kind(), want, "status {status} became {:?}", e.kind());
    if path.sensitive() {
        assert!(e.body().is_none(), "a token answer's body was kept");
    }
    // A refused token request is rebuilt as an OAuth error (a Retry-After on a 400/401
    // has no use there).
    if let Some(secs) = std::str::from_utf8(retry_after)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|_| !token_refusal && retry_after.is_ascii() && header_value(retry_after))
    {
        assert_eq!(
            e.retry_after(),
            Some(std::time::Duration::from_secs(secs)),
            "Retry-After: {secs} was misread"
        );
    }
    if e.kind() == ErrorKind::Permission && path == ErrorPath::CheckoutRead {
        assert!(
            text.contains("payments.get"),
            "the missing scope is not named: {text}"
        );
    }
}

/// Whether bytes can be an HTTP header value (what the transport would have seen).
fn header_value(bytes: &[u8]) -> bool {
    reqwest::header::HeaderValue::from_bytes(bytes).is_ok()
}

// ---- Paga callback --------------------------------------------------------------------

/// Paga callback: `mode \n state \n callback URL`. Mode 0 expects the state line;
/// mode 1 expects the URL's own `state` value (so the checks after it are reached).
pub fn paga_callback(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode_line(2);
    let given_state = input.text_line();
    let url = String::from_utf8_lossy(input.rest()).into_owned();
    let param = |k: &str| {
        url::Url::parse(&url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        })
    };
    let state = match mode {
        0 => given_state,
        _ => param("state").unwrap_or_default(),
    };
    let out = super::paga_callback(&url, &state);
    show(&out);
    match &out {
        Ok(code) => {
            assert!(!code.is_empty());
            assert_eq!(
                param("state").unwrap_or_default(),
                state,
                "a wrong state passed"
            );
            assert_eq!(param("error"), None, "an error redirect passed");
            assert_eq!(param("code").as_deref(), Some(code.as_str()));
        }
        Err(e) => assert!(matches!(
            e.kind(),
            ErrorKind::Validation | ErrorKind::Authentication
        )),
    }
}

// ---- small parsers --------------------------------------------------------------------

/// Amounts: `exponent-byte text`. Parses the text as a caller's string and as a JSON
/// answer value; every amount read must print and read back as itself, be sent as a
/// JSON number that reads back exactly (or be refused), and convert to minor units of
/// the exponent (byte mod 48) and back exactly (or be refused).
pub fn amount(data: &[u8]) {
    let mut input = Input::new(data);
    let exponent = u32::from(input.mode(48));
    let rest = input.rest();
    let text = String::from_utf8_lossy(rest);
    let parsed = text.parse::<Amount>();
    let from_json = serde_json::from_slice::<Amount>(rest).ok();
    for a in parsed.ok().into_iter().chain(from_json) {
        let shown = a.to_string();
        assert_eq!(
            shown.parse::<Amount>().ok(),
            Some(a),
            "{shown} read back differently"
        );
        if let Ok(n) = super::amount_to_json(a) {
            let back: Amount = serde_json::from_str(&n.to_string()).expect("a JSON number");
            assert_eq!(back, a, "{a} was sent as {n}");
        }
        if let Ok(minor) = a.to_minor_units(exponent) {
            assert_eq!(
                Amount::from_minor_units(minor, exponent),
                a,
                "{a} ↔ {minor} at exponent {exponent}"
            );
        }
    }
}

/// Timestamps: the input as timestamp text, as a JSON field read leniently, as a JWT
/// (its `exp`), and as a Paypack `expires` value.
pub fn timestamp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(t) = crate::time::parse_timestamp(&text) {
        let shown = t.to_string();
        assert_eq!(
            crate::time::parse_timestamp(&shown),
            Some(t),
            "{shown} read back differently"
        );
    }
    let _ = super::lenient_timestamp(data);
    let _ = super::jwt_expiry(&text);
    let now = Timestamp::from_second(CHECKOUT_NOW).expect("in range");
    let expires = serde_json::from_slice::<serde_json::Value>(data).ok();
    let _ = super::token_expiry(expires.as_ref(), &text, now);
    let _ = super::token_expiry(Some(&serde_json::Value::String(text.into_owned())), "", now);
}

/// Phone numbers and other caller text: a normalised number is ten digits starting
/// `07`, and normalising it again changes nothing.
pub fn phone(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(n) = crate::paypack::normalize_phone(&text) {
        assert_eq!(n.len(), 10);
        assert!(n.starts_with("07") && n.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(crate::paypack::normalize_phone(&n).ok(), Some(n.clone()));
    }
    if let Some(exponent) = crate::checkout::currency_exponent(&text) {
        assert!(exponent <= 8, "{text:?} has exponent {exponent}");
    }
}
