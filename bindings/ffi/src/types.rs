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

/// Raw bytes (a webhook body) as they cross the FFI: the same wire form and the same
/// foreign type as `Vec<u8>` (Python `bytes`, Kotlin `ByteArray`, Swift `Data`), read
/// with one copy. UniFFI's own `Vec<u8>` reads element by element, which in the
/// size-optimised library cost about 15 ns per byte: about 1 ms for a 64 KiB body,
/// more than verifying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

// SAFETY: the wire form is exactly `Vec<u8>`'s (a big-endian `i32` count, then the
// bytes), and the metadata is `Vec<u8>`'s, so the generated foreign code is the same.
unsafe impl uniffi::FfiConverter<crate::UniFfiTag> for Bytes {
    type FfiType = uniffi::RustBuffer;

    fn lower(obj: Bytes) -> uniffi::RustBuffer {
        let mut buf = Vec::with_capacity(4 + obj.0.len());
        <Self as uniffi::FfiConverter<crate::UniFfiTag>>::write(obj, &mut buf);
        uniffi::RustBuffer::from_vec(buf)
    }

    fn try_lift(v: uniffi::RustBuffer) -> uniffi::Result<Bytes> {
        let vec = v.destroy_into_vec();
        let mut rest = vec.as_slice();
        let bytes = <Self as uniffi::FfiConverter<crate::UniFfiTag>>::try_read(&mut rest)?;
        if !rest.is_empty() {
            return Err(uniffi::deps::anyhow::anyhow!(
                "{} bytes left in the buffer after a byte string",
                rest.len()
            ));
        }
        Ok(bytes)
    }

    fn write(obj: Bytes, buf: &mut Vec<u8>) {
        // Like `Vec<u8>`: UniFFI limits sequences to `i32::MAX` items.
        let len = i32::try_from(obj.0.len()).expect("a byte string under 2 GiB");
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&obj.0);
    }

    fn try_read(buf: &mut &[u8]) -> uniffi::Result<Bytes> {
        let Some((count, rest)) = buf.split_first_chunk::<4>() else {
            return Err(uniffi::deps::anyhow::anyhow!(
                "a byte string without its length"
            ));
        };
        let len = usize::try_from(i32::from_be_bytes(*count))
            .map_err(|_| uniffi::deps::anyhow::anyhow!("a negative byte string length"))?;
        if rest.len() < len {
            return Err(uniffi::deps::anyhow::anyhow!(
                "a byte string of {len} bytes with {} in the buffer",
                rest.len()
            ));
        }
        let (bytes, rest) = rest.split_at(len);
        *buf = rest;
        Ok(Bytes(bytes.to_vec()))
    }

    const TYPE_ID_META: uniffi::MetadataBuffer =
        <Vec<u8> as uniffi::TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local Bytes);

#[cfg(test)]
mod bytes_tests {
    use super::Bytes;
    use uniffi::{FfiConverter, Lift, Lower};

    type Tag = crate::UniFfiTag;

    #[test]
    fn same_wire_form_as_vec_u8_both_ways() {
        for body in [
            vec![],
            vec![0u8, 255, 7],
            (0..=255u8).cycle().take(70_000).collect(),
        ] {
            let ours = <Bytes as FfiConverter<Tag>>::lower(Bytes(body.clone())).destroy_into_vec();
            let theirs = <Vec<u8> as Lower<Tag>>::lower(body.clone()).destroy_into_vec();
            assert_eq!(ours, theirs);
            let back = <Bytes as FfiConverter<Tag>>::try_lift(uniffi::RustBuffer::from_vec(ours));
            assert_eq!(back.unwrap().0, body);
            let generic = <Vec<u8> as Lower<Tag>>::lower(body.clone());
            assert_eq!(<Bytes as Lift<Tag>>::try_lift(generic).unwrap().0, body);
        }
    }

    #[test]
    fn short_negative_and_overlong_buffers_are_refused() {
        let read = |bytes: &[u8]| {
            let mut slice = bytes;
            <Bytes as FfiConverter<Tag>>::try_read(&mut slice).map(|b| (b.0, slice.len()))
        };
        assert!(read(&[0, 0, 0]).is_err());
        assert!(read(&[0xFF, 0xFF, 0xFF, 0xFF, 1]).is_err());
        assert!(read(&[0, 0, 0, 3, 1, 2]).is_err());
        assert_eq!(read(&[0, 0, 0, 2, 1, 2, 9]).unwrap(), (vec![1, 2], 1));
        let junk = uniffi::RustBuffer::from_vec(vec![0, 0, 0, 1, 5, 6]);
        assert!(<Bytes as FfiConverter<Tag>>::try_lift(junk).is_err());
    }

    #[test]
    fn metadata_is_that_of_vec_u8() {
        use uniffi::TypeId;
        let ours = <Bytes as TypeId<Tag>>::TYPE_ID_META;
        let theirs = <Vec<u8> as TypeId<Tag>>::TYPE_ID_META;
        assert_eq!(ours.as_ref(), theirs.as_ref());
    }
}
