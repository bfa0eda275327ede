//! The HQ console in a real browser (headless Chromium over WebDriver), on both stores: a
//! reviewer signs in, filters the list, opens a record and reads it; a title that is HTML stays
//! text; another unit's record is not found; the pages pass an accessibility check (axe-core)
//! with no serious violation. Screenshots of the main pages land in target/console-screenshots.

use bukti_tests::{
    Backend, TestServer, both_stores,
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
async fn field_records(server: &TestServer) {
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
    field_records(&server).await;
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

    // English on request.
    browser
        .goto(&format!("{}/records?lang=en", server.url))
        .await;
    let heading = browser.text(&browser.find("main h1").await).await;
    assert_eq!(heading, "Activity records");

    // Another Polsek's operator finds nothing of Sawan's.
    browser.click(&browser.find("button.link").await).await; // sign out
    browser.find("#nrp").await;
    browser.goto(&record_url).await;
    browser
        .type_into(&browser.find("#nrp").await, "85040001")
        .await;
    browser
        .type_into(&browser.find("#password").await, PASSWORD)
        .await;
    browser.click(&browser.find("#sign-in").await).await;
    let heading = browser.text(&browser.find("main h1").await).await;
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
