//! The eight Paypack endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::state::{Created, Kind, NewTransaction, TokenType, Transaction};
use super::wire::{self, Bound};
use super::Paypack;
use crate::error::{parse_json, ApiError};

/// Longest accepted idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 32;

/// Default page size of list and events.
const DEFAULT_LIMIT: usize = 20;

type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;
type Answer = Result<Json<Value>, ApiError>;

/// The token of `Authorization: Bearer <token>` or of a bare `Authorization: <token>`.
fn presented_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing token"))?
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid token"))?
        .trim();
    let token = match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    };
    if token.is_empty() {
        return Err(ApiError::unauthorized("missing token"));
    }
    Ok(token)
}

fn query_map(query: QueryMap) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(map)| map)
        .map_err(|rejection| ApiError::bad_request(format!("invalid query: {rejection}")))
}

/// `POST /auth/agents/authorize`.
pub(super) async fn authorize(State(paypack): State<Arc<Paypack>>, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    struct Credentials {
        client_id: String,
        client_secret: String,
    }
    let credentials: Credentials = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("client_id and client_secret are required"))?;
    let mut state = paypack.lock();
    state.authorize(&credentials.client_id, &credentials.client_secret)?;
    let pair = state.issue_pair(&credentials.client_id, &paypack.jwt_key, Timestamp::now());
    Ok(Json(pair))
}

/// `GET /auth/refresh/{token}`.
pub(super) async fn refresh(
    State(paypack): State<Arc<Paypack>>,
    Path(token): Path<String>,
) -> Answer {
    refresh_pair(&paypack, &token, false)
}

/// `GET /auth/agents/refresh/{token}`.
pub(super) async fn agents_refresh(
    State(paypack): State<Arc<Paypack>>,
    Path(token): Path<String>,
) -> Answer {
    refresh_pair(&paypack, &token, true)
}

fn refresh_pair(paypack: &Paypack, token: &str, agents_path: bool) -> Answer {
    let mut state = paypack.lock();
    let enabled = if agents_path {
        state.config.agents_refresh_path
    } else {
        state.config.refresh_path
    };
    if !enabled {
        return Err(ApiError::not_found("not found"));
    }
    let now = Timestamp::now();
    let client_id = state.check_token(token, TokenType::Refresh, &paypack.jwt_key, now)?;
    Ok(Json(state.issue_pair(&client_id, &paypack.jwt_key, now)))
}

/// `POST /transactions/cashin`.
pub(super) async fn cashin(
    State(paypack): State<Arc<Paypack>>,
    headers: HeaderMap,
    query: QueryMap,
    body: Bytes,
) -> Answer {
    create(&paypack, Kind::CashIn, &headers, query, &body)
}

/// `POST /transactions/cashout`.
pub(super) async fn cashout(
    State(paypack): State<Arc<Paypack>>,
    headers: HeaderMap,
    query: QueryMap,
    body: Bytes,
) -> Answer {
    create(&paypack, Kind::CashOut, &headers, query, &body)
}

fn create(
    paypack: &Arc<Paypack>,
    kind: Kind,
    headers: &HeaderMap,
    query: QueryMap,
    body: &[u8],
) -> Answer {
    let token = presented_token(headers)?;
    let webhook_mode = headers
        .get("x-webhook-mode")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "production".to_owned());
    let (created, settle_after) = {
        // The lock is held from the idempotency check to the insertion, so concurrent
        // duplicates create one transaction.
        let mut state = paypack.lock();
        let now = Timestamp::now();
        let client_id = state.check_token(token, TokenType::Access, &paypack.jwt_key, now)?;
        let query = query_map(query)?;
        let idempotency_key = match headers.get("idempotency-key") {
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ApiError::bad_request("Idempotency-Key must be text"))?
                    .to_owned(),
            ),
            None => query.get("idempotency_key").cloned(),
        };
        if let Some(key) = &idempotency_key {
            if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY {
                return Err(ApiError::bad_request(format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
                )));
            }
        }
        let body: Value = parse_json(body, false)?;
        let request = NewTransaction {
            kind,
            body,
            idempotency_key,
            webhook_mode,
        };
        (
            state.create(&client_id, request, now)?,
            state.config.settle_after,
        )
    };
    match created {
        Created::Replayed(answer) => Ok(Json(answer)),
        Created::New(created) => {
            paypack.dispatch(&created.event);
            if let Some(after) = settle_after {
                paypack.schedule_settle(created.transaction.reference, after);
            }
            Ok(Json(created.answer))
        }
    }
}

/// `GET /transactions/find/{ref}`: 404 while unknown or pending.
pub(super) async fn find(
    State(paypack): State<Arc<Paypack>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Answer {
    let token = presented_token(&headers)?;
    let state = paypack.lock();
    let client_id =
        state.check_token(token, TokenType::Access, &paypack.jwt_key, Timestamp::now())?;
    match state.transaction(&reference) {
        Some(tx) if tx.client_id == client_id && tx.status != super::state::Status::Pending => {
            Ok(Json(wire::found(tx)))
        }
        _ => Err(ApiError::not_found("transaction not found")),
    }
}

/// `offset` and `limit` of a page.
fn page(query: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let number = |name: &str, default: usize| match query.get(name) {
        None => Ok(default),
        Some(text) if text.is_empty() => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("{name} must be a non-negative integer"))),
    };
    Ok((number("offset", 0)?, number("limit", DEFAULT_LIMIT)?))
}

/// The `from`/`to` filters, parsed.
type Range = (Option<(Timestamp, bool)>, Option<(Timestamp, bool)>);

fn range(query: &HashMap<String, String>) -> Result<Range, ApiError> {
    let bound = |name: &str, bound: Bound| {
        query
            .get(name)
            .filter(|text| !text.is_empty())
            .map(|text| {
                wire::parse_bound(text, bound).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{name} must be an RFC 3339 instant or a YYYY-MM-DD date"
                    ))
                })
            })
            .transpose()
    };
    Ok((bound("from", Bound::From)?, bound("to", Bound::To)?))
}

fn kind_filter(query: &HashMap<String, String>) -> Result<Option<Kind>, ApiError> {
    query
        .get("kind")
        .filter(|text| !text.is_empty())
        .map(|text| {
            Kind::parse(text).ok_or_else(|| ApiError::bad_request("kind must be CASHIN or CASHOUT"))
        })
        .transpose()
}

fn client_filter(query: &HashMap<String, String>) -> Option<String> {
    query
        .get("client")
        .filter(|text| !text.is_empty())
        .map(|text| wire::normalize_number(text).unwrap_or_else(|| text.clone()))
}

/// Copies the given filters into the answer, as strings.
fn echo(answer: &mut Map<String, Value>, query: &HashMap<String, String>, names: &[(&str, &str)]) {
    for (param, key) in names {
        if let Some(value) = query.get(*param).filter(|v| !v.is_empty()) {
            answer.insert((*key).to_owned(), Value::String(value.clone()));
        }
    }
}

/// `GET /transactions/list`: newest first, paginated, filtered.
pub(super) async fn list(
    State(paypack): State<Arc<Paypack>>,
    headers: HeaderMap,
    query: QueryMap,
) -> Answer {
    let token = presented_token(&headers)?;
    let state = paypack.lock();
    let client_id =
        state.check_token(token, TokenType::Access, &paypack.jwt_key, Timestamp::now())?;
    let query = query_map(query)?;
    let (offset, limit) = page(&query)?;
    let (from, to) = range(&query)?;
    let kind = kind_filter(&query)?;
    let client = client_filter(&query);
    let mut matching: Vec<&Transaction> = state
        .transactions
        .iter()
        .rev()
        .filter(|tx| tx.client_id == client_id)
        .filter(|tx| wire::in_range(tx.created_at, from, to))
        .filter(|tx| kind.map_or(true, |k| k == tx.kind))
        .filter(|tx| client.as_deref().map_or(true, |c| c == tx.number))
        .collect();
    matching.sort_by_key(|item| std::cmp::Reverse(item.created_at));
    let sum = |kind: Kind| -> Decimal {
        matching
            .iter()
            .filter(|tx| tx.kind == kind)
            .map(|tx| tx.amount)
            .sum()
    };
    let fees: Decimal = matching.iter().map(|tx| tx.fee).sum();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|tx| wire::found(tx))
        .collect();
    let mut answer = Map::new();
    answer.insert("offset".into(), json!(offset));
    answer.insert("limit".into(), json!(limit));
    echo(
        &mut answer,
        &query,
        &[
            ("from", "from"),
            ("to", "to"),
            ("kind", "kind"),
            ("client", "client"),
        ],
    );
    answer.insert("cashin".into(), wire::money(sum(Kind::CashIn)));
    answer.insert("cashout".into(), wire::money(sum(Kind::CashOut)));
    answer.insert("fee".into(), wire::money(fees));
    answer.insert("total".into(), json!(matching.len()));
    answer.insert("transactions".into(), Value::Array(page));
    Ok(Json(Value::Object(answer)))
}

/// `GET /events/transactions`: newest first, paginated, filtered, with the filters
/// echoed (`event-kind` hyphenated).
pub(super) async fn events(
    State(paypack): State<Arc<Paypack>>,
    headers: HeaderMap,
    query: QueryMap,
) -> Answer {
    let token = presented_token(&headers)?;
    let state = paypack.lock();
    let client_id =
        state.check_token(token, TokenType::Access, &paypack.jwt_key, Timestamp::now())?;
    let query = query_map(query)?;
    let (offset, limit) = page(&query)?;
    let (from, to) = range(&query)?;
    let kind = kind_filter(&query)?;
    let client = client_filter(&query);
    let reference = query.get("ref").filter(|v| !v.is_empty());
    let status = query.get("status").filter(|v| !v.is_empty());
    let event_kind = query
        .get("event-kind")
        .or_else(|| query.get("event_kind"))
        .filter(|v| !v.is_empty());
    let amount = match query.get("amount").filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => Some(
            wire::parse_decimal_text(text)
                .ok_or_else(|| ApiError::bad_request("amount must be a number"))?,
        ),
    };
    let mut matching: Vec<_> = state
        .events
        .iter()
        .rev()
        .filter(|e| e.transaction.client_id == client_id)
        .filter(|e| wire::in_range(e.created_at, from, to))
        .filter(|e| kind.map_or(true, |k| k == e.transaction.kind))
        .filter(|e| {
            client
                .as_deref()
                .map_or(true, |c| c == e.transaction.number)
        })
        .filter(|e| reference.map_or(true, |r| *r == e.transaction.reference))
        .filter(|e| {
            status.map_or(true, |s| {
                s.eq_ignore_ascii_case(e.transaction.status.as_str())
            })
        })
        .filter(|e| event_kind.map_or(true, |k| k.eq_ignore_ascii_case(e.kind.as_str())))
        .filter(|e| amount.map_or(true, |a| a == e.transaction.amount))
        .collect();
    matching.sort_by_key(|item| std::cmp::Reverse(item.created_at));
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|e| wire::event_envelope(e))
        .collect();
    let mut answer = Map::new();
    echo(
        &mut answer,
        &query,
        &[
            ("ref", "ref"),
            ("kind", "kind"),
            ("client", "client"),
            ("status", "status"),
            ("from", "from"),
            ("to", "to"),
        ],
    );
    if let Some(event_kind) = event_kind {
        answer.insert("event-kind".into(), Value::String(event_kind.clone()));
    }
    if let Some(amount) = amount {
        answer.insert("amount".into(), wire::money(amount));
    }
    answer.insert("offset".into(), json!(offset));
    answer.insert("limit".into(), json!(limit));
    answer.insert("total".into(), json!(matching.len()));
    answer.insert("transactions".into(), Value::Array(page));
    Ok(Json(Value::Object(answer)))
}

/// `GET /merchants/me`.
pub(super) async fn profile(State(paypack): State<Arc<Paypack>>, headers: HeaderMap) -> Answer {
    let token = presented_token(&headers)?;
    let state = paypack.lock();
    let client_id =
        state.check_token(token, TokenType::Access, &paypack.jwt_key, Timestamp::now())?;
    let merchant = state
        .merchant(&client_id)
        .ok_or_else(|| ApiError::unauthorized("invalid token"))?;
    Ok(Json(wire::profile(merchant)))
}
