//! The hosted-checkout gateway's in-memory state and the rules that change it.
//! Everything here is synchronous and runs under the gateway's single mutex.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use jiff::Timestamp;
use serde_json::Value;

use crate::error::ApiError;
use crate::jwt::{self, Claims};
use crate::{
    SandboxConfig, DEFAULT_CHECKOUT_APPLICATION_ID, DEFAULT_CHECKOUT_APPLICATION_NAME,
    DEFAULT_CHECKOUT_CLIENT_ID, DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET,
    DEFAULT_OAUTH_PASSWORD, DEFAULT_OAUTH_USERNAME,
};

/// The only dashboard user; every application and payment belongs to it.
pub(crate) const USER_ID: u64 = 1;

/// Lifetime of an OAuth2 refresh token (Passport's default, 30 days).
pub(crate) const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// `401 {"message": "Unauthenticated."}`.
pub(crate) fn unauthenticated() -> ApiError {
    ApiError::unauthorized("Unauthenticated.")
}

/// `403 {"message": "Insufficient permissions"}`.
pub(crate) fn forbidden() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "Insufficient permissions")
}

/// `404 {"message": "Not found."}`.
pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("Not found.")
}

/// Settings that the control API can change at run time.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeConfig {
    /// Lifetime of OAuth2 access tokens issued from now on.
    pub oauth_ttl: Duration,
    /// Pauses before each webhook retry, for deliveries started from now on.
    pub webhook_retry_delays: Vec<Duration>,
}

/// A payment's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Created, waiting for the payer.
    Open,
    /// The payer's transfer was seen.
    Found,
    /// The transfer arrived.
    Received,
    /// The transfer is final; the payment is complete.
    Confirmed,
    /// Less than the amount arrived.
    Underpaid,
    /// Cancelled (or expired).
    Cancelled,
    /// Something went wrong.
    Error,
    /// Refunded.
    Refund,
}

impl Status {
    /// Every status, in lifecycle order.
    pub(crate) const ALL: [Status; 8] = [
        Status::Open,
        Status::Found,
        Status::Received,
        Status::Confirmed,
        Status::Underpaid,
        Status::Cancelled,
        Status::Error,
        Status::Refund,
    ];

    /// The wire spelling, e.g. `OPEN`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Open => "OPEN",
            Status::Found => "FOUND",
            Status::Received => "RECEIVED",
            Status::Confirmed => "CONFIRMED",
            Status::Underpaid => "UNDERPAID",
            Status::Cancelled => "CANCELLED",
            Status::Error => "ERROR",
            Status::Refund => "REFUND",
        }
    }

    /// Parses the wire spelling, in any case.
    pub(crate) fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The webhook event announcing this status, e.g. `payment.completed`.
    pub(crate) fn event(self) -> String {
        match self {
            Status::Received => "payment.received".to_owned(),
            Status::Confirmed => "payment.completed".to_owned(),
            Status::Underpaid => "payment.underpaid".to_owned(),
            other => format!("payment.{}", other.as_str().to_ascii_lowercase()),
        }
    }
}

/// A payment application (a merchant's site).
#[derive(Clone, Debug)]
pub(crate) struct Application {
    /// Numeric id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// 32-character public identifier.
    pub client_id: String,
    /// Owner.
    pub user_id: u64,
    /// Webhook secret.
    pub secret: String,
    /// The site's id (`siteId` in create-checkout bodies).
    pub site_id: u64,
    /// The site's URL.
    pub url: Option<String>,
    /// Currencies accepted; empty = any.
    pub currency_whitelist: Vec<String>,
    /// Whether an underpayment completes the payment.
    pub allow_underpay: bool,
    /// Whether an overpayment is accepted.
    pub allow_overpay: bool,
    /// Where webhooks go; `None` = no webhooks.
    pub callback_url: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A checkout payment.
#[derive(Clone, Debug)]
pub(crate) struct Payment {
    /// Id, a UUID (the path segment of the checkout URL).
    pub id: String,
    /// The application it was created for.
    pub application_id: u64,
    /// Owner.
    pub user_id: u64,
    /// Current status.
    pub status: Status,
    /// The merchant's reference.
    pub reference: String,
    /// The merchant's label for the reference.
    pub reference_label: String,
    /// Currency of `amount`.
    pub currency_code: String,
    /// Currency the merchant is paid in, if another.
    pub settlement_currency_code: Option<String>,
    /// Amount asked, minor units.
    pub amount: i64,
    /// Amount received, minor units, once known.
    pub received: Option<i64>,
    /// Amount settled, minor units, once known.
    pub settled: Option<i64>,
    /// When the transfer was seen.
    pub found_at: Option<Timestamp>,
    /// When the payment was confirmed.
    pub confirmed_at: Option<Timestamp>,
    /// Creation time (`date`).
    pub created_at: Timestamp,
    /// When the checkout URL stops working.
    pub expires_at: Timestamp,
    /// Where the hosted page sends the payer back.
    pub redirect_url: Option<String>,
    /// The merchant's product id, as sent.
    pub product_id: Option<Value>,
    /// The signed hosted-page URL.
    pub checkout_url: String,
}

/// Who a bearer token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    /// A static client token and its scopes.
    Client(Vec<String>),
    /// An OAuth2 access token of a dashboard user.
    User(u64),
}

#[derive(Clone, Debug)]
struct AccessRecord {
    user_id: u64,
    exp: i64,
    revoked: bool,
    expired: bool,
}

#[derive(Clone, Debug)]
struct RefreshRecord {
    user_id: u64,
    oauth_client: String,
    access_token: String,
    exp: i64,
    revoked: bool,
    expired: bool,
}

/// Why a refresh token was refused: RFC 6749 §5.2 `invalid_grant`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InvalidGrant {
    /// `error_description`.
    pub description: &'static str,
    /// `hint`.
    pub hint: &'static str,
}

/// A fresh OAuth2 token pair.
#[derive(Clone, Debug)]
pub(crate) struct IssuedPair {
    /// The bearer token.
    pub access_token: String,
    /// The token that buys the next pair.
    pub refresh_token: String,
    /// Access token lifetime, seconds.
    pub expires_in: u64,
}

/// What a create-checkout request asks for, validated.
#[derive(Clone, Debug)]
pub(crate) struct NewPayment {
    /// The application.
    pub application_id: u64,
    /// Minor units, > 0.
    pub amount: i64,
    /// `[A-Z]{3,5}`.
    pub currency_code: String,
    /// The merchant's reference.
    pub reference: String,
    /// Its label.
    pub reference_label: String,
    /// Settlement currency, if any.
    pub settlement_currency_code: Option<String>,
    /// Explicit expiry, in the future.
    pub expires_at: Option<Timestamp>,
    /// Where the payer goes back.
    pub redirect_url: Option<String>,
    /// The merchant's product id.
    pub product_id: Option<Value>,
}

/// What a create-application request asks for, validated.
#[derive(Clone, Debug)]
pub(crate) struct NewApplication {
    /// Display name, 3–255 characters.
    pub name: String,
    /// Webhook secret.
    pub secret: String,
    /// Site URL.
    pub url: Option<String>,
    /// Webhook URL.
    pub callback_url: Option<String>,
    /// Accepted currencies.
    pub currency_whitelist: Vec<String>,
    /// Underpayments complete.
    pub allow_underpay: bool,
    /// Overpayments accepted.
    pub allow_overpay: bool,
}

/// A webhook to send: the payment as it is now, and where and how to send it.
#[derive(Clone, Debug)]
pub(crate) struct WebhookJob {
    /// The payment, after the change.
    pub payment: Payment,
    /// `payment.completed` and the like.
    pub event: String,
    /// The application's callback URL.
    pub url: String,
    /// The application's secret.
    pub secret: String,
    /// The retry schedule.
    pub delays: Vec<Duration>,
}

/// All of the hosted-checkout gateway's state.
#[derive(Debug)]
pub(crate) struct State {
    /// Run-time settings.
    pub config: RuntimeConfig,
    client_tokens: HashMap<String, Vec<String>>,
    /// Payment applications, oldest first.
    pub applications: Vec<Application>,
    next_application_id: u64,
    /// Payments, oldest first.
    pub payments: Vec<Payment>,
    by_id: HashMap<String, usize>,
    access: HashMap<String, AccessRecord>,
    refresh: HashMap<String, RefreshRecord>,
}

impl State {
    /// The state at start-up: the default application and the configured tokens.
    pub(crate) fn new(config: &SandboxConfig, now: Timestamp) -> Self {
        let mut client_tokens: HashMap<String, Vec<String>> = HashMap::new();
        for token in &config.checkout_tokens {
            client_tokens.insert(token.token.clone(), token.scopes.clone());
        }
        let application = Application {
            id: DEFAULT_CHECKOUT_APPLICATION_ID,
            name: DEFAULT_CHECKOUT_APPLICATION_NAME.to_owned(),
            client_id: DEFAULT_CHECKOUT_CLIENT_ID.to_owned(),
            user_id: USER_ID,
            secret: config.checkout_webhook_secret.clone(),
            site_id: DEFAULT_CHECKOUT_APPLICATION_ID,
            url: None,
            currency_whitelist: Vec::new(),
            allow_underpay: false,
            allow_overpay: false,
            callback_url: config.checkout_callback_url.clone(),
            created_at: now,
        };
        State {
            config: RuntimeConfig {
                oauth_ttl: config.checkout_oauth_ttl,
                webhook_retry_delays: config.checkout_webhook_retry_delays.clone(),
            },
            client_tokens,
            applications: vec![application],
            next_application_id: DEFAULT_CHECKOUT_APPLICATION_ID + 1,
            payments: Vec::new(),
            by_id: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
        }
    }

    /// Who `token` belongs to; 401 when it is unknown, expired or revoked.
    pub(crate) fn authenticate(&self, token: &str, now: Timestamp) -> Result<Principal, ApiError> {
        if let Some(scopes) = self.client_tokens.get(token) {
            return Ok(Principal::Client(scopes.clone()));
        }
        match self.access.get(token) {
            Some(record) if !record.revoked && !record.expired && now.as_second() < record.exp => {
                Ok(Principal::User(record.user_id))
            }
            _ => Err(unauthenticated()),
        }
    }

    /// The application with this id.
    pub(crate) fn application(&self, id: u64) -> Option<&Application> {
        self.applications.iter().find(|a| a.id == id)
    }

    /// The application with this client id.
    pub(crate) fn application_by_client_id(&self, client_id: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.client_id == client_id)
    }

    /// The application of this site.
    pub(crate) fn application_by_site(&self, site_id: u64) -> Option<&Application> {
        self.applications.iter().find(|a| a.site_id == site_id)
    }

    /// The default application (id 1).
    pub(crate) fn default_application(&self) -> Option<&Application> {
        self.application(DEFAULT_CHECKOUT_APPLICATION_ID)
    }

    /// The default application (id 1), mutable.
    pub(crate) fn default_application_mut(&mut self) -> Option<&mut Application> {
        self.applications
            .iter_mut()
            .find(|a| a.id == DEFAULT_CHECKOUT_APPLICATION_ID)
    }

    /// Creates an application with a fresh 32-character client id.
    pub(crate) fn create_application(
        &mut self,
        request: NewApplication,
        now: Timestamp,
    ) -> Application {
        let id = self.next_application_id;
        self.next_application_id += 1;
        let client_id = loop {
            let candidate: String = std::iter::repeat_with(fastrand::alphanumeric)
                .take(32)
                .collect();
            if self.application_by_client_id(&candidate).is_none() {
                break candidate;
            }
        };
        let application = Application {
            id,
            name: request.name,
            client_id,
            user_id: USER_ID,
            secret: request.secret,
            site_id: id,
            url: request.url,
            currency_whitelist: request.currency_whitelist,
            allow_underpay: request.allow_underpay,
            allow_overpay: request.allow_overpay,
            callback_url: request.callback_url,
            created_at: now,
        };
        self.applications.push(application.clone());
        application
    }

    /// The payment with this id.
    pub(crate) fn payment(&self, id: &str) -> Option<&Payment> {
        self.by_id.get(id).map(|&i| &self.payments[i])
    }

    /// Records a new `OPEN` payment whose hosted page is `checkout_url(id, expires)`.
    pub(crate) fn create_payment(
        &mut self,
        request: NewPayment,
        now: Timestamp,
        checkout_url: impl FnOnce(&str, i64) -> String,
    ) -> Payment {
        let id = uuid::Uuid::new_v4().to_string();
        let expires_at = request
            .expires_at
            .unwrap_or_else(|| now + jiff::SignedDuration::from_hours(1));
        let url = checkout_url(&id, expires_at.as_second());
        let payment = Payment {
            id: id.clone(),
            application_id: request.application_id,
            user_id: USER_ID,
            status: Status::Open,
            reference: request.reference,
            reference_label: request.reference_label,
            currency_code: request.currency_code,
            settlement_currency_code: request.settlement_currency_code,
            amount: request.amount,
            received: None,
            settled: None,
            found_at: None,
            confirmed_at: None,
            created_at: now,
            expires_at,
            redirect_url: request.redirect_url,
            product_id: request.product_id,
            checkout_url: url,
        };
        self.by_id.insert(id, self.payments.len());
        self.payments.push(payment.clone());
        payment
    }

    /// Moves a payment to `status` (any status, the same one included), filling in the
    /// timestamps and amounts that status implies; the webhook to send, if the
    /// application has a callback URL. 404 when the payment is unknown.
    pub(crate) fn set_status(
        &mut self,
        id: &str,
        status: Status,
        received_minor: Option<i64>,
        now: Timestamp,
    ) -> Result<(Payment, Option<WebhookJob>), ApiError> {
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| ApiError::not_found("payment not found"))?;
        let payment = &mut self.payments[index];
        payment.status = status;
        if let Some(received) = received_minor {
            payment.received = Some(received);
        }
        let seen = matches!(
            status,
            Status::Found | Status::Received | Status::Confirmed | Status::Underpaid
        );
        if seen {
            payment.found_at.get_or_insert(now);
            if payment.received.is_none() {
                payment.received = Some(if status == Status::Underpaid {
                    payment.amount / 2
                } else {
                    payment.amount
                });
            }
        }
        if status == Status::Confirmed {
            payment.confirmed_at.get_or_insert(now);
            payment.settled = payment.received;
        }
        let payment = payment.clone();
        let job = self.application(payment.application_id).and_then(|app| {
            app.callback_url.clone().map(|url| WebhookJob {
                payment: payment.clone(),
                event: status.event(),
                url,
                secret: app.secret.clone(),
                delays: self.config.webhook_retry_delays.clone(),
            })
        });
        Ok((payment, job))
    }

    /// Checks the OAuth2 client's credentials.
    pub(crate) fn check_oauth_client(&self, client_id: &str, secret: &str) -> bool {
        client_id == DEFAULT_OAUTH_CLIENT_ID && secret == DEFAULT_OAUTH_CLIENT_SECRET
    }

    /// The user these credentials belong to.
    pub(crate) fn check_user(&self, username: &str, password: &str) -> Option<u64> {
        (username == DEFAULT_OAUTH_USERNAME && password == DEFAULT_OAUTH_PASSWORD)
            .then_some(USER_ID)
    }

    /// Issues an access and refresh token pair to `user_id` through `oauth_client`.
    pub(crate) fn issue_pair(
        &mut self,
        user_id: u64,
        oauth_client: &str,
        key: &[u8],
        now: Timestamp,
    ) -> IssuedPair {
        let iat = now.as_second();
        let ttl = self.config.oauth_ttl.as_secs();
        let exp = iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        let access_token = jwt::encode(
            &Claims {
                sub: user_id.to_string(),
                iat,
                exp,
                jti: uuid::Uuid::new_v4().simple().to_string(),
                typ: "access".to_owned(),
            },
            key,
        );
        // Passport's refresh tokens are opaque encrypted blobs starting with `def50200`.
        let refresh_token: String = std::iter::once("def50200".to_owned())
            .chain((0..4).map(|_| uuid::Uuid::new_v4().simple().to_string()))
            .collect();
        self.access.insert(
            access_token.clone(),
            AccessRecord {
                user_id,
                exp,
                revoked: false,
                expired: false,
            },
        );
        let refresh_exp = iat.saturating_add(REFRESH_TTL.as_secs() as i64);
        self.refresh.insert(
            refresh_token.clone(),
            RefreshRecord {
                user_id,
                oauth_client: oauth_client.to_owned(),
                access_token: access_token.clone(),
                exp: refresh_exp,
                revoked: false,
                expired: false,
            },
        );
        IssuedPair {
            access_token,
            refresh_token,
            expires_in: ttl,
        }
    }

    /// `grant_type=refresh_token`: checks the refresh token, revokes it and the access
    /// token issued with it (rotation), and issues a new pair.
    pub(crate) fn refresh(
        &mut self,
        refresh_token: &str,
        oauth_client: &str,
        key: &[u8],
        now: Timestamp,
    ) -> Result<IssuedPair, InvalidGrant> {
        const INVALID: &str = "The refresh token is invalid.";
        let record = self.refresh.get_mut(refresh_token).ok_or(InvalidGrant {
            description: INVALID,
            hint: "Cannot decrypt the refresh token",
        })?;
        if record.oauth_client != oauth_client {
            return Err(InvalidGrant {
                description: INVALID,
                hint: "Token is not linked to client",
            });
        }
        if record.expired || now.as_second() >= record.exp {
            return Err(InvalidGrant {
                description: INVALID,
                hint: "Token has expired",
            });
        }
        if record.revoked {
            return Err(InvalidGrant {
                description: INVALID,
                hint: "Token has been revoked",
            });
        }
        record.revoked = true;
        let user_id = record.user_id;
        let old_access = record.access_token.clone();
        if let Some(access) = self.access.get_mut(&old_access) {
            access.revoked = true;
        }
        Ok(self.issue_pair(user_id, oauth_client, key, now))
    }

    /// Marks every access (`refresh == false`) or refresh token issued so far expired;
    /// how many.
    pub(crate) fn expire_oauth(&mut self, refresh: bool) -> usize {
        if refresh {
            self.refresh.values_mut().for_each(|r| r.expired = true);
            self.refresh.len()
        } else {
            self.access.values_mut().for_each(|r| r.expired = true);
            self.access.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_the_statuses() {
        assert_eq!(Status::Received.event(), "payment.received");
        assert_eq!(Status::Confirmed.event(), "payment.completed");
        assert_eq!(Status::Underpaid.event(), "payment.underpaid");
        assert_eq!(Status::Found.event(), "payment.found");
        assert_eq!(Status::Cancelled.event(), "payment.cancelled");
        assert_eq!(Status::parse("confirmed"), Some(Status::Confirmed));
        assert_eq!(Status::parse("PAID"), None);
    }

    #[test]
    fn refresh_rotates_and_revokes_the_old_access_token() {
        let now = Timestamp::now();
        let mut state = State::new(&SandboxConfig::default(), now);
        let first = state.issue_pair(USER_ID, DEFAULT_OAUTH_CLIENT_ID, b"k", now);
        assert_eq!(
            state.authenticate(&first.access_token, now),
            Ok(Principal::User(USER_ID))
        );
        let second = state
            .refresh(&first.refresh_token, DEFAULT_OAUTH_CLIENT_ID, b"k", now)
            .unwrap();
        assert!(state.authenticate(&first.access_token, now).is_err());
        assert!(state.authenticate(&second.access_token, now).is_ok());
        assert!(matches!(
            state.refresh(&first.refresh_token, DEFAULT_OAUTH_CLIENT_ID, b"k", now),
            Err(InvalidGrant { .. })
        ));
        assert!(matches!(
            state.refresh(&second.refresh_token, "other", b"k", now),
            Err(InvalidGrant { .. })
        ));
    }
}
