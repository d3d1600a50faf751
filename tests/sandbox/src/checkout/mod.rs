//! The hosted-checkout gateway (`/checkout`: its API under `/checkout/api`, OAuth2 under
//! `/checkout/oauth/token`, hosted pages under `/checkout/checkout/{id}`) and its
//! control routes (`/_sandbox/checkout`).

mod control;
mod handlers;
mod oauth;
pub(crate) mod state;
pub(crate) mod webhooks;
pub(crate) mod wire;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::{get, post};
use axum::Router;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use crate::error::ApiError;
use crate::server::Tasks;
use crate::SandboxConfig;
use state::{Payment, State, Status};
use webhooks::Deliveries;

/// The hosted-checkout emulator: its state behind one mutex, plus what it needs to act
/// in the background.
#[derive(Debug)]
pub(crate) struct Checkout {
    state: Mutex<State>,
    /// `http://127.0.0.1:PORT/checkout`, the base of the hosted pages' URLs.
    base_url: String,
    /// Signs the hosted pages' URLs (Laravel's signed routes).
    url_key: [u8; 32],
    /// Signs OAuth2 access tokens.
    jwt_key: [u8; 32],
    deliveries: Arc<Deliveries>,
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    key.iter_mut().for_each(|b| *b = fastrand::u8(..));
    key
}

impl Checkout {
    /// A fresh gateway configured from `config`, answering under `base_url`.
    pub(crate) fn new(
        config: &SandboxConfig,
        base_url: String,
        http: reqwest::Client,
        tasks: Arc<Tasks>,
    ) -> Self {
        Checkout {
            state: Mutex::new(State::new(config, Timestamp::now())),
            base_url,
            url_key: random_key(),
            jwt_key: random_key(),
            deliveries: Arc::new(Deliveries::new(http, tasks)),
        }
    }

    /// Locks the state. Never held across an `.await`.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The unsigned part of a hosted page's URL: `{base}/checkout/{id}?expires={unix}`.
    fn unsigned_checkout_url(&self, payment_id: &str, expires: i64) -> String {
        format!("{}/checkout/{payment_id}?expires={expires}", self.base_url)
    }

    /// Lowercase hex HMAC-SHA256 of the unsigned URL, as Laravel signs routes.
    fn url_signature(&self, unsigned: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.url_key).expect("HMAC accepts any key length");
        mac.update(unsigned.as_bytes());
        wire::hex(&mac.finalize().into_bytes())
    }

    /// The signed hosted-page URL of a payment.
    fn checkout_url(&self, payment_id: &str, expires: i64) -> String {
        let unsigned = self.unsigned_checkout_url(payment_id, expires);
        let signature = self.url_signature(&unsigned);
        format!("{unsigned}&signature={signature}")
    }

    /// Moves a payment to `status` and sends the webhook announcing it, if its
    /// application has a callback URL.
    fn set_status(
        &self,
        id: &str,
        status: Status,
        received_minor: Option<i64>,
    ) -> Result<Payment, ApiError> {
        let (payment, job) =
            self.lock()
                .set_status(id, status, received_minor, Timestamp::now())?;
        if let Some(job) = job {
            self.deliveries.send(job);
        }
        Ok(payment)
    }
}

/// The gateway's own routes, to be nested under `/checkout`.
pub(crate) fn router(checkout: Arc<Checkout>) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/api/payment/checkout", post(handlers::create_checkout))
        .route("/api/payment/{id}", get(handlers::get_payment))
        .route(
            "/api/payment/{id}/provider/{provider}/method/{method}",
            get(handlers::instructions),
        )
        .route(
            "/api/payment-applications",
            get(handlers::list_applications).post(handlers::create_application),
        )
        .route(
            "/api/payment-applications/{id}",
            get(handlers::get_application),
        )
        .route("/checkout/{id}", get(handlers::checkout_page))
        .fallback(handlers::route_not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(checkout)
}

/// The `/_sandbox/checkout` control routes.
pub(crate) fn control_router(checkout: Arc<Checkout>) -> Router {
    control::router(checkout)
}
