//! # bukti-server
//!
//! The sync server and HQ API. Devices push Automerge changes and pull their unit's change feed;
//! the server merges every push into the central evidence store with the same code the devices
//! use ([`bukti_core`]), keeps a relational projection beside each document for HQ's questions,
//! and answers HQ's list, record and review requests.
//!
//! - [`config`]: settings and opening the store they name.
//! - [`listen`]: accepting connections (header timeout, connections per address);
//!   [`routes`]: the router and its tower layers; [`middleware`]: rules every request shares;
//!   [`api`]: one module per resource.
//! - [`auth`]: bearer tokens and session cookies → principals bound to a unit subtree;
//!   [`error`]: the one map from every layer's errors to HTTP answers.
//! - [`directory`]: units, people and roles, principals and token hashing, device enrollment,
//!   web sign-in; [`ratelimit`].
//! - [`ingest`]: the push pipeline and the one write path for records; [`review`]: the
//!   two-level review workflow's steps; [`projection`]: the columns derived from a document;
//!   [`service`]: what those services refuse or fail with.
//! - [`store`]: the evidence-store trait with its SQLite and PostgreSQL implementations.
//! - [`blob`]: photo bytes: resumable uploads into a local folder or S3-compatible storage.
//! - [`audit`]: the hash-chained audit log of who did and saw what; [`evidence`]: the server's
//!   signing key, push signatures, receipts and the evidence log's signed head.
//! - [`admin`]: operator commands (tokens, projection rebuild); [`metrics`]: Prometheus.
//! - [`web`]: the HQ console's pages (sign-in, records, one record, dashboard, worksheet,
//!   evidence-pack export), server-rendered.
//! - [`ops`]: operator maintenance: backup, restore and the projection rebuild.
//! - [`pack_jobs`]: evidence packs made while the server runs, for the console's export page.
//!
//! Dependencies point one way: HTTP → services → store and blobs; `layers` (a test) keeps it so.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod blob;
pub mod config;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod evidence;
pub mod export;
pub mod flags;
pub mod ingest;
mod layers;
pub mod listen;
pub mod lke;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod pack_jobs;
pub mod photo_check;
pub mod projection;
pub mod ratelimit;
pub mod review;
pub mod routes;
pub mod service;
pub mod store;
pub mod web;

use std::future::Future;

pub use config::Settings;
use store::DynStore;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: DynStore,
    /// Photo bytes and their limits.
    pub blobs: blob::upload::Blobs,
    pub metrics: metrics::Metrics,
    /// Limits on sign-in and enrollment attempts.
    pub limits: std::sync::Arc<ratelimit::Limits>,
    /// Signs receipts and evidence-log heads.
    pub server_key: evidence::ServerKey,
    /// Evidence packs being made or ready to download.
    pub packs: pack_jobs::PackJobs,
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests.
/// Evidence packs made from the console go to a folder in the system's temporary folder;
/// [`serve_with`] names the data folder's.
pub async fn serve(
    store: DynStore,
    blobs: blob::upload::Blobs,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let packs = pack_jobs::PackJobsConfig::in_data_dir(
        &std::env::temp_dir().join(format!("bukti-{}", std::process::id())),
    );
    serve_with(
        store,
        blobs,
        listener,
        listen::ConnectionLimits::default(),
        packs,
        shutdown,
    )
    .await
}

/// [`serve`] with chosen connection limits and evidence-pack jobs. Records the search index
/// lacks (after a migration rebuilt it) are indexed in the background meanwhile
/// ([`ops::search_index`]).
pub async fn serve_with(
    store: DynStore,
    blobs: blob::upload::Blobs,
    listener: tokio::net::TcpListener,
    limits: listen::ConnectionLimits,
    packs: pack_jobs::PackJobsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server_key = evidence::ServerKey::load_or_create(&store)
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(ops::search_index::run(store.clone()));
    let state = AppState {
        store,
        blobs,
        metrics: metrics::Metrics::install(),
        limits: std::sync::Arc::default(),
        server_key,
        packs: pack_jobs::PackJobs::new(packs),
    };
    let app = routes::router(state);
    tracing::info!(addr = %listener.local_addr()?, "bukti-server listening");
    listen::serve(listener, app, limits, shutdown).await
}
