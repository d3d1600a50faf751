//! The Paga Connect gateway (`/paga`, every path under `/paga/paga-webservices/…`:
//! OAuth2 authorization and token endpoints, and the secure operations) and its
//! control routes (`/_sandbox/paga`).

mod control;
mod handlers;
mod oauth;
pub(crate) mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::{get, post};
use axum::Router;

use crate::error;
use crate::SandboxConfig;
use state::State;

/// The Paga Connect emulator: its state behind one mutex.
#[derive(Debug)]
pub(crate) struct Paga {
    state: Mutex<State>,
}

impl Paga {
    /// A fresh gateway configured from `config`.
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        Paga {
            state: Mutex::new(State::new(config)),
        }
    }

    /// Locks the state. Never held across an `.await`.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The gateway's own routes, to be nested under `/paga`.
pub(crate) fn router(paga: Arc<Paga>) -> Router {
    const SECURE: &str = "/paga-webservices/oauth2/secure";
    const PAYMENT: &str = "/paga-webservices/oauth2/secure/merchantPayment/referenceNumber/{ref}/amount/{amount}/merchantCustomerReference/{customer}";
    Router::new()
        .route(
            "/paga-webservices/oauth2/authorization",
            get(oauth::authorization),
        )
        .route("/paga-webservices/oauth2/token", post(oauth::token))
        .route(PAYMENT, post(handlers::merchant_payment))
        .route(
            &format!("{PAYMENT}/merchantProductCode/{{product}}"),
            post(handlers::merchant_payment),
        )
        .route(
            &format!("{PAYMENT}/currency/{{currency}}"),
            post(handlers::merchant_payment),
        )
        .route(
            &format!("{PAYMENT}/merchantProductCode/{{product}}/currency/{{currency}}"),
            post(handlers::merchant_payment),
        )
        .route(
            &format!("{SECURE}/moneyTransfer/v2"),
            post(handlers::money_transfer),
        )
        .route(
            &format!("{SECURE}/getUserDetails"),
            post(handlers::user_details),
        )
        .route(
            &format!("{SECURE}/getUserDetails/referenceNumber/{{ref}}"),
            post(handlers::user_details),
        )
        .route(
            &format!("{SECURE}/getOneTimeToken/referenceNumber/{{ref}}"),
            post(handlers::one_time_token),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(paga)
}

/// The `/_sandbox/paga` control routes.
pub(crate) fn control_router(paga: Arc<Paga>) -> Router {
    control::router(paga)
}
