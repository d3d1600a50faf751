//! # pesakit
//!
//! One payments client for the mobile-money and checkout gateways of East and West
//! Africa. This crate is the pure-Rust core: it owns every wire format, the token
//! lifecycle, retries, money and webhook verification. The Python, Kotlin and Swift
//! packages are generated over it, so what is documented here is what every language
//! does.
//!
//! ## Quickstart (Paypack)
//!
//! ```no_run
//! use pesakit::{paypack, Amount};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), pesakit::Error> {
//! let client = paypack::Client::builder()
//!     .client_id("my-client-id")
//!     .client_secret("my-client-secret")
//!     .build()?;
//!
//! // Ask the customer to pay 1,000 RWF. An idempotency key is generated for you.
//! let tx = client
//!     .cashin(paypack::CashRequest::new(Amount::from(1000), "0781234567"))
//!     .await?;
//!
//! // Wait until the customer confirms (or declines) on their phone.
//! let done = client.wait_for_completion(&tx.reference, Duration::from_secs(120)).await?;
//! println!("{} is {}", done.reference, done.status);
//! # Ok(()) }
//! ```
//!
//! ## What is inside
//!
//! - [`paypack`]: the Paypack client, its models and its webhook verifier.
//! - [`paga`]: the Paga Connect client (OAuth 2.0 on behalf of Paga users, merchant
//!   payments, transfers, user details).
//! - [`checkout`]: the hosted-checkout client (checkout sessions, payments, payment
//!   applications) and its timestamped webhook verifier.
//! - [`Error`] and [`ErrorKind`]: the one error type, with a kind a program can branch on.
//! - [`Amount`]: decimal money, never a float.
//! - [`TokenStore`]: where tokens are kept; [`MemoryTokenStore`] by default.
//! - [`RetryPolicy`]: how idempotent requests are retried.
//! - [`Logger`]: an optional sink for log lines, which never carry a secret.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[macro_use]
mod settings;
mod error;
mod http;
mod lenient;
mod log;
mod money;
mod oauth;
mod secret;
mod signature;
mod time;
mod token;

pub mod checkout;
pub mod paga;
pub mod paypack;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use error::{Error, ErrorKind, FieldError, Result};
pub use http::RetryPolicy;
pub use log::{LogLevel, Logger};
pub use money::Amount;
/// The exact decimal type behind [`Amount`] and fee rates.
pub use rust_decimal::Decimal;
pub use secret::Secret;
pub use time::{parse_timestamp, Timestamp};
pub use token::{MemoryTokenStore, TokenSet, TokenStore};

// The README's Rust snippets run as doc tests, so they cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeSnippets;

/// The version of this crate, as sent in the `User-Agent` header (`pesakit/<version>`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `User-Agent` header pesakit sends on every request.
pub const USER_AGENT: &str = concat!("pesakit/", env!("CARGO_PKG_VERSION"));
