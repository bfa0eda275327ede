//! A real browser for the console tests: Debian's headless Chromium driven by its ChromeDriver
//! over the W3C WebDriver protocol (plain JSON over HTTP, spoken here with reqwest).
//!
//! When Chromium or ChromeDriver is missing the browser tests print `SKIPPED` and pass, unless
//! `BUKTI_REQUIRE_BROWSER=1` (CI sets it after installing them), which makes them fail instead.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The WebDriver key code for Enter.
pub const ENTER: &str = "\u{E007}";

/// Whether the browser tests can run; panics when they must but cannot.
pub fn browser_available() -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ok {
        assert!(
            std::env::var("BUKTI_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "Chromium or ChromeDriver is missing and BUKTI_REQUIRE_BROWSER=1 \
             (apt-get install -y chromium chromium-driver)"
        );
        eprintln!("SKIPPED: Chromium or ChromeDriver is not installed");
    }
    ok
}

/// One headless Chromium session; quits and stops its driver when dropped.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    profile: tempfile::TempDir,
}

/// An element of the current page, as WebDriver names it.
#[derive(Debug, Clone)]
pub struct Element(String);

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let root = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{root}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("browser profile");
        // The flags keep Chromium from reaching out to Google's services, which this machine's
        // closed network refuses.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let downloads = profile.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads folder");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args, "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            }},
        }}});
        let resp: Value = http
            .post(format!("{root}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_owned();
        Browser {
            driver,
            base: format!("{root}/session/{id}"),
            http,
            profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp: Value = req
            .send()
            .await
            .expect("WebDriver request")
            .json()
            .await
            .expect("WebDriver JSON");
        if resp["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", resp["value"]);
        }
        resp["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, waiting up to five seconds for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        for _ in 0..50 {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let source = self.get("/source").await;
        panic!(
            "no element {css} on {}:\n{}",
            self.url().await,
            source.as_str().unwrap_or_default()
        );
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let resp = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await;
        let resp: Value = resp.ok()?.json().await.ok()?;
        resp["value"][ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_owned()))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (up to ten seconds) for a finished download whose name ends in `suffix`.
    pub async fn download(&self, suffix: &str) -> PathBuf {
        let dir = self.profile.path().join("downloads");
        for _ in 0..100 {
            let done = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix));
            if let Some(path) = done {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no download ending in {suffix} in {}", dir.display());
    }

    /// Waits (up to five seconds) until the page's address contains `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        let mut url = String::new();
        for _ in 0..50 {
            url = self.url().await;
            if url.contains(part) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        url
    }

    /// Waits (up to five seconds, across page loads) for the element matching `css` to show
    /// `want`; returns what it last showed.
    pub async fn wait_for_text(&self, css: &str, want: &str) -> String {
        let mut last = String::new();
        for _ in 0..50 {
            if let Some(e) = self.try_find(css).await {
                let resp: Option<Value> = async {
                    self.http
                        .get(format!("{}/element/{}/text", self.base, e.0))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()
                }
                .await;
                if let Some(text) = resp.as_ref().and_then(|r| r["value"].as_str()) {
                    last = text.to_owned();
                    if last == want {
                        return last;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last
    }

    /// Chooses the `<option>` of the `<select>` matching `select_css` whose value is `value`.
    pub async fn choose(&self, select_css: &str, value: &str) {
        let option = self
            .find(&format!("{select_css} option[value=\"{value}\"]"))
            .await;
        self.click(&option).await;
    }

    /// Runs `script` in the page (its arguments in `arguments`), returning its value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1]` with its result.
    pub async fn run_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// Saves a PNG of the page under `target/console-screenshots/<name>.png` and returns it.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("screenshot base64");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }
}

impl Browser {
    /// Ends the session (Chromium exits) and stops the driver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
