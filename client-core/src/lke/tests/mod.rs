//! Tests of the LKE module: the shipped edition and validation (`edition`), scoring against
//! hand-computed values (`scoring`). Shared helpers live here.

mod edition;
mod scoring;

use serde_json::Value;

use super::*;

const SHIPPED: &str = include_str!("../../../catalogue/lke-permenpanrb-90-2021.json");
const CATALOGUE: &str = include_str!("../../../catalogue/catalogue.json");

fn shipped_value() -> Value {
    serde_json::from_str(SHIPPED).unwrap_or_else(|e| panic!("{e}"))
}

/// The element of `list` (an array of objects with `code`) whose code is `code`.
fn item<'a>(v: &'a mut Value, list: &str, code: &str) -> &'a mut Value {
    v[list]
        .as_array_mut()
        .and_then(|a| a.iter_mut().find(|x| x["code"] == code))
        .unwrap_or_else(|| panic!("no {code} in {list}"))
}

/// Parses the shipped edition after `mutate`; it must be refused with a message naming every
/// string in `names` (the offending code and the numbers involved).
fn refuse(names: &[&str], mutate: impl FnOnce(&mut Value)) -> LkeError {
    let mut v = shipped_value();
    mutate(&mut v);
    let Err(e) = Lke::parse(&v.to_string()) else {
        panic!("the mutated edition was accepted");
    };
    for name in names {
        assert!(e.to_string().contains(name), "{name:?} not in: {e}");
    }
    e
}

/// Answers giving every question its top value, every input 100 %, surveys 4 and kinerja A.
fn full_marks(lke: &Lke, holds_wbk: bool) -> Worksheet {
    let mut ws = Worksheet {
        ipak_survey: Some(4.0),
        ipkp_survey: Some(4.0),
        capaian_kinerja: Some("A".into()),
        holds_wbk,
        ..Worksheet::default()
    };
    for q in &lke.questions {
        let answer = match &q.formula {
            Some(Formula::Ratio {
                numerator,
                denominator,
                ..
            }) => {
                let mut inputs: Vec<(String, f64)> =
                    q.inputs.iter().map(|i| (i.code.clone(), 0.0)).collect();
                for (code, value) in &mut inputs {
                    if denominator.contains(code) {
                        *value = 1.0;
                    } else if numerator.contains(code) {
                        *value = denominator.len() as f64;
                    }
                }
                Answer::numbers(inputs)
            }
            Some(Formula::Reduction { before, after, .. }) => {
                Answer::numbers([(before.clone(), 4.0), (after.clone(), 0.0)])
            }
            None => {
                let scale = lke.scale(&q.scale).expect("scale");
                let top = scale.options.iter().find(|o| o.value == 1.0).expect("top");
                Answer::choose(top.code.clone())
            }
        };
        ws.answers.insert(q.code.clone(), answer);
    }
    ws
}

fn score(lke: &Lke, ws: &Worksheet) -> Score {
    lke.score(ws).unwrap_or_else(|e| panic!("{e}"))
}

fn check<'a>(s: &'a Score, predicate: &str, what: &CheckTarget) -> &'a ThresholdCheck {
    s.predicate(predicate)
        .and_then(|p| p.checks.iter().find(|c| &c.what == what))
        .unwrap_or_else(|| panic!("no check {what} for {predicate}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}
