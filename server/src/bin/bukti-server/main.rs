//! `bukti-server`: runs the Bukti sync server and HQ API, and the operator commands beside it.

use anyhow::Context;
use bukti_server::{
    Settings, admin,
    config::{BlobSettings, S3Settings},
    directory,
};
use clap::Parser;
use cli::{AuditCommand, Cli, Command, LkeCommand, TokenCommand};
use ops::{run_backup, run_pack, run_rebuild, run_restore};
use tracing_subscriber::EnvFilter;

mod cli;
mod ops;

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
