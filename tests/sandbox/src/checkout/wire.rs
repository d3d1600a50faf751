//! The hosted-checkout gateway's wire shapes: money objects, ISO 8601 timestamps, the
//! payment and application resources, and Laravel's validation error answer.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Number, Value};

use super::state::{Application, Payment};

/// Currencies without minor units (ISO 4217).
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Currencies with three decimals (ISO 4217).
const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Crypto currencies counted in 10⁻⁸ (satoshis and the like).
const EIGHT_DECIMAL: &[&str] = &["BTC", "LTC", "BCH"];

/// How many decimals a currency's minor unit has: 0, 3 or 8 for the lists above, 2 for
/// every other code.
pub(crate) fn exponent(currency: &str) -> u32 {
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else if THREE_DECIMAL.contains(&currency) {
        3
    } else if EIGHT_DECIMAL.contains(&currency) {
        8
    } else {
        2
    }
}

/// `{"value": 100.00, "amount": 10000, "formatted": "100.00 USD"}`: `value` is a JSON
/// number (an integer for zero-decimal currencies), `formatted` has every decimal.
pub(crate) fn money(minor: i64, currency: &str) -> Value {
    let exp = exponent(currency);
    let major = Decimal::new(minor, exp);
    let value = if exp == 0 {
        Value::from(minor)
    } else {
        major
            .to_f64()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number)
    };
    json!({
        "value": value,
        "amount": minor,
        "formatted": format!("{major} {currency}"),
    })
}

/// ISO 8601 with an offset and whole seconds: `2024-05-01T12:00:00+00:00`.
pub(crate) fn iso(ts: Timestamp) -> String {
    ts.to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The payment resource, as `GET /api/payment/{id}` and webhooks show it.
pub(crate) fn payment(p: &Payment) -> Value {
    json!({
        "id": p.id,
        "userId": p.user_id,
        "status": p.status.as_str(),
        "reference": p.reference,
        "referenceLabel": p.reference_label,
        "currencyCode": p.currency_code,
        "settlementCurrencyCode": p.settlement_currency_code,
        "amount": money(p.amount, &p.currency_code),
        "receivedAmount": p.received.map(|m| money(m, &p.currency_code)),
        "settledAmount": p.settled.map(|m| money(m, &p.currency_code)),
        "foundAt": p.found_at.map(iso),
        "confirmedAt": p.confirmed_at.map(iso),
        "date": iso(p.created_at),
    })
}

/// A payment as the control ledger shows it: the resource plus what the sandbox knows
/// besides (`applicationId`, `checkoutUrl`, `expiresAt`, `redirectUrl`, `productId`).
pub(crate) fn ledger_payment(p: &Payment) -> Value {
    let mut value = payment(p);
    value["applicationId"] = json!(p.application_id);
    value["checkoutUrl"] = json!(p.checkout_url);
    value["expiresAt"] = json!(iso(p.expires_at));
    value["redirectUrl"] = json!(p.redirect_url);
    value["productId"] = p.product_id.clone().unwrap_or(Value::Null);
    value
}

/// The payment application resource (the secret is never shown).
pub(crate) fn application(app: &Application) -> Value {
    json!({
        "id": app.id,
        "name": app.name,
        "clientId": app.client_id,
        "userId": app.user_id,
        "site": { "id": app.site_id, "url": app.url },
        "currencyWhitelist": app.currency_whitelist,
        "allowUnderpay": app.allow_underpay,
        "allowOverpay": app.allow_overpay,
        "callbackUrl": app.callback_url,
        "createdAt": iso(app.created_at),
    })
}

/// How Laravel names a field in its messages: `currencyCode` → `currency code`.
pub(crate) fn display_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for (i, c) in field.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push(' ');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Laravel's validation failure: `422 {"message": "The given data was invalid.",
/// "errors": {"field": ["…"]}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Invalid(BTreeMap<String, Vec<String>>);

impl Invalid {
    /// Adds a message for `field`, with `:attribute` replaced by its display name.
    pub(crate) fn add(&mut self, field: &str, template: &str) {
        let message = template.replace(":attribute", &display_name(field));
        self.0.entry(field.to_owned()).or_default().push(message);
    }

    /// Whether nothing failed.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoResponse for Invalid {
    fn into_response(self) -> Response {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "message": "The given data was invalid.", "errors": self.0 })),
        )
            .into_response()
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The hosted checkout page: a minimal HTML summary of the payment.
pub(crate) fn checkout_page(p: &Payment) -> String {
    let amount = money(p.amount, &p.currency_code);
    format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Checkout</title></head>\n\
         <body>\n<h1>{label}: {reference}</h1>\n<p>Amount: <strong>{amount}</strong></p>\n\
         <p>Status: <span id=\"status\">{status}</span></p>\n<p>Payment {id}</p>\n</body>\n</html>\n",
        label = escape(&p.reference_label),
        reference = escape(&p.reference),
        amount = escape(amount["formatted"].as_str().unwrap_or_default()),
        status = p.status.as_str(),
        id = p.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_follows_the_currency_exponent() {
        assert_eq!(
            money(10000, "USD"),
            json!({"value": 100.0, "amount": 10000, "formatted": "100.00 USD"})
        );
        assert_eq!(
            money(5000, "RWF"),
            json!({"value": 5000, "amount": 5000, "formatted": "5000 RWF"})
        );
        assert_eq!(
            money(12345, "BTC"),
            json!({"value": 0.00012345, "amount": 12345, "formatted": "0.00012345 BTC"})
        );
        assert_eq!(money(1500, "KWD")["formatted"], "1.500 KWD");
        assert_eq!(money(1, "EUR")["formatted"], "0.01 EUR");
    }

    #[test]
    fn timestamps_carry_an_offset() {
        let ts: Timestamp = "2024-05-01T12:00:00.123Z".parse().unwrap();
        assert_eq!(iso(ts), "2024-05-01T12:00:00+00:00");
    }

    #[test]
    fn field_names_are_displayed_like_laravel() {
        assert_eq!(display_name("currencyCode"), "currency code");
        assert_eq!(display_name("clientId"), "client id");
        assert_eq!(display_name("currencyWhitelist.0"), "currency whitelist.0");
        assert_eq!(display_name("name"), "name");
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
    }
}
