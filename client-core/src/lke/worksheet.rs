//! The input and output of scoring: a [`Worksheet`] (answers, survey values, capaian kinerja)
//! and the [`Score`] computed from it, with per-predicate threshold checks. Plain data, so the
//! server can take a worksheet as JSON and return the score as JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::TOLERANCE;
use super::model::Part;

/// What a unit (or its evaluator) has answered so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Worksheet {
    /// Question code → answer. Questions absent here are unanswered.
    pub answers: BTreeMap<String, Answer>,
    /// Survey value of the Indeks Persepsi Anti Korupsi, 0..=survey_max (4).
    pub ipak_survey: Option<f64>,
    /// Survey value of the Indeks Persepsi Kualitas Pelayanan, 0..=survey_max (4).
    pub ipkp_survey: Option<f64>,
    /// Capaian kinerja option, `A`..`E`.
    pub capaian_kinerja: Option<String>,
    /// Whether the unit already holds the WBK predicate (required for WBBM).
    pub holds_wbk: bool,
}

/// The answer to one question: an option, or the numbers of a percentage question.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Answer {
    pub option: Option<String>,
    /// Input code → number entered (counts, never negative).
    pub inputs: BTreeMap<String, f64>,
}

impl Answer {
    /// An option answer, e.g. `Answer::choose("A")` or `Answer::choose("ya")`.
    pub fn choose(option: impl Into<String>) -> Answer {
        Answer {
            option: Some(option.into()),
            inputs: BTreeMap::new(),
        }
    }

    /// A percentage answer, e.g. `Answer::numbers([("harus", 10.0), ("selesai", 8.0)])`.
    pub fn numbers<K: Into<String>>(inputs: impl IntoIterator<Item = (K, f64)>) -> Answer {
        Answer {
            option: None,
            inputs: inputs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

/// The scored worksheet. All values are points (already multiplied by weights) except
/// `QuestionScore::value`, which is the 0..=1 value of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Score {
    pub edition: String,
    pub sub_indicators: Vec<SubIndicatorScore>,
    pub areas: Vec<AreaScore>,
    pub pemenuhan: f64,
    pub reform: f64,
    pub pengungkit: f64,
    pub hasil_components: Vec<HasilComponentScore>,
    pub hasil_groups: Vec<HasilGroupScore>,
    pub hasil: f64,
    pub total: f64,
    pub predicates: Vec<PredicateResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubIndicatorScore {
    pub code: String,
    pub area: String,
    pub part: Part,
    pub weight: f64,
    pub value: f64,
    pub questions: Vec<QuestionScore>,
    /// Codes of questions not (fully) answered yet; they counted as 0.
    pub unanswered: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuestionScore {
    pub code: String,
    /// 0..=1; 0 when unanswered.
    pub value: f64,
    pub answered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaScore {
    pub code: String,
    pub pemenuhan: f64,
    pub reform: f64,
    pub total: f64,
}

impl AreaScore {
    pub fn part(&self, part: Part) -> f64 {
        match part {
            Part::Pemenuhan => self.pemenuhan,
            Part::Reform => self.reform,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HasilComponentScore {
    pub code: String,
    pub group: String,
    pub weight: f64,
    pub value: f64,
    pub answered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HasilGroupScore {
    pub code: String,
    pub weight: f64,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredicateResult {
    pub code: String,
    /// True when every check is met.
    pub met: bool,
    pub checks: Vec<ThresholdCheck>,
}

/// One minimum of a predicate and where the worksheet stands against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThresholdCheck {
    pub what: CheckTarget,
    pub required: f64,
    pub actual: f64,
    pub met: bool,
    /// `required − actual` when not met, else 0.
    pub short_by: f64,
}

impl ThresholdCheck {
    pub(super) fn new(what: CheckTarget, required: f64, actual: f64) -> ThresholdCheck {
        let met = actual + TOLERANCE >= required;
        let short_by = if met { 0.0 } else { required - actual };
        ThresholdCheck {
            what,
            required,
            actual,
            met,
            short_by,
        }
    }
}

/// What a threshold check measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckTarget {
    Total,
    Pengungkit,
    /// One part of one area, against `min_area_part_ratio × part weight`.
    AreaPart {
        area: String,
        part: Part,
    },
    /// A Hasil group or component, by code.
    Hasil {
        code: String,
    },
    /// Holding WBK already (required 1, actual 0 or 1).
    PriorWbk,
}

impl fmt::Display for CheckTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckTarget::Total => f.write_str("nilai total"),
            CheckTarget::Pengungkit => f.write_str("total pengungkit"),
            CheckTarget::AreaPart { area, part } => write!(f, "{area} {part}"),
            CheckTarget::Hasil { code } => write!(f, "hasil {code}"),
            CheckTarget::PriorWbk => f.write_str("predikat WBK sebelumnya"),
        }
    }
}

impl Score {
    pub fn predicate(&self, code: &str) -> Option<&PredicateResult> {
        self.predicates.iter().find(|p| p.code == code)
    }

    pub fn sub_indicator(&self, code: &str) -> Option<&SubIndicatorScore> {
        self.sub_indicators.iter().find(|s| s.code == code)
    }

    pub fn area(&self, code: &str) -> Option<&AreaScore> {
        self.areas.iter().find(|a| a.code == code)
    }

    /// Points of a Hasil group or component, by code.
    pub fn hasil_value(&self, code: &str) -> Option<f64> {
        self.hasil_groups
            .iter()
            .find(|g| g.code == code)
            .map(|g| g.value)
            .or_else(|| {
                self.hasil_components
                    .iter()
                    .find(|c| c.code == code)
                    .map(|c| c.value)
            })
    }

    /// Every unanswered question, in edition order.
    pub fn unanswered(&self) -> impl Iterator<Item = &str> {
        self.sub_indicators
            .iter()
            .flat_map(|s| s.unanswered.iter().map(String::as_str))
    }
}
