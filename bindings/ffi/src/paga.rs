//! `PagaClient`: Paga Connect over `pesakit::paga`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pesakit::paga as core;
use pesakit::{Amount, Secret};

use crate::callbacks::{ForeignLogger, ForeignStore, Logger, TokenStore};
use crate::error::PesakitError;
use crate::types::{to_system_time, AmountText};

/// Which Paga to talk to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PagaEnvironment {
    /// `https://www.mypaga.com`.
    Live,
    /// `https://beta.mypaga.com`.
    Test,
    /// Any other base URL (the emulator, a proxy).
    Custom {
        /// The base URL.
        base_url: String,
    },
}

/// How token requests carry their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PagaTokenRequestStyle {
    /// RFC 6749 form body (default).
    FormBody,
    /// The query string with an empty body, as Paga's own libraries send them.
    QueryString,
}

/// Settings of a `PagaClient`, all with defaults. No secret is part of it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PagaOptions {
    /// Where Paga runs (default: test).
    #[uniffi(default = None)]
    pub environment: Option<PagaEnvironment>,
    /// How token requests carry their parameters (default: form body).
    #[uniffi(default = None)]
    pub token_request_style: Option<PagaTokenRequestStyle>,
    /// Add a PKCE (S256) pair to authorizations.
    #[uniffi(default = false)]
    pub pkce: bool,
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
    /// How long before expiry a user's token is refreshed, in milliseconds.
    #[uniffi(default = 60000)]
    pub refresh_skew_ms: u64,
}

impl Default for PagaOptions {
    fn default() -> Self {
        PagaOptions {
            environment: None,
            token_request_style: None,
            pkce: false,
            allow_insecure_loopback: false,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_retries: 3,
            initial_backoff_ms: 200,
            max_backoff_ms: 5_000,
            refresh_skew_ms: 60_000,
        }
    }
}

/// What to keep (in the user's session) between sending them to Paga and their return.
/// Opaque: printing it never shows the PKCE verifier.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct PagaAuthorization {
    inner: core::AuthorizationRequest,
}

impl std::fmt::Debug for PagaAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PagaAuthorization(url={}, pkce={})",
            self.inner.url,
            self.inner.pkce_verifier.is_some()
        )
    }
}

#[uniffi::export]
impl PagaAuthorization {
    /// Restores an authorization kept elsewhere (its `state` and, with PKCE, verifier).
    #[uniffi::constructor(default(pkce_verifier = None))]
    pub fn restore(url: String, state: String, pkce_verifier: Option<String>) -> Arc<Self> {
        Arc::new(PagaAuthorization {
            inner: core::AuthorizationRequest {
                url,
                state,
                pkce_verifier: pkce_verifier.map(Secret::new),
            },
        })
    }

    /// The URL to send the user to.
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The state to check on the callback.
    pub fn state(&self) -> String {
        self.inner.state.clone()
    }

    /// The PKCE verifier, when PKCE is on. Keep it server-side; never log it.
    pub fn pkce_verifier(&self) -> Option<String> {
        self.inner
            .pkce_verifier
            .as_ref()
            .map(|v| v.expose().to_owned())
    }
}

/// What a user granted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PagaGrant {
    /// The scopes granted (wire names).
    pub scopes: Vec<String>,
    /// The user-data fields granted (wire names).
    pub user_data: Vec<String>,
    /// When the access token expires.
    pub expires_at: SystemTime,
    /// Every other field of the token answer, as JSON text.
    pub extra_json: String,
}

/// A charge to a user's Paga account.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PagaMerchantPaymentRequest {
    /// Your unique reference for this payment.
    pub reference_number: String,
    /// The amount.
    pub amount: AmountText,
    /// Your reference for the customer.
    pub customer_reference: String,
    /// The product code.
    #[uniffi(default = None)]
    pub product_code: Option<String>,
    /// The currency (ISO 4217).
    #[uniffi(default = None)]
    pub currency: Option<String>,
}

/// The result of a merchant payment or money transfer.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PagaPaymentResult {
    /// Paga's transaction id.
    pub transaction_id: Option<String>,
    /// The confirmation code (merchant payments).
    pub confirmation_code: Option<String>,
    /// The amount.
    pub amount: Option<Amount>,
    /// Paga's fee.
    pub fee: Option<Amount>,
    /// The currency.
    pub currency: Option<String>,
    /// The raw result, as JSON text.
    pub raw_json: String,
}

/// A transfer from the merchant to a Paga user.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PagaMoneyTransferRequest {
    /// Your unique reference for this transfer.
    pub reference_number: String,
    /// The amount.
    pub amount: AmountText,
    /// The recipient's phone number.
    pub recipient: String,
    /// Skip Paga's SMS to the recipient.
    #[uniffi(default = false)]
    pub skip_messaging: bool,
}

/// A Paga user's details.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PagaUserDetails {
    /// `ACTIVE`, …
    pub account_status: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The balance, when `ACCOUNT_BALANCE` was granted.
    pub account_balance: Option<Amount>,
    /// Email.
    pub email: Option<String>,
    /// Paga's public id of the user.
    pub public_id: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// The raw details, as JSON text.
    pub raw_json: String,
}

fn amount(text: AmountText) -> Result<Amount, PesakitError> {
    Ok(text.0.parse::<Amount>()?)
}

/// The Paga Connect client: send users to Paga, handle their return, then charge them,
/// pay them and read their details by the key you stored their tokens under.
///
/// Retry rules: merchant payments and transfers are retried only when the request
/// certainly did not arrive (Paga documents no idempotency); reads are retried; a 401
/// refreshes the user's token and retries once.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct PagaClient {
    inner: core::Client,
}

impl std::fmt::Debug for PagaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PagaClient(base_url={})", self.inner.base_url())
    }
}

#[uniffi::export]
impl PagaClient {
    /// A client for the merchant's OAuth client, sending users back to `redirect_uri`.
    #[uniffi::constructor(default(options = None, token_store = None, logger = None))]
    pub fn new(
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        options: Option<PagaOptions>,
        token_store: Option<Arc<dyn TokenStore>>,
        logger: Option<Arc<dyn Logger>>,
    ) -> Result<Arc<Self>, PesakitError> {
        let o = options.unwrap_or_default();
        let ms = Duration::from_millis;
        let mut b = core::Client::builder()
            .client_id(client_id)
            .client_secret(client_secret)
            .redirect_uri(redirect_uri)
            .environment(match o.environment {
                Some(PagaEnvironment::Live) => core::Environment::Live,
                Some(PagaEnvironment::Custom { base_url }) => core::Environment::Custom(base_url),
                Some(PagaEnvironment::Test) | None => core::Environment::Test,
            })
            .token_request_style(match o.token_request_style {
                Some(PagaTokenRequestStyle::QueryString) => core::TokenRequestStyle::QueryString,
                _ => core::TokenRequestStyle::FormBody,
            })
            .pkce(o.pkce)
            .allow_insecure_loopback(o.allow_insecure_loopback)
            .connect_timeout(ms(o.connect_timeout_ms))
            .request_timeout(ms(o.request_timeout_ms))
            .retry_policy(pesakit::RetryPolicy {
                max_retries: o.max_retries,
                initial_backoff: ms(o.initial_backoff_ms),
                max_backoff: ms(o.max_backoff_ms),
                ..pesakit::RetryPolicy::default()
            })
            .refresh_skew(ms(o.refresh_skew_ms));
        if let Some(store) = token_store {
            b = b.token_store(Arc::new(ForeignStore::new(store)));
        }
        if let Some(logger) = logger {
            b = b.logger(Arc::new(ForeignLogger::new(logger)));
        }
        Ok(Arc::new(PagaClient { inner: b.build()? }))
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// Starts an authorization asking for `scopes` and `user_data` (wire names such as
    /// `MERCHANT_PAYMENT`, `ACCOUNT_BALANCE`; unknown names pass as given).
    pub fn authorization_url(
        &self,
        scopes: Vec<String>,
        user_data: Vec<String>,
    ) -> Arc<PagaAuthorization> {
        let scopes: Vec<core::Scope> = scopes.iter().map(|s| core::Scope::parse(s)).collect();
        let data: Vec<core::UserData> =
            user_data.iter().map(|s| core::UserData::parse(s)).collect();
        Arc::new(PagaAuthorization {
            inner: self.inner.authorization_url(&scopes, &data),
        })
    }

    /// Forgets `user`'s tokens.
    pub fn forget_user(&self, user: String) -> Result<(), PesakitError> {
        Ok(self.inner.forget_user(&user)?)
    }
}

fn grant(g: core::Grant) -> PagaGrant {
    PagaGrant {
        scopes: g.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        user_data: g.user_data.iter().map(|s| s.as_str().to_owned()).collect(),
        expires_at: to_system_time(g.expires_at),
        extra_json: serde_json::Value::Object(g.extra).to_string(),
    }
}

export_operations! {
    PagaClient;
    /// Handles the user's return to `callback_url`: checks the state kept in
    /// `authorization`, turns an `error=` redirect into an error, exchanges the code and
    /// stores the tokens under `user`.
    fn [handle_callback_op, handle_callback, handle_callback_blocking] (callback_url: String, authorization: Arc<PagaAuthorization>, user: String) -> PagaGrant => |c| {
        Ok(grant(c.handle_callback(&callback_url, &authorization.inner, &user).await?))
    }
    /// Charges `user`. Not retried once the request may have arrived.
    fn [merchant_payment_op, merchant_payment, merchant_payment_blocking] (user: String, request: PagaMerchantPaymentRequest) -> PagaPaymentResult => |c| {
        let r = core::MerchantPaymentRequest {
            reference_number: request.reference_number,
            amount: amount(request.amount)?,
            customer_reference: request.customer_reference,
            product_code: request.product_code,
            currency: request.currency,
        };
        let p = c.merchant_payment(&user, &r).await?;
        Ok(PagaPaymentResult {
            transaction_id: p.transaction_id,
            confirmation_code: p.confirmation_code,
            amount: p.amount,
            fee: p.fee,
            currency: p.currency,
            raw_json: p.raw.to_string(),
        })
    }
    /// Sends money to a Paga user. Not retried once the request may have arrived.
    fn [money_transfer_op, money_transfer, money_transfer_blocking] (user: String, request: PagaMoneyTransferRequest) -> PagaPaymentResult => |c| {
        let r = core::MoneyTransferRequest {
            reference_number: request.reference_number,
            amount: amount(request.amount)?,
            recipient: request.recipient,
            skip_messaging: request.skip_messaging,
        };
        let t = c.money_transfer(&user, &r).await?;
        Ok(PagaPaymentResult {
            transaction_id: t.transaction_id,
            confirmation_code: None,
            amount: t.amount,
            fee: t.fee,
            currency: t.currency,
            raw_json: t.raw.to_string(),
        })
    }
    /// `user`'s details (and balance when granted).
    fn [user_details_op, user_details, user_details_blocking] (user: String) -> PagaUserDetails => |c| {
        let d = c.user_details(&user).await?;
        Ok(PagaUserDetails {
            account_status: d.account_status,
            first_name: d.first_name,
            last_name: d.last_name,
            account_balance: d.account_balance,
            email: d.email,
            public_id: d.public_id,
            username: d.username,
            raw_json: d.raw.to_string(),
        })
    }
    /// A one-time token for `user`, as JSON text (its shape is undocumented).
    fn [one_time_token_op, one_time_token, one_time_token_blocking] (user: String, reference_number: String) -> String => |c| {
        Ok(c.one_time_token(&user, &reference_number).await?.to_string())
    }
}

/// A new reference number for a Paga payment or transfer (32 random hexadecimal
/// characters).
#[uniffi::export]
pub fn new_paga_reference_number() -> String {
    core::new_reference_number()
}
