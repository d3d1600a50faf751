//! `CheckoutClient` and the checkout webhook verifier, over `pesakit::checkout`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pesakit::checkout as core;
use pesakit::{Amount, Secret};

use crate::callbacks::{ForeignLogger, ForeignStore, Logger, TokenStore};
use crate::error::PesakitError;
use crate::types::{from_system_time, to_system_time, AmountText, Bytes};

/// Where a checkout payment stands. For `Unknown`, `status_raw` keeps the gateway's
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum PaymentStatus {
    /// Created; not paid yet.
    Open,
    /// A payment was seen.
    Found,
    /// Received, awaiting confirmation.
    Received,
    /// Confirmed: done.
    Confirmed,
    /// Less than the amount was paid.
    Underpaid,
    /// Cancelled.
    Cancelled,
    /// Failed.
    Error,
    /// Refunded.
    Refund,
    /// A status pesakit does not know yet.
    Unknown,
}

/// What a checkout webhook reports. For `Unknown`, `kind_raw` keeps the event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CheckoutEventKind {
    /// `payment.completed`.
    PaymentCompleted,
    /// `payment.received`.
    PaymentReceived,
    /// `payment.underpaid`.
    PaymentUnderpaid,
    /// Another event.
    Unknown,
}

/// A money field: decimal value, minor units, and the gateway's display text.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Money {
    /// The value in major units.
    pub value: Option<Amount>,
    /// The value in minor units.
    pub minor_units: Option<i64>,
    /// The gateway's display text.
    pub formatted: Option<String>,
}

impl From<core::Money> for Money {
    fn from(m: core::Money) -> Self {
        Money {
            value: m.value,
            minor_units: m.minor_units,
            formatted: m.formatted,
        }
    }
}

/// A checkout payment.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Payment {
    /// The payment id.
    pub id: String,
    /// The merchant user id.
    pub user_id: Option<String>,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The status as text (`OPEN`, …, or the gateway's own for `Unknown`).
    pub status_raw: String,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// The reference's label.
    pub reference_label: Option<String>,
    /// The currency asked for.
    pub currency_code: Option<String>,
    /// The settlement currency.
    pub settlement_currency_code: Option<String>,
    /// The amount asked for.
    pub amount: Option<Money>,
    /// What was received.
    pub received_amount: Option<Money>,
    /// What was settled.
    pub settled_amount: Option<Money>,
    /// When a payment was first seen.
    pub found_at: Option<SystemTime>,
    /// When it was confirmed.
    pub confirmed_at: Option<SystemTime>,
    /// When it was created.
    pub date: Option<SystemTime>,
}

impl From<core::Payment> for Payment {
    fn from(p: core::Payment) -> Self {
        let status = match &p.status {
            core::PaymentStatus::Open => PaymentStatus::Open,
            core::PaymentStatus::Found => PaymentStatus::Found,
            core::PaymentStatus::Received => PaymentStatus::Received,
            core::PaymentStatus::Confirmed => PaymentStatus::Confirmed,
            core::PaymentStatus::Underpaid => PaymentStatus::Underpaid,
            core::PaymentStatus::Cancelled => PaymentStatus::Cancelled,
            core::PaymentStatus::Error => PaymentStatus::Error,
            core::PaymentStatus::Refund => PaymentStatus::Refund,
            _ => PaymentStatus::Unknown,
        };
        Payment {
            status,
            status_raw: p.status.as_str().to_owned(),
            id: p.id,
            user_id: p.user_id,
            reference: p.reference,
            reference_label: p.reference_label,
            currency_code: p.currency_code,
            settlement_currency_code: p.settlement_currency_code,
            amount: p.amount.map(Into::into),
            received_amount: p.received_amount.map(Into::into),
            settled_amount: p.settled_amount.map(Into::into),
            found_at: p.found_at.map(to_system_time),
            confirmed_at: p.confirmed_at.map(to_system_time),
            date: p.date.map(to_system_time),
        }
    }
}

/// A verified checkout webhook.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckoutWebhookEvent {
    /// What happened.
    pub kind: CheckoutEventKind,
    /// The event name as sent.
    pub kind_raw: String,
    /// When the gateway signed it.
    pub timestamp: SystemTime,
    /// The payment as it is now.
    pub payment: Payment,
}

impl From<core::WebhookEvent> for CheckoutWebhookEvent {
    fn from(e: core::WebhookEvent) -> Self {
        CheckoutWebhookEvent {
            kind: match &e.kind {
                core::WebhookEventKind::PaymentCompleted => CheckoutEventKind::PaymentCompleted,
                core::WebhookEventKind::PaymentReceived => CheckoutEventKind::PaymentReceived,
                core::WebhookEventKind::PaymentUnderpaid => CheckoutEventKind::PaymentUnderpaid,
                _ => CheckoutEventKind::Unknown,
            },
            kind_raw: e.kind.as_str().to_owned(),
            timestamp: to_system_time(e.timestamp),
            payment: e.payment.into(),
        }
    }
}

/// A checkout to create.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckoutRequest {
    /// The amount in major units (converted to minor units by the currency's exponent;
    /// more digits than the currency has is a validation error, never rounded).
    pub amount: AmountText,
    /// The currency code (`USD`, `RWF`, `BTC`, …).
    pub currency: String,
    /// The merchant's reference (an order number).
    pub reference: String,
    /// A label for the reference (default: the reference).
    #[uniffi(default = None)]
    pub reference_label: Option<String>,
    /// Where the hosted page sends the payer afterwards.
    #[uniffi(default = None)]
    pub redirect_url: Option<String>,
    /// When the checkout expires.
    #[uniffi(default = None)]
    pub expires_at: Option<SystemTime>,
    /// The merchant's product id.
    #[uniffi(default = None)]
    pub product_id: Option<String>,
    /// The settlement currency, when different.
    #[uniffi(default = None)]
    pub settlement_currency: Option<String>,
    /// A site id instead of the client id.
    #[uniffi(default = None)]
    pub site_id: Option<String>,
    /// The currency's minor-unit digits, when pesakit does not know the currency.
    #[uniffi(default = None)]
    pub exponent: Option<u32>,
}

impl TryFrom<CheckoutRequest> for core::CheckoutRequest {
    type Error = PesakitError;

    fn try_from(r: CheckoutRequest) -> Result<Self, PesakitError> {
        Ok(core::CheckoutRequest {
            amount: r.amount.0.parse::<Amount>()?,
            currency: r.currency,
            reference: r.reference,
            reference_label: r.reference_label,
            redirect_url: r.redirect_url,
            expires_at: r.expires_at.map(from_system_time).transpose()?,
            product_id: r.product_id,
            settlement_currency: r.settlement_currency,
            site_id: r.site_id,
            exponent: r.exponent,
        })
    }
}

/// A created checkout.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Checkout {
    /// The payment id.
    pub payment_id: String,
    /// The hosted page to send the payer to.
    pub checkout_url: String,
    /// When the page stops working.
    pub expires_at: Option<SystemTime>,
}

/// A payment application.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PaymentApplication {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its public 32-character client id.
    pub client_id: Option<String>,
    /// The owning user.
    pub user_id: Option<String>,
    /// Accepted currencies (empty: all).
    pub currency_whitelist: Vec<String>,
    /// Whether underpayments are accepted.
    pub allow_underpay: Option<bool>,
    /// Whether overpayments are accepted.
    pub allow_overpay: Option<bool>,
    /// Where webhooks go.
    pub callback_url: Option<String>,
    /// When it was created.
    pub created_at: Option<SystemTime>,
    /// Everything the gateway sent, as JSON text.
    pub raw_json: String,
}

impl From<core::PaymentApplication> for PaymentApplication {
    fn from(a: core::PaymentApplication) -> Self {
        PaymentApplication {
            raw_json: a.raw.to_string(),
            id: a.id,
            name: a.name,
            client_id: a.client_id,
            user_id: a.user_id,
            currency_whitelist: a.currency_whitelist,
            allow_underpay: a.allow_underpay,
            allow_overpay: a.allow_overpay,
            callback_url: a.callback_url,
            created_at: a.created_at.map(to_system_time),
        }
    }
}

/// A payment application to create (its webhook secret is passed separately, so that
/// printing this never shows it).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewPaymentApplication {
    /// Its name (3 to 255 characters).
    pub name: String,
    /// Its website.
    #[uniffi(default = None)]
    pub url: Option<String>,
    /// Where webhooks go.
    #[uniffi(default = None)]
    pub callback_url: Option<String>,
    /// Accepted currencies (empty: all).
    #[uniffi(default = [])]
    pub currency_whitelist: Vec<String>,
    /// Accept underpayments.
    #[uniffi(default = None)]
    pub allow_underpay: Option<bool>,
    /// Accept overpayments.
    #[uniffi(default = None)]
    pub allow_overpay: Option<bool>,
}

/// Settings of a `CheckoutClient`, all with defaults. No secret is part of it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckoutOptions {
    /// The payment application's client id (sent as `clientId`).
    #[uniffi(default = None)]
    pub client_id: Option<String>,
    /// Permit plain `http://` to loopback addresses.
    #[uniffi(default = false)]
    pub allow_insecure_loopback: bool,
    /// How long to wait for a connection, in milliseconds.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: u64,
    /// How long one try may take, in milliseconds.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: u64,
    /// How many times a safe request may be repeated.
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
    /// How long before expiry the OAuth token is refreshed, in milliseconds.
    #[uniffi(default = 60000)]
    pub refresh_skew_ms: u64,
}

impl Default for CheckoutOptions {
    fn default() -> Self {
        CheckoutOptions {
            client_id: None,
            allow_insecure_loopback: false,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_retries: 3,
            initial_backoff_ms: 200,
            max_backoff_ms: 5_000,
            max_retry_after_ms: 30_000,
            refresh_skew_ms: 60_000,
        }
    }
}

/// OAuth tokens for the dashboard calls (payment applications), with the OAuth client
/// that refreshes them. Opaque, so printing it never shows a token.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct CheckoutOAuth {
    inner: core::OAuthTokens,
}

impl std::fmt::Debug for CheckoutOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CheckoutOAuth(client_id={}, tokens=[redacted])",
            self.inner.client_id
        )
    }
}

#[uniffi::export]
impl CheckoutOAuth {
    /// Tokens from a sign-in. `token_path` is the token endpoint below the base URL
    /// (default `/oauth/token`).
    #[uniffi::constructor(default(refresh_token = None, expires_at = None, client_secret = None, token_path = None))]
    pub fn new(
        access_token: String,
        client_id: String,
        refresh_token: Option<String>,
        expires_at: Option<SystemTime>,
        client_secret: Option<String>,
        token_path: Option<String>,
    ) -> Result<Arc<Self>, PesakitError> {
        Ok(Arc::new(CheckoutOAuth {
            inner: core::OAuthTokens {
                access_token: Secret::new(access_token),
                refresh_token: refresh_token.map(Secret::new),
                expires_at: expires_at.map(from_system_time).transpose()?,
                client_id,
                client_secret: client_secret.map(Secret::new),
                token_path,
            },
        }))
    }
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// The hosted-checkout client: create checkouts, read payments and payer instructions
/// with the scoped client token, manage payment applications with OAuth tokens.
///
/// Retry rules: creating a checkout or an application is retried only when the request
/// certainly did not arrive (no idempotency key exists); reads are retried; a 403
/// (missing scope) never is.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct CheckoutClient {
    inner: core::Client,
}

impl std::fmt::Debug for CheckoutClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckoutClient(base_url={})", self.inner.base_url())
    }
}

#[allow(clippy::too_many_arguments)]
fn configure(
    mut b: core::ClientBuilder,
    client_token: Option<String>,
    webhook_secret: Option<String>,
    oauth: Option<Arc<CheckoutOAuth>>,
    options: Option<CheckoutOptions>,
    token_store: Option<Arc<dyn TokenStore>>,
    logger: Option<Arc<dyn Logger>>,
) -> Result<Arc<CheckoutClient>, PesakitError> {
    let o = options.unwrap_or_default();
    if let Some(t) = client_token {
        b = b.client_token(t);
    }
    if let Some(s) = webhook_secret {
        b = b.webhook_secret(s);
    }
    if let Some(oauth) = oauth {
        b = b.oauth(oauth.inner.clone());
    }
    if let Some(id) = o.client_id {
        b = b.client_id(id);
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
        .refresh_skew(ms(o.refresh_skew_ms));
    if let Some(store) = token_store {
        b = b.token_store(Arc::new(ForeignStore::new(store)));
    }
    if let Some(logger) = logger {
        b = b.logger(Arc::new(ForeignLogger::new(logger)));
    }
    Ok(Arc::new(CheckoutClient { inner: b.build()? }))
}

#[uniffi::export]
impl CheckoutClient {
    /// A client for the gateway at `base_url` (required: it is white-label).
    #[uniffi::constructor(default(client_token = None, webhook_secret = None, oauth = None, options = None, token_store = None, logger = None))]
    pub fn new(
        base_url: String,
        client_token: Option<String>,
        webhook_secret: Option<String>,
        oauth: Option<Arc<CheckoutOAuth>>,
        options: Option<CheckoutOptions>,
        token_store: Option<Arc<dyn TokenStore>>,
        logger: Option<Arc<dyn Logger>>,
    ) -> Result<Arc<Self>, PesakitError> {
        configure(
            core::Client::builder().base_url(base_url),
            client_token,
            webhook_secret,
            oauth,
            options,
            token_store,
            logger,
        )
    }

    /// A client from `PAYMENT_BASE_URL`, `PAYMENT_CLIENT_ID`, `PAYMENT_CLIENT_TOKEN`,
    /// `WEBHOOK_SECRET` and `PAYMENT_ALLOW_INSECURE_LOOPBACK=1`.
    #[uniffi::constructor(default(oauth = None, options = None, token_store = None, logger = None))]
    pub fn from_env(
        oauth: Option<Arc<CheckoutOAuth>>,
        options: Option<CheckoutOptions>,
        token_store: Option<Arc<dyn TokenStore>>,
        logger: Option<Arc<dyn Logger>>,
    ) -> Result<Arc<Self>, PesakitError> {
        configure(
            core::ClientBuilder::from_env(),
            None,
            None,
            oauth,
            options,
            token_store,
            logger,
        )
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// The verifier for this application's webhooks, when a webhook secret was given.
    pub fn webhook_verifier(&self) -> Option<Arc<CheckoutWebhookVerifier>> {
        self.inner
            .webhook_verifier()
            .map(|v| Arc::new(CheckoutWebhookVerifier { inner: v.clone() }))
    }
}

export_operations! {
    CheckoutClient;
    /// Creates a checkout and returns the hosted page to send the payer to. Not
    /// retried once the request may have arrived: after a timeout or server error, look
    /// the reference up before creating another.
    fn [create_checkout_op, create_checkout, create_checkout_blocking] (request: CheckoutRequest) -> Checkout => |c| {
        let request = core::CheckoutRequest::try_from(request)?;
        let created = c.create_checkout(&request).await?;
        Ok(Checkout {
            payment_id: created.payment_id,
            checkout_url: created.checkout_url,
            expires_at: created.expires_at.map(to_system_time),
        })
    }
    /// The payment `id` (scope `payments.get`).
    fn [get_payment_op, get_payment, get_payment_blocking] (id: String) -> Payment => |c| {
        Ok(c.get_payment(&id).await?.into())
    }
    /// What the payer must do to pay with `provider` / `method`, as JSON text (the
    /// shape depends on the provider; scope `payments.user-instructions.get`).
    fn [payer_instructions_op, payer_instructions, payer_instructions_blocking] (payment_id: String, provider: String, method: String) -> String => |c| {
        Ok(c.payer_instructions(&payment_id, &provider, &method).await?.to_string())
    }
    /// Every payment application (OAuth).
    fn [payment_applications_op, payment_applications, payment_applications_blocking] () -> Vec<PaymentApplication> => |c| {
        Ok(c.payment_applications().await?.into_iter().map(Into::into).collect())
    }
    /// The payment application `id` (OAuth).
    fn [payment_application_op, payment_application, payment_application_blocking] (id: String) -> PaymentApplication => |c| {
        Ok(c.payment_application(&id).await?.into())
    }
    /// Creates a payment application signing its webhooks with `secret` (OAuth). Not
    /// retried once the request may have arrived.
    fn [create_payment_application_op, create_payment_application, create_payment_application_blocking] (app: NewPaymentApplication, secret: String) -> PaymentApplication => |c| {
        let new = core::NewPaymentApplication {
            name: app.name,
            secret: Secret::new(secret),
            url: app.url,
            callback_url: app.callback_url,
            currency_whitelist: app.currency_whitelist,
            allow_underpay: app.allow_underpay,
            allow_overpay: app.allow_overpay,
        };
        Ok(c.create_payment_application(&new).await?.into())
    }
}

/// Verifies checkout webhooks: lowercase hex HMAC-SHA256 over `"{timestamp}.{raw
/// body}"` in `X-PaymentService-Signature`, compared in constant time, with the
/// timestamp inside a tolerance window (default 300 s) so old deliveries cannot be
/// replayed.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct CheckoutWebhookVerifier {
    inner: core::WebhookVerifier,
}

impl std::fmt::Debug for CheckoutWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CheckoutWebhookVerifier(secret=[redacted], tolerance={} s)",
            self.inner.tolerance().as_secs()
        )
    }
}

impl CheckoutWebhookVerifier {
    /// `verify_and_parse` on borrowed arguments (also called by `crate::borrowed`).
    pub(crate) fn verify_and_parse_borrowed(
        &self,
        body: &[u8],
        signature: Option<&str>,
        timestamp: Option<&str>,
        event: Option<&str>,
    ) -> Result<CheckoutWebhookEvent, PesakitError> {
        Ok(self
            .inner
            .verify_and_parse(body, signature, timestamp, event)?
            .into())
    }
}

#[uniffi::export]
impl CheckoutWebhookVerifier {
    /// A verifier for webhooks signed with the application `secret`.
    #[uniffi::constructor(default(tolerance_secs = 300))]
    pub fn new(secret: String, tolerance_secs: u64) -> Result<Arc<Self>, PesakitError> {
        Ok(Arc::new(CheckoutWebhookVerifier {
            inner: core::WebhookVerifier::new(secret.as_bytes())?
                .with_tolerance(Duration::from_secs(tolerance_secs)),
        }))
    }

    /// Verifies the raw `body` against the signature and timestamp headers (absent =
    /// `None`), then parses it with the event header. A bad, missing or stale signature
    /// is a `WebhookSignature` error and nothing is parsed.
    #[uniffi::method(default(event = None))]
    pub fn verify_and_parse(
        &self,
        body: Bytes,
        signature: Option<String>,
        timestamp: Option<String>,
        event: Option<String>,
    ) -> Result<CheckoutWebhookEvent, PesakitError> {
        self.verify_and_parse_borrowed(
            &body,
            signature.as_deref(),
            timestamp.as_deref(),
            event.as_deref(),
        )
    }

    /// `verify_and_parse` with the current time given (tests, replays of stored
    /// deliveries).
    #[uniffi::method(default(event = None))]
    pub fn verify_and_parse_at(
        &self,
        body: Bytes,
        signature: Option<String>,
        timestamp: Option<String>,
        now: SystemTime,
        event: Option<String>,
    ) -> Result<CheckoutWebhookEvent, PesakitError> {
        Ok(self
            .inner
            .verify_and_parse_at(
                &body,
                signature.as_deref(),
                timestamp.as_deref(),
                event.as_deref(),
                from_system_time(now)?,
            )?
            .into())
    }

    /// The signature the gateway sends for `body` signed at `timestamp` (unix seconds).
    pub fn sign(&self, timestamp: i64, body: Bytes) -> String {
        self.inner.sign(timestamp, &body)
    }

    /// The header carrying the signature: `X-PaymentService-Signature`.
    pub fn signature_header(&self) -> String {
        core::SIGNATURE_HEADER.to_owned()
    }

    /// The header carrying the signing time: `X-PaymentService-Timestamp`.
    pub fn timestamp_header(&self) -> String {
        core::TIMESTAMP_HEADER.to_owned()
    }

    /// The header naming the event: `X-PaymentService-Event`.
    pub fn event_header(&self) -> String {
        core::EVENT_HEADER.to_owned()
    }
}
