//! `bukti-server verify`: walks the evidence log, the stored documents and the projection, and
//! names the first thing that does not match: a log entry edited, missing or out of order; a
//! signed push altered or not signed by its device; a document holding a change no entry
//! recorded (written behind the server's back) or lacking one an entry recorded (edited or
//! rolled back); a projection row that disagrees with its document. It counts the records
//! adopted into the log (`crate::evidence::adopt`) apart from the device-signed pushes.
//!
//! Reads page by page (the log in sequence order, documents in id order, one record's entries
//! at a time), so it runs in bounded memory beside a serving server.

use std::collections::{HashMap, HashSet};

use bukti_core::{
    evidence::{
        self,
        log::{LogEntry, LogHead},
        push::SignedPush,
    },
    ingest,
    unit::UnitPath,
};
use serde::Serialize;

use super::{OpsError, blocking, rebuild};
use crate::{
    flags::UnitAreas,
    store::{
        DynStore,
        maintenance::{DocRow, ProjectionRewrite},
    },
};

const PAGE: u32 = 500;

/// What `verify` checked, and the first mismatch, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub log_entries: u64,
    pub signed_pushes: u64,
    /// Records the server adopted into the log, stored before it existed: their changes are
    /// logged at the heads the server held then, but no device signed them.
    pub adopted: u64,
    pub records: u64,
    pub head: Option<LogHead>,
    /// The first thing that does not match, said plainly; `None` when everything does.
    pub mismatch: Option<String>,
}

/// Walks log, documents and projection; stops at the first mismatch.
pub async fn verify(store: &DynStore) -> Result<VerifyReport, OpsError> {
    let mut report = VerifyReport::default();
    if let Err(m) = walk_log(store, &mut report).await? {
        report.mismatch = Some(m);
        return Ok(report);
    }
    if let Err(m) = walk_documents(store, &mut report).await? {
        report.mismatch = Some(m);
    }
    Ok(report)
}

type Checked = Result<(), String>;

async fn walk_log(store: &DynStore, report: &mut VerifyReport) -> Result<Checked, OpsError> {
    let mut head = LogHead::empty();
    let mut pushes: HashMap<String, SignedPush> = HashMap::new();
    loop {
        let entries = store.log_since(head.seq, PAGE).await?;
        if entries.is_empty() {
            break;
        }
        head = match evidence::log::check_chain(&head, &entries) {
            Ok(h) => h,
            Err((seq, what)) => return Ok(Err(format!("evidence-log entry {seq} {what}"))),
        };
        report.log_entries += entries.len() as u64;
        report.adopted += entries.iter().filter(|e| e.is_adopted()).count() as u64;
        for e in &entries {
            let Some(hash) = &e.push else { continue };
            if !pushes.contains_key(hash) {
                match signed_push(store, hash, &e.by).await? {
                    Ok(p) => {
                        report.signed_pushes += 1;
                        // One batch's entries are consecutive: older pushes are done with.
                        pushes.clear();
                        pushes.insert(hash.clone(), p);
                    }
                    Err(m) => return Ok(Err(format!("evidence-log entry {}: {m}", e.seq))),
                }
            }
            let push = &pushes[hash];
            let signed: HashSet<&String> = push
                .records
                .iter()
                .filter(|(id, _)| *id == e.record)
                .flat_map(|(_, h)| h)
                .collect();
            if let Some(c) = e.changes.iter().find(|c| !signed.contains(c)) {
                return Ok(Err(format!(
                    "evidence-log entry {} names change {c} of record {}, which its signed push does not carry",
                    e.seq, e.record
                )));
            }
        }
    }
    report.head = Some(head);
    Ok(Ok(()))
}

/// The signed push `hash`, checked: unaltered, and signed by a key of device `by`.
async fn signed_push(
    store: &DynStore,
    hash: &str,
    by: &str,
) -> Result<Result<SignedPush, String>, OpsError> {
    let Some(row) = store.signed_push(hash).await? else {
        return Ok(Err(format!("its signed push {hash} is missing")));
    };
    if evidence::sha256_hex(row.message.as_bytes()) != row.hash {
        return Ok(Err(format!("signed push {hash} was altered")));
    }
    let push = match SignedPush::parse(&row.message) {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("signed push {hash}: {e}"))),
    };
    if !push.device.eq_ignore_ascii_case(by) {
        return Ok(Err(format!(
            "signed push {hash} was signed by device {}, not by {by}",
            push.device
        )));
    }
    let keys = store.device_keys(by).await?;
    let signed = keys.iter().any(|k| {
        evidence::public_key(&hex::encode(k))
            .and_then(|k| evidence::verify(&k, &row.message, &row.signature, "push"))
            .is_ok()
    });
    Ok(if signed {
        Ok(push)
    } else {
        Err(format!(
            "signed push {hash}'s signature does not check out under any key device {by} was enrolled with"
        ))
    })
}

async fn walk_documents(store: &DynStore, report: &mut VerifyReport) -> Result<Checked, OpsError> {
    let mut after = None;
    loop {
        let rows = store.documents_after(after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(Ok(()));
        };
        after = Some(last.id);
        for row in rows {
            report.records += 1;
            let id = row.id;
            let entries = store.log_of_record(id).await?;
            let read = blocking(move || Ok(read_document(&row))).await?;
            let checked = match read {
                Ok((derived, changes)) => match check_log(&entries, &derived.heads, &changes) {
                    Ok(()) => check_projection(store, &derived).await?,
                    Err(m) => Err(m),
                },
                Err(m) => Err(format!("the stored document is unreadable: {m}")),
            };
            if let Err(m) = checked {
                return Ok(Err(format!("record {id}: {m}")));
            }
        }
    }
}

/// The projection a document implies, and the hashes of every change in it.
fn read_document(row: &DocRow) -> Result<(ProjectionRewrite, HashSet<String>), String> {
    // Flags are advice, not part of what verify compares: no areas needed.
    let derived = rebuild::derive(row, &UnitAreas::default())?;
    let mut doc = ingest::load_document(&row.doc).map_err(|e| e.to_string())?;
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| c.hash().to_string())
        .collect();
    Ok((derived, changes))
}

/// The record's log entries against its document: every change logged, nothing logged missing,
/// and the document where the last entry left it.
fn check_log(entries: &[LogEntry], heads: &[String], changes: &HashSet<String>) -> Checked {
    let mut logged = HashSet::new();
    for e in entries {
        for c in &e.changes {
            if !changes.contains(c) {
                return Err(format!(
                    "evidence-log entry {} names change {c}, which the document lacks \
                     (the document was edited or rolled back)",
                    e.seq
                ));
            }
            logged.insert(c);
        }
    }
    if let Some(c) = changes.iter().find(|c| !logged.contains(c)) {
        return Err(format!(
            "the document holds change {c}, which no evidence-log entry records \
             (it was written behind the server's back)"
        ));
    }
    let mut last: Vec<&String> = entries
        .last()
        .map(|e| e.heads.iter().collect())
        .unwrap_or_default();
    let mut now: Vec<&String> = heads.iter().collect();
    last.sort();
    now.sort();
    if last != now {
        return Err("the document's heads are not those the evidence log last recorded".into());
    }
    Ok(())
}

/// The stored projection row against the one the document implies.
async fn check_projection(
    store: &DynStore,
    derived: &ProjectionRewrite,
) -> Result<Checked, OpsError> {
    let p = &derived.projection;
    let scope = UnitPath::parse(&p.unit).map_err(|e| {
        OpsError::Store(crate::store::StoreError::Corrupt(format!(
            "unit {:?}: {e}",
            p.unit
        )))
    })?;
    let Some((row, _)) = store.get(&scope, derived.id).await? else {
        return Ok(Err(format!(
            "the projection has no row under unit {}, where the document files it",
            p.unit
        )));
    };
    let photos: HashSet<&str> = p.photos.iter().map(|b| b.photo.as_str()).collect();
    let mut lke: Vec<&str> = p.lke.iter().map(|(code, _)| code.as_str()).collect();
    let mut stored_lke: Vec<&str> = row.lke.iter().map(String::as_str).collect();
    lke.sort_unstable();
    stored_lke.sort_unstable();
    let fields = [
        ("officer", row.officer.clone(), p.officer.clone()),
        ("kind", row.kind.clone(), p.kind.clone()),
        ("title", row.title.clone(), p.title.clone()),
        ("status", row.status.clone(), p.status.to_owned()),
        (
            "verdict",
            format!("{:?}", row.verdict),
            format!("{:?}", p.verdict),
        ),
        ("state", row.state.clone(), p.state.to_owned()),
        (
            "captured_at",
            row.captured_at.to_string(),
            p.captured_at.to_string(),
        ),
        (
            "started_at",
            format!("{:?}", row.started_at),
            format!("{:?}", p.started_at),
        ),
        (
            "ended_at",
            format!("{:?}", row.ended_at),
            format!("{:?}", p.ended_at),
        ),
        ("lat", format!("{:?}", row.lat), format!("{:?}", p.lat)),
        ("lon", format!("{:?}", row.lon), format!("{:?}", p.lon)),
        ("place", row.place.clone(), p.place.clone()),
        ("lke", stored_lke.join(","), lke.join(",")),
        ("photos", row.photos.to_string(), photos.len().to_string()),
    ];
    Ok(match fields.iter().find(|(_, stored, doc)| stored != doc) {
        Some((name, stored, doc)) => Err(format!(
            "the projection's {name} is {stored:?}, but the document says {doc:?}"
        )),
        None => Ok(()),
    })
}
