//! Property tests: money, timestamps, phone numbers and URL encoding hold for every
//! input, not just the examples the other tests pick.

mod common;

use percent_encoding::percent_decode_str;
use pesakit::paypack::{normalize_phone, EventFilter};
use pesakit::{parse_timestamp, Amount, ErrorKind};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Minor units and back are exact for every exponent a currency uses.
    #[test]
    fn minor_units_round_trip(minor in -1_000_000_000_000_000i64..1_000_000_000_000_000, exponent in 0u32..=8) {
        let amount = Amount::from_minor_units(minor, exponent);
        prop_assert_eq!(amount.to_minor_units(exponent).unwrap(), minor);
        // More room is fine; the value is the same.
        if exponent < 8 {
            prop_assert_eq!(amount.to_minor_units(exponent + 1).unwrap(), minor * 10);
        }
    }

    /// A value with more digits than the currency allows is refused, never rounded.
    #[test]
    fn extra_digits_are_refused(major in 0i64..1_000_000_000, extra in 1i64..10, exponent in 0u32..=6) {
        // major + extra / 10^(exponent+1): one digit too many.
        let amount = Amount::from_minor_units(major * 10 + extra, exponent + 1);
        let e = amount.to_minor_units(exponent).unwrap_err();
        prop_assert_eq!(e.kind(), ErrorKind::Validation);
    }

    /// What is written to the wire reads back as the same decimal (amounts with up to
    /// 15 significant digits, as gateways send).
    #[test]
    fn wire_round_trip(minor in 0i64..100_000_000_000_000, exponent in 0u32..=2) {
        let amount = Amount::from_minor_units(minor, exponent);
        let text = serde_json::to_string(&amount).unwrap();
        let back: Amount = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, amount);
        // The decimal text form reads back too.
        prop_assert_eq!(amount.to_string().parse::<Amount>().unwrap(), amount);
    }

    /// Every offset and 0–9 fraction digits read as the same instant.
    #[test]
    fn timestamps_from_any_offset_and_precision(
        seconds in 0i64..4_000_000_000,
        nanos in 0i32..1_000_000_000,
        offset_minutes in -14i32 * 60..=14 * 60,
        digits in 0usize..=9,
    ) {
        let kept = if digits == 0 { 0 } else { nanos - nanos % 10i32.pow(9 - digits as u32) };
        let instant = jiff::Timestamp::new(seconds, kept).unwrap();
        let offset = jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap();
        let local = offset.to_datetime(instant);
        let mut text = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        if digits > 0 {
            let fraction = format!("{:09}", kept);
            text.push('.');
            text.push_str(&fraction[..digits]);
        }
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.abs();
        text.push_str(&format!("{}{:02}:{:02}", sign, abs / 60, abs % 60));
        prop_assert_eq!(parse_timestamp(&text), Some(instant), "{}", text);
    }

    /// Every spelling of a Rwandan MTN/Airtel number normalises to 07XXXXXXXX; other
    /// prefixes are refused.
    #[test]
    fn phone_numbers(prefix in prop::sample::select(vec!["2", "3", "8", "9"]), rest in "[0-9]{7}", spaced in any::<bool>()) {
        let local = format!("07{}{}", prefix, rest);
        let forms = [
            local.clone(),
            format!("2507{}{}", prefix, rest),
            format!("+2507{}{}", prefix, rest),
            if spaced { format!("+250 7{} {} {}", prefix, &rest[..3], &rest[3..]) } else { format!("07{}-{}", prefix, rest) },
        ];
        for form in forms {
            prop_assert_eq!(normalize_phone(&form).unwrap(), local.clone(), "{}", form);
        }
    }

    #[test]
    fn other_prefixes_are_refused(second in "[0-9]", third in "[0-9]", rest in "[0-9]{7}") {
        let prefix = format!("{}{}", second, third);
        prop_assume!(!["72", "73", "78", "79"].contains(&prefix.as_str()));
        let number = format!("0{}{}", prefix, rest);
        prop_assert!(normalize_phone(&number).is_err(), "{} was accepted", number);
    }
}

/// Every path segment and query value reaches the gateway encoded: the emulator's log,
/// decoded, shows exactly what the caller passed.
#[tokio::test]
async fn path_segments_and_query_values_are_encoded() {
    let env = common::start().await;
    let client = env.client();
    client.profile().await.unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = "[ -~éñ€☃]{1,24}".prop_filter("not blank", |s: &String| !s.trim().is_empty());
    // A segment that is only dots would be read as a path step (even encoded): it is
    // refused before any request.
    for dots in [".", ".."] {
        env.clear_requests().await;
        let e = client.find(dots).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{dots:?}: {e}");
        assert!(env.requests().await.is_empty());
    }
    // Tricky values, then random ones.
    let fixed = ["a/../b", "./x", "%2F", "?x=1#y", "..."].map(str::to_owned);
    let random = (0..64).map(|_| strategy.new_tree(&mut runner).unwrap().current());
    for value in fixed.into_iter().chain(random) {
        let trimmed = value.trim().to_owned();
        if trimmed == "." || trimmed == ".." {
            continue; // covered above
        }
        env.clear_requests().await;
        let e = client.find(&value).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{value:?}: {e}");
        client
            .list_events(&EventFilter {
                client: Some(value.clone()),
                reference: Some(value.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let log = env.requests().await;
        let find = log[0]["path"].as_str().unwrap();
        let segment = find
            .strip_prefix("/paypack/api/transactions/find/")
            .unwrap();
        assert!(!segment.contains('/'), "{value:?} left a raw slash: {find}");
        assert_eq!(
            percent_decode_str(segment).decode_utf8().unwrap(),
            trimmed,
            "{find}"
        );
        let query = log[1]["query"].as_str().unwrap();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        for key in ["client", "ref"] {
            let got = pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            assert_eq!(got.as_deref(), Some(trimmed.as_str()), "{key} in {query}");
        }
    }
}
