//! Build-script half of embedding SQL migrations: `server/build.rs` and `client-core/build.rs`
//! include this file to turn a folder of `NNNN_description.sql` files into a Rust expression
//! (`vec![Migration::new(..), ..]`) that the crate `include!`s and hands to
//! `sqlx::migrate::Migrator::with_migrations`.
//!
//! Why not `sqlx::migrate!`: that macro is sqlx's only reason to build its proc-macro crate,
//! and with it a second copy of the SQLite and PostgreSQL drivers and of SQLite's C source for
//! the compiler's own use: about three minutes of CPU in every clean build and lint run, to
//! read a folder. The files, versions, descriptions and checksums are the same as the macro's
//! (sqlx checks each applied migration's SHA-384 against the file), so existing databases see
//! no difference.

use std::{fmt::Write as _, fs, path::Path};

/// Writes `$OUT_DIR/<out_name>` with the migrations of `folder` (relative to the crate) and
/// tells cargo to build again when the folder changes.
pub fn embed(folder: &str, out_name: &str) {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let dir = Path::new(&crate_dir).join(folder);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading migrations folder {}: {e}", dir.display()))
        .map(|entry| entry.expect("migrations folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut code = String::from("vec![\n");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("migration file names are UTF-8");
        let (version, rest) = name
            .split_once('_')
            .unwrap_or_else(|| panic!("migration {name}: expected NNNN_description.sql"));
        let version: i64 = version
            .parse()
            .unwrap_or_else(|_| panic!("migration {name}: version prefix is not a number"));
        let stem = rest.trim_end_matches(".sql");
        assert!(
            !stem.ends_with(".up") && !stem.ends_with(".down"),
            "migration {name}: reversible migrations are not used here"
        );
        let description = stem.replace('_', " ");
        let sql = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading migration {}: {e}", path.display()));
        // The same opt-out sqlx's folder reader honours.
        let no_tx = sql.starts_with("-- no-transaction");
        writeln!(
            code,
            "    ::sqlx::migrate::Migration::new({version}, ::std::borrow::Cow::Borrowed({description:?}), \
             ::sqlx::migrate::MigrationType::Simple, \
             ::sqlx::SqlStr::from_static(include_str!({path:?})), {no_tx}),",
            path = path.display().to_string(),
        )
        .expect("writing to a String");
    }
    code.push(']');
    fs::write(Path::new(&out_dir).join(out_name), code).expect("writing the embedded migrations");
}
