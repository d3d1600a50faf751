//! Paypack's models, read tolerantly: every spelling the gateway and its SDKs have been
//! seen to use is accepted, unknown values are kept, unknown fields are ignored.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use crate::lenient::{lenient_visitor, Scalar};
use crate::money::Amount;
use crate::time::{lenient, Timestamp};

/// The state of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// Waiting for the customer to confirm on their phone.
    Pending,
    /// Money moved. Read from `successful`, `success` and `successfull`.
    Successful,
    /// The customer declined, timed out or lacked funds.
    Failed,
    /// A status this version of pesakit does not know, kept as sent.
    Unknown(String),
}

impl TransactionStatus {
    /// Reads a status as the gateway spells it (case-insensitive).
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pending" => TransactionStatus::Pending,
            "successful" | "success" | "successfull" => TransactionStatus::Successful,
            "failed" => TransactionStatus::Failed,
            _ => TransactionStatus::Unknown(raw.to_owned()),
        }
    }

    /// The documented spelling (`pending`, `successful`, `failed`), or the raw value.
    pub fn as_str(&self) -> &str {
        match self {
            TransactionStatus::Pending => "pending",
            TransactionStatus::Successful => "successful",
            TransactionStatus::Failed => "failed",
            TransactionStatus::Unknown(raw) => raw,
        }
    }

    /// Whether the transaction is processed (successful or failed) and will not change.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TransactionStatus::Successful | TransactionStatus::Failed
        )
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way the money moves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    /// From the customer to the merchant (`CASHIN`).
    CashIn,
    /// From the merchant to the customer (`CASHOUT`).
    CashOut,
    /// A kind this version of pesakit does not know, kept as sent.
    Unknown(String),
}

impl TransactionKind {
    /// Reads a kind as the gateway spells it (case-insensitive).
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_uppercase().as_str() {
            "CASHIN" | "CASH_IN" => TransactionKind::CashIn,
            "CASHOUT" | "CASH_OUT" => TransactionKind::CashOut,
            _ => TransactionKind::Unknown(raw.to_owned()),
        }
    }

    /// The wire spelling (`CASHIN`, `CASHOUT`), or the raw value.
    pub fn as_str(&self) -> &str {
        match self {
            TransactionKind::CashIn => "CASHIN",
            TransactionKind::CashOut => "CASHOUT",
            TransactionKind::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for TransactionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `transaction:created`: the transaction exists and is pending.
    TransactionCreated,
    /// `transaction:processed`: the transaction succeeded or failed.
    TransactionProcessed,
    /// A kind this version of pesakit does not know, kept as sent.
    Unknown(String),
}

impl EventKind {
    /// Reads an event kind as the gateway spells it.
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "transaction:created" => EventKind::TransactionCreated,
            "transaction:processed" => EventKind::TransactionProcessed,
            _ => EventKind::Unknown(raw.to_owned()),
        }
    }

    /// The wire spelling, or the raw value.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::TransactionCreated => "transaction:created",
            EventKind::TransactionProcessed => "transaction:processed",
            EventKind::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which registered webhooks a transaction's events go to (`X-Webhook-Mode`). It does
/// not make a transaction a test: real money moves in both modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookMode {
    /// Webhooks registered for development.
    Development,
    /// Webhooks registered for production.
    Production,
}

impl WebhookMode {
    /// The header value (`development`, `production`).
    pub fn as_str(&self) -> &'static str {
        match self {
            WebhookMode::Development => "development",
            WebhookMode::Production => "production",
        }
    }
}

/// A Paypack transaction, as returned by cash-in, cash-out, find, list and events.
///
/// Fields a given answer does not carry are `None` (cash-in answers have no fee;
/// `processed_at` is absent until the transaction is processed).
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    /// The gateway's reference (`ref`), used to find the transaction.
    pub reference: String,
    /// Where the transaction stands.
    pub status: TransactionStatus,
    /// The amount asked for.
    pub amount: Amount,
    /// The gateway's fee, once known.
    pub fee: Option<Amount>,
    /// Cash-in or cash-out.
    pub kind: TransactionKind,
    /// The mobile-money provider (`mtn`, `airtel`), when given.
    pub provider: Option<String>,
    /// The customer's phone number, when given.
    pub client: Option<String>,
    /// The merchant code, when given.
    pub merchant: Option<String>,
    /// When the transaction was created (`created_at`, or `timestamp` in find/list).
    pub created_at: Option<Timestamp>,
    /// When the transaction was processed.
    pub processed_at: Option<Timestamp>,
    /// The merchant's own reference, when given.
    pub user_ref: Option<String>,
    /// Free-form metadata, as raw JSON.
    pub metadata: Option<serde_json::Value>,
}

/// Something that happened to a transaction, from the events API or a webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event's unique id; deduplicate webhooks on it (they carry no timestamp).
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub created_at: Option<Timestamp>,
    /// The transaction as it was at that moment.
    pub transaction: Transaction,
}

/// One page of transactions, with the totals the gateway computes over the filter.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionPage {
    /// The transactions on this page.
    pub transactions: Vec<Transaction>,
    /// The offset this page starts at.
    pub offset: u64,
    /// The page size asked for.
    pub limit: u64,
    /// How many transactions match the filter in all.
    pub total: u64,
    /// Sum of cash-in amounts over the filter.
    pub cashin_total: Option<Amount>,
    /// Sum of cash-out amounts over the filter.
    pub cashout_total: Option<Amount>,
    /// Sum of fees over the filter.
    pub fee_total: Option<Amount>,
}

/// One page of events.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    /// The events on this page.
    pub events: Vec<Event>,
    /// The offset this page starts at.
    pub offset: u64,
    /// The page size asked for.
    pub limit: u64,
    /// How many events match the filter in all.
    pub total: u64,
}

impl EventPage {
    /// Parses an events page (`GET /events/transactions`) from the raw answer body,
    /// exactly as [`Client::list_events`](super::Client::list_events) does: for pages
    /// fetched or stored by other means, and for measuring decoding on its own.
    /// `offset` and `limit` default to 0 and the number of events when the body does
    /// not echo them.
    pub fn from_json(body: &[u8]) -> crate::Result<EventPage> {
        let wire: WireEventPage = crate::http::decode("Paypack events page", body, false)?;
        wire.into_model(0, u64::MAX)
            .map(|mut page| {
                if page.limit == u64::MAX {
                    page.limit = page.events.len() as u64;
                }
                page
            })
            .map_err(|p| crate::Error::decode(format!("Paypack events page: {p}")))
    }
}

/// The merchant account behind the credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The merchant id.
    pub id: String,
    /// The merchant name.
    pub name: String,
    /// MTN cash-in fee rate, as a fraction (0.023 = 2.3 %).
    pub in_rate: Option<Decimal>,
    /// MTN cash-out fee rate, as a fraction.
    pub out_rate: Option<Decimal>,
    /// Airtel cash-in fee rate, as a fraction.
    pub airtel_in_rate: Option<Decimal>,
    /// Airtel cash-out fee rate, as a fraction.
    pub airtel_out_rate: Option<Decimal>,
    /// Total balance.
    pub balance: Amount,
    /// Balance held with MTN.
    pub mtn_balance: Option<Amount>,
    /// Balance held with Airtel.
    pub airtel_balance: Option<Amount>,
}

// ---- wire shapes -------------------------------------------------------------------

/// A string that may arrive as a JSON number.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient_visitor!(
        LenientString,
        String,
        "a string or a number",
        |scalar| match scalar {
            Scalar::Text(s) => Some(s.to_owned()),
            Scalar::Owned(s) => Some(s),
            Scalar::Int(n) => Some(n.to_string()),
            Scalar::UInt(n) => Some(n.to_string()),
            Scalar::Float(n) => serde_json::Number::from_f64(n).map(|n| n.to_string()),
        }
    );
    d.deserialize_option(LenientString)
}

/// An amount as a JSON number or a decimal string; anything else reads as `None`.
fn lenient_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Amount>, D::Error> {
    lenient_visitor!(LenientAmount, Amount, "an amount", |scalar| match scalar {
        Scalar::Text(s) => s.parse().ok(),
        Scalar::Owned(s) => s.parse().ok(),
        Scalar::Int(n) => Some(Amount::new(Decimal::from(n))),
        Scalar::UInt(n) => Some(Amount::new(Decimal::from(n))),
        // f64's Display is the shortest text that reads back as the same float,
        // which is the decimal the gateway wrote.
        Scalar::Float(n) => n.to_string().parse().ok(),
    });
    d.deserialize_option(LenientAmount)
}

fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }))
}

#[derive(Deserialize)]
pub(crate) struct WireTransaction {
    #[serde(rename = "ref", default, deserialize_with = "lenient_string")]
    reference: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_amount")]
    amount: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    fee: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    provider: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    client: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    merchant: Option<String>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    processed_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient_string")]
    user_ref: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

impl WireTransaction {
    pub(crate) fn into_model(self) -> Result<Transaction, String> {
        let reference = self
            .reference
            .filter(|r| !r.is_empty())
            .ok_or_else(|| "a transaction has no `ref`".to_owned())?;
        Ok(Transaction {
            reference,
            status: TransactionStatus::parse(self.status.as_deref().unwrap_or("")),
            amount: self.amount.unwrap_or_default(),
            fee: self.fee,
            kind: TransactionKind::parse(self.kind.as_deref().unwrap_or("")),
            provider: self.provider,
            client: self.client,
            merchant: self.merchant,
            created_at: self.created_at.or(self.timestamp),
            processed_at: self.processed_at,
            user_ref: self.user_ref,
            metadata: self.metadata.filter(|m| !m.is_null()),
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct WireEvent {
    #[serde(default, deserialize_with = "lenient_string")]
    event_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    event_kind: Option<String>,
    #[serde(rename = "event-kind", default, deserialize_with = "lenient_string")]
    event_kind_hyphen: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    timestamp: Option<Timestamp>,
    data: Option<WireTransaction>,
}

impl WireEvent {
    pub(crate) fn into_model(self) -> Result<Event, String> {
        let id = self
            .event_id
            .filter(|r| !r.is_empty())
            .ok_or_else(|| "an event has no `event_id`".to_owned())?;
        let kind = self
            .event_kind
            .or(self.event_kind_hyphen)
            .or(self.kind)
            .ok_or_else(|| {
                format!("event {id} has no kind (`event_kind`, `event-kind` or `kind`)")
            })?;
        let data = self
            .data
            .ok_or_else(|| format!("event {id} has no `data`"))?;
        Ok(Event {
            id,
            kind: EventKind::parse(&kind),
            created_at: self.created_at.or(self.timestamp),
            transaction: data.into_model()?,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct WireTransactionPage {
    #[serde(default, deserialize_with = "lenient_count")]
    offset: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "lenient_amount")]
    cashin: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    cashout: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    fee: Option<Amount>,
    #[serde(default)]
    transactions: Option<Vec<WireTransaction>>,
}

impl WireTransactionPage {
    pub(crate) fn into_model(self, offset: u64, limit: u64) -> Result<TransactionPage, String> {
        let transactions = self
            .transactions
            .unwrap_or_default()
            .into_iter()
            .map(WireTransaction::into_model)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TransactionPage {
            offset: self.offset.unwrap_or(offset),
            limit: self.limit.unwrap_or(limit),
            total: self.total.unwrap_or(transactions.len() as u64),
            cashin_total: self.cashin,
            cashout_total: self.cashout,
            fee_total: self.fee,
            transactions,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct WireEventPage {
    #[serde(default, deserialize_with = "lenient_count")]
    offset: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient_count")]
    total: Option<u64>,
    #[serde(default)]
    transactions: Option<Vec<WireEvent>>,
}

impl WireEventPage {
    pub(crate) fn into_model(self, offset: u64, limit: u64) -> Result<EventPage, String> {
        let events = self
            .transactions
            .unwrap_or_default()
            .into_iter()
            .map(WireEvent::into_model)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EventPage {
            offset: self.offset.unwrap_or(offset),
            limit: self.limit.unwrap_or(limit),
            total: self.total.unwrap_or(events.len() as u64),
            events,
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct WireProfile {
    #[serde(default, deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_amount")]
    in_rate: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    out_rate: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    airtel_in_rate: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    airtel_out_rate: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    balance: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    mtn_balance: Option<Amount>,
    #[serde(default, deserialize_with = "lenient_amount")]
    airtel_balance: Option<Amount>,
}

impl WireProfile {
    pub(crate) fn into_model(self) -> Profile {
        let rate = |a: Option<Amount>| a.map(|a| a.as_decimal());
        Profile {
            id: self.id.unwrap_or_default(),
            name: self.name.unwrap_or_default(),
            in_rate: rate(self.in_rate),
            out_rate: rate(self.out_rate),
            airtel_in_rate: rate(self.airtel_in_rate),
            airtel_out_rate: rate(self.airtel_out_rate),
            balance: self.balance.unwrap_or_default(),
            mtn_balance: self.mtn_balance,
            airtel_balance: self.airtel_balance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_fields_read_any_json_shape_without_failing() {
        let tx: WireTransaction = serde_json::from_str(
            r#"{"ref": 12345, "status": "successful", "amount": "100.50", "fee": {"x": [1]},
                "kind": "CASHIN", "provider": ["mtn"], "client": null, "merchant": true,
                "created_at": 1700000000, "processed_at": 1.5, "user_ref": 7.25}"#,
        )
        .unwrap();
        let tx = tx.into_model().unwrap();
        assert_eq!(tx.reference, "12345");
        assert_eq!(tx.amount.to_string(), "100.5");
        assert_eq!(tx.fee, None);
        assert_eq!(tx.provider, None);
        assert_eq!(tx.client, None);
        assert_eq!(tx.merchant, None);
        assert_eq!(tx.created_at.map(|t| t.as_second()), Some(1_700_000_000));
        assert_eq!(tx.processed_at, None);
        assert_eq!(tx.user_ref.as_deref(), Some("7.25"));
        let fee: WireTransaction =
            serde_json::from_str(r#"{"ref": "r", "amount": 18.4, "fee": -3}"#).unwrap();
        let fee = fee.into_model().unwrap();
        assert_eq!(fee.amount.to_string(), "18.4");
        assert_eq!(fee.fee.map(|f| f.to_string()).as_deref(), Some("-3"));
    }

    #[test]
    fn event_pages_parse_from_raw_bodies() {
        let body = br#"{"offset":4,"limit":2,"total":9,"transactions":[
            {"event_id":"e2","event_kind":"transaction:processed","created_at":"2026-01-02T08:00:01.000001Z",
             "data":{"ref":"r1","status":"successful","amount":100,"kind":"CASHIN","processed_at":"2026-01-02T10:00:01.12345678+02:00"}},
            {"event_id":"e1","event_kind":"transaction:created","created_at":"2026-01-02T08:00:00.000001Z",
             "data":{"ref":"r1","status":"pending","amount":100.5,"kind":"CASHIN"}}]}"#;
        let page = EventPage::from_json(body).unwrap();
        assert_eq!((page.offset, page.limit, page.total), (4, 2, 9));
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.events[0].id, "e2");
        assert_eq!(
            page.events[0].transaction.status,
            TransactionStatus::Successful
        );
        assert_eq!(page.events[1].transaction.amount.to_string(), "100.5");
        let bare = EventPage::from_json(br#"{"transactions":[]}"#).unwrap();
        assert_eq!((bare.offset, bare.limit, bare.total), (0, 0, 0));
        let cut = EventPage::from_json(br#"{"transactions":[{"event_id""#).unwrap_err();
        assert_eq!(cut.kind(), crate::ErrorKind::Decode);
    }

    fn event(json: &str) -> Event {
        serde_json::from_str::<WireEvent>(json)
            .unwrap()
            .into_model()
            .unwrap()
    }

    #[test]
    fn statuses_in_every_spelling() {
        for s in ["successful", "success", "successfull", "SUCCESSFUL"] {
            assert_eq!(
                TransactionStatus::parse(s),
                TransactionStatus::Successful,
                "{s}"
            );
        }
        assert_eq!(
            TransactionStatus::parse("pending"),
            TransactionStatus::Pending
        );
        assert_eq!(
            TransactionStatus::parse("reversed"),
            TransactionStatus::Unknown("reversed".into())
        );
        assert_eq!(TransactionKind::parse("cashin"), TransactionKind::CashIn);
        assert_eq!(
            TransactionKind::parse("REFUND"),
            TransactionKind::Unknown("REFUND".into())
        );
    }

    #[test]
    fn event_kind_from_any_of_three_keys() {
        let data = r#""data":{"ref":"r1","kind":"CASHIN","amount":800,"status":"successful"}"#;
        for key in ["event_kind", "event-kind", "kind"] {
            let e = event(&format!(
                r#"{{"event_id":"e1","{key}":"transaction:processed",{data}}}"#
            ));
            assert_eq!(e.kind, EventKind::TransactionProcessed, "{key}");
            assert_eq!(e.transaction.kind, TransactionKind::CashIn);
        }
    }

    #[test]
    fn reference_event_reads_exactly() {
        let e = event(
            r#"{"event_id":"f6e775c6","event_kind":"transaction:processed",
               "created_at":"2022-01-03T15:22:29.430397Z",
               "data":{"ref":"abc","kind":"CASHIN","fee":18.4,"merchant":"4Q6UHJ","client":"0780633340",
               "amount":800,"status":"successful","created_at":"2022-01-03T17:22:02.7422568+02:00",
               "processed_at":"2022-01-03T17:22:29.43022813+02:00","extra":{"x":1},"metadata":{"order":7}}}"#,
        );
        let t = &e.transaction;
        assert_eq!(t.fee.unwrap().to_string(), "18.4");
        assert_eq!(t.amount, Amount::from(800));
        assert_eq!(
            t.created_at.unwrap().to_string(),
            "2022-01-03T15:22:02.7422568Z"
        );
        assert_eq!(
            t.processed_at.unwrap().to_string(),
            "2022-01-03T15:22:29.43022813Z"
        );
        assert_eq!(t.metadata.as_ref().unwrap()["order"], 7);
        assert_eq!(
            e.created_at.unwrap().to_string(),
            "2022-01-03T15:22:29.430397Z"
        );
    }

    #[test]
    fn find_shape_uses_timestamp() {
        let t: WireTransaction = serde_json::from_str(
            r#"{"ref":"r","status":"failed","amount":"100.5","fee":0,"kind":"CASHOUT",
                "client":250780000000,"timestamp":"2022-01-03T17:22:29.1234567+02:00"}"#,
        )
        .unwrap();
        let t = t.into_model().unwrap();
        assert_eq!(t.status, TransactionStatus::Failed);
        assert_eq!(t.client.as_deref(), Some("250780000000"));
        assert_eq!(
            t.created_at.unwrap().to_string(),
            "2022-01-03T15:22:29.1234567Z"
        );
    }

    #[test]
    fn missing_identity_is_an_error() {
        let t: WireTransaction = serde_json::from_str(r#"{"status":"pending"}"#).unwrap();
        assert!(t.into_model().is_err());
        let e: WireEvent =
            serde_json::from_str(r#"{"event_kind":"x","data":{"ref":"r"}}"#).unwrap();
        assert!(e.into_model().is_err());
    }
}
