//! LKE editions and worksheets: installing a newer edition of the LKE, and each unit's yearly
//! worksheet — the assessor's answers with the evidence records linked to them, the survey and
//! performance figures — scored exactly as the LKE does ([`bukti_core::lke`]) and read for
//! readiness: what is short of WBK and WBBM and by how much, which answers lack verified
//! evidence, which sub-indicators have no evidence at all.

use std::{collections::BTreeMap, sync::Arc};

use bukti_core::{
    lke::{Answer, Lke, LkeError, Score, Worksheet, WorksheetError},
    unit::UnitPath,
};
use serde::{Deserialize, Serialize};

use crate::{
    directory::{Permission, Principal},
    store::{
        DynStore, StoreError,
        lke::{AnswerRow, EvidenceCount, EvidenceRecord, Figures, StoredEdition},
    },
};

/// Evidence records one answer may link.
pub const MAX_EVIDENCE_PER_ANSWER: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum LkeServiceError {
    #[error("the LKE edition is refused: {0}")]
    Edition(#[from] LkeError),
    #[error("a newer version of edition {0} is already installed")]
    OlderEdition(String),
    #[error("{0}")]
    Answer(#[from] WorksheetError),
    #[error("year {0} is not a worksheet year (2000–2100)")]
    Year(i32),
    #[error("an answer links at most {MAX_EVIDENCE_PER_ANSWER} evidence records")]
    TooMuchEvidence,
    #[error("evidence record {0} does not exist or is outside the worksheet's unit")]
    UnknownEvidence(String),
    #[error("your roles ({0}) do not allow editing LKE worksheets")]
    NotAllowed(String),
    #[error("no such unit (or it is outside your unit)")]
    OutsideScope,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, LkeServiceError>;

/// The edition in force: the one loaded last, else the one built into the server.
pub async fn active(store: &DynStore) -> Result<Arc<Lke>> {
    match store.active_edition().await? {
        Some(body) => Ok(Arc::new(Lke::parse(&body)?)),
        None => Ok(Arc::new(Lke::builtin().clone())),
    }
}

/// Validates and installs an edition file; it becomes the edition in force.
pub async fn load_edition(store: &DynStore, json: &str) -> Result<StoredEdition> {
    let lke = Lke::parse(json)?;
    let edition = StoredEdition {
        edition: lke.edition.clone(),
        version: i64::from(lke.version),
        title: lke.title.clone(),
        loaded_at: jiff::Timestamp::now().as_millisecond(),
    };
    if !store.insert_edition(&edition, json).await? {
        return Err(LkeServiceError::OlderEdition(edition.edition));
    }
    Ok(edition)
}

/// The unit a worksheet is for, if the caller may see it.
fn worksheet_unit(principal: &Principal, unit: Option<&str>) -> Result<UnitPath> {
    let unit = match unit {
        Some(u) => UnitPath::parse(u).map_err(|_| LkeServiceError::OutsideScope)?,
        None => principal.unit.clone(),
    };
    if principal.unit.contains(&unit) {
        Ok(unit)
    } else {
        Err(LkeServiceError::OutsideScope)
    }
}

fn check_year(year: i32) -> Result<()> {
    if (2000..=2100).contains(&year) {
        Ok(())
    } else {
        Err(LkeServiceError::Year(year))
    }
}

/// The worksheet's evidence period: the whole year in the unit's time zone, as `[from, to)` ms.
fn year_bounds(unit: &UnitPath, year: i32) -> Result<(i64, i64)> {
    let zone = unit.time_zone().time_zone();
    let start = |y: i32| -> Result<i64> {
        let y = i16::try_from(y).map_err(|_| LkeServiceError::Year(year))?;
        jiff::civil::date(y, 1, 1)
            .to_zoned(zone.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| LkeServiceError::Year(year))
    };
    Ok((start(year)?, start(year + 1)?))
}

/// The unit (checked against the caller's scope) and the `[from, to)` ms of a worksheet year.
pub fn worksheet_period(
    principal: &Principal,
    unit: Option<&str>,
    year: i32,
) -> Result<(UnitPath, i64, i64)> {
    check_year(year)?;
    let unit = worksheet_unit(principal, unit)?;
    let (from, to) = year_bounds(&unit, year)?;
    Ok((unit, from, to))
}

/// One question of the worksheet with its answer and evidence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuestionView {
    pub code: String,
    pub sub_indicator: String,
    pub text: String,
    pub scale: String,
    pub evidence_expected: String,
    pub answer: Option<AnswerView>,
    pub value: f64,
    /// Answered, but none of its linked evidence is verified.
    pub lacks_verified_evidence: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnswerView {
    pub option: Option<String>,
    pub inputs: BTreeMap<String, f64>,
    pub evidence: Vec<EvidenceView>,
    pub updated_by: String,
    #[serde(with = "bukti_core::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceView {
    pub id: String,
    pub title: String,
    pub verified: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubIndicatorEvidence {
    pub code: String,
    pub tagged: u64,
    pub verified: u64,
}

/// What stands between the unit and a predicate.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Shortfall {
    pub predicate: String,
    pub what: String,
    pub required: f64,
    pub actual: f64,
    pub short_by: f64,
}

/// A unit's worksheet for a year, scored, with its readiness.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorksheetView {
    pub unit: String,
    pub year: i32,
    pub edition: String,
    pub edition_title: String,
    pub figures: FiguresInput,
    pub score: Score,
    pub questions: Vec<QuestionView>,
    pub evidence: Vec<SubIndicatorEvidence>,
    pub shortfalls: Vec<Shortfall>,
    pub answers_without_verified_evidence: Vec<String>,
    pub sub_indicators_without_evidence: Vec<String>,
    /// Answers to questions the edition in force no longer has (kept, not scored).
    pub stale_answers: Vec<String>,
}

/// The figures as the API takes and shows them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiguresInput {
    pub ipak_survey: Option<f64>,
    pub ipkp_survey: Option<f64>,
    pub capaian_kinerja: Option<String>,
    #[serde(default)]
    pub holds_wbk: bool,
}

/// An answer as the API takes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub option: Option<String>,
    #[serde(default)]
    pub inputs: BTreeMap<String, f64>,
    #[serde(default)]
    pub evidence: Vec<String>,
}

pub async fn view(
    store: &DynStore,
    principal: &Principal,
    unit: Option<&str>,
    year: i32,
) -> Result<WorksheetView> {
    let (unit, from, to) = worksheet_period(principal, unit, year)?;
    let lke = active(store).await?;
    let stored = store.worksheet(&unit, year).await?;
    let counts = store.evidence_counts(&unit, from, to).await?;
    let linked: Vec<String> = stored
        .answers
        .iter()
        .flat_map(|a| a.evidence.iter().cloned())
        .collect();
    let records = store.evidence_records(&unit, &linked).await?;
    let (current, stale): (Vec<&AnswerRow>, Vec<&AnswerRow>) = stored
        .answers
        .iter()
        .partition(|a| lke.question(&a.question).is_some());
    let worksheet = Worksheet {
        answers: current
            .iter()
            .map(|a| {
                let answer = Answer {
                    option: a.option.clone(),
                    inputs: a.inputs.clone(),
                };
                (a.question.clone(), answer)
            })
            .collect(),
        ipak_survey: stored.figures.ipak_survey,
        ipkp_survey: stored.figures.ipkp_survey,
        capaian_kinerja: stored.figures.capaian_kinerja.clone(),
        holds_wbk: stored.figures.holds_wbk,
    };
    let score = lke.score(&worksheet)?;
    let answers: BTreeMap<&str, &AnswerRow> =
        current.iter().map(|a| (a.question.as_str(), *a)).collect();
    let questions: Vec<QuestionView> = lke
        .questions
        .iter()
        .map(|q| question_view(q, answers.get(q.code.as_str()).copied(), &records, &score))
        .collect();
    let evidence: Vec<SubIndicatorEvidence> = lke
        .sub_indicators
        .iter()
        .map(|s| {
            let c = counts
                .get(&s.code)
                .copied()
                .unwrap_or(EvidenceCount::default());
            SubIndicatorEvidence {
                code: s.code.clone(),
                tagged: c.tagged,
                verified: c.verified,
            }
        })
        .collect();
    Ok(WorksheetView {
        unit: unit.to_string(),
        year,
        edition: lke.edition.clone(),
        edition_title: lke.title.clone(),
        figures: FiguresInput {
            ipak_survey: stored.figures.ipak_survey,
            ipkp_survey: stored.figures.ipkp_survey,
            capaian_kinerja: stored.figures.capaian_kinerja.clone(),
            holds_wbk: stored.figures.holds_wbk,
        },
        shortfalls: shortfalls(&score),
        answers_without_verified_evidence: questions
            .iter()
            .filter(|q| q.lacks_verified_evidence)
            .map(|q| q.code.clone())
            .collect(),
        sub_indicators_without_evidence: evidence
            .iter()
            .filter(|e| e.tagged == 0)
            .map(|e| e.code.clone())
            .collect(),
        stale_answers: stale.iter().map(|a| a.question.clone()).collect(),
        score,
        questions,
        evidence,
    })
}

fn question_view(
    q: &bukti_core::lke::Question,
    answer: Option<&AnswerRow>,
    records: &std::collections::HashMap<String, EvidenceRecord>,
    score: &Score,
) -> QuestionView {
    let value = score
        .sub_indicator(&q.sub_indicator)
        .and_then(|s| s.questions.iter().find(|x| x.code == q.code))
        .map_or(0.0, |x| x.value);
    let answer = answer.map(|a| AnswerView {
        option: a.option.clone(),
        inputs: a.inputs.clone(),
        evidence: a
            .evidence
            .iter()
            .filter_map(|id| records.get(id))
            .map(|r| EvidenceView {
                id: r.id.clone(),
                title: r.title.clone(),
                verified: r.verified,
            })
            .collect(),
        updated_by: a.updated_by.clone(),
        updated_at: a.updated_at,
    });
    let lacks_verified_evidence = answer
        .as_ref()
        .is_some_and(|a| !a.evidence.iter().any(|e| e.verified));
    QuestionView {
        code: q.code.clone(),
        sub_indicator: q.sub_indicator.clone(),
        text: q.text.clone(),
        scale: q.scale.clone(),
        evidence_expected: q.evidence.clone(),
        answer,
        value,
        lacks_verified_evidence,
    }
}

fn shortfalls(score: &Score) -> Vec<Shortfall> {
    score
        .predicates
        .iter()
        .flat_map(|p| {
            p.checks.iter().filter(|c| !c.met).map(|c| Shortfall {
                predicate: p.code.clone(),
                what: c.what.to_string(),
                required: c.required,
                actual: c.actual,
                short_by: c.short_by,
            })
        })
        .collect()
}

fn require_editor(principal: &Principal) -> Result<()> {
    if principal.can(Permission::EditWorksheet) {
        Ok(())
    } else {
        Err(LkeServiceError::NotAllowed(principal.roles.to_string()))
    }
}

/// Answers one question, linking evidence records of the unit; checked against the edition in
/// force before it is stored.
pub async fn answer(
    store: &DynStore,
    principal: &Principal,
    unit: Option<&str>,
    year: i32,
    question: &str,
    input: AnswerInput,
) -> Result<()> {
    require_editor(principal)?;
    check_year(year)?;
    let unit = worksheet_unit(principal, unit)?;
    let lke = active(store).await?;
    let answer = Answer {
        option: input.option.clone(),
        inputs: input.inputs.clone(),
    };
    let single = Worksheet {
        answers: BTreeMap::from([(question.to_owned(), answer)]),
        ..Worksheet::default()
    };
    lke.score(&single)?;
    let mut evidence = input.evidence;
    evidence.sort();
    evidence.dedup();
    if evidence.len() > MAX_EVIDENCE_PER_ANSWER {
        return Err(LkeServiceError::TooMuchEvidence);
    }
    let found = store.evidence_records(&unit, &evidence).await?;
    if let Some(missing) = evidence.iter().find(|id| !found.contains_key(*id)) {
        return Err(LkeServiceError::UnknownEvidence(missing.clone()));
    }
    let row = AnswerRow {
        question: question.to_owned(),
        option: input.option,
        inputs: input.inputs,
        evidence,
        updated_at: jiff::Timestamp::now().as_millisecond(),
        updated_by: principal.name.clone(),
    };
    store.put_answer(&unit, year, &row).await?;
    Ok(())
}

/// Sets the survey results, the performance achievement and whether the unit holds WBK.
pub async fn set_figures(
    store: &DynStore,
    principal: &Principal,
    unit: Option<&str>,
    year: i32,
    input: FiguresInput,
) -> Result<()> {
    require_editor(principal)?;
    check_year(year)?;
    let unit = worksheet_unit(principal, unit)?;
    let lke = active(store).await?;
    let figures = Worksheet {
        ipak_survey: input.ipak_survey,
        ipkp_survey: input.ipkp_survey,
        capaian_kinerja: input.capaian_kinerja.clone(),
        holds_wbk: input.holds_wbk,
        ..Worksheet::default()
    };
    lke.score(&figures)?;
    let stored = Figures {
        ipak_survey: input.ipak_survey,
        ipkp_survey: input.ipkp_survey,
        capaian_kinerja: input.capaian_kinerja,
        holds_wbk: input.holds_wbk,
    };
    store
        .put_figures(&unit, year, &stored, &principal.name)
        .await?;
    Ok(())
}
