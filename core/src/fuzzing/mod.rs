//! Entry points for fuzzing (cargo feature `fuzzing`, off by default; not a public API).
//!
//! Each function here runs exactly the code a client runs on an answer body, a header
//! or a callback: the decoders are the ones the clients call, not copies. The fuzz
//! targets under `core/fuzz/` and the `fuzz_seeds` regression test drive them through
//! [`targets`], which splits raw input into fields and checks invariants.

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};

use crate::checkout::{Checkout, Payment, PaymentApplication};
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::paga::{Grant, MerchantPayment, MoneyTransfer, UserDetails};
use crate::paypack::{Event, EventPage, Profile, Transaction, TransactionPage};
use crate::secret::Secret;
use crate::time::Timestamp;
use crate::token::TokenSet;

pub mod targets;

/// The previous refresh token the refresh decoders are given (a refresh answer without
/// a new one keeps it).
pub const PREVIOUS_REFRESH: &str = "previous-refresh-token";

// ---- Paypack ------------------------------------------------------------------------

/// Paypack authorize/refresh answer → tokens.
pub fn paypack_token(body: &[u8]) -> Result<TokenSet> {
    crate::paypack::token_set(body, "Paypack authorize")
}

/// Paypack cash-in / cash-out / find answer → transaction.
pub fn paypack_transaction(body: &[u8]) -> Result<Transaction> {
    crate::paypack::decode_transaction("Paypack cash-in", body)
}

/// Paypack transaction list answer.
pub fn paypack_transaction_page(body: &[u8]) -> Result<TransactionPage> {
    crate::paypack::decode_transaction_page(body, 0, 20)
}

/// Paypack events page answer.
pub fn paypack_event_page(body: &[u8]) -> Result<EventPage> {
    crate::paypack::decode_event_page(body, 0, 20)
}

/// Paypack merchant profile answer.
pub fn paypack_profile(body: &[u8]) -> Result<Profile> {
    crate::paypack::decode_profile(body)
}

/// A Paypack webhook body parsed without a signature check (what
/// `verify_and_parse` runs once the signature matched).
pub fn paypack_webhook_body(body: &[u8]) -> Result<Event> {
    crate::paypack::parse_event(body)
}

// ---- hosted checkout ------------------------------------------------------------------

/// Create-checkout answer.
pub fn checkout_created(body: &[u8]) -> Result<Checkout> {
    crate::checkout::decode_created(body)
}

/// Get-payment answer.
pub fn checkout_payment(body: &[u8]) -> Result<Payment> {
    crate::checkout::decode_payment(body)
}

/// Payer-instructions answer.
pub fn checkout_payer_instructions(body: &[u8]) -> Result<serde_json::Value> {
    crate::checkout::decode_payer_instructions(body)
}

/// Payment applications list answer.
pub fn checkout_applications(body: &[u8]) -> Result<Vec<PaymentApplication>> {
    crate::checkout::decode_applications(body)
}

/// One payment application answer (get or create).
pub fn checkout_application(body: &[u8]) -> Result<PaymentApplication> {
    crate::checkout::application_answer(body)
}

/// OAuth refresh answer, with [`PREVIOUS_REFRESH`] as the refresh token sent.
pub fn checkout_oauth_refresh(body: &[u8]) -> Result<TokenSet> {
    crate::checkout::decode_oauth_refresh(body, &Secret::new(PREVIOUS_REFRESH))
}

// ---- Paga Connect ---------------------------------------------------------------------

/// Code-exchange answer → what was granted and the tokens.
pub fn paga_code_exchange(body: &[u8]) -> Result<(Grant, TokenSet)> {
    crate::paga::grant_from(crate::oauth::decode_token_response(
        "Paga code exchange",
        body,
    )?)
}

/// Refresh answer, with [`PREVIOUS_REFRESH`] as the refresh token sent.
pub fn paga_refresh(body: &[u8]) -> Result<TokenSet> {
    crate::paga::decode_refresh(body, &Secret::new(PREVIOUS_REFRESH))
}

/// Merchant payment answer.
pub fn paga_merchant_payment(body: &[u8]) -> Result<MerchantPayment> {
    crate::paga::decode_merchant_payment(body)
}

/// Money transfer answer.
pub fn paga_money_transfer(body: &[u8]) -> Result<MoneyTransfer> {
    crate::paga::decode_money_transfer(body)
}

/// User details answer.
pub fn paga_user_details(body: &[u8]) -> Result<UserDetails> {
    crate::paga::decode_user_details(body)
}

/// One-time token answer.
pub fn paga_one_time_token(body: &[u8]) -> Result<serde_json::Value> {
    crate::paga::decode_one_time_token(body)
}

/// The authorization code of a callback URL, checked against `state`.
pub fn paga_callback(callback_url: &str, state: &str) -> Result<String> {
    crate::paga::callback_code(callback_url, state)
}

// ---- error answers --------------------------------------------------------------------

/// Which client call a failed answer came back to: each adds its own advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorPath {
    /// A Paypack read or money call.
    PaypackCall,
    /// Paypack authorize (the answer carries tokens).
    PaypackAuthorize,
    /// Checkout create (client token, `payments.create`).
    CheckoutCreate,
    /// Checkout get payment (client token, `payments.get`).
    CheckoutRead,
    /// Checkout OAuth token refresh (the answer carries tokens).
    CheckoutOAuthRefresh,
    /// Checkout payment applications (OAuth).
    CheckoutApplications,
    /// Paga token endpoint (the answer carries tokens).
    PagaToken,
    /// A Paga operation on behalf of a user.
    PagaOperation,
}

impl ErrorPath {
    /// Every path, in a fixed order.
    pub const ALL: [ErrorPath; 8] = [
        ErrorPath::PaypackCall,
        ErrorPath::PaypackAuthorize,
        ErrorPath::CheckoutCreate,
        ErrorPath::CheckoutRead,
        ErrorPath::CheckoutOAuthRefresh,
        ErrorPath::CheckoutApplications,
        ErrorPath::PagaToken,
        ErrorPath::PagaOperation,
    ];

    /// Whether the answer may carry tokens (its body is never kept).
    pub fn sensitive(self) -> bool {
        matches!(
            self,
            ErrorPath::PaypackAuthorize | ErrorPath::CheckoutOAuthRefresh | ErrorPath::PagaToken
        )
    }
}

/// The error a client returns for an answer with a non-2xx `status`, the given
/// `Content-Type` and `Retry-After` header values (skipped when not valid header
/// bytes) and `body`, as translated by the transport and then by the calling client.
pub fn error_answer(
    path: ErrorPath,
    status: u16,
    content_type: Option<&[u8]>,
    retry_after: Option<&[u8]>,
    body: &[u8],
) -> Error {
    let mut headers = HeaderMap::new();
    if let Some(v) = content_type.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(CONTENT_TYPE, v);
    }
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(RETRY_AFTER, v);
    }
    let (what, scope) = match path {
        ErrorPath::PaypackCall => ("Paypack find", None),
        ErrorPath::PaypackAuthorize => ("Paypack authorize", None),
        ErrorPath::CheckoutCreate => (
            "checkout create checkout",
            Some(crate::checkout::SCOPE_CREATE),
        ),
        ErrorPath::CheckoutRead => ("checkout get payment", Some(crate::checkout::SCOPE_GET)),
        ErrorPath::CheckoutOAuthRefresh => ("checkout OAuth token refresh", None),
        ErrorPath::CheckoutApplications => ("checkout list payment applications", None),
        ErrorPath::PagaToken => ("Paga code exchange", None),
        ErrorPath::PagaOperation => ("Paga merchant payment", None),
    };
    let e = crate::http::failed_answer(what, status, &headers, body, path.sensitive());
    match path {
        ErrorPath::PaypackCall | ErrorPath::CheckoutApplications => e,
        ErrorPath::PaypackAuthorize => crate::paypack::authorize_error(e),
        ErrorPath::CheckoutCreate => crate::checkout::create_error(
            crate::checkout::scope_note(e, scope.unwrap_or_default()),
            "order-1",
        ),
        ErrorPath::CheckoutRead => crate::checkout::scope_note(e, scope.unwrap_or_default()),
        ErrorPath::CheckoutOAuthRefresh => {
            crate::oauth::token_error(e, "checkout OAuth token refresh")
        }
        ErrorPath::PagaToken => crate::oauth::token_error(e, "Paga code exchange"),
        ErrorPath::PagaOperation => crate::paga::scope_refused(e),
    }
}

// ---- small parsers --------------------------------------------------------------------

/// The JSON number an amount is sent as.
pub fn amount_to_json(amount: Amount) -> Result<serde_json::Number> {
    amount.to_json_number()
}

/// A timestamp field read leniently from JSON (`null`, a string in any offset and
/// precision, unix seconds; anything else is `None`), as the wire models read it.
pub fn lenient_timestamp(json: &[u8]) -> serde_json::Result<Option<Timestamp>> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let v = crate::time::lenient::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// The `exp` claim of a JWT, when it has one.
pub fn jwt_expiry(token: &str) -> Option<Timestamp> {
    crate::token::jwt_expiry(token)
}

/// When a Paypack access token expires, from its `expires` value (absolute or
/// relative seconds), its JWT `exp`, or the fallback.
pub fn token_expiry(
    expires: Option<&serde_json::Value>,
    access_token: &str,
    now: Timestamp,
) -> Timestamp {
    crate::token::expiry_from(
        expires,
        access_token,
        now,
        std::time::Duration::from_secs(300),
    )
}
