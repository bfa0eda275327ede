//! Capturing with photos against the device store, without a server: atomicity, bad photos,
//! an unwritable photo folder, status and pruning bookkeeping.

use tempfile::TempDir;

use crate::device::{Capture, Device, DeviceError, PhotoInput, tests::device};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../tests/fixtures/photos/{name}"))
}

fn capture() -> Capture {
    Capture {
        kind: "sambang".into(),
        title: "Sambang dengan foto".into(),
        ..Capture::default()
    }
}

fn photo_files(home: &TempDir) -> usize {
    walk(&home.path().join("photos"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

#[tokio::test]
async fn a_capture_keeps_the_photo_reference_and_its_three_files() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let original = std::fs::read(fixture("scene.jpg")).expect("fixture");
    let id = d
        .capture_with_photos(
            capture(),
            vec![
                PhotoInput::camera(fixture("scene.jpg")),
                PhotoInput::gallery(fixture("orient-6.jpg")),
            ],
        )
        .await
        .expect("capture");
    let record = d.record(id).await.expect("read").expect("stored");
    assert_eq!(record.photos.len(), 2);
    let hash = crate::photo::sha256_hex(&original);
    let photo = &record.photos[&hash];
    assert_eq!(photo.source, "camera");
    assert_eq!(photo.size, original.len() as u64);
    assert_eq!(photo.camera, "samsung SM-A045F");
    let derivative = photo.derivative.as_ref().expect("derivative");
    // The original is stored byte for byte under its hash; renditions under theirs.
    assert_eq!(
        std::fs::read(d.files.path(&hash)).expect("original"),
        original
    );
    let stored = std::fs::read(d.files.path(&derivative.hash)).expect("derivative");
    assert_eq!(crate::photo::sha256_hex(&stored), derivative.hash);
    // 640 × 480 makes two renditions; 64 × 48 is its own thumbnail (one shared file).
    assert_eq!(photo_files(&home), 5);

    let status = d.status().await.expect("status").photos;
    assert_eq!(status.renditions_waiting, 3);
    assert_eq!(status.originals_kept, 2);
    assert_eq!(
        status.originals_requested, 0,
        "originals wait for HQ to ask"
    );
    let waiting = d.store.blobs_to_upload(false).await.expect("uploads");
    assert_eq!(waiting.len(), 3);
    assert_eq!(d.store.blobs_to_upload(true).await.expect("all").len(), 5);

    // Nothing to prune yet: originals are within retention, nothing is confirmed.
    assert_eq!(d.prune_photos().await.expect("prune"), 0);
}

#[tokio::test]
async fn a_bad_photo_refuses_the_whole_capture() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    for bad in [
        "not-an-image.jpg",
        "truncated.jpg",
        "bomb.png",
        "iphone.heic",
        "missing.jpg",
    ] {
        let err = d
            .capture_with_photos(
                capture(),
                vec![
                    PhotoInput::camera(fixture("scene.jpg")),
                    PhotoInput::camera(fixture(bad)),
                ],
            )
            .await
            .expect_err(bad);
        assert!(
            matches!(
                err,
                DeviceError::Photo { .. } | DeviceError::PhotoFile { .. }
            ),
            "{bad}: {err}"
        );
        assert!(
            err.to_string().contains(bad),
            "the message names the file: {err}"
        );
    }
    assert!(d.list().await.expect("list").is_empty());
    assert_eq!(
        photo_files(&home),
        0,
        "processing fails before any file is written"
    );
}

#[tokio::test]
async fn a_crash_between_the_files_and_the_commit_leaves_nothing_visible() {
    let home = TempDir::new().expect("tempdir");
    let mut d = device(&home).await;
    d.fail_before_commit = true;
    d.capture_with_photos(capture(), vec![PhotoInput::camera(fixture("scene.jpg"))])
        .await
        .expect_err("simulated crash");
    d.close().await;

    let d = Device::open(home.path()).await.expect("reopen");
    assert!(d.list().await.expect("list").is_empty());
    assert_eq!(d.photo_status().await.expect("status"), Default::default());
    // The files are unreferenced leftovers: invisible, and pruning removes them once they are
    // too old to belong to a capture still in progress.
    assert_eq!(photo_files(&home), 3);
}

#[tokio::test]
async fn an_unwritable_photo_folder_refuses_the_capture_cleanly() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    // A file where the folder should be: refused even for root, unlike permission bits.
    std::fs::write(home.path().join("photos"), b"in the way").expect("block");
    let err = d
        .capture_with_photos(capture(), vec![PhotoInput::camera(fixture("scene.jpg"))])
        .await
        .expect_err("unwritable");
    assert!(matches!(err, DeviceError::PhotoStore { .. }), "{err}");
    assert!(err.to_string().contains("free space"), "{err}");
    assert!(d.list().await.expect("list").is_empty());
    // Other work is unaffected.
    d.capture(capture())
        .await
        .expect("a capture without photos still works");
}

#[tokio::test]
async fn an_edit_attaches_a_photo() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    let id = d.capture(capture()).await.expect("capture");
    let changed = d
        .edit_with_photos(id, vec![PhotoInput::camera(fixture("photo.png"))], |_| {})
        .await
        .expect("edit");
    assert!(changed);
    let record = d.record(id).await.expect("read").expect("stored");
    let photo = record.photos.values().next().expect("a photo");
    assert_eq!(photo.content_type, "image/png");
    // 120 × 90: derivative and thumbnail are the same bytes, one file.
    assert_eq!(
        d.photo_status().await.expect("status").renditions_waiting,
        1
    );
}

#[tokio::test]
async fn retention_is_a_setting() {
    let home = TempDir::new().expect("tempdir");
    let d = device(&home).await;
    assert_eq!(d.photo_retention_days().await.expect("days"), 90);
    d.set_photo_retention_days(7).await.expect("set");
    assert_eq!(d.photo_retention_days().await.expect("days"), 7);
}
