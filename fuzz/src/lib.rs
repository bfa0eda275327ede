//! Bukti's fuzzing entry points, built as a library so the cargo-fuzz targets stay one line each.
//! The regression test in `bukti-tests` compiles the same `entries.rs` and feeds it the committed
//! corpora and crashers, so every finding stays fixed under `cargo test --workspace`.

pub mod entries;
