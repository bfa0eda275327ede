//! Units as paths in the organisation tree: `bali` (Polda) → `bali/buleleng` (Polres) →
//! `bali/buleleng/sawan` (Polsek). A principal attached to a unit sees that unit's subtree, so
//! scope is a prefix test that both SQLite and PostgreSQL answer from an ordinary index.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validated unit path: lowercase segments of `a-z`, `0-9` and `-`, separated by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct UnitPath(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid unit path {0:?}: use lowercase segments of a-z, 0-9 and '-' separated by '/', e.g. bali/buleleng/sawan"
)]
pub struct InvalidUnitPath(pub String);

impl UnitPath {
    pub fn parse(s: &str) -> Result<Self, InvalidUnitPath> {
        let ok = !s.is_empty()
            && s.len() <= 200
            && s.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidUnitPath(s.to_owned()))
        }
    }

    /// The Indonesian time zone the unit keeps, from its Polda (the first segment): WITA for
    /// Bali and the central provinces, WIT for Maluku and Papua, WIB elsewhere. Indonesia has no
    /// daylight saving, so a fixed offset is exact.
    pub fn time_zone(&self) -> IndonesianZone {
        const WITA: [&str; 12] = [
            "bali",
            "ntb",
            "ntt",
            "kalsel",
            "kaltim",
            "kaltara",
            "sulsel",
            "sulbar",
            "sulteng",
            "sultra",
            "sulut",
            "gorontalo",
        ];
        const WIT: [&str; 4] = ["maluku", "malut", "papua", "papuabarat"];
        let polda = self.0.split('/').next().unwrap_or_default();
        if WITA.contains(&polda) {
            IndonesianZone::Wita
        } else if WIT.contains(&polda) {
            IndonesianZone::Wit
        } else {
            IndonesianZone::Wib
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this unit or lies below it.
    pub fn contains(&self, other: &UnitPath) -> bool {
        other.0 == self.0
            || (other.0.starts_with(&self.0) && other.0.as_bytes().get(self.0.len()) == Some(&b'/'))
    }

    /// The half-open range `[lo, hi)` of strings holding this unit's descendants: `a/b/` up to
    /// `a/b0` (`'0'` is the byte after `'/'`). Together with equality on the unit itself it lets
    /// a database answer a subtree query with an index range scan.
    pub fn descendant_range(&self) -> (String, String) {
        (format!("{}/", self.0), format!("{}0", self.0))
    }
}

/// Western, Central and Eastern Indonesian Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndonesianZone {
    Wib,
    Wita,
    Wit,
}

impl IndonesianZone {
    pub fn abbreviation(self) -> &'static str {
        match self {
            IndonesianZone::Wib => "WIB",
            IndonesianZone::Wita => "WITA",
            IndonesianZone::Wit => "WIT",
        }
    }

    pub fn utc_offset_hours(self) -> i8 {
        match self {
            IndonesianZone::Wib => 7,
            IndonesianZone::Wita => 8,
            IndonesianZone::Wit => 9,
        }
    }

    pub fn time_zone(self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::fixed(jiff::tz::offset(self.utc_offset_hours()))
    }

    /// `t` as the unit's local time, e.g. `2026-11-30 14:05 WITA`.
    pub fn format(self, t: jiff::Timestamp) -> String {
        let local = t.to_zoned(self.time_zone());
        format!(
            "{} {}",
            local.strftime("%Y-%m-%d %H:%M"),
            self.abbreviation()
        )
    }
}

impl TryFrom<String> for UnitPath {
    type Error = InvalidUnitPath;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UnitPath> for String {
    fn from(value: UnitPath) -> Self {
        value.0
    }
}

impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_keep_their_provinces_time() {
        let sawan = UnitPath::parse("bali/buleleng/sawan").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sawan.time_zone(), IndonesianZone::Wita);
        let t: jiff::Timestamp = "2026-11-30T06:05:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sawan.time_zone().format(t), "2026-11-30 14:05 WITA");
        let jakarta = UnitPath::parse("metro/jaksel").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jakarta.time_zone().format(t), "2026-11-30 13:05 WIB");
        let papua = UnitPath::parse("papua/jayapura").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(papua.time_zone().abbreviation(), "WIT");
    }

    #[test]
    fn parses_paths_and_refuses_junk() {
        assert!(UnitPath::parse("bali/buleleng/sawan").is_ok());
        for bad in [
            "",
            "Bali",
            "bali//sawan",
            "/bali",
            "bali/",
            "bali/../x",
            "a b",
            "bali/%",
        ] {
            assert!(UnitPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn subtree_contains_itself_and_children_only() {
        let polres = UnitPath::parse("bali/buleleng").unwrap_or_else(|e| panic!("{e}"));
        let polsek = UnitPath::parse("bali/buleleng/sawan").unwrap_or_else(|e| panic!("{e}"));
        let lookalike = UnitPath::parse("bali/bulelengx").unwrap_or_else(|e| panic!("{e}"));
        assert!(polres.contains(&polres));
        assert!(polres.contains(&polsek));
        assert!(!polsek.contains(&polres));
        assert!(!polres.contains(&lookalike));
        let (lo, hi) = polres.descendant_range();
        assert!(polsek.as_str() >= lo.as_str() && polsek.as_str() < hi.as_str());
        assert!(!(lookalike.as_str() >= lo.as_str() && lookalike.as_str() < hi.as_str()));
    }
}
