//! The LKE worksheet page: one unit's year, one area at a time — the score and what is short of
//! WBK and WBBM, the survey figures, and each question with its answer, its linked evidence and
//! the unit's records that carry its sub-indicator's tag. Forms post back to the same service
//! the JSON API uses ([`crate::lke`]).

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    response::{Redirect, Response},
};
use bukti_core::lke::{Lke, round2};
use serde::Deserialize;

use super::{PageError, encode_query_value, i18n::Texts, render, session::WebUser};
use crate::{
    AppState,
    lke::{self, AnswerInput, FiguresInput, WorksheetView},
    store::ListFilter,
};

/// Suggested evidence records shown per sub-indicator.
const SUGGESTIONS: u32 = 20;

#[derive(Debug, Deserialize)]
pub struct WorksheetQuery {
    #[serde(default)]
    unit: String,
    year: Option<i32>,
    #[serde(default)]
    area: String,
}

#[derive(Debug)]
pub struct OptionItem {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug)]
pub struct InputItem {
    pub code: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug)]
pub struct EvidenceItem {
    pub id: String,
    pub title: String,
    pub verified: bool,
    pub linked: bool,
}

#[derive(Debug)]
pub struct QuestionItem {
    pub code: String,
    pub text: String,
    pub expected: String,
    pub value: String,
    pub options: Vec<OptionItem>,
    pub inputs: Vec<InputItem>,
    pub evidence: Vec<EvidenceItem>,
    pub lacks_verified: bool,
}

#[derive(Debug)]
pub struct SubItem {
    pub code: String,
    pub name: String,
    pub weight: String,
    pub value: String,
    pub tagged: u64,
    pub verified: u64,
    pub questions: Vec<QuestionItem>,
}

#[derive(Debug)]
pub struct ShortItem {
    pub predicate: String,
    pub what: String,
    pub required: String,
    pub actual: String,
    pub short_by: String,
}

#[derive(Template)]
#[template(path = "worksheet.html")]
struct WorksheetPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    user: &'a WebUser,
    unit: String,
    year: i32,
    area: String,
    areas: Vec<(String, String)>,
    units: Vec<(String, String)>,
    edition: String,
    total: String,
    pengungkit: String,
    hasil: String,
    predicates: Vec<(String, bool)>,
    shortfalls: Vec<ShortItem>,
    figures: FiguresInput,
    kinerja_options: Vec<OptionItem>,
    subs: Vec<SubItem>,
    without_evidence: Vec<String>,
    lacking: Vec<String>,
}

fn two(v: f64) -> String {
    format!("{:.2}", round2(v))
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<WorksheetQuery>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let err = |e: crate::error::ApiError| PageError::Api(lang, e);
    let year = q.year.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .year()
            .into()
    });
    let unit = (!q.unit.is_empty()).then_some(q.unit.as_str());
    let view = lke::view(&state.store, &user.principal, unit, year)
        .await
        .map_err(|e| err(e.into()))?;
    let edition = lke::active(&state.store).await.map_err(|e| err(e.into()))?;
    let area = if edition.area(&q.area).is_some() {
        q.area.clone()
    } else {
        edition
            .areas
            .first()
            .map(|a| a.code.clone())
            .unwrap_or_default()
    };
    let mut subs = Vec::new();
    for s in edition.sub_indicators.iter().filter(|s| s.area == area) {
        let filter = ListFilter {
            unit: Some(view.unit.clone()),
            lke: Some(s.code.clone()),
            limit: Some(SUGGESTIONS),
            ..ListFilter::default()
        };
        let (_, from, to) = lke::worksheet_period(&user.principal, Some(&view.unit), year)
            .map_err(|e| err(e.into()))?;
        let filter = ListFilter {
            from_ms: Some(from),
            to_ms: Some(to - 1),
            ..filter
        };
        let suggested = state
            .store
            .list(&user.principal.unit, &filter)
            .await
            .map_err(|e| err(e.into()))?;
        subs.push(sub_item(&edition, &view, s, &suggested.records));
    }
    let units = state
        .store
        .units(&user.principal.unit)
        .await
        .map_err(|e| err(e.into()))?;
    let kinerja = view.figures.capaian_kinerja.clone().unwrap_or_default();
    let page = WorksheetPage {
        t: lang.texts(),
        lang: lang.code(),
        user: &user,
        unit: view.unit.clone(),
        year,
        area,
        areas: edition
            .areas
            .iter()
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect(),
        units: units
            .into_iter()
            .map(|u| (u.path.to_string(), u.name))
            .collect(),
        edition: view.edition_title.clone(),
        total: two(view.score.total),
        pengungkit: two(view.score.pengungkit),
        hasil: two(view.score.hasil),
        predicates: view
            .score
            .predicates
            .iter()
            .map(|p| (p.code.clone(), p.met))
            .collect(),
        shortfalls: view
            .shortfalls
            .iter()
            .map(|s| ShortItem {
                predicate: s.predicate.clone(),
                what: s.what.clone(),
                required: two(s.required),
                actual: two(s.actual),
                short_by: two(s.short_by),
            })
            .collect(),
        kinerja_options: ["A", "B", "C", "D", "E"]
            .iter()
            .map(|c| OptionItem {
                code: (*c).to_owned(),
                label: (*c).to_owned(),
                selected: kinerja == *c,
            })
            .collect(),
        figures: view.figures.clone(),
        subs,
        without_evidence: view.sub_indicators_without_evidence.clone(),
        lacking: view.answers_without_verified_evidence.clone(),
    };
    Ok(render(&page))
}

fn sub_item(
    edition: &Lke,
    view: &WorksheetView,
    s: &bukti_core::lke::SubIndicator,
    suggested: &[crate::store::RecordSummary],
) -> SubItem {
    let score = view.score.sub_indicator(&s.code);
    let counts = view.evidence.iter().find(|e| e.code == s.code);
    let questions = view
        .questions
        .iter()
        .filter(|q| q.sub_indicator == s.code)
        .map(|q| {
            let answer = q.answer.as_ref();
            let chosen = answer.and_then(|a| a.option.clone()).unwrap_or_default();
            let options = edition
                .scale(&q.scale)
                .map(|scale| {
                    scale
                        .options
                        .iter()
                        .map(|o| OptionItem {
                            code: o.code.clone(),
                            label: format!("{} ({})", o.label, o.value),
                            selected: o.code.eq_ignore_ascii_case(&chosen),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let inputs = edition
                .question(&q.code)
                .map(|question| {
                    question
                        .inputs
                        .iter()
                        .map(|i| InputItem {
                            code: i.code.clone(),
                            label: i.label.clone(),
                            value: answer
                                .and_then(|a| a.inputs.get(&i.code))
                                .map(|v| v.to_string())
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let linked: Vec<&str> = answer
                .map(|a| a.evidence.iter().map(|e| e.id.as_str()).collect())
                .unwrap_or_default();
            let mut evidence: Vec<EvidenceItem> = answer
                .map(|a| {
                    a.evidence
                        .iter()
                        .map(|e| EvidenceItem {
                            id: e.id.clone(),
                            title: e.title.clone(),
                            verified: e.verified,
                            linked: true,
                        })
                        .collect()
                })
                .unwrap_or_default();
            for r in suggested {
                let id = r.id.to_string();
                if !linked.contains(&id.as_str()) {
                    evidence.push(EvidenceItem {
                        verified: matches!(r.verdict.as_deref(), Some("valid" | "verified")),
                        title: r.title.clone(),
                        id,
                        linked: false,
                    });
                }
            }
            QuestionItem {
                code: q.code.clone(),
                text: q.text.clone(),
                expected: q.evidence_expected.clone(),
                value: two(q.value),
                options,
                inputs,
                evidence,
                lacks_verified: q.lacks_verified_evidence,
            }
        })
        .collect();
    SubItem {
        code: s.code.clone(),
        name: s.name.clone(),
        weight: two(s.weight),
        value: score.map_or_else(|| two(0.0), |x| two(x.value)),
        tagged: counts.map_or(0, |c| c.tagged),
        verified: counts.map_or(0, |c| c.verified),
        questions,
    }
}

/// The worksheet page's address for `unit`, `year` and `area`, at `anchor`.
fn back(unit: &str, year: i32, area: &str, anchor: &str) -> Redirect {
    Redirect::to(&format!(
        "/worksheet?unit={}&year={year}&area={}#{anchor}",
        encode_query_value(unit),
        encode_query_value(area)
    ))
}

/// A question's form: `option`, or numbers as `input.<code>`, and one `evidence` per box
/// ticked (hence pairs, not a struct: the same key comes many times).
pub async fn answer(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let lang = user.lang;
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    user.check_csrf(&get("csrf"))?;
    let year: i32 = get("year").parse().unwrap_or_default();
    let (unit, area, question) = (get("unit"), get("area"), get("question"));
    let mut input = AnswerInput::default();
    for (key, value) in &form {
        if key == "option" && !value.is_empty() {
            input.option = Some(value.clone());
        } else if let Some(code) = key.strip_prefix("input.") {
            if let Ok(n) = value.trim().parse::<f64>() {
                input.inputs.insert(code.to_owned(), n);
            }
        } else if key == "evidence" {
            input.evidence.push(value.clone());
        }
    }
    lke::answer(
        &state.store,
        &user.principal,
        Some(&unit),
        year,
        &question,
        input,
    )
    .await
    .map_err(|e| PageError::Api(lang, e.into()))?;
    Ok(back(&unit, year, &area, &question))
}

#[derive(Debug, Deserialize)]
pub struct FiguresForm {
    csrf: String,
    unit: String,
    year: i32,
    area: String,
    #[serde(default)]
    ipak_survey: String,
    #[serde(default)]
    ipkp_survey: String,
    #[serde(default)]
    capaian_kinerja: String,
    #[serde(default)]
    holds_wbk: Option<String>,
}

pub async fn figures(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<FiguresForm>,
) -> Result<Redirect, PageError> {
    let lang = user.lang;
    user.check_csrf(&form.csrf)?;
    let number = |s: &str| s.trim().replace(',', ".").parse::<f64>().ok();
    let input = FiguresInput {
        ipak_survey: number(&form.ipak_survey),
        ipkp_survey: number(&form.ipkp_survey),
        capaian_kinerja: (!form.capaian_kinerja.is_empty()).then(|| form.capaian_kinerja.clone()),
        holds_wbk: form.holds_wbk.is_some(),
    };
    lke::set_figures(
        &state.store,
        &user.principal,
        Some(&form.unit),
        form.year,
        input,
    )
    .await
    .map_err(|e| PageError::Api(lang, e.into()))?;
    Ok(back(&form.unit, form.year, &form.area, "figures"))
}
