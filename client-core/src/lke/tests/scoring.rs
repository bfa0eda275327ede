//! Scoring: a worksheet computed by hand, the empty and full-marks worksheets, thresholds met
//! exactly, formula edge cases, and malformed worksheets.

use serde_json::json;

use super::*;

#[test]
fn hand_computed_worksheet() {
    let lke = Lke::builtin();
    let mut ws = Worksheet {
        ipak_survey: Some(3.2),
        ipkp_survey: Some(3.0),
        capaian_kinerja: Some("b".into()),
        ..Worksheet::default()
    };
    let answers = [
        ("MP.P1.1", Answer::choose("ya")),
        ("MP.P1.2", Answer::choose("B")),
        ("MP.P3.1", Answer::choose("B")),
        ("MP.P3.2", Answer::choose("C")),
        ("MP.P3.3", Answer::choose("A")),
        (
            "MP.R1.1",
            Answer::numbers([("agen", 10.0), ("perubahan", 12.0)]),
        ),
        (
            "MP.R1.2",
            Answer::numbers([("perubahan", 12.0), ("terintegrasi", 9.0)]),
        ),
        ("SDM.P4.3", Answer::choose("B")),
        (
            "SDM.R3.1",
            Answer::numbers([("tahun_lalu", 5.0), ("tahun_ini", 2.0), ("disanksi", 2.0)]),
        ),
        (
            "PW.R2.1",
            Answer::numbers([("harus", 10.0), ("diproses", 2.0), ("selesai", 8.0)]),
        ),
        (
            "PW.R3.1",
            Answer::numbers([
                ("kepala", 1.0),
                ("pejabat", 4.0),
                ("lainnya", 0.0),
                ("sudah", 5.0),
            ]),
        ),
        // Incomplete: pengawas and fungsional are missing, so it stays unanswered.
        (
            "PW.R3.2",
            Answer::numbers([("administrator", 3.0), ("sudah", 2.0)]),
        ),
        ("PP.P4.1", Answer::choose("A")),
        ("PP.P4.2", Answer::choose("B")),
        ("PP.P4.3", Answer::choose("D")),
        ("PP.R1.1", Answer::choose("B")),
        (
            "PP.R1.2",
            Answer::numbers([("terdata", 20.0), ("dipermudah", 5.0)]),
        ),
    ];
    for (code, answer) in answers {
        ws.answers.insert(code.into(), answer);
    }
    let s = score(lke, &ws);
    let sub = |code: &str| s.sub_indicator(code).map(|x| x.value).expect("sub");
    // MP.P1 = 0.5 × (1 + 0.5) / 2 = 0.375
    assert!(close(sub("MP.P1"), 0.375));
    // MP.P3 = 1.0 × (0.67 + 0.33 + 1) / 3 = 0.6667
    assert!(close(sub("MP.P3"), 0.6667));
    // MP.R1 = 2.0 × (min(1, 12/10) + 9/12) / 2 = 2.0 × 1.75 / 2 = 1.75
    assert!(close(sub("MP.R1"), 1.75));
    // SDM.P4 = 2.0 × (0.75 + 0 + 0 + 0) / 4 = 0.375; SDM.R3 = 2.0 × (5 − 2) / 5 = 1.2
    assert!(close(sub("SDM.P4"), 0.375) && close(sub("SDM.R3"), 1.2));
    // PW.R2 = 3.0 × 8/10 = 2.4; PW.R3 = 2.0 × (5/5 + 0) / 2 = 1.0
    assert!(close(sub("PW.R2"), 2.4) && close(sub("PW.R3"), 1.0));
    // PP.P4 = 1.0 × (1 + 0.5 + 0) / 3 = 0.5; PP.R1 = 2.5 × (0.67 + 5/20) / 2 = 1.15
    assert!(close(sub("PP.P4"), 0.5) && close(sub("PP.R1"), 1.15));
    // MP: pemenuhan 0.375 + 0.6667 = 1.0417, reform 1.75
    let mp = s.area("MP").expect("MP");
    assert!(close(mp.pemenuhan, 1.0417) && close(mp.reform, 1.75) && close(mp.total, 2.7917));
    // Pemenuhan 1.0417 + 0.375 + 0.5 = 1.9167; reform 1.75 + 1.2 + 3.4 + 1.15 = 7.5
    assert!(close(s.pemenuhan, 1.9167) && close(s.reform, 7.5) && close(s.pengungkit, 9.4167));
    // IPAK 3.2 / 4 × 17.5 = 14.0; kinerja B 0.75 × 5 = 3.75; IPKP 3.0 / 4 × 17.5 = 13.125
    assert!(close(s.hasil_value("IPAK").expect("IPAK"), 14.0));
    assert!(close(s.hasil_value("BERSIH").expect("BERSIH"), 17.75));
    assert!(close(s.hasil_value("PRIMA").expect("PRIMA"), 13.125));
    // Hasil 17.75 + 13.125 = 30.875; total 9.4167 + 30.875 = 40.2917 (sheet shows 40.29)
    assert!(close(s.hasil, 30.875) && close(s.total, 40.2917));
    assert_eq!(round2(s.total), 40.29);

    let pw_r3 = s.sub_indicator("PW.R3").expect("PW.R3");
    assert_eq!(pw_r3.unanswered, ["PW.R3.2"]);
    assert_eq!(s.sub_indicator("MP.P2").expect("MP.P2").unanswered.len(), 3);
    assert_eq!(s.unanswered().count(), 110 - 16);

    // WBK: total short by 75 − 40.2917 = 34.7083; BERSIH by 18.25 − 17.75 = 0.5; kinerja met.
    let wbk = s.predicate("WBK").expect("WBK");
    assert!(!wbk.met);
    assert!(close(
        check(&s, "WBK", &CheckTarget::Total).short_by,
        34.7083
    ));
    assert!(close(
        check(&s, "WBK", &CheckTarget::Pengungkit).short_by,
        30.5833
    ));
    let bersih = CheckTarget::Hasil {
        code: "BERSIH".into(),
    };
    assert!(close(check(&s, "WBK", &bersih).short_by, 0.5));
    assert!(
        check(
            &s,
            "WBK",
            &CheckTarget::Hasil {
                code: "KINERJA".into()
            }
        )
        .met
    );
    let mp_pem = CheckTarget::AreaPart {
        area: "MP".into(),
        part: Part::Pemenuhan,
    };
    assert!(close(check(&s, "WBK", &mp_pem).short_by, 2.4 - 1.0417));
}

#[test]
fn empty_worksheet_scores_zero_and_fails_every_threshold() {
    let lke = Lke::builtin();
    let s = score(lke, &Worksheet::default());
    assert_eq!((s.total, s.pengungkit, s.hasil), (0.0, 0.0, 0.0));
    assert_eq!(s.unanswered().count(), 110);
    for p in &s.predicates {
        assert!(!p.met);
        for c in &p.checks {
            assert!(!c.met, "{} {} met on an empty worksheet", p.code, c.what);
            assert!(close(c.short_by, c.required), "{} {}", p.code, c.what);
        }
    }
    // 2 totals + 6 areas × 2 parts + 4 hasil minimums (+ prior WBK for WBBM).
    assert_eq!(s.predicate("WBK").expect("WBK").checks.len(), 18);
    assert_eq!(s.predicate("WBBM").expect("WBBM").checks.len(), 19);
    let tt_reform = CheckTarget::AreaPart {
        area: "TT".into(),
        part: Part::Reform,
    };
    assert!(close(check(&s, "WBK", &tt_reform).short_by, 2.1));
    assert!((check(&s, "WBBM", &tt_reform).short_by - 2.625).abs() < 1e-9);
    assert_eq!(check(&s, "WBK", &CheckTarget::Total).short_by, 75.0);
    assert_eq!(check(&s, "WBBM", &CheckTarget::Pengungkit).short_by, 48.0);
    assert_eq!(check(&s, "WBBM", &CheckTarget::PriorWbk).short_by, 1.0);
}

#[test]
fn full_marks_score_exactly_100_and_meet_both_predicates() {
    let lke = Lke::builtin();
    let s = score(lke, &full_marks(lke, true));
    assert_eq!(s.total, 100.0);
    assert_eq!((s.pemenuhan, s.reform, s.hasil), (30.0, 30.0, 40.0));
    assert_eq!(s.unanswered().count(), 0);
    assert!(s.predicates.iter().all(|p| p.met));

    // WBBM needs WBK already held; nothing else changes.
    let s = score(lke, &full_marks(lke, false));
    let wbbm = s.predicate("WBBM").expect("WBBM");
    assert!(s.predicate("WBK").expect("WBK").met && !wbbm.met);
    let failing: Vec<_> = wbbm
        .checks
        .iter()
        .filter(|c| !c.met)
        .map(|c| &c.what)
        .collect();
    assert_eq!(failing, [&CheckTarget::PriorWbk]);
}

#[test]
fn exactly_at_the_thresholds_counts_as_met() {
    let lke = Lke::builtin();
    // IPAK 3.6 / 4 × 17.5 = 15.75, kinerja C = 2.5, BERSIH 18.25, IPKP 3.2 / 4 × 17.5 = 14.0:
    // exactly the WBK hasil minimums, computed through inexact floats (3.6 / 4).
    let mut ws = full_marks(lke, false);
    ws.ipak_survey = Some(3.6);
    ws.capaian_kinerja = Some("C".into());
    ws.ipkp_survey = Some(3.2);
    let s = score(lke, &ws);
    assert!(s.predicate("WBK").expect("WBK").met);
    for code in ["BERSIH", "IPAK", "KINERJA", "PRIMA"] {
        let c = check(&s, "WBK", &CheckTarget::Hasil { code: code.into() });
        assert!(
            c.met && c.short_by == 0.0 && close(c.actual, c.required),
            "{code}"
        );
    }

    // Kinerja B = 3.75, BERSIH 19.5, IPKP 3.6 → 15.75: exactly the WBBM hasil minimums.
    ws.capaian_kinerja = Some("B".into());
    ws.ipkp_survey = Some(3.6);
    ws.holds_wbk = true;
    assert!(score(lke, &ws).predicate("WBBM").expect("WBBM").met);

    // Raise total, pengungkit and area ratio to exactly this worksheet's values.
    let mut v = shipped_value();
    v["predicates"][0]["min_total"] = json!(60.0 + 19.5 + 15.75);
    v["predicates"][0]["min_pengungkit"] = json!(60.0);
    v["predicates"][0]["min_area_part_ratio"] = json!(1.0);
    let strict = Lke::parse(&v.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let s = score(&strict, &ws);
    assert!(s.predicate("WBK").expect("WBK").met);

    // A hair below: IPKP 3.59 / 4 × 17.5 = 15.70625, short by 0.04375 on the strict WBK
    // total and on the WBBM PRIMA minimum (15.75).
    ws.ipkp_survey = Some(3.59);
    let s = score(&strict, &ws);
    let total = check(&s, "WBK", &CheckTarget::Total);
    assert!(!total.met && (total.short_by - 0.04375).abs() < 1e-9);
    let prima = check(
        &s,
        "WBBM",
        &CheckTarget::Hasil {
            code: "PRIMA".into(),
        },
    );
    assert!(!prima.met && (prima.short_by - 0.04375).abs() < 1e-9);
}

#[test]
fn formulas_handle_zero_and_growth() {
    let lke = Lke::builtin();
    let value = |code: &str, inputs: &[(&str, f64)]| {
        let mut ws = Worksheet::default();
        ws.answers
            .insert(code.into(), Answer::numbers(inputs.iter().copied()));
        let s = score(lke, &ws);
        let q = s
            .sub_indicators
            .iter()
            .flat_map(|x| &x.questions)
            .find(|q| q.code == code);
        q.map(|q| (q.value, q.answered)).expect("question")
    };
    // No complaints to follow up: the edition says 0 (zero_denominator).
    assert_eq!(
        value(
            "PW.R2.1",
            &[("harus", 0.0), ("diproses", 0.0), ("selesai", 0.0)]
        ),
        (0.0, true)
    );
    // No violations either year: zero_before = 1; violations appearing from none: 0.
    assert_eq!(
        value("SDM.R3.1", &[("tahun_lalu", 0.0), ("tahun_ini", 0.0)]),
        (1.0, true)
    );
    assert_eq!(
        value("SDM.R3.1", &[("tahun_lalu", 0.0), ("tahun_ini", 3.0)]),
        (0.0, true)
    );
    // More violations than last year clamps at 0, not negative.
    assert_eq!(
        value("SDM.R3.1", &[("tahun_lalu", 2.0), ("tahun_ini", 5.0)]),
        (0.0, true)
    );
    assert_eq!(value("PW.R2.1", &[("harus", 4.0)]), (0.0, false));
}

#[test]
fn malformed_worksheets_are_refused() {
    let lke = Lke::builtin();
    let with = |code: &str, answer: Answer| {
        let mut ws = Worksheet::default();
        ws.answers.insert(code.into(), answer);
        lke.score(&ws).err()
    };
    assert!(matches!(
        with("MP.P9.1", Answer::choose("A")),
        Some(WorksheetError::UnknownQuestion { .. })
    ));
    assert!(matches!(
        with("MP.P1.2", Answer::choose("D")),
        Some(WorksheetError::UnknownOption { .. })
    ));
    assert!(matches!(
        with("MP.P1.1", Answer::choose("A")),
        Some(WorksheetError::UnknownOption { .. })
    ));
    assert!(matches!(
        with("PW.R2.1", Answer::choose("A")),
        Some(WorksheetError::OptionOnComputed { .. })
    ));
    assert!(matches!(
        with("MP.P1.1", Answer::numbers([("x", 1.0)])),
        Some(WorksheetError::InputsOnChoice { .. })
    ));
    assert!(matches!(
        with("PW.R2.1", Answer::numbers([("x", 1.0)])),
        Some(WorksheetError::UnknownInput { .. })
    ));
    assert!(matches!(
        with("PW.R2.1", Answer::numbers([("harus", -1.0)])),
        Some(WorksheetError::BadInput { .. })
    ));
    let ws = Worksheet {
        ipak_survey: Some(4.5),
        ..Worksheet::default()
    };
    assert!(matches!(
        lke.score(&ws),
        Err(WorksheetError::SurveyOutOfRange { .. })
    ));
    let ws = Worksheet {
        capaian_kinerja: Some("F".into()),
        ..Worksheet::default()
    };
    assert!(matches!(
        lke.score(&ws),
        Err(WorksheetError::UnknownHasilOption { .. })
    ));
}

#[test]
fn worksheet_reads_from_json() {
    let ws: Worksheet = serde_json::from_value(json!({
        "answers": {
            "MP.P1.1": { "option": "ya" },
            "PW.R2.1": { "inputs": { "harus": 10, "diproses": 2, "selesai": 8 } }
        },
        "ipak_survey": 3.8,
        "holds_wbk": true
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let s = score(Lke::builtin(), &ws);
    assert!(close(s.sub_indicator("PW.R2").expect("PW.R2").value, 2.4));
    assert!(close(s.sub_indicator("MP.P1").expect("MP.P1").value, 0.25));
}
