//! Parsing and validation of an LKE edition file. A malformed edition is refused with the
//! exact reason (which code, which numbers) so whoever edits the JSON can fix it without
//! reading the code; a scorer fed an unchecked edition would silently produce wrong predicates.

use std::collections::BTreeSet;

use super::TOLERANCE;
use super::error::LkeError;
use super::model::{
    Formula, HasilSource, Lke, PERCENTAGE_SCALE, Part, Question, Scale, SubIndicator,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE
}

fn check_weight(code: &str, weight: f64) -> Result<(), LkeError> {
    if weight.is_finite() && weight > 0.0 {
        Ok(())
    } else {
        Err(LkeError::BadWeight {
            code: code.to_owned(),
            weight,
        })
    }
}

fn check_text(what: impl FnOnce() -> String, text: &str) -> Result<(), LkeError> {
    if text.trim().is_empty() {
        Err(LkeError::EmptyText { what: what() })
    } else {
        Ok(())
    }
}

impl Lke {
    /// Parses and validates an edition file.
    pub fn parse(json: &str) -> Result<Lke, LkeError> {
        let lke: Lke = serde_json::from_str(json)?;
        lke.validate()?;
        Ok(lke)
    }

    /// Checks every invariant the scorer relies on; `parse` calls it.
    pub fn validate(&self) -> Result<(), LkeError> {
        if self.version == 0 {
            return Err(LkeError::BadVersion { version: 0 });
        }
        check_text(|| "edition".into(), &self.edition)?;
        check_text(|| "title".into(), &self.title)?;
        check_text(|| "source".into(), &self.source)?;
        self.check_unique_codes()?;
        self.check_pengungkit_weights()?;
        self.check_scales()?;
        self.check_questions()?;
        self.check_hasil()?;
        self.check_predicates()
    }

    // One namespace for every code: a threshold or an answer names a code without saying
    // what kind it is, so two things sharing a code would be ambiguous.
    fn check_unique_codes(&self) -> Result<(), LkeError> {
        let mut seen = BTreeSet::new();
        let codes = self
            .scales
            .iter()
            .map(|s| s.code.as_str())
            .chain(self.areas.iter().map(|a| a.code.as_str()))
            .chain(self.sub_indicators.iter().map(|s| s.code.as_str()))
            .chain(self.questions.iter().map(|q| q.code.as_str()))
            .chain(self.hasil_codes())
            .chain(self.predicates.iter().map(|p| p.code.as_str()));
        for code in codes {
            check_text(|| "a code".into(), code)?;
            if !seen.insert(code) {
                return Err(LkeError::DuplicateCode { code: code.into() });
            }
        }
        Ok(())
    }

    fn check_pengungkit_weights(&self) -> Result<(), LkeError> {
        let p = &self.pengungkit;
        check_weight("pengungkit", p.weight)?;
        check_weight("pengungkit pemenuhan", p.pemenuhan_weight)?;
        check_weight("pengungkit reform", p.reform_weight)?;
        check_weight("hasil", self.hasil.weight)?;
        if !close(p.weight, p.pemenuhan_weight + p.reform_weight) {
            return Err(LkeError::PengungkitWeightMismatch {
                weight: p.weight,
                pemenuhan: p.pemenuhan_weight,
                reform: p.reform_weight,
            });
        }
        let total = p.weight + self.hasil.weight;
        if !close(total, 100.0) {
            return Err(LkeError::TotalWeightMismatch {
                pengungkit: p.weight,
                hasil: self.hasil.weight,
                total,
            });
        }
        for area in &self.areas {
            check_weight(&area.code, area.weight)?;
            check_weight(&area.code, area.pemenuhan_weight)?;
            check_weight(&area.code, area.reform_weight)?;
            if !close(area.weight, area.pemenuhan_weight + area.reform_weight) {
                return Err(LkeError::AreaWeightMismatch {
                    area: area.code.clone(),
                    weight: area.weight,
                    pemenuhan: area.pemenuhan_weight,
                    reform: area.reform_weight,
                });
            }
        }
        for part in Part::ALL {
            let expected = p.part_weight(part);
            let actual: f64 = self.areas.iter().map(|a| a.part_weight(part)).sum();
            if !close(expected, actual) {
                return Err(LkeError::PengungkitPartMismatch {
                    part,
                    expected,
                    actual,
                });
            }
        }
        for sub in &self.sub_indicators {
            check_weight(&sub.code, sub.weight)?;
            if self.area(&sub.area).is_none() {
                return Err(LkeError::UnknownArea {
                    sub_indicator: sub.code.clone(),
                    area: sub.area.clone(),
                });
            }
        }
        for area in &self.areas {
            for part in Part::ALL {
                let of_part = |s: &&SubIndicator| s.area == area.code && s.part == part;
                let actual: f64 = self
                    .sub_indicators
                    .iter()
                    .filter(of_part)
                    .map(|s| s.weight)
                    .sum();
                let expected = area.part_weight(part);
                if !close(expected, actual) {
                    return Err(LkeError::PartWeightMismatch {
                        area: area.code.clone(),
                        part,
                        expected,
                        actual,
                    });
                }
            }
        }
        Ok(())
    }

    fn check_scales(&self) -> Result<(), LkeError> {
        for scale in &self.scales {
            if scale.code == PERCENTAGE_SCALE {
                return Err(LkeError::ReservedScale {
                    scale: scale.code.clone(),
                });
            }
            if scale.options.is_empty() {
                return Err(LkeError::ScaleWithoutOptions {
                    scale: scale.code.clone(),
                });
            }
            let mut seen = BTreeSet::new();
            for option in &scale.options {
                check_text(
                    || format!("an option code of scale {}", scale.code),
                    &option.code,
                )?;
                if !seen.insert(option.code.to_ascii_lowercase()) {
                    return Err(LkeError::DuplicateOption {
                        scale: scale.code.clone(),
                        option: option.code.clone(),
                    });
                }
                if !(0.0..=1.0).contains(&option.value) {
                    return Err(LkeError::OptionValueOutOfRange {
                        scale: scale.code.clone(),
                        option: option.code.clone(),
                        value: option.value,
                    });
                }
            }
            if !scale.options.iter().any(|o| close(o.value, 1.0)) {
                return Err(LkeError::ScaleWithoutFullMarks {
                    scale: scale.code.clone(),
                });
            }
        }
        Ok(())
    }

    fn option_scale(&self, code: &str, scale: &str) -> Result<&Scale, LkeError> {
        self.scale(scale).ok_or_else(|| LkeError::UnknownScale {
            code: code.into(),
            scale: scale.into(),
        })
    }

    fn check_criteria<'a>(
        code: &str,
        scale: Option<&Scale>,
        mut options: impl Iterator<Item = &'a String>,
    ) -> Result<(), LkeError> {
        match options.find(|o| scale.and_then(|s| s.option(o)).is_none()) {
            Some(option) => Err(LkeError::UnknownCriterionOption {
                code: code.into(),
                option: option.clone(),
            }),
            None => Ok(()),
        }
    }

    fn check_questions(&self) -> Result<(), LkeError> {
        for q in &self.questions {
            if self.sub_indicator(&q.sub_indicator).is_none() {
                return Err(LkeError::UnknownSubIndicator {
                    question: q.code.clone(),
                    sub_indicator: q.sub_indicator.clone(),
                });
            }
            check_text(|| format!("text of question {}", q.code), &q.text)?;
            check_text(|| format!("evidence of question {}", q.code), &q.evidence)?;
            if q.is_percentage() {
                self.check_percentage(q)?;
            } else {
                let scale = self.option_scale(&q.code, &q.scale)?;
                if !q.inputs.is_empty() || q.formula.is_some() {
                    return Err(LkeError::UnexpectedFormula {
                        question: q.code.clone(),
                    });
                }
                Self::check_criteria(&q.code, Some(scale), q.criteria.keys())?;
            }
        }
        for sub in &self.sub_indicators {
            if self.questions_of(&sub.code).next().is_none() {
                return Err(LkeError::SubIndicatorWithoutQuestions {
                    sub_indicator: sub.code.clone(),
                });
            }
        }
        Ok(())
    }

    fn check_percentage(&self, q: &Question) -> Result<(), LkeError> {
        let (Some(formula), false) = (&q.formula, q.inputs.is_empty()) else {
            return Err(LkeError::MissingFormula {
                question: q.code.clone(),
            });
        };
        Self::check_criteria(&q.code, None, q.criteria.keys())?;
        let mut declared = BTreeSet::new();
        for input in &q.inputs {
            check_text(
                || format!("an input code of question {}", q.code),
                &input.code,
            )?;
            if !declared.insert(input.code.as_str()) {
                return Err(LkeError::DuplicateInput {
                    question: q.code.clone(),
                    input: input.code.clone(),
                });
            }
        }
        if let Some(input) = formula
            .input_codes()
            .into_iter()
            .find(|c| !declared.contains(c))
        {
            return Err(LkeError::UnknownFormulaInput {
                question: q.code.clone(),
                input: input.into(),
            });
        }
        let fallback = match formula {
            Formula::Ratio {
                numerator,
                denominator,
                zero_denominator,
            } => {
                if numerator.is_empty() || denominator.is_empty() {
                    return Err(LkeError::EmptyRatio {
                        question: q.code.clone(),
                    });
                }
                *zero_denominator
            }
            Formula::Reduction { zero_before, .. } => *zero_before,
        };
        if !(0.0..=1.0).contains(&fallback) {
            return Err(LkeError::FallbackOutOfRange {
                question: q.code.clone(),
                value: fallback,
            });
        }
        Ok(())
    }

    fn check_hasil(&self) -> Result<(), LkeError> {
        let mut groups_sum = 0.0;
        for group in &self.hasil.groups {
            check_weight(&group.code, group.weight)?;
            let mut sum = 0.0;
            for c in &group.components {
                check_weight(&c.code, c.weight)?;
                sum += c.weight;
                let bad = |reason: &str| LkeError::BadHasilComponent {
                    component: c.code.clone(),
                    reason: reason.into(),
                };
                if c.source.is_survey() {
                    match c.survey_max {
                        Some(max) if max.is_finite() && max > 0.0 => {}
                        _ => return Err(bad("a survey component needs survey_max > 0")),
                    }
                    if c.scale.is_some() || !c.criteria.is_empty() {
                        return Err(bad("a survey component takes no scale or criteria"));
                    }
                } else {
                    if c.survey_max.is_some() {
                        return Err(bad("only survey components take survey_max"));
                    }
                    let Some(scale) = &c.scale else {
                        return Err(bad("an option component needs a scale"));
                    };
                    let scale = self.option_scale(&c.code, scale)?;
                    Self::check_criteria(&c.code, Some(scale), c.criteria.keys())?;
                }
            }
            if !close(sum, group.weight) {
                return Err(LkeError::HasilGroupWeightMismatch {
                    group: group.code.clone(),
                    expected: group.weight,
                    actual: sum,
                });
            }
            groups_sum += group.weight;
        }
        if !close(groups_sum, self.hasil.weight) {
            return Err(LkeError::HasilWeightMismatch {
                expected: self.hasil.weight,
                actual: groups_sum,
            });
        }
        // The worksheet has one field per source, so each must feed exactly one component.
        for source in HasilSource::ALL {
            let count = self
                .hasil
                .groups
                .iter()
                .flat_map(|g| &g.components)
                .filter(|c| c.source == source)
                .count();
            if count != 1 {
                return Err(LkeError::HasilSourceCount {
                    hasil_source: source,
                    count,
                });
            }
        }
        Ok(())
    }

    fn check_predicates(&self) -> Result<(), LkeError> {
        for p in &self.predicates {
            if !(0.0..=1.0).contains(&p.min_area_part_ratio) {
                return Err(LkeError::RatioOutOfRange {
                    predicate: p.code.clone(),
                    ratio: p.min_area_part_ratio,
                });
            }
            let out_of_range = |what: &str, value: f64, max: f64| {
                if (0.0..=max + TOLERANCE).contains(&value) {
                    Ok(())
                } else {
                    Err(LkeError::ThresholdOutOfRange {
                        predicate: p.code.clone(),
                        what: what.into(),
                        value,
                        max,
                    })
                }
            };
            out_of_range("total", p.min_total, 100.0)?;
            out_of_range("pengungkit", p.min_pengungkit, self.pengungkit.weight)?;
            for (code, &min) in &p.min_hasil {
                let Some(max) = self.hasil_weight(code) else {
                    return Err(LkeError::UnknownThresholdCode {
                        predicate: p.code.clone(),
                        code: code.clone(),
                    });
                };
                out_of_range(code, min, max)?;
            }
        }
        Ok(())
    }
}
