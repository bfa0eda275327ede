//! Pure scoring of a [`Worksheet`] (answers, survey values, capaian kinerja) against an LKE
//! edition: per sub-indicator, area, part, Hasil component and group, the total, and for each
//! predicate the list of threshold checks with how far short the unit is.
//!
//! A sub-indicator scores `weight × mean(question values)`; an unanswered question counts as
//! 0 and is listed, so a partial worksheet shows both its score and what is still missing.
//! Nothing is rounded here (see `round2` in the module root for display).

use std::collections::BTreeMap;

use super::error::WorksheetError;
use super::model::{Formula, HasilComponent, HasilSource, Lke, Part, Question};
use super::worksheet::{
    Answer, AreaScore, CheckTarget, HasilComponentScore, HasilGroupScore, PredicateResult,
    QuestionScore, Score, SubIndicatorScore, ThresholdCheck, Worksheet,
};

impl Formula {
    /// The 0..=1 value, or `None` while an input the formula reads is missing.
    fn evaluate(&self, inputs: &BTreeMap<String, f64>) -> Option<f64> {
        let get = |code: &str| inputs.get(code).copied();
        match self {
            Formula::Ratio {
                numerator,
                denominator,
                zero_denominator,
            } => {
                let sum = |codes: &[String]| codes.iter().map(|c| get(c)).sum::<Option<f64>>();
                let (num, den) = (sum(numerator)?, sum(denominator)?);
                Some(if den > 0.0 {
                    (num / den).clamp(0.0, 1.0)
                } else {
                    *zero_denominator
                })
            }
            Formula::Reduction {
                before,
                after,
                zero_before,
            } => {
                let (before, after) = (get(before)?, get(after)?);
                Some(if before > 0.0 {
                    ((before - after) / before).clamp(0.0, 1.0)
                } else if after > 0.0 {
                    0.0
                } else {
                    *zero_before
                })
            }
        }
    }
}

impl Lke {
    /// Scores a worksheet. Pure: same edition and worksheet, same score.
    pub fn score(&self, ws: &Worksheet) -> Result<Score, WorksheetError> {
        if let Some(code) = ws.answers.keys().find(|c| self.question(c).is_none()) {
            return Err(WorksheetError::UnknownQuestion {
                question: code.clone(),
            });
        }
        let mut sub_indicators = Vec::with_capacity(self.sub_indicators.len());
        for sub in &self.sub_indicators {
            let mut questions = Vec::new();
            let mut unanswered = Vec::new();
            for q in self.questions_of(&sub.code) {
                let value = self.question_value(q, ws.answers.get(&q.code))?;
                if value.is_none() {
                    unanswered.push(q.code.clone());
                }
                questions.push(QuestionScore {
                    code: q.code.clone(),
                    value: value.unwrap_or(0.0),
                    answered: value.is_some(),
                });
            }
            let mean = if questions.is_empty() {
                0.0
            } else {
                questions.iter().map(|q| q.value).sum::<f64>() / questions.len() as f64
            };
            sub_indicators.push(SubIndicatorScore {
                code: sub.code.clone(),
                area: sub.area.clone(),
                part: sub.part,
                weight: sub.weight,
                value: sub.weight * mean,
                questions,
                unanswered,
            });
        }
        let areas: Vec<AreaScore> = self
            .areas
            .iter()
            .map(|area| {
                let part_sum = |part: Part| {
                    sub_indicators
                        .iter()
                        .filter(|s| s.area == area.code && s.part == part)
                        .map(|s| s.value)
                        .sum::<f64>()
                };
                let (pemenuhan, reform) = (part_sum(Part::Pemenuhan), part_sum(Part::Reform));
                AreaScore {
                    code: area.code.clone(),
                    pemenuhan,
                    reform,
                    total: pemenuhan + reform,
                }
            })
            .collect();
        let pemenuhan: f64 = areas.iter().map(|a| a.pemenuhan).sum();
        let reform: f64 = areas.iter().map(|a| a.reform).sum();

        let mut hasil_components = Vec::new();
        let mut hasil_groups = Vec::new();
        for group in &self.hasil.groups {
            let mut value = 0.0;
            for c in &group.components {
                let ratio = self.hasil_ratio(c, ws)?;
                let points = c.weight * ratio.unwrap_or(0.0);
                value += points;
                hasil_components.push(HasilComponentScore {
                    code: c.code.clone(),
                    group: group.code.clone(),
                    weight: c.weight,
                    value: points,
                    answered: ratio.is_some(),
                });
            }
            hasil_groups.push(HasilGroupScore {
                code: group.code.clone(),
                weight: group.weight,
                value,
            });
        }
        let hasil: f64 = hasil_groups.iter().map(|g| g.value).sum();
        let pengungkit = pemenuhan + reform;
        let mut score = Score {
            edition: self.edition.clone(),
            sub_indicators,
            areas,
            pemenuhan,
            reform,
            pengungkit,
            hasil_components,
            hasil_groups,
            hasil,
            total: pengungkit + hasil,
            predicates: Vec::new(),
        };
        score.predicates = self.predicate_results(&score, ws.holds_wbk);
        Ok(score)
    }

    /// The 0..=1 value of an answer, `None` when unanswered (or a percentage is incomplete).
    fn question_value(
        &self,
        q: &Question,
        answer: Option<&Answer>,
    ) -> Result<Option<f64>, WorksheetError> {
        let Some(answer) = answer else {
            return Ok(None);
        };
        if let Some(formula) = &q.formula {
            if let Some(option) = &answer.option {
                return Err(WorksheetError::OptionOnComputed {
                    question: q.code.clone(),
                    option: option.clone(),
                });
            }
            for (input, &value) in &answer.inputs {
                if !q.inputs.iter().any(|i| &i.code == input) {
                    return Err(WorksheetError::UnknownInput {
                        question: q.code.clone(),
                        input: input.clone(),
                    });
                }
                if !value.is_finite() || value < 0.0 {
                    return Err(WorksheetError::BadInput {
                        question: q.code.clone(),
                        input: input.clone(),
                        value,
                    });
                }
            }
            return Ok(formula.evaluate(&answer.inputs));
        }
        if !answer.inputs.is_empty() {
            return Err(WorksheetError::InputsOnChoice {
                question: q.code.clone(),
            });
        }
        let Some(option) = &answer.option else {
            return Ok(None);
        };
        self.scale(&q.scale)
            .and_then(|s| s.option(option))
            .map(|o| Some(o.value))
            .ok_or_else(|| WorksheetError::UnknownOption {
                question: q.code.clone(),
                option: option.clone(),
            })
    }

    /// The 0..=1 share of a Hasil component's weight earned, `None` when not entered.
    fn hasil_ratio(
        &self,
        c: &HasilComponent,
        ws: &Worksheet,
    ) -> Result<Option<f64>, WorksheetError> {
        let survey = |value: Option<f64>| {
            let max = c.survey_max.unwrap_or(0.0);
            match value {
                None => Ok(None),
                Some(v) if v.is_finite() && (0.0..=max).contains(&v) && max > 0.0 => {
                    Ok(Some(v / max))
                }
                Some(v) => Err(WorksheetError::SurveyOutOfRange {
                    component: c.code.clone(),
                    value: v,
                    max,
                }),
            }
        };
        match c.source {
            HasilSource::IpakSurvey => survey(ws.ipak_survey),
            HasilSource::IpkpSurvey => survey(ws.ipkp_survey),
            HasilSource::CapaianKinerja => match &ws.capaian_kinerja {
                None => Ok(None),
                Some(option) => c
                    .scale
                    .as_deref()
                    .and_then(|s| self.scale(s))
                    .and_then(|s| s.option(option))
                    .map(|o| Some(o.value))
                    .ok_or_else(|| WorksheetError::UnknownHasilOption {
                        component: c.code.clone(),
                        option: option.clone(),
                    }),
            },
        }
    }

    fn predicate_results(&self, score: &Score, holds_wbk: bool) -> Vec<PredicateResult> {
        self.predicates
            .iter()
            .map(|p| {
                let mut checks = vec![
                    ThresholdCheck::new(CheckTarget::Total, p.min_total, score.total),
                    ThresholdCheck::new(
                        CheckTarget::Pengungkit,
                        p.min_pengungkit,
                        score.pengungkit,
                    ),
                ];
                for (area, area_score) in self.areas.iter().zip(&score.areas) {
                    for part in Part::ALL {
                        checks.push(ThresholdCheck::new(
                            CheckTarget::AreaPart {
                                area: area.code.clone(),
                                part,
                            },
                            p.min_area_part_ratio * area.part_weight(part),
                            area_score.part(part),
                        ));
                    }
                }
                for code in self.hasil_codes() {
                    if let Some(&min) = p.min_hasil.get(code) {
                        let actual = score.hasil_value(code).unwrap_or(0.0);
                        checks.push(ThresholdCheck::new(
                            CheckTarget::Hasil { code: code.into() },
                            min,
                            actual,
                        ));
                    }
                }
                if p.requires_prior_wbk {
                    let actual = if holds_wbk { 1.0 } else { 0.0 };
                    checks.push(ThresholdCheck::new(CheckTarget::PriorWbk, 1.0, actual));
                }
                PredicateResult {
                    code: p.code.clone(),
                    met: checks.iter().all(|c| c.met),
                    checks,
                }
            })
            .collect()
    }
}
