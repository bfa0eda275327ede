//! The operator commands that run beside the server on the same store: backup, restore,
//! rebuild and evidence packs, with their progress on stderr.

use anyhow::Context;
use bukti_server::Settings;

use crate::cli::PackArgs;

pub async fn run_backup(settings: &Settings, to: &std::path::Path) -> anyhow::Result<()> {
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

pub async fn run_restore(settings: &Settings, from: &std::path::Path) -> anyhow::Result<()> {
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

pub async fn run_rebuild(store: &bukti_server::store::DynStore, batch: u32) -> anyhow::Result<()> {
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

pub async fn run_pack(
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
