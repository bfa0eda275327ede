#![no_main]
//! cargo-fuzz target: see `bukti_fuzz::entries::upload_chunk`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| bukti_fuzz::entries::upload_chunk(data));
