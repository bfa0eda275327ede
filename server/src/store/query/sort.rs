//! How HQ's list is ordered and paged: the sort keys of `sort=`, the page size, and the opaque
//! cursor that carries the last row's sort key and id to the next page.

use super::{Bind, DEFAULT_LIST_LIMIT, FilterError, ListFilter, MAX_LIST_LIMIT};

/// What a list is sorted by (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The activity's time: its start, or its capture time when no start was recorded (the time
    /// `from` and `to` filter by).
    StartedAt,
    CapturedAt,
    /// In byte order of the UTF-8 text (upper case before lower case), in both databases.
    Title,
    /// When the server last wrote the record; a record changed between two pages moves.
    Updated,
}

impl SortKey {
    const ALL: [SortKey; 4] = [
        SortKey::StartedAt,
        SortKey::CapturedAt,
        SortKey::Title,
        SortKey::Updated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::StartedAt => "started_at",
            SortKey::CapturedAt => "captured_at",
            SortKey::Title => "title",
            SortKey::Updated => "updated",
        }
    }

    /// The `record` column ordered by, selected by the list query under the same name.
    pub fn column(self) -> &'static str {
        match self {
            SortKey::StartedAt => "activity_at",
            SortKey::CapturedAt => "captured_at",
            SortKey::Title => "title",
            SortKey::Updated => "updated_at",
        }
    }

    pub fn is_text(self) -> bool {
        self == SortKey::Title
    }
}

/// A sort order: a key, ascending or (`-key`) descending; ties go by record id in the same
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// Newest activity first.
    pub const DEFAULT: Sort = Sort {
        key: SortKey::StartedAt,
        descending: true,
    };

    pub fn parse(s: Option<&str>) -> Result<Sort, FilterError> {
        let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Sort::DEFAULT);
        };
        let (descending, name) = match s.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let key = SortKey::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| FilterError::Sort(s.chars().take(40).collect()))?;
        Ok(Sort { key, descending })
    }

    pub fn of(f: &ListFilter) -> Result<Sort, FilterError> {
        Sort::parse(f.sort.as_deref())
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.descending { "-" } else { "" };
        write!(f, "{sign}{}", self.key.name())
    }
}

pub fn page_limit(f: &ListFilter) -> u32 {
    f.limit
        .unwrap_or(DEFAULT_LIST_LIMIT)
        .clamp(1, MAX_LIST_LIMIT)
}

/// The cursor after a row whose sort key is `key` (the number, or the title) and id is `id`:
/// URL-safe base64 of the sort order, the key and the id, one per line.
pub fn cursor_for(sort: Sort, key: &str, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{sort}\n{key}\n{id}"))
}

/// The sort key (bound as its column's type) and record id a cursor of `sort` holds.
pub(super) fn parse_cursor(sort: Sort, cursor: &str) -> Result<(Bind, String), FilterError> {
    use base64::Engine;
    let bad = || FilterError::Cursor(cursor.chars().take(80).collect());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (head, id) = text.rsplit_once('\n').ok_or_else(bad)?;
    let (order, key) = head.split_once('\n').ok_or_else(bad)?;
    let id: bukti_core::RecordId = id.parse().map_err(|_| bad())?;
    if order != sort.to_string() {
        return Err(FilterError::CursorSort);
    }
    let key = if sort.key.is_text() {
        Bind::Text(key.to_owned())
    } else {
        Bind::Int(key.parse().map_err(|_| bad())?)
    };
    Ok((key, id.to_string()))
}
