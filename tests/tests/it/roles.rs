//! Every role does exactly its part, inside its unit's subtree only, on both stores: the
//! permission matrix over real HTTP with real sessions, scope by id, filter and feed, the
//! own-records-only device setting, comment authorship, and moving units.

use bukti_tests::{Backend, TestServer, both_stores, patrol, people::Web, visit};
use serde_json::{Value, json};

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";

/// What each role may do; (role, comment, verdict, enroll, add person, add unit, devices, audit).
const MATRIX: [(&str, [bool; 7]); 6] = [
    ("officer", [false, false, false, false, false, false, false]),
    ("operator", [true, false, false, false, false, false, false]),
    ("approver", [true, false, true, false, false, true, false]),
    ("reviewer", [true, true, false, false, false, false, false]),
    ("viewer", [false, false, false, false, false, false, false]),
    ("admin", [true, true, true, true, true, true, true]),
];

fn allowed(status: u16) -> bool {
    match status {
        200 | 201 => true,
        403 => false,
        other => panic!("expected 2xx or 403, got {other}"),
    }
}

async fn attempts(web: &Web, record: &str, i: usize) -> [bool; 7] {
    let review = format!("/records/{record}/review");
    let (comment, _) = web
        .post(&review, &json!({"comment": "Cek ulang foto"}))
        .await;
    let (verdict, _) = web.post(&review, &json!({"verdict": "valid"})).await;
    let (enroll, _) = web
        .post("/enrollments", &json!({"officer": "87010001"}))
        .await;
    let person = json!({
        "nrp": format!("8709000{i}"), "name": "Briptu Baru", "rank": "Briptu", "unit": SAWAN,
        "roles": ["officer"],
    });
    let (add_person, _) = web.post("/people", &person).await;
    let unit =
        json!({"path": format!("{SAWAN}/unit-{i}"), "name": "Unit Reskrim", "kind": "section"});
    let (add_unit, _) = web.post("/units", &unit).await;
    let (devices, _) = web.get("/devices").await;
    let (audit, _) = web.get("/audit").await;
    [
        comment, verdict, enroll, add_person, add_unit, devices, audit,
    ]
    .map(allowed)
}

async fn every_role_does_exactly_its_part(backend: Backend) {
    let server = TestServer::start(backend).await;
    let phone = server.device(SAWAN, "87010001").await;
    let record = phone
        .device
        .capture(visit("Sambang Sawan".into()))
        .await
        .expect("capture");
    phone.sync().await;
    // Verdicts are given on records the Polsek forwarded (the workflow's own refusals are in
    // review_workflow.rs).
    server.forward(record).await;
    let record = record.to_string();
    for (i, (role, expected)) in MATRIX.iter().enumerate() {
        let nrp = format!("8708000{i}");
        server.person(SAWAN, &nrp, &[role]).await;
        let web = server.web(&nrp).await;
        let (s, page) = web.get("/records").await;
        assert_eq!(s, 200, "{role} reads records");
        assert_eq!(page["records"][0]["id"], record.as_str(), "{role}: {page}");
        assert_eq!(&attempts(&web, &record, i).await, expected, "{role}");
    }
    // Comments carry their author; the verdict its reviewer.
    let (_, view) = server
        .hq(&server.admin_token)
        .get(&format!("/records/{record}"))
        .await;
    let review = &view["record"]["review"];
    let authors: Vec<&str> = review["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|c| c["author"].as_str())
        .collect();
    assert_eq!(
        authors,
        [
            "Person 87080001",
            "Person 87080002",
            "Person 87080003",
            "Person 87080005"
        ],
        "{review}"
    );
    assert_eq!(review["verdict_by"], "Person 87080005", "{review}");
    server.finish().await;
}
both_stores!(every_role_does_exactly_its_part);

async fn each_unit_sees_only_its_subtree(backend: Backend) {
    let server = TestServer::start(backend).await;
    let sawan = server.device(SAWAN, "87010001").await;
    let colleague = server.device(SAWAN, "87010002").await;
    let gerokgak = server.device(GEROKGAK, "87020001").await;
    let ours = sawan
        .device
        .capture(patrol("Patroli Sawan"))
        .await
        .expect("capture");
    let theirs = gerokgak
        .device
        .capture(patrol("Patroli Gerokgak"))
        .await
        .expect("capture");
    colleague
        .device
        .capture(patrol("Patroli rekan"))
        .await
        .expect("capture");
    for d in [&sawan, &colleague, &gerokgak] {
        d.sync().await;
    }
    server.person(SAWAN, "87050001", &["reviewer"]).await;
    server
        .person("bali/buleleng", "87040001", &["reviewer"])
        .await;
    let polsek = server.web("87050001").await;
    let polres = server.web("87040001").await;

    // By id: another unit's record answers exactly like one that does not exist.
    let (s_other, other) = polsek.get(&format!("/records/{theirs}")).await;
    let (s_none, none) = polsek
        .get(&format!("/records/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!((s_other, &other), (s_none, &none));
    assert_eq!(s_other, 404);
    let (s, _) = polres.get(&format!("/records/{theirs}")).await;
    assert_eq!(s, 200, "Polres sees all its Polsek");
    let (s, _) = polsek
        .post(
            &format!("/records/{theirs}/review"),
            &json!({"verdict": "valid"}),
        )
        .await;
    assert_eq!(s, 404, "nor can it be reviewed from outside");

    // By filter: asking for another unit yields nothing of it.
    let (s, page) = polsek.get(&format!("/records?unit={GEROKGAK}")).await;
    let leaked = page["records"].as_array().is_some_and(|r| !r.is_empty());
    assert!(s == 403 || (s == 200 && !leaked), "{s} {page}");
    let (_, page) = polres.get("/records").await;
    assert_eq!(page["records"].as_array().map(Vec::len), Some(3));

    // Through the feed: each device pulls its own unit only.
    let pulled = gerokgak.device.list().await.expect("list");
    assert!(
        pulled.iter().all(|r| r.id != ours),
        "Gerokgak pulled a Sawan record"
    );
    assert_eq!(colleague.device.list().await.expect("list").len(), 2);

    // A device enrolled for its officer's own records sees no colleague's.
    server.officer(SAWAN, "87010003").await;
    let (_, issued) = server
        .hq(&server.admin_token)
        .post(
            "/enrollments",
            &json!({"officer": "87010003", "own_records_only": true}),
        )
        .await;
    let home = tempfile::tempdir().expect("home");
    let own = bukti_core::device::Device::open(home.path())
        .await
        .expect("open");
    own.enroll(
        &server.url,
        issued["code"].as_str().expect("code"),
        "HP pribadi",
    )
    .await
    .expect("enroll");
    own.capture(patrol("Patroli sendiri"))
        .await
        .expect("capture");
    own.sync(&bukti_core::device::NoProgress)
        .await
        .expect("sync");
    let seen: Vec<String> = own
        .list()
        .await
        .expect("list")
        .iter()
        .map(|r| r.title.clone())
        .collect();
    assert_eq!(seen, ["Patroli sendiri"]);
    server.finish().await;
}
both_stores!(each_unit_sees_only_its_subtree);

async fn units_move_and_records_keep_their_unit(backend: Backend) {
    let server = TestServer::start(backend).await;
    let tegal_asih = "bali/buleleng/busungbiu/tegal-asih";
    let phone = server.device(tegal_asih, "87030001").await;
    let id = phone
        .device
        .capture(patrol("Patroli Tegal Asih"))
        .await
        .expect("capture");
    phone.sync().await;
    let admin = server.hq(&server.admin_token);
    let (s, b) = admin
        .patch_json(&format!("/units/{tegal_asih}"), &json!({"parent": "bali"}))
        .await;
    assert_eq!(s, 400, "a Polsubsektor cannot sit under a Polda: {b}");
    let (s, moved) = admin
        .patch_json(
            &format!("/units/{tegal_asih}"),
            &json!({"parent": "bali/buleleng/banjar", "name": "Polsubsektor Tegal Asih (Banjar)"}),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["path"], "bali/buleleng/banjar/tegal-asih");
    let (_, people) = admin.get("/people").await;
    let officer = people
        .as_array()
        .and_then(|p| p.iter().find(|p| p["nrp"] == "87030001"))
        .expect("officer listed");
    assert_eq!(
        officer["unit"], "bali/buleleng/banjar/tegal-asih",
        "people follow their unit"
    );
    let (_, record) = admin.get(&format!("/records/{id}")).await;
    assert_eq!(
        record["record"]["unit"], tegal_asih,
        "the record keeps the unit it was captured in"
    );
    let (_, units) = admin.get("/units").await;
    let names: Vec<&Value> = units
        .as_array()
        .expect("units")
        .iter()
        .filter(|u| u["path"] == "bali/buleleng/banjar/tegal-asih")
        .map(|u| &u["name"])
        .collect();
    assert_eq!(names, [&json!("Polsubsektor Tegal Asih (Banjar)")]);
    server.finish().await;
}
both_stores!(units_move_and_records_keep_their_unit);
