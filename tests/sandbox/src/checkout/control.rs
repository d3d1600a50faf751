//! `/_sandbox/checkout`: payment status changes (with their webhooks), the ledger,
//! run-time configuration, OAuth2 token expiry, webhook deliveries.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::state::{State as Ledger, Status};
use super::wire;
use super::Checkout;
use crate::control::Which;
use crate::error::{self, parse_json, ApiError};

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn router(checkout: Arc<Checkout>) -> Router {
    Router::new()
        .route("/_sandbox/checkout/payments/{id}/status", post(set_status))
        .route("/_sandbox/checkout/ledger", get(ledger))
        .route(
            "/_sandbox/checkout/config",
            get(get_config).post(set_config),
        )
        .route("/_sandbox/checkout/oauth/expire", post(expire_oauth))
        .route("/_sandbox/checkout/webhooks/deliveries", get(deliveries))
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(checkout)
}

async fn set_status(
    State(checkout): State<Arc<Checkout>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Change {
        status: String,
        #[serde(default)]
        received_minor: Option<i64>,
    }
    let change: Change = parse_json(&body, false)?;
    let status = Status::parse(&change.status).ok_or_else(|| {
        let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::bad_request(format!("status must be one of {}", known.join(", ")))
    })?;
    if change.received_minor.is_some_and(|m| m < 0) {
        return Err(ApiError::bad_request("received_minor must not be negative"));
    }
    let payment = checkout.set_status(&id, status, change.received_minor)?;
    Ok(Json(wire::ledger_payment(&payment)))
}

async fn ledger(State(checkout): State<Arc<Checkout>>) -> Json<Value> {
    let state = checkout.lock();
    let payments: Vec<Value> = state.payments.iter().map(wire::ledger_payment).collect();
    let applications: Vec<Value> = state
        .applications
        .iter()
        .map(|app| {
            let mut value = wire::application(app);
            value["secret"] = json!(app.secret);
            value
        })
        .collect();
    Json(json!({ "payments": payments, "applications": applications }))
}

fn config_json(state: &Ledger) -> Value {
    let callback_url = state
        .default_application()
        .and_then(|app| app.callback_url.clone());
    json!({
        "webhook_retry_delays_ms": state
            .config
            .webhook_retry_delays
            .iter()
            .map(|d| d.as_millis() as u64)
            .collect::<Vec<u64>>(),
        "oauth_ttl_secs": state.config.oauth_ttl.as_secs(),
        "callback_url": callback_url,
    })
}

async fn get_config(State(checkout): State<Arc<Checkout>>) -> Json<Value> {
    Json(config_json(&checkout.lock()))
}

/// Distinguishes an explicit `null` (`Some(None)`) from an absent field (`None`).
fn explicit<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

async fn set_config(State(checkout): State<Arc<Checkout>>, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Update {
        webhook_retry_delays_ms: Option<Vec<u64>>,
        oauth_ttl_secs: Option<u64>,
        #[serde(default, deserialize_with = "explicit")]
        callback_url: Option<Option<String>>,
    }
    let update: Update = parse_json(&body, true)?;
    if let Some(Some(url)) = &update.callback_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError::bad_request(
                "callback_url must be an http:// or https:// URL",
            ));
        }
    }
    let mut state = checkout.lock();
    if let Some(delays) = update.webhook_retry_delays_ms {
        state.config.webhook_retry_delays = delays.into_iter().map(Duration::from_millis).collect();
    }
    if let Some(secs) = update.oauth_ttl_secs {
        state.config.oauth_ttl = Duration::from_secs(secs);
    }
    if let Some(url) = update.callback_url {
        if let Some(app) = state.default_application_mut() {
            app.callback_url = url;
        }
    }
    Ok(Json(config_json(&state)))
}

async fn expire_oauth(State(checkout): State<Arc<Checkout>>, body: Bytes) -> Answer {
    let which = Which::parse(&body, false)?;
    let mut state = checkout.lock();
    let mut count = 0;
    if which.access() {
        count += state.expire_oauth(false);
    }
    if which.refresh() {
        count += state.expire_oauth(true);
    }
    Ok(Json(json!({ "count": count })))
}

async fn deliveries(State(checkout): State<Arc<Checkout>>) -> Json<Value> {
    Json(json!(checkout.deliveries.all()))
}
