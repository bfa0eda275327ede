//! The store's streamed batch write (`EvidenceStore::write_stream`), on both stores: ingest
//! sends a batch's writes chunk by chunk as they are merged, and the batch must still land as
//! one transaction. Nothing of it is visible or loadable before it is whole, it lands in the
//! order sent with a conflict answered in its place, a stream abandoned after some of it was
//! written leaves nothing (rows, feed positions, search terms) and releases the writers' lock,
//! and documents load beside a stream that holds that lock.

use bukti_core::{RecordId, unit::UnitPath};
use bukti_server::store::{
    DynStore, ListFilter, RecordWrite, StoreError, WriteChunk, WriteOutcome,
};
use bukti_tests::{Backend, TestServer, both_stores};
use tokio::sync::mpsc;

use crate::record_queries::{new_write, record, store_records};

both_stores!(
    a_streamed_batch_lands_whole_in_order,
    an_abandoned_stream_leaves_nothing,
);

const SAWAN: &str = "bali/buleleng/sawan";

/// `n` new records' writes whose titles all hold `word`.
fn writes(word: &str, n: usize) -> Vec<RecordWrite> {
    (0..n)
        .map(|i| {
            new_write(&record(
                SAWAN,
                "87010001",
                "sambang",
                &format!("Sambang {word} {i}"),
                "Balai Banjar",
                "",
            ))
        })
        .collect()
}

fn ids(writes: &[RecordWrite]) -> Vec<RecordId> {
    writes.iter().map(|w| w.id).collect()
}

/// The ids HQ finds under `bali` by the search word `q`.
async fn found(store: &DynStore, q: &str) -> Vec<RecordId> {
    let filter = ListFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    let scope = UnitPath::parse("bali").expect("unit");
    let page = store.list(&scope, &filter).await.expect("list");
    page.records.into_iter().map(|r| r.id).collect()
}

/// The feed under `bali` after position `since`: ids and positions, in order.
async fn feed_after(store: &DynStore, since: i64) -> Vec<(RecordId, i64)> {
    let scope = UnitPath::parse("bali").expect("unit");
    let feed = store.feed(&scope, None, since, 1000).await.expect("feed");
    feed.into_iter().map(|f| (f.id, f.seq)).collect()
}

/// Waits until the store has taken every chunk sent.
async fn drained(send: &mpsc::Sender<WriteChunk>) {
    while send.capacity() < send.max_capacity() {
        tokio::task::yield_now().await;
    }
}

async fn last_position(store: &DynStore) -> i64 {
    feed_after(store, 0).await.last().map_or(0, |(_, seq)| *seq)
}

async fn a_streamed_batch_lands_whole_in_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let store = server.store.clone();
    let stored = store_records(
        &server,
        &[record(SAWAN, "87010001", "sambang", "Sudah ada", "", "")],
    )
    .await[0];
    let before = last_position(&store).await;

    let first = writes("pertama", 3);
    let mut second = writes("kedua", 2);
    // A write naming a version the stored record no longer has: a conflict, in its place.
    let mut stale = writes("basi", 1).remove(0);
    stale.id = stored;
    stale.expected_version = Some(7);
    second.insert(1, stale);
    let third = writes("ketiga", 2);

    let (send, chunks) = mpsc::channel(4);
    let writing = tokio::spawn({
        let store = store.clone();
        async move { store.write_stream(chunks).await }
    });
    send.send(WriteChunk::Writes(first.clone()))
        .await
        .expect("send");
    send.send(WriteChunk::Writes(second.clone()))
        .await
        .expect("send");
    // Once the store has taken the first chunks, look from outside the transaction: nothing of
    // the batch shows, and documents still load beside it.
    drained(&send).await;
    assert!(found(&store, "pertama").await.is_empty());
    assert_eq!(feed_after(&store, before).await, Vec::new());
    let loaded = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.load_documents(&[stored, first[0].id]),
    )
    .await
    .expect("documents load while a batch streams")
    .expect("load");
    assert_eq!(loaded.keys().copied().collect::<Vec<_>>(), vec![stored]);

    send.send(WriteChunk::Writes(third.clone()))
        .await
        .expect("send");
    send.send(WriteChunk::Done).await.expect("send");
    let outcomes = writing.await.expect("task").expect("stream written");
    let mut expected = vec![WriteOutcome::Written; 8];
    expected[4] = WriteOutcome::Conflict;
    assert_eq!(outcomes, expected);

    let landed: Vec<RecordId> = [ids(&first), ids(&second), ids(&third)]
        .concat()
        .into_iter()
        .filter(|id| *id != stored)
        .collect();
    let feed = feed_after(&store, before).await;
    assert_eq!(feed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), landed);
    assert!(feed.windows(2).all(|w| w[0].1 < w[1].1), "{feed:?}");
    for (word, chunk) in [("pertama", &first), ("ketiga", &third)] {
        let mut hits = found(&store, word).await;
        hits.sort();
        let mut want = ids(chunk);
        want.sort();
        assert_eq!(hits, want, "{word}");
    }
    assert_eq!(found(&store, "kedua").await.len(), 2);
    assert!(
        found(&store, "basi").await.is_empty(),
        "a conflict is not indexed"
    );
    let kept = store.load_documents(&[stored]).await.expect("load");
    assert_eq!(
        kept[&stored].version, 1,
        "the conflicting write left the record as it was"
    );

    // A batch with nothing to write takes no lock and answers nothing.
    let (send, chunks) = mpsc::channel(1);
    send.send(WriteChunk::Done).await.expect("send");
    assert_eq!(store.write_stream(chunks).await.expect("empty"), Vec::new());
    server.finish().await;
}

async fn an_abandoned_stream_leaves_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let store = server.store.clone();
    let before = last_position(&store).await;
    let lost = [writes("hilang", 3), writes("lenyap", 2)];

    let (send, chunks) = mpsc::channel(4);
    let writing = tokio::spawn({
        let store = store.clone();
        async move { store.write_stream(chunks).await }
    });
    // Each chunk sent once the store took the last: it takes the next only after writing the
    // last, so the first is written inside the transaction when the second is taken.
    for chunk in &lost {
        send.send(WriteChunk::Writes(chunk.clone()))
            .await
            .expect("send");
        drained(&send).await;
    }
    // The merging side fails: its sender goes away before `Done`.
    drop(send);
    let answer = writing.await.expect("task");
    assert!(matches!(answer, Err(StoreError::Abandoned)), "{answer:?}");

    let all: Vec<RecordId> = lost.iter().flat_map(|c| ids(c)).collect();
    assert!(store.load_documents(&all).await.expect("load").is_empty());
    assert!(found(&store, "hilang").await.is_empty());
    assert!(found(&store, "lenyap").await.is_empty());
    assert_eq!(feed_after(&store, before).await, Vec::new());

    // The writers' lock went with it: the next batch lands, right after the last position.
    let next = writes("berikut", 2);
    let outcomes = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.write_records(next.clone()),
    )
    .await
    .expect("the lock was released")
    .expect("write");
    assert_eq!(outcomes, vec![WriteOutcome::Written; 2]);
    assert_eq!(
        feed_after(&store, before).await,
        vec![(next[0].id, before + 1), (next[1].id, before + 2)]
    );
    server.finish().await;
}
