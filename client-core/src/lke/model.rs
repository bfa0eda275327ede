//! The LKE edition file as Rust types: one JSON file per regulation edition
//! (`catalogue/lke-*.json`) deserialises into [`Lke`]. Unknown fields are refused so a typo in
//! the file is an error, not a silently ignored weight.
//!
//! These types carry no invariants of their own; [`Lke::parse`] (in `validate.rs`) is the only
//! constructor that checks them, and the scorer never panics on an unchecked value.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The scale code reserved for questions whose value is computed from numbers entered
/// (`inputs` + `formula`) rather than chosen from options.
pub const PERCENTAGE_SCALE: &str = "percentage";

/// One edition of the LKE: areas, sub-indicators, questions, the Hasil section and the
/// predicate thresholds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Lke {
    /// Stable id of the edition, e.g. `permenpanrb-90-2021-jo-5-2024`.
    pub edition: String,
    /// Revision of this file for the same edition; bumped when the data is corrected.
    pub version: u32,
    pub title: String,
    /// Citation of the regulation and of the sources the questions were taken from.
    pub source: String,
    /// Decisions taken while authoring the file (scale values, formulas), for reviewers.
    #[serde(default)]
    pub notes: Vec<String>,
    pub pengungkit: PengungkitSpec,
    pub scales: Vec<Scale>,
    pub areas: Vec<Area>,
    pub sub_indicators: Vec<SubIndicator>,
    pub questions: Vec<Question>,
    pub hasil: HasilSpec,
    pub predicates: Vec<Predicate>,
}

/// Weights of the Pengungkit half (60 = Pemenuhan 30 + Reform 30).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PengungkitSpec {
    pub weight: f64,
    pub pemenuhan_weight: f64,
    pub reform_weight: f64,
}

impl PengungkitSpec {
    pub fn part_weight(&self, part: Part) -> f64 {
        match part {
            Part::Pemenuhan => self.pemenuhan_weight,
            Part::Reform => self.reform_weight,
        }
    }
}

/// The two halves of every pengungkit area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Pemenuhan,
    Reform,
}

impl Part {
    pub const ALL: [Part; 2] = [Part::Pemenuhan, Part::Reform];

    pub fn as_str(self) -> &'static str {
        match self {
            Part::Pemenuhan => "pemenuhan",
            Part::Reform => "reform",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An answer scale with its options and their values (0..=1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub code: String,
    pub name: String,
    pub options: Vec<ScaleOption>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScaleOption {
    /// What a worksheet answers, e.g. `A` or `ya` (matched ignoring ASCII case).
    pub code: String,
    pub label: String,
    pub value: f64,
}

/// A pengungkit area (pilar) with the weight of each of its two parts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub weight: f64,
    pub pemenuhan_weight: f64,
    pub reform_weight: f64,
}

impl Area {
    pub fn part_weight(&self, part: Part) -> f64 {
        match part {
            Part::Pemenuhan => self.pemenuhan_weight,
            Part::Reform => self.reform_weight,
        }
    }
}

/// A weighted sub-indicator (sub-pilar) of one part of one area.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubIndicator {
    pub code: String,
    pub area: String,
    pub part: Part,
    pub name: String,
    pub weight: f64,
}

/// One question (pertanyaan) of a sub-indicator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub code: String,
    pub sub_indicator: String,
    /// A scale code from `scales`, or [`PERCENTAGE_SCALE`].
    pub scale: String,
    pub text: String,
    /// Per-option criterion text (option code → when to pick it), where the LKE gives one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub criteria: BTreeMap<String, String>,
    /// Numbers entered for a percentage question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<Formula>,
    /// Expected supporting documents (data dukung), as short text.
    pub evidence: String,
}

impl Question {
    pub fn is_percentage(&self) -> bool {
        self.scale == PERCENTAGE_SCALE
    }
}

/// A number entered for a percentage question (a count of complaints, of officials…).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub code: String,
    pub label: String,
}

/// How a percentage question's value (0..=1) is computed from its inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Formula {
    /// `min(1, Σ numerator / Σ denominator)`; `zero_denominator` when the denominator is 0.
    Ratio {
        numerator: Vec<String>,
        denominator: Vec<String>,
        zero_denominator: f64,
    },
    /// `(before − after) / before`, clamped to 0..=1; `zero_before` when both are 0, and 0
    /// when `before` is 0 but `after` is not (things got worse from nothing).
    Reduction {
        before: String,
        after: String,
        zero_before: f64,
    },
}

impl Formula {
    /// Input codes the formula reads, in order.
    pub fn input_codes(&self) -> Vec<&str> {
        match self {
            Formula::Ratio {
                numerator,
                denominator,
                ..
            } => numerator
                .iter()
                .chain(denominator)
                .map(String::as_str)
                .collect(),
            Formula::Reduction { before, after, .. } => vec![before.as_str(), after.as_str()],
        }
    }
}

/// The Hasil half (40): groups of components fed by external surveys and capaian kinerja.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HasilSpec {
    pub weight: f64,
    pub groups: Vec<HasilGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HasilGroup {
    pub code: String,
    pub name: String,
    pub weight: f64,
    pub components: Vec<HasilComponent>,
}

/// Which worksheet field feeds a Hasil component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HasilSource {
    /// `Worksheet::ipak_survey`, a survey value 0..=`survey_max`.
    IpakSurvey,
    /// `Worksheet::ipkp_survey`, a survey value 0..=`survey_max`.
    IpkpSurvey,
    /// `Worksheet::capaian_kinerja`, an option of `scale`.
    CapaianKinerja,
}

impl HasilSource {
    pub const ALL: [HasilSource; 3] = [
        HasilSource::IpakSurvey,
        HasilSource::IpkpSurvey,
        HasilSource::CapaianKinerja,
    ];

    pub fn is_survey(self) -> bool {
        matches!(self, HasilSource::IpakSurvey | HasilSource::IpkpSurvey)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HasilSource::IpakSurvey => "ipak_survey",
            HasilSource::IpkpSurvey => "ipkp_survey",
            HasilSource::CapaianKinerja => "capaian_kinerja",
        }
    }
}

impl fmt::Display for HasilSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HasilComponent {
    pub code: String,
    pub name: String,
    pub weight: f64,
    pub source: HasilSource,
    /// For survey sources: the top of the survey scale (value = survey / survey_max × weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_max: Option<f64>,
    /// For `capaian_kinerja`: the option scale (value = option value × weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub criteria: BTreeMap<String, String>,
}

/// Minimums for one predicate (WBK, WBBM).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub code: String,
    pub name: String,
    /// WBBM can only be proposed for a unit that already holds WBK.
    pub requires_prior_wbk: bool,
    pub min_total: f64,
    pub min_pengungkit: f64,
    /// Applied to each area's pemenuhan and reform part separately.
    pub min_area_part_ratio: f64,
    /// Hasil group or component code → minimum points.
    pub min_hasil: BTreeMap<String, f64>,
}

impl Lke {
    pub fn area(&self, code: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.code == code)
    }

    pub fn sub_indicator(&self, code: &str) -> Option<&SubIndicator> {
        self.sub_indicators.iter().find(|s| s.code == code)
    }

    pub fn question(&self, code: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.code == code)
    }

    pub fn scale(&self, code: &str) -> Option<&Scale> {
        self.scales.iter().find(|s| s.code == code)
    }

    /// Questions of one sub-indicator, in file order.
    pub fn questions_of<'a>(
        &'a self,
        sub_indicator: &'a str,
    ) -> impl Iterator<Item = &'a Question> {
        self.questions
            .iter()
            .filter(move |q| q.sub_indicator == sub_indicator)
    }

    /// Codes of the Hasil groups, each followed by its components, in file order.
    pub fn hasil_codes(&self) -> impl Iterator<Item = &str> {
        self.hasil.groups.iter().flat_map(|g| {
            std::iter::once(g.code.as_str()).chain(g.components.iter().map(|c| c.code.as_str()))
        })
    }

    /// The weight of a Hasil group or component, by code.
    pub fn hasil_weight(&self, code: &str) -> Option<f64> {
        self.hasil.groups.iter().find_map(|g| {
            let component = g.components.iter().find(|c| c.code == code);
            (g.code == code)
                .then_some(g.weight)
                .or(component.map(|c| c.weight))
        })
    }

    pub fn predicate(&self, code: &str) -> Option<&Predicate> {
        self.predicates.iter().find(|p| p.code == code)
    }
}

impl Scale {
    /// The option a worksheet names, ignoring ASCII case (`a` and `A`, `Ya` and `ya`).
    pub fn option(&self, code: &str) -> Option<&ScaleOption> {
        self.options
            .iter()
            .find(|o| o.code.eq_ignore_ascii_case(code.trim()))
    }
}
