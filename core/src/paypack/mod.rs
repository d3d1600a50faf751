//! The Paypack client (Rwanda: MTN and Airtel mobile money).
//!
//! [`Client`] authorizes lazily with the application's client id and secret, keeps the
//! access token fresh (refreshing ahead of expiry, one refresh at a time, a fresh
//! login when refresh fails), and exposes every Paypack operation. [`WebhookVerifier`]
//! checks and parses the webhooks Paypack sends.
//!
//! ## Retry rules
//!
//! | call | retried automatically |
//! |---|---|
//! | [`Client::cashin`], [`Client::cashout`] | yes, always with the same `Idempotency-Key` (one is generated unless given), so the gateway creates at most one transaction |
//! | reads ([`Client::find`], lists, events, profile) | yes |
//! | any call answered 401 | once, after renewing the token (the gateway did not act) |
//!
//! Retries happen on failed connections, timeouts, lost connections, 429 (honouring
//! `Retry-After`), 502, 503 and 504, as the client's [`RetryPolicy`](crate::RetryPolicy) allows.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};
use reqwest::Method;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{decode, segment, Answer, Call, Repeat, Transport};
use crate::log::LogLevel;
use crate::money::Amount;
use crate::secret::Secret;
use crate::settings::{env_flag, Settings};
use crate::time::Timestamp;
use crate::token::{expiry_from, jwt_expiry, Authenticator, TokenManager, TokenSet};

mod models;
mod validate;
mod webhook;

pub use models::{
    Event, EventKind, EventPage, Profile, Transaction, TransactionKind, TransactionPage,
    TransactionStatus, WebhookMode,
};
pub use validate::{normalize_phone, MIN_AMOUNT};
pub use webhook::{WebhookVerifier, SIGNATURE_HEADER};

#[cfg(feature = "fuzzing")]
pub(crate) use webhook::parse_event;

use models::{WireEventPage, WireProfile, WireTransaction, WireTransactionPage};

/// Paypack's production base URL.
pub const DEFAULT_BASE_URL: &str = "https://payments.paypack.rw/api";

/// The page size used by the auto-paginating streams when the filter sets none.
pub const DEFAULT_STREAM_PAGE_SIZE: u64 = 100;

/// The two refresh routes seen in the wild, tried in this order first.
const REFRESH_ROUTES: [(&str, &str); 2] = [
    ("/auth/refresh/", "/auth/refresh/{token}"),
    ("/auth/agents/refresh/", "/auth/agents/refresh/{token}"),
];

/// Used when neither `expires` nor the JWT says when a token expires.
const FALLBACK_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Builds a [`Client`]. Start with [`Client::builder`] or [`ClientBuilder::from_env`].
#[derive(Clone)]
pub struct ClientBuilder {
    client_id: Option<String>,
    client_secret: Option<Secret>,
    base_url: String,
    webhook_mode: Option<WebhookMode>,
    poll_interval: Duration,
    settings: Settings,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            client_id: None,
            client_secret: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            webhook_mode: None,
            poll_interval: Duration::from_secs(2),
            settings: Settings::default(),
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("base_url", &self.base_url)
            .field("webhook_mode", &self.webhook_mode)
            .field("retry", &self.settings.retry)
            .field(
                "allow_insecure_loopback",
                &self.settings.allow_insecure_loopback,
            )
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder filled from `PAYPACK_CLIENT_ID`, `PAYPACK_CLIENT_SECRET` and
    /// `PAYPACK_BASE_URL` (each only when set). `PAYPACK_ALLOW_INSECURE_LOOPBACK=1`
    /// (or `true`) permits `http://` to a loopback base URL, for pointing an
    /// environment-configured client at the emulator.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut b = ClientBuilder::default();
        if let Some(id) = var("PAYPACK_CLIENT_ID") {
            b = b.client_id(id);
        }
        if let Some(secret) = var("PAYPACK_CLIENT_SECRET") {
            b = b.client_secret(secret);
        }
        if let Some(url) = var("PAYPACK_BASE_URL") {
            b = b.base_url(url);
        }
        if let Some(flag) = var("PAYPACK_ALLOW_INSECURE_LOOPBACK") {
            b = b.allow_insecure_loopback(env_flag(&flag));
        }
        b
    }

    /// The application's client id (required).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The application's client secret (required). Never logged or printed.
    pub fn client_secret(mut self, client_secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(client_secret.into());
        self
    }

    /// The API base URL; defaults to [`DEFAULT_BASE_URL`]. Must be `https://`, or
    /// `http://` to a loopback address with [`allow_insecure_loopback`](Self::allow_insecure_loopback).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    settings_methods!();

    /// The `X-Webhook-Mode` sent with money calls that do not choose their own.
    pub fn webhook_mode(mut self, mode: WebhookMode) -> Self {
        self.webhook_mode = Some(mode);
        self
    }

    /// How often [`Client::wait_for_completion`] asks for the transaction (default 2 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Checks the configuration and builds the client. Nothing is sent yet: the first
    /// call authorizes.
    pub fn build(self) -> Result<Client> {
        let client_id = self
            .client_id
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::configuration("Paypack client id is missing (set it, or PAYPACK_CLIENT_ID)")
            })?;
        let client_secret = self
            .client_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::configuration(
                    "Paypack client secret is missing (set it, or PAYPACK_CLIENT_SECRET)",
                )
            })?;
        if self.poll_interval.is_zero() {
            return Err(Error::configuration(
                "the poll interval must be greater than zero",
            ));
        }
        let transport = self.settings.transport("Paypack", self.base_url)?;
        let key = format!("paypack|{}|{}", transport.base_url(), client_id);
        let tokens = TokenManager::new(
            key,
            self.settings.store(),
            self.settings.refresh_skew,
            transport.log().clone(),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                tokens,
                transport,
                client_id,
                client_secret,
                webhook_mode: self.webhook_mode,
                poll_interval: self.poll_interval,
                refresh_route: AtomicUsize::new(0),
            }),
        })
    }
}

/// A money call: cash-in (the customer pays) or cash-out (the merchant pays out).
#[derive(Clone, Debug, PartialEq)]
pub struct CashRequest {
    /// The amount, in RWF.
    pub amount: Amount,
    /// The customer's phone number (`07…`, `2507…` or `+2507…`).
    pub number: String,
    /// The `Idempotency-Key` (at most 32 characters); generated when `None`.
    pub idempotency_key: Option<String>,
    /// The `X-Webhook-Mode` for this call; the client's default when `None`.
    pub webhook_mode: Option<WebhookMode>,
    /// Whether to check the phone number and the minimum amount before sending
    /// (default `true`).
    pub validate: bool,
}

impl CashRequest {
    /// A request for `amount` from or to `number`, validated, with a generated key.
    pub fn new(amount: impl Into<Amount>, number: impl Into<String>) -> Self {
        CashRequest {
            amount: amount.into(),
            number: number.into(),
            idempotency_key: None,
            webhook_mode: None,
            validate: true,
        }
    }

    /// Sends this idempotency key instead of a generated one. Reuse the key to retry a
    /// call whose outcome you do not know.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Chooses the webhook mode for this call.
    pub fn with_webhook_mode(mut self, mode: WebhookMode) -> Self {
        self.webhook_mode = Some(mode);
        self
    }

    /// Sends the number and amount as given, without the client-side checks (the
    /// amount must still be positive).
    pub fn without_validation(mut self) -> Self {
        self.validate = false;
        self
    }
}

/// A new idempotency key: 32 random hexadecimal characters.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Filters for [`Client::list_transactions`] and [`Client::transactions`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransactionFilter {
    /// Where the page starts (default 0).
    pub offset: Option<u64>,
    /// The page size (gateway default 20).
    pub limit: Option<u64>,
    /// Only transactions created at or after this instant.
    pub from: Option<Timestamp>,
    /// Only transactions created at or before this instant.
    pub to: Option<Timestamp>,
    /// Only this kind.
    pub kind: Option<TransactionKind>,
    /// Only this customer's phone number.
    pub client: Option<String>,
}

/// Filters for [`Client::list_events`] and [`Client::events`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    /// Only events of this transaction reference.
    pub reference: Option<String>,
    /// Only events of transactions of this kind.
    pub kind: Option<TransactionKind>,
    /// Only this customer's phone number.
    pub client: Option<String>,
    /// Only events whose transaction has this status.
    pub status: Option<TransactionStatus>,
    /// Where the page starts (default 0).
    pub offset: Option<u64>,
    /// The page size (gateway default 20).
    pub limit: Option<u64>,
    /// Only events at or after this instant.
    pub from: Option<Timestamp>,
    /// Only events at or before this instant.
    pub to: Option<Timestamp>,
}

/// The Paypack client. Cheap to clone: clones share one connection pool and one token.
///
/// Create one per application and keep it: every client has its own pool, token
/// cache and single-flight token renewal.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tokens: TokenManager,
    client_id: String,
    client_secret: Secret,
    webhook_mode: Option<WebhookMode>,
    poll_interval: Duration,
    /// Index into [`REFRESH_ROUTES`] of the route that last worked.
    refresh_route: AtomicUsize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("paypack::Client")
            .field("base_url", &self.inner.transport.base_url())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct WireTokens {
    access: Option<String>,
    refresh: Option<String>,
    expires: Option<serde_json::Value>,
}

/// Reads an authorize or refresh answer (`{"access", "refresh", "expires"}`).
pub(crate) fn token_set(body: &[u8], what: &str) -> Result<TokenSet> {
    let wire: WireTokens = decode(what, body, true)?;
    let access = wire
        .access
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::decode(format!("{what}: the answer has no access token")))?;
    let now = Timestamp::now();
    let expires_at = expiry_from(wire.expires.as_ref(), &access, now, FALLBACK_TOKEN_LIFETIME);
    let refresh_expires_at = wire.refresh.as_deref().and_then(jwt_expiry);
    Ok(TokenSet {
        access_token: Secret::new(access),
        refresh_token: wire.refresh.filter(|r| !r.is_empty()).map(Secret::new),
        expires_at,
        refresh_expires_at,
        obtained_at: now,
    })
}

impl Inner {
    async fn refresh_at(&self, route: usize, refresh_token: &Secret) -> Result<TokenSet> {
        let (prefix, label) = REFRESH_ROUTES[route];
        let mut call = Call::new(
            Method::GET,
            format!("{prefix}{}", segment(refresh_token.expose())?),
            label,
            "token refresh",
        );
        call.sensitive = true;
        let answer = self.transport.send(&call).await?;
        token_set(&answer.body, "Paypack token refresh")
    }
}

impl Authenticator for Inner {
    async fn authorize(&self) -> Result<TokenSet> {
        let body = serde_json::json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose(),
        });
        let mut call = Call::new(
            Method::POST,
            "/auth/agents/authorize".to_owned(),
            "/auth/agents/authorize",
            "authorize",
        )
        .json(&body);
        // Logging in twice is harmless: safe to repeat.
        call.repeat = Repeat::Safe;
        call.sensitive = true;
        let answer = self.transport.send(&call).await.map_err(authorize_error)?;
        token_set(&answer.body, "Paypack authorize")
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let first = self.refresh_route.load(Ordering::Relaxed) % REFRESH_ROUTES.len();
        match self.refresh_at(first, refresh_token).await {
            Err(e) if matches!(e.status(), Some(404 | 405)) => {
                let other = (first + 1) % REFRESH_ROUTES.len();
                let tokens = self.refresh_at(other, refresh_token).await?;
                self.refresh_route.store(other, Ordering::Relaxed);
                self.transport.log().log(LogLevel::Info, || {
                    format!(
                        "Paypack refresh route {} is not served; using {} from now on",
                        REFRESH_ROUTES[first].1, REFRESH_ROUTES[other].1
                    )
                });
                Ok(tokens)
            }
            other => other,
        }
    }
}

impl Client {
    /// A builder with Paypack's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `PAYPACK_CLIENT_ID`, `PAYPACK_CLIENT_SECRET`,
    /// `PAYPACK_BASE_URL` and `PAYPACK_ALLOW_INSECURE_LOOPBACK`. Use [`ClientBuilder::from_env`] to change more settings.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env().build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// Makes sure the client holds a valid access token (loading it from the token
    /// store, refreshing it or authorizing only when needed) and returns when it
    /// expires. Calling this is optional: every operation does it.
    pub async fn authorize(&self) -> Result<Timestamp> {
        let tokens = self.inner.tokens.access_token(&*self.inner).await?;
        Ok(tokens.expires_at)
    }

    /// Sends `call` with the access token; after a 401, renews the token and tries once
    /// more.
    async fn send_authed(&self, call: Call<'_>) -> Result<Answer> {
        let inner = &*self.inner;
        inner.tokens.send(&inner.transport, inner, call).await
    }

    /// Asks the customer at `request.number` to pay `request.amount` (they confirm on
    /// their phone). Returns the pending transaction.
    ///
    /// Retried automatically with the same idempotency key, so at most one transaction
    /// is created. When the outcome stays unknown, the error carries the key
    /// ([`Error::idempotency_key`]): send the request again with it.
    pub async fn cashin(&self, request: CashRequest) -> Result<Transaction> {
        self.move_money(request, "/transactions/cashin", "cash-in")
            .await
    }

    /// Pays `request.amount` out to `request.number`. Same retry rule as
    /// [`cashin`](Self::cashin).
    pub async fn cashout(&self, request: CashRequest) -> Result<Transaction> {
        self.move_money(request, "/transactions/cashout", "cash-out")
            .await
    }

    async fn move_money(
        &self,
        request: CashRequest,
        path: &'static str,
        operation: &'static str,
    ) -> Result<Transaction> {
        let number = if request.validate {
            normalize_phone(&request.number)?
        } else {
            request.number.trim().to_owned()
        };
        if number.is_empty() {
            return Err(Error::validation("the phone number is empty"));
        }
        validate::check_amount(request.amount, request.validate)?;
        let amount = request.amount.to_json_number()?;
        let key = match request.idempotency_key {
            Some(k) => {
                validate::check_idempotency_key(&k)?;
                k
            }
            None => new_idempotency_key(),
        };
        let body = serde_json::json!({ "amount": amount, "number": number });
        let mut call = Call::new(Method::POST, path.to_owned(), path, operation)
            .json(&body)
            .header("idempotency-key", &key)?;
        if let Some(mode) = request.webhook_mode.or(self.inner.webhook_mode) {
            call = call.header("x-webhook-mode", mode.as_str())?;
        }
        // The key makes a repeat return the first transaction instead of a second one.
        call.repeat = Repeat::Safe;
        call.idempotency_key = Some(&key);
        let answer = self.send_authed(call).await?;
        let mut tx = decode_transaction(&format!("Paypack {operation}"), &answer.body)
            .map_err(|e| e.with_idempotency_key(&key))?;
        // The answer does not echo the number; it is the one just sent.
        tx.client.get_or_insert(number);
        Ok(tx)
    }

    /// The processed transaction `reference`. Paypack answers 404 — an error of kind
    /// [`NotFound`](ErrorKind::NotFound) — while the reference is unknown *or still
    /// pending*. Retried automatically.
    pub async fn find(&self, reference: &str) -> Result<Transaction> {
        let reference = reference.trim();
        if reference.is_empty() {
            return Err(Error::validation("the transaction reference is empty"));
        }
        let path = format!("/transactions/find/{}", segment(reference)?);
        let label = path.clone();
        let answer = self
            .send_authed(Call::new(Method::GET, path, label, "find"))
            .await?;
        decode_transaction("Paypack find", &answer.body)
    }

    /// One page of transactions. Retried automatically.
    pub async fn list_transactions(&self, filter: &TransactionFilter) -> Result<TransactionPage> {
        let call = Call::new(
            Method::GET,
            "/transactions/list".to_owned(),
            "/transactions/list",
            "list transactions",
        )
        .query("offset", filter.offset)
        .query("limit", filter.limit)
        .query("from", filter.from)
        .query("to", filter.to)
        .query("kind", filter.kind.as_ref().map(|k| k.as_str().to_owned()))
        .query("client", filter.client.as_deref().map(str::trim));
        let answer = self.send_authed(call).await?;
        decode_transaction_page(
            &answer.body,
            filter.offset.unwrap_or(0),
            filter.limit.unwrap_or(20),
        )
    }

    /// One page of events. Retried automatically.
    pub async fn list_events(&self, filter: &EventFilter) -> Result<EventPage> {
        let call = Call::new(
            Method::GET,
            "/events/transactions".to_owned(),
            "/events/transactions",
            "list events",
        )
        .query("ref", filter.reference.as_deref().map(str::trim))
        .query("kind", filter.kind.as_ref().map(|k| k.as_str().to_owned()))
        .query("client", filter.client.as_deref().map(str::trim))
        .query(
            "status",
            filter.status.as_ref().map(|s| s.as_str().to_owned()),
        )
        .query("offset", filter.offset)
        .query("limit", filter.limit)
        .query("from", filter.from)
        .query("to", filter.to);
        let answer = self.send_authed(call).await?;
        decode_event_page(
            &answer.body,
            filter.offset.unwrap_or(0),
            filter.limit.unwrap_or(20),
        )
    }

    /// Every transaction matching `filter`, fetching pages as the stream is read
    /// (starting at `filter.offset`, `filter.limit` per page, default
    /// [`DEFAULT_STREAM_PAGE_SIZE`]). A transaction shifted onto a later page by new
    /// arrivals is yielded once. The stream ends after the first error it yields.
    pub fn transactions(
        &self,
        filter: TransactionFilter,
    ) -> impl Stream<Item = Result<Transaction>> + Send + 'static {
        items(self.transaction_pages(filter))
    }

    /// [`transactions`](Self::transactions) a page at a time: each item is what one
    /// request brought that was not yielded before (never empty). The stream ends after
    /// the first error it yields.
    pub fn transaction_pages(
        &self,
        filter: TransactionFilter,
    ) -> impl Stream<Item = Result<Vec<Transaction>>> + Send + 'static {
        let client = self.clone();
        paginate(
            filter.offset.unwrap_or(0),
            filter.limit.unwrap_or(DEFAULT_STREAM_PAGE_SIZE).max(1),
            move |offset, limit| {
                let client = client.clone();
                let filter = TransactionFilter {
                    offset: Some(offset),
                    limit: Some(limit),
                    ..filter.clone()
                };
                async move {
                    let page = client.list_transactions(&filter).await?;
                    Ok((page.transactions, page.total))
                }
            },
            |t: &Transaction| t.reference.clone(),
        )
    }

    /// Every event matching `filter`, fetching pages as the stream is read. An event
    /// shifted onto a later page by new arrivals is yielded once (deduplicated on its
    /// id). The stream ends after the first error it yields.
    pub fn events(
        &self,
        filter: EventFilter,
    ) -> impl Stream<Item = Result<Event>> + Send + 'static {
        items(self.event_pages(filter))
    }

    /// [`events`](Self::events) a page at a time: each item is what one request brought
    /// that was not yielded before (never empty). The stream ends after the first error
    /// it yields.
    pub fn event_pages(
        &self,
        filter: EventFilter,
    ) -> impl Stream<Item = Result<Vec<Event>>> + Send + 'static {
        let client = self.clone();
        paginate(
            filter.offset.unwrap_or(0),
            filter.limit.unwrap_or(DEFAULT_STREAM_PAGE_SIZE).max(1),
            move |offset, limit| {
                let client = client.clone();
                let filter = EventFilter {
                    offset: Some(offset),
                    limit: Some(limit),
                    ..filter.clone()
                };
                async move {
                    let page = client.list_events(&filter).await?;
                    Ok((page.events, page.total))
                }
            },
            |e: &Event| e.id.clone(),
        )
    }

    /// The merchant profile: name, fee rates and balances. Retried automatically.
    pub async fn profile(&self) -> Result<Profile> {
        let call = Call::new(
            Method::GET,
            "/merchants/me".to_owned(),
            "/merchants/me",
            "profile",
        );
        let answer = self.send_authed(call).await?;
        decode_profile(&answer.body)
    }

    /// Waits until transaction `reference` is processed and returns it, successful or
    /// failed (check [`Transaction::status`]). "Not found" counts as still pending.
    /// Asks every poll interval; after `timeout`, fails with
    /// [`Timeout`](ErrorKind::Timeout). Other errors end the wait at once.
    pub async fn wait_for_completion(
        &self,
        reference: &str,
        timeout: Duration,
    ) -> Result<Transaction> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "Paypack transaction {reference} was not processed within {} ms",
                    timeout.as_millis()
                ),
            )
        };
        loop {
            match tokio::time::timeout_at(deadline, self.find(reference)).await {
                Err(_) => return Err(timed_out()),
                Ok(Ok(t)) if t.status.is_final() => return Ok(t),
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == ErrorKind::NotFound => {}
                Ok(Err(e)) => return Err(e),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(timed_out());
            }
            tokio::time::sleep_until((now + self.inner.poll_interval).min(deadline)).await;
        }
    }
}

/// A 401 on authorize means the application's credentials were refused.
pub(crate) fn authorize_error(e: Error) -> Error {
    if e.status() == Some(401) {
        e.prefixed("the client id or secret was refused")
    } else {
        e
    }
}

/// Reads a transaction answer (cash-in, cash-out, find); `what` names the operation.
pub(crate) fn decode_transaction(what: &str, body: &[u8]) -> Result<Transaction> {
    decode::<WireTransaction>(what, body, false)?
        .into_model()
        .map_err(|p| Error::decode(format!("{what}: {p}")))
}

/// Reads a transaction list answer; `offset` and `limit` are the ones asked for.
pub(crate) fn decode_transaction_page(
    body: &[u8],
    offset: u64,
    limit: u64,
) -> Result<TransactionPage> {
    decode::<WireTransactionPage>("Paypack list transactions", body, false)?
        .into_model(offset, limit)
        .map_err(|p| Error::decode(format!("Paypack list transactions: {p}")))
}

/// Reads an events page answer; `offset` and `limit` are the ones asked for.
pub(crate) fn decode_event_page(body: &[u8], offset: u64, limit: u64) -> Result<EventPage> {
    decode::<WireEventPage>("Paypack list events", body, false)?
        .into_model(offset, limit)
        .map_err(|p| Error::decode(format!("Paypack list events: {p}")))
}

/// Reads the merchant profile answer.
pub(crate) fn decode_profile(body: &[u8]) -> Result<Profile> {
    Ok(decode::<WireProfile>("Paypack profile", body, false)?.into_model())
}

/// The items of a stream of pages, one by one (an error passes through as it is).
fn items<T: Send + 'static>(
    pages: impl Stream<Item = Result<Vec<T>>> + Send + 'static,
) -> impl Stream<Item = Result<T>> + Send + 'static {
    pages.flat_map(|page| match page {
        Ok(items) => stream::iter(items.into_iter().map(Ok)).left_stream(),
        Err(e) => stream::iter(Some(Err(e))).right_stream(),
    })
}

/// Offset pagination as a stream of pages: fetches the next page when read, stops at a
/// short page or at the total, and drops items already yielded (a page left with none
/// is not yielded). Once ended, it keeps answering `None` (a pager may be asked again).
fn paginate<T, F, Fut>(
    start: u64,
    limit: u64,
    fetch: F,
    id: fn(&T) -> String,
) -> impl Stream<Item = Result<Vec<T>>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(u64, u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, u64)>> + Send,
{
    struct State<F> {
        fetch: F,
        offset: u64,
        seen: HashSet<String>,
        done: bool,
    }
    let state = State {
        fetch,
        offset: start,
        seen: HashSet::new(),
        done: false,
    };
    stream::unfold(state, move |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            match (st.fetch)(st.offset, limit).await {
                Ok((items, total)) => {
                    let n = items.len() as u64;
                    st.offset += n;
                    if n < limit || st.offset >= total {
                        st.done = true;
                    }
                    let fresh: Vec<T> = items
                        .into_iter()
                        .filter(|item| st.seen.insert(id(item)))
                        .collect();
                    if !fresh.is_empty() {
                        return Some((Ok(fresh), st));
                    }
                }
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        }
    })
    .fuse()
}
