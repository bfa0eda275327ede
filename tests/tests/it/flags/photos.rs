//! Photo flags: a photo offered again or mirrored is flagged on both records, and a display
//! copy that is not the one its record claims is flagged.

use super::*;

both_stores!(
    a_photo_offered_again_or_mirrored_is_flagged_on_both_records,
    a_display_copy_that_is_not_the_one_claimed_is_flagged,
);

/// The flags of `code` on the record `id`, as `(photo, note)`.
async fn flagged(hq: &bukti_tests::Hq, id: &str, code: &str) -> Vec<(String, String)> {
    let (status, view) = hq.get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    view["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (text("photo"), text("note"))
        })
        .collect()
}

async fn a_photo_offered_again_or_mirrored_is_flagged_on_both_records(backend: Backend) {
    use bukti_core::device::PhotoInput;
    let server = TestServer::start(backend).await;
    let scene = bukti_tests::fixture("scene.jpg");
    // One officer offers the same photo for two activities.
    let first = server.device(SAWAN, "87010123").await;
    let a = first
        .device
        .capture_with_photos(
            bukti_tests::visit("Sambang Senin".into()),
            vec![PhotoInput::camera(&scene)],
        )
        .await
        .expect("capture");
    let b = first
        .device
        .capture_with_photos(
            bukti_tests::visit("Sambang Selasa".into()),
            vec![PhotoInput::camera(&scene)],
        )
        .await
        .expect("capture");
    first.sync().await;
    // Another sends it mirrored from the gallery, and a photo of its own.
    let work = tempfile::tempdir().expect("a folder");
    let mirrored = work.path().join("mirrored.jpg");
    image::open(&scene)
        .expect("the scene decodes")
        .fliph()
        .save(&mirrored)
        .expect("the mirror saves");
    let second = server.device(SAWAN, "87010124").await;
    let c = second
        .device
        .capture_with_photos(
            bukti_tests::visit("Sambang Rabu".into()),
            vec![PhotoInput::gallery(&mirrored)],
        )
        .await
        .expect("capture");
    let own = second
        .device
        .capture_with_photos(
            bukti_tests::visit("Sambang Kamis".into()),
            vec![PhotoInput::camera(bukti_tests::fixture("photo.png"))],
        )
        .await
        .expect("capture");
    second.sync().await;

    let hq = server.hq(&server
        .hq_token("bali/buleleng", "Reviewer", "reviewer")
        .await);
    let (a, b, c, own) = (a.to_string(), b.to_string(), c.to_string(), own.to_string());
    let notes = |flags: Vec<(String, String)>| -> Vec<String> {
        let mut n: Vec<String> = flags.into_iter().map(|(_, note)| note).collect();
        n.sort();
        n.dedup();
        n
    };
    let mut both = vec![b.clone(), c.clone()];
    both.sort();
    assert_eq!(
        notes(flagged(&hq, &a, "photo_reused").await),
        both,
        "A: the same photo in B, its mirror in C"
    );
    let mut both = vec![a.clone(), c.clone()];
    both.sort();
    assert_eq!(notes(flagged(&hq, &b, "photo_reused").await), both);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(
        notes(flagged(&hq, &c, "photo_reused").await),
        both,
        "C: a mirror of A's and B's"
    );
    assert_eq!(flagged(&hq, &c, "gallery_import").await.len(), 1);
    for code in ["photo_reused", "photo_similar", "photo_mismatch"] {
        assert_eq!(
            flagged(&hq, &own, code).await,
            vec![],
            "{code} on a photo of its own"
        );
    }
    assert_eq!(
        flagged(&hq, &a, "photo_mismatch").await,
        vec![],
        "an honest display copy"
    );
    let (_, page) = hq.get("/records?flag=photo_reused").await;
    assert_eq!(
        titles(&page),
        ["Sambang Rabu", "Sambang Selasa", "Sambang Senin"]
    );
}

async fn a_display_copy_that_is_not_the_one_claimed_is_flagged(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dev = server.raw_device(SAWAN, "80000001").await;
    // The record claims a 1600×1200 display copy; the bytes sent under that hash are the
    // 640×480 scene, so their hash matches (the upload is accepted) but not the claim.
    let bytes = std::fs::read(bukti_tests::fixture("scene.jpg")).expect("the scene");
    let display = bukti_core::evidence::sha256_hex(&bytes);
    let mut record = sample_record(SAWAN, "80000001", "Foto tertukar");
    record.photos.insert(
        PHOTO.into(),
        PhotoRef {
            size: 2_000_000,
            content_type: "image/jpeg".into(),
            source: "camera".into(),
            camera: "samsung SM-A045F".into(),
            derivative: Some(bukti_core::record::Rendition {
                hash: display.clone(),
                size: bytes.len() as u64,
                width: 1600,
                height: 1200,
            }),
            ..PhotoRef::default()
        },
    );
    push(
        &server,
        &dev,
        &mut [doc_of(&dev, &record)],
        Timestamp::now(),
    )
    .await;
    let resp = reqwest::Client::new()
        .patch(format!("{}/api/v1/blobs/{display}", server.url))
        .bearer_auth(&dev.token)
        .header("upload-offset", "0")
        .header("upload-length", bytes.len().to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(bytes.clone())
        .send()
        .await
        .expect("PATCH");
    assert!(resp.status().is_success(), "{}", resp.status());
    let hq = server.hq(&server
        .hq_token("bali/buleleng", "Reviewer", "reviewer")
        .await);
    let found = flagged(&hq, &record.id.to_string(), "photo_mismatch").await;
    assert_eq!(found, [(PHOTO.to_owned(), "display copy size".to_owned())]);
}
