#![no_main]
//! cargo-fuzz target: see `bukti_fuzz::entries::enrollment`.

libfuzzer_sys::fuzz_target!(
    init: bukti_fuzz::allow_contained_panics(),
    |data: &[u8]| bukti_fuzz::entries::enrollment(data)
);
