//! Paga Connect's in-memory state: users and their balances, the merchant, OAuth2
//! codes and tokens, payments and transfers. Everything here is synchronous and runs
//! under the gateway's single mutex.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::{
    SandboxConfig, DEFAULT_PAGA_RECIPIENT_PHONE, DEFAULT_PAGA_USER, DEFAULT_PAGA_USER_PHONE,
    PAGA_DENYING_USER, PAGA_RECIPIENT_USER,
};

/// Scopes a client may ask for.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "MERCHANT_PAYMENT",
    "MONEY_TRANSFER",
    "USER_DETAILS_REQUEST",
    "USER_DEPOSIT_FROM_CARD",
    "USER_REQUEST_ACCOUNT_BALANCE",
];

/// `user_data` names a client may ask for.
pub(crate) const KNOWN_USER_DATA: &[&str] = &[
    "FIRST_NAME",
    "LAST_NAME",
    "USERNAME",
    "EMAIL",
    "ACCOUNT_BALANCE",
    "MOBILE_NUMBER",
];

/// The merchant's starting balance (NGN), the source of money transfers.
pub(crate) const MERCHANT_START_BALANCE: i64 = 1_000_000;

/// Settings that the control API can change at run time.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeConfig {
    /// Lifetime of authorization codes issued from now on.
    pub code_ttl: Duration,
    /// Lifetime of access tokens issued from now on.
    pub access_ttl: Duration,
}

/// A Paga user.
#[derive(Clone, Debug)]
pub(crate) struct User {
    /// The sandbox login (`sandbox_user` of the authorization request).
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub public_id: String,
    pub phone: String,
    pub balance: Decimal,
    /// Whether the user approves authorization requests (else `access_denied`).
    pub approves: bool,
}

/// What the user granted: scopes and `user_data`, in the order the client asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    pub login: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub user_data: Vec<String>,
}

/// An authorization code waiting to be exchanged.
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub grant: Grant,
    pub redirect_uri: String,
    /// The PKCE S256 challenge, when one was given.
    pub challenge: Option<String>,
    pub expires_at: Timestamp,
}

/// An access token.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    pub grant: Grant,
    pub expires_at: Timestamp,
    /// Expired through the control API.
    pub expired: bool,
}

/// A refresh token.
#[derive(Clone, Debug)]
pub(crate) struct Refresh {
    pub grant: Grant,
    /// Expired through the control API.
    pub expired: bool,
}

/// A completed merchant payment.
#[derive(Clone, Debug)]
pub(crate) struct Payment {
    pub reference: String,
    pub transaction_id: String,
    pub confirmation_code: String,
    pub login: String,
    pub amount: Decimal,
    pub currency: String,
    pub customer_reference: String,
    pub product_code: Option<String>,
    pub created_at: Timestamp,
}

/// A completed money transfer.
#[derive(Clone, Debug)]
pub(crate) struct Transfer {
    pub reference: String,
    pub transaction_id: String,
    /// The user whose token made the transfer.
    pub login: String,
    pub recipient: String,
    pub amount: Decimal,
    pub skip_messaging: bool,
    pub created_at: Timestamp,
}

/// A freshly issued token pair.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub grant: Grant,
}

/// Why a token request is refused (`invalid_grant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidGrant(pub &'static str);

/// Why a bearer token is refused (`invalid_token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadToken {
    Unknown,
    Expired,
}

/// The whole gateway state.
#[derive(Debug)]
pub(crate) struct State {
    pub config: RuntimeConfig,
    pub client_id: String,
    pub client_secret: String,
    pub users: Vec<User>,
    pub merchant_balance: Decimal,
    pub codes: HashMap<String, Code>,
    pub access: HashMap<String, Access>,
    pub refresh: HashMap<String, Refresh>,
    pub payments: Vec<Payment>,
    pub transfers: Vec<Transfer>,
    pub payment_refs: HashSet<String>,
    pub transfer_refs: HashSet<String>,
    pub one_time_tokens: BTreeSet<String>,
}

/// A random token: 32 lowercase hex characters.
pub(crate) fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A random numeric string of `len` digits.
fn random_digits(len: usize) -> String {
    (0..len).map(|_| fastrand::digit(10)).collect()
}

/// A local Nigerian number `0XXXXXXXXXX` from `0…`, `234…` or `+234…`.
pub(crate) fn normalize_phone(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix("+234").or_else(|| raw.strip_prefix("234")) {
        format!("0{rest}")
    } else {
        raw.to_owned()
    }
}

#[allow(clippy::too_many_arguments)]
fn user(
    login: &str,
    first: &str,
    last: &str,
    username: &str,
    email: &str,
    public_id: &str,
    phone: &str,
    balance: i64,
    approves: bool,
) -> User {
    User {
        login: login.to_owned(),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        username: username.to_owned(),
        email: email.to_owned(),
        public_id: public_id.to_owned(),
        phone: phone.to_owned(),
        balance: Decimal::from(balance),
        approves,
    }
}

impl State {
    /// The state a fresh sandbox starts with.
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        State {
            config: RuntimeConfig {
                code_ttl: config.paga_code_ttl,
                access_ttl: config.paga_access_ttl,
            },
            client_id: config.paga_client_id.clone(),
            client_secret: config.paga_client_secret.clone(),
            users: vec![
                user(
                    DEFAULT_PAGA_USER,
                    "Ada",
                    "Obi",
                    "adaobi",
                    "ada@example.ng",
                    "PUB-ADA-001",
                    DEFAULT_PAGA_USER_PHONE,
                    50_000,
                    true,
                ),
                user(
                    PAGA_RECIPIENT_USER,
                    "Chidi",
                    "Eze",
                    "chidieze",
                    "chidi@example.ng",
                    "PUB-CHI-002",
                    DEFAULT_PAGA_RECIPIENT_PHONE,
                    0,
                    true,
                ),
                user(
                    PAGA_DENYING_USER,
                    "Dayo",
                    "Ade",
                    "dayoade",
                    "dayo@example.ng",
                    "PUB-DAY-003",
                    "08030000003",
                    0,
                    false,
                ),
            ],
            merchant_balance: Decimal::from(MERCHANT_START_BALANCE),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            payments: Vec::new(),
            transfers: Vec::new(),
            payment_refs: HashSet::new(),
            transfer_refs: HashSet::new(),
            one_time_tokens: BTreeSet::new(),
        }
    }

    /// Whether these are the OAuth2 client's credentials.
    pub(crate) fn check_client(&self, id: &str, secret: &str) -> bool {
        id == self.client_id && secret == self.client_secret
    }

    pub(crate) fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }

    fn user_mut(&mut self, login: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.login == login)
    }

    /// Issues an authorization code.
    pub(crate) fn issue_code(
        &mut self,
        grant: Grant,
        redirect_uri: String,
        challenge: Option<String>,
        now: Timestamp,
    ) -> String {
        let code = random_token();
        let expires_at = now + self.config.code_ttl;
        self.codes.insert(
            code.clone(),
            Code {
                grant,
                redirect_uri,
                challenge,
                expires_at,
            },
        );
        code
    }

    /// Takes (consumes) a code: it is single-use whatever happens next.
    pub(crate) fn take_code(
        &mut self,
        code: &str,
        client_id: &str,
        now: Timestamp,
    ) -> Result<Code, InvalidGrant> {
        let entry = self
            .codes
            .remove(code)
            .ok_or(InvalidGrant("Invalid authorization code"))?;
        if entry.grant.client_id != client_id {
            return Err(InvalidGrant("Invalid authorization code"));
        }
        if now >= entry.expires_at {
            return Err(InvalidGrant("Authorization code expired"));
        }
        Ok(entry)
    }

    /// Issues an access and refresh token pair for a grant.
    pub(crate) fn issue(&mut self, grant: Grant, now: Timestamp) -> Issued {
        let access_token = random_token();
        let refresh_token = random_token();
        let ttl = self.config.access_ttl;
        self.access.insert(
            access_token.clone(),
            Access {
                grant: grant.clone(),
                expires_at: now + ttl,
                expired: false,
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            Refresh {
                grant: grant.clone(),
                expired: false,
            },
        );
        Issued {
            access_token,
            refresh_token,
            expires_in: ttl.as_secs(),
            grant,
        }
    }

    /// Rotates a refresh token: the presented one stops working, a new pair is issued.
    pub(crate) fn refresh(
        &mut self,
        token: &str,
        client_id: &str,
        now: Timestamp,
    ) -> Result<Issued, InvalidGrant> {
        let invalid = InvalidGrant("Invalid refresh token");
        match self.refresh.get(token) {
            Some(entry) if entry.grant.client_id == client_id && !entry.expired => {}
            Some(entry) if entry.expired => return Err(InvalidGrant("Refresh token expired")),
            _ => return Err(invalid),
        }
        let entry = self.refresh.remove(token).ok_or(invalid)?;
        Ok(self.issue(entry.grant, now))
    }

    /// The grant behind a live access token.
    pub(crate) fn check_access(&self, token: &str, now: Timestamp) -> Result<Grant, BadToken> {
        let access = self.access.get(token).ok_or(BadToken::Unknown)?;
        if access.expired || now >= access.expires_at {
            return Err(BadToken::Expired);
        }
        Ok(access.grant.clone())
    }

    /// Marks every access (`refresh == false`) or refresh token issued so far expired;
    /// how many.
    pub(crate) fn expire(&mut self, refresh: bool) -> usize {
        if refresh {
            self.refresh.values_mut().for_each(|t| t.expired = true);
            self.refresh.len()
        } else {
            self.access.values_mut().for_each(|t| t.expired = true);
            self.access.len()
        }
    }

    /// Charges `login` for a merchant payment. `Err((code, message))` is a provider
    /// error answered inside the result.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn merchant_payment(
        &mut self,
        login: &str,
        reference: &str,
        amount: Decimal,
        customer_reference: &str,
        product_code: Option<&str>,
        currency: &str,
        now: Timestamp,
    ) -> Result<Payment, (&'static str, &'static str)> {
        if self.payment_refs.contains(reference) {
            return Err(("17", "Duplicate reference number"));
        }
        if currency != "NGN" {
            return Err(("12", "Unsupported currency"));
        }
        let user = self.user_mut(login).ok_or(("4", "Unknown user"))?;
        if user.balance < amount {
            return Err(("10", "Insufficient balance"));
        }
        user.balance -= amount;
        self.merchant_balance += amount;
        let payment = Payment {
            reference: reference.to_owned(),
            transaction_id: format!("PG{}", random_digits(10)),
            confirmation_code: random_digits(8),
            login: login.to_owned(),
            amount,
            currency: currency.to_owned(),
            customer_reference: customer_reference.to_owned(),
            product_code: product_code.map(str::to_owned),
            created_at: now,
        };
        self.payment_refs.insert(reference.to_owned());
        self.payments.push(payment.clone());
        Ok(payment)
    }

    /// Moves money from the merchant to the user with this phone number.
    pub(crate) fn money_transfer(
        &mut self,
        login: &str,
        reference: &str,
        amount: Decimal,
        recipient_phone: &str,
        skip_messaging: bool,
        now: Timestamp,
    ) -> Result<Transfer, (&'static str, &'static str)> {
        if self.transfer_refs.contains(reference) {
            return Err(("17", "Duplicate reference number"));
        }
        let phone = normalize_phone(recipient_phone);
        if self.merchant_balance < amount {
            return Err(("10", "Insufficient balance"));
        }
        let recipient = self
            .users
            .iter_mut()
            .find(|u| u.phone == phone)
            .ok_or(("4", "Unknown recipient"))?;
        recipient.balance += amount;
        self.merchant_balance -= amount;
        let transfer = Transfer {
            reference: reference.to_owned(),
            transaction_id: format!("PG{}", random_digits(10)),
            login: login.to_owned(),
            recipient: phone,
            amount,
            skip_messaging,
            created_at: now,
        };
        self.transfer_refs.insert(reference.to_owned());
        self.transfers.push(transfer.clone());
        Ok(transfer)
    }
}
