//! A record the caller may not see is, on every path, indistinguishable from one that does not
//! exist: reading, reviewing, pushing a batch or one record's changes, asking for an original.
//! And a device enrolled for its officer's own records is held to them on every path, not only
//! in the pull feed.

use bukti_core::{RecordDoc, RecordId};
use bukti_tests::{Backend, RawDevice, TestServer, both_stores, changes_b64};
use serde_json::{Value, json};

both_stores!(
    unseen_records_look_exactly_like_missing_ones,
    own_records_only_devices_are_held_to_them_everywhere,
);

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";

/// A record created by `owner`'s device and stored on the server, with its document.
async fn stored_record(server: &TestServer, owner: &RawDevice, title: &str) -> RecordDoc {
    let mut doc = unpushed(owner, title);
    let id = doc.read().expect("record").id;
    let (status, body) = server
        .device_post(
            &owner.token,
            "/sync/push",
            &json!({"records": [{"id": id.to_string(), "changes": changes_b64(&mut doc, &[])}]}),
        )
        .await;
    assert_eq!(body["results"][0]["status"], "accepted", "{status} {body}");
    doc
}

/// A record of the same shape that the server has never seen.
fn unpushed(owner: &RawDevice, title: &str) -> RecordDoc {
    owner.record_doc(title)
}

/// The probes an outsider can make against a record id, each answered as (status, body) with
/// the id itself blanked out, so that two ids' answers can be compared.
async fn probe(
    server: &TestServer,
    outsider: &RawDevice,
    reviewer: &str,
    doc: &mut RecordDoc,
) -> Vec<(String, u16, String)> {
    let id = doc.read().expect("record").id;
    let heads = doc.heads();
    // The outsider edits as itself, as a real attacker's device would.
    doc.automerge().set_actor(outsider.actor.clone());
    doc.edit(&format!("officer:{}", outsider.officer), |r| {
        r.title = "Diubah orang lain".into();
    })
    .expect("edit");
    let edit_only = changes_b64(doc, &heads);
    let whole = changes_b64(doc, &[]);
    let hash = "a".repeat(64);
    let hq = server.hq(reviewer);
    let mut out = Vec::new();
    let mut note = |what: &str, status: u16, body: Value| {
        out.push((
            what.to_owned(),
            status,
            body.to_string().replace(&id.to_string(), "<id>"),
        ));
    };
    let (s, b) = hq.get(&format!("/records/{id}")).await;
    note("HQ read", s, b);
    let (s, b) = server
        .hq(&outsider.token)
        .get(&format!("/records/{id}"))
        .await;
    note("device read", s, b);
    let (s, b) = hq
        .post(&format!("/records/{id}/review"), &json!({"comment": "Cek"}))
        .await;
    note("review", s, b);
    let (s, b) = hq
        .post(&format!("/records/{id}/photos/{hash}/original"), &json!({}))
        .await;
    note("request original", s, b);
    for (what, changes) in [("edit only", &edit_only), ("whole history", &whole)] {
        let (s, b) = server
            .device_post(
                &outsider.token,
                "/sync/push",
                &json!({"records": [{"id": id.to_string(), "changes": changes}]}),
            )
            .await;
        note(&format!("push, {what}"), s, b);
        let (s, b) = server
            .device_post(
                &outsider.token,
                &format!("/records/{id}/changes"),
                &json!({ "changes": changes }),
            )
            .await;
        note(&format!("record changes, {what}"), s, b);
    }
    out
}

async fn unseen_records_look_exactly_like_missing_ones(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.raw_device(SAWAN, "87010001").await;
    let outsider = server.raw_device(GEROKGAK, "87020001").await;
    let reviewer = server
        .hq_token(GEROKGAK, "Kapolsek Gerokgak", "reviewer")
        .await;

    let mut existing = stored_record(&server, &owner, "Milik Sawan").await;
    let mut missing = unpushed(&owner, "Milik Sawan");
    let seen = probe(&server, &outsider, &reviewer, &mut existing).await;
    let unseen = probe(&server, &outsider, &reviewer, &mut missing).await;
    for (a, b) in seen.iter().zip(&unseen) {
        assert_eq!(
            a, b,
            "{}: an existing record answers unlike a missing one",
            a.0
        );
        assert!(a.1 >= 400 || a.2.contains("rejected"), "{a:?} was allowed");
    }
    // The owner's record is untouched.
    let id = existing.read().expect("record").id;
    let (status, view) = server.hq(&owner.token).get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["record"]["title"], "Milik Sawan");
    server.finish().await;
}

async fn own_records_only_devices_are_held_to_them_everywhere(backend: Backend) {
    let server = TestServer::start(backend).await;
    let colleague = server.raw_device(SAWAN, "87010001").await;
    let own = server.raw_device_for(SAWAN, "87010009", true).await;
    let reviewer = server.hq_token(SAWAN, "Kapolsek Sawan", "reviewer").await;

    let mut theirs = stored_record(&server, &colleague, "Catatan rekan").await;
    let mut never = unpushed(&colleague, "Catatan rekan");
    // Every probe of the colleague's record answers as for a record that does not exist.
    let seen = probe(&server, &own, &reviewer, &mut theirs).await;
    let unseen = probe(&server, &own, &reviewer, &mut never).await;
    for ((what, status, body), unseen) in seen.iter().zip(&unseen) {
        if what.starts_with("HQ") || what.starts_with("review") || what.starts_with("request") {
            continue; // the Polsek's reviewer may see the colleague's record
        }
        assert_eq!(
            (what, status, body),
            (&unseen.0, &unseen.1, &unseen.2),
            "{what}"
        );
    }
    let id: RecordId = theirs.read().expect("record").id;
    let (status, view) = server.hq(&reviewer).get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view["record"]["title"], "Catatan rekan",
        "the edit did not land"
    );
    let (_, page) = server.hq(&own.token).get("/sync/pull?since=0").await;
    assert_eq!(page["records"].as_array().map(Vec::len), Some(0), "{page}");

    // Its own records work as before.
    let mut mine = stored_record(&server, &own, "Catatan sendiri").await;
    let mine_id = mine.read().expect("record").id;
    let (status, _) = server
        .hq(&own.token)
        .get(&format!("/records/{mine_id}"))
        .await;
    assert_eq!(status, 200);
    let heads = mine.heads();
    mine.edit("officer:87010009", |r| r.place = "Pos Sawan".into())
        .expect("edit");
    let (status, body) = server
        .device_post(
            &own.token,
            &format!("/records/{mine_id}/changes"),
            &json!({ "changes": changes_b64(&mut mine, &heads) }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    server.finish().await;
}
