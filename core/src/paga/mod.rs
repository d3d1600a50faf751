//! The Paga Connect client (Nigeria): act on behalf of Paga users after each approves
//! once through the OAuth 2.0 authorization-code grant (RFC 6749).
//!
//! 1. [`Client::authorization_url`] gives the URL to send the user to, with an
//!    unguessable `state` (and, optionally, a PKCE pair) to keep until the callback.
//! 2. [`Client::handle_callback`] checks the redirect (its `state`, or an `error=`),
//!    exchanges the code with HTTP Basic client authentication and stores the user's
//!    tokens under a key you choose (your user id), through the [`TokenStore`].
//! 3. Operations take that key: tokens are refreshed ahead of expiry, one refresh per
//!    user at a time, and a request is retried once after a 401.
//!
//! ## Retry rules
//!
//! | call | retried automatically |
//! |---|---|
//! | merchant payment, money transfer | only when the request certainly did not arrive (Paga documents no idempotency: a repeat may charge twice) |
//! | user details, one-time token | yes |
//! | any call answered 401 | once, after refreshing the user's token |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use reqwest::Method;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{decode, segment, Answer, Call, Repeat, Transport};
use crate::log::LogSink;
use crate::money::Amount;
use crate::oauth::{decode_token_response, token_error, TokenResponse};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::token::{Authenticator, TokenManager, TokenSet, TokenStore};

mod models;

pub use models::{
    Grant, MerchantPayment, MerchantPaymentRequest, MoneyTransfer, MoneyTransferRequest, Scope,
    UserData, UserDetails,
};

/// Paga's live host.
pub const LIVE_BASE_URL: &str = "https://www.mypaga.com";
/// Paga's test host.
pub const TEST_BASE_URL: &str = "https://beta.mypaga.com";

const FALLBACK_LIFETIME: Duration = Duration::from_secs(3600);

/// 32 hexadecimal characters from the operating system's random source.
fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new reference number for a payment or transfer (32 random hexadecimal
/// characters). Keep it with your order: it is how Paga and you name the operation.
pub fn new_reference_number() -> String {
    random_hex()
}

/// Which Paga to talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Environment {
    /// `https://www.mypaga.com`.
    Live,
    /// `https://beta.mypaga.com`.
    Test,
    /// Any other base URL (the emulator, a proxy).
    Custom(String),
}

impl Environment {
    fn base_url(&self) -> &str {
        match self {
            Environment::Live => LIVE_BASE_URL,
            Environment::Test => TEST_BASE_URL,
            Environment::Custom(url) => url,
        }
    }
}

/// How the authorization code and refresh token are sent to the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenRequestStyle {
    /// RFC 6749: an `application/x-www-form-urlencoded` body (default).
    #[default]
    FormBody,
    /// The parameters in the query string with an empty body, as Paga's official
    /// libraries send them (properly encoded here).
    QueryString,
}

/// What to keep between sending the user to Paga and their return.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The URL to send the user to.
    pub url: String,
    /// The `state` to check on the callback.
    pub state: String,
    /// The PKCE verifier, when PKCE is on.
    pub pkce_verifier: Option<Secret>,
}

/// Builds a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    environment: Environment,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    redirect_uri: Option<String>,
    token_request_style: TokenRequestStyle,
    pkce: bool,
    settings: Settings,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            environment: Environment::Test,
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            token_request_style: TokenRequestStyle::FormBody,
            pkce: false,
            settings: Settings::default(),
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("paga::ClientBuilder")
            .field("environment", &self.environment)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Live, test (default) or a custom base URL.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// The merchant's OAuth client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The merchant's OAuth client secret (HTTP Basic at the token endpoint).
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Where Paga sends the user back (registered with Paga).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// How token requests carry their parameters (default: RFC 6749 form body).
    pub fn token_request_style(mut self, style: TokenRequestStyle) -> Self {
        self.token_request_style = style;
        self
    }

    /// Adds a PKCE pair (S256) to authorizations. Off by default: Paga's support is
    /// unconfirmed.
    pub fn pkce(mut self, on: bool) -> Self {
        self.pkce = on;
        self
    }

    settings_methods!();

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| Error::configuration("the Paga client id is missing"))?;
        let client_secret = self
            .client_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::configuration("the Paga client secret is missing"))?;
        let redirect_uri = self
            .redirect_uri
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| Error::configuration("the Paga redirect URI is missing"))?;
        url::Url::parse(&redirect_uri).map_err(|e| {
            Error::configuration(format!(
                "the Paga redirect URI {redirect_uri:?} is not a URL: {e}"
            ))
        })?;
        let transport = self
            .settings
            .transport("Paga", self.environment.base_url().to_owned())?;
        let log = transport.log().clone();
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                client_id,
                client_secret,
                redirect_uri,
                style: self.token_request_style,
                pkce: self.pkce,
                refresh_skew: self.settings.refresh_skew,
                store: self.settings.store(),
                users: Mutex::new(HashMap::new()),
                log,
            }),
        })
    }
}

/// The Paga Connect client. Cheap to clone; clones share one pool and every user's
/// token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    client_id: String,
    client_secret: Secret,
    redirect_uri: String,
    style: TokenRequestStyle,
    pkce: bool,
    refresh_skew: Duration,
    store: Arc<dyn TokenStore>,
    users: Mutex<HashMap<String, Arc<TokenManager>>>,
    log: LogSink,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("paga::Client")
            .field("base_url", &self.inner.transport.base_url())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .finish_non_exhaustive()
    }
}

/// Refreshes one user's tokens; there is no login without the user.
struct UserRefresher<'a> {
    inner: &'a Inner,
}

impl Authenticator for UserRefresher<'_> {
    async fn authorize(&self) -> Result<TokenSet> {
        Err(Error::new(
            ErrorKind::Authentication,
            "Paga: this user's authorization is missing or can no longer be refreshed: send the user to Paga again",
        ))
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet> {
        let body = self
            .inner
            .token_request(
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                ],
                "token refresh",
            )
            .await?;
        decode_refresh(&body, refresh_token)
    }
}

impl Inner {
    fn path(&self, rest: &str) -> String {
        format!("/paga-webservices{rest}")
    }

    fn user_key(&self, user: &str) -> String {
        format!(
            "paga|{}|{}|{}",
            self.transport.base_url(),
            self.client_id,
            user
        )
    }

    fn manager(&self, user: &str) -> Arc<TokenManager> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .entry(user.to_owned())
            .or_insert_with(|| {
                Arc::new(TokenManager::new(
                    self.user_key(user),
                    self.store.clone(),
                    self.refresh_skew,
                    self.log.clone(),
                ))
            })
            .clone()
    }

    /// Sends a token request; returns the answer body (it carries tokens).
    async fn token_request(
        &self,
        params: &[(&str, &str)],
        what: &'static str,
    ) -> Result<bytes::Bytes> {
        let path = self.path("/oauth2/token");
        let mut call = Call::new(
            Method::POST,
            path.clone(),
            "/paga-webservices/oauth2/token",
            what,
        );
        call = match self.style {
            TokenRequestStyle::FormBody => call.form(params),
            TokenRequestStyle::QueryString => {
                for (k, v) in params {
                    call.query.push((k, (*v).to_owned()));
                }
                call
            }
        };
        call.sensitive = true;
        call.repeat = Repeat::OnlyIfNotSent;
        call.basic = Some((self.client_id.clone(), self.client_secret.clone()));
        let answer = self
            .transport
            .send(&call)
            .await
            .map_err(|e| token_error(e, &format!("Paga {what}")))?;
        Ok(answer.body)
    }

    async fn send_for(&self, user: &str, call: Call<'_>) -> Result<Answer> {
        let refresher = UserRefresher { inner: self };
        self.manager(user)
            .send(&self.transport, &refresher, call)
            .await
            .map_err(scope_refused)
    }
}

/// Adds advice to a 403: the user did not grant the scope the call needs.
pub(crate) fn scope_refused(e: Error) -> Error {
    if e.status() == Some(403) {
        e.with_note(
            "the user did not grant the scope this call needs: send them to Paga again asking for it",
        )
    } else {
        e
    }
}

/// A Paga result object's `errorCode`/`errorMessage` as an error, when set.
/// Adds, when the outcome of a payment or transfer is unknown, how to find out before
/// sending it again.
fn unknown_payment(error: Error, what: &str, reference: &str) -> Error {
    error.note_if_outcome_unknown(|| {
        format!(
            "the {what} may have been made: look up reference number {reference} before sending it again"
        )
    })
}

fn result_error(result: &serde_json::Value, what: &str) -> Result<()> {
    let code = match result.get("errorCode") {
        Some(serde_json::Value::String(s)) => s.trim().to_owned(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if code.is_empty() || code == "0" {
        return Ok(());
    }
    let message = result
        .get("errorMessage")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Err(Error::new(
        ErrorKind::Gateway,
        format!("Paga {what}: the operation was refused"),
    )
    .with_gateway_code(Some(code))
    .with_gateway_message(message)
    .with_body(crate::http::raw_body(result.to_string().as_bytes())))
}

fn amount_field(v: &serde_json::Value, key: &str) -> Option<Amount> {
    v.get(key)
        .and_then(|a| serde_json::from_value::<Amount>(a.clone()).ok())
}

fn text_field(v: &serde_json::Value, key: &str) -> Option<String> {
    match v.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn check_reference(reference: &str) -> Result<&str> {
    let r = reference.trim();
    if r.is_empty() {
        return Err(Error::validation("the Paga reference number is empty"));
    }
    Ok(r)
}

fn check_amount(amount: Amount) -> Result<String> {
    if !amount.is_positive() {
        return Err(Error::validation(format!(
            "amount {amount} must be greater than zero"
        )));
    }
    Ok(amount.to_string())
}

impl Client {
    /// A builder (test environment by default).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// The URL to send a user to, asking for `scopes` and `user_data`, with a fresh
    /// unguessable `state` (and a PKCE pair when enabled). Keep the returned request
    /// (in the user's session) until the callback.
    pub fn authorization_url(
        &self,
        scopes: &[Scope],
        user_data: &[UserData],
    ) -> AuthorizationRequest {
        let state = format!("{}{}", random_hex(), random_hex());
        let join = |names: Vec<&str>| names.join(" ");
        let mut url = url::Url::parse(&format!(
            "{}{}",
            self.inner.transport.base_url(),
            self.inner.path("/oauth2/authorization")
        ))
        .expect("the base URL was checked");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.inner.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &self.inner.redirect_uri)
                .append_pair("state", &state)
                .append_pair("scope", &join(scopes.iter().map(Scope::as_str).collect()))
                .append_pair(
                    "user_data",
                    &join(user_data.iter().map(UserData::as_str).collect()),
                );
        }
        let pkce_verifier = if self.inner.pkce {
            let verifier = format!("{}{}", random_hex(), random_hex());
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(crate::signature::sha256(verifier.as_bytes()));
            url.query_pairs_mut()
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            Some(Secret::new(verifier))
        } else {
            None
        };
        AuthorizationRequest {
            url: url.into(),
            state,
            pkce_verifier,
        }
    }

    /// Handles the user's return: checks `state` against the one kept from
    /// [`authorization_url`](Self::authorization_url) (a mismatch is an error), turns an
    /// `error=` redirect into an error, exchanges the code and stores the tokens under
    /// `user`. Returns what the user granted.
    pub async fn handle_callback(
        &self,
        callback_url: &str,
        request: &AuthorizationRequest,
        user: &str,
    ) -> Result<Grant> {
        let code = callback_code(callback_url, &request.state)?;
        self.exchange_code(&code, request.pkce_verifier.as_ref(), user)
            .await
    }

    /// Exchanges an authorization `code` for tokens (HTTP Basic client
    /// authentication) and stores them under `user`.
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: Option<&Secret>,
        user: &str,
    ) -> Result<Grant> {
        let user = check_user(user)?;
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.inner.redirect_uri.as_str()),
        ];
        if let Some(v) = pkce_verifier {
            params.push(("code_verifier", v.expose()));
        }
        let body = self.inner.token_request(&params, "code exchange").await?;
        let (grant, tokens) = grant_from(decode_token_response("Paga code exchange", &body)?)?;
        self.inner
            .store
            .save(&self.inner.user_key(user), &tokens)
            .map_err(|e| {
                Error::token_store(format!("the token store failed to save tokens: {e}"))
            })?;
        // A fresh manager picks the new tokens up from the store.
        self.inner
            .users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
        Ok(grant)
    }

    /// Forgets `user`'s tokens (for example when they disconnect Paga).
    pub fn forget_user(&self, user: &str) -> Result<()> {
        self.inner
            .users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
        self.inner.store.clear(&self.inner.user_key(user))
    }

    /// Charges `user`. Not retried once the request may have arrived; when the outcome is
    /// unknown the error names the reference number to look up before paying again.
    pub async fn merchant_payment(
        &self,
        user: &str,
        request: &MerchantPaymentRequest,
    ) -> Result<MerchantPayment> {
        let user = check_user(user)?;
        let reference = check_reference(&request.reference_number)?;
        let amount = check_amount(request.amount)?;
        let customer = request.customer_reference.trim();
        if customer.is_empty() {
            return Err(Error::validation(
                "the merchant customer reference is empty",
            ));
        }
        let mut path = format!(
            "/oauth2/secure/merchantPayment/referenceNumber/{}/amount/{}/merchantCustomerReference/{}",
            segment(reference)?,
            segment(&amount)?,
            segment(customer)?
        );
        if let Some(code) = request
            .product_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            path.push_str(&format!("/merchantProductCode/{}", segment(code)?));
        }
        if let Some(currency) = request
            .currency
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            path.push_str(&format!(
                "/currency/{}",
                segment(&currency.to_ascii_uppercase())?
            ));
        }
        let mut call = Call::new(
            Method::POST,
            self.inner.path(&path),
            "/paga-webservices/oauth2/secure/merchantPayment",
            "merchant payment",
        );
        call.repeat = Repeat::OnlyIfNotSent;
        let answer = self
            .inner
            .send_for(user, call)
            .await
            .map_err(|e| unknown_payment(e, "payment", reference))?;
        // A refusal in the answer (errorCode) is definite; an unreadable answer is not.
        decode_merchant_payment(&answer.body).map_err(|e| match e.kind() {
            ErrorKind::Decode => unknown_payment(e, "payment", reference),
            _ => e,
        })
    }

    /// Sends money to a Paga user (v2). Not retried once the request may have arrived; when
    /// the outcome is unknown the error names the reference number to look up first.
    pub async fn money_transfer(
        &self,
        user: &str,
        request: &MoneyTransferRequest,
    ) -> Result<MoneyTransfer> {
        let user = check_user(user)?;
        let reference = check_reference(&request.reference_number)?;
        let amount = check_amount(request.amount)?;
        let recipient = request.recipient.trim();
        if recipient.is_empty() {
            return Err(Error::validation("the transfer recipient is empty"));
        }
        let mut call = Call::new(
            Method::POST,
            self.inner.path("/oauth2/secure/moneyTransfer/v2"),
            "/paga-webservices/oauth2/secure/moneyTransfer/v2",
            "money transfer",
        )
        .query("amount", Some(amount))
        .query("referenceNumber", Some(reference))
        .query(
            "skipMessaging",
            Some(if request.skip_messaging {
                "true"
            } else {
                "false"
            }),
        )
        .query("recipientCredential", Some(recipient));
        call.repeat = Repeat::OnlyIfNotSent;
        let answer = self
            .inner
            .send_for(user, call)
            .await
            .map_err(|e| unknown_payment(e, "transfer", reference))?;
        decode_money_transfer(&answer.body).map_err(|e| match e.kind() {
            ErrorKind::Decode => unknown_payment(e, "transfer", reference),
            _ => e,
        })
    }

    /// `user`'s details, with the balance when `ACCOUNT_BALANCE` was granted. Retried
    /// automatically.
    pub async fn user_details(&self, user: &str) -> Result<UserDetails> {
        let user = check_user(user)?;
        let mut call = Call::new(
            Method::POST,
            self.inner.path("/oauth2/secure/getUserDetails"),
            "/paga-webservices/oauth2/secure/getUserDetails",
            "user details",
        );
        call.repeat = Repeat::Safe;
        let answer = self.inner.send_for(user, call).await?;
        decode_user_details(&answer.body)
    }

    /// A one-time token for `user` (its shape is undocumented: returned as raw JSON).
    /// Retried automatically.
    pub async fn one_time_token(
        &self,
        user: &str,
        reference_number: &str,
    ) -> Result<serde_json::Value> {
        let user = check_user(user)?;
        let reference = check_reference(reference_number)?;
        let mut call = Call::new(
            Method::POST,
            self.inner.path(&format!(
                "/oauth2/secure/getOneTimeToken/referenceNumber/{}",
                segment(reference)?
            )),
            "/paga-webservices/oauth2/secure/getOneTimeToken",
            "one-time token",
        );
        call.repeat = Repeat::Safe;
        let answer = self.inner.send_for(user, call).await?;
        decode_one_time_token(&answer.body)
    }
}

/// Checks a callback URL against the `state` the authorization started with and
/// returns its authorization code; an `error=` redirect becomes an error.
pub(crate) fn callback_code(callback_url: &str, state: &str) -> Result<String> {
    let url = url::Url::parse(callback_url)
        .map_err(|e| Error::validation(format!("the Paga callback URL is not a URL: {e}")))?;
    let param = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    let sent = param("state").unwrap_or_default();
    let matches: bool = subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), state.as_bytes()).into();
    if !matches {
        return Err(Error::new(
            ErrorKind::Authentication,
            "Paga callback: the state does not match the one this authorization was started with (a forged or stale redirect)",
        ));
    }
    if let Some(error) = param("error") {
        let description = param("error_description");
        return Err(Error::new(
            ErrorKind::Authentication,
            "Paga callback: the user did not authorize",
        )
        .with_gateway_code(Some(error))
        .with_gateway_message(description));
    }
    param("code").filter(|c| !c.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorKind::Authentication,
            "Paga callback: the redirect carries neither a code nor an error",
        )
    })
}

/// What a code-exchange answer granted, and the tokens it carries.
pub(crate) fn grant_from(response: TokenResponse) -> Result<(Grant, TokenSet)> {
    let grant_scope = response.extra_text("scope");
    let grant_data = response.extra_text("user_data");
    let extra = response.extra.clone();
    let tokens = response.into_token_set("Paga code exchange", None, FALLBACK_LIFETIME)?;
    let grant = Grant {
        scopes: split(&grant_scope)
            .into_iter()
            .map(|s| Scope::parse(&s))
            .collect(),
        user_data: split(&grant_data)
            .into_iter()
            .map(|s| UserData::parse(&s))
            .collect(),
        expires_at: tokens.expires_at,
        extra,
    };
    Ok((grant, tokens))
}

/// Reads a refresh answer; a response without a refresh token keeps `refresh_token`.
pub(crate) fn decode_refresh(body: &[u8], refresh_token: &Secret) -> Result<TokenSet> {
    decode_token_response("Paga token refresh", body)?.into_token_set(
        "Paga token refresh",
        Some(refresh_token),
        FALLBACK_LIFETIME,
    )
}

/// Reads a merchant payment answer (`{"merchantPaymentResult": {…}}`).
pub(crate) fn decode_merchant_payment(body: &[u8]) -> Result<MerchantPayment> {
    let v: serde_json::Value = decode("Paga merchant payment", body, false)?;
    let result = v.get("merchantPaymentResult").cloned().ok_or_else(|| {
        Error::decode("Paga merchant payment: the answer has no merchantPaymentResult")
    })?;
    result_error(&result, "merchant payment")?;
    Ok(MerchantPayment {
        transaction_id: text_field(&result, "transactionId"),
        confirmation_code: text_field(&result, "confirmationCode"),
        amount: amount_field(&result, "amount"),
        fee: amount_field(&result, "fee"),
        currency: text_field(&result, "currency"),
        raw: result,
    })
}

/// Reads a money transfer answer.
pub(crate) fn decode_money_transfer(body: &[u8]) -> Result<MoneyTransfer> {
    let v: serde_json::Value = decode("Paga money transfer", body, false)?;
    result_error(&v, "money transfer")?;
    Ok(MoneyTransfer {
        transaction_id: text_field(&v, "transactionId"),
        amount: amount_field(&v, "amount"),
        fee: amount_field(&v, "fee"),
        currency: text_field(&v, "currency"),
        raw: v,
    })
}

/// Reads a user details answer (`{"detailsResult": {…, "details": {…}}}`).
pub(crate) fn decode_user_details(body: &[u8]) -> Result<UserDetails> {
    let v: serde_json::Value = decode("Paga user details", body, false)?;
    let result = v
        .get("detailsResult")
        .cloned()
        .ok_or_else(|| Error::decode("Paga user details: the answer has no detailsResult"))?;
    result_error(&result, "user details")?;
    let d = result
        .get("details")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    Ok(UserDetails {
        account_status: text_field(&d, "accountStatus"),
        first_name: text_field(&d, "firstName"),
        last_name: text_field(&d, "lastName"),
        account_balance: amount_field(&d, "accountBalance"),
        email: text_field(&d, "email"),
        public_id: text_field(&d, "publicId"),
        username: text_field(&d, "username"),
        raw: d,
    })
}

/// Reads a one-time token answer (raw JSON, after checking its `errorCode`).
pub(crate) fn decode_one_time_token(body: &[u8]) -> Result<serde_json::Value> {
    let v: serde_json::Value = decode("Paga one-time token", body, false)?;
    result_error(&v, "one-time token")?;
    Ok(v)
}

fn check_user(user: &str) -> Result<&str> {
    let u = user.trim();
    if u.is_empty() {
        return Err(Error::validation("the user key is empty"));
    }
    Ok(u)
}

fn split(text: &str) -> Vec<String> {
    text.split([' ', '+', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(pkce: bool) -> Client {
        Client::builder()
            .client_id("cid")
            .client_secret("csecret")
            .redirect_uri("https://shop.example/paga/callback?x=1")
            .pkce(pkce)
            .build()
            .unwrap()
    }

    #[test]
    fn authorization_urls_are_encoded_and_unguessable() {
        let c = client(false);
        let a = c.authorization_url(
            &[Scope::MerchantPayment, Scope::Other("NEW SCOPE".into())],
            &[UserData::FirstName, UserData::AccountBalance],
        );
        let url = url::Url::parse(&a.url).unwrap();
        assert_eq!(url.path(), "/paga-webservices/oauth2/authorization");
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], "MERCHANT_PAYMENT NEW SCOPE");
        assert_eq!(q["user_data"], "FIRST_NAME ACCOUNT_BALANCE");
        assert_eq!(q["redirect_uri"], "https://shop.example/paga/callback?x=1");
        assert_eq!(q["state"], a.state);
        assert_eq!(a.state.len(), 64);
        assert_ne!(c.authorization_url(&[], &[]).state, a.state);
        assert!(a.pkce_verifier.is_none() && !q.contains_key("code_challenge"));
        let p = client(true).authorization_url(&[], &[]);
        let q: HashMap<_, _> = url::Url::parse(&p.url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        let verifier = p.pkce_verifier.unwrap();
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(crate::signature::sha256(verifier.expose().as_bytes()));
        assert_eq!(q["code_challenge"], expected);
        assert_eq!(q["code_challenge_method"], "S256");
    }

    #[test]
    fn result_errors() {
        assert!(result_error(&serde_json::json!({"errorCode": "0"}), "x").is_ok());
        assert!(result_error(&serde_json::json!({"errorCode": null}), "x").is_ok());
        let e = result_error(
            &serde_json::json!({"errorCode": "10", "errorMessage": "Insufficient balance"}),
            "x",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Gateway);
        assert_eq!(e.gateway_code(), Some("10"));
        assert_eq!(e.gateway_message(), Some("Insufficient balance"));
        assert_eq!(Scope::parse("money_transfer"), Scope::MoneyTransfer);
        assert_eq!(UserData::parse("X").as_str(), "X");
        assert_eq!(new_reference_number().len(), 32);
    }
}
