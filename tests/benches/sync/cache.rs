//! The sync bench's preload cache (`--preload-cache DIR`): a preloaded store kept once (the
//! SQLite data folder copied, or a PostgreSQL template database) and copied into each later
//! round's fresh store, seconds where loading a million records takes minutes.

use std::path::{Path, PathBuf};

use sqlx::{Connection, Executor, PgConnection};

use super::server::{Store, StoreSpec, pg_admin};

impl StoreSpec {
    /// Keeps this store's contents (the server stopped) as the preload named `label` under
    /// `cache`, for [`Self::from_cache`]: the data folder copied on SQLite, a template database
    /// on PostgreSQL, whose name the cache folder records.
    pub async fn save_to_cache(&self, cache: &Path, store: Store, label: &str) {
        let entry = cache_entry(cache, store, label);
        let partial = entry.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        copy_dir(self.data.path(), &partial);
        if let Some(url) = &self.database_url {
            let name = url.rsplit_once('/').map_or("", |(_, n)| n);
            let template = format!("bukti_bench_preload_{}", label.replace('-', "_"));
            replace_database(&template, name).await;
            std::fs::write(partial.join("postgres-template"), template).expect("write cache");
        }
        let _ = std::fs::remove_dir_all(&entry);
        std::fs::rename(&partial, &entry).expect("move the preload cache into place");
    }

    /// A fresh store holding the preload named `label` that [`Self::save_to_cache`] kept, or
    /// `None` if there is none.
    pub async fn from_cache(cache: &Path, store: Store, label: &str) -> Option<StoreSpec> {
        let entry = cache_entry(cache, store, label);
        if !entry.is_dir() {
            return None;
        }
        let spec = StoreSpec::fresh(store).await;
        copy_dir(&entry, spec.data.path());
        if let Some(url) = &spec.database_url {
            let template = std::fs::read_to_string(entry.join("postgres-template")).ok()?;
            let name = url.rsplit_once('/').map_or("", |(_, n)| n);
            replace_database(name, &template).await;
        }
        Some(spec)
    }
}

/// Makes PostgreSQL database `name` a copy of `template`, dropping any `name` there was.
async fn replace_database(name: &str, template: &str) {
    let mut admin = PgConnection::connect(&pg_admin()).await.expect("connect");
    for sql in [
        format!("drop database if exists {name} with (force)"),
        format!("create database {name} template {template}"),
    ] {
        admin
            .execute(sqlx::AssertSqlSafe(sql))
            .await
            .unwrap_or_else(|e| panic!("copy database {template} as {name}: {e}"));
    }
}

fn cache_entry(cache: &Path, store: Store, label: &str) -> PathBuf {
    cache.join(format!("{}-{label}", store.name()))
}

/// Copies the files under `from` into `to` (created if needed), recursively.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("read a folder") {
        let entry = entry.expect("read a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
