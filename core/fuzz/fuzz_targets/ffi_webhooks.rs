#![no_main]
//! The FFI webhook verifiers (`pesakit_ffi::fuzzing::ffi_webhooks`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| pesakit_ffi::fuzzing::ffi_webhooks(data));
