//! The schema table rendered as JSON Schema, for `GET /api/v1/schema` and other clients' authors.

use serde_json::{Map, Value, json};

use super::{Field, Kind, RECORD, Writer, containers};
use crate::record::{
    SCHEMA_VERSION,
    contract::{EARLIEST_TIME_MS, LATEST_TIME_MS},
};

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
