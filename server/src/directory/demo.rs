//! The demo organisation: Polda Bali → Polres Buleleng with its ten Polsek (one with a
//! Polsubsektor) and the Polres's functional sections, as listed in the project's domain notes.
//! `bukti-server unit demo` loads it so a new installation has a realistic tree to try.

use super::UnitKind;

/// (path, name, kind), parents before children.
pub const DEMO_UNITS: &[(&str, &str, UnitKind)] = &[
    ("bali", "Polda Bali", UnitKind::Polda),
    ("bali/buleleng", "Polres Buleleng", UnitKind::Polres),
    (
        "bali/buleleng/kota-singaraja",
        "Polsek Kota Singaraja",
        UnitKind::Polsek,
    ),
    (
        "bali/buleleng/sukasada",
        "Polsek Sukasada",
        UnitKind::Polsek,
    ),
    ("bali/buleleng/sawan", "Polsek Sawan", UnitKind::Polsek),
    (
        "bali/buleleng/kubutambahan",
        "Polsek Kubutambahan",
        UnitKind::Polsek,
    ),
    (
        "bali/buleleng/tejakula",
        "Polsek Tejakula",
        UnitKind::Polsek,
    ),
    (
        "bali/buleleng/gerokgak",
        "Polsek Gerokgak",
        UnitKind::Polsek,
    ),
    ("bali/buleleng/seririt", "Polsek Seririt", UnitKind::Polsek),
    (
        "bali/buleleng/busungbiu",
        "Polsek Busungbiu",
        UnitKind::Polsek,
    ),
    (
        "bali/buleleng/busungbiu/tegal-asih",
        "Polsubsektor Tegal Asih",
        UnitKind::Polsubsektor,
    ),
    ("bali/buleleng/banjar", "Polsek Banjar", UnitKind::Polsek),
    (
        "bali/buleleng/celukan-bawang",
        "Polsek Kawasan Laut Celukan Bawang",
        UnitKind::Polsek,
    ),
    ("bali/buleleng/spkt", "SPKT", UnitKind::Section),
    (
        "bali/buleleng/sat-intelkam",
        "Sat Intelkam",
        UnitKind::Section,
    ),
    ("bali/buleleng/sat-lantas", "Sat Lantas", UnitKind::Section),
    ("bali/buleleng/sat-binmas", "Sat Binmas", UnitKind::Section),
    (
        "bali/buleleng/sat-samapta",
        "Sat Samapta",
        UnitKind::Section,
    ),
    (
        "bali/buleleng/sat-reskrim",
        "Sat Reskrim",
        UnitKind::Section,
    ),
    ("bali/buleleng/siwas", "Siwas", UnitKind::Section),
    ("bali/buleleng/sipropam", "Sipropam", UnitKind::Section),
    ("bali/buleleng/bag-ops", "Bag Ops", UnitKind::Section),
    ("bali/buleleng/bag-ren", "Bag Ren", UnitKind::Section),
];

/// (path, `south,west,north,east`): the demo's areas. Polres Buleleng's box holds the regency
/// and its coastal waters (Polsek Kawasan Laut Celukan Bawang patrols the sea); its Polsek use
/// it until an operator loads their real boundaries with `bukti-server unit area`.
pub const DEMO_AREAS: &[(&str, &str)] = &[("bali/buleleng", "-8.45,114.40,-7.95,115.45")];

#[cfg(test)]
mod tests {
    use bukti_core::unit::UnitPath;

    use super::*;
    use crate::directory::parent_of;

    #[test]
    fn every_demo_unit_fits_under_an_earlier_parent() {
        let mut seen: Vec<(UnitPath, UnitKind)> = Vec::new();
        for (path, _, kind) in DEMO_UNITS {
            let path = UnitPath::parse(path).expect("valid path");
            let parent = parent_of(&path).map(|p| {
                seen.iter()
                    .find(|(s, _)| *s == p)
                    .map(|(_, k)| *k)
                    .unwrap_or_else(|| panic!("{path}: parent {p} comes later or is missing"))
            });
            assert!(kind.fits_under(parent), "{path}");
            seen.push((path, *kind));
        }
        let polsek = DEMO_UNITS
            .iter()
            .filter(|(_, _, k)| *k == UnitKind::Polsek)
            .count();
        assert_eq!(polsek, 10, "Polres Buleleng has ten Polsek");
    }
}
