//! `/_sandbox/paypack`: the ledger, settling, token expiry and revocation, run-time
//! configuration, webhook registration and deliveries.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{RuntimeConfig, Status, TokenType};
use super::wire;
use super::Paypack;
use crate::control::Which;
use crate::error::{self, parse_json, ApiError};

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn router(paypack: Arc<Paypack>) -> Router {
    Router::new()
        .route("/_sandbox/paypack/ledger", get(ledger))
        .route(
            "/_sandbox/paypack/transactions/{reference}/settle",
            post(settle),
        )
        .route("/_sandbox/paypack/seed", post(seed))
        .route("/_sandbox/paypack/tokens/expire", post(expire_tokens))
        .route("/_sandbox/paypack/tokens/revoke", post(revoke_tokens))
        .route("/_sandbox/paypack/config", get(get_config).post(set_config))
        .route(
            "/_sandbox/paypack/webhooks",
            get(list_webhooks).post(add_webhook),
        )
        .route("/_sandbox/paypack/webhooks/deliveries", get(deliveries))
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(paypack)
}

async fn ledger(State(paypack): State<Arc<Paypack>>) -> Json<Value> {
    let state = paypack.lock();
    let merchants: Vec<Value> = state.merchants.iter().map(wire::ledger_merchant).collect();
    let transactions: Vec<Value> = state
        .transactions
        .iter()
        .map(wire::ledger_transaction)
        .collect();
    Json(json!({ "merchants": merchants, "transactions": transactions }))
}

async fn settle(
    State(paypack): State<Arc<Paypack>>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settle {
        #[serde(default)]
        status: Option<String>,
    }
    let request: Settle = parse_json(&body, true)?;
    let status = match request.status.as_deref() {
        None => None,
        Some("successful") => Some(Status::Successful),
        Some("failed") => Some(Status::Failed),
        Some(_) => {
            return Err(ApiError::bad_request(
                "status must be \"successful\" or \"failed\"",
            ))
        }
    };
    let transaction = paypack.settle(&reference, status)?;
    Ok(Json(wire::ledger_transaction(&transaction)))
}

/// Most transactions one seed request may create.
const MAX_SEED: usize = 200_000;

async fn seed(State(paypack): State<Arc<Paypack>>, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Seed {
        count: usize,
    }
    let request: Seed = parse_json(&body, false)?;
    if request.count == 0 || request.count > MAX_SEED {
        return Err(ApiError::bad_request(format!(
            "count must be 1 to {MAX_SEED}"
        )));
    }
    let (first, last) = paypack
        .lock()
        .seed(request.count, jiff::Timestamp::now())
        .ok_or_else(|| ApiError::bad_request("there is no application to seed"))?;
    Ok(Json(
        json!({ "count": request.count, "first_ref": first, "last_ref": last }),
    ))
}

fn invalidate(paypack: &Paypack, body: &[u8], revoke: bool) -> Answer {
    let which = match Which::parse(body, true)? {
        Which::Access => Some(TokenType::Access),
        Which::Refresh => Some(TokenType::Refresh),
        Which::All => None,
    };
    let count = paypack.lock().invalidate_tokens(which, revoke);
    Ok(Json(json!({ "count": count })))
}

async fn expire_tokens(State(paypack): State<Arc<Paypack>>, body: Bytes) -> Answer {
    invalidate(&paypack, &body, false)
}

async fn revoke_tokens(State(paypack): State<Arc<Paypack>>, body: Bytes) -> Answer {
    invalidate(&paypack, &body, true)
}

fn config_json(config: &RuntimeConfig) -> Value {
    json!({
        "settle_after_ms": config.settle_after.map_or(0, |d| d.as_millis() as u64),
        "refresh_path": config.refresh_path,
        "agents_refresh_path": config.agents_refresh_path,
        "access_ttl_secs": config.access_ttl.as_secs(),
        "refresh_ttl_secs": config.refresh_ttl.as_secs(),
    })
}

async fn get_config(State(paypack): State<Arc<Paypack>>) -> Json<Value> {
    Json(config_json(&paypack.lock().config))
}

async fn set_config(State(paypack): State<Arc<Paypack>>, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Update {
        settle_after_ms: Option<u64>,
        refresh_path: Option<bool>,
        agents_refresh_path: Option<bool>,
        access_ttl_secs: Option<u64>,
        refresh_ttl_secs: Option<u64>,
    }
    let update: Update = parse_json(&body, true)?;
    let mut state = paypack.lock();
    let config = &mut state.config;
    if let Some(ms) = update.settle_after_ms {
        config.settle_after = (ms > 0).then(|| Duration::from_millis(ms));
    }
    if let Some(enabled) = update.refresh_path {
        config.refresh_path = enabled;
    }
    if let Some(enabled) = update.agents_refresh_path {
        config.agents_refresh_path = enabled;
    }
    if let Some(secs) = update.access_ttl_secs {
        config.access_ttl = Duration::from_secs(secs);
    }
    if let Some(secs) = update.refresh_ttl_secs {
        config.refresh_ttl = Duration::from_secs(secs);
    }
    Ok(Json(config_json(config)))
}

async fn list_webhooks(State(paypack): State<Arc<Paypack>>) -> Json<Value> {
    let state = paypack.lock();
    let hooks: Vec<Value> = state
        .webhooks
        .iter()
        .map(|w| json!({ "id": w.id, "url": w.url, "mode": w.mode }))
        .collect();
    Json(Value::Array(hooks))
}

async fn add_webhook(State(paypack): State<Arc<Paypack>>, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Register {
        url: String,
        #[serde(default)]
        mode: Option<String>,
    }
    let request: Register = parse_json(&body, false)?;
    if !(request.url.starts_with("http://") || request.url.starts_with("https://")) {
        return Err(ApiError::bad_request(
            "url must be an http:// or https:// URL",
        ));
    }
    let mode = match request.mode.map(|m| m.trim().to_ascii_lowercase()) {
        None => None,
        Some(mode) if mode == "development" || mode == "production" => Some(mode),
        Some(_) => {
            return Err(ApiError::bad_request(
                "mode must be \"development\" or \"production\"",
            ))
        }
    };
    let id = paypack.lock().add_webhook(request.url, mode);
    Ok(Json(json!({ "id": id })))
}

async fn deliveries(State(paypack): State<Arc<Paypack>>) -> Json<Value> {
    Json(json!(paypack.webhooks.deliveries()))
}
