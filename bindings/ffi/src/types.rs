//! Records and enums of the Paypack surface, and their conversions from the core.

use std::time::SystemTime;

use pesakit::paypack as core;
use pesakit::{Amount, Timestamp};

use crate::error::PesakitError;

pub(crate) fn to_system_time(ts: Timestamp) -> SystemTime {
    SystemTime::from(ts)
}

pub(crate) fn from_system_time(t: SystemTime) -> Result<Timestamp, PesakitError> {
    Timestamp::try_from(t)
        .map_err(|e| PesakitError::validation(format!("the instant is out of range: {e}")))
}

/// The state of a transaction. For `Unknown`, `status_raw` keeps the gateway's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TransactionStatus {
    /// Waiting for the customer to confirm on their phone.
    Pending,
    /// Money moved.
    Successful,
    /// Declined, timed out or lacking funds.
    Failed,
    /// A status pesakit does not know yet.
    Unknown,
}

/// Which way the money moves. `Unknown` keeps the gateway's text in `kind_raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TransactionKind {
    /// From the customer to the merchant.
    CashIn,
    /// From the merchant to the customer.
    CashOut,
    /// A kind pesakit does not know yet.
    Unknown,
}

/// What an event reports. `Unknown` keeps the gateway's text in `kind_raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum EventKind {
    /// `transaction:created`.
    TransactionCreated,
    /// `transaction:processed`.
    TransactionProcessed,
    /// A kind pesakit does not know yet.
    Unknown,
}

/// Which registered webhooks a transaction's events go to (`X-Webhook-Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum WebhookMode {
    /// Webhooks registered for development.
    Development,
    /// Webhooks registered for production.
    Production,
}

impl From<WebhookMode> for core::WebhookMode {
    fn from(m: WebhookMode) -> Self {
        match m {
            WebhookMode::Development => core::WebhookMode::Development,
            WebhookMode::Production => core::WebhookMode::Production,
        }
    }
}

fn status_of(s: &core::TransactionStatus) -> TransactionStatus {
    match s {
        core::TransactionStatus::Pending => TransactionStatus::Pending,
        core::TransactionStatus::Successful => TransactionStatus::Successful,
        core::TransactionStatus::Failed => TransactionStatus::Failed,
        _ => TransactionStatus::Unknown,
    }
}

fn kind_of(k: &core::TransactionKind) -> TransactionKind {
    match k {
        core::TransactionKind::CashIn => TransactionKind::CashIn,
        core::TransactionKind::CashOut => TransactionKind::CashOut,
        _ => TransactionKind::Unknown,
    }
}

fn core_kind(k: TransactionKind) -> Result<core::TransactionKind, PesakitError> {
    match k {
        TransactionKind::CashIn => Ok(core::TransactionKind::CashIn),
        TransactionKind::CashOut => Ok(core::TransactionKind::CashOut),
        TransactionKind::Unknown => Err(PesakitError::validation(
            "an Unknown transaction kind cannot be used as a filter".to_owned(),
        )),
    }
}

fn core_status(s: TransactionStatus) -> Result<core::TransactionStatus, PesakitError> {
    match s {
        TransactionStatus::Pending => Ok(core::TransactionStatus::Pending),
        TransactionStatus::Successful => Ok(core::TransactionStatus::Successful),
        TransactionStatus::Failed => Ok(core::TransactionStatus::Failed),
        TransactionStatus::Unknown => Err(PesakitError::validation(
            "an Unknown status cannot be used as a filter".to_owned(),
        )),
    }
}

/// A Paypack transaction.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Transaction {
    /// The gateway's reference (`ref`).
    pub reference: String,
    /// Where the transaction stands.
    pub status: TransactionStatus,
    /// The status as text: the documented spelling (`pending`, `successful`, `failed`),
    /// or the gateway's own text when `status` is `Unknown`.
    pub status_raw: String,
    /// The amount asked for.
    pub amount: Amount,
    /// The gateway's fee, once known.
    pub fee: Option<Amount>,
    /// Cash-in or cash-out.
    pub kind: TransactionKind,
    /// The kind as text: `CASHIN`, `CASHOUT`, or the gateway's own text when `kind` is
    /// `Unknown`.
    pub kind_raw: String,
    /// The mobile-money provider (`mtn`, `airtel`).
    pub provider: Option<String>,
    /// The customer's phone number.
    pub client: Option<String>,
    /// The merchant code.
    pub merchant: Option<String>,
    /// When the transaction was created.
    pub created_at: Option<SystemTime>,
    /// When it was processed.
    pub processed_at: Option<SystemTime>,
    /// The merchant's own reference.
    pub user_ref: Option<String>,
    /// Free-form metadata, as JSON text.
    pub metadata_json: Option<String>,
}

impl From<core::Transaction> for Transaction {
    fn from(t: core::Transaction) -> Self {
        Transaction {
            status: status_of(&t.status),
            status_raw: t.status.as_str().to_owned(),
            kind: kind_of(&t.kind),
            kind_raw: t.kind.as_str().to_owned(),
            reference: t.reference,
            amount: t.amount,
            fee: t.fee,
            provider: t.provider,
            client: t.client,
            merchant: t.merchant,
            created_at: t.created_at.map(to_system_time),
            processed_at: t.processed_at.map(to_system_time),
            user_ref: t.user_ref,
            metadata_json: t.metadata.map(|m| m.to_string()),
        }
    }
}

/// Something that happened to a transaction, from the events API or a webhook.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Event {
    /// The event's unique id; deduplicate webhooks on it.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// The kind as text: `transaction:created`, `transaction:processed`, or the
    /// gateway's own text when `kind` is `Unknown`.
    pub kind_raw: String,
    /// When it happened.
    pub created_at: Option<SystemTime>,
    /// The transaction as it was then.
    pub transaction: Transaction,
}

impl From<core::Event> for Event {
    fn from(e: core::Event) -> Self {
        Event {
            kind: match &e.kind {
                core::EventKind::TransactionCreated => EventKind::TransactionCreated,
                core::EventKind::TransactionProcessed => EventKind::TransactionProcessed,
                _ => EventKind::Unknown,
            },
            kind_raw: e.kind.as_str().to_owned(),
            id: e.id,
            created_at: e.created_at.map(to_system_time),
            transaction: e.transaction.into(),
        }
    }
}

/// One page of transactions with the gateway's totals over the filter.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TransactionPage {
    /// The transactions on this page.
    pub transactions: Vec<Transaction>,
    /// Where the page starts.
    pub offset: u64,
    /// The page size asked for.
    pub limit: u64,
    /// How many match the filter in all.
    pub total: u64,
    /// Sum of cash-in amounts.
    pub cashin_total: Option<Amount>,
    /// Sum of cash-out amounts.
    pub cashout_total: Option<Amount>,
    /// Sum of fees.
    pub fee_total: Option<Amount>,
}

impl From<core::TransactionPage> for TransactionPage {
    fn from(p: core::TransactionPage) -> Self {
        TransactionPage {
            transactions: p.transactions.into_iter().map(Into::into).collect(),
            offset: p.offset,
            limit: p.limit,
            total: p.total,
            cashin_total: p.cashin_total,
            cashout_total: p.cashout_total,
            fee_total: p.fee_total,
        }
    }
}

/// One page of events.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EventPage {
    /// The events on this page.
    pub events: Vec<Event>,
    /// Where the page starts.
    pub offset: u64,
    /// The page size asked for.
    pub limit: u64,
    /// How many match the filter in all.
    pub total: u64,
}

impl From<core::EventPage> for EventPage {
    fn from(p: core::EventPage) -> Self {
        EventPage {
            events: p.events.into_iter().map(Into::into).collect(),
            offset: p.offset,
            limit: p.limit,
            total: p.total,
        }
    }
}

/// The merchant account behind the credentials.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Profile {
    /// The merchant id.
    pub id: String,
    /// The merchant name.
    pub name: String,
    /// MTN cash-in fee rate, as a fraction (0.023 = 2.3 %).
    pub in_rate: Option<Amount>,
    /// MTN cash-out fee rate.
    pub out_rate: Option<Amount>,
    /// Airtel cash-in fee rate.
    pub airtel_in_rate: Option<Amount>,
    /// Airtel cash-out fee rate.
    pub airtel_out_rate: Option<Amount>,
    /// Total balance.
    pub balance: Amount,
    /// Balance held with MTN.
    pub mtn_balance: Option<Amount>,
    /// Balance held with Airtel.
    pub airtel_balance: Option<Amount>,
}

impl From<core::Profile> for Profile {
    fn from(p: core::Profile) -> Self {
        let rate = |r: Option<pesakit::Decimal>| r.map(Amount::new);
        Profile {
            id: p.id,
            name: p.name,
            in_rate: rate(p.in_rate),
            out_rate: rate(p.out_rate),
            airtel_in_rate: rate(p.airtel_in_rate),
            airtel_out_rate: rate(p.airtel_out_rate),
            balance: p.balance,
            mtn_balance: p.mtn_balance,
            airtel_balance: p.airtel_balance,
        }
    }
}

/// An amount given by the caller, carried as its decimal text and read only inside the
/// call, so that text no decimal can hold (too many digits, out of range) is a
/// `Validation` error rather than a failure at the language boundary. It surfaces as
/// the same decimal type as `Amount` in every language.
#[derive(Debug, Clone, PartialEq)]
pub struct AmountText(pub String);

uniffi::custom_type!(AmountText, String, {
    lower: |amount| amount.0,
    try_lift: |text| Ok(AmountText(text)),
});

/// A money call: cash-in or cash-out.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CashRequest {
    /// The amount, in RWF.
    pub amount: AmountText,
    /// The customer's phone number (`07…`, `2507…` or `+2507…`).
    pub number: String,
    /// The idempotency key (at most 32 characters); generated when absent. Reuse it to
    /// retry a call whose outcome is unknown.
    #[uniffi(default = None)]
    pub idempotency_key: Option<String>,
    /// The webhook mode for this call; the client's default when absent.
    #[uniffi(default = None)]
    pub webhook_mode: Option<WebhookMode>,
    /// Check the number and the minimum amount before sending.
    #[uniffi(default = true)]
    pub validate: bool,
}

impl TryFrom<CashRequest> for core::CashRequest {
    type Error = PesakitError;

    fn try_from(r: CashRequest) -> Result<Self, PesakitError> {
        Ok(core::CashRequest {
            amount: r.amount.0.parse::<Amount>()?,
            number: r.number,
            idempotency_key: r.idempotency_key,
            webhook_mode: r.webhook_mode.map(Into::into),
            validate: r.validate,
        })
    }
}

/// Filters for listing transactions.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct TransactionFilter {
    /// Where the page starts.
    #[uniffi(default = None)]
    pub offset: Option<u64>,
    /// The page size.
    #[uniffi(default = None)]
    pub limit: Option<u64>,
    /// Only transactions created at or after this instant.
    #[uniffi(default = None)]
    pub from: Option<SystemTime>,
    /// Only transactions created at or before this instant.
    #[uniffi(default = None)]
    pub to: Option<SystemTime>,
    /// Only this kind.
    #[uniffi(default = None)]
    pub kind: Option<TransactionKind>,
    /// Only this customer's phone number.
    #[uniffi(default = None)]
    pub client: Option<String>,
}

impl TryFrom<TransactionFilter> for core::TransactionFilter {
    type Error = PesakitError;

    fn try_from(f: TransactionFilter) -> Result<Self, PesakitError> {
        Ok(core::TransactionFilter {
            offset: f.offset,
            limit: f.limit,
            from: f.from.map(from_system_time).transpose()?,
            to: f.to.map(from_system_time).transpose()?,
            kind: f.kind.map(core_kind).transpose()?,
            client: f.client,
        })
    }
}

/// Filters for listing events.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct EventFilter {
    /// Only events of this transaction reference.
    #[uniffi(default = None)]
    pub reference: Option<String>,
    /// Only events of transactions of this kind.
    #[uniffi(default = None)]
    pub kind: Option<TransactionKind>,
    /// Only this customer's phone number.
    #[uniffi(default = None)]
    pub client: Option<String>,
    /// Only events whose transaction has this status.
    #[uniffi(default = None)]
    pub status: Option<TransactionStatus>,
    /// Where the page starts.
    #[uniffi(default = None)]
    pub offset: Option<u64>,
    /// The page size.
    #[uniffi(default = None)]
    pub limit: Option<u64>,
    /// Only events at or after this instant.
    #[uniffi(default = None)]
    pub from: Option<SystemTime>,
    /// Only events at or before this instant.
    #[uniffi(default = None)]
    pub to: Option<SystemTime>,
}

impl TryFrom<EventFilter> for core::EventFilter {
    type Error = PesakitError;

    fn try_from(f: EventFilter) -> Result<Self, PesakitError> {
        Ok(core::EventFilter {
            reference: f.reference,
            kind: f.kind.map(core_kind).transpose()?,
            client: f.client,
            status: f.status.map(core_status).transpose()?,
            offset: f.offset,
            limit: f.limit,
            from: f.from.map(from_system_time).transpose()?,
            to: f.to.map(from_system_time).transpose()?,
        })
    }
}
