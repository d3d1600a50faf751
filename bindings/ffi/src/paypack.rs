//! `PaypackClient`, its pagers and the webhook verifier, over `pesakit::paypack`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{Stream, StreamExt};
use pesakit::paypack as core;

use crate::callbacks::{ForeignLogger, ForeignStore, Logger, TokenStore};
use crate::columns;
use crate::error::PesakitError;
use crate::runtime::{block, run, Call};
use crate::types::{
    to_system_time, Bytes, CashRequest, Event, EventFilter, EventPage, Profile, Transaction,
    TransactionFilter, TransactionPage, WebhookMode,
};

/// Settings of a `PaypackClient`, all with defaults. Credentials are not part of it, so
/// printing it never shows a secret.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PaypackOptions {
    /// The API base URL (`https://`, or `http://` to loopback with
    /// `allow_insecure_loopback`).
    #[uniffi(default = "https://payments.paypack.rw/api")]
    pub base_url: String,
    /// Permit plain `http://` to loopback addresses (the emulator, local tests).
    #[uniffi(default = false)]
    pub allow_insecure_loopback: bool,
    /// The webhook mode of money calls that do not choose one.
    #[uniffi(default = None)]
    pub webhook_mode: Option<WebhookMode>,
    /// How long to wait for a connection, in milliseconds.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: u64,
    /// How long one try of a request may take, in milliseconds.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: u64,
    /// How many times a safe request may be repeated after the first try.
    #[uniffi(default = 3)]
    pub max_retries: u32,
    /// The wait before the first retry, in milliseconds.
    #[uniffi(default = 200)]
    pub initial_backoff_ms: u64,
    /// The longest wait between tries, in milliseconds.
    #[uniffi(default = 5000)]
    pub max_backoff_ms: u64,
    /// The longest `Retry-After` waited out, in milliseconds.
    #[uniffi(default = 30000)]
    pub max_retry_after_ms: u64,
    /// How long before expiry the access token is renewed, in milliseconds.
    #[uniffi(default = 60000)]
    pub refresh_skew_ms: u64,
    /// How often `wait_for_completion` asks, in milliseconds.
    #[uniffi(default = 2000)]
    pub poll_interval_ms: u64,
}

impl Default for PaypackOptions {
    fn default() -> Self {
        PaypackOptions {
            base_url: core::DEFAULT_BASE_URL.to_owned(),
            allow_insecure_loopback: false,
            webhook_mode: None,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_retries: 3,
            initial_backoff_ms: 200,
            max_backoff_ms: 5_000,
            max_retry_after_ms: 30_000,
            refresh_skew_ms: 60_000,
            poll_interval_ms: 2_000,
        }
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn configure(
    builder: core::ClientBuilder,
    options: Option<PaypackOptions>,
    token_store: Option<Arc<dyn TokenStore>>,
    logger: Option<Arc<dyn Logger>>,
    keep_env_base_url: bool,
) -> Result<Arc<PaypackClient>, PesakitError> {
    let o = options.unwrap_or_default();
    let mut b = builder;
    if !(keep_env_base_url && o.base_url == core::DEFAULT_BASE_URL) {
        b = b.base_url(o.base_url);
    }
    if o.allow_insecure_loopback {
        b = b.allow_insecure_loopback(true);
    }
    b = b
        .connect_timeout(ms(o.connect_timeout_ms))
        .request_timeout(ms(o.request_timeout_ms))
        .retry_policy(pesakit::RetryPolicy {
            max_retries: o.max_retries,
            initial_backoff: ms(o.initial_backoff_ms),
            max_backoff: ms(o.max_backoff_ms),
            max_retry_after: ms(o.max_retry_after_ms),
        })
        .refresh_skew(ms(o.refresh_skew_ms))
        .poll_interval(ms(o.poll_interval_ms));
    if let Some(mode) = o.webhook_mode {
        b = b.webhook_mode(mode.into());
    }
    if let Some(store) = token_store {
        b = b.token_store(Arc::new(ForeignStore::new(store)));
    }
    if let Some(logger) = logger {
        b = b.logger(Arc::new(ForeignLogger::new(logger)));
    }
    // Building the HTTP client needs no runtime; it is reused by every call.
    Ok(Arc::new(PaypackClient { inner: b.build()? }))
}

/// The Paypack client. Create one per application and reuse it: it owns one connection
/// pool and one token, shared by every call (async and blocking alike), and it is safe
/// to use from many threads at once.
///
/// Retry rules: money calls (`cashin`, `cashout`) are retried only with their
/// idempotency key, so at most one transaction is created; reads are retried on lost
/// connections, timeouts, 429, 502, 503 and 504; any call answered 401 is retried once
/// after renewing the token.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct PaypackClient {
    inner: core::Client,
}

impl std::fmt::Debug for PaypackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PaypackClient(base_url={})", self.inner.base_url())
    }
}

#[uniffi::export]
impl PaypackClient {
    /// A client for the application `client_id` / `client_secret`. Nothing is sent
    /// until the first call.
    #[uniffi::constructor(default(options = None, token_store = None, logger = None))]
    pub fn new(
        client_id: String,
        client_secret: String,
        options: Option<PaypackOptions>,
        token_store: Option<Arc<dyn TokenStore>>,
        logger: Option<Arc<dyn Logger>>,
    ) -> Result<Arc<Self>, PesakitError> {
        let builder = core::Client::builder()
            .client_id(client_id)
            .client_secret(client_secret);
        configure(builder, options, token_store, logger, false)
    }

    /// A client configured from `PAYPACK_CLIENT_ID`, `PAYPACK_CLIENT_SECRET`,
    /// `PAYPACK_BASE_URL` (which wins over a default `base_url` in `options`) and
    /// `PAYPACK_ALLOW_INSECURE_LOOPBACK=1` (for pointing it at the emulator).
    #[uniffi::constructor(default(options = None, token_store = None, logger = None))]
    pub fn from_env(
        options: Option<PaypackOptions>,
        token_store: Option<Arc<dyn TokenStore>>,
        logger: Option<Arc<dyn Logger>>,
    ) -> Result<Arc<Self>, PesakitError> {
        configure(
            core::ClientBuilder::from_env(),
            options,
            token_store,
            logger,
            true,
        )
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// Pages through every transaction matching `filter`, fetching as it is read.
    pub fn transactions(
        &self,
        filter: TransactionFilter,
    ) -> Result<Arc<PaypackTransactionPager>, PesakitError> {
        let filter = core::TransactionFilter::try_from(filter)?;
        Ok(Arc::new(PaypackTransactionPager::new(Box::pin(
            self.inner.transaction_pages(filter),
        ))))
    }

    /// Pages through every event matching `filter`, fetching as it is read.
    pub fn events(&self, filter: EventFilter) -> Result<Arc<PaypackEventPager>, PesakitError> {
        let filter = core::EventFilter::try_from(filter)?;
        Ok(Arc::new(PaypackEventPager::new(Box::pin(
            self.inner.event_pages(filter),
        ))))
    }
}

export_operations! {
    PaypackClient;
    /// Makes sure a valid access token is held (loading, refreshing or authorizing only
    /// when needed) and returns when it expires.
    fn [authorize_op, authorize, authorize_blocking] () -> SystemTime => |c| {
        Ok(to_system_time(c.authorize().await?))
    }
    /// Asks the customer to pay; returns the pending transaction. Retried only with its
    /// idempotency key, so at most one transaction is created.
    fn [cashin_op, cashin, cashin_blocking] (request: CashRequest) -> Transaction => |c| {
        Ok(c.cashin(request.try_into()?).await?.into())
    }
    /// Pays out to the customer; returns the pending transaction. Retried only with its
    /// idempotency key, so at most one transaction is created.
    fn [cashout_op, cashout, cashout_blocking] (request: CashRequest) -> Transaction => |c| {
        Ok(c.cashout(request.try_into()?).await?.into())
    }
    /// The processed transaction `reference`; a `NotFound` error while it is unknown or
    /// still pending.
    fn [find_op, find, find_blocking] (reference: String) -> Transaction => |c| {
        Ok(c.find(&reference).await?.into())
    }
    /// One page of transactions.
    fn [list_transactions_op, list_transactions, list_transactions_blocking] (filter: TransactionFilter) -> TransactionPage => |c| {
        let filter = core::TransactionFilter::try_from(filter)?;
        Ok(c.list_transactions(&filter).await?.into())
    }
    /// One page of events.
    fn [list_events_op, list_events, list_events_blocking] (filter: EventFilter) -> EventPage => |c| {
        let filter = core::EventFilter::try_from(filter)?;
        Ok(c.list_events(&filter).await?.into())
    }
    /// The merchant profile: name, fee rates, balances.
    fn [profile_op, profile, profile_blocking] () -> Profile => |c| {
        Ok(c.profile().await?.into())
    }
    /// Waits until `reference` is processed (successful or failed) and returns it; a
    /// `Timeout` error after `timeout_ms`.
    fn [wait_for_completion_op, wait_for_completion, wait_for_completion_blocking] (reference: String, timeout_ms: u64) -> Transaction => |c| {
        Ok(c.wait_for_completion(&reference, Duration::from_millis(timeout_ms)).await?.into())
    }
}

// The column form of the two list calls (`columns.rs`), for the Python package only
// (left out of the Kotlin and Swift bindings in `uniffi.toml`). Each wraps the call
// that returns records, so the request and its conversion exist once.
impl PaypackClient {
    fn list_transactions_columns_op(&self, filter: TransactionFilter) -> Call<Bytes> {
        let page = self.list_transactions_op(filter);
        Box::pin(async move { Ok(columns::transaction_page(&page.await?)) })
    }

    fn list_events_columns_op(&self, filter: EventFilter) -> Call<Bytes> {
        let page = self.list_events_op(filter);
        Box::pin(async move { Ok(columns::event_page(&page.await?)) })
    }
}

#[uniffi::export]
impl PaypackClient {
    /// `list_transactions`, with the page in the column form the Python package reads.
    pub async fn list_transactions_columns(
        &self,
        filter: TransactionFilter,
    ) -> Result<Bytes, PesakitError> {
        run(self.list_transactions_columns_op(filter)).await
    }

    /// `list_transactions_blocking`, with the page in the column form the Python
    /// package reads.
    pub fn list_transactions_columns_blocking(
        &self,
        filter: TransactionFilter,
    ) -> Result<Bytes, PesakitError> {
        block(self.list_transactions_columns_op(filter))
    }

    /// `list_events`, with the page in the column form the Python package reads.
    pub async fn list_events_columns(&self, filter: EventFilter) -> Result<Bytes, PesakitError> {
        run(self.list_events_columns_op(filter)).await
    }

    /// `list_events_blocking`, with the page in the column form the Python package
    /// reads.
    pub fn list_events_columns_blocking(&self, filter: EventFilter) -> Result<Bytes, PesakitError> {
        block(self.list_events_columns_op(filter))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = pesakit::Result<T>> + Send>>;

/// A pager's state: the core's stream of pages, and what is left of the last page.
struct Pages<T> {
    pages: BoxStream<Vec<T>>,
    left: VecDeque<T>,
}

impl<T> Pages<T> {
    /// What is left of the last page, or else the next page; empty at the end.
    async fn next_batch(&mut self) -> pesakit::Result<VecDeque<T>> {
        if self.left.is_empty() {
            if let Some(page) = self.pages.next().await {
                return Ok(page?.into());
            }
        }
        Ok(std::mem::take(&mut self.left))
    }
}

macro_rules! pager {
    ($(#[$doc:meta])* $name:ident, $item:ty, $core:ty) => {
        $(#[$doc])*
        #[derive(uniffi::Object)]
        pub struct $name {
            state: Arc<tokio::sync::Mutex<Pages<$core>>>,
        }

        impl $name {
            fn new(pages: BoxStream<Vec<$core>>) -> Self {
                let left = VecDeque::new();
                $name { state: Arc::new(tokio::sync::Mutex::new(Pages { pages, left })) }
            }

            fn next_op(&self) -> $crate::runtime::Call<Option<$item>> {
                let state = self.state.clone();
                Box::pin(async move {
                    let mut state = state.lock().await;
                    if state.left.is_empty() {
                        state.left = state.next_batch().await?;
                    }
                    Ok(state.left.pop_front().map(Into::into))
                })
            }

            fn next_batch_op(&self) -> $crate::runtime::Call<Vec<$item>> {
                let state = self.state.clone();
                Box::pin(async move {
                    let batch = state.lock().await.next_batch().await?;
                    Ok(batch.into_iter().map(Into::into).collect())
                })
            }
        }

        #[uniffi::export]
        impl $name {
            /// The next item, fetching the next page when needed; `None` at the end.
            /// After an error the pager is finished.
            pub async fn next(&self) -> Result<Option<$item>, PesakitError> {
                run(self.next_op()).await
            }

            /// The next item, blocking the calling thread; `None` at the end.
            pub fn next_blocking(&self) -> Result<Option<$item>, PesakitError> {
                block(self.next_op())
            }

            /// The items of the current page not read yet, or else those of the next
            /// page (fetching it); empty at the end. After an error the pager is
            /// finished. Mixes freely with `next`: each item comes once.
            pub async fn next_batch(&self) -> Result<Vec<$item>, PesakitError> {
                run(self.next_batch_op()).await
            }

            /// `next_batch`, blocking the calling thread.
            pub fn next_batch_blocking(&self) -> Result<Vec<$item>, PesakitError> {
                block(self.next_batch_op())
            }
        }
    };
}

pager!(
    /// Walks every transaction of a filter, a page at a time, each once.
    PaypackTransactionPager, Transaction, core::Transaction
);
pager!(
    /// Walks every event of a filter, a page at a time, each once (deduplicated on id).
    PaypackEventPager, Event, core::Event
);

/// Verifies and parses Paypack webhooks (`X-Paypack-Signature`: base64 HMAC-SHA256 of
/// the raw body, compared in constant time).
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct PaypackWebhookVerifier {
    inner: core::WebhookVerifier,
}

impl std::fmt::Debug for PaypackWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaypackWebhookVerifier(secret=[redacted])")
    }
}

impl PaypackWebhookVerifier {
    /// `verify_and_parse` on borrowed arguments (also called by `crate::borrowed`).
    pub(crate) fn verify_and_parse_borrowed(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<Event, PesakitError> {
        Ok(self.inner.verify_and_parse(body, signature)?.into())
    }

    /// `verify` on borrowed arguments (also called by `crate::borrowed`).
    pub(crate) fn verify_borrowed(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<(), PesakitError> {
        Ok(self.inner.verify(body, signature)?)
    }
}

#[uniffi::export]
impl PaypackWebhookVerifier {
    /// A verifier for webhooks signed with `secret`.
    #[uniffi::constructor]
    pub fn new(secret: String) -> Result<Arc<Self>, PesakitError> {
        Ok(Arc::new(PaypackWebhookVerifier {
            inner: core::WebhookVerifier::new(secret.as_bytes())?,
        }))
    }

    /// Checks `signature` (the header value; absent when the header is missing) against
    /// the raw `body` bytes, then parses the event. A bad or missing signature is a
    /// `WebhookSignature` error and nothing is parsed.
    pub fn verify_and_parse(
        &self,
        body: Bytes,
        signature: Option<String>,
    ) -> Result<Event, PesakitError> {
        self.verify_and_parse_borrowed(&body, signature.as_deref())
    }

    /// Checks the signature only.
    pub fn verify(&self, body: Bytes, signature: Option<String>) -> Result<(), PesakitError> {
        self.verify_borrowed(&body, signature.as_deref())
    }

    /// The signature Paypack would send for `body` (for tests and tools).
    pub fn sign(&self, body: Bytes) -> String {
        self.inner.sign(&body)
    }

    /// The header that carries the signature: `X-Paypack-Signature`.
    pub fn signature_header(&self) -> String {
        core::SIGNATURE_HEADER.to_owned()
    }
}
