//! Errors of the LKE module: why an edition file is refused ([`LkeError`]) and why a
//! worksheet cannot be scored ([`WorksheetError`]). Messages name the offending code and the
//! numbers involved, because they are read by whoever edits the JSON or the worksheet.

use thiserror::Error;

use super::model::{HasilSource, Part};

/// Why an edition file was refused.
#[derive(Debug, Error)]
pub enum LkeError {
    #[error("the LKE edition is not valid JSON for the expected schema: {0}")]
    Json(#[from] serde_json::Error),
    #[error("version must be 1 or more, found {version}")]
    BadVersion { version: u32 },
    #[error("{what} must not be empty")]
    EmptyText { what: String },
    #[error("code {code} is used more than once")]
    DuplicateCode { code: String },
    #[error("{code} has weight {weight}; weights must be finite and greater than 0")]
    BadWeight { code: String, weight: f64 },
    #[error("pengungkit weight {weight} is not pemenuhan {pemenuhan} + reform {reform}")]
    PengungkitWeightMismatch {
        weight: f64,
        pemenuhan: f64,
        reform: f64,
    },
    #[error("pengungkit {pengungkit} + hasil {hasil} = {total}, expected 100")]
    TotalWeightMismatch {
        pengungkit: f64,
        hasil: f64,
        total: f64,
    },
    #[error("area {area} has weight {weight} but pemenuhan {pemenuhan} + reform {reform}")]
    AreaWeightMismatch {
        area: String,
        weight: f64,
        pemenuhan: f64,
        reform: f64,
    },
    #[error("areas' {part} weights sum to {actual}, pengungkit {part} is {expected}")]
    PengungkitPartMismatch {
        part: Part,
        expected: f64,
        actual: f64,
    },
    #[error("sub-indicator {sub_indicator} names unknown area {area}")]
    UnknownArea { sub_indicator: String, area: String },
    #[error(
        "area {area} {part}: sub-indicator weights sum to {actual}, the part weighs {expected}"
    )]
    PartWeightMismatch {
        area: String,
        part: Part,
        expected: f64,
        actual: f64,
    },
    #[error("scale code {scale} is reserved for computed questions")]
    ReservedScale { scale: String },
    #[error("scale {scale} has no options")]
    ScaleWithoutOptions { scale: String },
    #[error("scale {scale} has option {option} more than once")]
    DuplicateOption { scale: String, option: String },
    #[error("scale {scale} option {option} has value {value}, outside 0..=1")]
    OptionValueOutOfRange {
        scale: String,
        option: String,
        value: f64,
    },
    #[error("scale {scale} has no option worth 1, so full marks are impossible")]
    ScaleWithoutFullMarks { scale: String },
    #[error("question {question} names unknown sub-indicator {sub_indicator}")]
    UnknownSubIndicator {
        question: String,
        sub_indicator: String,
    },
    #[error("{code} names unknown scale {scale}")]
    UnknownScale { code: String, scale: String },
    #[error("{code} gives a criterion for option {option}, which its scale does not have")]
    UnknownCriterionOption { code: String, option: String },
    #[error("percentage question {question} needs inputs and a formula")]
    MissingFormula { question: String },
    #[error("question {question} is answered by option, so it cannot have inputs or a formula")]
    UnexpectedFormula { question: String },
    #[error("question {question} declares input {input} more than once")]
    DuplicateInput { question: String, input: String },
    #[error("question {question}: formula reads input {input}, which is not declared")]
    UnknownFormulaInput { question: String, input: String },
    #[error("question {question}: ratio needs at least one numerator and one denominator input")]
    EmptyRatio { question: String },
    #[error("question {question}: fallback value {value} is outside 0..=1")]
    FallbackOutOfRange { question: String, value: f64 },
    #[error("sub-indicator {sub_indicator} has no questions")]
    SubIndicatorWithoutQuestions { sub_indicator: String },
    #[error("hasil group {group}: component weights sum to {actual}, the group weighs {expected}")]
    HasilGroupWeightMismatch {
        group: String,
        expected: f64,
        actual: f64,
    },
    #[error("hasil groups sum to {actual}, hasil weighs {expected}")]
    HasilWeightMismatch { expected: f64, actual: f64 },
    #[error("hasil source {hasil_source} feeds {count} components, expected exactly 1")]
    HasilSourceCount {
        hasil_source: HasilSource,
        count: usize,
    },
    #[error("hasil component {component} is malformed: {reason}")]
    BadHasilComponent { component: String, reason: String },
    #[error("predicate {predicate}: area part ratio {ratio} is outside 0..=1")]
    RatioOutOfRange { predicate: String, ratio: f64 },
    #[error("predicate {predicate}: minimum for unknown hasil code {code}")]
    UnknownThresholdCode { predicate: String, code: String },
    #[error("predicate {predicate}: minimum {value} for {what} is outside 0..={max}")]
    ThresholdOutOfRange {
        predicate: String,
        what: String,
        value: f64,
        max: f64,
    },
}

/// Why a worksheet cannot be scored against an edition.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WorksheetError {
    #[error("answer for unknown question {question}")]
    UnknownQuestion { question: String },
    #[error("question {question} has no option {option}")]
    UnknownOption { question: String, option: String },
    #[error("question {question} is answered with numbers, not with option {option}")]
    OptionOnComputed { question: String, option: String },
    #[error("question {question} is answered with an option, not with numbers")]
    InputsOnChoice { question: String },
    #[error("question {question} has no input {input}")]
    UnknownInput { question: String, input: String },
    #[error("question {question} input {input} is {value}; inputs must be finite and >= 0")]
    BadInput {
        question: String,
        input: String,
        value: f64,
    },
    #[error("{component} survey value {value} is outside 0..={max}")]
    SurveyOutOfRange {
        component: String,
        value: f64,
        max: f64,
    },
    #[error("{component} has no option {option}")]
    UnknownHasilOption { component: String, option: String },
}
