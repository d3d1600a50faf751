//! The fuzz target over the webhook verifiers as the foreign languages call them
//! (cargo feature `fuzzing`, off by default; not part of the generated bindings).
//!
//! It drives `PaypackWebhookVerifier` and `CheckoutWebhookVerifier` with owned
//! `Vec<u8>` / `Option<String>` / `SystemTime` arguments, exactly what UniFFI lifts
//! from Python, Kotlin and Swift, and checks that every outcome is the core's outcome
//! converted: the same event, or the same error kind and sentence. A panic anywhere
//! in the verification, the parsing or the conversion fails the target.

use std::time::{Duration, SystemTime};

use pesakit::fuzzing::targets::{Input, CHECKOUT_NOW, CHECKOUT_SECRET, PAYPACK_SECRET};

use crate::error::{ErrorKind, PesakitError};
use crate::{Bytes, CheckoutWebhookEvent, CheckoutWebhookVerifier, Event, PaypackWebhookVerifier};

/// The target's name (the directory of its seeds and regressions).
pub const TARGET: &str = "ffi_webhooks";

/// `mode \n signature \n timestamp \n event \n now tolerance \n body`.
///
/// Mode bit 0 picks the gateway (0 Paypack, 1 checkout); bits 1–2 pick how the
/// signature is made: 0 the signature line as given, 1 a valid one over the body
/// (and, for checkout, the timestamp line), 2 no headers, 3 a valid one from another
/// secret. `now` (unix seconds, default 1700000000, may be far outside `SystemTime`'s
/// comfortable range) and `tolerance` (seconds, default 300) apply to checkout.
pub fn ffi_webhooks(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.mode_line(8);
    let signature = input.text_line();
    let timestamp = input.text_line();
    let event = input.text_line();
    let clock = input.text_line();
    let body = input.rest().to_vec();
    let mut numbers = clock.split_whitespace();
    let now = numbers
        .next()
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(CHECKOUT_NOW);
    let tolerance = numbers
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(300);
    let how = mode >> 1;
    if mode & 1 == 0 {
        paypack(how, signature, body);
    } else {
        checkout(how, signature, timestamp, event, now, tolerance, body);
    }
}

fn same_error(ffi: &PesakitError, core: &pesakit::Error) {
    assert_eq!(ffi.summary(), core.to_string(), "the sentence changed");
    assert_ne!(
        ffi.kind(),
        ErrorKind::Internal,
        "a core error became Internal"
    );
    let _ = format!("{ffi:?} {ffi}");
}

fn paypack(how: u8, signature: String, body: Vec<u8>) {
    let body = Bytes(body);
    let verifier = PaypackWebhookVerifier::new(PAYPACK_SECRET.to_owned()).expect("a secret");
    let core = pesakit::paypack::WebhookVerifier::new(PAYPACK_SECRET).expect("a secret");
    let header = match how {
        0 => Some(signature),
        1 => Some(verifier.sign(body.clone())),
        2 => None,
        _ => Some(
            PaypackWebhookVerifier::new("another-secret".to_owned())
                .expect("a secret")
                .sign(body.clone()),
        ),
    };
    let want = core.verify_and_parse(&body, header.as_deref());
    let checked = verifier.verify(body.clone(), header.clone());
    let got = verifier.verify_and_parse(body, header);
    match (&got, &want) {
        (Ok(g), Ok(w)) => assert_eq!(g, &Event::from(w.clone())),
        (Err(g), Err(w)) => same_error(g, w),
        _ => panic!("the FFI and the core disagree: {got:?} vs {want:?}"),
    }
    if how >= 2 {
        assert_eq!(
            got.as_ref().err().map(PesakitError::kind),
            Some(ErrorKind::WebhookSignature),
            "an unsigned or wrongly signed webhook was accepted"
        );
        assert!(checked.is_err());
    }
}

fn checkout(
    how: u8,
    signature: String,
    timestamp: String,
    event: String,
    now: i64,
    tolerance: u64,
    body: Vec<u8>,
) {
    let body = Bytes(body);
    let verifier =
        CheckoutWebhookVerifier::new(CHECKOUT_SECRET.to_owned(), tolerance).expect("a secret");
    let core = pesakit::checkout::WebhookVerifier::new(CHECKOUT_SECRET)
        .expect("a secret")
        .with_tolerance(Duration::from_secs(tolerance));
    let ts = timestamp.trim().parse::<i64>().ok();
    let sign = |secret: &str| -> Option<String> {
        let v = pesakit::checkout::WebhookVerifier::new(secret).expect("a secret");
        ts.map(|t| v.sign(t, &body))
    };
    let (header_sig, header_ts) = match how {
        0 => (Some(signature), Some(timestamp)),
        1 => (sign(CHECKOUT_SECRET), ts.map(|t| t.to_string())),
        2 => (None, None),
        _ => (sign("another-secret"), ts.map(|t| t.to_string())),
    };
    let system_now = if now >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(now.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(now.unsigned_abs()))
    };
    let Some(system_now) = system_now else {
        return;
    };
    let got = verifier.verify_and_parse_at(
        body.clone(),
        header_sig.clone(),
        header_ts.clone(),
        system_now,
        Some(event.clone()),
    );
    match pesakit::Timestamp::try_from(system_now) {
        Ok(core_now) => {
            let want = core.verify_and_parse_at(
                &body,
                header_sig.as_deref(),
                header_ts.as_deref(),
                Some(&event),
                core_now,
            );
            match (&got, &want) {
                (Ok(g), Ok(w)) => assert_eq!(g, &CheckoutWebhookEvent::from(w.clone())),
                (Err(g), Err(w)) => same_error(g, w),
                _ => panic!("the FFI and the core disagree: {got:?} vs {want:?}"),
            }
        }
        Err(_) => assert_eq!(
            got.as_ref().err().map(PesakitError::kind),
            Some(ErrorKind::Validation),
            "an instant out of range was not refused"
        ),
    }
    if how >= 2 {
        assert!(
            got.is_err(),
            "an unsigned or wrongly signed webhook was accepted"
        );
    }
}
