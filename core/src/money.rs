use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// An amount of money, held as an exact decimal (never a float).
///
/// Gateways write amounts as JSON integers, fractions or strings; all of them read
/// into an `Amount` exactly. Written back, an `Amount` is a JSON number with exactly its
/// decimal digits.
///
/// ```
/// use pesakit::Amount;
/// let a: Amount = "1250.50".parse().unwrap();
/// assert_eq!(a.to_string(), "1250.5");
/// assert_eq!(a.to_minor_units(2).unwrap(), 125050);
/// assert!(a.to_minor_units(0).is_err()); // 0.5 cannot be expressed in whole units
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// An amount from a decimal value.
    pub fn new(value: Decimal) -> Self {
        Amount(value.normalize())
    }

    /// The decimal value.
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// Whether the amount is greater than zero.
    pub fn is_positive(&self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// How many digits follow the decimal point (trailing zeros removed).
    pub fn scale(&self) -> u32 {
        self.0.normalize().scale()
    }

    /// The amount in minor units for a currency with `exponent` decimal digits
    /// (2 for cents, 0 for RWF). A value with more digits than the exponent allows is a
    /// validation error, never rounded; so is one whose minor units do not fit an `i64`.
    pub fn to_minor_units(&self, exponent: u32) -> Result<i64, Error> {
        let d = self.0.normalize();
        if d.scale() > exponent {
            return Err(Error::validation(format!(
                "amount {self} has more than {exponent} decimal digit(s) and cannot be expressed in minor units"
            )));
        }
        if d.is_zero() {
            return Ok(0);
        }
        // Exact integer arithmetic: mantissa × 10^(exponent − scale), checked.
        10i128
            .checked_pow(exponent - d.scale())
            .and_then(|factor| d.mantissa().checked_mul(factor))
            .and_then(|minor| i64::try_from(minor).ok())
            .ok_or_else(|| Error::validation(format!("amount {self} is too large")))
    }

    /// The amount that `minor` minor units make in a currency with `exponent` digits.
    /// Exact for every exponent a currency has; beyond the 28 decimal places a
    /// [`Decimal`] holds, the value is rounded to them.
    pub fn from_minor_units(minor: i64, exponent: u32) -> Self {
        let mut minor = i128::from(minor);
        let mut exponent = exponent;
        // Trailing zeros cost nothing to drop: 1200 at 30 digits is 12 at 28.
        while exponent > Decimal::MAX_SCALE && minor != 0 && minor % 10 == 0 {
            minor /= 10;
            exponent -= 1;
        }
        let scale = exponent.min(Decimal::MAX_SCALE);
        // |minor| < 2^63 always fits Decimal's 96-bit mantissa.
        let mut value = Decimal::from_i128_with_scale(minor, scale);
        for _ in 0..(exponent - scale).min(Decimal::MAX_SCALE + 1) {
            value /= Decimal::TEN;
        }
        Amount::new(value)
    }

    /// The JSON number this amount is written as.
    pub(crate) fn to_json_number(self) -> Result<serde_json::Number, Error> {
        let d = self.0.normalize();
        if d.scale() == 0 {
            if let Some(i) = d.to_i64() {
                return Ok(serde_json::Number::from(i));
            }
        }
        // A fraction: written through f64, which is exact only when its shortest
        // representation reads back as the same decimal.
        let f = d
            .to_f64()
            .ok_or_else(|| Error::validation(format!("amount {d} cannot be sent")))?;
        let back = Decimal::from_str(&f.to_string()).ok();
        match (back, serde_json::Number::from_f64(f)) {
            (Some(b), Some(n)) if b == d => Ok(n),
            _ => Err(Error::validation(format!(
                "amount {d} has more digits than the gateway's JSON number can carry exactly"
            ))),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0.normalize())
    }
}

impl FromStr for Amount {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Decimal::from_str_exact(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map(Amount::new)
            .map_err(|_| Error::validation(format!("{s:?} is not a decimal amount")))
    }
}

impl From<Decimal> for Amount {
    fn from(value: Decimal) -> Self {
        Amount::new(value)
    }
}

impl From<Amount> for Decimal {
    fn from(value: Amount) -> Self {
        value.0
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Amount {
            fn from(value: $t) -> Self {
                Amount(Decimal::from(value))
            }
        }
    )*};
}
from_int!(i32, i64, u32, u64);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.to_json_number().map_err(serde::ser::Error::custom)?;
        n.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;

        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a number or a decimal string")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                // f64's Display is the shortest text that reads back as the same
                // float, which is the decimal the gateway wrote.
                Decimal::from_str(&v.to_string())
                    .map(Amount::new)
                    .map_err(|_| E::custom(format!("{v} is out of range for an amount")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::from_str(v).map_err(|_| E::custom(format!("{v:?} is not an amount")))
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_integers_fractions_and_strings_exactly() {
        let a: Amount = serde_json::from_str("800").unwrap();
        assert_eq!(a.to_string(), "800");
        let b: Amount = serde_json::from_str("18.4").unwrap();
        assert_eq!(b.as_decimal(), Decimal::from_str("18.4").unwrap());
        let c: Amount = serde_json::from_str("\"0.1\"").unwrap();
        assert_eq!(c.to_string(), "0.1");
        assert!(serde_json::from_str::<Amount>("true").is_err());
    }

    #[test]
    fn writes_json_numbers() {
        assert_eq!(serde_json::to_string(&Amount::from(100)).unwrap(), "100");
        let f: Amount = "100.50".parse().unwrap();
        assert_eq!(serde_json::to_string(&f).unwrap(), "100.5");
        let too_precise: Amount = "0.12345678901234567891".parse().unwrap();
        assert!(serde_json::to_string(&too_precise).is_err());
    }

    #[test]
    fn minor_units_are_exact_or_refused() {
        let a: Amount = "12.34".parse().unwrap();
        assert_eq!(a.to_minor_units(2).unwrap(), 1234);
        assert_eq!(a.to_minor_units(3).unwrap(), 12340);
        assert_eq!(
            a.to_minor_units(1).unwrap_err().kind(),
            crate::ErrorKind::Validation
        );
        assert_eq!(Amount::from_minor_units(1234, 2), a);
        assert_eq!(Amount::from_minor_units(500, 0), Amount::from(500));
    }

    #[test]
    fn minor_units_never_panic_on_large_exponents() {
        // Found by the `amount` fuzz target: exponents above 28 panicked inside
        // rust_decimal (10^29 does not fit its mantissa) or overflowed 10^exponent.
        let a: Amount = "80.0001".parse().unwrap();
        for exponent in [29, 31, 38, 39, 64, u32::MAX] {
            let e = a.to_minor_units(exponent).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Validation, "{exponent}");
        }
        assert_eq!(Amount::ZERO.to_minor_units(u32::MAX).unwrap(), 0);
        let tiny: Amount = "0.0000000000000000000000000001".parse().unwrap();
        assert_eq!(tiny.to_minor_units(30).unwrap(), 100);
        assert_eq!(Amount::from_minor_units(100, 30), tiny);
        assert_eq!(
            Amount::from_minor_units(i64::MAX, 18)
                .to_minor_units(18)
                .unwrap(),
            i64::MAX
        );
        // Finer than 28 places: rounded to them, never a panic.
        assert_eq!(
            Amount::from_minor_units(123, 30).to_string(),
            "0.0000000000000000000000000001"
        );
        assert_eq!(Amount::from_minor_units(1, u32::MAX), Amount::ZERO);
        assert_eq!(Amount::from_minor_units(-7, 40), Amount::ZERO);
    }

    #[test]
    fn long_json_numbers_read_back_exactly() {
        // Found by the `amount` fuzz target: serde_json's default float parser may be one
        // ULP off, so these read as ...1234568 and ...160000... (fixed by its
        // `float_roundtrip` feature, enabled in the workspace).
        for text in ["123456789.12345679", "79228162512132165000000000000"] {
            let want: Amount = text.parse().unwrap();
            let read: Amount = serde_json::from_str(text).unwrap();
            assert_eq!(read, want, "{text} read from JSON");
        }
        // Sent as 7.9228162512132165e+28, which must read back as the same amount.
        let sent: Amount = "79228162512132165000000000000".parse().unwrap();
        let n = sent.to_json_number().unwrap();
        let back: Amount = serde_json::from_str(&n.to_string()).unwrap();
        assert_eq!(back, sent, "sent as {n}");
    }

    #[test]
    fn parse_refuses_garbage() {
        assert!("12,5".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert_eq!("1e3".parse::<Amount>().unwrap(), Amount::from(1000));
    }
}
