//! The binaries under test: the shipped `bukti-server` and `bukti` programs, compiled from their
//! own sources as this package's `test-bukti-server` and `test-bukti` targets (tests/Cargo.toml).
//! Cargo builds them before any test runs and hands their paths over as `CARGO_BIN_EXE_*`, so a
//! test can never run a stale copy left in `target/`, and no test builds anything itself.

use std::process::Command;

use bukti_tests::TestServer;

/// `bukti-server` with nothing set.
pub fn bukti_server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_test-bukti-server"))
}

/// `bukti` with nothing set.
pub fn bukti() -> Command {
    Command::new(env!("CARGO_BIN_EXE_test-bukti"))
}

/// `bukti-server` over `server`'s store (its data folder, and its PostgreSQL database if any),
/// the way an operator runs it beside the server; the caller's environment cannot redirect it.
pub fn server_command(server: &TestServer) -> Command {
    let mut cmd = bukti_server();
    cmd.env_remove("DATABASE_URL")
        .env_remove("BUKTI_DATA")
        .env("NO_COLOR", "1")
        .arg("--data")
        .arg(&server.settings.data_dir);
    if let Some(url) = &server.settings.database_url {
        cmd.args(["--database-url", url]);
    }
    cmd
}
