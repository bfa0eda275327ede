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
use bukti_tests::{Backend, TestServer, both_stores};
use serde_json::Value;

mod exports;
mod search_index;
mod search_upgrade;
mod sorts;

both_stores!(filters_and_search_narrow, hostile_search_strings_never_fail);

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

/// A new record's write, as ingest makes it.
pub(crate) fn new_write(r: &Record) -> RecordWrite {
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
}

/// Writes records through the store's write path, as ingest does.
pub(crate) async fn store_records(server: &TestServer, records: &[Record]) -> Vec<RecordId> {
    let writes: Vec<RecordWrite> = records.iter().map(new_write).collect();
    let outcomes = server.store.write_records(writes).await.expect("write");
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
    bukti_tests::status_json(send_get(server, token, path, params).await).await
}

/// GET `/api/v1{path}` with query parameters (encoded by the client) as the bearer of `token`.
async fn send_get(
    server: &TestServer,
    token: &str,
    path: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .expect("GET")
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
