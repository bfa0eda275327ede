//! The CSV and GeoJSON exports: the same selection as the list, streamed, within the caller's
//! scope, every export audited.

use serde_json::json;

use super::*;

both_stores!(exports_stream_the_selection_within_scope_audited);

/// A small RFC 4180 reader: quoted cells with doubled quotes, CRLF line ends.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let (mut quoted, mut was_quoted) = (false, false);
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => panic!("a quote inside an unquoted cell: {cell:?}"),
            ',' => {
                row.push(std::mem::take(&mut cell));
                was_quoted = false;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "lines end with CRLF");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                was_quoted = false;
            }
            '\n' => panic!("a bare LF outside quotes"),
            c => {
                assert!(!was_quoted, "text after a closing quote");
                cell.push(c);
            }
        }
    }
    assert!(
        !quoted && cell.is_empty() && row.is_empty(),
        "the file ends with CRLF"
    );
    rows
}

struct Download {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn download(
    server: &TestServer,
    token: &str,
    path: &str,
    params: &[(&str, &str)],
) -> Download {
    let resp = send_get(server, token, path, params).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Download {
        status,
        headers,
        body,
    }
}

/// The CSV's data rows by id, after checking the BOM and the header.
fn csv_rows(
    d: &Download,
) -> std::collections::HashMap<String, std::collections::HashMap<String, String>> {
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.headers["content-type"], "text/csv; charset=utf-8");
    let disposition = d.headers["content-disposition"].to_str().expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"bukti-records-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = d
        .body
        .strip_prefix('\u{feff}')
        .expect("UTF-8 byte order mark");
    let rows = parse_csv(text);
    let header = &rows[0];
    assert_eq!(header[0], "id");
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            let cells: std::collections::HashMap<String, String> =
                header.iter().cloned().zip(r.iter().cloned()).collect();
            (cells["id"].clone(), cells)
        })
        .collect()
}

async fn exports_stream_the_selection_within_scope_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let f = fixture(&server).await;
    let polres = server
        .hq_token("bali/buleleng", "Kasat Binmas", "reviewer")
        .await;

    // Everything in scope, one row each, the texts intact, formulas neutralised.
    let d = download(&server, &polres, "/exports/records.csv", &[]).await;
    let rows = csv_rows(&d);
    assert_eq!(rows.len(), 6);
    assert_eq!(d.headers["x-bukti-records"], "6");
    let sambang = &rows[&f.sambang.to_string()];
    assert_eq!(sambang["title"], "Sambang Desa Sudaji");
    assert_eq!(sambang["time_zone"], "WITA");
    assert_eq!(sambang["started_local"], "2026-11-20 09:00:00");
    assert_eq!(sambang["started_utc"], "2026-11-20T01:00:00Z");
    assert_eq!(sambang["captured_local"], "2026-11-20 12:00:00");
    assert_eq!(sambang["lat"], "-8.15", "numbers stay numbers");
    assert_eq!(sambang["lon"], "115.25");
    assert_eq!(sambang["photos"], "2");
    assert_eq!(sambang["lke"], "PW.P3");
    assert_eq!(
        rows[&f.penyuluhan.to_string()]["title"],
        "Penyuluhan di Désa Pemuteran, \"kamtibmas\""
    );
    let formula = &rows[&f.formula.to_string()];
    assert_eq!(
        formula["title"],
        "'=HYPERLINK(\"http://contoh.invalid\",\"klik\")"
    );
    assert_eq!(formula["place"], "'+62 812 0000");
    assert_eq!(rows[&f.skck.to_string()]["verdict"], "valid");

    // The same filters as the list.
    let d = download(
        &server,
        &polres,
        "/exports/records.csv",
        &[("q", "patroli"), ("photos", "without")],
    )
    .await;
    let rows = csv_rows(&d);
    assert_eq!(
        rows.keys().cloned().collect::<BTreeSet<_>>(),
        set(&[&f.patroli, &f.gerokgak])
    );
    let export_id = d.headers["x-bukti-export"].to_str().expect("id").to_owned();

    // GeoJSON: points in lon, lat order; records without a location counted, not sent.
    let d = download(
        &server,
        &polres,
        "/exports/records.geojson",
        &[("unit", SAWAN)],
    )
    .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.headers["content-type"], "application/geo+json");
    assert!(
        d.headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .ends_with(".geojson\"")
    );
    assert_eq!(d.headers["x-bukti-skipped"], "1");
    let doc: Value = serde_json::from_str(&d.body).expect("GeoJSON is JSON");
    assert_eq!(doc["type"], "FeatureCollection");
    assert_eq!(doc["skipped"], 1);
    let features = doc["features"].as_array().expect("features");
    assert_eq!(features.len(), 4);
    for feature in features {
        assert_eq!(feature["type"], "Feature");
        assert_eq!(feature["geometry"]["type"], "Point");
        let c = feature["geometry"]["coordinates"]
            .as_array()
            .expect("coordinates");
        let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        assert!(
            (lon - 115.25).abs() < 1e-9 && (lat + 8.15).abs() < 1e-9,
            "{c:?}"
        );
        assert_ne!(feature["id"], f.patroli.to_string().as_str());
        assert_eq!(feature["properties"]["unit"], SAWAN);
    }

    // Every export is on record: who, the format, the filters (the search only as `true`).
    let (status, log) = get(&server, &server.admin_token, "/audit", &[("limit", "50")]).await;
    assert_eq!(status, 200, "{log}");
    let exports: Vec<&Value> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "export")
        .collect();
    assert_eq!(exports.len(), 3, "{exports:?}");
    let searched = exports
        .iter()
        .find(|e| e["subject"] == format!("export:{export_id}").as_str())
        .expect("the searched export's entry");
    assert_eq!(searched["actor"]["name"], "Kasat Binmas");
    assert_eq!(searched["detail"]["format"], "csv");
    assert_eq!(searched["detail"]["records"], 2);
    assert_eq!(searched["detail"]["filters"]["q"], true);
    assert_eq!(searched["detail"]["filters"]["photos"], "without");
    assert!(
        !searched.to_string().contains("patroli"),
        "the search text is not logged"
    );
    assert_eq!(searched["unit"], "bali/buleleng");

    // Another unit's viewer gets its own records only, and nothing of Sawan's when it asks.
    let gerokgak = server
        .hq_token(GEROKGAK, "Kapolsek Gerokgak", "viewer")
        .await;
    let d = download(&server, &gerokgak, "/exports/records.csv", &[]).await;
    assert_eq!(
        csv_rows(&d).keys().cloned().collect::<BTreeSet<_>>(),
        set(&[&f.gerokgak])
    );
    for params in [vec![("unit", SAWAN)], vec![("q", "sudaji")]] {
        let d = download(&server, &gerokgak, "/exports/records.csv", &params).await;
        assert!(csv_rows(&d).is_empty(), "{params:?}");
        let d = download(&server, &gerokgak, "/exports/records.geojson", &params).await;
        let doc: Value = serde_json::from_str(&d.body).expect("JSON");
        assert_eq!(doc["features"], json!([]), "{params:?}");
    }

    // No export permission, a device, a bad filter: refused before anything is sent or logged.
    let officer = server.hq_token(SAWAN, "Bripka Made", "officer").await;
    for path in ["/exports/records.csv", "/exports/records.geojson"] {
        let d = download(&server, &officer, path, &[]).await;
        assert_eq!(d.status, 403, "{}", d.body);
        assert!(d.body.contains("export"), "{}", d.body);
    }
    let device = server.raw_device(SAWAN, "87010009").await;
    assert_eq!(
        download(&server, &device.token, "/exports/records.csv", &[])
            .await
            .status,
        403
    );
    assert_eq!(
        download(&server, "bkt_nonsense", "/exports/records.csv", &[])
            .await
            .status,
        401
    );
    for params in [
        vec![("sort", "x")],
        vec![("photos", "x")],
        vec![("from", "yesterday")],
    ] {
        let d = download(&server, &polres, "/exports/records.csv", &params).await;
        assert_eq!(d.status, 400, "{params:?}: {}", d.body);
    }
    let (_, log) = get(&server, &server.admin_token, "/audit", &[("limit", "50")]).await;
    let count = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "export")
        .count();
    assert_eq!(
        count,
        3 + 5,
        "the viewer's five exports are logged, the refusals are not"
    );
    server.finish().await;
}
