//! Link options for the shipped library (UniFFI itself needs no build script: the
//! bindings come from proc-macros).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let optimised = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    // Identical code folding: the linker keeps one copy of functions whose machine code
    // is identical (generic code monomorphised into byte-identical copies is common in
    // async Rust). Only where the linker is known to be LLD, Rust's default linker for
    // this target since 1.90.
    if optimised && target == "x86_64-unknown-linux-gnu" {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--icf=all");
    }
}
