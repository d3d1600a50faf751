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
    /// validation error, never rounded.
    pub fn to_minor_units(&self, exponent: u32) -> Result<i64, Error> {
        if self.scale() > exponent {
            return Err(Error::validation(format!(
                "amount {self} has more than {exponent} decimal digit(s) and cannot be expressed in minor units"
            )));
        }
        let factor = Decimal::from_i128_with_scale(10i128.pow(exponent), 0);
        self.0
            .checked_mul(factor)
            .and_then(|v| v.to_i64())
            .ok_or_else(|| Error::validation(format!("amount {self} is too large")))
    }

    /// The amount that `minor` minor units make in a currency with `exponent` digits.
    pub fn from_minor_units(minor: i64, exponent: u32) -> Self {
        Amount::new(Decimal::from_i128_with_scale(minor as i128, exponent))
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
    fn parse_refuses_garbage() {
        assert!("12,5".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert_eq!("1e3".parse::<Amount>().unwrap(), Amount::from(1000));
    }
}
