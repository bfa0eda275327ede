//! The command line: the server's options and the operator commands, as `--help` teaches them.

use std::{net::SocketAddr, path::PathBuf};

use bukti_server::directory;
use clap::{Args, Parser, Subcommand};

/// Bukti's sync server: officers' devices push evidence here and pull their unit's changes; HQ
/// lists, reads and reviews the merged records.
///
/// With no options it stores everything under ./bukti-data (an embedded SQLite database; nothing
/// to install) and listens on 127.0.0.1:8080.
///
/// Example, first run (the commands work while the server runs, on the same store):
///
///   bukti-server &                                 # serve on the embedded default
///   bukti-server unit demo                         # Polda Bali → Polres Buleleng → 10 Polsek
///   bukti-server person add --nrp 87010123 --name "Putu Arta" --rank Bripka \
///       --unit bali/buleleng/sawan --role officer
///   bukti-server enroll issue --officer 87010123 --qr enroll.png
///                                                  # a one-time code for the officer's phone
///   echo 'a-long-password' | bukti-server person add --nrp 85030001 --name "Kasat Binmas" \
///       --rank AKP --unit bali/buleleng --role reviewer --password-stdin
///                                                  # signs in on the web with NRP + password
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on.
    #[arg(
        long,
        env = "BUKTI_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Seconds a client may take to send a request's headers; slower connections, and idle
    /// keep-alive ones, are closed.
    #[arg(
        long,
        env = "BUKTI_HEADER_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=600),
        global = true
    )]
    pub header_timeout: u64,

    /// Connections one client address may hold at once; more are answered 503. Set 0 behind a
    /// reverse proxy, where every client has the proxy's address (let the proxy limit them).
    #[arg(
        long,
        env = "BUKTI_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256,
        global = true
    )]
    pub max_connections_per_address: usize,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Folder for the embedded database. Created if missing.
    #[arg(long, env = "BUKTI_DATA", default_value = "bukti-data", global = true)]
    pub data: PathBuf,

    /// Use PostgreSQL instead of the embedded SQLite, e.g. postgres://bukti@db/bukti. Several
    /// server processes may share one database.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Folder for photo bytes [default: <data>/blobs].
    #[arg(long, env = "BUKTI_BLOB_DIR", global = true)]
    pub blob_dir: Option<PathBuf>,

    /// Store photo bytes in this S3 bucket instead of the folder. Credentials come from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "BUKTI_S3_BUCKET", global = true)]
    pub s3_bucket: Option<String>,

    /// S3-compatible endpoint, e.g. http://127.0.0.1:9000 [default: AWS].
    #[arg(long, env = "BUKTI_S3_ENDPOINT", global = true, requires = "s3_bucket")]
    pub s3_endpoint: Option<String>,

    /// S3 region.
    #[arg(
        long,
        env = "BUKTI_S3_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub s3_region: String,

    /// Largest photo (one blob) accepted, in bytes.
    #[arg(long, env = "BUKTI_MAX_BLOB_BYTES", default_value_t = bukti_core::protocol::DEFAULT_MAX_BLOB_BYTES, global = true)]
    pub max_blob_bytes: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the HTTP API's OpenAPI description (what `GET /api/v1/openapi.json` serves), e.g.
    /// `bukti-server openapi > docs/openapi.json`. Opens no store.
    Openapi,
    /// API tokens for scripts (people sign in on the web with NRP and password).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy the database and the photo bytes (each verified against its SHA-256) into a new
    /// folder while the server runs. PostgreSQL is copied with pg_dump, which must be on PATH.
    Backup {
        /// Folder to write; must be missing or empty.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup folder into a fresh, empty data folder or PostgreSQL database (as
    /// --data / --database-url name; never over existing data). Uses pg_restore for PostgreSQL.
    Restore {
        /// A folder made by `bukti-server backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Rewrite the relational projection (HQ's record columns, LKE tags, photo references) from
    /// the stored documents, without moving feed positions. Safe while the server runs.
    RebuildProjection {
        /// Records per transaction.
        #[arg(long, default_value_t = bukti_server::ops::rebuild::DEFAULT_BATCH)]
        batch: u32,
    },
    /// The unit tree: load the demo organisation, add, rename, move, list.
    #[command(subcommand)]
    Unit(directory::cli::UnitCommand),
    /// People and their roles; web sign-in passwords.
    #[command(subcommand)]
    Person(directory::cli::PersonCommand),
    /// One-time enrollment codes for officers' devices (also as QR codes).
    #[command(subcommand)]
    Enroll(directory::cli::EnrollCommand),
    /// Enrolled devices: list, revoke.
    #[command(subcommand)]
    Device(directory::cli::DeviceCommand),
    /// Check the hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the evidence: the evidence log (each entry's link and hash, each device's push
    /// signature), every stored document (each of its changes logged, nothing logged missing)
    /// and the projection (each row what its document implies). Prints what was checked, or
    /// names the first mismatch and exits 1. Safe while the server runs.
    Verify,
    /// The LKE edition worksheets are scored against.
    #[command(subcommand)]
    Lke(LkeCommand),
    /// Write the evidence pack of a unit's subtree: a zip laid out like the LKE (a folder per
    /// area and sub-indicator), each record as JSON, its Automerge document, a printable page
    /// and its photos, with the device signatures, the evidence-log entries and the signed log
    /// head, and a manifest of every file's SHA-256 signed by the server key. Check it offline
    /// with `bukti verify PACK.zip --server-key <key>`.
    Pack(PackArgs),
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// Unit path whose subtree is packed, e.g. bali/buleleng.
    #[arg(long)]
    pub unit: String,
    /// First day (in the unit's time zone), e.g. 2026-01-01.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, included.
    #[arg(long)]
    pub to: Option<String>,
    /// LKE area codes to include (MP, PW, …); repeat for several. Default: all, and untagged.
    #[arg(long = "area")]
    pub areas: Vec<String>,
    /// The zip to write; must not exist.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum LkeCommand {
    /// Install a newer LKE edition from a JSON file (see client-core/catalogue/lke-*.json for
    /// the shape). The file is checked first: weights that do not add up, unknown codes or
    /// duplicate questions are refused with the exact reason, and nothing is installed.
    Load {
        /// The edition file.
        file: PathBuf,
    },
    /// Show the edition in force and those installed.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an HQ token for a person or script and print it (it is shown only once).
    Create {
        /// Unit path whose subtree the token sees, e.g. bali/buleleng.
        #[arg(long)]
        unit: String,
        /// Who holds the token; appears in audit trails and review history.
        #[arg(long)]
        name: String,
        /// Roles, comma-separated: admin, approver, reviewer, operator or viewer.
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole chain: prints the entry count and head hash, or names the first entry that
    /// was altered or removed and exits 1. Safe while the server runs.
    Verify,
}
