//! The committed seeds and crash reproducers of the `ffi_webhooks` fuzz target, run
//! without libFuzzer: none may panic through the FFI verifiers.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pesakit_ffi::fuzzing::{ffi_webhooks, TARGET};

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../core/fuzz")
        .join(kind)
        .join(TARGET);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn every_seed_and_regression_runs_without_panicking() {
    let seeds = files("seeds");
    assert!(seeds.len() >= 4, "only {} ffi_webhooks seeds", seeds.len());
    let mut failures = Vec::new();
    for path in seeds.iter().chain(files("regressions").iter()) {
        let data = std::fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| ffi_webhooks(&data))).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(failures.is_empty(), "these inputs panicked: {failures:#?}");
}
