//! The UniFFI binding generator, built from the same pinned `uniffi` as the library so
//! the generated code and the library always agree.
fn main() {
    uniffi::uniffi_bindgen_main()
}
