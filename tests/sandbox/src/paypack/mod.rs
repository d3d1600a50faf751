//! The Paypack gateway (`/paypack/api`) and its control routes
//! (`/_sandbox/paypack`).

mod control;
mod handlers;
pub(crate) mod state;
pub(crate) mod wire;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use jiff::Timestamp;

use crate::error::{self, ApiError};
use crate::server::Tasks;
use crate::webhooks::{self, Outgoing, Webhooks};
use crate::SandboxConfig;
use state::{Event, State, Status, Transaction};

/// Header that carries a webhook's signature.
const SIGNATURE_HEADER: &str = "X-Paypack-Signature";

/// The Paypack emulator: its state behind one mutex, plus what it needs to act in the
/// background.
#[derive(Debug)]
pub(crate) struct Paypack {
    state: Mutex<State>,
    jwt_key: [u8; 32],
    webhook_secret: String,
    webhooks: Arc<Webhooks>,
    tasks: Arc<Tasks>,
}

impl Paypack {
    /// A fresh gateway configured from `config`.
    pub(crate) fn new(config: &SandboxConfig, webhooks: Arc<Webhooks>, tasks: Arc<Tasks>) -> Self {
        let mut jwt_key = [0u8; 32];
        jwt_key.iter_mut().for_each(|b| *b = fastrand::u8(..));
        Paypack {
            state: Mutex::new(State::new(config)),
            jwt_key,
            webhook_secret: config.webhook_secret.clone(),
            webhooks,
            tasks,
        }
    }

    /// Locks the state. Never held across an `.await`.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `event` to every webhook whose mode matches its transaction.
    fn dispatch(&self, event: &Event) {
        let targets = self.lock().webhook_targets(&event.transaction.webhook_mode);
        if targets.is_empty() {
            return;
        }
        let body = serde_json::to_vec(&wire::event_envelope(event)).expect("JSON serialises");
        let signature = webhooks::sign(&self.webhook_secret, &body);
        for url in targets {
            self.webhooks.send(Outgoing {
                url,
                event_id: event.id.clone(),
                event_kind: event.kind.as_str().to_owned(),
                body: body.clone(),
                headers: vec![(SIGNATURE_HEADER, signature.clone())],
            });
        }
    }

    /// Settles a pending transaction and announces it; 404 unknown, 409 already done.
    fn settle(&self, reference: &str, status: Option<Status>) -> Result<Transaction, ApiError> {
        let (transaction, event) = {
            let mut state = self.lock();
            let now = Timestamp::now();
            state.settle(reference, status, now)?
        };
        self.dispatch(&event);
        Ok(transaction)
    }

    /// Settles `reference` to its natural outcome after `after`, unless the control API
    /// got there first.
    fn schedule_settle(self: &Arc<Self>, reference: String, after: Duration) {
        let gateway = Arc::downgrade(self);
        self.tasks.spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(gateway) = gateway.upgrade() {
                // Already settled through the control API: nothing to do.
                let _ = gateway.settle(&reference, None);
            }
        });
    }
}

/// The gateway's own routes, to be nested under `/paypack/api`.
pub(crate) fn api_router(paypack: Arc<Paypack>) -> Router {
    Router::new()
        .route("/auth/agents/authorize", post(handlers::authorize))
        .route("/auth/refresh/{token}", get(handlers::refresh))
        .route(
            "/auth/agents/refresh/{token}",
            get(handlers::agents_refresh),
        )
        .route("/transactions/cashin", post(handlers::cashin))
        .route("/transactions/cashout", post(handlers::cashout))
        .route("/transactions/find/{reference}", get(handlers::find))
        .route("/transactions/list", get(handlers::list))
        .route("/events/transactions", get(handlers::events))
        .route("/merchants/me", get(handlers::profile))
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(paypack)
}

/// The `/_sandbox/paypack` control routes.
pub(crate) fn control_router(paypack: Arc<Paypack>) -> Router {
    control::router(paypack)
}
