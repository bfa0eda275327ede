//! Reading the typed [`Record`] view out of any record document, reporting every field that
//! has the wrong type with its path (documents come from devices and may be hostile).

use std::collections::HashMap;

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use jiff::Timestamp;

use super::{
    Comment, Counts, Location, PhotoGps, PhotoRef, Problem, Record, Rendition, Review, Status,
    Verdict,
};
use crate::RecordId;

/// What a writer that stored collaborative Text where the contract wants a scalar string must
/// do instead (the JavaScript library's default for a plain string is Text).
pub const TEXT_ADVICE: &str = "stored as Automerge Text (a collaborative text object), but \
     every text field of a record is a scalar string: write the value as a scalar string (in \
     @automerge/automerge 2.x and 3.x assign new A.ImmutableString(value); a plain JS string \
     becomes Text)";

/// A map where a plain value belongs: what @automerge/automerge 3.5 makes of a number wrapper
/// (`new A.Uint(n)`) inside an object literal.
pub const MAP_ADVICE: &str = "expected a plain value, found a map (in @automerge/automerge a \
     wrapper such as new A.Uint(n) inside an object literal is stored as a map {value: n}: assign \
     the wrapper directly, d.counts.participants = new A.Uint(n), or write a plain whole number)";

/// A map's visible entries (key, value, object id), sorted by key.
type Entries = Vec<(String, Value<'static>, ObjId)>;

struct Reader<'a, D: ReadDoc> {
    doc: &'a D,
    problems: Vec<Problem>,
    /// Each map read in one pass the first time one of its fields is asked for: a `get` per
    /// field seeks the map's operations from the start every time, and those seeks were a fifth
    /// of the server's merge CPU per pushed record. Bounded by the document, whose size ingest
    /// limits.
    maps: HashMap<ObjId, Entries>,
}

impl<'a, D: ReadDoc> Reader<'a, D> {
    fn new(doc: &'a D) -> Self {
        Self {
            doc,
            problems: Vec::new(),
            maps: HashMap::new(),
        }
    }

    /// The visible value of `key` in the map `obj` (the one `get` returns when writers
    /// conflict).
    fn entry(&mut self, obj: &ObjId, key: &str) -> Option<(Value<'static>, ObjId)> {
        let entries = self.entries(obj);
        let at = entries
            .binary_search_by(|(k, _, _)| k.as_str().cmp(key))
            .ok()?;
        let (_, value, id) = &entries[at];
        Some((value.clone(), id.clone()))
    }

    fn entries(&mut self, obj: &ObjId) -> &Entries {
        let doc = self.doc;
        self.maps.entry(obj.clone()).or_insert_with(|| {
            let mut entries: Entries = doc
                .map_range(obj, ..)
                .map(|item| {
                    let id = item.id();
                    (item.key.into_owned(), item.value.into_value(), id)
                })
                .collect();
            // Already in order (one linear pass), unless Automerge orders some keys otherwise
            // than Rust's byte order; the lookup's binary search needs the latter.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries
        })
    }

    fn scalar(&mut self, obj: &ObjId, key: &str, path: &str) -> Option<ScalarValue> {
        match self.entry(obj, key) {
            Some((Value::Scalar(v), _)) => match v.into_owned() {
                ScalarValue::Null => None,
                v => Some(v),
            },
            None => None,
            Some((Value::Object(ObjType::Text), _)) => {
                self.problem(path, TEXT_ADVICE);
                None
            }
            Some((Value::Object(ObjType::Map), _)) => {
                self.problem(path, MAP_ADVICE);
                None
            }
            Some((Value::Object(_), _)) => {
                self.problem(path, "expected a plain value, found an object");
                None
            }
        }
    }

    fn object(&mut self, obj: &ObjId, key: &str, path: &str, ty: ObjType) -> Option<ObjId> {
        match self.entry(obj, key) {
            Some((Value::Object(t), id)) if t == ty => Some(id),
            None => None,
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

    /// The map's keys, from the entries read for its fields (not a second walk of the map).
    fn keys(&mut self, obj: &ObjId) -> Vec<String> {
        self.entries(obj)
            .iter()
            .map(|(k, _, _)| k.clone())
            .collect()
    }

    fn problem(&mut self, path: &str, message: &str) {
        self.problems.push(Problem::new(path, message));
    }
}

/// Reads the typed view of any record document.
pub fn read<D: ReadDoc>(doc: &D) -> Result<Record, Vec<Problem>> {
    let mut r = Reader::new(doc);
    let root = ROOT;
    let reported = r.problems.len();
    let id = r.string(&root, "id", "id");
    let id = match id.as_deref().map(str::parse::<RecordId>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            r.problem("id", "not a UUID");
            None
        }
        None => {
            if r.problems.len() == reported {
                r.problem("id", "missing");
            }
            None
        }
    };
    let schema = r.uint(&root, "schema", "schema").unwrap_or(0);
    let reported = r.problems.len();
    let captured_at = r.timestamp(&root, "captured_at", "captured_at");
    if captured_at.is_none() && r.problems.len() == reported {
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
        let Some(m) = r.object(&p, &hash, &path, ObjType::Map) else {
            continue;
        };
        let text = |r: &mut Reader<'_, D>, key: &str| {
            r.string(&m, key, &format!("{path}.{key}"))
                .unwrap_or_default()
        };
        let photo = PhotoRef {
            size: r.uint(&m, "size", &format!("{path}.size")).unwrap_or(0),
            content_type: text(r, "content_type"),
            source: text(r, "source"),
            taken_at: r.timestamp(&m, "taken_at", &format!("{path}.taken_at")),
            gps: r
                .object(&m, "gps", &format!("{path}.gps"), ObjType::Map)
                .and_then(|g| {
                    let lat = r.float(&g, "lat", &format!("{path}.gps.lat"));
                    let lon = r.float(&g, "lon", &format!("{path}.gps.lon"));
                    Some(PhotoGps {
                        lat: lat?,
                        lon: lon?,
                    })
                }),
            camera: text(r, "camera"),
            software: text(r, "software"),
            derivative: read_rendition(r, &m, "derivative", &path),
            thumbnail: read_rendition(r, &m, "thumbnail", &path),
            phash: text(r, "phash"),
        };
        photos.insert(hash, photo);
    }
    photos
}

fn read_rendition<D: ReadDoc>(
    r: &mut Reader<'_, D>,
    photo: &ObjId,
    key: &str,
    path: &str,
) -> Option<Rendition> {
    let path = format!("{path}.{key}");
    let m = r.object(photo, key, &path, ObjType::Map)?;
    let dimension = |r: &mut Reader<'_, D>, k: &str| {
        r.uint(&m, k, &format!("{path}.{k}"))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    Some(Rendition {
        hash: r
            .string(&m, "hash", &format!("{path}.hash"))
            .unwrap_or_default(),
        size: r.uint(&m, "size", &format!("{path}.size")).unwrap_or(0),
        width: dimension(r, "width"),
        height: dimension(r, "height"),
    })
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
        verdict_reason: r.string(&rv, "verdict_reason", "review.verdict_reason"),
        ready_by: r.string(&rv, "ready_by", "review.ready_by"),
        ready_at: r.timestamp(&rv, "ready_at", "review.ready_at"),
        forwarded_by: r.string(&rv, "forwarded_by", "review.forwarded_by"),
        forwarded_at: r.timestamp(&rv, "forwarded_at", "review.forwarded_at"),
        comments,
    }
}
