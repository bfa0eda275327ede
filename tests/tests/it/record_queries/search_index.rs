//! The full-text index follows pushes and the projection's rebuild.

use bukti_tests::changes_b64;
use serde_json::json;

use super::*;

both_stores!(
    the_search_index_follows_pushes_and_the_rebuild,
    a_large_batch_of_new_and_edited_records_is_indexed_once_each,
);

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
        // It indexes the text without keeping a copy of it (migration 0017).
        server
            .execute_sql("select count(*) from record_fts_content")
            .await
            .expect_err("the search index stores no content table");
    }
    server.finish().await;
}

/// A batch over many statements' worth of rows (SQLite writes the index last, deleting the rows
/// of records already stored and only theirs): every record is found once by its own word, an
/// edited record no longer by its old one.
async fn a_large_batch_of_new_and_edited_records_is_indexed_once_each(backend: Backend) {
    let server = TestServer::start(backend).await;
    let device = server.raw_device(SAWAN, "87010001").await;
    let push = async |docs: &mut [(bukti_core::RecordDoc, Vec<_>)]| {
        let records: Vec<_> = docs
            .iter_mut()
            .map(|(doc, since)| {
                let id = doc.read().expect("record").id.to_string();
                json!({"id": id, "changes": changes_b64(doc, since)})
            })
            .collect();
        let (_, answer) = server
            .device_post(&device.token, "/sync/push", &json!({"records": records}))
            .await;
        let results = answer["results"].as_array().expect("results");
        assert_eq!(results.len(), docs.len(), "{answer}");
        assert!(
            results.iter().all(|r| r["status"] == "accepted"),
            "{answer}"
        );
        for (doc, since) in docs.iter_mut() {
            *since = doc.heads();
        }
    };
    let mut docs: Vec<_> = (0..150)
        .map(|i| {
            (
                device.record_doc(&format!("Sambang lama{i:03}")),
                Vec::new(),
            )
        })
        .collect();
    push(&mut docs).await;
    for (i, (doc, _)) in docs.iter_mut().enumerate().take(120) {
        doc.edit("officer:87010001", |r| {
            r.title = format!("Sambang baru{i:03}");
        })
        .expect("edit");
    }
    docs.extend((150..230).map(|i| {
        (
            device.record_doc(&format!("Sambang baru{i:03}")),
            Vec::new(),
        )
    }));
    // 120 edited, 80 new: the 30 untouched records have nothing new to send.
    docs.drain(120..150);
    push(&mut docs).await;
    let admin = server.admin_token.clone();
    let found = async |q: String| ids(&server, &admin, &[("q", &q)]).await.len();
    for i in 0..230 {
        let (old, new) = match i {
            0..120 => (0, 1),
            120..150 => (1, 0),
            _ => (0, 1),
        };
        assert_eq!(found(format!("lama{i:03}")).await, old, "lama{i:03}");
        assert_eq!(found(format!("baru{i:03}")).await, new, "baru{i:03}");
    }
    if backend == Backend::Sqlite {
        server
            .execute_sql("insert into record_fts(record_fts) values('integrity-check')")
            .await
            .expect("FTS5 integrity");
    }
    server.finish().await;
}
