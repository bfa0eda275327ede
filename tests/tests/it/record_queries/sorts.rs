//! Every sort of the list pages stably, by key then id, while records arrive between pages;
//! a cursor made for one sort is refused by another.

use super::*;

both_stores!(sorts_page_stably_while_records_arrive);

/// The sort key of a summary as the API returns it, comparable across records.
fn key(sort: &str, r: &Value) -> (Value, String) {
    // Times are RFC 3339 text, compared as the instants they name.
    let ms = |v: &Value| {
        let text = v.as_str().expect("an RFC 3339 time");
        let t: jiff::Timestamp = text.parse().expect("an RFC 3339 time");
        Value::from(t.as_millisecond())
    };
    let k = match sort.trim_start_matches('-') {
        "started_at" if r["started_at"].is_null() => ms(&r["captured_at"]),
        "started_at" => ms(&r["started_at"]),
        "captured_at" => ms(&r["captured_at"]),
        "title" => r["title"].clone(),
        "updated" => ms(&r["updated_at"]),
        other => panic!("{other}"),
    };
    (k, r["id"].as_str().expect("id").to_owned())
}

fn before(a: &(Value, String), b: &(Value, String)) -> std::cmp::Ordering {
    let first = match (&a.0, &b.0) {
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (x, y) => x.as_i64().cmp(&y.as_i64()),
    };
    first.then_with(|| a.1.cmp(&b.1))
}

async fn sorts_page_stably_while_records_arrive(backend: Backend) {
    let server = TestServer::start(backend).await;
    let base = at("2026-11-01T08:00:00+08:00");
    let mut originals = Vec::new();
    for i in 0..24i64 {
        // Ties on every key: titles repeat, times repeat, some records have no start.
        let mut r = record(
            SAWAN,
            "87010001",
            "sambang",
            &format!("Kegiatan {}", ["b", "A", "c", "a"][i as usize % 4]),
            "",
            "",
        );
        r.captured_at = base + jiff::SignedDuration::from_hours(i / 3);
        if i % 5 != 0 {
            r.started_at = Some(base + jiff::SignedDuration::from_hours((i * 7) % 6));
        }
        originals.push(r);
    }
    let original_ids: HashSet<String> = store_records(&server, &originals[..12])
        .await
        .into_iter()
        .chain(store_records(&server, &originals[12..]).await)
        .map(|id| id.to_string())
        .collect();
    let token = server.admin_token.clone();
    let mut arriving = 0i64;
    for sort in [
        "-started_at",
        "started_at",
        "captured_at",
        "-captured_at",
        "title",
        "-title",
        "updated",
        "-updated",
    ] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut params = vec![("sort", sort.to_owned()), ("limit", "5".to_owned())];
            if let Some(c) = &cursor {
                params.push(("cursor", c.clone()));
            }
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, page) = get(&server, &token, "/records", &params).await;
            assert_eq!(status, 200, "{sort}: {page}");
            seen.extend(
                page["records"]
                    .as_array()
                    .expect("records")
                    .iter()
                    .map(|r| r["id"].as_str().expect("id").to_owned()),
            );
            // Records arrive between pages, with keys before and after the cursor.
            arriving += 1;
            let mut r = record(
                SAWAN,
                "87010002",
                "patroli",
                ["Aa", "zz", "Kegiatan b", "M"][arriving as usize % 4],
                "",
                "",
            );
            r.captured_at = base + jiff::SignedDuration::from_mins(arriving * 97 % 600);
            r.started_at = Some(base + jiff::SignedDuration::from_mins(arriving * 53 % 400));
            store_records(&server, &[r]).await;
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a row came twice");
        assert!(
            original_ids.iter().all(|id| unique.contains(id)),
            "{sort}: a record stored before the first page was skipped"
        );
        // Everything seen is in the sort's order (keys never change while paging here).
        let (_, everything) = get(&server, &token, "/records", &[("limit", "500")]).await;
        let keys: std::collections::HashMap<String, (Value, String)> = everything["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| (r["id"].as_str().expect("id").to_owned(), key(sort, r)))
            .collect();
        for pair in seen.windows(2) {
            let mut order = before(&keys[&pair[0]], &keys[&pair[1]]);
            if sort.starts_with('-') {
                order = order.reverse();
            }
            assert_eq!(
                order,
                std::cmp::Ordering::Less,
                "{sort}: {pair:?} out of order"
            );
        }
    }
    // A cursor continues only the sort it came from.
    let (_, page) = get(
        &server,
        &token,
        "/records",
        &[("sort", "title"), ("limit", "2")],
    )
    .await;
    let cursor = page["next_cursor"].as_str().expect("more pages");
    let (status, body) = get(
        &server,
        &token,
        "/records",
        &[("sort", "-title"), ("cursor", cursor)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(
        &server,
        &token,
        "/records",
        &[("cursor", "bm90IGEgY3Vyc29y")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    server.finish().await;
}
