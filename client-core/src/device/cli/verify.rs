//! `bukti verify PACK.zip`: checks an evidence pack offline. The zip is read here; the checks
//! are `bukti_core::evidence::pack::verify`, pure. Entries are listed from the zip's central
//! directory and refused before any byte is inflated when they could harm the reader.

use std::{collections::HashMap, fs::File, io::Read, path::PathBuf};

use anyhow::Context;
use clap::Args;
use zip::ZipArchive;

use crate::evidence::pack::{self, EntryInfo, KeySource, Limits, PackError, PackFiles};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The evidence pack (a zip made by `bukti-server pack`).
    pub pack: PathBuf,
    /// The server's public key (64 hex digits) to check the pack against, as published by the
    /// server (`GET /api/v1/evidence/key`). Without it the key inside the pack is used, which
    /// proves only that the pack is whole, not who made it.
    #[arg(long, value_name = "HEX")]
    pub server_key: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

struct Zip {
    archive: ZipArchive<File>,
    index: HashMap<String, usize>,
}

impl PackFiles for Zip {
    fn read(&mut self, name: &str, max: u64) -> Result<Vec<u8>, String> {
        let i = *self.index.get(name).ok_or("no such entry")?;
        let entry = self.archive.by_index(i).map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        entry
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > max {
            return Err(format!("it unpacks to more than {max} bytes"));
        }
        Ok(bytes)
    }
}

/// Opens the zip and lists its entries as its central directory describes them.
fn open(path: &PathBuf) -> anyhow::Result<(Zip, Vec<EntryInfo>)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = ZipArchive::new(file).map_err(|e| match e {
        zip::result::ZipError::InvalidArchive(why) if why.contains("uplicate") => {
            anyhow::anyhow!(
                "{}: {}",
                path.display(),
                PackError::DuplicateName(why.into_owned())
            )
        }
        e => anyhow::anyhow!("{} is not a readable zip: {e}", path.display()),
    })?;
    let mut entries = Vec::with_capacity(archive.len());
    let mut index = HashMap::with_capacity(archive.len());
    for i in 0..archive.len() {
        let e = archive
            .by_index_raw(i)
            .with_context(|| format!("{}: entry {i} is unreadable", path.display()))?;
        let name = String::from_utf8_lossy(e.name_raw()).into_owned();
        entries.push(EntryInfo {
            name: name.clone(),
            size: e.size(),
            compressed: e.compressed_size(),
        });
        index.insert(name, i);
    }
    Ok((Zip { archive, index }, entries))
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let (mut zip, entries) = open(&args.pack)?;
    let report = pack::verify(
        &entries,
        &mut zip,
        args.server_key.as_deref(),
        &Limits::default(),
    )
    .map_err(|e| anyhow::anyhow!("the evidence pack {} FAILS: {e}", args.pack.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("Evidence pack {}: VERIFIED", args.pack.display());
    println!(
        "  manifest signed by server key {} ({})",
        report.server_key,
        match report.key_source {
            KeySource::Given => "the key you gave",
            KeySource::Pack =>
                "the key inside the pack: give --server-key to prove the pack is that server's",
        }
    );
    println!("  unit {}", report.unit);
    println!(
        "  {} files ({} bytes), every SHA-256 and size as the manifest says, none missing or added",
        report.files, report.bytes
    );
    println!(
        "  {} records: each document's heads as signed, its JSON what the document reads as, {} photos its own",
        report.records, report.photos
    );
    println!(
        "  {} evidence-log entries hashed and within the signed log head (entry {}), {} device-signed pushes verified, {} with the server's receipt",
        report.log_entries, report.log_head_seq, report.signed_pushes, report.receipts
    );
    Ok(())
}
