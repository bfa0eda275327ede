//! Bukti's end-to-end tests, in one test binary. Each module below was once a test target of its
//! own, and every one of them linked the server, the device core, SQLite, PostgreSQL and
//! Automerge again: one binary is linked once. Helpers shared by the modules live in the
//! `bukti_tests` library (`tests/src`), the photo tests' in [`photos_common`].
//!
//! One module, or one test: `cargo nextest run -p bukti-tests crash::` (names are filters).

mod api_times;
mod audit;
mod backup;
mod bad_input;
mod bad_network;
mod bins;
mod blob_holder_backfill;
mod blob_scope;
mod change_authorization;
mod console;
mod console_security;
mod convergence;
mod convergence_properties;
mod crash;
mod dashboard_flags;
mod error_bodies;
mod evidence;
mod evidence_pack;
mod flags;
mod fuzz_regressions;
mod hostile_input;
mod identity;
mod js_client;
mod load;
mod log_adoption;
mod openapi;
mod pack_export;
mod photo_faults;
mod photo_faults_disk;
mod photos_cli;
mod photos_common;
mod photos_device;
mod photos_server;
mod photos_server_hq;
mod photos_shared_folder;
mod processes;
mod push_budget;
mod query_plans;
mod rebuild;
mod record_queries;
mod record_scope;
mod review_workflow;
mod roles;
mod slow_clients;
mod sync_flow;
mod walkthrough;
mod worksheet;
mod write_stream;
