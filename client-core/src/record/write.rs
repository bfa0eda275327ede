//! Writing a [`Record`] view back into its document as a diff: only fields that changed are
//! put, so a device that edits the counts does not overwrite a teammate's concurrent narrative
//! fix, and keys written by a newer version of Bukti survive an edit made by this one.

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
use jiff::Timestamp;

use super::{Comment, PhotoRef, Record, Review, Verdict};

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
pub(super) fn map_at(
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
pub(super) fn write(
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
            write_photo(doc, &m, hash, photo)?;
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

/// Writes a photo entry whole: entries are set once at capture, so there is no concurrent edit
/// of their fields to preserve.
fn write_photo(
    doc: &mut AutoCommit,
    photos: &ObjId,
    hash: &str,
    photo: &PhotoRef,
) -> Result<(), automerge::AutomergeError> {
    let p = doc.put_object(photos, hash, ObjType::Map)?;
    doc.put(&p, "size", photo.size)?;
    doc.put(&p, "content_type", photo.content_type.as_str())?;
    doc.put(&p, "source", photo.source.as_str())?;
    if let Some(t) = &photo.taken_at {
        doc.put(&p, "taken_at", ts(t))?;
    }
    if let Some(gps) = &photo.gps {
        let g = doc.put_object(&p, "gps", ObjType::Map)?;
        doc.put(&g, "lat", gps.lat)?;
        doc.put(&g, "lon", gps.lon)?;
    }
    doc.put(&p, "camera", photo.camera.as_str())?;
    doc.put(&p, "software", photo.software.as_str())?;
    doc.put(&p, "phash", photo.phash.as_str())?;
    for (key, rendition) in [
        ("derivative", &photo.derivative),
        ("thumbnail", &photo.thumbnail),
    ] {
        if let Some(rd) = rendition {
            let m = doc.put_object(&p, key, ObjType::Map)?;
            doc.put(&m, "hash", rd.hash.as_str())?;
            doc.put(&m, "size", rd.size)?;
            doc.put(&m, "width", u64::from(rd.width))?;
            doc.put(&m, "height", u64::from(rd.height))?;
        }
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
    let reason = (
        old.and_then(|o| o.verdict_reason.as_ref()),
        new.verdict_reason.as_ref(),
    );
    put_if_changed(doc, &rv, "verdict_reason", reason.0, reason.1, str_value)?;
    let ready_by = (old.and_then(|o| o.ready_by.as_ref()), new.ready_by.as_ref());
    put_if_changed(doc, &rv, "ready_by", ready_by.0, ready_by.1, str_value)?;
    let ready_at = (old.and_then(|o| o.ready_at.as_ref()), new.ready_at.as_ref());
    put_if_changed(doc, &rv, "ready_at", ready_at.0, ready_at.1, ts)?;
    let forwarded_by = (
        old.and_then(|o| o.forwarded_by.as_ref()),
        new.forwarded_by.as_ref(),
    );
    put_if_changed(
        doc,
        &rv,
        "forwarded_by",
        forwarded_by.0,
        forwarded_by.1,
        str_value,
    )?;
    let forwarded_at = (
        old.and_then(|o| o.forwarded_at.as_ref()),
        new.forwarded_at.as_ref(),
    );
    put_if_changed(doc, &rv, "forwarded_at", forwarded_at.0, forwarded_at.1, ts)?;
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
