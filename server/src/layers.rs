//! Keeps the server's dependencies pointing one way (docs: ARCHITECTURE.md, "Layers"): the HTTP
//! layer (routes, extractors, pages, the one error map) calls the services, the services call
//! the store and the blob stores, and nothing below HTTP names it. A module outside
//! [`HTTP_LAYER`] that mentions axum, an HTTP type or one of the HTTP modules, even in a doc
//! link, fails the test below; new modules are checked without being listed.
//!
//! The store's SQL is written once for both databases (see [`crate::store`]): a trait of the
//! store is implemented for SQLite and PostgreSQL by one macro body, never by hand twice, and
//! the second test below keeps it so.

#![cfg(test)]

use std::path::{Path, PathBuf};

/// The files and folders of `src/` that make up the HTTP layer (and the binary that starts it).
const HTTP_LAYER: [&str; 13] = [
    "api",
    "web",
    // The description of the HTTP API, generated from its handlers.
    "openapi.rs",
    "auth.rs",
    "error.rs",
    "middleware.rs",
    "routes.rs",
    "listen.rs",
    "listen",
    "metrics.rs",
    "lib.rs",
    "bin",
    "layers.rs",
];

/// What a module below HTTP must not name.
const FORBIDDEN: [&str; 8] = [
    "axum",
    "http::",
    "crate::api",
    "crate::web",
    "crate::auth",
    "crate::middleware",
    "ApiError",
    "ApiResult",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `file:line: token` for each forbidden token in a file below the HTTP layer.
fn offences(src: &Path) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    let mut checked = 0;
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let top = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy());
        if top.is_some_and(|t| HTTP_LAYER.contains(&t.as_ref())) {
            continue;
        }
        checked += 1;
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        for (n, line) in text.lines().enumerate() {
            for token in FORBIDDEN.iter().filter(|t| line.contains(**t)) {
                found.push(format!("{}:{}: {token}", rel.display(), n + 1));
            }
        }
    }
    (found, checked)
}

#[test]
fn nothing_below_the_http_layer_names_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for part in HTTP_LAYER {
        assert!(src.join(part).exists(), "src/{part} is listed but gone");
    }
    let (found, checked) = offences(&src);
    assert!(
        checked >= 30,
        "only {checked} files were checked: is src/ laid out as expected?"
    );
    assert!(
        found.is_empty(),
        "modules below the HTTP layer name it (return a domain error and map it in \
         error.rs; take plain types, not axum's):\n{}",
        found.join("\n")
    );
}

/// `file:line` of each hand-written impl of a trait for one of the two stores.
fn store_twins(store: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(store, &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("impl")
                && (line.contains(" for SqliteStore") || line.contains(" for PgStore"))
            {
                found.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn store_traits_are_written_once_for_both_databases() {
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let twins = store_twins(&store);
    assert!(
        twins.is_empty(),
        "implement store traits with the module's impl_…! macro over both stores, keeping what \
         really differs in a dialect function (see store/records.rs):\n{}",
        twins.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("store")).unwrap_or_else(|e| panic!("{e}"));
    let leak = "use crate::error::ApiError;\nfn f(_: axum::body::Bytes) {}\n";
    std::fs::write(dir.path().join("store/leak.rs"), leak).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("routes.rs"), "use axum::Router;\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("store/twin.rs"),
        "#[async_trait]\nimpl Search for PgStore {}\nimpl PgStore {}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let twins = store_twins(&dir.path().join("store"));
    assert_eq!(twins.len(), 1, "only the trait impl: {twins:?}");
    assert!(twins[0].ends_with("twin.rs:2"), "{twins:?}");
    let (found, checked) = offences(dir.path());
    assert_eq!(checked, 2, "routes.rs is the HTTP layer's own");
    assert_eq!(
        found,
        ["store/leak.rs:1: ApiError", "store/leak.rs:2: axum"],
        "each forbidden name with its place"
    );
}
