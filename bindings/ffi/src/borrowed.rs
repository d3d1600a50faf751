//! Webhook verification called with borrowed memory: the body and the header values are
//! read where the caller keeps them, and the verifier is used without cloning its handle.
//!
//! A UniFFI call takes every argument in a buffer the foreign side has Rust allocate and
//! then fills, and a cloned handle for the object. From Python each of those is one more
//! `ctypes` call: verifying a 1 KiB Paypack webhook cost five (clone the handle, two
//! argument buffers, the call, freeing the answer), and the buffers and the clone took
//! more time than checking the HMAC and parsing the event. These functions take a pointer
//! and a length for each argument instead, so a verification is one call plus freeing the
//! answer. The answer and the error are exactly the UniFFI method's (the same buffers,
//! status codes and error variants), and so is the work: both call the same method.
//!
//! These are plain C functions, not UniFFI exports: only the Python package uses them
//! (`pesakit/_webhooks.py`), through `ctypes`.

use std::sync::Arc;

use uniffi::{Handle, LowerReturn, RustBuffer, RustCallError, RustCallStatus};

use crate::checkout::CheckoutWebhookVerifier;
use crate::error::PesakitError;
use crate::paypack::PaypackWebhookVerifier;
use crate::UniFfiTag;

/// The verifier behind a handle the caller still holds.
///
/// # Safety
/// `handle` must be a live handle of a `T` (as UniFFI lowers one), not freed before the
/// calling function returns.
unsafe fn verifier<T>(handle: u64) -> Arc<T> {
    // Counted up here and down when the `Arc` is dropped: the caller's handle is untouched.
    Handle::from_raw_unchecked(handle).into_arc_borrowed()
}

/// The `len` bytes at `data` (none when `len` is 0, whatever `data` is).
///
/// # Safety
/// When `len` is not 0, `data` must point to `len` readable bytes that stay unchanged
/// until the calling function returns.
unsafe fn bytes<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data, len)
    }
}

/// An optional header value: absent when `len` is negative, else `len` bytes of UTF-8.
///
/// # Safety
/// As for [`bytes`] when `len` is not negative.
unsafe fn text<'a>(data: *const u8, len: isize) -> Result<Option<&'a str>, PesakitError> {
    if len < 0 {
        return Ok(None);
    }
    std::str::from_utf8(bytes(data, len as usize))
        .map(Some)
        .map_err(|_| PesakitError::validation("a webhook header value is not UTF-8".into()))
}

/// Runs `call` as a UniFFI scaffolding function runs a method: its answer lowered into
/// the return value, its error into `status`, a panic reported as a panic.
fn answer<R, F>(status: &mut RustCallStatus, call: F) -> R::ReturnType
where
    R: LowerReturn<UniFfiTag>,
    F: FnOnce() -> R + std::panic::UnwindSafe,
{
    uniffi::rust_call(status, || -> Result<R::ReturnType, RustCallError> {
        R::lower_return(call())
    })
}

/// `PaypackWebhookVerifier::verify_and_parse` with borrowed arguments. `signature_len`
/// is negative when the header is absent. Returns the lowered `Event`, or sets `status`
/// to the lowered `PesakitError`.
///
/// # Safety
/// `verifier` is a live `PaypackWebhookVerifier` handle; `body` points to `body_len`
/// bytes and, when `signature_len` is not negative, `signature` to that many; all of
/// them stay valid and unchanged until this function returns.
#[no_mangle]
pub unsafe extern "C" fn pesakit_paypack_webhook_verify_and_parse(
    verifier: u64,
    body: *const u8,
    body_len: usize,
    signature: *const u8,
    signature_len: isize,
    status: &mut RustCallStatus,
) -> RustBuffer {
    answer(status, || {
        let verifier = self::verifier::<PaypackWebhookVerifier>(verifier);
        let signature = text(signature, signature_len)?;
        verifier.verify_and_parse_borrowed(bytes(body, body_len), signature)
    })
}

/// `PaypackWebhookVerifier::verify` with borrowed arguments, as
/// [`pesakit_paypack_webhook_verify_and_parse`] takes them. Sets `status` to the lowered
/// `PesakitError` when the signature does not match.
///
/// # Safety
/// As for [`pesakit_paypack_webhook_verify_and_parse`].
#[no_mangle]
pub unsafe extern "C" fn pesakit_paypack_webhook_verify(
    verifier: u64,
    body: *const u8,
    body_len: usize,
    signature: *const u8,
    signature_len: isize,
    status: &mut RustCallStatus,
) {
    answer(status, || {
        let verifier = self::verifier::<PaypackWebhookVerifier>(verifier);
        let signature = text(signature, signature_len)?;
        verifier.verify_borrowed(bytes(body, body_len), signature)
    })
}

/// `CheckoutWebhookVerifier::verify_and_parse` with borrowed arguments: each header
/// value is a pointer and a length, the length negative when the header is absent.
/// Returns the lowered `CheckoutWebhookEvent`, or sets `status` to the lowered
/// `PesakitError`.
///
/// # Safety
/// `verifier` is a live `CheckoutWebhookVerifier` handle; `body` points to `body_len`
/// bytes and each header value with a length that is not negative to that many; all of
/// them stay valid and unchanged until this function returns.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // one pointer and one length per argument
pub unsafe extern "C" fn pesakit_checkout_webhook_verify_and_parse(
    verifier: u64,
    body: *const u8,
    body_len: usize,
    signature: *const u8,
    signature_len: isize,
    timestamp: *const u8,
    timestamp_len: isize,
    event: *const u8,
    event_len: isize,
    status: &mut RustCallStatus,
) -> RustBuffer {
    answer(status, || {
        let verifier = self::verifier::<CheckoutWebhookVerifier>(verifier);
        verifier.verify_and_parse_borrowed(
            bytes(body, body_len),
            text(signature, signature_len)?,
            text(timestamp, timestamp_len)?,
            text(event, event_len)?,
        )
    })
}

#[cfg(test)]
mod tests {
    use std::mem::ManuallyDrop;

    use uniffi::{Lift, Lower, RustCallStatusCode};

    use super::*;
    use crate::error::ErrorKind;
    use crate::types::{Bytes, Event};

    const BODY: &[u8] = br#"{"event_id":"evt-1","event_kind":"transaction:processed","created_at":"2024-05-01T10:00:00Z","data":{"ref":"ref-1","kind":"CASHIN","amount":1000,"status":"successful","metadata":{"note":"x"}}}"#;

    fn handle<T>(object: &Arc<T>) -> u64 {
        Handle::from_arc(Arc::clone(object)).as_raw()
    }

    /// Gives back the reference `handle` held.
    fn release<T>(handle: u64) {
        // SAFETY: made by `handle` above and used only once here.
        drop(unsafe { Handle::from_raw_unchecked(handle).into_arc::<T>() });
    }

    fn error_of(status: RustCallStatus) -> PesakitError {
        assert_eq!(status.code, RustCallStatusCode::Error);
        let buffer = ManuallyDrop::into_inner(status.error_buf);
        <PesakitError as Lift<UniFfiTag>>::try_lift_from_rust_buffer(buffer).unwrap()
    }

    fn paypack(body: &[u8], signature: Option<&str>) -> (Vec<u8>, RustCallStatus) {
        let verifier = PaypackWebhookVerifier::new("secret".into()).unwrap();
        let raw = handle(&verifier);
        let mut status = RustCallStatus::default();
        let (text, len) =
            signature.map_or((std::ptr::null(), -1), |s| (s.as_ptr(), s.len() as isize));
        // SAFETY: a live handle; pointers and lengths of live slices.
        let answer = unsafe {
            pesakit_paypack_webhook_verify_and_parse(
                raw,
                body.as_ptr(),
                body.len(),
                text,
                len,
                &mut status,
            )
        };
        release::<PaypackWebhookVerifier>(raw);
        // The verifier's handle was only borrowed: the test's reference is the last one.
        assert_eq!(Arc::strong_count(&verifier), 1);
        (answer.destroy_into_vec(), status)
    }

    #[test]
    fn answers_exactly_what_the_uniffi_method_answers() {
        let verifier = PaypackWebhookVerifier::new("secret".into()).unwrap();
        let signature = verifier.sign(Bytes(BODY.to_vec()));
        let expected = verifier
            .verify_and_parse(Bytes(BODY.to_vec()), Some(signature.clone()))
            .unwrap();
        let (answer, status) = paypack(BODY, Some(&signature));
        assert_eq!(status.code, RustCallStatusCode::Success);
        let lowered = <Event as Lower<UniFfiTag>>::lower(expected).destroy_into_vec();
        assert_eq!(answer, lowered);
    }

    #[test]
    fn errors_are_the_uniffi_method_errors() {
        let (answer, status) = paypack(BODY, Some("AAAA"));
        assert!(answer.is_empty());
        assert_eq!(error_of(status).kind(), ErrorKind::WebhookSignature);
        // Absent header: a null pointer and a negative length.
        let (_, status) = paypack(BODY, None);
        assert_eq!(error_of(status).kind(), ErrorKind::WebhookSignature);
        // An empty body may come with a null pointer.
        let verifier = PaypackWebhookVerifier::new("secret".into()).unwrap();
        let signature = verifier.sign(Bytes(Vec::new()));
        let raw = handle(&verifier);
        let mut status = RustCallStatus::default();
        // SAFETY: a live handle; a null body of length 0; a live signature.
        unsafe {
            pesakit_paypack_webhook_verify(
                raw,
                std::ptr::null(),
                0,
                signature.as_ptr(),
                signature.len() as isize,
                &mut status,
            )
        };
        release::<PaypackWebhookVerifier>(raw);
        assert_eq!(status.code, RustCallStatusCode::Success);
    }

    #[test]
    fn a_header_that_is_not_utf8_is_refused() {
        let verifier = CheckoutWebhookVerifier::new("secret".into(), 300).unwrap();
        let raw = handle(&verifier);
        let mut status = RustCallStatus::default();
        let bad = [0xffu8, 0xfe];
        // SAFETY: a live handle; pointers and lengths of live slices.
        let answer = unsafe {
            pesakit_checkout_webhook_verify_and_parse(
                raw,
                BODY.as_ptr(),
                BODY.len(),
                bad.as_ptr(),
                2,
                std::ptr::null(),
                -1,
                std::ptr::null(),
                -1,
                &mut status,
            )
        };
        release::<CheckoutWebhookVerifier>(raw);
        assert!(answer.destroy_into_vec().is_empty());
        let error = error_of(status);
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert!(error.to_string().contains("not UTF-8"), "{error}");
    }
}
