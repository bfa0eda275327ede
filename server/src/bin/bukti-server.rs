//! `bukti-server`: runs the Bukti sync server and HQ API, and the operator commands beside it.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use bukti_server::{
    Settings, admin,
    config::{BlobSettings, S3Settings},
    directory,
};
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

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
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    store: StoreArgs,

    /// Address to listen on.
    #[arg(
        long,
        env = "BUKTI_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    listen: SocketAddr,

    /// Seconds a client may take to send a request's headers; slower connections, and idle
    /// keep-alive ones, are closed.
    #[arg(
        long,
        env = "BUKTI_HEADER_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=600),
        global = true
    )]
    header_timeout: u64,

    /// Connections one client address may hold at once; more are answered 503. Set 0 behind a
    /// reverse proxy, where every client has the proxy's address (let the proxy limit them).
    #[arg(
        long,
        env = "BUKTI_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256,
        global = true
    )]
    max_connections_per_address: usize,
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// Folder for the embedded database. Created if missing.
    #[arg(long, env = "BUKTI_DATA", default_value = "bukti-data", global = true)]
    data: PathBuf,

    /// Use PostgreSQL instead of the embedded SQLite, e.g. postgres://bukti@db/bukti. Several
    /// server processes may share one database.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,

    /// Folder for photo bytes [default: <data>/blobs].
    #[arg(long, env = "BUKTI_BLOB_DIR", global = true)]
    blob_dir: Option<PathBuf>,

    /// Store photo bytes in this S3 bucket instead of the folder. Credentials come from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "BUKTI_S3_BUCKET", global = true)]
    s3_bucket: Option<String>,

    /// S3-compatible endpoint, e.g. http://127.0.0.1:9000 [default: AWS].
    #[arg(long, env = "BUKTI_S3_ENDPOINT", global = true, requires = "s3_bucket")]
    s3_endpoint: Option<String>,

    /// S3 region.
    #[arg(
        long,
        env = "BUKTI_S3_REGION",
        default_value = "us-east-1",
        global = true
    )]
    s3_region: String,

    /// Largest photo (one blob) accepted, in bytes.
    #[arg(long, env = "BUKTI_MAX_BLOB_BYTES", default_value_t = bukti_core::protocol::DEFAULT_MAX_BLOB_BYTES, global = true)]
    max_blob_bytes: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
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
struct PackArgs {
    /// Unit path whose subtree is packed, e.g. bali/buleleng.
    #[arg(long)]
    unit: String,
    /// First day (in the unit's time zone), e.g. 2026-01-01.
    #[arg(long)]
    from: Option<String>,
    /// Last day, included.
    #[arg(long)]
    to: Option<String>,
    /// LKE area codes to include (MP, PW, …); repeat for several. Default: all, and untagged.
    #[arg(long = "area")]
    areas: Vec<String>,
    /// The zip to write; must not exist.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum LkeCommand {
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
enum TokenCommand {
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
enum AuditCommand {
    /// Walk the whole chain: prints the entry count and head hash, or names the first entry that
    /// was altered or removed and exits 1. Safe while the server runs.
    Verify,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout carries what commands print for scripts (a token, the OpenAPI
    // text), which a warning logged on the way (a slow statement on a large store) would corrupt.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    let s3 = cli.store.s3_bucket.map(|bucket| S3Settings {
        endpoint: cli.store.s3_endpoint,
        bucket,
        region: cli.store.s3_region,
        ..S3Settings::default()
    });
    let settings = Settings {
        data_dir: cli.store.data,
        database_url: cli.store.database_url,
        blobs: BlobSettings {
            dir: cli.store.blob_dir,
            s3,
            max_bytes: cli.store.max_blob_bytes,
        },
    };
    // Backup and restore work on the store's files and tools directly; a restore must not open
    // (and so create) the store it is about to fill.
    match &cli.command {
        Some(Command::Backup { to }) => return run_backup(&settings, to).await,
        Some(Command::Restore { from }) => return run_restore(&settings, from).await,
        Some(Command::Openapi) => {
            print!("{}", bukti_server::openapi::json());
            return Ok(());
        }
        _ => {}
    }
    let store = settings
        .open_store()
        .await
        .with_context(|| format!("opening the evidence store ({settings:?})"))?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(cli.listen)
                .await
                .with_context(|| {
                    format!(
                        "listening on {}; is another server running there?",
                        cli.listen
                    )
                })?;
            tracing::info!(?settings, "evidence store open");
            let blobs = settings
                .open_blobs()
                .with_context(|| format!("opening the blob store ({:?})", settings.blobs))?;
            let limits = bukti_server::listen::ConnectionLimits {
                header_read_timeout: std::time::Duration::from_secs(cli.header_timeout),
                per_address: cli.max_connections_per_address,
            };
            let packs = bukti_server::pack_jobs::PackJobsConfig::in_data_dir(&settings.data_dir);
            bukti_server::serve_with(store, blobs, listener, limits, packs, shutdown_signal())
                .await?;
            tracing::info!("stopped");
        }
        Command::Lke(LkeCommand::Load { file }) => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let edition = bukti_server::lke::load_edition(&store, &json).await?;
            println!(
                "installed LKE edition {} version {} ({}); worksheets are scored against it now",
                edition.edition, edition.version, edition.title
            );
        }
        Command::Lke(LkeCommand::Show) => {
            let lke = bukti_server::lke::active(&store).await?;
            println!(
                "in force: {} version {} — {} ({} areas, {} sub-indicators, {} questions)",
                lke.edition,
                lke.version,
                lke.title,
                lke.areas.len(),
                lke.sub_indicators.len(),
                lke.questions.len()
            );
            for e in store.editions().await? {
                println!(
                    "installed: {} version {} — {}",
                    e.edition, e.version, e.title
                );
            }
        }
        Command::Audit(AuditCommand::Verify) => {
            match bukti_server::store::audit::verify(&store).await? {
                Ok((entries, head)) => println!("audit log intact: {entries} entries, head {head}"),
                Err(breach) => {
                    anyhow::bail!("audit log broken at entry {}: {breach}", breach.seq())
                }
            }
        }
        Command::Verify => {
            let report = bukti_server::ops::verify::verify(&store).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if let Some(mismatch) = &report.mismatch {
                anyhow::bail!("the evidence does not match: {mismatch}");
            }
            eprintln!(
                "Evidence intact: {} log entries ({} signed pushes, {} records adopted from before the log), {} records and their projection.",
                report.log_entries, report.signed_pushes, report.adopted, report.records
            );
        }
        Command::Unit(cmd) => directory::cli::unit(&store, cmd).await?,
        Command::Person(cmd) => directory::cli::person(&store, cmd).await?,
        Command::Enroll(cmd) => directory::cli::enroll(&store, cmd).await?,
        Command::Device(cmd) => directory::cli::device(&store, cmd).await?,
        Command::Token(TokenCommand::Create { unit, name, role }) => {
            let token = admin::create_hq_token(&store, &unit, &name, &role).await?;
            println!("{token}");
            eprintln!(
                "HQ token for {name} ({role}) over {unit}. Keep it secret; it is not shown again."
            );
        }
        Command::RebuildProjection { batch } => run_rebuild(&store, batch).await?,
        Command::Pack(args) => run_pack(&settings, &store, args).await?,
        Command::Backup { .. } | Command::Restore { .. } | Command::Openapi => {
            unreachable!("handled before the store is opened")
        }
    }
    Ok(())
}

async fn run_backup(settings: &Settings, to: &std::path::Path) -> anyhow::Result<()> {
    let report = bukti_server::ops::backup(settings, to)
        .await
        .with_context(|| format!("backing up into {}", to.display()))?;
    println!("{}", serde_json::to_string_pretty(&report.manifest)?);
    let m = &report.manifest;
    eprintln!(
        "Backed up the {} database and {} photo blobs ({} bytes) into {}.",
        m.database.as_str(),
        m.blobs,
        m.blob_bytes,
        to.display()
    );
    if !report.corrupt_blobs.is_empty() {
        anyhow::bail!(
            "{} blobs were left out because their bytes do not match their names: {:?}",
            report.corrupt_blobs.len(),
            report.corrupt_blobs
        );
    }
    Ok(())
}

async fn run_restore(settings: &Settings, from: &std::path::Path) -> anyhow::Result<()> {
    let report = bukti_server::ops::restore(settings, from)
        .await
        .with_context(|| format!("restoring from {}", from.display()))?;
    eprintln!(
        "Restored {} records and {} photo blobs from the backup of {}.",
        report.records, report.blobs, report.manifest.started_at
    );
    if !report.corrupt_blobs.is_empty() {
        anyhow::bail!(
            "{} blobs in the backup do not match their names and were not restored: {:?}",
            report.corrupt_blobs.len(),
            report.corrupt_blobs
        );
    }
    Ok(())
}

async fn run_rebuild(store: &bukti_server::store::DynStore, batch: u32) -> anyhow::Result<()> {
    let report = bukti_server::ops::rebuild_projection(store, batch).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "Rebuilt the projection of {} of {} records ({} were being pushed and got theirs from the push).",
        report.rewritten, report.records, report.raced
    );
    if !report.unreadable.is_empty() {
        anyhow::bail!(
            "{} documents cannot be read as records; restore them from a backup",
            report.unreadable.len()
        );
    }
    Ok(())
}

async fn run_pack(
    settings: &Settings,
    store: &bukti_server::store::DynStore,
    args: PackArgs,
) -> anyhow::Result<()> {
    use bukti_server::ops::pack;
    let opts = pack::PackOptions::parse(
        &args.unit,
        args.from.as_deref(),
        args.to.as_deref(),
        args.areas,
        args.out,
    )
    .map_err(anyhow::Error::msg)?;
    let blobs = settings
        .open_blobs()
        .with_context(|| format!("opening the blob store ({:?})", settings.blobs))?;
    let key = bukti_server::evidence::ServerKey::load_or_create(store).await?;
    // A line per page of the store read, not per record written.
    let mut last_read = 0;
    let mut progress = |p: pack::PackProgress| {
        if p.read != last_read {
            last_read = p.read;
            eprintln!("packing: {}/{} records of the store read", p.read, p.total);
        }
    };
    let summary = pack::pack(store, &blobs.store, &key, &opts, &mut progress)
        .await
        .with_context(|| format!("writing the evidence pack {}", opts.out.display()))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    eprintln!(
        "Packed {} records ({} photos, {} not held by the server; {} files, {} bytes) into {}. \
         Check it with: bukti verify {} --server-key {}",
        summary.records,
        summary.photos,
        summary.photos_missing,
        summary.files,
        summary.bytes,
        opts.out.display(),
        opts.out.display(),
        summary.server_key
    );
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, starting a graceful shutdown.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
