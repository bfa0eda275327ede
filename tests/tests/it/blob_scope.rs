//! Content addressing is not a capability: a record naming another unit's (or another officer's)
//! photo hashes reaches none of their bytes. The claimer's device, its reviewers and the claiming
//! record see the photo as never uploaded (404 like an unknown hash, missing from byte 0, not
//! arrived) until the claimer's own device uploads those exact bytes; garbage for a claimed hash
//! is refused and opens nothing; nobody finishes or spoils someone else's upload; the owner and
//! its reviewers keep reading. On SQLite and PostgreSQL, with a local folder and with S3.

use crate::photos_common as common;

use bukti_tests::{Backend, RawDevice, TestServer, both_stores};
use common::{Blobs, Env, Photo, env, get_blob, head, missing, patch, push_record, sha, upload};
use serde_json::{Value, json};

both_stores!(
    a_claim_opens_nothing_until_the_bytes_are_proved,
    a_claim_never_touches_the_owners_upload,
    same_unit_claims_and_own_records_only_devices,
    a_claim_is_proved_on_s3,
);

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";
const CHUNK: usize = 16 * 1024;

/// A photo's three renditions: hash and bytes.
fn renditions(photo: &Photo) -> [(String, &[u8]); 3] {
    [
        (photo.key(), photo.original.as_slice()),
        (sha(&photo.derivative), photo.derivative.as_slice()),
        (sha(&photo.thumbnail), photo.thumbnail.as_slice()),
    ]
}

/// Status and JSON body of `GET /blobs/{hash}`.
async fn get_json(server: &TestServer, token: &str, hash: &str) -> (u16, Value) {
    bukti_tests::status_json(get_blob(server, token, hash).await).await
}

/// The bytes `token` reads for `hash`, asserting a 200.
async fn read(server: &TestServer, token: &str, hash: &str) -> Vec<u8> {
    let resp = get_blob(server, token, hash).await;
    assert_eq!(resp.status(), 200, "{hash}");
    resp.bytes().await.expect("blob").to_vec()
}

/// `(original, derivative, thumbnail)` arrived flags of the record's only photo, as `token` sees
/// the record.
async fn arrived(server: &TestServer, token: &str, id: &str) -> (bool, bool, bool) {
    let (status, view) = server.hq(token).get(&format!("/records/{id}")).await;
    assert_eq!(status, 200, "{view}");
    let p = &view["photos"][0];
    let flag = |k: &str| p[k].as_bool().unwrap_or_else(|| panic!("{k} in {view}"));
    (
        flag("original_arrived"),
        flag("derivative_arrived"),
        flag("thumbnail_arrived"),
    )
}

/// Asserts that `token` cannot read `hash` and that the refusal is exactly the one for a hash
/// nobody ever uploaded.
async fn refused_like_unknown(server: &TestServer, token: &str, hash: &str) {
    let unknown = get_json(server, token, &sha(b"never uploaded by anyone")).await;
    assert_eq!(unknown.0, 404, "{unknown:?}");
    assert_eq!(get_json(server, token, hash).await, unknown, "{hash}");
}

/// Asserts that for `device` every hash is missing from `offset` and none is known complete.
async fn missing_from(server: &TestServer, device: &RawDevice, hashes: &[String], offset: u64) {
    let (status, body) = missing(server, &device.token, hashes).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unknown"], json!([]), "{body}");
    let listed: Vec<(String, u64)> = body["missing"]
        .as_array()
        .expect("missing list")
        .iter()
        .map(|m| {
            let hash = m["hash"].as_str().expect("hash").to_owned();
            (hash, m["offset"].as_u64().expect("offset"))
        })
        .collect();
    let expected: Vec<(String, u64)> = hashes.iter().map(|h| (h.clone(), offset)).collect();
    assert_eq!(listed, expected, "{body}");
    for h in hashes {
        assert_eq!(
            head(server, &device.token, h).await,
            (200, Some(offset)),
            "{h}"
        );
    }
}

/// Sawan's officer captured and uploaded a photo; Gerokgak's device pushed a record naming all
/// three of its hashes. Returns the two devices, the photo and both record ids.
struct Claimed {
    owner: RawDevice,
    claimer: RawDevice,
    photo: Photo,
    owner_record: String,
    claim_record: String,
}

async fn claimed(server: &TestServer, seed: u8) -> Claimed {
    let owner = server.raw_device(SAWAN, "87010001").await;
    let claimer = server.raw_device(GEROKGAK, "87020002").await;
    let photo = Photo::new(seed, 40_000);
    let owner_record = push_record(server, &owner, &[&photo]).await;
    for (_, bytes) in renditions(&photo) {
        upload(server, &owner.token, bytes, CHUNK).await;
    }
    let claim_record = push_record(server, &claimer, &[&photo]).await;
    Claimed {
        owner,
        claimer,
        photo,
        owner_record,
        claim_record,
    }
}

async fn claim_then_garbage_then_proof(env: &Env) {
    let server = &env.server;
    let c = claimed(server, 41).await;
    let hashes: Vec<String> = renditions(&c.photo).map(|(h, _)| h).to_vec();
    let sawan_reviewer = server.hq_token(SAWAN, "Kapolsek Sawan", "reviewer").await;
    let polres_reviewer = server.hq_token("bali/buleleng", "Kasat", "reviewer").await;
    let gerokgak_reviewer = server.hq_token(GEROKGAK, "Kapolsek", "reviewer").await;

    // The claim reaches nothing: not the bytes, not "complete", not "arrived".
    for h in &hashes {
        refused_like_unknown(server, &c.claimer.token, h).await;
        refused_like_unknown(server, &gerokgak_reviewer, h).await;
    }
    missing_from(server, &c.claimer, &hashes, 0).await;
    let none = (false, false, false);
    assert_eq!(
        arrived(server, &gerokgak_reviewer, &c.claim_record).await,
        none
    );
    assert_eq!(
        arrived(server, &c.claimer.token, &c.claim_record).await,
        none
    );

    // HQ asking the claimer for the original reaches the claimer's device: it is not held there.
    let original = format!(
        "/records/{}/photos/{}/original",
        c.claim_record,
        c.photo.key()
    );
    let (status, _) = server
        .hq(&gerokgak_reviewer)
        .post(&original, &json!({}))
        .await;
    assert_eq!(status, 202);
    let (_, requested) = server.hq(&c.claimer.token).get("/blobs/requested").await;
    assert_eq!(requested["hashes"], json!([c.photo.key()]), "{requested}");

    // Garbage of the right length under a claimed hash: stored as the claimer's own upload,
    // refused once whole, and nothing opens.
    let d = &hashes[1];
    let total = c.photo.derivative.len() as u64;
    let garbage = common::bytes(99, c.photo.derivative.len());
    let (status, body) = patch(server, &c.claimer.token, d, 0, total, &garbage[..CHUNK]).await;
    assert_eq!((status, &body["complete"]), (200, &json!(false)), "{body}");
    missing_from(server, &c.claimer, std::slice::from_ref(d), CHUNK as u64).await;
    let (status, body) = patch(
        server,
        &c.claimer.token,
        d,
        CHUNK as u64,
        total,
        &garbage[CHUNK..],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("hash_mismatch")),
        "{body}"
    );
    refused_like_unknown(server, &c.claimer.token, d).await;
    missing_from(server, &c.claimer, &hashes, 0).await;

    // The owner and every reviewer above it read as before.
    for token in [&c.owner.token, &sawan_reviewer, &polres_reviewer] {
        for (h, bytes) in renditions(&c.photo) {
            assert_eq!(read(server, token, &h).await, bytes, "{h}");
        }
    }
    let all = (true, true, true);
    assert_eq!(arrived(server, &sawan_reviewer, &c.owner_record).await, all);

    // The claimer really has the photo: it uploads the bytes itself, they verify, and from then
    // on its record holds them legitimately.
    for (h, bytes) in renditions(&c.photo) {
        let (status, body) = patch(server, &c.claimer.token, &h, 0, bytes.len() as u64, &[]).await;
        assert_eq!(
            (status, &body["complete"]),
            (200, &json!(false)),
            "{h}: {body}"
        );
        upload(server, &c.claimer.token, bytes, CHUNK).await;
        assert_eq!(read(server, &c.claimer.token, &h).await, bytes);
        assert_eq!(read(server, &gerokgak_reviewer, &h).await, bytes);
        let len = bytes.len() as u64;
        assert_eq!(head(server, &c.claimer.token, &h).await, (200, Some(len)));
    }
    let (_, body) = missing(server, &c.claimer.token, &hashes).await;
    assert_eq!(body["missing"], json!([]), "{body}");
    let (_, requested) = server.hq(&c.claimer.token).get("/blobs/requested").await;
    assert_eq!(requested["hashes"], json!([]), "{requested}");
    assert_eq!(
        arrived(server, &gerokgak_reviewer, &c.claim_record).await,
        all
    );
    assert_eq!(
        read(server, &c.owner.token, &hashes[0]).await,
        c.photo.original
    );

    // One stored copy per hash; the proofs left nothing behind.
    match &env.s3 {
        Some(s3) => assert_eq!(s3.object_count(), 3),
        None => {
            let blobs = server.settings.data_dir.join("blobs");
            for h in &hashes {
                let copies = files(&blobs).iter().filter(|p| p.ends_with(h)).count();
                assert_eq!(copies, 1, "{h}");
            }
            let left = files(&blobs.join("partial"));
            assert!(left.is_empty(), "left over: {left:?}");
        }
    }
}

async fn a_claim_opens_nothing_until_the_bytes_are_proved(backend: Backend) {
    let env = env(backend, Blobs::Local).await;
    claim_then_garbage_then_proof(&env).await;
    env.server.finish().await;
}

async fn a_claim_is_proved_on_s3(backend: Backend) {
    let env = env(backend, Blobs::S3).await;
    claim_then_garbage_then_proof(&env).await;
    env.server.finish().await;
}

/// A claim made before the owner uploads: the claimer's bytes go to its own upload, so it can
/// neither finish the owner's upload nor spoil it.
async fn a_claim_never_touches_the_owners_upload(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.raw_device(SAWAN, "87010001").await;
    let claimer = server.raw_device(GEROKGAK, "87020002").await;
    let photo = Photo::new(42, 40_000);
    push_record(&server, &owner, &[&photo]).await;
    push_record(&server, &claimer, &[&photo]).await;
    let d = sha(&photo.derivative);
    let total = photo.derivative.len() as u64;
    let half = photo.derivative.len() / 2;

    // The owner sends half; the claimer starts from 0, not from the owner's offset.
    let (status, _) = patch(
        &server,
        &owner.token,
        &d,
        0,
        total,
        &photo.derivative[..half],
    )
    .await;
    assert_eq!(status, 200);
    missing_from(&server, &claimer, std::slice::from_ref(&d), 0).await;
    // The claimer's guess at the rest lands in its own upload, refused as 409 from byte 0.
    let (status, body) = patch(
        &server,
        &claimer.token,
        &d,
        half as u64,
        total,
        &photo.derivative[half..],
    )
    .await;
    assert_eq!((status, &body["offset"]), (409, &json!(0)), "{body}");
    let garbage = common::bytes(98, half);
    let (status, _) = patch(&server, &claimer.token, &d, 0, total, &garbage).await;
    assert_eq!(status, 200);

    // The owner's upload is untouched and completes.
    let (status, body) = patch(
        &server,
        &owner.token,
        &d,
        half as u64,
        total,
        &photo.derivative[half..],
    )
    .await;
    assert_eq!((status, &body["complete"]), (201, &json!(true)), "{body}");
    assert_eq!(read(&server, &owner.token, &d).await, photo.derivative);
    refused_like_unknown(&server, &claimer.token, &d).await;
    missing_from(&server, &claimer, std::slice::from_ref(&d), half as u64).await;
    server.finish().await;
}

/// Inside one unit too, a record credits only its own officer's uploads; and a device enrolled
/// for its officer's own records reads only photos of those records.
async fn same_unit_claims_and_own_records_only_devices(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.raw_device(SAWAN, "87010001").await;
    let colleague = server.raw_device(SAWAN, "87010003").await;
    let own = own_records_device(&server, SAWAN, "87010009").await;
    let reviewer = server.hq_token(SAWAN, "Kapolsek Sawan", "reviewer").await;
    let photo = Photo::new(43, 20_000);
    push_record(&server, &owner, &[&photo]).await;
    for (_, bytes) in renditions(&photo) {
        upload(&server, &owner.token, bytes, CHUNK).await;
    }
    let hashes: Vec<String> = renditions(&photo).map(|(h, _)| h).to_vec();

    // The own-records-only device cannot read its colleague's photos.
    for h in &hashes {
        refused_like_unknown(&server, &own.token, h).await;
    }
    // Nor by naming them in a record of its own.
    let claim = push_record(&server, &own, &[&photo]).await;
    for h in &hashes {
        refused_like_unknown(&server, &own.token, h).await;
    }
    missing_from(&server, &own, &hashes, 0).await;
    assert_eq!(
        arrived(&server, &reviewer, &claim).await,
        (false, false, false)
    );

    // A colleague's record naming the hashes is not credited either (the colleague still reads
    // them through the owner's record, which its unit scope shows it anyway).
    let copy = push_record(&server, &colleague, &[&photo]).await;
    assert_eq!(
        arrived(&server, &reviewer, &copy).await,
        (false, false, false)
    );
    missing_from(&server, &colleague, &hashes, 0).await;
    assert_eq!(
        read(&server, &colleague.token, &hashes[1]).await,
        photo.derivative
    );

    // The own-records-only device reads its own officer's photos.
    let mine = Photo::new(44, 10_000);
    push_record(&server, &own, &[&mine]).await;
    upload(&server, &own.token, &mine.derivative, CHUNK).await;
    assert_eq!(
        read(&server, &own.token, &sha(&mine.derivative)).await,
        mine.derivative
    );
    server.finish().await;
}

/// A device of `unit` enrolled for `nrp`'s own records only.
async fn own_records_device(server: &TestServer, unit: &str, nrp: &str) -> RawDevice {
    server.raw_device_for(unit, nrp, true).await
}

/// Every file under `dir`, recursively (none when it does not exist).
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
