//! The hosted-checkout gateway's models, read tolerantly.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::money::Amount;
use crate::time::{lenient, Timestamp};

/// Where a payment stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Created; the payer has not paid yet.
    Open,
    /// A payment was seen but not yet received.
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
    /// A status pesakit does not know yet, kept as sent.
    Unknown(String),
}

impl PaymentStatus {
    /// Reads a status as the gateway writes it (case-insensitive).
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_uppercase().as_str() {
            "OPEN" => PaymentStatus::Open,
            "FOUND" => PaymentStatus::Found,
            "RECEIVED" => PaymentStatus::Received,
            "CONFIRMED" => PaymentStatus::Confirmed,
            "UNDERPAID" => PaymentStatus::Underpaid,
            "CANCELLED" | "CANCELED" => PaymentStatus::Cancelled,
            "ERROR" => PaymentStatus::Error,
            "REFUND" | "REFUNDED" => PaymentStatus::Refund,
            _ => PaymentStatus::Unknown(raw.to_owned()),
        }
    }

    /// The wire spelling (`OPEN`, …), or the raw value.
    pub fn as_str(&self) -> &str {
        match self {
            PaymentStatus::Open => "OPEN",
            PaymentStatus::Found => "FOUND",
            PaymentStatus::Received => "RECEIVED",
            PaymentStatus::Confirmed => "CONFIRMED",
            PaymentStatus::Underpaid => "UNDERPAID",
            PaymentStatus::Cancelled => "CANCELLED",
            PaymentStatus::Error => "ERROR",
            PaymentStatus::Refund => "REFUND",
            PaymentStatus::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a webhook reports (`X-PaymentService-Event`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WebhookEventKind {
    /// `payment.completed`.
    PaymentCompleted,
    /// `payment.received`.
    PaymentReceived,
    /// `payment.underpaid`.
    PaymentUnderpaid,
    /// Another event, kept as sent.
    Unknown(String),
}

impl WebhookEventKind {
    /// Reads an event name.
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "payment.completed" => WebhookEventKind::PaymentCompleted,
            "payment.received" => WebhookEventKind::PaymentReceived,
            "payment.underpaid" => WebhookEventKind::PaymentUnderpaid,
            _ => WebhookEventKind::Unknown(raw.to_owned()),
        }
    }

    /// The wire spelling, or the raw value.
    pub fn as_str(&self) -> &str {
        match self {
            WebhookEventKind::PaymentCompleted => "payment.completed",
            WebhookEventKind::PaymentReceived => "payment.received",
            WebhookEventKind::PaymentUnderpaid => "payment.underpaid",
            WebhookEventKind::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for WebhookEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A money field as the gateway sends it: `{"value": 100.00, "amount": 10000,
/// "formatted": "$100.00"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// The decimal value in major units.
    pub value: Option<Amount>,
    /// The value in minor units.
    pub minor_units: Option<i64>,
    /// The gateway's display text.
    pub formatted: Option<String>,
}

/// A payment.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    /// The payment id (a UUID).
    pub id: String,
    /// The merchant user id.
    pub user_id: Option<String>,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// The reference's label.
    pub reference_label: Option<String>,
    /// The currency asked for.
    pub currency_code: Option<String>,
    /// The settlement currency, when different.
    pub settlement_currency_code: Option<String>,
    /// The amount asked for.
    pub amount: Option<Money>,
    /// What was received.
    pub received_amount: Option<Money>,
    /// What was settled.
    pub settled_amount: Option<Money>,
    /// When a payment was first seen.
    pub found_at: Option<Timestamp>,
    /// When it was confirmed.
    pub confirmed_at: Option<Timestamp>,
    /// When the payment was created.
    pub date: Option<Timestamp>,
}

/// A payment application (a shop, site or app taking payments).
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentApplication {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its public 32-character client id.
    pub client_id: Option<String>,
    /// The owning user.
    pub user_id: Option<String>,
    /// The accepted currencies (empty: all).
    pub currency_whitelist: Vec<String>,
    /// Whether underpayments are accepted.
    pub allow_underpay: Option<bool>,
    /// Whether overpayments are accepted.
    pub allow_overpay: Option<bool>,
    /// Where webhooks go.
    pub callback_url: Option<String>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// Everything the gateway sent, as raw JSON (`site` and fields pesakit does not
    /// model).
    pub raw: serde_json::Value,
}

// ---- wire shapes -------------------------------------------------------------------

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Deserialize)]
struct WireMoney {
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    amount: Option<serde_json::Value>,
    #[serde(default)]
    formatted: Option<String>,
}

fn lenient_money<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value::<WireMoney>(v).ok())
        .map(|m| Money {
            value: m
                .value
                .and_then(|v| serde_json::from_value::<Amount>(v).ok()),
            minor_units: m.amount.and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
            formatted: m.formatted,
        }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WirePayment {
    #[serde(default, deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    reference: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    reference_label: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    currency_code: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    settlement_currency_code: Option<String>,
    #[serde(default, deserialize_with = "lenient_money")]
    amount: Option<Money>,
    #[serde(default, deserialize_with = "lenient_money")]
    received_amount: Option<Money>,
    #[serde(default, deserialize_with = "lenient_money")]
    settled_amount: Option<Money>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    found_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    confirmed_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    date: Option<Timestamp>,
}

impl WirePayment {
    pub(crate) fn into_model(self) -> Result<Payment, String> {
        Ok(Payment {
            id: self
                .id
                .filter(|i| !i.is_empty())
                .ok_or_else(|| "a payment has no `id`".to_owned())?,
            user_id: self.user_id,
            status: PaymentStatus::parse(self.status.as_deref().unwrap_or("")),
            reference: self.reference,
            reference_label: self.reference_label,
            currency_code: self.currency_code,
            settlement_currency_code: self.settlement_currency_code,
            amount: self.amount,
            received_amount: self.received_amount,
            settled_amount: self.settled_amount,
            found_at: self.found_at,
            confirmed_at: self.confirmed_at,
            date: self.date,
        })
    }
}

/// `{"data": T}`, the gateway's envelope.
#[derive(Deserialize)]
pub(crate) struct Data<T> {
    pub(crate) data: Option<T>,
}

/// `{"payment": {...}}`, the webhook's envelope.
#[derive(Deserialize)]
pub(crate) struct WebhookBody {
    pub(crate) payment: Option<WirePayment>,
}

pub(crate) fn application_from(raw: serde_json::Value) -> Result<PaymentApplication, String> {
    let text = |k: &str| match raw.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let flag = |k: &str| raw.get(k).and_then(serde_json::Value::as_bool);
    Ok(PaymentApplication {
        id: text("id").ok_or_else(|| "a payment application has no `id`".to_owned())?,
        name: text("name").unwrap_or_default(),
        client_id: text("clientId"),
        user_id: text("userId"),
        currency_whitelist: raw
            .get("currencyWhitelist")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        allow_underpay: flag("allowUnderpay"),
        allow_overpay: flag("allowOverpay"),
        callback_url: text("callbackUrl"),
        created_at: text("createdAt").and_then(|t| crate::time::parse_timestamp(&t)),
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_payment() {
        let w: WirePayment = serde_json::from_str(
            r#"{"id":"9b0c","userId":7,"status":"CONFIRMED","reference":"order-1","currencyCode":"USD",
                "amount":{"value":100.00,"amount":10000,"formatted":"$100.00"},
                "receivedAmount":null,"foundAt":"2024-05-01T10:00:00.000000Z","date":"2024-05-01T09:59:00+00:00"}"#,
        )
        .unwrap();
        let p = w.into_model().unwrap();
        assert_eq!(p.status, PaymentStatus::Confirmed);
        assert_eq!(p.user_id.as_deref(), Some("7"));
        let amount = p.amount.unwrap();
        assert_eq!(amount.value, Some(Amount::from(100)));
        assert_eq!(amount.minor_units, Some(10000));
        assert_eq!(amount.formatted.as_deref(), Some("$100.00"));
        assert!(p.received_amount.is_none());
        assert!(p.found_at.is_some() && p.date.is_some() && p.confirmed_at.is_none());
        assert_eq!(
            PaymentStatus::parse("PARTIAL"),
            PaymentStatus::Unknown("PARTIAL".into())
        );
        assert_eq!(
            WebhookEventKind::parse("payment.expired"),
            WebhookEventKind::Unknown("payment.expired".into())
        );
    }
}
