//! Bukti's fuzzing entry points, built as a library so the cargo-fuzz targets stay one line each.
//! The regression test in `bukti-tests` compiles the same `entries.rs` and feeds it the committed
//! corpora and crashers, so every finding stays fixed under `cargo nextest run --workspace`.

pub mod entries;

/// Called once before fuzzing: Automerge has panicked on hostile bytes before, so
/// `bukti_core::ingest` runs it under `catch_unwind` and turns a panic into an error. libFuzzer's
/// hook would abort on such a contained panic; this one stays quiet, so only a panic that
/// escapes Bukti's code crashes the target. `BUKTI_FUZZ_STRICT=1` keeps libFuzzer's hook, to
/// hunt the contained panics too.
pub fn allow_contained_panics() {
    if std::env::var("BUKTI_FUZZ_STRICT").as_deref() != Ok("1") {
        std::panic::set_hook(Box::new(|_| {}));
    }
}
