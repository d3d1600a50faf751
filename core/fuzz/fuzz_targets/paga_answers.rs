#![no_main]
//! `pesakit::fuzzing::targets::paga_answers`: see its documentation for the input format.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pesakit::fuzzing::targets::paga_answers(data));
