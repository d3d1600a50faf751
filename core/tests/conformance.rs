//! Runs every conformance scenario under `tests/conformance/paypack/` against a fresh
//! emulator, as every language's suite does (see `tests/conformance/README.md`).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{start_with, Env};
use futures_util::StreamExt;
use pesakit::checkout::{
    self, CheckoutRequest, NewPaymentApplication, OAuthTokens, Payment, PaymentApplication,
};
use pesakit::paga;
use pesakit::paypack::{
    CashRequest, Client, Event, EventFilter, EventKind, EventPage, Profile, Transaction,
    TransactionFilter, TransactionKind, TransactionPage, TransactionStatus, WebhookMode,
    WebhookVerifier,
};
use pesakit::{Amount, Error, Secret, Timestamp, TokenSet, TokenStore};
use serde_json::{json, Map, Value};

/// The runner's own token store (a map), as every language's runner has.
#[derive(Default)]
struct MapStore(Mutex<HashMap<String, TokenSet>>);

impl TokenStore for MapStore {
    fn load(&self, key: &str) -> pesakit::Result<Option<TokenSet>> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn save(&self, key: &str, tokens: &TokenSet) -> pesakit::Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_owned(), tokens.clone());
        Ok(())
    }
    fn clear(&self, key: &str) -> pesakit::Result<()> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

fn amount(a: &Amount) -> Value {
    json!(a.to_string())
}

fn opt_amount(a: &Option<Amount>) -> Value {
    a.as_ref().map_or(Value::Null, amount)
}

fn status_name(s: &TransactionStatus) -> &'static str {
    match s {
        TransactionStatus::Pending => "pending",
        TransactionStatus::Successful => "successful",
        TransactionStatus::Failed => "failed",
        TransactionStatus::Unknown(_) => "unknown",
    }
}

fn kind_name(k: &TransactionKind) -> &'static str {
    match k {
        TransactionKind::CashIn => "cash_in",
        TransactionKind::CashOut => "cash_out",
        TransactionKind::Unknown(_) => "unknown",
    }
}

fn event_kind_name(k: &EventKind) -> &'static str {
    match k {
        EventKind::TransactionCreated => "transaction_created",
        EventKind::TransactionProcessed => "transaction_processed",
        EventKind::Unknown(_) => "unknown",
    }
}

fn canon_tx(t: &Transaction) -> Value {
    json!({
        "reference": t.reference,
        "status": status_name(&t.status),
        "status_raw": t.status.as_str(),
        "amount": amount(&t.amount),
        "fee": opt_amount(&t.fee),
        "kind": kind_name(&t.kind),
        "kind_raw": t.kind.as_str(),
        "provider": t.provider,
        "client": t.client,
        "has_created_at": t.created_at.is_some(),
        "has_processed_at": t.processed_at.is_some(),
    })
}

fn canon_event(e: &Event) -> Value {
    json!({
        "id": e.id,
        "kind": event_kind_name(&e.kind),
        "kind_raw": e.kind.as_str(),
        "transaction": canon_tx(&e.transaction),
    })
}

fn canon_tx_page(p: &TransactionPage) -> Value {
    json!({
        "offset": p.offset, "limit": p.limit, "total": p.total, "count": p.transactions.len(),
        "cashin_total": opt_amount(&p.cashin_total), "cashout_total": opt_amount(&p.cashout_total),
        "fee_total": opt_amount(&p.fee_total),
        "references": p.transactions.iter().map(|t| t.reference.clone()).collect::<Vec<_>>(),
    })
}

fn canon_event_page(p: &EventPage) -> Value {
    json!({
        "offset": p.offset, "limit": p.limit, "total": p.total, "count": p.events.len(),
        "kinds": p.events.iter().map(|e| event_kind_name(&e.kind)).collect::<Vec<_>>(),
    })
}

fn canon_profile(p: &Profile) -> Value {
    let rate =
        |r: &Option<pesakit::Decimal>| r.map_or(Value::Null, |d| json!(Amount::new(d).to_string()));
    json!({
        "id": p.id, "name": p.name, "balance": amount(&p.balance),
        "mtn_balance": opt_amount(&p.mtn_balance), "airtel_balance": opt_amount(&p.airtel_balance),
        "in_rate": rate(&p.in_rate), "out_rate": rate(&p.out_rate),
    })
}

fn canon_error(e: &Error) -> Value {
    let mut fields: Vec<&str> = e.field_errors().iter().map(|f| f.field.as_str()).collect();
    fields.sort_unstable();
    json!({
        "kind": e.kind().as_str(),
        "status": e.status(),
        "gateway_message": e.gateway_message(),
        "has_body": e.body().is_some(),
        "retry_after_ms": e.retry_after().map(|d| d.as_millis() as u64),
        "idempotency_key": e.idempotency_key(),
        "gateway_code": e.gateway_code(),
        "summary": e.to_string(),
        "fields": fields,
    })
}

fn canon_money(m: &Option<checkout::Money>) -> Value {
    m.as_ref().map_or(Value::Null, |m| {
        json!({"value": opt_amount(&m.value), "minor_units": m.minor_units, "formatted": m.formatted})
    })
}

fn canon_payment(p: &Payment) -> Value {
    let status = match &p.status {
        checkout::PaymentStatus::Unknown(_) => "unknown".to_owned(),
        other => other.as_str().to_ascii_lowercase(),
    };
    json!({
        "id": p.id, "status": status, "status_raw": p.status.as_str(), "reference": p.reference,
        "currency_code": p.currency_code, "amount": canon_money(&p.amount),
        "received_amount": canon_money(&p.received_amount), "has_found_at": p.found_at.is_some(),
        "has_confirmed_at": p.confirmed_at.is_some(), "has_date": p.date.is_some(),
    })
}

fn canon_application(a: &PaymentApplication) -> Value {
    json!({
        "id": a.id, "name": a.name, "client_id_length": a.client_id.as_ref().map(|c| c.len()),
        "currency_whitelist": a.currency_whitelist,
    })
}

fn checkout_event_kind(k: &checkout::WebhookEventKind) -> &'static str {
    match k {
        checkout::WebhookEventKind::PaymentCompleted => "payment_completed",
        checkout::WebhookEventKind::PaymentReceived => "payment_received",
        checkout::WebhookEventKind::PaymentUnderpaid => "payment_underpaid",
        checkout::WebhookEventKind::Unknown(_) => "unknown",
    }
}

const PAGA_REDIRECT: &str = "https://shop.example/paga/callback";

/// Runs one Paga call against `client`.
async fn paga_call(client: paga::Client, name: &str, args: Value) -> Result<Value, Error> {
    let s = |k: &str| str_arg(&args, k).unwrap_or_default();
    let user = s("user");
    Ok(match name {
        "user_details" => {
            let d = client.user_details(&user).await?;
            json!({"first_name": d.first_name, "username": d.username, "account_balance": opt_amount(&d.account_balance)})
        }
        "merchant_payment" => {
            let p = client
                .merchant_payment(
                    &user,
                    &paga::MerchantPaymentRequest {
                        reference_number: s("reference_number"),
                        amount: s("amount").parse().unwrap(),
                        customer_reference: s("customer_reference"),
                        product_code: str_arg(&args, "product_code"),
                        currency: str_arg(&args, "currency"),
                    },
                )
                .await?;
            json!({"has_transaction_id": p.transaction_id.is_some(), "amount": opt_amount(&p.amount), "fee": opt_amount(&p.fee)})
        }
        "money_transfer" => {
            let t = client
                .money_transfer(
                    &user,
                    &paga::MoneyTransferRequest {
                        reference_number: s("reference_number"),
                        amount: s("amount").parse().unwrap(),
                        recipient: s("recipient"),
                        skip_messaging: args
                            .get("skip_messaging")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    },
                )
                .await?;
            json!({"has_transaction_id": t.transaction_id.is_some(), "amount": opt_amount(&t.amount)})
        }
        "one_time_token" => {
            let v = client.one_time_token(&user, &s("reference_number")).await?;
            json!({"is_object": v.is_object()})
        }
        other => panic!("unknown paga call {other}"),
    })
}

/// Runs one checkout call against `client`.
async fn checkout_call(client: checkout::Client, name: &str, args: Value) -> Result<Value, Error> {
    let s = |k: &str| str_arg(&args, k).unwrap_or_default();
    Ok(match name {
        "create_checkout" => {
            let mut req = CheckoutRequest::new(
                s("amount").parse::<Amount>().unwrap(),
                s("currency"),
                s("reference"),
            );
            req.reference_label = str_arg(&args, "reference_label");
            req.exponent = u64_arg(&args, "exponent").map(|e| e as u32);
            let c = client.create_checkout(&req).await?;
            json!({
                "payment_id": c.payment_id,
                "url_has_payment_id": c.checkout_url.contains(&c.payment_id),
                "has_expires_at": c.expires_at.is_some(),
            })
        }
        "get_payment" => canon_payment(&client.get_payment(&s("id")).await?),
        "payer_instructions" => {
            client
                .payer_instructions(&s("payment_id"), &s("provider"), &s("method"))
                .await?
        }
        "payment_applications" => {
            let apps = client.payment_applications().await?;
            json!({"count": apps.len(), "names": apps.iter().map(|a| a.name.clone()).collect::<Vec<_>>()})
        }
        "payment_application" => canon_application(&client.payment_application(&s("id")).await?),
        "create_payment_application" => {
            let new = NewPaymentApplication {
                name: s("name"),
                secret: Secret::new(s("secret")),
                callback_url: str_arg(&args, "callback_url"),
                currency_whitelist: args
                    .get("currency_whitelist")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default(),
                ..Default::default()
            };
            canon_application(&client.create_payment_application(&new).await?)
        }
        other => panic!("unknown checkout call {other}"),
    })
}

/// Replaces `$name.field` strings with saved values.
fn resolve(v: &Value, saved: &HashMap<String, Value>) -> Value {
    match v {
        Value::String(s) if s.starts_with('$') => match s[1..].split_once('.') {
            Some((name, field)) if saved.contains_key(name) => saved[name][field].clone(),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, saved)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), resolve(x, saved)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether `actual` contains `expected` (objects: every expected key; lists: same
/// length, element-wise).
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                if k == "summary_contains" {
                    let summary = a.get("summary").and_then(Value::as_str).unwrap_or("");
                    if !summary.contains(ev.as_str().unwrap()) {
                        return Err(format!("{path}.summary {summary:?} lacks {ev}"));
                    }
                    continue;
                }
                let av = a.get(k).unwrap_or(&Value::Null);
                matches(ev, av, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: expected {expected}, got {actual}"));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

struct Runner {
    env: Env,
    gateway: String,
    oauth: Option<(String, String)>,
    store: Arc<MapStore>,
    client_overrides: Map<String, Value>,
    client: Option<Client>,
    checkout_client: Option<checkout::Client>,
    paga_client: Option<paga::Client>,
    saved: HashMap<String, Value>,
}

fn str_arg(args: &Value, key: &str) -> Option<String> {
    args.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn u64_arg(args: &Value, key: &str) -> Option<u64> {
    args.get(key).and_then(Value::as_u64)
}

fn tx_kind(args: &Value) -> Option<TransactionKind> {
    str_arg(args, "kind").map(|k| match k.as_str() {
        "cash_in" => TransactionKind::CashIn,
        "cash_out" => TransactionKind::CashOut,
        other => panic!("unknown kind {other}"),
    })
}

impl Runner {
    fn client(&mut self) -> Client {
        if self.client.is_none() {
            let o = &self.client_overrides;
            let ms = |k: &str, d: u64| {
                Duration::from_millis(o.get(k).and_then(Value::as_u64).unwrap_or(d))
            };
            let retry = pesakit::RetryPolicy {
                max_retries: o.get("max_retries").and_then(Value::as_u64).unwrap_or(3) as u32,
                initial_backoff: ms("initial_backoff_ms", 10),
                max_backoff: ms("max_backoff_ms", 50),
                max_retry_after: ms("max_retry_after_ms", 30_000),
            };
            let mut b = Client::builder()
                .client_id(
                    o.get("client_id")
                        .and_then(Value::as_str)
                        .unwrap_or(pesakit_sandbox::DEFAULT_CLIENT_ID),
                )
                .client_secret(
                    o.get("client_secret")
                        .and_then(Value::as_str)
                        .unwrap_or(pesakit_sandbox::DEFAULT_CLIENT_SECRET),
                )
                .base_url(self.env.sandbox.paypack_base_url())
                .allow_insecure_loopback(true)
                .token_store(self.store.clone())
                .retry_policy(retry)
                .poll_interval(ms("poll_interval_ms", 20))
                .refresh_skew(ms("refresh_skew_ms", 60_000));
            if o.contains_key("request_timeout_ms") {
                b = b.request_timeout(ms("request_timeout_ms", 30_000));
            }
            self.client = Some(b.build().expect("client builds"));
        }
        self.client.clone().unwrap()
    }

    fn checkout_client(&mut self) -> checkout::Client {
        if self.checkout_client.is_none() {
            let o = &self.client_overrides;
            let ms = |k: &str, d: u64| {
                Duration::from_millis(o.get(k).and_then(Value::as_u64).unwrap_or(d))
            };
            let mut b = checkout::Client::builder()
                .base_url(self.env.sandbox.checkout_base_url())
                .client_token(
                    o.get("client_token")
                        .and_then(Value::as_str)
                        .unwrap_or(pesakit_sandbox::DEFAULT_CHECKOUT_TOKEN),
                )
                .client_id(pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID)
                .webhook_secret(pesakit_sandbox::DEFAULT_CHECKOUT_WEBHOOK_SECRET)
                .allow_insecure_loopback(true)
                .token_store(self.store.clone())
                .retry_policy(pesakit::RetryPolicy {
                    max_retries: o.get("max_retries").and_then(Value::as_u64).unwrap_or(3) as u32,
                    initial_backoff: ms("initial_backoff_ms", 10),
                    max_backoff: ms("max_backoff_ms", 50),
                    max_retry_after: ms("max_retry_after_ms", 30_000),
                });
            if o.contains_key("request_timeout_ms") {
                b = b.request_timeout(ms("request_timeout_ms", 30_000));
            }
            if let Some((access, refresh)) = &self.oauth {
                b = b.oauth(OAuthTokens {
                    access_token: Secret::new(access.clone()),
                    refresh_token: Some(Secret::new(refresh.clone())),
                    expires_at: None,
                    client_id: pesakit_sandbox::DEFAULT_OAUTH_CLIENT_ID.to_owned(),
                    client_secret: Some(Secret::new(pesakit_sandbox::DEFAULT_OAUTH_CLIENT_SECRET)),
                    token_path: None,
                });
            }
            self.checkout_client = Some(b.build().expect("checkout client builds"));
        }
        self.checkout_client.clone().unwrap()
    }

    fn paga_client(&mut self) -> paga::Client {
        if self.paga_client.is_none() {
            let o = &self.client_overrides;
            let style = match o.get("token_request_style").and_then(Value::as_str) {
                Some("query_string") => paga::TokenRequestStyle::QueryString,
                _ => paga::TokenRequestStyle::FormBody,
            };
            let client = paga::Client::builder()
                .environment(paga::Environment::Custom(self.env.sandbox.paga_base_url()))
                .client_id(pesakit_sandbox::DEFAULT_PAGA_CLIENT_ID)
                .client_secret(pesakit_sandbox::DEFAULT_PAGA_CLIENT_SECRET)
                .redirect_uri(PAGA_REDIRECT)
                .allow_insecure_loopback(true)
                .token_request_style(style)
                .pkce(o.get("pkce").and_then(Value::as_bool).unwrap_or(false))
                .token_store(self.store.clone())
                .retry_policy(pesakit::RetryPolicy {
                    max_retries: 3,
                    initial_backoff: Duration::from_millis(10),
                    max_backoff: Duration::from_millis(50),
                    max_retry_after: Duration::from_secs(30),
                })
                .build()
                .expect("paga client builds");
            self.paga_client = Some(client);
        }
        self.paga_client.clone().unwrap()
    }

    /// The browser part of OAuth: authorization URL, one redirect, callback.
    async fn paga_connect(&mut self, c: &Value) -> Result<Value, Error> {
        let client = self.paga_client();
        let names = |k: &str| -> Vec<String> {
            c.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        let scopes: Vec<paga::Scope> = names("scopes")
            .iter()
            .map(|s| paga::Scope::parse(s))
            .collect();
        let data: Vec<paga::UserData> = names("user_data")
            .iter()
            .map(|s| paga::UserData::parse(s))
            .collect();
        let authorization = client.authorization_url(&scopes, &data);
        let mut url = authorization.url.clone();
        if let Some(user) = c.get("sandbox_user").and_then(Value::as_str) {
            url.push_str(&format!("&sandbox_user={user}"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = http.get(url).send().await.unwrap();
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        let checked = if c.get("state").and_then(Value::as_str) == Some("forged") {
            client.authorization_url(&scopes, &data)
        } else {
            authorization
        };
        let grant = client
            .handle_callback(&location, &checked, c["user"].as_str().unwrap())
            .await?;
        Ok(json!({
            "scopes": grant.scopes.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>(),
            "user_data": grant.user_data.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>(),
            "has_authorities": grant.extra.contains_key("authorities"),
        }))
    }

    async fn call(client: Client, name: &str, args: Value) -> Result<Value, Error> {
        let tx_filter = || TransactionFilter {
            offset: u64_arg(&args, "offset"),
            limit: u64_arg(&args, "limit"),
            kind: tx_kind(&args),
            client: str_arg(&args, "client"),
            ..Default::default()
        };
        let event_filter = || EventFilter {
            reference: str_arg(&args, "reference"),
            kind: tx_kind(&args),
            client: str_arg(&args, "client"),
            status: str_arg(&args, "status").map(|s| TransactionStatus::parse(&s)),
            offset: u64_arg(&args, "offset"),
            limit: u64_arg(&args, "limit"),
            ..Default::default()
        };
        Ok(match name {
            "authorize" => {
                let expires = client.authorize().await?;
                json!({"expires_in_future": expires > Timestamp::now()})
            }
            "profile" => canon_profile(&client.profile().await?),
            "cashin" | "cashout" => {
                let amount: Amount = str_arg(&args, "amount").unwrap().parse().unwrap();
                let mut req = CashRequest::new(amount, str_arg(&args, "number").unwrap());
                req.idempotency_key = str_arg(&args, "idempotency_key");
                req.webhook_mode = str_arg(&args, "webhook_mode").map(|m| match m.as_str() {
                    "development" => WebhookMode::Development,
                    _ => WebhookMode::Production,
                });
                req.validate = args
                    .get("validate")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let tx = if name == "cashin" {
                    client.cashin(req).await?
                } else {
                    client.cashout(req).await?
                };
                canon_tx(&tx)
            }
            "find" => canon_tx(&client.find(&str_arg(&args, "reference").unwrap()).await?),
            "wait_for_completion" => canon_tx(
                &client
                    .wait_for_completion(
                        &str_arg(&args, "reference").unwrap(),
                        Duration::from_millis(u64_arg(&args, "timeout_ms").unwrap()),
                    )
                    .await?,
            ),
            "list_transactions" => canon_tx_page(&client.list_transactions(&tx_filter()).await?),
            "list_events" => canon_event_page(&client.list_events(&event_filter()).await?),
            "transactions" => {
                let mut s = Box::pin(client.transactions(tx_filter()));
                let (mut count, mut ids) = (0, HashSet::new());
                while let Some(t) = s.next().await {
                    count += 1;
                    ids.insert(t?.reference);
                }
                json!({"count": count, "unique": ids.len()})
            }
            "events" => {
                let mut s = Box::pin(client.events(event_filter()));
                let (mut count, mut ids) = (0, HashSet::new());
                while let Some(e) = s.next().await {
                    count += 1;
                    ids.insert(e?.id);
                }
                json!({"count": count, "unique": ids.len()})
            }
            other => panic!("unknown call {other}"),
        })
    }

    fn check(&mut self, step: &Value, outcome: Result<Value, Error>) -> Result<(), String> {
        let expect = step.get("expect").map(|e| resolve(e, &self.saved));
        let expect_error = step.get("expect_error").map(|e| resolve(e, &self.saved));
        match (outcome, expect_error) {
            (Ok(value), None) => {
                if let Some(e) = expect {
                    matches(&e, &value, "result")?;
                }
                if let Some(name) = step.get("save").and_then(Value::as_str) {
                    self.saved.insert(name.to_owned(), value);
                }
                Ok(())
            }
            (Ok(value), Some(_)) => Err(format!("expected an error, got {value}")),
            (Err(e), Some(expected)) => matches(&expected, &canon_error(&e), "error"),
            (Err(e), None) => Err(format!("unexpected error: {e}")),
        }
    }

    async fn step(&mut self, step: &Value) -> Result<(), String> {
        if let Some(name) = step.get("call").and_then(Value::as_str) {
            let args = resolve(step.get("args").unwrap_or(&json!({})), &self.saved);
            if self.gateway == "paga" {
                let client = self.paga_client();
                let concurrency = step.get("concurrency").and_then(Value::as_u64).unwrap_or(1);
                let calls = (0..concurrency).map(|_| {
                    let (c, a, n) = (client.clone(), args.clone(), name.to_owned());
                    tokio::spawn(async move { paga_call(c, &n, a).await })
                });
                for r in futures_util::future::join_all(calls).await {
                    self.check(step, r.expect("task completes"))?;
                }
                return Ok(());
            }
            if self.gateway == "checkout" {
                let client = self.checkout_client();
                let repeat = step.get("repeat").and_then(Value::as_u64).unwrap_or(1);
                let mut outcome = None;
                for _ in 0..repeat {
                    outcome = Some(checkout_call(client.clone(), name, args.clone()).await);
                }
                return self.check(step, outcome.unwrap());
            }
            let client = self.client();
            let concurrency = step.get("concurrency").and_then(Value::as_u64).unwrap_or(1);
            if concurrency > 1 {
                let calls = (0..concurrency).map(|_| {
                    let (c, a, n) = (client.clone(), args.clone(), name.to_owned());
                    tokio::spawn(async move { Runner::call(c, &n, a).await })
                });
                for r in futures_util::future::join_all(calls).await {
                    self.check(step, r.expect("task completes"))?;
                }
                return Ok(());
            }
            let repeat = step.get("repeat").and_then(Value::as_u64).unwrap_or(1);
            let mut outcome = None;
            for _ in 0..repeat {
                outcome = Some(Runner::call(client.clone(), name, args.clone()).await);
            }
            return self.check(step, outcome.unwrap());
        }
        if let Some(c) = step.get("connect") {
            let c = resolve(c, &self.saved);
            let outcome = self.paga_connect(&c).await;
            return self.check(step, outcome);
        }
        if step.get("new_client").is_some() {
            self.client = None;
            self.checkout_client = None;
            self.paga_client = None;
            return Ok(());
        }
        if let Some(control) = step.get("control").and_then(Value::as_str) {
            let step = resolve(step, &self.saved);
            let env = &self.env;
            match control {
                "settle" => {
                    env.settle(
                        step["reference"].as_str().unwrap(),
                        step["status"].as_str().unwrap(),
                    )
                    .await;
                }
                "fault" => env.fault(step["fault"].clone()).await,
                "clear_faults" => env.delete("/_sandbox/faults").await,
                "clear_requests" => env.clear_requests().await,
                "expire_tokens" => {
                    env.post(
                        "/_sandbox/paypack/tokens/expire",
                        json!({"which": step["which"]}),
                    )
                    .await;
                }
                "revoke_tokens" => {
                    env.post(
                        "/_sandbox/paypack/tokens/revoke",
                        json!({"which": step["which"]}),
                    )
                    .await;
                }
                "config" => {
                    env.config(step["config"].clone()).await;
                }
                "payment_status" => {
                    let id = step["payment_id"].as_str().unwrap();
                    env.post(
                        &format!("/_sandbox/checkout/payments/{id}/status"),
                        json!({"status": step["status"]}),
                    )
                    .await;
                }
                "paga_expire_tokens" => {
                    env.post(
                        "/_sandbox/paga/tokens/expire",
                        json!({"which": step["which"]}),
                    )
                    .await;
                }
                "oauth_expire" => {
                    let body = match step.get("which") {
                        Some(w) => json!({ "which": w }),
                        None => json!({}),
                    };
                    env.post("/_sandbox/checkout/oauth/expire", body).await;
                }
                "seed_tokens" => {
                    let (access, refresh, _) = env.raw_tokens().await;
                    let now = Timestamp::now().as_second();
                    let key = format!(
                        "paypack|{}|{}",
                        env.sandbox.paypack_base_url(),
                        pesakit_sandbox::DEFAULT_CLIENT_ID
                    );
                    self.store
                        .save(
                            &key,
                            &TokenSet {
                                access_token: Secret::new(access),
                                refresh_token: Some(Secret::new(refresh)),
                                expires_at: Timestamp::from_second(
                                    now + step["expires_in_secs"].as_i64().unwrap(),
                                )
                                .unwrap(),
                                refresh_expires_at: None,
                                obtained_at: Timestamp::from_second(now - 900).unwrap(),
                            },
                        )
                        .unwrap();
                    env.clear_requests().await;
                }
                other => panic!("unknown control {other}"),
            }
            return Ok(());
        }
        if let Some(kind) = step.get("assert").and_then(Value::as_str) {
            let step = resolve(step, &self.saved);
            let env = &self.env;
            let log = env.requests().await;
            let prefix = match self.gateway.as_str() {
                "checkout" => "/checkout",
                "paga" => "/paga",
                _ => "/paypack/api",
            };
            let selected = |step: &Value| -> Vec<Value> {
                let path = format!("{prefix}{}", step["path"].as_str().unwrap());
                log.iter()
                    .filter(|r| {
                        r["method"] == step["method"]
                            && r["path"].as_str().unwrap().starts_with(&path)
                    })
                    .cloned()
                    .collect()
            };
            match kind {
                "requests" => {
                    let n = selected(&step).len() as u64;
                    if Some(n) != step["count"].as_u64() {
                        let seen: Vec<String> = selected(&step)
                            .iter()
                            .map(|r| format!("{} -> {}: {}", r["path"], r["status"], r["body"]))
                            .collect();
                        return Err(format!(
                            "{} {} requests: expected {}, got {n}: {seen:?}",
                            step["method"], step["path"], step["count"]
                        ));
                    }
                }
                "statuses" => {
                    let got: Vec<Value> = selected(&step)
                        .iter()
                        .map(|r| r["status"].clone())
                        .collect();
                    matches(&step["equals"], &Value::Array(got), "statuses")?;
                }
                "header" => {
                    let reqs = selected(&step);
                    let index = step["index"].as_u64().unwrap() as usize;
                    let value = reqs
                        .get(index)
                        .and_then(|r| r["headers"][step["header"].as_str().unwrap()].as_str())
                        .ok_or_else(|| format!("no header {} on request {index}", step["header"]))?
                        .to_owned();
                    if let Some(eq) = step.get("equals").and_then(Value::as_str) {
                        if value != eq {
                            return Err(format!(
                                "header {}: expected {eq}, got {value}",
                                step["header"]
                            ));
                        }
                    }
                    if let Some(re) = step.get("matches").and_then(Value::as_str) {
                        if !simple_regex(re, &value) {
                            return Err(format!(
                                "header {} = {value} does not match {re}",
                                step["header"]
                            ));
                        }
                    }
                }
                "ledger" => {
                    let n = env.ledger_transactions().await.len() as u64;
                    if Some(n) != step["count"].as_u64() {
                        return Err(format!(
                            "ledger: expected {} transactions, got {n}",
                            step["count"]
                        ));
                    }
                }
                other => panic!("unknown assert {other}"),
            }
            return Ok(());
        }
        if let Some(w) = step.get("webhook") {
            if self.gateway == "checkout" {
                return self.checkout_webhook(step, w);
            }
            let secret = w["secret"].as_str().unwrap();
            let verifier = WebhookVerifier::new(secret).unwrap();
            let mut body = match w.get("body_text") {
                Some(t) => t.as_str().unwrap().as_bytes().to_vec(),
                None => serde_json::to_vec(&w["body"]).unwrap(),
            };
            let mut signature = Some(verifier.sign(&body));
            match w["signature"].as_str().unwrap() {
                "valid" => {}
                "tamper_body" => {
                    let at = find(&body, b"\"amount\":").expect("body has an amount") + 9;
                    let digit = at + body[at..].iter().position(u8::is_ascii_digit).unwrap();
                    body[digit] = if body[digit] == b'9' {
                        b'0'
                    } else {
                        body[digit] + 1
                    };
                }
                "tamper_signature" => {
                    let mut s = signature.take().unwrap().into_bytes();
                    s[0] = if s[0] == b'A' { b'B' } else { b'A' };
                    signature = Some(String::from_utf8(s).unwrap());
                }
                "missing" => signature = None,
                "wrong_secret" => {
                    signature = Some(WebhookVerifier::new("not-the-secret").unwrap().sign(&body))
                }
                other => panic!("unknown signature mode {other}"),
            }
            let outcome = verifier
                .verify_and_parse(&body, signature.as_deref())
                .map(|e| canon_event(&e));
            return self.check(step, outcome);
        }
        panic!("unknown step {step}");
    }
}

impl Runner {
    fn checkout_webhook(&mut self, step: &Value, w: &Value) -> Result<(), String> {
        let verifier = checkout::WebhookVerifier::new(w["secret"].as_str().unwrap()).unwrap();
        let mut body = match w.get("body_text") {
            Some(t) => t.as_str().unwrap().as_bytes().to_vec(),
            None => serde_json::to_vec(&w["body"]).unwrap(),
        };
        let mode = w["signature"].as_str().unwrap();
        let now = Timestamp::now().as_second();
        let ts = if mode == "stale" { now - 3600 } else { now };
        let mut signature = Some(verifier.sign(ts, &body));
        let mut timestamp = Some(ts.to_string());
        match mode {
            "valid" | "stale" => {}
            "tamper_body" => {
                let at = find(&body, b"\"amount\":").expect("body has an amount") + 9;
                let digit = at + body[at..].iter().position(u8::is_ascii_digit).unwrap();
                body[digit] = if body[digit] == b'9' {
                    b'0'
                } else {
                    body[digit] + 1
                };
            }
            "tamper_signature" => {
                let mut s = signature.take().unwrap().into_bytes();
                s[0] = if s[0] == b'0' { b'1' } else { b'0' };
                signature = Some(String::from_utf8(s).unwrap());
            }
            "missing" => signature = None,
            "missing_timestamp" => timestamp = None,
            "wrong_secret" => {
                signature = Some(
                    checkout::WebhookVerifier::new("not-the-secret")
                        .unwrap()
                        .sign(ts, &body),
                );
            }
            other => panic!("unknown signature mode {other}"),
        }
        let outcome = verifier
            .verify_and_parse(
                &body,
                signature.as_deref(),
                timestamp.as_deref(),
                w["event"].as_str(),
            )
            .map(|e| {
                json!({
                    "kind": checkout_event_kind(&e.kind),
                    "kind_raw": e.kind.as_str(),
                    "payment": canon_payment(&e.payment),
                })
            });
        self.check(step, outcome)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The two regex shapes scenarios use: `^prefix` and `^[0-9a-f]{N}$`.
fn simple_regex(re: &str, value: &str) -> bool {
    if let Some(rest) = re.strip_prefix("^[0-9a-f]{") {
        let n: usize = rest.trim_end_matches("}$").parse().unwrap();
        return value.len() == n
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    }
    if let Some(prefix) = re.strip_prefix('^') {
        if !prefix.contains(['[', '(', '*', '+', '?', '$', '\\']) {
            return value.starts_with(prefix);
        }
    }
    panic!("the Rust runner does not understand the pattern {re}")
}

fn scenarios() -> Vec<(String, Value)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut files: Vec<_> = ["paypack", "checkout", "paga"]
        .iter()
        .flat_map(|gateway| {
            std::fs::read_dir(root.join(gateway)).expect("the scenario directory exists")
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect()
}

async fn run(scenario: &Value) -> Result<(), String> {
    let env = start_with(|_| {}).await;
    let gateway = scenario["gateway"].as_str().unwrap_or("paypack").to_owned();
    if let Some(config) = scenario.get("sandbox") {
        let path = format!("/_sandbox/{gateway}/config");
        env.post(&path, config.clone()).await;
    }
    let oauth = if scenario
        .get("oauth")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        Some(env.checkout_sign_in().await)
    } else {
        None
    };
    let mut runner = Runner {
        env,
        gateway,
        oauth,
        checkout_client: None,
        paga_client: None,
        store: Arc::new(MapStore::default()),
        client_overrides: scenario
            .get("client")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        client: None,
        saved: HashMap::new(),
    };
    for (i, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
        runner
            .step(step)
            .await
            .map_err(|e| format!("step {i} {step}: {e}"))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes() {
    let all = scenarios();
    assert!(all.len() >= 35, "scenarios found: {}", all.len());
    let mut failures = Vec::new();
    for (name, scenario) in &all {
        match run(scenario).await {
            Ok(()) => println!("conformance {name}: ok"),
            Err(e) => {
                println!("conformance {name}: FAILED: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
