//! The shipped edition validates and agrees with `catalogue.json`; every kind of malformed
//! edition is refused with the right variant and a message naming the offending code.

use serde_json::{Value, json};

use super::*;

#[test]
fn shipped_edition_validates() {
    let lke = Lke::builtin();
    assert_eq!(lke.edition, "permenpanrb-90-2021-jo-5-2024");
    assert_eq!(lke.version, 1);
    assert_eq!((lke.areas.len(), lke.sub_indicators.len()), (6, 42));
    assert_eq!(lke.questions.len(), 110);
    let per_area: Vec<usize> = lke
        .areas
        .iter()
        .map(|a| {
            let prefix = format!("{}.", a.code);
            lke.questions
                .iter()
                .filter(|q| q.code.starts_with(&prefix))
                .count()
        })
        .collect();
    assert_eq!(per_area, [16, 15, 21, 14, 22, 22]);
    for q in &lke.questions {
        assert!(
            q.code.starts_with(&format!("{}.", q.sub_indicator)),
            "{}",
            q.code
        );
    }
}

#[test]
fn shipped_edition_matches_catalogue_codes_names_and_weights() {
    let catalogue: Value = serde_json::from_str(CATALOGUE).unwrap_or_else(|e| panic!("{e}"));
    let lke = Lke::builtin();
    let areas = catalogue["lke_areas"].as_array().expect("lke_areas");
    assert_eq!(areas.len(), lke.areas.len());
    let mut subs_seen = 0;
    for ca in areas {
        let code = ca["code"].as_str().expect("code");
        let area = lke
            .area(code)
            .unwrap_or_else(|| panic!("area {code} missing"));
        assert_eq!(ca["name"], area.name.as_str());
        assert_eq!(ca["weight"].as_f64(), Some(area.weight));
        for cs in ca["sub_indicators"].as_array().expect("subs") {
            let code = cs["code"].as_str().expect("code");
            let sub = lke
                .sub_indicator(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(sub.area, area.code);
            assert_eq!(cs["part"], sub.part.as_str());
            assert_eq!(cs["name"], sub.name.as_str());
            assert_eq!(cs["weight"].as_f64(), Some(sub.weight), "{code}");
            subs_seen += 1;
        }
    }
    assert_eq!(subs_seen, lke.sub_indicators.len());
}

// Each case: the mutation, the variant expected, and what its message must name.

#[test]
fn weights_that_do_not_add_up_are_refused() {
    let e = refuse(&["MP pemenuhan", "4.25", "4"], |v| {
        item(v, "sub_indicators", "MP.P1")["weight"] = json!(0.75);
    });
    assert!(
        matches!(&e, LkeError::PartWeightMismatch { area, part: Part::Pemenuhan, .. } if area == "MP")
    );
    let e = refuse(&["PW reform", "7", "7.5"], |v| {
        item(v, "sub_indicators", "PW.R2")["weight"] = json!(2.5);
    });
    assert!(matches!(
        e,
        LkeError::PartWeightMismatch {
            part: Part::Reform,
            ..
        }
    ));
    let e = refuse(&["MP", "9", "4"], |v| {
        item(v, "areas", "MP")["weight"] = json!(9.0);
    });
    assert!(matches!(e, LkeError::AreaWeightMismatch { .. }));
    // Without area MP the areas' pemenuhan parts sum to 26, not 30 (and 60 overall).
    let e = refuse(&["pemenuhan", "26", "30"], |v| {
        let areas = v["areas"].as_array_mut().expect("areas");
        areas.retain(|a| a["code"] != "MP");
    });
    assert!(matches!(e, LkeError::PengungkitPartMismatch { .. }));
    let e = refuse(&["61", "30"], |v| v["pengungkit"]["weight"] = json!(61.0));
    assert!(matches!(e, LkeError::PengungkitWeightMismatch { .. }));
    let e = refuse(&["60", "41", "101"], |v| v["hasil"]["weight"] = json!(41.0));
    assert!(matches!(e, LkeError::TotalWeightMismatch { .. }));
    let e = refuse(&["PRIMA", "18", "17.5"], |v| {
        v["hasil"]["groups"][1]["components"][0]["weight"] = json!(18.0);
    });
    assert!(matches!(e, LkeError::HasilGroupWeightMismatch { .. }));
    // Hasil groups 22.5 + 18 = 40.5 instead of 40.
    let e = refuse(&["40.5", "40"], |v| {
        v["hasil"]["groups"][1]["weight"] = json!(18.0);
        v["hasil"]["groups"][1]["components"][0]["weight"] = json!(18.0);
    });
    assert!(matches!(e, LkeError::HasilWeightMismatch { .. }));
    let e = refuse(&["PP.R2", "-2.5"], |v| {
        item(v, "sub_indicators", "PP.R2")["weight"] = json!(-2.5);
    });
    assert!(matches!(e, LkeError::BadWeight { .. }));
}

#[test]
fn unknown_references_and_duplicate_codes_are_refused() {
    let e = refuse(&["TT.P2", "XX"], |v| {
        item(v, "sub_indicators", "TT.P2")["area"] = json!("XX");
    });
    assert!(matches!(e, LkeError::UnknownArea { .. }));
    let e = refuse(&["AK.P2.3", "AK.P9"], |v| {
        item(v, "questions", "AK.P2.3")["sub_indicator"] = json!("AK.P9");
    });
    assert!(matches!(e, LkeError::UnknownSubIndicator { .. }));
    let e = refuse(&["MP.P1.1"], |v| {
        item(v, "questions", "MP.P1.2")["code"] = json!("MP.P1.1");
    });
    assert!(matches!(e, LkeError::DuplicateCode { .. }));
    let e = refuse(&["MP.P1"], |v| {
        item(v, "sub_indicators", "TT.P1")["code"] = json!("MP.P1");
    });
    assert!(matches!(e, LkeError::DuplicateCode { .. }));
    let e = refuse(&["MP"], |v| item(v, "areas", "TT")["code"] = json!("MP"));
    assert!(matches!(e, LkeError::DuplicateCode { .. }));
    let e = refuse(&["SDM.P6"], |v| {
        let qs = v["questions"].as_array_mut().expect("questions");
        qs.retain(|q| q["sub_indicator"] != "SDM.P6");
    });
    assert!(matches!(e, LkeError::SubIndicatorWithoutQuestions { .. }));
    let e = refuse(&["PP.P1.1", "abcdef"], |v| {
        item(v, "questions", "PP.P1.1")["scale"] = json!("abcdef");
    });
    assert!(matches!(e, LkeError::UnknownScale { .. }));
    let e = refuse(&["MP.P1.2", "D"], |v| {
        item(v, "questions", "MP.P1.2")["criteria"]["D"] = json!("tidak ada");
    });
    assert!(matches!(e, LkeError::UnknownCriterionOption { .. }));
    let e = refuse(&["abcd", "B", "1.67"], |v| {
        item(v, "scales", "abcd")["options"][1]["value"] = json!(1.67);
    });
    assert!(matches!(e, LkeError::OptionValueOutOfRange { .. }));
    let e = refuse(&["ipak_survey", "2"], |v| {
        v["hasil"]["groups"][1]["components"][0]["source"] = json!("ipak_survey");
    });
    assert!(matches!(e, LkeError::HasilSourceCount { count: 2, .. }));
    let e = refuse(&["bobot"], |v| {
        v["scales"][0]["options"][0]["bobot"] = json!(1);
    });
    assert!(matches!(e, LkeError::Json(_)), "unknown fields are refused");
}

#[test]
fn malformed_formulas_are_refused() {
    let e = refuse(&["PW.R2.1", "tutup"], |v| {
        item(v, "questions", "PW.R2.1")["formula"]["numerator"] = json!(["tutup"]);
    });
    assert!(matches!(e, LkeError::UnknownFormulaInput { .. }));
    let e = refuse(&["PW.R2.1", "2"], |v| {
        item(v, "questions", "PW.R2.1")["formula"]["zero_denominator"] = json!(2.0);
    });
    assert!(matches!(e, LkeError::FallbackOutOfRange { .. }));
    let e = refuse(&["AK.R1.1"], |v| {
        let q = item(v, "questions", "AK.R1.1");
        q.as_object_mut().expect("object").remove("formula");
    });
    assert!(matches!(e, LkeError::MissingFormula { .. }));
    let e = refuse(&["MP.P1.1"], |v| {
        item(v, "questions", "MP.P1.1")["inputs"] = json!([{ "code": "x", "label": "x" }]);
    });
    assert!(matches!(e, LkeError::UnexpectedFormula { .. }));
    let e = refuse(&["PW.R3.1", "sudah"], |v| {
        let inputs = item(v, "questions", "PW.R3.1")["inputs"]
            .as_array_mut()
            .expect("inputs");
        inputs.push(json!({ "code": "sudah", "label": "lagi" }));
    });
    assert!(matches!(e, LkeError::DuplicateInput { .. }));
}

#[test]
fn thresholds_out_of_range_are_refused() {
    let e = refuse(&["WBK", "1.2"], |v| {
        v["predicates"][0]["min_area_part_ratio"] = json!(1.2);
    });
    assert!(matches!(e, LkeError::RatioOutOfRange { .. }));
    let e = refuse(&["WBBM", "-0.1"], |v| {
        v["predicates"][1]["min_area_part_ratio"] = json!(-0.1);
    });
    assert!(matches!(e, LkeError::RatioOutOfRange { .. }));
    let e = refuse(&["WBK", "XYZ"], |v| {
        v["predicates"][0]["min_hasil"]["XYZ"] = json!(1.0);
    });
    assert!(matches!(e, LkeError::UnknownThresholdCode { .. }));
    let e = refuse(&["WBK", "IPAK", "18", "17.5"], |v| {
        v["predicates"][0]["min_hasil"]["IPAK"] = json!(18.0);
    });
    assert!(matches!(e, LkeError::ThresholdOutOfRange { .. }));
    let e = refuse(&["WBBM", "pengungkit", "61"], |v| {
        v["predicates"][1]["min_pengungkit"] = json!(61.0);
    });
    assert!(matches!(e, LkeError::ThresholdOutOfRange { .. }));
}
