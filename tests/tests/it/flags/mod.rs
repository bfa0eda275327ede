//! Anomaly flags end to end, on both stores: a unit's area set with `bukti-server unit area`,
//! flags raised as pushes arrive (document, device clock, back-dated bursts), stored, shown on
//! the record with their explanations, filterable in HQ's list, recomputed with the document.

mod photos;

use bukti_core::{
    RecordDoc,
    record::{PhotoGps, PhotoRef},
};
use bukti_tests::{
    Backend, RawDevice, TestServer, both_stores, push_entry, sample_record, signing,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

both_stores!(
    flags_are_raised_stored_shown_filtered_and_recomputed,
    a_burst_of_backdated_records_is_flagged_and_a_few_are_not,
    a_burst_larger_than_a_statement_is_flagged_whole,
);

const SAWAN: &str = "bali/buleleng/sawan";
const PHOTO: &str = "3a1f0e7c9d2b4a6f8e1c3b5d7f9a2c4e6b8d0f1a3c5e7b9d1f3a5c7e9b1d3f5a";

/// Pushes `docs` signed by `dev` with its clock at `device_time`; every record must be accepted.
async fn push(
    server: &TestServer,
    dev: &RawDevice,
    docs: &mut [RecordDoc],
    device_time: Timestamp,
) {
    let body = json!({"records": docs.iter_mut().map(push_entry).collect::<Vec<_>>()});
    let http = reqwest::Client::new();
    let key = signing::server_key(&http, &format!("{}/api/v1", server.url)).await;
    let device = signing::key_of(&dev.token).expect("the device's key");
    let mut signed = body.clone();
    signed["signature"] = serde_json::to_value(signing::sign(
        &body,
        &device,
        &key,
        device_time.as_millisecond(),
    ))
    .expect("a signature");
    let (status, answer) = server.device_post(&dev.token, "/sync/push", &signed).await;
    assert_eq!(status, 200, "{answer}");
    for r in answer["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{answer}");
    }
}

fn doc_of(dev: &RawDevice, record: &bukti_core::Record) -> RecordDoc {
    RecordDoc::create(
        record,
        dev.actor.clone(),
        &format!("officer:{}", dev.officer),
    )
}

fn codes(view: &Value) -> Vec<String> {
    let mut codes: Vec<String> = view["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect();
    codes.sort();
    codes
}

fn titles(page: &Value) -> Vec<String> {
    let mut titles: Vec<String> = page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["title"].as_str().expect("title").to_owned())
        .collect();
    titles.sort();
    titles
}

async fn flags_are_raised_stored_shown_filtered_and_recomputed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let set = |args: &[&str]| {
        crate::bins::server_command(&server)
            .args(["unit", "area", "--path"])
            .args(args)
            .output()
            .expect("bukti-server runs")
    };
    for (args, says) in [
        (
            &[SAWAN, "--bbox", "-8.0,115.0,-8.2,115.3"][..],
            "south < north",
        ),
        (
            &["bali/nowhere", "--bbox", "-8.2,115.0,-8.0,115.3"],
            "does not exist",
        ),
        (&[SAWAN], "--geojson FILE, --bbox S,W,N,E or --clear"),
    ] {
        let out = set(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
    let out = set(&[SAWAN, "--bbox", "-8.2,115.0,-8.0,115.3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dev = server.raw_device(SAWAN, "80000001").await;
    let honest = sample_record(SAWAN, "80000001", "Pelayanan SKCK");
    let mut odd = sample_record(SAWAN, "80000001", "Sambang di Denpasar");
    if let Some(l) = odd.location.as_mut() {
        (l.lat, l.lon) = (-8.65, 115.22);
    }
    odd.photos.insert(
        PHOTO.into(),
        PhotoRef {
            size: 120_000,
            content_type: "image/jpeg".into(),
            source: "gallery".into(),
            taken_at: Some(Timestamp::now() - SignedDuration::from_hours(72)),
            gps: Some(PhotoGps {
                lat: -8.12,
                lon: 115.17,
            }),
            camera: "samsung SM-A045F".into(),
            software: "Adobe Photoshop Express".into(),
            ..PhotoRef::default()
        },
    );
    let mut docs = [doc_of(&dev, &honest), doc_of(&dev, &odd)];
    push(&server, &dev, &mut docs, Timestamp::now()).await;
    let skewed = sample_record(SAWAN, "80000001", "Patroli jam meleset");
    let mut skewed_doc = [doc_of(&dev, &skewed)];
    push(
        &server,
        &dev,
        &mut skewed_doc,
        Timestamp::now() - SignedDuration::from_hours(3),
    )
    .await;

    let hq = server.hq(&server
        .hq_token("bali/buleleng", "Reviewer", "reviewer")
        .await);
    let (status, view) = hq.get(&format!("/records/{}", honest.id)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        codes(&view),
        Vec::<String>::new(),
        "an honest record: {view}"
    );
    let (_, view) = hq.get(&format!("/records/{}", odd.id)).await;
    assert_eq!(
        codes(&view),
        [
            "gallery_import",
            "location_far",
            "outside_area",
            "photo_edited",
            "photo_time_far"
        ],
        "{view}"
    );
    let flag = |code: &str| {
        view["flags"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["code"] == code))
            .cloned()
            .expect("the flag")
    };
    let far = flag("location_far");
    assert_eq!(far["photo"], PHOTO);
    assert!(
        far["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("km dari lokasi catatan"))
            && far["explanation_en"]
                .as_str()
                .is_some_and(|e| e.contains("km from the record")),
        "{far}"
    );
    let outside = flag("outside_area");
    assert_eq!(
        (outside["photo"].is_null(), outside["note"].as_str()),
        (true, Some("record"))
    );
    assert!(flag("photo_edited")["note"] == "photoshop");
    let (_, view) = hq.get(&format!("/records/{}", skewed.id)).await;
    assert_eq!(codes(&view), ["device_clock"], "{view}");
    let minutes = view["flags"][0]["amount"].as_f64().expect("minutes off");
    assert!((179.0..182.0).contains(&minutes), "{minutes}");

    // The list: filtered by one flag, by any, and refused clearly for a flag that is none.
    let (_, page) = hq.get("/records?flag=outside_area").await;
    assert_eq!(titles(&page), ["Sambang di Denpasar"]);
    let (_, page) = hq.get("/records?flag=any").await;
    assert_eq!(
        titles(&page),
        ["Patroli jam meleset", "Sambang di Denpasar"]
    );
    let listed = page["records"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["title"] == "Patroli jam meleset"))
        .cloned()
        .expect("listed");
    assert_eq!(listed["flags"], json!(["device_clock"]));
    let (status, refused) = hq.get("/records?flag=fabricated").await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("flag=any")),
        "{refused}"
    );

    // The officer corrects the place and drops the photo: the document's flags go with them;
    // the device clock's, raised on arrival, stays.
    let heads = docs[1].heads();
    docs[1]
        .edit("officer:80000001", |r| {
            if let Some(l) = r.location.as_mut() {
                (l.lat, l.lon) = (-8.12, 115.17);
            }
            r.photos.clear();
        })
        .expect("an edit");
    let body = json!({"records": [{"id": odd.id.to_string(), "changes": bukti_tests::changes_b64(&mut docs[1], &heads)}]});
    let (status, answer) = server
        .device_post(
            &dev.token,
            "/sync/push",
            &signing::signed_for(
                &reqwest::Client::new(),
                &format!("{}/api/v1", server.url),
                &dev.token,
                &body,
            )
            .await,
        )
        .await;
    assert_eq!(
        (status, &answer["results"][0]["status"]),
        (200, &json!("accepted")),
        "{answer}"
    );
    let (_, view) = hq.get(&format!("/records/{}", odd.id)).await;
    assert_eq!(codes(&view), Vec::<String>::new(), "{view}");
    let (_, view) = hq.get(&format!("/records/{}", skewed.id)).await;
    assert_eq!(codes(&view), ["device_clock"], "{view}");
}

async fn a_burst_of_backdated_records_is_flagged_and_a_few_are_not(backend: Backend) {
    let server = TestServer::start(backend).await;
    let typist = server.raw_device(SAWAN, "80000001").await;
    let careful = server.raw_device(SAWAN, "80000002").await;
    let backdated = |dev: &RawDevice, days: i64| {
        let mut r = sample_record(SAWAN, &dev.officer, &format!("Sambang {days} hari lalu"));
        r.started_at = Some(r.captured_at - SignedDuration::from_hours(24 * days));
        doc_of(dev, &r)
    };
    // A week typed in at once by one officer; four late records by another, and one on time.
    let mut week: Vec<RecordDoc> = (2..=7).map(|d| backdated(&typist, d)).collect();
    push(&server, &typist, &mut week, Timestamp::now()).await;
    let mut few: Vec<RecordDoc> = (2..=5).map(|d| backdated(&careful, d)).collect();
    few.push(doc_of(
        &careful,
        &sample_record(SAWAN, "80000002", "Tepat waktu"),
    ));
    push(&server, &careful, &mut few, Timestamp::now()).await;
    let hq = server.hq(&server
        .hq_token("bali/buleleng", "Reviewer", "reviewer")
        .await);
    let burst_officers = |page: &Value| -> Vec<String> {
        let mut officers: Vec<String> = page["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["officer"].as_str().unwrap_or_default().to_owned())
            .collect();
        officers.sort();
        officers
    };
    let (_, page) = hq.get("/records?flag=backdated_burst&limit=100").await;
    assert_eq!(burst_officers(&page), vec!["80000001"; 6], "{page}");

    // A burst typed in over two pushes: the second flags the first push's records too, and
    // the careful officer's four stay unflagged while the typist's six keep theirs.
    let split = server.raw_device(SAWAN, "80000003").await;
    let mut first: Vec<RecordDoc> = (2..=4).map(|d| backdated(&split, d)).collect();
    push(&server, &split, &mut first, Timestamp::now()).await;
    let (_, page) = hq.get("/records?flag=backdated_burst&limit=100").await;
    assert_eq!(
        burst_officers(&page).len(),
        6,
        "three are not a burst yet: {page}"
    );
    let mut second: Vec<RecordDoc> = (8..=9).map(|d| backdated(&split, d)).collect();
    push(&server, &split, &mut second, Timestamp::now()).await;
    let (_, page) = hq.get("/records?flag=backdated_burst&limit=100").await;
    let mut expected = vec!["80000001"; 6];
    expected.extend(["80000003"; 5]);
    assert_eq!(burst_officers(&page), expected, "{page}");
    let flagged = page["records"].as_array().expect("records");
    let id = flagged
        .iter()
        .find(|r| r["officer"] == "80000001")
        .and_then(|r| r["id"].as_str())
        .expect("a typist's record");
    let (_, view) = hq.get(&format!("/records/{id}")).await;
    assert_eq!(view["flags"][0]["amount"], 6.0, "{view}");
    assert!(
        view["flags"][0]["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("6 catatan mundur tanggal")),
        "{view}"
    );
}

/// More back-dated records in one push than one statement holds (flags are written 36 to a
/// statement, neighbours read 50 points to one), then one more record that is in a burst only
/// with its neighbours from that push.
async fn a_burst_larger_than_a_statement_is_flagged_whole(backend: Backend) {
    let server = TestServer::start(backend).await;
    let typist = server.raw_device(SAWAN, "80000001").await;
    let backdated = |days: i64| {
        let mut r = sample_record(SAWAN, &typist.officer, &format!("Sambang {days} hari lalu"));
        r.started_at = Some(r.captured_at - SignedDuration::from_hours(24 * days));
        doc_of(&typist, &r)
    };
    let hq = server.hq(&server
        .hq_token("bali/buleleng", "Reviewer", "reviewer")
        .await);
    let flagged = |page: &Value| page["records"].as_array().expect("records").len();

    let mut many: Vec<RecordDoc> = (2..=81).map(backdated).collect();
    push(&server, &typist, &mut many, Timestamp::now()).await;
    let (_, page) = hq.get("/records?flag=backdated_burst&limit=100").await;
    assert_eq!(flagged(&page), 80, "{page}");
    let id = page["records"][0]["id"].as_str().expect("a flagged record");
    let (_, view) = hq.get(&format!("/records/{id}")).await;
    assert_eq!(view["flags"][0]["amount"], 80.0, "{view}");

    let mut late = vec![backdated(90)];
    push(&server, &typist, &mut late, Timestamp::now()).await;
    let (_, page) = hq.get("/records?flag=backdated_burst&limit=100").await;
    assert_eq!(
        flagged(&page),
        81,
        "the last record joins the burst: {page}"
    );
}
