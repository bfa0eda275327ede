//! HQ's record queries on SQLite and PostgreSQL: every filter narrows, full-text search over
//! title, place and narrative (Indonesian words, prefixes, diacritics, hostile query strings),
//! every sort pages stably while records arrive, and the CSV and GeoJSON exports stream the same
//! selection within the caller's scope, audited.

use std::collections::{BTreeSet, HashSet};

use bukti_core::{
    Record, RecordDoc, RecordId, ingest,
    record::{Location, PhotoRef, Status, Verdict, workflow},
};
use bukti_server::{
    projection::Projection,
    store::{RecordWrite, WriteOutcome},
};
use bukti_tests::{Backend, TestServer, both_stores, changes_b64};
use serde_json::{Value, json};

both_stores!(
    filters_and_search_narrow,
    hostile_search_strings_never_fail,
    sorts_page_stably_while_records_arrive,
    exports_stream_the_selection_within_scope_audited,
    the_search_index_follows_pushes_and_the_rebuild,
    the_migration_indexes_existing_records,
);

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";

fn at(rfc3339: &str) -> jiff::Timestamp {
    rfc3339.parse().expect("time")
}

/// A submitted record with the given texts, started at `started` (WITA).
pub(crate) fn record(
    unit: &str,
    officer: &str,
    kind: &str,
    title: &str,
    place: &str,
    narrative: &str,
) -> Record {
    let mut r = Record::new(unit, officer, kind, title);
    r.place = place.into();
    r.narrative = narrative.into();
    r.captured_at = at("2026-11-20T12:00:00+08:00");
    r.status = Status::Submitted;
    r
}

fn located(mut r: Record) -> Record {
    r.location = Some(Location {
        lat: -8.15,
        lon: 115.25,
        accuracy_m: Some(7.0),
        source: "gps".into(),
    });
    r
}

fn with_photos(mut r: Record, n: u8) -> Record {
    for i in 0..n {
        let key = format!(
            "{:0>64}",
            format!("{i}{}", r.id.to_string().replace('-', ""))
        );
        let photo = PhotoRef {
            size: 1000,
            content_type: "image/jpeg".into(),
            source: "camera".into(),
            ..Default::default()
        };
        r.photos.insert(key, photo);
    }
    r
}

/// Writes records through the store's write path, as ingest does.
pub(crate) async fn store_records(server: &TestServer, records: &[Record]) -> Vec<RecordId> {
    let writes: Vec<RecordWrite> = records
        .iter()
        .map(|r| {
            let mut doc = RecordDoc::create(
                r,
                automerge::ActorId::random(),
                &format!("officer:{}", r.officer),
            );
            let stored = doc.read().expect("record");
            let state = workflow::derive(doc.automerge()).state;
            RecordWrite {
                id: r.id,
                expected_version: None,
                heads: ingest::heads_to_strings(&doc.heads()),
                doc: doc.save(),
                projection: Projection::of(&stored, state),
                log: None,
            }
        })
        .collect();
    let outcomes = server.store.write_records(&writes).await.expect("write");
    assert!(outcomes.iter().all(|o| *o == WriteOutcome::Written));
    records.iter().map(|r| r.id).collect()
}

/// GET with query parameters (encoded by the client); status and JSON.
async fn get(
    server: &TestServer,
    token: &str,
    path: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .expect("GET");
    bukti_tests::status_json(resp).await
}

/// The ids a list with `params` returns (one page of up to 500).
async fn ids(server: &TestServer, token: &str, params: &[(&str, &str)]) -> BTreeSet<String> {
    let mut all = params.to_vec();
    all.push(("limit", "500"));
    let (status, page) = get(server, token, "/records", &all).await;
    assert_eq!(status, 200, "{params:?}: {page}");
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Query parameters of one case.
type Params<'a> = Vec<(&'a str, &'a str)>;

fn set(ids: &[&RecordId]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// The evidence the filter tests query: five records of Sawan, one of Gerokgak.
struct Fixture {
    sambang: RecordId,
    patroli: RecordId,
    skck: RecordId,
    formula: RecordId,
    penyuluhan: RecordId,
    gerokgak: RecordId,
}

async fn fixture(server: &TestServer) -> Fixture {
    let mut sambang = with_photos(
        located(record(
            SAWAN,
            "87010001",
            "sambang",
            "Sambang Desa Sudaji",
            "Balai Banjar Sudaji",
            "Patroli dialogis bersama Babinsa; anak-anak sekolah ikut mendengarkan.",
        )),
        2,
    );
    sambang.started_at = Some(at("2026-11-20T09:00:00+08:00"));
    sambang.lke.insert("PW.P3".into());
    let mut patroli = record(
        SAWAN,
        "87010002",
        "patroli",
        "Patroli malam pasar",
        "Pasar Sawan",
        "Pengamanan pasar malam",
    );
    patroli.started_at = Some(at("2026-11-10T21:00:00+08:00"));
    let mut skck = with_photos(
        located(record(
            SAWAN,
            "87010001",
            "pelayanan-skck",
            "Pelayanan SKCK keliling",
            "Kantor Desa Bebetin",
            "Pemohon menerima SKCK di kantor désa",
        )),
        1,
    );
    skck.started_at = Some(at("2026-11-25T10:00:00+08:00"));
    skck.lke.insert("PP.P2".into());
    skck.review.verdict = Some(Verdict::Valid);
    let formula = located(record(
        SAWAN,
        "87010002",
        "sambang",
        "=HYPERLINK(\"http://contoh.invalid\",\"klik\")",
        "+62 812 0000",
        "-",
    ));
    let penyuluhan = located(record(
        SAWAN,
        "87010003",
        "penyuluhan",
        "Penyuluhan di Désa Pemuteran, \"kamtibmas\"",
        "SD Negeri 1",
        "Sosialisasi anti korupsi",
    ));
    let gerokgak = located(record(
        GEROKGAK,
        "87020001",
        "sambang",
        "Sambang Desa Pemuteran",
        "Pantai Pemuteran",
        "Patroli pantai bersama pecalang",
    ));
    let all = [sambang, patroli, skck, formula, penyuluhan, gerokgak];
    let ids = store_records(server, &all).await;
    Fixture {
        sambang: ids[0],
        patroli: ids[1],
        skck: ids[2],
        formula: ids[3],
        penyuluhan: ids[4],
        gerokgak: ids[5],
    }
}

async fn filters_and_search_narrow(backend: Backend) {
    let server = TestServer::start(backend).await;
    let f = fixture(&server).await;
    let polres = server
        .hq_token("bali/buleleng", "Kasat Binmas", "reviewer")
        .await;
    let all = set(&[
        &f.sambang,
        &f.patroli,
        &f.skck,
        &f.formula,
        &f.penyuluhan,
        &f.gerokgak,
    ]);
    assert_eq!(ids(&server, &polres, &[]).await, all);
    let sawan_only: BTreeSet<String> = all
        .iter()
        .filter(|id| **id != f.gerokgak.to_string())
        .cloned()
        .collect();

    let cases: Vec<(Params, BTreeSet<String>)> = vec![
        (vec![("unit", SAWAN)], sawan_only.clone()),
        (vec![("unit", GEROKGAK)], set(&[&f.gerokgak])),
        (vec![("kind", "patroli")], set(&[&f.patroli])),
        (
            vec![("kind", "sambang"), ("unit", SAWAN)],
            set(&[&f.sambang, &f.formula]),
        ),
        (vec![("lke_area", "PW")], set(&[&f.sambang])),
        (vec![("lke", "PP.P2")], set(&[&f.skck])),
        (
            vec![("officer", "87010002")],
            set(&[&f.patroli, &f.formula]),
        ),
        (vec![("verdict", "valid")], set(&[&f.skck])),
        (vec![("state", "verified")], set(&[&f.skck])),
        (vec![("photos", "with")], set(&[&f.sambang, &f.skck])),
        (
            vec![("photos", "without"), ("unit", SAWAN)],
            set(&[&f.patroli, &f.formula, &f.penyuluhan]),
        ),
        (
            vec![
                ("from", "2026-11-15T00:00:00+08:00"),
                ("to", "2026-11-21T00:00:00+08:00"),
            ],
            set(&[&f.sambang, &f.formula, &f.penyuluhan, &f.gerokgak]),
        ),
        // Full text: title, place and narrative; case and diacritics folded.
        (
            vec![("q", "patroli")],
            set(&[&f.sambang, &f.patroli, &f.gerokgak]),
        ),
        (
            vec![("q", "PATROLI"), ("unit", SAWAN)],
            set(&[&f.sambang, &f.patroli]),
        ),
        (
            vec![("q", "patr")],
            set(&[&f.sambang, &f.patroli, &f.gerokgak]),
        ),
        // A prefix, not a fuzzy match: "pata" is not how "patroli" starts.
        (vec![("q", "pata")], BTreeSet::new()),
        (vec![("q", "pasar sawan")], set(&[&f.patroli])),
        (vec![("q", "sambang sud")], set(&[&f.sambang])),
        (
            vec![("q", "desa pemuteran")],
            set(&[&f.penyuluhan, &f.gerokgak]),
        ),
        (
            vec![("q", "DÉSA Pemuteran")],
            set(&[&f.penyuluhan, &f.gerokgak]),
        ),
        (vec![("q", "kantor desa")], set(&[&f.skck])),
        (vec![("q", "anak-anak")], set(&[&f.sambang])),
        (vec![("q", "anak")], set(&[&f.sambang])),
        (vec![("q", "pelayanan")], set(&[&f.skck])),
        (vec![("q", "korupsi")], set(&[&f.penyuluhan])),
        (vec![("q", "hyperlink")], set(&[&f.formula])),
        // No Indonesian stemmer: an affixed form is another word.
        (vec![("q", "layanan")], BTreeSet::new()),
        (
            vec![("q", "patroli"), ("photos", "with"), ("unit", SAWAN)],
            set(&[&f.sambang]),
        ),
        (vec![("q", "  ")], all.clone()),
    ];
    for (params, expected) in &cases {
        assert_eq!(&ids(&server, &polres, params).await, expected, "{params:?}");
    }

    // The Polsek's view never reaches Gerokgak, whatever it asks for.
    let sawan = server.hq_token(SAWAN, "Kapolsek Sawan", "viewer").await;
    assert_eq!(
        ids(&server, &sawan, &[("q", "pemuteran")]).await,
        set(&[&f.penyuluhan])
    );
    assert!(ids(&server, &sawan, &[("unit", GEROKGAK)]).await.is_empty());

    for (params, needle) in [
        (vec![("photos", "some")], "photos=with"),
        (vec![("sort", "relevance")], "captured_at"),
        (vec![("sort", "-record_id")], "started_at"),
        (vec![("state", "approved")], "forwarded"),
    ] {
        let (status, body) = get(&server, &polres, "/records", &params).await;
        assert_eq!(status, 400, "{params:?}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{body}"
        );
    }
    server.finish().await;
}

async fn hostile_search_strings_never_fail(backend: Backend) {
    let server = TestServer::start(backend).await;
    let f = fixture(&server).await;
    let polres = server.hq_token("bali/buleleng", "Kasat", "reviewer").await;
    let long = "patroli ".repeat(1300);
    let hostile = [
        "\"",
        "\"\"",
        "*",
        "**",
        "AND OR NOT",
        "AND",
        "NOT patroli",
        ")(",
        "(",
        "NEAR",
        "NEAR(patroli pasar)",
        "patroli\"",
        "'",
        "''",
        "\\",
        "%",
        "_",
        "-patroli",
        "patroli:*",
        "a & b | !c",
        "title:patroli",
        "^patroli",
        "{}",
        "<->",
        "patroli <-> pasar",
        "🚓",
        "شرطة",
        "0x00",
        ";drop table record;--",
        "' or '1'='1",
        &long,
    ];
    for q in hostile {
        for path in ["/records", "/exports/records.csv"] {
            let (status, body) = get(&server, &server.admin_token, path, &[("q", q)]).await;
            let shown: String = q.chars().take(40).collect();
            assert!(
                status == 200 || status == 400,
                "{path} q={shown:?}: {status} {body}"
            );
            if status == 400 {
                assert!(
                    body["message"].as_str().is_some_and(|m| m.contains("q ")),
                    "{body}"
                );
            }
        }
    }
    // Operators are plain words: "NOT patroli" finds the records that say both.
    assert!(
        ids(&server, &polres, &[("q", "NOT patroli")])
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&server, &polres, &[("q", "patroli\"")]).await,
        set(&[&f.sambang, &f.patroli, &f.gerokgak])
    );
    let (status, body) = get(&server, &polres, "/records", &[("q", &long)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most"),
        "{body}"
    );
    // NUL never reaches a query.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/records?q=patroli%00", server.url))
        .bearer_auth(&polres)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status().as_u16(), 400);
    server.finish().await;
}

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
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .expect("GET");
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

async fn the_search_index_follows_pushes_and_the_rebuild(backend: Backend) {
    let server = TestServer::start(backend).await;
    let device = server.raw_device(SAWAN, "87010001").await;
    let mut doc = device.record_doc("Sambang kampung nelayan");
    let id = doc.read().expect("record").id;
    let push =
        |changes: Vec<String>| json!({"records": [{"id": id.to_string(), "changes": changes}]});
    let (_, answer) = server
        .device_post(
            &device.token,
            "/sync/push",
            &push(changes_b64(&mut doc, &[])),
        )
        .await;
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    let admin = server.admin_token.clone();
    let found = async |q: &str| ids(&server, &admin, &[("q", q)]).await.len();
    assert_eq!(found("nelayan").await, 1);

    // An edit replaces the indexed text in the same write.
    let heads = doc.heads();
    doc.edit("officer:87010001", |r| {
        r.title = "Sambang kampung pesisir".into();
        r.narrative = "Warga melaporkan pencurian jaring".into();
    })
    .expect("edit");
    let (_, answer) = server
        .device_post(
            &device.token,
            "/sync/push",
            &push(changes_b64(&mut doc, &heads)),
        )
        .await;
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    assert_eq!(found("nelayan").await, 0);
    assert_eq!(found("pesisir").await, 1);
    assert_eq!(found("jaring").await, 1);

    // The index is part of the projection: lost, it comes back from the documents.
    server
        .execute_sql("delete from record_search")
        .await
        .expect("wipe the index");
    assert_eq!(found("jaring").await, 0);
    let report = bukti_server::ops::rebuild_projection(&server.store, 100)
        .await
        .expect("rebuild");
    assert_eq!(report.rewritten, 1);
    assert_eq!(found("jaring").await, 1);
    assert_eq!(found("pesisir").await, 1);
    if backend == Backend::Sqlite {
        // The FTS table lost its rows with their keys (the delete trigger), and has one now.
        server
            .execute_sql("insert into record_fts(record_fts) values('integrity-check')")
            .await
            .expect("FTS5 integrity");
    }
    server.finish().await;
}

/// Records stored before the search migration, in the tables as they were.
const OLD_ROWS: &str = "
insert into record (record_id, unit, officer, kind, title, status, captured_at, activity_at,
    place, heads, version, feed_seq, created_at, updated_at) values
  ('0193a000-0000-7000-8000-000000000001', 'bali/buleleng/sawan', '87010001', 'sambang',
   'Sambang Desa Sudaji', 'submitted', 1, 1, 'Balai Banjar', '[]', 1, 1, 1, 1),
  ('0193a000-0000-7000-8000-000000000002', 'bali/buleleng/sawan', '87010001', 'patroli',
   'Patroli malam', 'submitted', 2, 2, 'Pasar Sawan', '[]', 1, 2, 1, 1);
";

async fn the_migration_indexes_existing_records(backend: Backend) {
    use bukti_server::store::{self, ListFilter};
    use sqlx::{Connection, Executor};
    let data = tempfile::tempdir().expect("data folder");
    let (opened, url): (store::DynStore, Option<String>) = match backend {
        Backend::Sqlite => {
            let file = data.path().join("evidence.db");
            let url = format!("sqlite://{}?mode=rwc", file.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            store::sqlite::MIGRATOR
                .run_to(7, &mut c)
                .await
                .expect("schema before search");
            c.execute(OLD_ROWS).await.expect("old rows");
            c.close().await.expect("close");
            let s = store::sqlite::SqliteStore::open(data.path())
                .await
                .expect("open and migrate");
            (std::sync::Arc::new(s), None)
        }
        Backend::Postgres => {
            let url = bukti_tests::fresh_postgres_database().await;
            let mut c = sqlx::PgConnection::connect(&url).await.expect("postgres");
            store::postgres::MIGRATOR
                .run_to(8, &mut c)
                .await
                .expect("schema before search");
            c.execute(OLD_ROWS).await.expect("old rows");
            c.close().await.expect("close");
            let s = store::postgres::PgStore::connect(&url)
                .await
                .expect("open and migrate");
            (std::sync::Arc::new(s), Some(url))
        }
    };
    let scope = bukti_core::unit::UnitPath::parse("bali").expect("unit");
    for (q, n) in [
        ("sudaji", 1),
        ("pasar", 1),
        ("sawan", 1),
        ("balai", 1),
        ("pat", 1),
        ("desa malam", 0),
    ] {
        let filter = ListFilter {
            q: Some(q.into()),
            ..Default::default()
        };
        let page = opened.list(&scope, &filter).await.expect("list");
        assert_eq!(page.records.len(), n, "{q}");
    }
    let by_title = ListFilter {
        sort: Some("title".into()),
        ..Default::default()
    };
    let titles: Vec<String> = opened
        .list(&scope, &by_title)
        .await
        .expect("list")
        .records
        .into_iter()
        .map(|r| r.title)
        .collect();
    assert_eq!(titles, ["Patroli malam", "Sambang Desa Sudaji"]);
    drop(opened);
    if let Some(url) = url {
        let admin = std::env::var("BUKTI_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if let (Ok(mut c), Some((_, name))) = (
            sqlx::PgConnection::connect(&admin).await,
            url.rsplit_once('/'),
        ) {
            let _ = c
                .execute(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .await;
        }
    }
}
