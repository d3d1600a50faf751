//! Paypack's in-memory state and the rules that change it. Everything here is
//! synchronous and runs under the gateway's single mutex.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use jiff::Timestamp;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::wire;
use crate::error::ApiError;
use crate::jwt::{self, Claims};
use crate::SandboxConfig;

/// Settings that the control API can change at run time.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeConfig {
    /// Auto-settle delay; `None` = only through the control API.
    pub settle_after: Option<Duration>,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
    /// Whether `GET /auth/refresh/{token}` answers.
    pub refresh_path: bool,
    /// Whether `GET /auth/agents/refresh/{token}` answers.
    pub agents_refresh_path: bool,
}

impl RuntimeConfig {
    fn from_config(config: &SandboxConfig) -> Self {
        RuntimeConfig {
            settle_after: config.settle_after.filter(|d| !d.is_zero()),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
            refresh_path: config.refresh_path,
            agents_refresh_path: config.agents_refresh_path,
        }
    }
}

/// `CASHIN` or `CASHOUT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Money from a customer to the merchant.
    CashIn,
    /// Money from the merchant to a customer.
    CashOut,
}

impl Kind {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::CashIn => "CASHIN",
            Kind::CashOut => "CASHOUT",
        }
    }

    /// Parses `CASHIN`/`CASHOUT`, in any case.
    pub(crate) fn parse(text: &str) -> Option<Kind> {
        if text.eq_ignore_ascii_case("CASHIN") {
            Some(Kind::CashIn)
        } else if text.eq_ignore_ascii_case("CASHOUT") {
            Some(Kind::CashOut)
        } else {
            None
        }
    }
}

/// A transaction's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Waiting for the customer.
    Pending,
    /// Done; money moved.
    Successful,
    /// Done; nothing moved.
    Failed,
}

impl Status {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Successful => "successful",
            Status::Failed => "failed",
        }
    }
}

/// `access` or `refresh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenType {
    /// Authorises API calls.
    Access,
    /// Buys a new pair.
    Refresh,
}

impl TokenType {
    fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

/// `transaction:created` or `transaction:processed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// The transaction was accepted (status pending).
    Created,
    /// The transaction settled.
    Processed,
}

impl EventKind {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "transaction:created",
            EventKind::Processed => "transaction:processed",
        }
    }
}

/// One application and its merchant account.
#[derive(Clone, Debug)]
pub(crate) struct Merchant {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// Short merchant code.
    pub id: String,
    /// Display name.
    pub name: String,
    /// MTN cash-in rate.
    pub in_rate: Decimal,
    /// MTN cash-out rate.
    pub out_rate: Decimal,
    /// Airtel cash-in rate.
    pub airtel_in_rate: Decimal,
    /// Airtel cash-out rate.
    pub airtel_out_rate: Decimal,
    /// MTN wallet.
    pub mtn_balance: Decimal,
    /// Airtel wallet.
    pub airtel_balance: Decimal,
}

impl Merchant {
    fn new(client_id: &str, client_secret: &str) -> Self {
        Merchant {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            id: merchant_code(client_id),
            name: format!("Sandbox Merchant {client_id}"),
            in_rate: Decimal::new(23, 3),
            out_rate: Decimal::new(23, 3),
            airtel_in_rate: Decimal::new(25, 3),
            airtel_out_rate: Decimal::new(25, 3),
            mtn_balance: Decimal::new(100_000, 0),
            airtel_balance: Decimal::new(100_000, 0),
        }
    }

    /// Both wallets together.
    pub(crate) fn balance(&self) -> Decimal {
        self.mtn_balance + self.airtel_balance
    }

    fn rate(&self, kind: Kind, provider: &str) -> Decimal {
        match (kind, provider) {
            (Kind::CashIn, "airtel") => self.airtel_in_rate,
            (Kind::CashOut, "airtel") => self.airtel_out_rate,
            (Kind::CashIn, _) => self.in_rate,
            (Kind::CashOut, _) => self.out_rate,
        }
    }
}

/// Six uppercase letters and digits derived from the client id.
fn merchant_code(client_id: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    Sha256::digest(client_id.as_bytes())
        .iter()
        .take(6)
        .map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char)
        .collect()
}

/// A cash-in or cash-out.
#[derive(Clone, Debug)]
pub(crate) struct Transaction {
    /// Reference (a UUID).
    pub reference: String,
    /// Owning application.
    pub client_id: String,
    /// Owning merchant's code.
    pub merchant: String,
    /// Cash-in or cash-out.
    pub kind: Kind,
    /// Amount asked.
    pub amount: Decimal,
    /// Fee, rate × amount.
    pub fee: Decimal,
    /// Current status.
    pub status: Status,
    /// Customer number, `07XXXXXXXX`.
    pub number: String,
    /// `mtn` or `airtel`.
    pub provider: &'static str,
    /// The idempotency key it was created with.
    pub idempotency_key: Option<String>,
    /// The `X-Webhook-Mode` it was created with.
    pub webhook_mode: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Settlement time.
    pub processed_at: Option<Timestamp>,
}

impl Transaction {
    /// The status the transaction settles to on its own.
    pub(crate) fn natural_outcome(&self) -> Status {
        if self.number.ends_with("0000") {
            Status::Failed
        } else {
            Status::Successful
        }
    }
}

/// One recorded event, with the transaction as it was then.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// Event id (a UUID).
    pub id: String,
    /// Created or processed.
    pub kind: EventKind,
    /// When it happened.
    pub created_at: Timestamp,
    /// Snapshot of the transaction.
    pub transaction: Transaction,
}

/// A remembered answer for an idempotency key.
#[derive(Clone, Debug)]
struct Replay {
    fingerprint: String,
    answer: Value,
}

/// A webhook endpoint; `mode` `None` receives every event.
#[derive(Clone, Debug)]
pub(crate) struct WebhookEndpoint {
    /// Registration id.
    pub id: u64,
    /// Destination.
    pub url: String,
    /// `development`, `production`, or every mode.
    pub mode: Option<String>,
}

#[derive(Clone, Debug)]
struct TokenRecord {
    client_id: String,
    typ: TokenType,
    exp: i64,
    expired: bool,
    revoked: bool,
}

/// What a cash-in/out request asks for.
#[derive(Debug)]
pub(crate) struct NewTransaction {
    /// Which endpoint.
    pub kind: Kind,
    /// The parsed body.
    pub body: Value,
    /// `Idempotency-Key`, already checked for length.
    pub idempotency_key: Option<String>,
    /// `X-Webhook-Mode`, lowercased.
    pub webhook_mode: String,
}

/// Outcome of a cash-in/out request.
#[derive(Debug)]
pub(crate) enum Created {
    /// Same key, same body: the original answer.
    Replayed(Value),
    /// A new transaction.
    New(Box<NewlyCreated>),
}

/// A transaction just created.
#[derive(Debug)]
pub(crate) struct NewlyCreated {
    /// The answer to send.
    pub answer: Value,
    /// The new transaction.
    pub transaction: Transaction,
    /// Its `transaction:created` event.
    pub event: Event,
}

/// All of Paypack's state.
#[derive(Debug)]
pub(crate) struct State {
    /// Run-time settings.
    pub config: RuntimeConfig,
    /// Applications, in configuration order.
    pub merchants: Vec<Merchant>,
    tokens: HashMap<String, TokenRecord>,
    /// Transactions, oldest first.
    pub transactions: Vec<Transaction>,
    by_ref: HashMap<String, usize>,
    /// Events, oldest first.
    pub events: Vec<Event>,
    idempotency: HashMap<(String, String), Replay>,
    /// Webhook endpoints.
    pub webhooks: Vec<WebhookEndpoint>,
    next_webhook_id: u64,
}

impl State {
    /// The state at start-up.
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        let mut merchants: Vec<Merchant> = Vec::new();
        for app in &config.apps {
            if !merchants.iter().any(|m| m.client_id == app.client_id) {
                merchants.push(Merchant::new(&app.client_id, &app.client_secret));
            }
        }
        let mut state = State {
            config: RuntimeConfig::from_config(config),
            merchants,
            tokens: HashMap::new(),
            transactions: Vec::new(),
            by_ref: HashMap::new(),
            events: Vec::new(),
            idempotency: HashMap::new(),
            webhooks: Vec::new(),
            next_webhook_id: 0,
        };
        for url in &config.webhook_urls {
            state.add_webhook(url.clone(), None);
        }
        state
    }

    /// The merchant of `client_id`.
    pub(crate) fn merchant(&self, client_id: &str) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.client_id == client_id)
    }

    /// Checks an application's credentials.
    pub(crate) fn authorize(&self, client_id: &str, client_secret: &str) -> Result<(), ApiError> {
        match self.merchant(client_id) {
            Some(m) if m.client_secret == client_secret => Ok(()),
            _ => Err(ApiError::unauthorized("invalid client credentials")),
        }
    }

    /// Issues an access and refresh pair: `{"access", "refresh", "expires"}`.
    pub(crate) fn issue_pair(&mut self, client_id: &str, key: &[u8], now: Timestamp) -> Value {
        let iat = now.as_second();
        let mut issue = |typ: TokenType, ttl: Duration| {
            let exp = iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
            let claims = Claims {
                sub: client_id.to_owned(),
                iat,
                exp,
                jti: uuid::Uuid::new_v4().to_string(),
                typ: typ.as_str().to_owned(),
            };
            self.tokens.insert(
                claims.jti.clone(),
                TokenRecord {
                    client_id: client_id.to_owned(),
                    typ,
                    exp,
                    expired: false,
                    revoked: false,
                },
            );
            (jwt::encode(&claims, key), exp)
        };
        let access_ttl = self.config.access_ttl;
        let refresh_ttl = self.config.refresh_ttl;
        let (access, expires) = issue(TokenType::Access, access_ttl);
        let (refresh, _) = issue(TokenType::Refresh, refresh_ttl);
        serde_json::json!({ "access": access, "refresh": refresh, "expires": expires })
    }

    /// Checks a presented token; its client id when it is a live token of type `want`.
    pub(crate) fn check_token(
        &self,
        token: &str,
        want: TokenType,
        key: &[u8],
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let claims =
            jwt::decode(token, key).map_err(|_| ApiError::unauthorized("invalid token"))?;
        let record = self
            .tokens
            .get(&claims.jti)
            .filter(|record| record.typ == want)
            .ok_or_else(|| ApiError::unauthorized("invalid token"))?;
        if record.revoked {
            return Err(ApiError::unauthorized("token revoked"));
        }
        if record.expired || now.as_second() >= record.exp {
            return Err(ApiError::unauthorized("token expired"));
        }
        Ok(record.client_id.clone())
    }

    /// Marks every token of the chosen types expired (or revoked); how many.
    pub(crate) fn invalidate_tokens(&mut self, which: Option<TokenType>, revoke: bool) -> usize {
        let mut count = 0;
        for record in self.tokens.values_mut() {
            if which.map_or(true, |typ| typ == record.typ) {
                if revoke {
                    record.revoked = true;
                } else {
                    record.expired = true;
                }
                count += 1;
            }
        }
        count
    }

    /// Handles a cash-in/out: replay, conflict, validation, creation.
    pub(crate) fn create(
        &mut self,
        client_id: &str,
        request: NewTransaction,
        now: Timestamp,
    ) -> Result<Created, ApiError> {
        let fingerprint = format!(
            "{} {}",
            request.kind.as_str(),
            canonical_json(&request.body)
        );
        let replay_key = request
            .idempotency_key
            .as_ref()
            .map(|key| (client_id.to_owned(), key.clone()));
        if let Some(replay) = replay_key.as_ref().and_then(|k| self.idempotency.get(k)) {
            return if replay.fingerprint == fingerprint {
                Ok(Created::Replayed(replay.answer.clone()))
            } else {
                Err(ApiError::conflict(
                    "idempotency key already used with a different request",
                ))
            };
        }

        let Value::Object(body) = &request.body else {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        };
        let amount = match body.get("amount") {
            Some(Value::Number(n)) => wire::parse_number(n),
            _ => None,
        }
        .filter(|amount| amount.is_sign_positive() && !amount.is_zero())
        .ok_or_else(|| ApiError::bad_request("amount must be a positive number"))?;
        let number = body
            .get("number")
            .and_then(Value::as_str)
            .and_then(wire::normalize_number)
            .ok_or_else(|| {
                ApiError::bad_request("number must be a Rwandan mobile number (07[2389]XXXXXXX)")
            })?;
        let provider = wire::provider_of(&number);
        let merchant = self
            .merchant(client_id)
            .ok_or_else(|| ApiError::unauthorized("invalid token"))?;
        let fee = (merchant.rate(request.kind, provider) * amount)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            .normalize();
        if request.kind == Kind::CashOut && merchant.balance() < amount + fee {
            return Err(ApiError::bad_request("insufficient balance"));
        }

        let transaction = Transaction {
            reference: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            merchant: merchant.id.clone(),
            kind: request.kind,
            amount,
            fee,
            status: Status::Pending,
            number,
            provider,
            idempotency_key: request.idempotency_key.clone(),
            webhook_mode: request.webhook_mode,
            created_at: now,
            processed_at: None,
        };
        let answer = wire::created_answer(&transaction);
        let event = Event {
            id: uuid::Uuid::new_v4().to_string(),
            kind: EventKind::Created,
            created_at: now,
            transaction: transaction.clone(),
        };
        if let Some(key) = replay_key {
            self.idempotency.insert(
                key,
                Replay {
                    fingerprint,
                    answer: answer.clone(),
                },
            );
        }
        self.by_ref
            .insert(transaction.reference.clone(), self.transactions.len());
        self.transactions.push(transaction.clone());
        self.events.push(event.clone());
        Ok(Created::New(Box::new(NewlyCreated {
            answer,
            transaction,
            event,
        })))
    }

    /// The transaction with this reference.
    pub(crate) fn transaction(&self, reference: &str) -> Option<&Transaction> {
        self.by_ref.get(reference).map(|&i| &self.transactions[i])
    }

    /// Settles a pending transaction (to its natural outcome when `status` is `None`)
    /// and moves the balances; 404 if unknown, 409 if already processed.
    pub(crate) fn settle(
        &mut self,
        reference: &str,
        status: Option<Status>,
        now: Timestamp,
    ) -> Result<(Transaction, Event), ApiError> {
        let index = *self
            .by_ref
            .get(reference)
            .ok_or_else(|| ApiError::not_found("transaction not found"))?;
        let transaction = &mut self.transactions[index];
        if transaction.status != Status::Pending {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("transaction already {}", transaction.status.as_str()),
            ));
        }
        let status = status.unwrap_or_else(|| transaction.natural_outcome());
        transaction.status = status;
        transaction.processed_at = Some(now);
        let transaction = transaction.clone();
        if status == Status::Successful {
            if let Some(merchant) = self
                .merchants
                .iter_mut()
                .find(|m| m.client_id == transaction.client_id)
            {
                let wallet = if transaction.provider == "airtel" {
                    &mut merchant.airtel_balance
                } else {
                    &mut merchant.mtn_balance
                };
                match transaction.kind {
                    Kind::CashIn => *wallet += transaction.amount - transaction.fee,
                    Kind::CashOut => *wallet -= transaction.amount + transaction.fee,
                }
            }
        }
        let event = Event {
            id: uuid::Uuid::new_v4().to_string(),
            kind: EventKind::Processed,
            created_at: now,
            transaction: transaction.clone(),
        };
        self.events.push(event.clone());
        Ok((transaction, event))
    }

    /// Creates `count` settled cash-ins for the first application, each with its
    /// `transaction:created` and `transaction:processed` events, without webhooks or
    /// idempotency keys; the first and last references. Creation times are one
    /// millisecond apart, ending at `now`, so the events' order is well defined.
    pub(crate) fn seed(&mut self, count: usize, now: Timestamp) -> Option<(String, String)> {
        /// Customer numbers used in turn: both providers, none that fails.
        const NUMBERS: [&str; 4] = ["0788123456", "0791234567", "0721234567", "0731234567"];
        let merchant = self.merchants.first()?.clone();
        let mut references = Vec::with_capacity(2);
        self.transactions.reserve(count);
        self.events.reserve(count * 2);
        for i in 0..count {
            let back = i64::try_from(count - i).unwrap_or(i64::MAX);
            let created_at = now
                .checked_sub(jiff::SignedDuration::from_millis(back))
                .unwrap_or(now);
            let processed_at = created_at
                .checked_add(jiff::SignedDuration::from_micros(500))
                .unwrap_or(created_at);
            let number = NUMBERS[i % NUMBERS.len()];
            let provider = wire::provider_of(number);
            let amount = Decimal::from(100 + (i % 900) as i64);
            let fee = (merchant.rate(Kind::CashIn, provider) * amount)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
                .normalize();
            let mut transaction = Transaction {
                reference: uuid::Uuid::new_v4().to_string(),
                client_id: merchant.client_id.clone(),
                merchant: merchant.id.clone(),
                kind: Kind::CashIn,
                amount,
                fee,
                status: Status::Pending,
                number: number.to_owned(),
                provider,
                idempotency_key: None,
                webhook_mode: "production".to_owned(),
                created_at,
                processed_at: None,
            };
            self.events.push(Event {
                id: uuid::Uuid::new_v4().to_string(),
                kind: EventKind::Created,
                created_at,
                transaction: transaction.clone(),
            });
            transaction.status = Status::Successful;
            transaction.processed_at = Some(processed_at);
            self.events.push(Event {
                id: uuid::Uuid::new_v4().to_string(),
                kind: EventKind::Processed,
                created_at: processed_at,
                transaction: transaction.clone(),
            });
            if let Some(wallet) = self.merchants.first_mut().map(|m| match provider {
                "airtel" => &mut m.airtel_balance,
                _ => &mut m.mtn_balance,
            }) {
                *wallet += amount - fee;
            }
            if i == 0 || i + 1 == count {
                references.push(transaction.reference.clone());
            }
            self.by_ref
                .insert(transaction.reference.clone(), self.transactions.len());
            self.transactions.push(transaction);
        }
        let first = references.first()?.clone();
        let last = references.last()?.clone();
        Some((first, last))
    }

    /// Registers a webhook endpoint; its id.
    pub(crate) fn add_webhook(&mut self, url: String, mode: Option<String>) -> u64 {
        self.next_webhook_id += 1;
        self.webhooks.push(WebhookEndpoint {
            id: self.next_webhook_id,
            url,
            mode,
        });
        self.next_webhook_id
    }

    /// URLs that receive the events of a transaction created with `mode`.
    pub(crate) fn webhook_targets(&self, mode: &str) -> Vec<String> {
        self.webhooks
            .iter()
            .filter(|w| w.mode.as_deref().map_or(true, |m| m == mode))
            .map(|w| w.url.clone())
            .collect()
    }
}

/// JSON with object keys sorted, whatever serde_json's map order is.
fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(value, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_codes_are_short_uppercase_and_stable() {
        let code = merchant_code("demo-client-id");
        assert_eq!(code.len(), 6);
        assert!(code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert_eq!(code, merchant_code("demo-client-id"));
        assert_ne!(code, merchant_code("other-client-id"));
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[1,2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":[1,2],"y":2},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":[1,2],"y":2},"b":1}"#);
    }
}
