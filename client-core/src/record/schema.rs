//! The record document's schema: every field, its Automerge type, whether it is required, its
//! limits, and which maps are containers the record's first change creates. This table is the
//! one source: `GET /api/v1/schema` serves it as JSON Schema ([`json_schema`]), the ingest
//! contract ([`super::contract`]) takes its container list from it, and the tests below check
//! that the reader, the writer and `docs/protocol.md` agree with it.

use serde_json::{Map, Value, json};

use super::{
    SCHEMA_VERSION,
    contract::{EARLIEST_TIME_MS, LATEST_TIME_MS},
    validate::{MAX_COMMENT, MAX_COUNT, MAX_NARRATIVE, MAX_PHOTO_TEXT, MAX_PLACE, MAX_TITLE},
};

/// What a field holds, as Automerge types.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A scalar string (Automerge `str`), never a `Text` object.
    Str(Text),
    /// An unsigned integer (Automerge `uint`; a non-negative `int` is read too).
    Uint { max: Option<u64> },
    /// A 64-bit float (Automerge `f64`; an `int` or `uint` is read too).
    F64 { min: f64, max: f64 },
    /// Milliseconds since 1970-01-01 UTC (Automerge `timestamp`; an `int` is read too).
    Timestamp,
    /// Automerge `boolean`, always `true` (a set member).
    True,
    /// A map with these named fields; keys it does not name are kept (newer versions).
    Map(&'static [Field]),
    /// A map whose keys are data (codes, hashes), every value of one kind.
    MapOf {
        key: &'static str,
        key_catalogue: Option<&'static str>,
        value: &'static Kind,
    },
    /// A list of values of one kind.
    ListOf(&'static Kind),
}

/// The rules of a scalar string.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub max_chars: Option<usize>,
    pub one_of: &'static [&'static str],
    /// A regular expression the whole string matches.
    pub pattern: Option<&'static str>,
    /// Line breaks and tabs allowed (no other control character ever is, nor NUL).
    pub multiline: bool,
    /// A code from this list of `GET /api/v1/catalogue`.
    pub catalogue: Option<&'static str>,
}

impl Text {
    const fn any() -> Self {
        Self {
            max_chars: None,
            one_of: &[],
            pattern: None,
            multiline: false,
            catalogue: None,
        }
    }

    const fn max(n: usize) -> Self {
        Self {
            max_chars: Some(n),
            ..Self::any()
        }
    }

    const fn one_of(values: &'static [&'static str]) -> Self {
        Self {
            one_of: values,
            ..Self::any()
        }
    }

    const fn pattern(p: &'static str) -> Self {
        Self {
            pattern: Some(p),
            ..Self::any()
        }
    }
}

/// Who writes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Device,
    /// Only HQ people write it (through the review endpoints); a device that does is refused.
    Hq,
}

/// One named field of a map.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Created (even when empty) by the record's first change and never replaced or deleted.
    pub container: bool,
    pub writer: Writer,
    pub about: &'static str,
}

impl Field {
    const fn new(name: &'static str, kind: Kind, about: &'static str) -> Self {
        Self {
            name,
            kind,
            required: false,
            container: false,
            writer: Writer::Device,
            about,
        }
    }

    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    const fn container(self) -> Self {
        Self {
            required: true,
            container: true,
            ..self
        }
    }

    const fn hq(self) -> Self {
        Self {
            writer: Writer::Hq,
            ..self
        }
    }
}

const SHA256: &str = "^[0-9a-f]{64}$";
const COUNT: Kind = Kind::Uint {
    max: Some(MAX_COUNT),
};
const LAT: Kind = Kind::F64 {
    min: -90.0,
    max: 90.0,
};
const LON: Kind = Kind::F64 {
    min: -180.0,
    max: 180.0,
};

const LOCATION: &[Field] = &[
    Field::new("lat", LAT, "Latitude, WGS 84 degrees.").required(),
    Field::new("lon", LON, "Longitude, WGS 84 degrees.").required(),
    Field::new(
        "accuracy_m",
        Kind::F64 {
            min: 0.0,
            max: 100_000.0,
        },
        "Horizontal accuracy radius in metres, as the positioning source reported it.",
    ),
    Field::new(
        "source",
        Kind::Str(Text::one_of(&["gps", "network", "manual"])),
        "Where the position came from.",
    )
    .required(),
];

const COUNTS: &[Field] = &[
    Field::new("people_served", COUNT, "Members of the public served."),
    Field::new(
        "participants",
        COUNT,
        "Participants (socialisation, meetings).",
    ),
    Field::new(
        "services",
        Kind::MapOf {
            key: "service type code",
            key_catalogue: Some("service_types"),
            value: &COUNT,
        },
        "Services delivered, by service type code (`skck` → 3). One key per type, so two \
         devices' counts of different types merge.",
    )
    .container(),
];

const RENDITION: &[Field] = &[
    Field::new(
        "hash",
        Kind::Str(Text::pattern(SHA256)),
        "SHA-256 of the rendition's bytes, lowercase hex.",
    )
    .required(),
    Field::new("size", Kind::Uint { max: None }, "Bytes.").required(),
    Field::new("width", Kind::Uint { max: None }, "Pixels, non-zero.").required(),
    Field::new("height", Kind::Uint { max: None }, "Pixels, non-zero.").required(),
];

const GPS: &[Field] = &[
    Field::new("lat", LAT, "Latitude from EXIF.").required(),
    Field::new("lon", LON, "Longitude from EXIF.").required(),
];

const PHOTO: &[Field] = &[
    Field::new("size", Kind::Uint { max: None }, "Bytes of the original.").required(),
    Field::new(
        "content_type",
        Kind::Str(Text::one_of(&["image/jpeg", "image/png"])),
        "Media type of the original.",
    )
    .required(),
    Field::new(
        "source",
        Kind::Str(Text::one_of(&["camera", "gallery"])),
        "Taken in the app, or imported from the gallery (weaker evidence).",
    )
    .required(),
    Field::new(
        "taken_at",
        Kind::Timestamp,
        "EXIF time the photo was taken.",
    ),
    Field::new("gps", Kind::Map(GPS), "EXIF position."),
    Field::new(
        "camera",
        Kind::Str(Text::max(MAX_PHOTO_TEXT)),
        "EXIF make and model; empty when absent.",
    ),
    Field::new(
        "software",
        Kind::Str(Text::max(MAX_PHOTO_TEXT)),
        "EXIF software tag; empty when absent.",
    ),
    Field::new(
        "phash",
        Kind::Str(Text::max(MAX_PHOTO_TEXT)),
        "64-bit perceptual hash of the derivative, 16 hex digits.",
    ),
    Field::new(
        "derivative",
        Kind::Map(RENDITION),
        "The display JPEG (long edge ≤ 1600 px, no EXIF).",
    ),
    Field::new(
        "thumbnail",
        Kind::Map(RENDITION),
        "The list thumbnail (≤ 320 px, no EXIF).",
    ),
];

const PERSON: Text = Text::any();

const COMMENT: &[Field] = &[
    Field::new("id", Kind::Str(Text::any()), "Unique within the thread.").required(),
    Field::new("author", Kind::Str(PERSON), "Name of the writer.").required(),
    Field::new("at", Kind::Timestamp, "When it was written.").required(),
    Field::new(
        "text",
        Kind::Str(Text {
            multiline: true,
            ..Text::max(MAX_COMMENT)
        }),
        "The comment.",
    )
    .required(),
];

const REVIEW: &[Field] = &[
    Field::new(
        "verdict",
        Kind::Str(Text::one_of(&["valid", "needs_revision", "rejected"])),
        "The Polres's verdict (`valid` is the verified state).",
    )
    .hq(),
    Field::new("verdict_by", Kind::Str(PERSON), "Who gave the verdict.").hq(),
    Field::new("verdict_at", Kind::Timestamp, "When.").hq(),
    Field::new(
        "verdict_reason",
        Kind::Str(Text {
            multiline: true,
            ..Text::max(MAX_COMMENT)
        }),
        "Why the record needs revision or was rejected.",
    )
    .hq(),
    Field::new(
        "ready_by",
        Kind::Str(PERSON),
        "The Polsek operator who marked it ready.",
    )
    .hq(),
    Field::new("ready_at", Kind::Timestamp, "When.").hq(),
    Field::new(
        "forwarded_by",
        Kind::Str(PERSON),
        "The Kapolsek who forwarded it to the Polres.",
    )
    .hq(),
    Field::new("forwarded_at", Kind::Timestamp, "When.").hq(),
    Field::new(
        "comments",
        Kind::ListOf(&Kind::Map(COMMENT)),
        "The comment thread, append-only.",
    )
    .hq(),
];

/// The fields of a record document's root map.
pub const RECORD: &[Field] = &[
    Field::new(
        "id",
        Kind::Str(Text::pattern(
            "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        )),
        "The record's UUID (Bukti makes UUIDv7), lowercase with hyphens; the id it is pushed \
         under.",
    )
    .required(),
    Field::new(
        "schema",
        Kind::Uint { max: None },
        "Schema version of the writer (this is version 1).",
    )
    .required(),
    Field::new(
        "unit",
        Kind::Str(Text::pattern("^[a-z0-9-]+(/[a-z0-9-]+)*$")),
        "Unit path the record was captured in, e.g. `bali/buleleng/sawan`; inside the device's \
         unit, never changed.",
    )
    .required(),
    Field::new(
        "officer",
        Kind::Str(Text::pattern("^[0-9]{8,18}$")),
        "NRP (8 digits) or NIP (18 digits) of the officer who captured it: the device's \
         officer; never changed.",
    )
    .required(),
    Field::new(
        "kind",
        Kind::Str(Text {
            catalogue: Some("activity_kinds"),
            ..Text::any()
        }),
        "Activity kind code.",
    )
    .required(),
    Field::new(
        "title",
        Kind::Str(Text::max(MAX_TITLE)),
        "Short title, not blank.",
    )
    .required(),
    Field::new(
        "narrative",
        Kind::Str(Text {
            multiline: true,
            ..Text::max(MAX_NARRATIVE)
        }),
        "What happened (last writer wins on concurrent rewrites).",
    ),
    Field::new(
        "place",
        Kind::Str(Text::max(MAX_PLACE)),
        "Place name; a location or a place is required before submitting.",
    ),
    Field::new(
        "status",
        Kind::Str(Text::one_of(&["draft", "submitted"])),
        "`draft` when absent.",
    ),
    Field::new(
        "captured_at",
        Kind::Timestamp,
        "When the device created the record (device clock); never changed.",
    )
    .required(),
    Field::new(
        "started_at",
        Kind::Timestamp,
        "When the activity started; required before submitting.",
    ),
    Field::new(
        "ended_at",
        Kind::Timestamp,
        "When it ended; not before `started_at`.",
    ),
    Field::new("location", Kind::Map(LOCATION), "Where it took place."),
    Field::new("counts", Kind::Map(COUNTS), "How many.").container(),
    Field::new(
        "lke",
        Kind::MapOf {
            key: "LKE sub-indicator code",
            key_catalogue: Some("lke_areas[].sub_indicators"),
            value: &Kind::True,
        },
        "LKE sub-indicators the activity evidences, as a set: code → true.",
    )
    .container(),
    Field::new(
        "photos",
        Kind::MapOf {
            key: "SHA-256 of the original photo's bytes, lowercase hex",
            key_catalogue: None,
            value: &Kind::Map(PHOTO),
        },
        "Photos by hash; each entry is written once, whole, at capture.",
    )
    .container(),
    Field::new(
        "review",
        Kind::Map(REVIEW),
        "The two-level review, written only by HQ; a device creates it empty.",
    )
    .container(),
];

/// Dotted paths of the container maps, parents first: `counts`, `counts.services`, `lke`, …
pub fn containers() -> Vec<String> {
    let mut out = Vec::new();
    collect_containers(RECORD, "", &mut out);
    out
}

fn collect_containers(fields: &[Field], prefix: &str, out: &mut Vec<String>) {
    for f in fields {
        if !f.container {
            continue;
        }
        let path = format!("{prefix}{}", f.name);
        out.push(path.clone());
        if let Kind::Map(inner) = f.kind {
            collect_containers(inner, &format!("{path}."), out);
        }
    }
}

/// Every field path the schema names (`photos.*.gps.lat`, `review.comments[].text`, …).
pub fn paths() -> Vec<String> {
    let mut out = Vec::new();
    collect_paths(RECORD, "", &mut out);
    out
}

fn collect_paths(fields: &[Field], prefix: &str, out: &mut Vec<String>) {
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        out.push(path.clone());
        kind_paths(&f.kind, &path, out);
    }
}

fn kind_paths(kind: &Kind, path: &str, out: &mut Vec<String>) {
    match kind {
        Kind::Map(inner) => collect_paths(inner, &format!("{path}."), out),
        Kind::MapOf { value, .. } => {
            let p = format!("{path}.*");
            out.push(p.clone());
            kind_paths(value, &p, out);
        }
        Kind::ListOf(item) => {
            let p = format!("{path}[]");
            out.push(p.clone());
            kind_paths(item, &p, out);
        }
        _ => {}
    }
}

/// The record document as JSON Schema (draft 2020-12) with Automerge types in `x-automerge`,
/// plus the rules about changes (`x-changes`) that a schema of values cannot say.
pub fn json_schema() -> Value {
    let mut root = map_schema(RECORD);
    let extra = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Bukti activity record (one Automerge document per record)",
        "x-schema-version": SCHEMA_VERSION,
        "x-protocol": "docs/protocol.md, section \"The record document\"",
        "x-automerge-types": {
            "str": "a scalar string; never an Automerge Text object (in @automerge/automerge 2.x/3.x a plain JS string becomes Text: assign new A.ImmutableString(value))",
            "uint": "unsigned integer (new A.Uint(n) in JS; a non-negative int is read too)",
            "f64": "64-bit float (a JS number that is not whole; an int or uint is read too)",
            "timestamp": "milliseconds since 1970-01-01 UTC (a JS Date; an int of milliseconds is read too)",
            "boolean": "true",
            "map": "an Automerge map object",
            "list": "an Automerge list object"
        },
        "x-changes": {
            "encoding": "each change one raw (uncompressed) change chunk, base64 (standard, padded)",
            "actor": "the actor_id the device enrolled with, for every change it pushes",
            "message": "officer:<NRP> for a device's changes; <role>:<name> for HQ's",
            "time": {
                "unit": "milliseconds since 1970-01-01 UTC",
                "minimum": EARLIEST_TIME_MS,
                "maximum": LATEST_TIME_MS,
                "note": "@automerge/automerge defaults to seconds: pass {time: Date.now()} to every change()"
            },
            "first_change_creates": containers(),
            "containers": "created once by the record's first change (even when empty) and never replaced or deleted: maps created separately by two devices are two different objects, and one side's values are lost"
        }
    });
    if let (Value::Object(root), Value::Object(extra)) = (&mut root, extra) {
        let props = root.remove("properties");
        let required = root.remove("required");
        root.extend(extra);
        if let Some(p) = props {
            root.insert("properties".into(), p);
        }
        if let Some(r) = required {
            root.insert("required".into(), r);
        }
    }
    root
}

fn map_schema(fields: &[Field]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in fields {
        let mut s = kind_schema(&f.kind);
        if let Value::Object(o) = &mut s {
            o.insert("description".into(), f.about.into());
            if f.container {
                o.insert("x-container".into(), true.into());
            }
            if f.writer == Writer::Hq {
                o.insert("x-written-by".into(), "hq".into());
            }
        }
        if f.required {
            required.push(Value::from(f.name));
        }
        props.insert(f.name.into(), s);
    }
    json!({
        "type": "object",
        "x-automerge": "map",
        "properties": props,
        "required": required,
        "additionalProperties": true,
    })
}

fn kind_schema(kind: &Kind) -> Value {
    match kind {
        Kind::Str(t) => {
            let mut s = json!({"type": "string", "x-automerge": "str"});
            let o = s.as_object_mut().expect("an object");
            if let Some(n) = t.max_chars {
                o.insert("maxLength".into(), n.into());
            }
            if !t.one_of.is_empty() {
                o.insert("enum".into(), t.one_of.into());
            }
            if let Some(p) = t.pattern {
                o.insert("pattern".into(), p.into());
            }
            if let Some(c) = t.catalogue {
                o.insert("x-catalogue".into(), c.into());
            }
            o.insert(
                "x-control-characters".into(),
                if t.multiline {
                    "line breaks and tabs only"
                } else {
                    "none"
                }
                .into(),
            );
            s
        }
        Kind::Uint { max } => {
            let mut s = json!({"type": "integer", "minimum": 0, "x-automerge": "uint"});
            if let Some(m) = max {
                s["maximum"] = (*m).into();
            }
            s
        }
        Kind::F64 { min, max } => {
            json!({"type": "number", "minimum": min, "maximum": max, "x-automerge": "f64"})
        }
        Kind::Timestamp => json!({
            "type": "integer", "x-automerge": "timestamp",
            "x-unit": "milliseconds since 1970-01-01 UTC",
            "minimum": EARLIEST_TIME_MS,
        }),
        Kind::True => json!({"const": true, "x-automerge": "boolean"}),
        Kind::Map(fields) => map_schema(fields),
        Kind::MapOf {
            key,
            key_catalogue,
            value,
        } => {
            let mut names = json!({"description": key});
            if let Some(c) = key_catalogue {
                names["x-catalogue"] = (*c).into();
            }
            json!({
                "type": "object", "x-automerge": "map",
                "propertyNames": names,
                "additionalProperties": kind_schema(value),
            })
        }
        Kind::ListOf(item) => json!({
            "type": "array", "x-automerge": "list", "items": kind_schema(item),
        }),
    }
}

#[cfg(test)]
mod tests {
    use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value as AmValue};

    use super::*;
    use crate::record::{
        Comment, Location, PhotoGps, PhotoRef, Record, RecordDoc, Rendition, Status, Verdict,
    };

    /// A record with every field set.
    fn full() -> Record {
        let mut r = Record::new("bali/buleleng/sawan", "87010123", "sambang", "Sambang");
        r.narrative = "Baris satu\nBaris dua".into();
        r.place = "Balai Desa".into();
        r.status = Status::Submitted;
        r.started_at = Some(r.captured_at);
        r.ended_at = Some(r.captured_at);
        r.location = Some(Location {
            lat: -8.1,
            lon: 115.1,
            accuracy_m: Some(5.0),
            source: "gps".into(),
        });
        r.counts.people_served = Some(3);
        r.counts.participants = Some(4);
        r.counts.services.insert("skck".into(), 2);
        r.lke.insert("PP.P2".into());
        let rendition = Rendition {
            hash: "b".repeat(64),
            size: 10,
            width: 2,
            height: 2,
        };
        r.photos.insert(
            "a".repeat(64),
            PhotoRef {
                size: 100,
                content_type: "image/jpeg".into(),
                source: "camera".into(),
                taken_at: Some(r.captured_at),
                gps: Some(PhotoGps {
                    lat: -8.1,
                    lon: 115.1,
                }),
                camera: "cam".into(),
                software: "sw".into(),
                derivative: Some(rendition.clone()),
                thumbnail: Some(rendition),
                phash: "f0e1d2c3b4a59687".into(),
            },
        );
        r.review.verdict = Some(Verdict::NeedsRevision);
        r.review.verdict_by = Some("reviewer:Kasat".into());
        r.review.verdict_at = Some(r.captured_at);
        r.review.verdict_reason = Some("Lengkapi".into());
        r.review.ready_by = Some("operator:Sari".into());
        r.review.ready_at = Some(r.captured_at);
        r.review.forwarded_by = Some("approver:Kapolsek".into());
        r.review.forwarded_at = Some(r.captured_at);
        r.review.comments.push(Comment {
            id: "c1".into(),
            author: "reviewer:Kasat".into(),
            at: r.captured_at,
            text: "Baik".into(),
        });
        r
    }

    /// Every path in `doc` below `obj`, in the schema's notation.
    fn doc_paths(doc: &AutoCommit, obj: &ObjId, ty: ObjType, prefix: &str, out: &mut Vec<String>) {
        let entries: Vec<(String, Option<(AmValue<'_>, ObjId)>)> = match ty {
            ObjType::Map => doc
                .keys(obj)
                .map(|k| {
                    let v = doc.get(obj, k.as_str()).ok().flatten();
                    (k, v)
                })
                .collect(),
            _ => (0..doc.length(obj))
                .map(|i| (String::new(), doc.get(obj, i).ok().flatten()))
                .collect(),
        };
        for (key, value) in entries {
            let path = match ty {
                ObjType::Map if ["photos", "lke", "counts.services"].contains(&prefix) => {
                    format!("{prefix}.*")
                }
                ObjType::Map if prefix.is_empty() => key,
                ObjType::Map => format!("{prefix}.{key}"),
                _ => format!("{prefix}[]"),
            };
            if !out.contains(&path) {
                out.push(path.clone());
            }
            if let Some((AmValue::Object(t), id)) = value {
                doc_paths(doc, &id, t, &path, out);
            }
        }
    }

    #[test]
    fn the_schema_names_exactly_what_the_writer_writes() {
        let mut doc = RecordDoc::create(&full(), automerge::ActorId::random(), "officer:1");
        let mut written = Vec::new();
        doc_paths(doc.automerge(), &ROOT, ObjType::Map, "", &mut written);
        let schema = paths();
        for p in &written {
            assert!(
                schema.contains(p),
                "the writer writes {p}, the schema lacks it"
            );
        }
        for p in &schema {
            assert!(
                written.contains(p),
                "the schema names {p}, the writer never writes it"
            );
        }
    }

    /// Every (schema path, concrete path) of a scalar string field in [`full`]'s document.
    fn string_fields(
        fields: &[Field],
        schema: &str,
        concrete: &str,
        out: &mut Vec<(String, String)>,
    ) {
        for f in fields {
            let (s, c) = (
                format!("{schema}{}", f.name),
                format!("{concrete}{}", f.name),
            );
            match f.kind {
                Kind::Str(_) => out.push((s, c)),
                Kind::Map(inner) => string_fields(inner, &format!("{s}."), &format!("{c}."), out),
                Kind::MapOf {
                    value: Kind::Map(inner),
                    ..
                } => string_fields(
                    inner,
                    &format!("{s}.*."),
                    &format!("{c}.{}.", "a".repeat(64)),
                    out,
                ),
                Kind::ListOf(Kind::Map(inner)) => {
                    string_fields(inner, &format!("{s}[]."), &format!("{c}[0]."), out);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn text_in_place_of_any_string_is_refused_with_advice() {
        use automerge::transaction::Transactable;
        let mut fields = Vec::new();
        string_fields(RECORD, "", "", &mut fields);
        assert!(fields.len() > 20, "{fields:?}");
        for (schema_path, path) in fields {
            let mut doc = RecordDoc::create(&full(), automerge::ActorId::random(), "officer:1");
            let am = doc.automerge();
            let mut obj = ROOT;
            let mut parts: Vec<String> = Vec::new();
            // `review.comments[0].text` → review, comments, 0, text; hashes contain no dots.
            for part in path.split('.') {
                match part.split_once('[') {
                    Some((name, index)) => {
                        parts.push(name.into());
                        parts.push(index.trim_end_matches(']').into());
                    }
                    None => parts.push(part.into()),
                }
            }
            let (last, parents) = parts.split_last().unwrap_or_else(|| panic!("{path}"));
            for p in parents {
                let got = match p.parse::<usize>() {
                    Ok(i) => am.get(&obj, i),
                    Err(_) => am.get(&obj, p.as_str()),
                };
                obj = match got {
                    Ok(Some((_, id))) => id,
                    other => panic!("{path}: {other:?}"),
                };
            }
            let text = match last.parse::<usize>() {
                Ok(i) => am.put_object(&obj, i, ObjType::Text),
                Err(_) => am.put_object(&obj, last.as_str(), ObjType::Text),
            }
            .unwrap_or_else(|e| panic!("{path}: {e}"));
            am.splice_text(&text, 0, 0, "x")
                .unwrap_or_else(|e| panic!("{e}"));
            let problems = doc.read().expect_err(&path);
            assert!(
                problems
                    .iter()
                    .any(|p| p.path == path && p.message.contains("ImmutableString")),
                "{schema_path}: {problems:?}"
            );
            assert_eq!(
                problems.len(),
                1,
                "{schema_path}: one clear problem: {problems:?}"
            );
        }
    }

    #[test]
    fn containers_are_the_five_maps() {
        assert_eq!(
            containers(),
            ["counts", "counts.services", "lke", "photos", "review"]
        );
    }

    #[test]
    fn every_schema_path_is_documented_in_the_protocol() {
        let doc = include_str!("../../../docs/protocol.md");
        let section = doc
            .split("## The record document")
            .nth(1)
            .expect("docs/protocol.md has a section \"The record document\"");
        for path in paths() {
            assert!(
                section.contains(&format!("`{path}`")),
                "docs/protocol.md does not document `{path}`"
            );
        }
    }

    #[test]
    fn the_json_schema_has_every_field() {
        let s = json_schema();
        assert_eq!(s["properties"]["title"]["x-automerge"], "str");
        assert_eq!(s["properties"]["counts"]["x-container"], true);
        assert_eq!(
            s["properties"]["counts"]["properties"]["services"]["additionalProperties"]["x-automerge"],
            "uint"
        );
        assert_eq!(
            s["properties"]["review"]["properties"]["verdict"]["x-written-by"],
            "hq"
        );
        assert_eq!(
            s["x-changes"]["first_change_creates"],
            json!(["counts", "counts.services", "lke", "photos", "review"])
        );
    }
}
