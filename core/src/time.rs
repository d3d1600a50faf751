//! Timestamps: instants in UTC, read from whatever offset and precision a gateway sends.

/// An instant in time (UTC), as read from a gateway's timestamps.
///
/// This is [`jiff::Timestamp`]; convert it with `std::time::SystemTime::from(ts)` or
/// `ts.as_second()`.
pub type Timestamp = jiff::Timestamp;

/// Reads a gateway timestamp into an instant.
///
/// Accepts RFC 3339 / ISO 8601 with any UTC offset (`Z`, `+02:00`) and 0 to 9 fraction
/// digits, a space instead of `T`, and — as a last resort — a date-time without an
/// offset, which is taken as UTC. Returns `None` for anything else.
///
/// ```
/// let t = pesakit::parse_timestamp("2022-01-03T17:22:02.7422568+02:00").unwrap();
/// assert_eq!(t.to_string(), "2022-01-03T15:22:02.7422568Z");
/// ```
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts);
    }
    // More than nine fraction digits: keep nine (nanoseconds) and try again.
    if let Some(trimmed) = trim_fraction(text) {
        if let Ok(ts) = trimmed.parse::<jiff::Timestamp>() {
            return Some(ts);
        }
    }
    text.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

fn trim_fraction(text: &str) -> Option<String> {
    let dot = text.find('.')?;
    let digits = text[dot + 1..]
        .bytes()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits <= 9 {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..dot + 10]);
    out.push_str(&text[dot + 1 + digits..]);
    Some(out)
}

/// Serde helper: an optional timestamp read leniently (unreadable → `None`).
pub(crate) mod lenient {
    use serde::de::Deserializer;

    use super::{parse_timestamp, Timestamp};
    use crate::lenient::Scalar;

    // Text is parsed, integers are unix seconds, anything else is `None`.
    crate::lenient::lenient_visitor!(Lenient, Timestamp, "a timestamp", |scalar| match scalar {
        Scalar::Text(v) => parse_timestamp(v),
        Scalar::Owned(v) => parse_timestamp(&v),
        Scalar::Int(v) => Timestamp::from_second(v).ok(),
        Scalar::UInt(v) => i64::try_from(v)
            .ok()
            .and_then(|v| Timestamp::from_second(v).ok()),
        Scalar::Float(_) => None,
    });

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        d.deserialize_option(Lenient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_offset_and_precision() {
        let cases = [
            (
                "2021-12-17T12:06:32.421455842+02:00",
                "2021-12-17T10:06:32.421455842Z",
            ),
            ("2022-01-03T15:22:29.430397Z", "2022-01-03T15:22:29.430397Z"),
            (
                "2022-01-03T17:22:29.43022813+02:00",
                "2022-01-03T15:22:29.43022813Z",
            ),
            ("2022-01-03T17:22:29+02:00", "2022-01-03T15:22:29Z"),
            ("2022-01-03T17:22:29.5-01:30", "2022-01-03T18:52:29.5Z"),
            ("2022-01-03 17:22:29Z", "2022-01-03T17:22:29Z"),
            (
                "2022-01-03T17:22:29.1234567891+02:00",
                "2022-01-03T15:22:29.123456789Z",
            ),
            ("2022-01-03T17:22:29", "2022-01-03T17:22:29Z"),
        ];
        for (input, want) in cases {
            let got = parse_timestamp(input).unwrap_or_else(|| panic!("{input} unread"));
            assert_eq!(got.to_string(), want, "{input}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp(""), None);
    }
}
