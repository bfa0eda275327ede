//! [`RecordDoc`]: one record's Automerge document, with the operations devices and the server
//! perform on it (create, load, read the typed view, edit, save, changes since some heads).
//!
//! Document layout (root map): `id`, `schema`, `unit`, `officer`, `kind`, `title`, `narrative`,
//! `place`, `status` (strings or uint); `started_at`, `ended_at`, `captured_at` (timestamps, ms);
//! `location` (map: `lat`, `lon`, `accuracy_m`, `source`); `counts` (map: `people_served`,
//! `participants`, `services` map of type → uint); `lke` (map of code → true); `photos` (map of
//! hash → map); `review` (map: `verdict`, `verdict_by`, `verdict_at`, `comments` list of maps).
//!
//! Reading lives in [`super::read`], writing diffs in [`super::write`].

use automerge::{ActorId, AutoCommit, ChangeHash, transaction::CommitOptions};
use jiff::Timestamp;

pub use super::read::read;
use super::{Problem, Record, write::write};

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("the document bytes are empty")]
    Empty,
    #[error("the document bytes are not a valid Automerge document: {0}")]
    Corrupt(#[from] automerge::AutomergeError),
    #[error("the document is not a valid record: {}", Problem::join(.0))]
    NotARecord(Vec<Problem>),
}

/// One record's Automerge document.
#[derive(Debug)]
pub struct RecordDoc {
    doc: AutoCommit,
}

impl RecordDoc {
    /// A new document holding `record`, written in one change by `actor`.
    pub fn create(record: &Record, actor: ActorId, author: &str) -> Self {
        let mut this = Self {
            doc: AutoCommit::new().with_actor(actor),
        };
        write(&mut this.doc, None, record).expect("writing to a fresh document cannot fail");
        this.commit(author);
        this
    }

    /// Loads a document from bytes this side wrote itself (the local store); untrusted bytes go
    /// through [`crate::ingest`].
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, DocError> {
        if bytes.is_empty() {
            // Automerge loads empty input as an empty document; for us that is always a bug.
            return Err(DocError::Empty);
        }
        let doc = AutoCommit::load(bytes)?.with_actor(actor);
        Ok(Self { doc })
    }

    pub fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// The typed view, or every reason the document is not a record.
    pub fn read(&self) -> Result<Record, Vec<Problem>> {
        read(&self.doc)
    }

    /// Applies `edit` to the typed view and commits the difference as one change attributed to
    /// `author`. Returns the new change's hash, or `None` when the edit changed nothing.
    pub fn edit(
        &mut self,
        author: &str,
        edit: impl FnOnce(&mut Record),
    ) -> Result<Option<ChangeHash>, DocError> {
        let before = self.read().map_err(DocError::NotARecord)?;
        let mut after = before.clone();
        edit(&mut after);
        if after == before {
            return Ok(None);
        }
        write(&mut self.doc, Some(&before), &after)?;
        Ok(self.commit(author))
    }

    fn commit(&mut self, author: &str) -> Option<ChangeHash> {
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(author)
                .with_time(Timestamp::now().as_millisecond()),
        )
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The changes a peer that has `heads` lacks, each as one raw (uncompressed) change chunk:
    /// the sync protocol refuses compressed chunks, which `Change::bytes` may produce.
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<Vec<u8>> {
        self.doc
            .get_changes(heads)
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use automerge::{ROOT, ReadDoc, transaction::Transactable};

    use super::*;
    use crate::record::{Location, write::map_at};

    fn sample() -> Record {
        let mut r = Record::new(
            "bali/buleleng/sawan",
            "87010123",
            "sambang",
            "Sambang Desa Sudaji",
        );
        r.narrative = "Sambang ke rumah warga".into();
        r.counts.services.insert("skck".into(), 2);
        r.lke.insert("MP.R3".into());
        r.location = Some(Location {
            lat: -8.12,
            lon: 115.2,
            accuracy_m: Some(8.0),
            source: "gps".into(),
        });
        r.photos.insert(
            "a".repeat(64),
            crate::record::PhotoRef {
                size: 3_204_112,
                content_type: "image/jpeg".into(),
                source: "camera".into(),
                taken_at: Some(r.captured_at),
                gps: Some(crate::record::PhotoGps {
                    lat: -8.12,
                    lon: 115.2,
                }),
                camera: "samsung SM-A045F".into(),
                software: String::new(),
                derivative: Some(crate::record::Rendition {
                    hash: "b".repeat(64),
                    size: 310_000,
                    width: 1600,
                    height: 1200,
                }),
                thumbnail: Some(crate::record::Rendition {
                    hash: "c".repeat(64),
                    size: 21_000,
                    width: 320,
                    height: 240,
                }),
                phash: "f0e1d2c3b4a59687".into(),
            },
        );
        r
    }

    #[test]
    fn a_record_round_trips_through_its_document() {
        let record = sample();
        let mut doc = RecordDoc::create(&record, ActorId::random(), "test");
        let bytes = doc.save();
        let loaded = RecordDoc::load(&bytes, ActorId::random()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.read().unwrap_or_else(|p| panic!("{p:?}")), record);
    }

    #[test]
    fn an_edit_writes_only_what_changed() {
        let mut doc = RecordDoc::create(&sample(), ActorId::random(), "test");
        let heads = doc.heads();
        let hash = doc.edit("test", |r| r.title = "Sambang Desa Sawan".into());
        assert!(hash.unwrap_or_else(|e| panic!("{e}")).is_some());
        let changes = doc.automerge().get_changes(&heads);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].len(), 1, "one op: the title put");
        assert_eq!(
            doc.edit("test", |_| ()).unwrap_or_else(|e| panic!("{e}")),
            None
        );
    }

    #[test]
    fn fields_from_a_newer_version_survive_an_edit() {
        let mut doc = RecordDoc::create(&sample(), ActorId::random(), "newer");
        doc.automerge()
            .put(ROOT, "weather", "hujan")
            .unwrap_or_else(|e| panic!("{e}"));
        let counts = map_at(doc.automerge(), &ROOT, "counts").unwrap_or_else(|e| panic!("{e}"));
        doc.automerge()
            .put(&counts, "vehicles", 3_u64)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.automerge().commit();
        let bytes = doc.save();

        let mut old = RecordDoc::load(&bytes, ActorId::random()).unwrap_or_else(|e| panic!("{e}"));
        old.edit("older", |r| {
            r.counts.people_served = Some(12);
            r.title = "edited by an older app".into();
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let am = old.automerge();
        let weather = am
            .get(ROOT, "weather")
            .ok()
            .flatten()
            .map(|(v, _)| v.to_string());
        assert_eq!(weather.as_deref(), Some("\"hujan\""));
        let counts = map_at(am, &ROOT, "counts").unwrap_or_else(|e| panic!("{e}"));
        assert!(am.get(&counts, "vehicles").ok().flatten().is_some());
    }

    #[test]
    fn concurrent_edits_of_different_fields_merge() {
        let mut a = RecordDoc::create(&sample(), ActorId::random(), "a");
        let mut b = RecordDoc::from_automerge(a.automerge().fork().with_actor(ActorId::random()));
        a.edit("a", |r| {
            r.counts.people_served = Some(40);
            r.counts.services.insert("sim-c".into(), 3);
        })
        .unwrap_or_else(|e| panic!("{e}"));
        b.edit("b", |r| r.narrative = "Narasi diperbaiki".into())
            .unwrap_or_else(|e| panic!("{e}"));
        a.automerge()
            .merge(b.automerge())
            .unwrap_or_else(|e| panic!("{e}"));
        let merged = a.read().unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(merged.counts.people_served, Some(40));
        assert_eq!(merged.counts.services.get("sim-c"), Some(&3));
        assert_eq!(merged.counts.services.get("skck"), Some(&2));
        assert_eq!(merged.narrative, "Narasi diperbaiki");
    }

    #[test]
    fn type_confusion_is_reported_with_paths() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "id", 42_u64)
            .unwrap_or_else(|e| panic!("{e}"));
        doc.put(ROOT, "title", 7_i64)
            .unwrap_or_else(|e| panic!("{e}"));
        let problems = read(&doc).expect_err("not a record");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"id"), "{paths:?}");
        assert!(paths.contains(&"title"), "{paths:?}");
        assert!(paths.contains(&"captured_at"), "{paths:?}");
    }
}
