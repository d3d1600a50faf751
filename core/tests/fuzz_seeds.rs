//! Every committed fuzz seed and crash reproducer, run through the fuzz targets'
//! entry points without libFuzzer: none may panic, and no webhook seed verifies
//! without its signature. Seeds live in `core/fuzz/seeds/<target>/`, reproducers of
//! fixed crashes in `core/fuzz/regressions/<target>/`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pesakit::fuzzing::targets::{Input, CHECKOUT_NOW, CHECKOUT_SECRET, PAYPACK_SECRET, TARGETS};
use pesakit::{ErrorKind, Timestamp};

/// The target run by the FFI crate's own copy of this test.
const FFI_TARGET: &str = "ffi_webhooks";

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `core/fuzz/<kind>/<target>/`, sorted; none when the folder is absent.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("a readable folder").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn every_seed_and_regression_runs_without_panicking() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for (name, target) in TARGETS {
        let seeds = files("seeds", name);
        assert!(
            seeds.len() >= 3,
            "target {name} has {} seeds; commit some under core/fuzz/seeds/{name}/",
            seeds.len()
        );
        for path in seeds.iter().chain(files("regressions", name).iter()) {
            let data = std::fs::read(path).expect("a readable seed");
            runs += 1;
            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "these inputs panicked: {failures:#?}");
    assert!(runs > 50, "only {runs} inputs ran");
}

#[test]
fn seed_folders_name_known_targets() {
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name == FFI_TARGET || TARGETS.iter().any(|(t, _)| *t == name),
                "core/fuzz/{kind}/{name} names no target"
            );
        }
    }
}

#[test]
fn webhook_seeds_are_refused_without_their_signature() {
    let paypack = pesakit::paypack::WebhookVerifier::new(PAYPACK_SECRET).unwrap();
    let other = pesakit::paypack::WebhookVerifier::new("another-secret").unwrap();
    let mut parsed = 0;
    for path in files("seeds", "paypack_webhook") {
        let data = std::fs::read(&path).unwrap();
        let mut input = Input::new(&data);
        input.mode_line(4);
        input.line();
        let body = input.rest();
        for signature in [None, Some(""), Some(other.sign(body).as_str())] {
            let e = paypack.verify_and_parse(body, signature).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WebhookSignature, "{}", path.display());
        }
        if paypack
            .verify_and_parse(body, Some(&paypack.sign(body)))
            .is_ok()
        {
            parsed += 1;
        }
    }
    assert!(parsed >= 2, "only {parsed} Paypack seeds parse when signed");

    let checkout = pesakit::checkout::WebhookVerifier::new(CHECKOUT_SECRET).unwrap();
    let other = pesakit::checkout::WebhookVerifier::new("another-secret").unwrap();
    let now = Timestamp::from_second(CHECKOUT_NOW).unwrap();
    let mut parsed = 0;
    for path in files("seeds", "checkout_webhook") {
        let data = std::fs::read(&path).unwrap();
        let mut input = Input::new(&data);
        input.mode_line(4);
        input.line();
        let timestamp = input.text_line();
        let event = input.text_line();
        let body = input.rest();
        let ts = timestamp.trim().parse::<i64>().unwrap_or(CHECKOUT_NOW);
        let ts_text = ts.to_string();
        let forged = other.sign(ts, body);
        for (signature, timestamp) in [
            (None, None),
            (None, Some(ts_text.as_str())),
            (Some(forged.as_str()), Some(ts_text.as_str())),
        ] {
            let e = checkout
                .verify_and_parse_at(body, signature, timestamp, Some(&event), now)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WebhookSignature, "{}", path.display());
        }
        let valid = checkout.sign(ts, body);
        if checkout
            .verify_and_parse_at(body, Some(&valid), Some(&ts_text), Some(&event), now)
            .is_ok()
        {
            parsed += 1;
        }
    }
    assert!(
        parsed >= 2,
        "only {parsed} checkout seeds parse when signed"
    );
}
