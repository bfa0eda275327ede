//! The list and feed SQL, checked without a database: user input only as bound values, every
//! filter and sort, cursors that refuse tampering.

use super::*;

fn unit(s: &str) -> UnitPath {
    UnitPath::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn filters_become_bound_values_never_sql_text() {
    let f = ListFilter {
        kind: Some("x' or '1'='1".into()),
        lke_area: Some("PW".into()),
        from_ms: Some(10),
        ..Default::default()
    };
    let sql = list(Dialect::Postgres, &unit("bali/buleleng"), &f)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("in scope"));
    assert!(!sql.text.contains("or '1'"), "{}", sql.text);
    assert!(sql.binds.contains(&Bind::Text("x' or '1'='1".into())));
    assert!(
        sql.text.contains("$6"),
        "placeholders are numbered: {}",
        sql.text
    );
}

#[test]
fn a_unit_outside_scope_is_an_empty_page_and_a_wider_one_is_the_scope() {
    let scope = unit("bali/buleleng/sawan");
    let other = ListFilter {
        unit: Some("bali/buleleng/gerokgak".into()),
        ..Default::default()
    };
    assert!(
        list(Dialect::Sqlite, &scope, &other)
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let wider = ListFilter {
        unit: Some("bali".into()),
        ..Default::default()
    };
    let sql = list(Dialect::Sqlite, &scope, &wider)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("in scope"));
    assert_eq!(sql.binds[0], Bind::Text("bali/buleleng/sawan".into()));
    let junk = ListFilter {
        unit: Some("../etc".into()),
        ..Default::default()
    };
    assert!(list(Dialect::Sqlite, &scope, &junk).is_err());
}

#[test]
fn the_review_state_is_a_bound_filter_and_unknown_states_are_refused() {
    let scope = unit("bali/buleleng");
    let f = ListFilter {
        state: Some("forwarded".into()),
        ..Default::default()
    };
    let sql = list(Dialect::Sqlite, &scope, &f)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("in scope"));
    assert!(sql.text.contains("r.state = $"), "{}", sql.text);
    assert!(sql.binds.contains(&Bind::Text("forwarded".into())));
    let bogus = ListFilter {
        state: Some("approved".into()),
        ..Default::default()
    };
    let e = list(Dialect::Postgres, &scope, &bogus).expect_err("unknown state");
    assert!(e.to_string().contains("forwarded"), "{e}");
}

#[test]
fn cursors_round_trip_and_forgeries_are_refused() {
    let id = bukti_core::RecordId::new().to_string();
    let c = cursor_for(Sort::DEFAULT, "1700000000000", &id);
    assert_eq!(
        parse_cursor(Sort::DEFAULT, &c),
        Ok((Bind::Int(1_700_000_000_000), id.clone()))
    );
    let by_title = Sort::parse(Some("title")).unwrap_or_else(|e| panic!("{e}"));
    let c = cursor_for(by_title, "Patroli\ndi \"pasar\"", &id);
    assert_eq!(
        parse_cursor(by_title, &c),
        Ok((Bind::Text("Patroli\ndi \"pasar\"".into()), id.clone()))
    );
    assert_eq!(
        parse_cursor(Sort::DEFAULT, &c),
        Err(FilterError::CursorSort),
        "a cursor only continues its own sort"
    );
    for bad in [
        "",
        "x_y",
        "12_not-a-uuid",
        "12",
        "!!!",
        &cursor_for(Sort::DEFAULT, "x", &id),
    ] {
        assert!(parse_cursor(Sort::DEFAULT, bad).is_err(), "{bad}");
    }
}

#[test]
fn sorts_parse_and_page_by_key_then_id() {
    for (raw, key, descending) in [
        ("-started_at", SortKey::StartedAt, true),
        ("captured_at", SortKey::CapturedAt, false),
        (" title", SortKey::Title, false),
        ("-updated", SortKey::Updated, true),
    ] {
        let sort = Sort::parse(Some(raw)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((sort.key, sort.descending), (key, descending), "{raw}");
    }
    assert_eq!(Sort::parse(None), Ok(Sort::DEFAULT));
    for bad in [
        "activity",
        "-",
        "title desc",
        "record_id",
        "-started_at;drop",
    ] {
        let e = Sort::parse(Some(bad)).expect_err(bad);
        assert!(e.to_string().contains("captured_at"), "{e}");
    }
    let id = bukti_core::RecordId::new().to_string();
    let f = ListFilter {
        sort: Some("title".into()),
        cursor: Some(cursor_for(
            Sort::parse(Some("title")).unwrap_or(Sort::DEFAULT),
            "M",
            &id,
        )),
        ..Default::default()
    };
    let sql = list(Dialect::Postgres, &unit("bali"), &f)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("in scope"));
    assert!(
        sql.text
            .contains("(r.title, r.record_id) > ($4, $5) order by r.title asc, r.record_id asc"),
        "{}",
        sql.text
    );
}

#[test]
fn photos_and_text_search_filter_and_refuse_clearly() {
    let scope = unit("bali");
    let f = ListFilter {
        photos: Some("without".into()),
        q: Some("\"patroli\" OR desa*".into()),
        ..Default::default()
    };
    let sql = list(Dialect::Sqlite, &scope, &f)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("in scope"));
    assert!(
        sql.text
            .contains("and not exists (select 1 from record_photo"),
        "{}",
        sql.text
    );
    assert!(
        sql.binds
            .contains(&Bind::Text(r#""patroli" "or" "desa"*"#.into()))
    );
    let punctuation = ListFilter {
        q: Some(")(\"*".into()),
        ..Default::default()
    };
    let sql = list(Dialect::Postgres, &scope, &punctuation)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("in scope"));
    assert!(
        !sql.text.contains("record_search"),
        "no words, no search: {}",
        sql.text
    );
    let bad = ListFilter {
        photos: Some("some".into()),
        ..Default::default()
    };
    assert_eq!(
        count(Dialect::Sqlite, &scope, &bad).map(|_| ()),
        Err(FilterError::Photos("some".into()))
    );
}
