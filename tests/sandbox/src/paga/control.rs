//! `/_sandbox/paga`: token expiry, the ledger, run-time configuration.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::State as Ledger;
use super::Paga;
use crate::control::Which;
use crate::error::{self, parse_json, ApiError};
use crate::paypack::wire::money;

type Answer = Result<Json<Value>, ApiError>;

pub(super) fn router(paga: Arc<Paga>) -> Router {
    Router::new()
        .route("/_sandbox/paga/tokens/expire", post(expire))
        .route("/_sandbox/paga/ledger", get(ledger))
        .route("/_sandbox/paga/config", get(get_config).post(set_config))
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(paga)
}

async fn expire(State(paga): State<Arc<Paga>>, body: Bytes) -> Answer {
    let which = Which::parse(&body, false)?;
    let mut state = paga.lock();
    let mut count = 0;
    if which.access() {
        count += state.expire(false);
    }
    if which.refresh() {
        count += state.expire(true);
    }
    Ok(Json(json!({ "count": count })))
}

async fn ledger(State(paga): State<Arc<Paga>>) -> Json<Value> {
    let state = paga.lock();
    let users: Vec<Value> = state
        .users
        .iter()
        .map(|u| {
            json!({
                "login": u.login,
                "username": u.username,
                "first_name": u.first_name,
                "last_name": u.last_name,
                "email": u.email,
                "public_id": u.public_id,
                "phone": u.phone,
                "balance": money(u.balance),
                "approves": u.approves,
            })
        })
        .collect();
    let payments: Vec<Value> = state
        .payments
        .iter()
        .map(|p| {
            json!({
                "reference": p.reference,
                "transaction_id": p.transaction_id,
                "confirmation_code": p.confirmation_code,
                "user": p.login,
                "amount": money(p.amount),
                "currency": p.currency,
                "merchant_customer_reference": p.customer_reference,
                "merchant_product_code": p.product_code,
                "created_at": p.created_at.to_string(),
            })
        })
        .collect();
    let transfers: Vec<Value> = state
        .transfers
        .iter()
        .map(|t| {
            json!({
                "reference": t.reference,
                "transaction_id": t.transaction_id,
                "user": t.login,
                "recipient": t.recipient,
                "amount": money(t.amount),
                "skip_messaging": t.skip_messaging,
                "created_at": t.created_at.to_string(),
            })
        })
        .collect();
    Json(json!({
        "merchant": { "balance": money(state.merchant_balance) },
        "users": users,
        "payments": payments,
        "transfers": transfers,
    }))
}

fn config_json(state: &Ledger) -> Value {
    json!({
        "code_ttl_secs": state.config.code_ttl.as_secs(),
        "access_ttl_secs": state.config.access_ttl.as_secs(),
    })
}

async fn get_config(State(paga): State<Arc<Paga>>) -> Json<Value> {
    Json(config_json(&paga.lock()))
}

async fn set_config(State(paga): State<Arc<Paga>>, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Update {
        code_ttl_secs: Option<u64>,
        access_ttl_secs: Option<u64>,
    }
    let update: Update = parse_json(&body, true)?;
    let mut state = paga.lock();
    if let Some(secs) = update.code_ttl_secs {
        state.config.code_ttl = Duration::from_secs(secs);
    }
    if let Some(secs) = update.access_ttl_secs {
        state.config.access_ttl = Duration::from_secs(secs);
    }
    Ok(Json(config_json(&state)))
}
