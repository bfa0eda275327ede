//! Reading a [`Record`] out of its Automerge document and writing edits back.
//!
//! Document layout (root map): `id`, `schema`, `unit`, `officer`, `kind`, `title`, `narrative`,
//! `place`, `status` (strings or uint); `started_at`, `ended_at`, `captured_at` (timestamps, ms);
//! `location` (map: `lat`, `lon`, `accuracy_m`, `source`); `counts` (map: `people_served`,
//! `participants`, `services` map of type → uint); `lke` (map of code → true); `photos` (map of
//! hash → map); `review` (map: `verdict`, `verdict_by`, `verdict_at`, `comments` list of maps).
//!
//! Writes are diffs: only fields that changed are put, so a device that edits the counts does
//! not overwrite a teammate's concurrent narrative fix, and keys written by a newer version of
//! Bukti survive an edit made by this one.

use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
    transaction::{CommitOptions, Transactable},
};
use jiff::Timestamp;

use super::{Comment, Counts, Location, PhotoRef, Problem, Record, Review, Status, Verdict};
use crate::RecordId;

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

// ---- reading ----------------------------------------------------------------------------------

struct Reader<'a, D: ReadDoc> {
    doc: &'a D,
    problems: Vec<Problem>,
}

impl<D: ReadDoc> Reader<'_, D> {
    fn scalar(&mut self, obj: &ObjId, key: &str, path: &str) -> Option<ScalarValue> {
        match self.doc.get(obj, key) {
            Ok(Some((Value::Scalar(v), _))) => match v.into_owned() {
                ScalarValue::Null => None,
                v => Some(v),
            },
            Ok(None) => None,
            Ok(Some((Value::Object(_), _))) | Err(_) => {
                self.problem(path, "expected a plain value, found an object");
                None
            }
        }
    }

    fn object(&mut self, obj: &ObjId, key: &str, path: &str, ty: ObjType) -> Option<ObjId> {
        match self.doc.get(obj, key) {
            Ok(Some((Value::Object(t), id))) if t == ty => Some(id),
            Ok(None) => None,
            _ => {
                self.problem(path, &format!("expected a {ty:?}"));
                None
            }
        }
    }

    fn string(&mut self, obj: &ObjId, key: &str, path: &str) -> Option<String> {
        match self.scalar(obj, key, path)? {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => {
                self.problem(path, "expected a string");
                None
            }
        }
    }

    fn uint(&mut self, obj: &ObjId, key: &str, path: &str) -> Option<u64> {
        match self.scalar(obj, key, path)? {
            ScalarValue::Uint(n) => Some(n),
            ScalarValue::Int(n) if n >= 0 => Some(n.unsigned_abs()),
            _ => {
                self.problem(path, "expected a non-negative integer");
                None
            }
        }
    }

    fn float(&mut self, obj: &ObjId, key: &str, path: &str) -> Option<f64> {
        match self.scalar(obj, key, path)? {
            ScalarValue::F64(n) => Some(n),
            ScalarValue::Int(n) => Some(n as f64),
            ScalarValue::Uint(n) => Some(n as f64),
            _ => {
                self.problem(path, "expected a number");
                None
            }
        }
    }

    fn timestamp(&mut self, obj: &ObjId, key: &str, path: &str) -> Option<Timestamp> {
        let (ScalarValue::Timestamp(ms) | ScalarValue::Int(ms)) = self.scalar(obj, key, path)?
        else {
            self.problem(path, "expected a timestamp");
            return None;
        };
        match Timestamp::from_millisecond(ms) {
            Ok(t) => Some(t),
            Err(_) => {
                self.problem(path, "timestamp out of range");
                None
            }
        }
    }

    fn keys(&self, obj: &ObjId) -> Vec<String> {
        self.doc.keys(obj).collect()
    }

    fn problem(&mut self, path: &str, message: &str) {
        self.problems.push(Problem::new(path, message));
    }
}

/// Reads the typed view of any record document.
pub fn read<D: ReadDoc>(doc: &D) -> Result<Record, Vec<Problem>> {
    let mut r = Reader {
        doc,
        problems: Vec::new(),
    };
    let root = ROOT;
    let id = r.string(&root, "id", "id");
    let id = match id.as_deref().map(str::parse::<RecordId>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            r.problem("id", "not a UUID");
            None
        }
        None => {
            r.problem("id", "missing");
            None
        }
    };
    let schema = r.uint(&root, "schema", "schema").unwrap_or(0);
    let captured_at = r.timestamp(&root, "captured_at", "captured_at");
    if captured_at.is_none() {
        r.problem("captured_at", "missing");
    }
    let status = match r.string(&root, "status", "status") {
        None => Status::Draft,
        Some(s) => Status::parse(&s).unwrap_or_else(|| {
            r.problem("status", "expected draft or submitted");
            Status::Draft
        }),
    };
    let location = r
        .object(&root, "location", "location", ObjType::Map)
        .and_then(|loc| {
            let lat = r.float(&loc, "lat", "location.lat");
            let lon = r.float(&loc, "lon", "location.lon");
            let accuracy_m = r.float(&loc, "accuracy_m", "location.accuracy_m");
            let source = r
                .string(&loc, "source", "location.source")
                .unwrap_or_default();
            Some(Location {
                lat: lat?,
                lon: lon?,
                accuracy_m,
                source,
            })
        });
    let counts = read_counts(&mut r);
    let lke = r
        .object(&root, "lke", "lke", ObjType::Map)
        .map(|m| r.keys(&m).into_iter().collect())
        .unwrap_or_default();
    let photos = read_photos(&mut r);
    let review = read_review(&mut r);
    let record = Record {
        id: id.unwrap_or_default(),
        schema,
        unit: r.string(&root, "unit", "unit").unwrap_or_default(),
        officer: r.string(&root, "officer", "officer").unwrap_or_default(),
        kind: r.string(&root, "kind", "kind").unwrap_or_default(),
        title: r.string(&root, "title", "title").unwrap_or_default(),
        narrative: r
            .string(&root, "narrative", "narrative")
            .unwrap_or_default(),
        started_at: r.timestamp(&root, "started_at", "started_at"),
        ended_at: r.timestamp(&root, "ended_at", "ended_at"),
        captured_at: captured_at.unwrap_or(Timestamp::UNIX_EPOCH),
        location,
        place: r.string(&root, "place", "place").unwrap_or_default(),
        counts,
        lke,
        photos,
        status,
        review,
    };
    if r.problems.is_empty() {
        Ok(record)
    } else {
        Err(r.problems)
    }
}

fn read_counts<D: ReadDoc>(r: &mut Reader<'_, D>) -> Counts {
    let Some(c) = r.object(&ROOT, "counts", "counts", ObjType::Map) else {
        return Counts::default();
    };
    let mut services = std::collections::BTreeMap::new();
    if let Some(s) = r.object(&c, "services", "counts.services", ObjType::Map) {
        for key in r.keys(&s) {
            if let Some(n) = r.uint(&s, &key, &format!("counts.services.{key}")) {
                services.insert(key, n);
            }
        }
    }
    Counts {
        people_served: r.uint(&c, "people_served", "counts.people_served"),
        participants: r.uint(&c, "participants", "counts.participants"),
        services,
    }
}

fn read_photos<D: ReadDoc>(r: &mut Reader<'_, D>) -> std::collections::BTreeMap<String, PhotoRef> {
    let mut photos = std::collections::BTreeMap::new();
    let Some(p) = r.object(&ROOT, "photos", "photos", ObjType::Map) else {
        return photos;
    };
    for hash in r.keys(&p) {
        let path = format!("photos.{hash}");
        if let Some(m) = r.object(&p, &hash, &path, ObjType::Map) {
            let photo = PhotoRef {
                size: r.uint(&m, "size", &format!("{path}.size")).unwrap_or(0),
                source: r
                    .string(&m, "source", &format!("{path}.source"))
                    .unwrap_or_default(),
                taken_at: r.timestamp(&m, "taken_at", &format!("{path}.taken_at")),
            };
            photos.insert(hash, photo);
        }
    }
    photos
}

fn read_review<D: ReadDoc>(r: &mut Reader<'_, D>) -> Review {
    let Some(rv) = r.object(&ROOT, "review", "review", ObjType::Map) else {
        return Review::default();
    };
    let verdict = r.string(&rv, "verdict", "review.verdict").and_then(|v| {
        Verdict::parse(&v).or_else(|| {
            r.problem(
                "review.verdict",
                "expected valid, needs_revision or rejected",
            );
            None
        })
    });
    let mut comments = Vec::new();
    if let Some(list) = r.object(&rv, "comments", "review.comments", ObjType::List) {
        for i in 0..r.doc.length(&list) {
            let path = format!("review.comments[{i}]");
            let Ok(Some((Value::Object(ObjType::Map), item))) = r.doc.get(&list, i) else {
                r.problem(&path, "expected a comment map");
                continue;
            };
            let comment = Comment {
                id: r
                    .string(&item, "id", &format!("{path}.id"))
                    .unwrap_or_default(),
                author: r
                    .string(&item, "author", &format!("{path}.author"))
                    .unwrap_or_default(),
                at: r
                    .timestamp(&item, "at", &format!("{path}.at"))
                    .unwrap_or(Timestamp::UNIX_EPOCH),
                text: r
                    .string(&item, "text", &format!("{path}.text"))
                    .unwrap_or_default(),
            };
            comments.push(comment);
        }
    }
    Review {
        verdict,
        verdict_by: r.string(&rv, "verdict_by", "review.verdict_by"),
        verdict_at: r.timestamp(&rv, "verdict_at", "review.verdict_at"),
        comments,
    }
}

// ---- writing ----------------------------------------------------------------------------------

/// Puts `value` at `key` unless it equals the old value; `None` deletes the key.
fn put_if_changed<T: PartialEq>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    old: Option<&T>,
    new: Option<&T>,
    to_scalar: impl Fn(&T) -> ScalarValue,
) -> Result<(), automerge::AutomergeError> {
    if old == new && old.is_some() {
        return Ok(());
    }
    match new {
        Some(v) => doc.put(obj, key, to_scalar(v)),
        None if old.is_some() => doc.delete(obj, key),
        None => Ok(()),
    }
}

fn ts(t: &Timestamp) -> ScalarValue {
    ScalarValue::Timestamp(t.as_millisecond())
}

// Takes `&String` because it is passed where a `Fn(&T) -> ScalarValue` with `T = String` is due.
#[allow(clippy::ptr_arg)]
fn str_value(s: &String) -> ScalarValue {
    ScalarValue::from(s.as_str())
}

/// Gets the map at `key`, creating it when absent.
fn map_at(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
) -> Result<ObjId, automerge::AutomergeError> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => doc.put_object(obj, key, ObjType::Map),
    }
}

/// Writes the difference between `before` (what the document holds now, `None` for a new
/// document) and `after`.
fn write(
    doc: &mut AutoCommit,
    before: Option<&Record>,
    after: &Record,
) -> Result<(), automerge::AutomergeError> {
    let root = ROOT;
    let b = before;
    macro_rules! field {
        ($key:literal, $get:expr, $conv:expr) => {{
            let get = $get;
            put_if_changed(
                doc,
                &root,
                $key,
                b.map(get).as_ref(),
                Some(&get(after)),
                $conv,
            )?;
        }};
    }
    field!("id", |r: &Record| r.id.to_string(), str_value);
    field!(
        "schema",
        |r: &Record| r.schema,
        |v: &u64| ScalarValue::Uint(*v)
    );
    field!("unit", |r: &Record| r.unit.clone(), str_value);
    field!("officer", |r: &Record| r.officer.clone(), str_value);
    field!("kind", |r: &Record| r.kind.clone(), str_value);
    field!("title", |r: &Record| r.title.clone(), str_value);
    field!("narrative", |r: &Record| r.narrative.clone(), str_value);
    field!("place", |r: &Record| r.place.clone(), str_value);
    field!(
        "status",
        |r: &Record| r.status.as_str().to_owned(),
        str_value
    );
    field!("captured_at", |r: &Record| r.captured_at, ts);
    put_if_changed(
        doc,
        &root,
        "started_at",
        b.and_then(|r| r.started_at.as_ref()),
        after.started_at.as_ref(),
        ts,
    )?;
    put_if_changed(
        doc,
        &root,
        "ended_at",
        b.and_then(|r| r.ended_at.as_ref()),
        after.ended_at.as_ref(),
        ts,
    )?;

    if b.map(|r| &r.location) != Some(&after.location) {
        match &after.location {
            None => doc.delete(&root, "location")?,
            Some(loc) => {
                let old = b.and_then(|r| r.location.as_ref());
                let m = map_at(doc, &root, "location")?;
                put_if_changed(doc, &m, "lat", old.map(|l| &l.lat), Some(&loc.lat), |v| {
                    ScalarValue::F64(*v)
                })?;
                put_if_changed(doc, &m, "lon", old.map(|l| &l.lon), Some(&loc.lon), |v| {
                    ScalarValue::F64(*v)
                })?;
                put_if_changed(
                    doc,
                    &m,
                    "accuracy_m",
                    old.and_then(|l| l.accuracy_m.as_ref()),
                    loc.accuracy_m.as_ref(),
                    |v| ScalarValue::F64(*v),
                )?;
                put_if_changed(
                    doc,
                    &m,
                    "source",
                    old.map(|l| &l.source),
                    Some(&loc.source),
                    str_value,
                )?;
            }
        }
    }

    if b.map(|r| &r.counts) != Some(&after.counts) {
        let old = b.map(|r| &r.counts);
        let c = map_at(doc, &root, "counts")?;
        let uint = |v: &u64| ScalarValue::Uint(*v);
        put_if_changed(
            doc,
            &c,
            "people_served",
            old.and_then(|o| o.people_served.as_ref()),
            after.counts.people_served.as_ref(),
            uint,
        )?;
        put_if_changed(
            doc,
            &c,
            "participants",
            old.and_then(|o| o.participants.as_ref()),
            after.counts.participants.as_ref(),
            uint,
        )?;
        let s = map_at(doc, &c, "services")?;
        for (key, n) in &after.counts.services {
            put_if_changed(
                doc,
                &s,
                key,
                old.and_then(|o| o.services.get(key)),
                Some(n),
                uint,
            )?;
        }
        for key in old.into_iter().flat_map(|o| o.services.keys()) {
            if !after.counts.services.contains_key(key) {
                doc.delete(&s, key.as_str())?;
            }
        }
    }

    if b.map(|r| &r.lke) != Some(&after.lke) {
        let m = map_at(doc, &root, "lke")?;
        for code in &after.lke {
            if !b.is_some_and(|r| r.lke.contains(code)) {
                doc.put(&m, code.as_str(), true)?;
            }
        }
        for code in b.into_iter().flat_map(|r| r.lke.iter()) {
            if !after.lke.contains(code) {
                doc.delete(&m, code.as_str())?;
            }
        }
    }

    if b.map(|r| &r.photos) != Some(&after.photos) {
        let m = map_at(doc, &root, "photos")?;
        for (hash, photo) in &after.photos {
            let old = b.and_then(|r| r.photos.get(hash));
            if old == Some(photo) {
                continue;
            }
            let p = map_at(doc, &m, hash)?;
            put_if_changed(
                doc,
                &p,
                "size",
                old.map(|o| &o.size),
                Some(&photo.size),
                |v| ScalarValue::Uint(*v),
            )?;
            put_if_changed(
                doc,
                &p,
                "source",
                old.map(|o| &o.source),
                Some(&photo.source),
                str_value,
            )?;
            put_if_changed(
                doc,
                &p,
                "taken_at",
                old.and_then(|o| o.taken_at.as_ref()),
                photo.taken_at.as_ref(),
                ts,
            )?;
        }
        for hash in b.into_iter().flat_map(|r| r.photos.keys()) {
            if !after.photos.contains_key(hash) {
                doc.delete(&m, hash.as_str())?;
            }
        }
    }

    if b.map(|r| &r.review) != Some(&after.review) {
        write_review(doc, b.map(|r| &r.review), &after.review)?;
    }
    Ok(())
}

fn write_review(
    doc: &mut AutoCommit,
    old: Option<&Review>,
    new: &Review,
) -> Result<(), automerge::AutomergeError> {
    let rv = map_at(doc, &ROOT, "review")?;
    let verdict = |v: &Verdict| ScalarValue::from(v.as_str());
    put_if_changed(
        doc,
        &rv,
        "verdict",
        old.and_then(|o| o.verdict.as_ref()),
        new.verdict.as_ref(),
        verdict,
    )?;
    put_if_changed(
        doc,
        &rv,
        "verdict_by",
        old.and_then(|o| o.verdict_by.as_ref()),
        new.verdict_by.as_ref(),
        str_value,
    )?;
    put_if_changed(
        doc,
        &rv,
        "verdict_at",
        old.and_then(|o| o.verdict_at.as_ref()),
        new.verdict_at.as_ref(),
        ts,
    )?;
    // Comments are append-only: a comment is added once and never rewritten, so concurrent
    // comments from two reviewers both survive.
    let known: Vec<&str> = old
        .map(|o| o.comments.iter().map(|c| c.id.as_str()).collect())
        .unwrap_or_default();
    let fresh: Vec<&Comment> = new
        .comments
        .iter()
        .filter(|c| !known.contains(&c.id.as_str()))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let list = match doc.get(&rv, "comments")? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => doc.put_object(&rv, "comments", ObjType::List)?,
    };
    for c in fresh {
        let at = doc.length(&list);
        let m = doc.insert_object(&list, at, ObjType::Map)?;
        doc.put(&m, "id", c.id.as_str())?;
        doc.put(&m, "author", c.author.as_str())?;
        doc.put(&m, "at", ts(&c.at))?;
        doc.put(&m, "text", c.text.as_str())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
