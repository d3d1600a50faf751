//! Client-side checks integrators apply before sending money calls to Paypack. They
//! are not server facts; each request can opt out.

use crate::error::{Error, Result};
use crate::money::Amount;

/// The smallest amount Paypack integrators accept, in RWF.
pub const MIN_AMOUNT: u32 = 100;

/// Normalises a Rwandan mobile number to the `07XXXXXXXX` form Paypack expects.
///
/// Accepts `07…`, `2507…` and `+2507…` (spaces and dashes ignored) for the MTN
/// (078, 079) and Airtel (072, 073) ranges.
///
/// ```
/// use pesakit::paypack::normalize_phone;
/// assert_eq!(normalize_phone("+250 788 123 456").unwrap(), "0788123456");
/// assert!(normalize_phone("0712345678").is_err());
/// ```
pub fn normalize_phone(raw: &str) -> Result<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let local = if let Some(rest) = compact.strip_prefix("+250") {
        format!("0{rest}")
    } else if let Some(rest) = compact.strip_prefix("250").filter(|r| r.len() == 9) {
        format!("0{rest}")
    } else {
        compact
    };
    let b = local.as_bytes();
    let ok = b.len() == 10
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'0'
        && b[1] == b'7'
        && matches!(b[2], b'2' | b'3' | b'8' | b'9');
    if ok {
        Ok(local)
    } else {
        Err(Error::validation(format!(
            "{raw:?} is not a Rwandan MTN or Airtel number (07[2389]XXXXXXX, 2507…, +2507…)"
        )))
    }
}

/// Checks a money call's amount: positive, and at least [`MIN_AMOUNT`] unless the
/// caller opted out of client-side validation.
pub(crate) fn check_amount(amount: Amount, enforce_minimum: bool) -> Result<()> {
    if !amount.is_positive() {
        return Err(Error::validation(format!(
            "amount {amount} must be greater than zero"
        )));
    }
    if enforce_minimum && amount < Amount::from(MIN_AMOUNT) {
        return Err(Error::validation(format!(
            "amount {amount} is below Paypack's minimum of {MIN_AMOUNT} RWF"
        )));
    }
    Ok(())
}

/// Checks an idempotency key: 1 to 32 visible ASCII characters.
pub(crate) fn check_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 32 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::validation(format!(
            "idempotency key {key:?} must be 1 to 32 visible ASCII characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_forms() {
        for (input, want) in [
            ("0781234567", "0781234567"),
            ("250781234567", "0781234567"),
            ("+250781234567", "0781234567"),
            ("+250 78-123-4567", "0781234567"),
            ("0721234567", "0721234567"),
            ("0731234567", "0731234567"),
            ("0791234567", "0791234567"),
        ] {
            assert_eq!(normalize_phone(input).unwrap(), want, "{input}");
        }
        for bad in [
            "",
            "078123456",
            "07812345678",
            "0741234567",
            "+254781234567",
            "07812x4567",
            "2500781234567",
        ] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_and_keys() {
        assert!(check_amount(Amount::from(100), true).is_ok());
        assert!(check_amount(Amount::from(99), true).is_err());
        assert!(check_amount(Amount::from(99), false).is_ok());
        assert!(check_amount(Amount::ZERO, false).is_err());
        assert!(check_idempotency_key("a").is_ok());
        assert!(check_idempotency_key(&"k".repeat(32)).is_ok());
        assert!(check_idempotency_key(&"k".repeat(33)).is_err());
        assert!(check_idempotency_key("has space").is_err());
        assert!(check_idempotency_key("").is_err());
    }
}
