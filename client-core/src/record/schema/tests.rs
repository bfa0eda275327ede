//! The reader, the writer and `docs/protocol.md` agree with the schema table.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value as AmValue};

use serde_json::json;

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
fn string_fields(fields: &[Field], schema: &str, concrete: &str, out: &mut Vec<(String, String)>) {
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
    let doc = include_str!("../../../../docs/protocol.md");
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
