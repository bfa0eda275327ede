//! The catalogue: activity kinds, service types and the LKE of one regulation edition, as data
//! (`catalogue/catalogue.json`), so a new kind or a new LKE edition is an edit to a file, not
//! to code.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalogue {
    pub edition: String,
    pub edition_title: String,
    pub lke_areas: Vec<LkeArea>,
    pub activity_kinds: Vec<ActivityKind>,
    pub service_types: Vec<ServiceType>,
}

/// One of the six pengungkit areas (Manajemen Perubahan, Pengawasan, …) with its weight.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LkeArea {
    pub code: String,
    pub name: String,
    pub weight: f64,
    pub sub_indicators: Vec<SubIndicator>,
}

#[derive(Debug, Serialize, Deserialize)]
// Named apart from the LKE model's `SubIndicator` in the OpenAPI components.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CatalogueSubIndicator))]
pub struct SubIndicator {
    pub code: String,
    /// `pemenuhan` or `reform`.
    pub part: String,
    pub name: String,
    pub weight: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityKind {
    pub code: String,
    pub name: String,
    /// LKE sub-indicators this kind of activity usually evidences; offered at capture.
    pub default_lke: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceType {
    pub code: String,
    pub name: String,
}

impl Catalogue {
    /// The catalogue shipped with this build.
    pub fn builtin() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            serde_json::from_str(include_str!("../catalogue/catalogue.json"))
                .expect("the built-in catalogue is valid JSON (checked by a unit test)")
        })
    }

    pub fn activity_kind(&self, code: &str) -> Option<&ActivityKind> {
        self.activity_kinds.iter().find(|k| k.code == code)
    }

    pub fn service_type(&self, code: &str) -> Option<&ServiceType> {
        self.service_types.iter().find(|s| s.code == code)
    }

    pub fn sub_indicator(&self, code: &str) -> Option<(&LkeArea, &SubIndicator)> {
        self.lke_areas.iter().find_map(|area| {
            area.sub_indicators
                .iter()
                .find(|s| s.code == code)
                .map(|s| (area, s))
        })
    }

    pub fn area(&self, code: &str) -> Option<&LkeArea> {
        self.lke_areas.iter().find(|a| a.code == code)
    }
}

/// The area part of a sub-indicator code: `PW.P3` → `PW`.
pub fn lke_area_of(code: &str) -> &str {
    code.split_once('.').map_or(code, |(area, _)| area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_matches_the_lke_weights() {
        let c = Catalogue::builtin();
        // PermenPAN-RB 90/2021: the six pengungkit areas weigh 60 in all, half pemenuhan, half reform.
        let total: f64 = c.lke_areas.iter().map(|a| a.weight).sum();
        assert!((total - 60.0).abs() < 1e-9, "areas sum to {total}");
        for area in &c.lke_areas {
            for part in ["pemenuhan", "reform"] {
                let sum: f64 = area
                    .sub_indicators
                    .iter()
                    .filter(|s| s.part == part)
                    .map(|s| s.weight)
                    .sum();
                assert!(
                    (sum - area.weight / 2.0).abs() < 1e-9,
                    "{} {part} sums to {sum}, expected {}",
                    area.code,
                    area.weight / 2.0
                );
            }
        }
        for kind in &c.activity_kinds {
            for code in &kind.default_lke {
                assert!(
                    c.sub_indicator(code).is_some(),
                    "{} names unknown {code}",
                    kind.code
                );
            }
        }
        assert_eq!(lke_area_of("PW.P3"), "PW");
    }
}
