#![no_main]
//! `pesakit::fuzzing::targets::phone`: see its documentation for the input format.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pesakit::fuzzing::targets::phone(data));
