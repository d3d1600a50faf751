//! The UniFFI surface of pesakit.
//!
//! This crate only converts types and wraps objects: every behaviour lives in the
//! `pesakit` crate. The Python, Kotlin and Swift packages are generated from the
//! library this crate builds, so the doc comments here are their docs.
#![warn(missing_docs)]
// `PesakitError` is large because its fields are what crosses the boundary (UniFFI
// errors cannot be boxed); it is only built on the failure path.
#![allow(clippy::result_large_err)]

uniffi::setup_scaffolding!("pesakit");

// pesakit's own threads allocate from a private mimalloc, the host's threads from the
// host's `malloc` (docs/adr/0017-mimalloc-on-pesakit-threads-only.md).
#[cfg(target_os = "linux")]
mod alloc;
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: alloc::SplitAllocator = alloc::SplitAllocator;

#[macro_use]
mod runtime;
mod borrowed;
mod callbacks;
mod checkout;
mod columns;
mod error;
mod host;
mod mailbox;
mod paga;
mod paypack;
mod types;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use callbacks::{LogLevel, Logger, TokenSet, TokenStore};
pub use checkout::{
    Checkout, CheckoutClient, CheckoutEventKind, CheckoutOAuth, CheckoutOptions, CheckoutRequest,
    CheckoutWebhookEvent, CheckoutWebhookVerifier, Money, NewPaymentApplication, Payment,
    PaymentApplication, PaymentStatus,
};
pub use error::{ErrorKind, FieldError, PesakitError};
pub use paga::{
    new_paga_reference_number, PagaAuthorization, PagaClient, PagaEnvironment, PagaGrant,
    PagaMerchantPaymentRequest, PagaMoneyTransferRequest, PagaOptions, PagaPaymentResult,
    PagaTokenRequestStyle, PagaUserDetails,
};
pub use paypack::{
    PaypackClient, PaypackEventPager, PaypackOptions, PaypackTransactionPager,
    PaypackWebhookVerifier,
};
pub use types::{
    AmountText, Bytes, CashRequest, Event, EventFilter, EventKind, EventPage, Profile, Transaction,
    TransactionFilter, TransactionKind, TransactionPage, TransactionStatus, WebhookMode,
};

use pesakit::Amount;

// Money crosses the boundary as its exact decimal text and surfaces as Python
// `Decimal`, Kotlin `BigDecimal` and Swift `Decimal` (see uniffi.toml).
uniffi::custom_type!(Amount, String, {
    remote,
    lower: |amount| amount.to_string(),
    try_lift: |text| Ok(text.parse::<Amount>()?),
});

/// The version of pesakit this library was built from.
#[uniffi::export]
pub fn pesakit_version() -> String {
    pesakit::VERSION.to_owned()
}

/// A new idempotency key: 32 random hexadecimal characters.
#[uniffi::export]
pub fn new_idempotency_key() -> String {
    pesakit::paypack::new_idempotency_key()
}

/// Normalises a Rwandan MTN or Airtel number (`07…`, `2507…`, `+2507…`) to the
/// `07XXXXXXXX` form Paypack expects; a validation error otherwise.
#[uniffi::export]
pub fn normalize_rw_phone(number: String) -> Result<String, PesakitError> {
    Ok(pesakit::paypack::normalize_phone(&number)?)
}
