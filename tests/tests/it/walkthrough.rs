//! The README walk-through, run with the real binaries as a new user would: start
//! `bukti-server` on its embedded default, load the demo organisation, add an officer and a
//! reviewer, enroll the officer's device with a one-time code, capture while the server is down,
//! sync when it is back, sign in as the reviewer to query, take the record through the two-level
//! review (the Polsek curates and forwards, the Polres asks for a revision, the officer revises,
//! the Polres verifies) with the review arriving on the device, and stop the server gracefully.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Server {
    child: Child,
}

impl Server {
    fn start(data: &Path, port: u16) -> Server {
        let child = crate::bins::bukti_server()
            .args([
                "--data",
                data.to_str().expect("utf-8 path"),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bukti-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "bukti-server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child }
    }

    /// SIGTERM, as a service manager would; the server must exit cleanly.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait for bukti-server");
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn bukti(home: &Path) -> Command {
    let mut c = crate::bins::bukti();
    c.arg("--home").arg(home).arg("--quiet");
    c
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthrough_with_real_binaries() {
    let work = tempfile::tempdir().expect("work dir");
    let data = work.path().join("bukti-data");
    let home = work.path().join("phone");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");

    let server = Server::start(&data, port);
    let admin = |args: &[&str]| {
        let mut c = crate::bins::bukti_server();
        c.args(args).arg("--data").arg(&data);
        c
    };
    run(&mut admin(&["unit", "demo"]));
    run(&mut admin(&[
        "person",
        "add",
        "--nrp",
        "87010123",
        "--name",
        "Putu Arta",
        "--rank",
        "Bripka",
        "--unit",
        "bali/buleleng/sawan",
        "--role",
        "officer",
    ]));
    let mut reviewer = admin(&[
        "person",
        "add",
        "--nrp",
        "85030001",
        "--name",
        "Kasat Binmas",
        "--rank",
        "AKP",
        "--unit",
        "bali/buleleng",
        "--role",
        "reviewer",
        "--password-stdin",
    ]);
    let mut child = reviewer
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("person add");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        b"binmas-buleleng-2026\n",
    )
    .expect("password");
    let out = child.wait_with_output().expect("person add");
    assert!(out.status.success(), "{out:?}");

    // The Kapolsek (here the operator) issues a one-time code for the officer's phone.
    let qr = work.path().join("enroll-87010123.png");
    let out = run(admin(&[
        "enroll",
        "issue",
        "--officer",
        "87010123",
        "--server-url",
        &url,
    ])
    .arg("--qr")
    .arg(&qr));
    let code = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code}");
    let png = std::fs::read(&qr).expect("QR code written");
    assert_eq!(&png[..4], b"\x89PNG", "a PNG");

    run(bukti(&home).args(["enroll", "--server", &url, "--code", &code]));
    let reused = bukti(&home)
        .args(["enroll", "--force", "--server", &url, "--code", &code])
        .output()
        .expect("enroll again");
    assert!(!reused.status.success(), "a code enrolls one device only");
    assert!(
        String::from_utf8_lossy(&reused.stderr).contains("already been used"),
        "{reused:?}"
    );

    // Out of signal: the server is unreachable while the officer captures.
    server.stop();
    let out = run(bukti(&home)
        .args([
            "capture",
            "--kind",
            "sambang",
            "--title",
            "Sambang Desa Sudaji",
            "--start",
            "2026-11-27T09:00:00+08:00",
            "--lat",
            "-8.1204",
            "--lon",
            "115.1720",
            "--accuracy",
            "8",
            "--location-source",
            "gps",
            "--place",
            "Balai Desa Sudaji",
            "--people-served",
            "25",
            "--service",
            "skck=2",
            "--lke",
            "MP.R3",
            "--submit",
            "--photo",
        ])
        .arg(fixture("scene.jpg")));
    let id = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(id.len(), 36, "capture prints the new record id: {id}");
    let status = stdout_json(&run(bukti(&home).args(["status", "--json"])));
    assert_eq!(status["waiting"], 1, "{status}");
    let failed = bukti(&home).arg("sync").output().expect("sync");
    assert!(!failed.status.success(), "sync without a server fails");
    assert!(!failed.stderr.is_empty(), "and says why");

    // Back at the Polsek's Wi-Fi.
    let server = Server::start(&data, port);
    run(bukti(&home).arg("sync"));
    let status = stdout_json(&run(bukti(&home).args(["status", "--json"])));
    assert_eq!(status["waiting"], 0, "{status}");

    // HQ finds it and reviews it: the Kasat signs in with NRP and password.
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"nrp": "85030001", "password": "binmas-buleleng-2026"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 200);
    let set_cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("cookie pair")
        .to_owned();
    let me: Value = resp.json().await.expect("json");
    let csrf = me["csrf_token"].as_str().expect("csrf token").to_owned();
    let hq = |req: reqwest::RequestBuilder| req.header("cookie", &cookie);
    let page: Value = hq(http.get(format!(
        "{url}/api/v1/records?unit=bali/buleleng/sawan&lke_area=MP"
    )))
    .send()
    .await
    .expect("list")
    .json()
    .await
    .expect("json");
    assert_eq!(page["records"][0]["id"], id.as_str(), "{page}");
    assert_eq!(page["records"][0]["place"], "Balai Desa Sudaji");

    // The photo's display copy arrived and HQ can see it.
    let view: Value = hq(http.get(format!("{url}/api/v1/records/{id}")))
        .send()
        .await
        .expect("record")
        .json()
        .await
        .expect("json");
    let photo = &view["photos"][0];
    assert_eq!(photo["derivative_arrived"], true, "{view}");
    let derivative = view["record"]["photos"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|p| p["derivative"]["hash"].as_str())
        .expect("derivative hash")
        .to_owned();
    let resp = hq(http.get(format!("{url}/api/v1/blobs/{derivative}")))
        .send()
        .await
        .expect("photo");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let bytes = resp.bytes().await.expect("bytes");
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
    // The Polsek curates: its operator retags the record and marks it ready, the Kapolsek
    // forwards it to the Polres (each with an HQ token made at the server).
    // Scripts take the token from stdout: logs, even at debug level, go to stderr.
    let token = |name: &str, role: &str| {
        let out = run(admin(&[
            "token",
            "create",
            "--unit",
            "bali/buleleng/sawan",
            "--name",
            name,
            "--role",
            role,
        ])
        .env("RUST_LOG", "debug"));
        assert!(!out.stderr.is_empty(), "debug logs on stderr");
        let token = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            token.starts_with("bkt_") && token.trim_end().lines().count() == 1,
            "stdout holds the token alone: {token:?}"
        );
        token.trim().to_owned()
    };
    let operator = token("Bripka Sari", "operator");
    let kapolsek = token("Kapolsek Sawan", "approver");
    let resp = http
        .post(format!("{url}/api/v1/records/{id}/curate"))
        .bearer_auth(&operator)
        .json(&json!({"lke": ["MP.R3", "PP.R1"], "ready": true}))
        .send()
        .await
        .expect("curate");
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(format!("{url}/api/v1/records/{id}/forward"))
        .bearer_auth(&kapolsek)
        .send()
        .await
        .expect("forward");
    assert_eq!(resp.status(), 200);

    // The Kasat finds it in the Polres's queue and asks for a revision, with the reason.
    let queue: Value = hq(http.get(format!("{url}/api/v1/records?state=forwarded")))
        .send()
        .await
        .expect("queue")
        .json()
        .await
        .expect("json");
    assert_eq!(queue["records"][0]["id"], id.as_str(), "{queue}");
    let review = json!({"verdict": "needs_revision", "reason": "Lengkapi daftar hadir"});
    let forged = hq(http.post(format!("{url}/api/v1/records/{id}/review")))
        .json(&review)
        .send()
        .await
        .expect("review without the CSRF token");
    assert_eq!(
        forged.status(),
        403,
        "a cookie alone cannot change anything"
    );
    let resp = hq(http.post(format!("{url}/api/v1/records/{id}/review")))
        .header("x-csrf-token", &csrf)
        .json(&review)
        .send()
        .await
        .expect("review");
    assert_eq!(resp.status(), 200);

    // The verdict and its reason reach the officer's device; the officer revises and syncs.
    run(bukti(&home).arg("sync"));
    let shown = text(&run(bukti(&home).args(["show", &id])));
    for expected in [
        "needs revision",
        "Reason          Lengkapi daftar hadir",
        "Forwarded       by Kapolsek Sawan",
        "WITA",
    ] {
        assert!(shown.contains(expected), "{expected:?} in\n{shown}");
    }
    run(bukti(&home).args(["edit", &id, "--participants", "31"]));
    run(bukti(&home).arg("sync"));

    // The Kasat verifies the revised record; the device shows it.
    let revised: Value = hq(http.get(format!("{url}/api/v1/records?state=revised")))
        .send()
        .await
        .expect("revised")
        .json()
        .await
        .expect("json");
    assert_eq!(revised["records"][0]["id"], id.as_str(), "{revised}");
    let resp = hq(http.post(format!("{url}/api/v1/records/{id}/review")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"verdict": "verified"}))
        .send()
        .await
        .expect("verify");
    assert_eq!(resp.status(), 200);
    run(bukti(&home).arg("sync"));
    let list = text(&run(bukti(&home).arg("list")));
    assert!(list.contains("verified"), "{list}");
    let shown = stdout_json(&run(bukti(&home).args(["show", &id, "--json"])));
    assert_eq!(shown["record"]["review"]["verdict"], "valid", "{shown}");
    assert_eq!(shown["workflow"]["state"], "verified", "{shown}");
    assert_eq!(shown["record"]["counts"]["participants"], 31);
    let metrics = bukti_tests::metrics_text(&http, &url).await;
    assert!(metrics.contains("bukti_push_records_total"), "{metrics}");
    // Where a push's time goes, stage by stage (the sync bench reports them).
    for stage in ["verify", "audit", "receipt"] {
        let line = format!("bukti_push_stage_seconds_count{{stage=\"{stage}\"}}");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    for stage in ["queue", "load", "merge", "tail"] {
        let line = format!("bukti_record_write_stage_seconds_count{{stage=\"{stage}\"}}");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    server.stop();
}
