//! The record document's schema: every field, its Automerge type, whether it is required, its
//! limits, and which maps are containers the record's first change creates. This table is the
//! one source: `GET /api/v1/schema` serves it as JSON Schema ([`json_schema`]), the ingest
//! contract ([`super::contract`]) takes its container list from it, and its tests check
//! that the reader, the writer and `docs/protocol.md` agree with it.

mod json;
mod table;
#[cfg(test)]
mod tests;

pub use json::json_schema;
pub use table::RECORD;

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
