//! The hosted-checkout client (a white-label gateway: a merchant creates a checkout
//! session, the payer completes it on the hosted page, the merchant learns the outcome
//! by webhook or by asking).
//!
//! Two credentials: a static, scoped **client token** for server-to-server calls
//! (create checkout, get payment, payer instructions), and an optional **OAuth 2.0
//! bearer token** for dashboard calls (payment applications), refreshed per RFC 6749
//! §6 when a refresh token was issued.
//!
//! ## Retry rules
//!
//! | call | retried automatically |
//! |---|---|
//! | [`Client::create_checkout`] | only when the request certainly did not reach the gateway (connection refused, HTTP 429): the gateway has no idempotency key, so a timeout or a 5xx is returned with advice to look the reference up first |
//! | reads, payment applications list/get | yes (lost connections, timeouts, 429, 502–504) |
//! | [`Client::create_payment_application`] | like create checkout |
//! | 403 (scope missing) | never |
//! | OAuth calls answered 401 | once, after refreshing the OAuth token |

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{check_base_url, decode, segment, Answer, Call, Repeat, Transport};
use crate::money::Amount;
use crate::oauth::{decode_token_response, token_error};
use crate::secret::Secret;
use crate::settings::{env_flag, Settings};
use crate::time::Timestamp;
use crate::token::{Authenticator, TokenManager, TokenSet};

mod models;
mod webhook;

pub use models::{Money, Payment, PaymentApplication, PaymentStatus, WebhookEventKind};
pub use webhook::{
    WebhookEvent, WebhookVerifier, DEFAULT_TOLERANCE, EVENT_HEADER, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};

use models::{application_from, Data, WirePayment};

/// Scope needed to create checkouts.
pub const SCOPE_CREATE: &str = "payments.create";
/// Scope needed to read payments.
pub const SCOPE_GET: &str = "payments.get";
/// Scope needed to read payer instructions.
pub const SCOPE_INSTRUCTIONS: &str = "payments.user-instructions.get";

/// Used when a token response has no `expires_in`.
const FALLBACK_OAUTH_LIFETIME: Duration = Duration::from_secs(3600);

/// The decimal digits of a currency's minor unit: ISO 4217 for fiat currencies, 8 for
/// BTC, LTC, BCH and DOGE. `None` when unknown (other crypto-currencies included): pass
/// the exponent explicitly then.
pub fn currency_exponent(code: &str) -> Option<u32> {
    let code = code.trim().to_ascii_uppercase();
    // Coins whose smallest unit is universally 10^-8. Others (ETH's 18 digits would
    // not fit the gateway's integer amounts; tokens vary) need an explicit exponent.
    if matches!(code.as_str(), "BTC" | "LTC" | "BCH" | "DOGE") {
        return Some(8);
    }
    iso_currency::Currency::from_code(&code)
        .and_then(|c| c.exponent())
        .map(u32::from)
}

/// OAuth 2.0 tokens for the dashboard calls, obtained when the merchant signed in.
#[derive(Clone, Debug)]
pub struct OAuthTokens {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, when the deployment issues them.
    pub refresh_token: Option<Secret>,
    /// When the access token expires (unknown: assumed one hour from now).
    pub expires_at: Option<Timestamp>,
    /// The OAuth client id used to refresh.
    pub client_id: String,
    /// The OAuth client secret used to refresh (HTTP Basic), when the client has one.
    pub client_secret: Option<Secret>,
    /// The token endpoint, below the base URL (default `/oauth/token`).
    pub token_path: Option<String>,
}

/// Builds a [`Client`]. Start with [`Client::builder`] or [`ClientBuilder::from_env`].
#[derive(Clone, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    client_id: Option<String>,
    client_token: Option<Secret>,
    webhook_secret: Option<Secret>,
    oauth: Option<OAuthTokens>,
    settings: Settings,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("checkout::ClientBuilder")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_token", &self.client_token)
            .field("webhook_secret", &self.webhook_secret)
            .field("oauth", &self.oauth.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder filled from `PAYMENT_BASE_URL`, `PAYMENT_CLIENT_ID`,
    /// `PAYMENT_CLIENT_TOKEN` and `WEBHOOK_SECRET` (each only when set);
    /// `PAYMENT_ALLOW_INSECURE_LOOPBACK=1` permits `http://` to loopback.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut b = ClientBuilder::default();
        if let Some(v) = var("PAYMENT_BASE_URL") {
            b = b.base_url(v);
        }
        if let Some(v) = var("PAYMENT_CLIENT_ID") {
            b = b.client_id(v);
        }
        if let Some(v) = var("PAYMENT_CLIENT_TOKEN") {
            b = b.client_token(v);
        }
        if let Some(v) = var("WEBHOOK_SECRET") {
            b = b.webhook_secret(v);
        }
        if let Some(v) = var("PAYMENT_ALLOW_INSECURE_LOOPBACK") {
            b = b.allow_insecure_loopback(env_flag(&v));
        }
        b
    }

    /// The gateway's base URL (required: the gateway is white-label), without `/api`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The payment application's 32-character client id, sent as `clientId`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The static, scoped client token for server-to-server calls.
    pub fn client_token(mut self, token: impl Into<Secret>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The payment application's webhook secret (for [`Client::webhook_verifier`]).
    pub fn webhook_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// OAuth tokens for the dashboard calls (payment applications).
    pub fn oauth(mut self, tokens: OAuthTokens) -> Self {
        self.oauth = Some(tokens);
        self
    }

    settings_methods!();

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let base_url = self.base_url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            Error::configuration(
                "the checkout base URL is missing (the gateway is white-label: set it, or PAYMENT_BASE_URL)",
            )
        })?;
        if self.client_token.is_none() && self.oauth.is_none() {
            return Err(Error::configuration(
                "the checkout client needs a client token (PAYMENT_CLIENT_TOKEN) or OAuth tokens",
            ));
        }
        let transport = self.settings.transport("checkout", base_url)?;
        let log = transport.log().clone();
        let oauth = match self.oauth {
            None => None,
            Some(o) => {
                let path = o
                    .token_path
                    .clone()
                    .unwrap_or_else(|| "/oauth/token".to_owned());
                if !path.starts_with('/') {
                    return Err(Error::configuration(format!(
                        "the OAuth token path {path:?} must start with '/' (it is below the base URL)"
                    )));
                }
                check_base_url(
                    "checkout",
                    &format!("{}{path}", transport.base_url()),
                    self.settings.allow_insecure_loopback,
                )?;
                let now = Timestamp::now();
                let initial = TokenSet {
                    access_token: o.access_token.clone(),
                    refresh_token: o.refresh_token.clone(),
                    expires_at: o.expires_at.unwrap_or_else(|| {
                        now.checked_add(jiff::SignedDuration::from_secs(3600))
                            .unwrap_or(now)
                    }),
                    refresh_expires_at: None,
                    obtained_at: now,
                };
                let key = format!("checkout-oauth|{}|{}", transport.base_url(), o.client_id);
                let store = self.settings.store();
                let manager =
                    TokenManager::new(key, store, self.settings.refresh_skew, log.clone())
                        .with_initial(initial);
                Some((
                    manager,
                    OAuthClient {
                        client_id: o.client_id,
                        client_secret: o.client_secret,
                        token_path: path,
                    },
                ))
            }
        };
        let webhook_verifier = self
            .webhook_secret
            .map(|s| WebhookVerifier::new(s.expose().as_bytes()))
            .transpose()?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                client_id: self.client_id.filter(|c| !c.trim().is_empty()),
                client_token: self.client_token.filter(|t| !t.is_empty()),
                oauth,
                webhook_verifier,
            }),
        })
    }
}

struct OAuthClient {
    client_id: String,
    client_secret: Option<Secret>,
    token_path: String,
}

/// A checkout to create.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckoutRequest {
    /// The amount, in major units (converted to minor units by the currency's exponent).
    pub amount: Amount,
    /// The currency code (`USD`, `RWF`, `BTC`, …).
    pub currency: String,
    /// The merchant's reference (an order number).
    pub reference: String,
    /// A label for the reference shown to the payer (default: the reference).
    pub reference_label: Option<String>,
    /// Where the hosted page sends the payer afterwards.
    pub redirect_url: Option<String>,
    /// When the checkout expires.
    pub expires_at: Option<Timestamp>,
    /// The merchant's product id.
    pub product_id: Option<String>,
    /// The currency to settle in, when different.
    pub settlement_currency: Option<String>,
    /// A site id instead of the client id.
    pub site_id: Option<String>,
    /// The currency's minor-unit digits, when [`currency_exponent`] does not know it.
    pub exponent: Option<u32>,
}

impl CheckoutRequest {
    /// A checkout for `amount` in `currency` under `reference`.
    pub fn new(
        amount: impl Into<Amount>,
        currency: impl Into<String>,
        reference: impl Into<String>,
    ) -> Self {
        CheckoutRequest {
            amount: amount.into(),
            currency: currency.into(),
            reference: reference.into(),
            reference_label: None,
            redirect_url: None,
            expires_at: None,
            product_id: None,
            settlement_currency: None,
            site_id: None,
            exponent: None,
        }
    }
}

/// A created checkout.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkout {
    /// The payment id (the UUID in the checkout URL).
    pub payment_id: String,
    /// The hosted page to send the payer to.
    pub checkout_url: String,
    /// When the page stops working (read from the URL's `expires`).
    pub expires_at: Option<Timestamp>,
}

/// A payment application to create.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewPaymentApplication {
    /// Its name (3 to 255 characters).
    pub name: String,
    /// The webhook secret it signs with.
    pub secret: Secret,
    /// Its website.
    pub url: Option<String>,
    /// Where webhooks go.
    pub callback_url: Option<String>,
    /// Accepted currencies (empty: all).
    pub currency_whitelist: Vec<String>,
    /// Accept underpayments.
    pub allow_underpay: Option<bool>,
    /// Accept overpayments.
    pub allow_overpay: Option<bool>,
}

/// The hosted-checkout client. Cheap to clone; clones share one pool and one OAuth
/// token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    client_id: Option<String>,
    client_token: Option<Secret>,
    oauth: Option<(TokenManager, OAuthClient)>,
    webhook_verifier: Option<WebhookVerifier>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("checkout::Client")
            .field("base_url", &self.inner.transport.base_url())
            .field("client_id", &self.inner.client_id)
            .field("client_token", &self.inner.client_token)
            .field("oauth", &self.inner.oauth.is_some())
            .finish_non_exhaustive()
    }
}

/// Refreshes OAuth tokens (RFC 6749 §6). There is no way to sign in again without the
/// merchant, so "authorize" reports that.
struct Refresher<'a> {
    transport: &'a Transport,
    oauth: &'a OAuthClient,
}

impl Authenticator for Refresher<'_> {
    async fn authorize(&self) -> Result<TokenSet> {
        Err(Error::new(
            ErrorKind::Authentication,
            "checkout OAuth: the access token expired and could not be refreshed: sign in again and pass the new tokens",
        ))
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let mut fields = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if self.oauth.client_secret.is_none() {
            fields.push(("client_id", self.oauth.client_id.as_str()));
        }
        let mut call = Call::new(
            Method::POST,
            self.oauth.token_path.clone(),
            Cow::Owned(self.oauth.token_path.clone()),
            "OAuth token refresh",
        )
        .form(&fields);
        call.sensitive = true;
        call.repeat = Repeat::OnlyIfNotSent;
        if let Some(secret) = &self.oauth.client_secret {
            call.basic = Some((self.oauth.client_id.clone(), secret.clone()));
        }
        let answer = self
            .transport
            .send(&call)
            .await
            .map_err(|e| token_error(e, "checkout OAuth token refresh"))?;
        decode_oauth_refresh(&answer.body, refresh_token)
    }
}

/// Reads an OAuth refresh answer; a response without a refresh token keeps
/// `refresh_token`.
pub(crate) fn decode_oauth_refresh(body: &[u8], refresh_token: &Secret) -> Result<TokenSet> {
    let what = "checkout OAuth token refresh";
    decode_token_response(what, body)?.into_token_set(
        what,
        Some(refresh_token),
        FALLBACK_OAUTH_LIFETIME,
    )
}

/// Adds advice to a 403: the client token lacks `scope`.
pub(crate) fn scope_note(e: Error, scope: &str) -> Error {
    if e.kind() == ErrorKind::Permission {
        e.with_note(format!(
            "the client token lacks the scope {scope} (or *): create one with it in the dashboard"
        ))
    } else {
        e
    }
}

impl Client {
    /// An empty builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `PAYMENT_BASE_URL`, `PAYMENT_CLIENT_ID`, `PAYMENT_CLIENT_TOKEN` and
    /// `WEBHOOK_SECRET`.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env().build()
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// The verifier for this application's webhooks, when a webhook secret was given.
    pub fn webhook_verifier(&self) -> Option<&WebhookVerifier> {
        self.inner.webhook_verifier.as_ref()
    }

    fn client_token(&self) -> Result<Secret> {
        self.inner.client_token.clone().ok_or_else(|| {
            Error::configuration("this call needs the checkout client token (PAYMENT_CLIENT_TOKEN)")
        })
    }

    async fn send_with_client_token(&self, mut call: Call<'_>, scope: &str) -> Result<Answer> {
        call.bearer = Some(self.client_token()?);
        self.inner
            .transport
            .send(&call)
            .await
            .map_err(|e| scope_note(e, scope))
    }

    async fn send_with_oauth(&self, call: Call<'_>) -> Result<Answer> {
        let (tokens, oauth) = self.inner.oauth.as_ref().ok_or_else(|| {
            Error::configuration(
                "payment applications need OAuth tokens: give the client the tokens from a dashboard sign-in",
            )
        })?;
        let refresher = Refresher {
            transport: &self.inner.transport,
            oauth,
        };
        tokens.send(&self.inner.transport, &refresher, call).await
    }

    /// Creates a checkout session and returns the hosted page to send the payer to.
    ///
    /// The amount is converted to minor units by the currency's exponent; a value with
    /// more digits than the currency has is a validation error, never rounded. The
    /// gateway has no idempotency key, so this call is retried only when the request
    /// certainly did not arrive; when the outcome is unknown (a timeout, a lost connection,
    /// a server error, an unreadable answer) the error says to look the reference up before
    /// creating another checkout.
    pub async fn create_checkout(&self, request: &CheckoutRequest) -> Result<Checkout> {
        let currency = request.currency.trim().to_ascii_uppercase();
        if currency.is_empty() {
            return Err(Error::validation("the currency code is empty"));
        }
        let exponent = request
            .exponent
            .or_else(|| currency_exponent(&currency))
            .ok_or_else(|| {
                Error::validation(format!(
                    "the minor-unit digits of currency {currency} are unknown: set the request's exponent"
                ))
            })?;
        if !request.amount.is_positive() {
            return Err(Error::validation(format!(
                "amount {} must be greater than zero",
                request.amount
            )));
        }
        let minor = request.amount.to_minor_units(exponent).map_err(|_| {
            Error::validation(format!(
                "amount {} has more decimal digits than {currency} allows ({exponent}); amounts are never rounded",
                request.amount
            ))
        })?;
        let reference = request.reference.trim();
        if reference.is_empty() {
            return Err(Error::validation("the checkout reference is empty"));
        }
        let mut body = serde_json::json!({
            "amount": minor,
            "currencyCode": currency,
            "reference": reference,
            "referenceLabel": request.reference_label.as_deref().unwrap_or(reference),
        });
        match (&request.site_id, &self.inner.client_id) {
            (Some(site), _) => body["siteId"] = serde_json::json!(site),
            (None, Some(id)) => body["clientId"] = serde_json::json!(id),
            (None, None) => {
                return Err(Error::configuration(
                    "creating a checkout needs the payment application's client id (PAYMENT_CLIENT_ID) or a site id",
                ))
            }
        }
        if let Some(v) = &request.redirect_url {
            body["redirectUrl"] = serde_json::json!(v);
        }
        if let Some(v) = request.expires_at {
            body["expiresAt"] = serde_json::json!(v.to_string());
        }
        if let Some(v) = &request.product_id {
            body["productId"] = serde_json::json!(v);
        }
        if let Some(v) = &request.settlement_currency {
            body["settlementCurrencyCode"] = serde_json::json!(v.trim().to_ascii_uppercase());
        }
        let mut call = Call::new(
            Method::POST,
            "/api/payment/checkout".to_owned(),
            "/api/payment/checkout",
            "create checkout",
        )
        .json(&body);
        call.repeat = Repeat::OnlyIfNotSent;
        let answer = self
            .send_with_client_token(call, SCOPE_CREATE)
            .await
            .map_err(|e| create_error(e, reference))?;
        decode_created(&answer.body).map_err(|e| create_error(e, reference))
    }

    /// The payment `id`. Needs scope `payments.get`; retried automatically.
    pub async fn get_payment(&self, id: &str) -> Result<Payment> {
        let id = non_empty(id, "payment id")?;
        let path = format!("/api/payment/{}", segment(id)?);
        let answer = self
            .send_with_client_token(
                Call::new(Method::GET, path.clone(), path, "get payment"),
                SCOPE_GET,
            )
            .await?;
        decode_payment(&answer.body)
    }

    /// What the payer must do to pay `payment_id` with `provider` / `method` (an
    /// address, an amount, a QR code…). The shape depends on the provider, so it is
    /// returned as raw JSON (the `data` object). Needs scope
    /// `payments.user-instructions.get`; retried automatically.
    pub async fn payer_instructions(
        &self,
        payment_id: &str,
        provider: &str,
        method: &str,
    ) -> Result<serde_json::Value> {
        let path = format!(
            "/api/payment/{}/provider/{}/method/{}",
            segment(non_empty(payment_id, "payment id")?)?,
            segment(non_empty(provider, "provider")?)?,
            segment(non_empty(method, "method")?)?
        );
        let answer = self
            .send_with_client_token(
                Call::new(Method::GET, path.clone(), path, "payer instructions"),
                SCOPE_INSTRUCTIONS,
            )
            .await?;
        decode_payer_instructions(&answer.body)
    }

    /// Every payment application (OAuth). Retried automatically.
    pub async fn payment_applications(&self) -> Result<Vec<PaymentApplication>> {
        let call = Call::new(
            Method::GET,
            "/api/payment-applications".to_owned(),
            "/api/payment-applications",
            "list payment applications",
        );
        let answer = self.send_with_oauth(call).await?;
        decode_applications(&answer.body)
    }

    /// The payment application `id` (OAuth). Retried automatically.
    pub async fn payment_application(&self, id: &str) -> Result<PaymentApplication> {
        let path = format!(
            "/api/payment-applications/{}",
            segment(non_empty(id, "application id")?)?
        );
        let answer = self
            .send_with_oauth(Call::new(
                Method::GET,
                path.clone(),
                path,
                "get payment application",
            ))
            .await?;
        application_answer(&answer.body)
    }

    /// Creates a payment application (OAuth). Not retried once it may have arrived; when
    /// the outcome is unknown the error says to look for the application by name first.
    pub async fn create_payment_application(
        &self,
        app: &NewPaymentApplication,
    ) -> Result<PaymentApplication> {
        let name_len = app.name.trim().chars().count();
        if !(3..=255).contains(&name_len) {
            return Err(Error::validation(
                "the application name must be 3 to 255 characters",
            ));
        }
        if app.secret.is_empty() {
            return Err(Error::validation(
                "the application's webhook secret is empty",
            ));
        }
        let mut body = serde_json::json!({
            "name": app.name.trim(),
            "secret": app.secret.expose(),
        });
        if let Some(v) = &app.url {
            body["url"] = serde_json::json!(v);
        }
        if let Some(v) = &app.callback_url {
            body["callbackUrl"] = serde_json::json!(v);
        }
        if !app.currency_whitelist.is_empty() {
            body["currencyWhitelist"] = serde_json::json!(app.currency_whitelist);
        }
        if let Some(v) = app.allow_underpay {
            body["allowUnderpay"] = serde_json::json!(v);
        }
        if let Some(v) = app.allow_overpay {
            body["allowOverpay"] = serde_json::json!(v);
        }
        let mut call = Call::new(
            Method::POST,
            "/api/payment-applications".to_owned(),
            "/api/payment-applications",
            "create payment application",
        )
        .json(&body);
        call.repeat = Repeat::OnlyIfNotSent;
        async { application_answer(&self.send_with_oauth(call).await?.body) }
            .await
            .map_err(|e| {
                e.note_if_outcome_unknown(|| {
                    format!(
                        "the application may have been created: look for one named {:?} in payment_applications() before creating it again",
                        app.name.trim()
                    )
                })
            })
    }
}

/// After a failure that may have reached the gateway, says not to create the checkout
/// `reference` again blindly.
pub(crate) fn create_error(e: Error, reference: &str) -> Error {
    e.note_if_outcome_unknown(|| format!(
        "the checkout may have been created: do not create it again blindly; look for reference {reference} (webhooks, dashboard) first"
    ))
}

/// Reads a create-checkout answer (`{"data": {"checkoutUrl": …}}`).
pub(crate) fn decode_created(body: &[u8]) -> Result<Checkout> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        checkout_url: Option<String>,
    }
    let created: Data<Created> = decode("checkout create", body, false)?;
    let url = created
        .data
        .and_then(|d| d.checkout_url)
        .ok_or_else(|| Error::decode("checkout create: the answer has no data.checkoutUrl"))?;
    parse_checkout_url(&url)
}

/// Reads a get-payment answer (`{"data": {payment}}`).
pub(crate) fn decode_payment(body: &[u8]) -> Result<Payment> {
    let data: Data<WirePayment> = decode("checkout get payment", body, false)?;
    data.data
        .ok_or_else(|| Error::decode("checkout get payment: the answer has no data"))?
        .into_model()
        .map_err(|p| Error::decode(format!("checkout get payment: {p}")))
}

/// Reads a payer-instructions answer: the raw `data` object.
pub(crate) fn decode_payer_instructions(body: &[u8]) -> Result<serde_json::Value> {
    let data: Data<serde_json::Value> = decode("checkout payer instructions", body, false)?;
    data.data
        .ok_or_else(|| Error::decode("checkout payer instructions: the answer has no data"))
}

/// Reads the payment applications list answer.
pub(crate) fn decode_applications(body: &[u8]) -> Result<Vec<PaymentApplication>> {
    let data: Data<Vec<serde_json::Value>> = decode("checkout payment applications", body, false)?;
    data.data
        .unwrap_or_default()
        .into_iter()
        .map(|raw| {
            application_from(raw)
                .map_err(|p| Error::decode(format!("checkout payment applications: {p}")))
        })
        .collect()
}

/// Reads one payment application answer (get or create).
pub(crate) fn application_answer(body: &[u8]) -> Result<PaymentApplication> {
    let data: Data<serde_json::Value> = decode("checkout payment application", body, false)?;
    let raw = data
        .data
        .ok_or_else(|| Error::decode("checkout payment application: the answer has no data"))?;
    application_from(raw).map_err(|p| Error::decode(format!("checkout payment application: {p}")))
}

fn non_empty<'a>(value: &'a str, what: &str) -> Result<&'a str> {
    let v = value.trim();
    if v.is_empty() {
        Err(Error::validation(format!("the {what} is empty")))
    } else {
        Ok(v)
    }
}

/// Reads the payment id (the UUID in the path) and the expiry (`expires`) from a
/// checkout URL.
fn parse_checkout_url(raw: &str) -> Result<Checkout> {
    let url = url::Url::parse(raw).map_err(|e| {
        Error::decode(format!(
            "checkout create: checkoutUrl {raw:?} is not a URL ({e})"
        ))
    })?;
    let payment_id = url
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| uuid::Uuid::parse_str(s).is_ok()))
        .ok_or_else(|| {
            Error::decode(format!(
                "checkout create: checkoutUrl {raw:?} carries no payment id"
            ))
        })?
        .to_owned();
    let expires_at = url
        .query_pairs()
        .find(|(k, _)| k == "expires")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .and_then(|s| Timestamp::from_second(s).ok());
    Ok(Checkout {
        payment_id,
        checkout_url: raw.to_owned(),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents() {
        assert_eq!(currency_exponent("USD"), Some(2));
        assert_eq!(currency_exponent("rwf"), Some(0));
        assert_eq!(currency_exponent("BHD"), Some(3));
        assert_eq!(currency_exponent("BTC"), Some(8));
        assert_eq!(currency_exponent("XYZ"), None);
    }

    #[test]
    fn checkout_urls() {
        let c = parse_checkout_url(
            "https://pay.example.com/checkout/2f1c6a3e-1d7b-4c8e-9a55-0b7d2c1e4f60?expires=1700003600&signature=ab12",
        )
        .unwrap();
        assert_eq!(c.payment_id, "2f1c6a3e-1d7b-4c8e-9a55-0b7d2c1e4f60");
        assert_eq!(c.expires_at.unwrap().as_second(), 1_700_003_600);
        assert!(parse_checkout_url("https://pay.example.com/checkout/not-a-uuid").is_err());
        assert!(parse_checkout_url("not a url").is_err());
    }
}
