//! The LKE (Lembar Kerja Evaluasi) of the Zona Integritas evaluation as versioned data:
//! an edition file (`catalogue/lke-*.json`) holding areas, weighted sub-indicators, questions
//! with their answer scales and expected evidence, the Hasil section and the WBK/WBBM
//! thresholds; validation of such a file; and pure scoring of a worksheet against it.
//!
//! Arithmetic: everything is computed in `f64` without intermediate rounding and predicates
//! compare unrounded values with a tolerance of [`TOLERANCE`], so a unit exactly at a threshold
//! passes whatever the float noise. The LKE sheet shows two decimals; use [`round2`] only when
//! displaying.

mod error;
mod model;
mod score;
mod validate;
mod worksheet;

#[cfg(test)]
mod tests;

use std::sync::OnceLock;

pub use error::{LkeError, WorksheetError};
pub use model::{
    Area, Formula, HasilComponent, HasilGroup, HasilSource, HasilSpec, Input, Lke,
    PERCENTAGE_SCALE, Part, PengungkitSpec, Predicate, Question, Scale, ScaleOption, SubIndicator,
};
pub use worksheet::{
    Answer, AreaScore, CheckTarget, HasilComponentScore, HasilGroupScore, PredicateResult,
    QuestionScore, Score, SubIndicatorScore, ThresholdCheck, Worksheet,
};

/// Float tolerance for weight sums and threshold comparisons; far below the LKE's two
/// displayed decimals, far above accumulated `f64` error over a hundred questions.
pub const TOLERANCE: f64 = 1e-9;

/// Rounds to the two decimals the LKE sheet displays (half away from zero).
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl Lke {
    /// The edition shipped with this build (PermenPAN-RB 90/2021 jo. 5/2024).
    pub fn builtin() -> &'static Lke {
        static LKE: OnceLock<Lke> = OnceLock::new();
        LKE.get_or_init(|| {
            Lke::parse(include_str!("../../catalogue/lke-permenpanrb-90-2021.json")).unwrap_or_else(
                |e| panic!("the built-in LKE edition is invalid (a unit test checks it): {e}"),
            )
        })
    }
}
