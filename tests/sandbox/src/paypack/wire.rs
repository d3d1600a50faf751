//! Paypack's wire shapes and conventions: the JSON answers, money as JSON numbers, its
//! timestamp spellings, phone numbers, and date filters.

use std::str::FromStr;

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Number, Value};

use super::state::{Event, EventKind, Merchant, Transaction};

/// Paypack writes local times with Kigali's fixed `+02:00` offset.
fn kigali() -> TimeZone {
    TimeZone::fixed(Offset::constant(2))
}

fn fraction(ts: Timestamp, digits: u32) -> String {
    let nanos = ts.subsec_nanosecond().unsigned_abs();
    let scaled = nanos / 10u32.pow(9 - digits);
    format!("{scaled:0width$}", width = digits as usize)
}

/// `2021-12-17T12:06:32.421455842+02:00` with `digits` fraction digits.
pub(crate) fn local_time(ts: Timestamp, digits: u32) -> String {
    let zoned = ts.to_zoned(kigali());
    format!(
        "{}.{}+02:00",
        zoned.strftime("%Y-%m-%dT%H:%M:%S"),
        fraction(ts, digits)
    )
}

/// `2022-01-03T15:22:29.430397Z` with `digits` fraction digits.
pub(crate) fn utc_time(ts: Timestamp, digits: u32) -> String {
    let zoned = ts.to_zoned(TimeZone::UTC);
    format!(
        "{}.{}Z",
        zoned.strftime("%Y-%m-%dT%H:%M:%S"),
        fraction(ts, digits)
    )
}

/// Writes an amount: integers as JSON integers, fractions as JSON numbers.
pub(crate) fn money(amount: Decimal) -> Value {
    let amount = amount.normalize();
    if amount.fract().is_zero() {
        if let Some(integer) = amount.to_i64() {
            return Value::from(integer);
        }
    }
    amount
        .to_f64()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Reads a JSON number (integer or fraction) exactly.
pub(crate) fn parse_number(number: &Number) -> Option<Decimal> {
    let text = number.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
        .map(|d| d.normalize())
}

/// Reads a decimal written as text (a query parameter).
pub(crate) fn parse_decimal_text(text: &str) -> Option<Decimal> {
    Number::from_str(text).ok().and_then(|n| parse_number(&n))
}

/// A Rwandan mobile number in its local form `07XXXXXXXX`, from `07…`, `2507…` or
/// `+2507…`; `None` if it is not one.
pub(crate) fn normalize_number(raw: &str) -> Option<String> {
    let local = if let Some(rest) = raw.strip_prefix("+250") {
        format!("0{rest}")
    } else if let Some(rest) = raw.strip_prefix("2507") {
        format!("07{rest}")
    } else {
        raw.to_owned()
    };
    let bytes = local.as_bytes();
    let valid = bytes.len() == 10
        && bytes.iter().all(u8::is_ascii_digit)
        && local.starts_with("07")
        && matches!(bytes[2], b'2' | b'3' | b'8' | b'9');
    valid.then_some(local)
}

/// `mtn` for 078/079, `airtel` for 072/073 (the number must be normalised).
pub(crate) fn provider_of(local_number: &str) -> &'static str {
    match local_number.as_bytes().get(2) {
        Some(b'2' | b'3') => "airtel",
        _ => "mtn",
    }
}

/// Which end of a range a date filter bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// `from`: inclusive, a date means its first instant (Kigali time).
    From,
    /// `to`: a date means the whole day is included (Kigali time); an instant is inclusive.
    To,
}

/// Parses a `from`/`to` filter into an instant; for a `to` date the answer is the first
/// instant of the next day, to be compared exclusively (see [`in_range`]).
pub(crate) fn parse_bound(text: &str, bound: Bound) -> Option<(Timestamp, bool)> {
    if let Ok(instant) = Timestamp::from_str(text) {
        return Some((instant, true));
    }
    let date = jiff::civil::Date::from_str(text).ok()?;
    let date = match bound {
        Bound::From => date,
        Bound::To => date.tomorrow().ok()?,
    };
    let start = date.to_zoned(kigali()).ok()?.timestamp();
    Some((start, bound == Bound::From))
}

/// Whether `ts` lies within the optional bounds returned by [`parse_bound`].
pub(crate) fn in_range(
    ts: Timestamp,
    from: Option<(Timestamp, bool)>,
    to: Option<(Timestamp, bool)>,
) -> bool {
    let after_from = match from {
        None => true,
        Some((limit, _)) => ts >= limit,
    };
    let before_to = match to {
        None => true,
        Some((limit, true)) => ts <= limit,
        Some((limit, false)) => ts < limit,
    };
    after_from && before_to
}

/// Cash-in/out answer: `{"ref", "status", "amount", "provider", "kind", "created_at"}`.
pub(crate) fn created_answer(tx: &Transaction) -> Value {
    json!({
        "ref": tx.reference,
        "status": tx.status.as_str(),
        "amount": money(tx.amount),
        "provider": tx.provider,
        "kind": tx.kind.as_str(),
        "created_at": local_time(tx.created_at, 9),
    })
}

/// Find and list item: uses `timestamp` instead of `created_at`.
pub(crate) fn found(tx: &Transaction) -> Value {
    json!({
        "ref": tx.reference,
        "status": tx.status.as_str(),
        "amount": money(tx.amount),
        "fee": money(tx.fee),
        "kind": tx.kind.as_str(),
        "provider": tx.provider,
        "client": tx.number,
        "merchant": tx.merchant,
        "timestamp": local_time(tx.created_at, 7),
    })
}

/// An event as listed and as delivered to webhooks:
/// `{"event_id", "event_kind", "created_at", "data"}`.
pub(crate) fn event_envelope(event: &Event) -> Value {
    let tx = &event.transaction;
    let mut data = json!({
        "ref": tx.reference,
        "kind": tx.kind.as_str(),
        "fee": money(tx.fee),
        "merchant": tx.merchant,
        "client": tx.number,
        "amount": money(tx.amount),
        "provider": tx.provider,
        "status": tx.status.as_str(),
        "created_at": local_time(tx.created_at, 9),
    });
    if let (EventKind::Processed, Some(processed_at)) = (event.kind, tx.processed_at) {
        data["processed_at"] = Value::String(local_time(processed_at, 8));
    }
    json!({
        "event_id": event.id,
        "event_kind": event.kind.as_str(),
        "created_at": utc_time(event.created_at, 6),
        "data": data,
    })
}

/// A transaction as `GET /_sandbox/paypack/ledger` shows it.
pub(crate) fn ledger_transaction(tx: &Transaction) -> Value {
    json!({
        "ref": tx.reference,
        "client_id": tx.client_id,
        "kind": tx.kind.as_str(),
        "amount": money(tx.amount),
        "fee": money(tx.fee),
        "status": tx.status.as_str(),
        "number": tx.number,
        "provider": tx.provider,
        "idempotency_key": tx.idempotency_key,
        "webhook_mode": tx.webhook_mode,
        "created_at": local_time(tx.created_at, 9),
        "processed_at": tx.processed_at.map(|t| local_time(t, 8)),
    })
}

/// A merchant's balances as the ledger shows them.
pub(crate) fn ledger_merchant(merchant: &Merchant) -> Value {
    json!({
        "client_id": merchant.client_id,
        "id": merchant.id,
        "balance": money(merchant.balance()),
        "mtn_balance": money(merchant.mtn_balance),
        "airtel_balance": money(merchant.airtel_balance),
    })
}

/// `GET /merchants/me`.
pub(crate) fn profile(merchant: &Merchant) -> Value {
    json!({
        "id": merchant.id,
        "name": merchant.name,
        "in_rate": money(merchant.in_rate),
        "out_rate": money(merchant.out_rate),
        "airtel_in_rate": money(merchant.airtel_in_rate),
        "airtel_out_rate": money(merchant.airtel_out_rate),
        "balance": money(merchant.balance()),
        "mtn_balance": money(merchant.mtn_balance),
        "airtel_balance": money(merchant.airtel_balance),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_the_gateway_spellings() {
        let ts: Timestamp = "2022-01-03T15:22:29.430228131Z".parse().unwrap();
        assert_eq!(local_time(ts, 9), "2022-01-03T17:22:29.430228131+02:00");
        assert_eq!(local_time(ts, 8), "2022-01-03T17:22:29.43022813+02:00");
        assert_eq!(local_time(ts, 7), "2022-01-03T17:22:29.4302281+02:00");
        assert_eq!(utc_time(ts, 6), "2022-01-03T15:22:29.430228Z");
        let whole: Timestamp = "2022-01-03T15:22:29Z".parse().unwrap();
        assert_eq!(utc_time(whole, 6), "2022-01-03T15:22:29.000000Z");
    }

    #[test]
    fn money_is_integer_or_fraction() {
        assert_eq!(money(Decimal::new(1000, 0)).to_string(), "1000");
        assert_eq!(money(Decimal::new(10000, 1)).to_string(), "1000");
        assert_eq!(money(Decimal::new(184, 1)).to_string(), "18.4");
        let n: Number = serde_json::from_str("800.50").unwrap();
        assert_eq!(parse_number(&n), Some(Decimal::new(8005, 1)));
        let n: Number = serde_json::from_str("1e3").unwrap();
        assert_eq!(parse_number(&n), Some(Decimal::new(1000, 0)));
    }

    #[test]
    fn numbers_are_normalised() {
        assert_eq!(
            normalize_number("0781234567").as_deref(),
            Some("0781234567")
        );
        assert_eq!(
            normalize_number("250781234567").as_deref(),
            Some("0781234567")
        );
        assert_eq!(
            normalize_number("+250731234567").as_deref(),
            Some("0731234567")
        );
        for bad in [
            "0771234567",
            "078123456",
            "07812345678",
            "+0781234567",
            "07812a4567",
            "",
        ] {
            assert_eq!(normalize_number(bad), None, "{bad}");
        }
        assert_eq!(provider_of("0781234567"), "mtn");
        assert_eq!(provider_of("0791234567"), "mtn");
        assert_eq!(provider_of("0721234567"), "airtel");
        assert_eq!(provider_of("0731234567"), "airtel");
    }

    #[test]
    fn date_bounds_cover_whole_kigali_days() {
        let from = parse_bound("2024-01-02", Bound::From);
        let to = parse_bound("2024-01-02", Bound::To);
        let inside: Timestamp = "2024-01-02T21:59:59Z".parse().unwrap();
        let before: Timestamp = "2024-01-01T21:59:59Z".parse().unwrap();
        let after: Timestamp = "2024-01-02T22:00:00Z".parse().unwrap();
        assert!(in_range(inside, from, to));
        assert!(!in_range(before, from, to));
        assert!(!in_range(after, from, to));
        let instant = parse_bound("2024-01-02T10:00:00+02:00", Bound::To);
        assert!(in_range(
            "2024-01-02T08:00:00Z".parse().unwrap(),
            None,
            instant
        ));
        assert!(parse_bound("yesterday", Bound::From).is_none());
    }
}
