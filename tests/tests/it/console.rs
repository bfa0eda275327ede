//! The HQ console in a real browser (headless Chromium over WebDriver), on both stores: a
//! reviewer signs in, filters the list, opens a record and reads it; a title that is HTML stays
//! text; another unit's record is not found; the pages pass an accessibility check (axe-core)
//! with no serious violation. Screenshots of the main pages land in target/console-screenshots.

use bukti_tests::{
    Backend, TestDevice, TestServer, both_stores,
    browser::{Browser, browser_available},
    patrol,
    people::PASSWORD,
    visit,
};
use serde_json::{Value, json};

both_stores!(a_reviewer_works_through_the_console);

const SAWAN: &str = "bali/buleleng/sawan";
const GEROKGAK: &str = "bali/buleleng/gerokgak";
const XSS_TITLE: &str = "<script>window.__xss=1</script><b>tebal</b>";

/// Captured and synced by two officers of two Polsek, as in the field.
async fn field_records(server: &TestServer) -> TestDevice {
    let putu = server.device(SAWAN, "87010001").await;
    putu.device
        .capture(visit("Sambang Desa Sudaji".into()))
        .await
        .expect("capture");
    putu.device
        .capture(patrol("Patroli malam pasar Sawan"))
        .await
        .expect("capture");
    putu.device
        .capture(patrol(XSS_TITLE))
        .await
        .expect("capture");
    putu.sync().await;
    let made = server.device(GEROKGAK, "87020001").await;
    made.device
        .capture(patrol("Patroli pantai Gerokgak"))
        .await
        .expect("capture");
    made.sync().await;
    putu
}

/// Signs in as `nrp` from `url`'s sign-in redirect, and waits to be back at `url`.
async fn sign_in(browser: &Browser, url: &str, nrp: &str) {
    browser.goto(url).await;
    browser.type_into(&browser.find("#nrp").await, nrp).await;
    browser
        .type_into(&browser.find("#password").await, PASSWORD)
        .await;
    browser.click(&browser.find("#sign-in").await).await;
    let path = url
        .split_once("//")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, p)| p);
    browser.wait_for_url(path).await;
}

async fn sign_out(browser: &Browser) {
    browser.click(&browser.find("button.link").await).await;
    browser.find("#nrp").await;
}

async fn rows(browser: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for link in browser.find_all("#records tbody td a").await {
        out.push(browser.text(&link).await);
    }
    out
}

/// Serious or critical accessibility violations axe-core finds on the current page.
async fn accessibility_violations(browser: &Browser) -> Vec<Value> {
    let axe = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("browser/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&axe).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run `npm ci --prefix tests/browser` (.ci/run does)",
            axe.display()
        )
    });
    browser
        .run(&format!("{source}\nreturn true;"), json!([]))
        .await;
    let found = browser
        .run_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})
               .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                    help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))));",
            json!([]),
        )
        .await;
    found
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect()
}

async fn a_reviewer_works_through_the_console(backend: Backend) {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(backend).await;
    server
        .person("bali/buleleng", "85030001", &["reviewer"])
        .await;
    server.person(GEROKGAK, "85040001", &["operator"]).await;
    server.person(SAWAN, "85010001", &["operator"]).await;
    server.person(SAWAN, "85010002", &["approver"]).await;
    let putu = field_records(&server).await;
    let browser = Browser::start().await;
    let shots = |name: &str| format!("{name}-{backend:?}").to_lowercase();

    // Unsigned, the list sends the browser to sign in, and back afterwards.
    browser
        .goto(&format!("{}/records?kind=patroli", server.url))
        .await;
    assert!(
        browser.url().await.contains("/login?next="),
        "{}",
        browser.url().await
    );
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "sign-in page: {:?}",
        accessibility_violations(&browser).await
    );
    browser.screenshot(&shots("login")).await;
    // A wrong password says so, in Indonesian.
    browser
        .type_into(&browser.find("#nrp").await, "85030001")
        .await;
    browser
        .type_into(&browser.find("#password").await, "salah-sekali")
        .await;
    browser.click(&browser.find("#sign-in").await).await;
    let error = browser.text(&browser.find("#login-error").await).await;
    assert_eq!(error, "NRP atau kata sandi salah.");
    browser
        .type_into(&browser.find("#password").await, PASSWORD)
        .await;
    browser.click(&browser.find("#sign-in").await).await;
    browser.find("#records").await;
    assert!(
        browser.url().await.ends_with("/records?kind=patroli"),
        "{}",
        browser.url().await
    );
    let mut patrols = rows(&browser).await;
    patrols.sort();
    assert_eq!(
        patrols,
        [
            XSS_TITLE,
            "Patroli malam pasar Sawan",
            "Patroli pantai Gerokgak"
        ],
        "the Polres reviewer sees both Polsek's patrols; the HTML title is text"
    );
    let injected = browser
        .run("return [window.__xss === undefined, document.querySelectorAll('main script, main b').length];", json!([]))
        .await;
    assert_eq!(
        injected,
        json!([true, 0]),
        "a record title ran or rendered as HTML"
    );

    // Filter by Polsek and kind with the form.
    browser.goto(&format!("{}/records", server.url)).await;
    assert_eq!(rows(&browser).await.len(), 4);
    browser.choose("#f-unit", SAWAN).await;
    browser.choose("#f-kind", "sambang").await;
    browser.click(&browser.find("#apply-filters").await).await;
    browser.wait_for_url("kind=sambang").await;
    browser.find("#records").await;
    assert_eq!(rows(&browser).await, ["Sambang Desa Sudaji"]);
    assert!(browser.url().await.contains("kind=sambang"));
    let times = browser.text(&browser.find("#records tbody td").await).await;
    assert!(times.ends_with("WITA"), "times in the unit's zone: {times}");
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "list: {:?}",
        accessibility_violations(&browser).await
    );
    browser.screenshot(&shots("records")).await;

    // Full-text search: a prefix of the last word.
    browser
        .type_into(&browser.find("#f-q").await, "sambang sud")
        .await;
    browser.click(&browser.find("#apply-filters").await).await;
    browser.wait_for_url("q=sambang").await;
    assert_eq!(rows(&browser).await, ["Sambang Desa Sudaji"]);

    // Download what the filters select, as the browser does.
    browser.click(&browser.find("#export-csv").await).await;
    let csv = std::fs::read(browser.download(".csv").await).expect("the CSV");
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 BOM for spreadsheets"
    );
    let text = String::from_utf8_lossy(&csv);
    assert_eq!(
        text.lines().count(),
        2,
        "a header and the one record: {text}"
    );
    assert!(text.contains("Sambang Desa Sudaji"), "{text}");

    // Open the record: its facts, photos section, history with who changed what.
    browser
        .click(&browser.find("#records tbody td a").await)
        .await;
    let title = browser.text(&browser.find("#record-title").await).await;
    assert_eq!(title, "Sambang Desa Sudaji");
    let history = browser.find_all("#history tbody tr").await;
    assert!(!history.is_empty(), "the record's history is shown");
    let who = browser
        .text(&browser.find("#history tbody td:nth-child(2)").await)
        .await;
    assert_eq!(who, "officer:87010001");
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "record: {:?}",
        accessibility_violations(&browser).await
    );
    browser.screenshot(&shots("record")).await;
    let record_url = browser.url().await;

    // The dashboard of the Polres: both Polsek side by side, evidence per area, the map.
    browser
        .goto(&format!("{}/dashboard?unit=bali/buleleng", server.url))
        .await;
    assert_eq!(
        browser.text(&browser.find("#total-records").await).await,
        "4"
    );
    for (name, total) in [("Polsek Sawan", "3"), ("Polsek Gerokgak", "1")] {
        let cells = browser
            .run(
                "return [...document.querySelectorAll('#unit-table tbody tr')]
                   .filter(r => r.querySelector('th').textContent.trim() === arguments[0])
                   .map(r => r.lastElementChild.textContent.trim());",
                json!([name]),
            )
            .await;
        assert_eq!(cells, json!([total]), "{name}");
    }
    let dots = browser
        .run(
            "return document.querySelectorAll('#activity-map circle[fill-opacity]').length;",
            json!([]),
        )
        .await;
    assert_eq!(dots, json!(1), "the one visit with a GPS fix is on the map");
    let bars = browser
        .run(
            "return document.querySelectorAll('#area-chart rect title').length;",
            json!([]),
        )
        .await;
    assert!(
        bars.as_u64().is_some_and(|n| n >= 1),
        "MP evidence is charted"
    );
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "dashboard: {:?}",
        accessibility_violations(&browser).await
    );
    browser.screenshot(&shots("dashboard")).await;

    // The worksheet: answering one question moves the score.
    let year = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year();
    browser
        .goto(&format!(
            "{}/worksheet?unit={SAWAN}&year={year}&area=MP",
            server.url
        ))
        .await;
    let before = browser.text(&browser.find("#score-total").await).await;
    assert_eq!(before, "0.00");
    browser.choose("#opt-MP\\.P1\\.1", "ya").await;
    browser
        .click(&browser.find("#save-MP\\.P1\\.1").await)
        .await;
    let after = browser.wait_for_text("#score-total", "0.25").await;
    // MP.P1 weighs 0.50 and has two questions: one "ya" of two is 0.50 × 1/2 = 0.25.
    assert_eq!(after, "0.25", "the score moved");
    let value = browser.text(&browser.find("#value-MP\\.P1").await).await;
    assert_eq!(value, "0.25");
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "worksheet: {:?}",
        accessibility_violations(&browser).await
    );
    browser.screenshot(&shots("worksheet")).await;

    // The export page: Sawan's evidence pack, made in the background while its page reloads
    // itself (no script), then downloaded and checked offline.
    browser.goto(&format!("{}/packs", server.url)).await;
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "packs: {:?}",
        accessibility_violations(&browser).await
    );
    browser.choose("#p-unit", SAWAN).await;
    browser.click(&browser.find("#start-pack").await).await;
    let mut state = String::new();
    for _ in 0..12 {
        state = browser.wait_for_text("#pack-state", "Selesai").await;
        if state == "Selesai" {
            break;
        }
    }
    assert_eq!(
        state, "Selesai",
        "the pack's page reloaded until it was done"
    );
    assert!(
        accessibility_violations(&browser).await.is_empty(),
        "pack: {:?}",
        accessibility_violations(&browser).await
    );
    browser.screenshot(&shots("pack")).await;
    browser.click(&browser.find("#download-pack").await).await;
    let (ok, report) = crate::evidence_pack::verify(&browser.download(".zip").await, None);
    assert!(ok, "{report}");

    // English on request.
    browser
        .goto(&format!("{}/records?lang=en", server.url))
        .await;
    let heading = browser.text(&browser.find("main h1").await).await;
    assert_eq!(heading, "Activity records");

    // The two review levels in the browser: the Polsek's operator marks the visit ready, the
    // Kapolsek forwards it, the Polres reviewer asks for a revision with a reason.
    sign_out(&browser).await;
    sign_in(&browser, &record_url, "85010001").await;
    browser.click(&browser.find("#ready").await).await;
    browser.click(&browser.find("#save-curation").await).await;
    assert_eq!(
        browser
            .wait_for_text("#state", "Siap (dikurasi Polsek)")
            .await,
        "Siap (dikurasi Polsek)"
    );
    sign_out(&browser).await;
    sign_in(&browser, &record_url, "85010002").await;
    browser.click(&browser.find("#forward").await).await;
    assert_eq!(
        browser.wait_for_text("#state", "Diteruskan Kapolsek").await,
        "Diteruskan Kapolsek"
    );
    sign_out(&browser).await;
    sign_in(&browser, &record_url, "85030001").await;
    browser
        .click(&browser.find("#v-needs-revision").await)
        .await;
    browser
        .type_into(&browser.find("#comment").await, "Lengkapi daftar hadir")
        .await;
    browser.click(&browser.find("#save-review").await).await;
    assert_eq!(
        browser.wait_for_text("#verdict", "Perlu perbaikan").await,
        "Perlu perbaikan"
    );
    let thread = browser.text(&browser.find("#comments").await).await;
    assert!(thread.contains("Lengkapi daftar hadir"), "{thread}");
    browser.screenshot(&shots("review")).await;
    // The Polres' work queue: records waiting on the officer.
    browser.goto(&format!("{}/records", server.url)).await;
    browser.choose("#f-state", "needs_revision").await;
    browser.click(&browser.find("#apply-filters").await).await;
    browser.wait_for_url("state=needs_revision").await;
    assert_eq!(rows(&browser).await, ["Sambang Desa Sudaji"]);
    // The verdict reaches the officer's phone on its next sync, through the real `bukti`.
    let bukti = |args: &[&str]| {
        let out = crate::bins::bukti()
            .env("BUKTI_HOME", putu.home_path())
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .expect("run bukti");
        assert!(
            out.status.success(),
            "bukti {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    bukti(&["sync"]);
    let id = record_url.rsplit('/').next().expect("record id").to_owned();
    let shown = bukti(&["show", &id]);
    assert!(
        shown.contains("Lengkapi daftar hadir"),
        "bukti show after sync:\n{shown}"
    );

    // Another Polsek's operator finds nothing of Sawan's.
    sign_out(&browser).await;
    browser.goto(&record_url).await;
    browser
        .type_into(&browser.find("#nrp").await, "85040001")
        .await;
    browser
        .type_into(&browser.find("#password").await, PASSWORD)
        .await;
    browser.click(&browser.find("#sign-in").await).await;
    let heading = browser.wait_for_text("main h1", "Tidak ditemukan").await;
    assert_eq!(
        heading, "Tidak ditemukan",
        "a Sawan record for a Gerokgak operator"
    );
    browser.goto(&format!("{}/records", server.url)).await;
    assert_eq!(rows(&browser).await, ["Patroli pantai Gerokgak"]);
    browser.quit().await;

    // The pages carry the security headers.
    let resp = reqwest::get(format!("{}/login", server.url))
        .await
        .expect("login page");
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    server.finish().await;
}
