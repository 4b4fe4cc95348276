//! The lead desk in a real browser: Debian's headless Chromium driven through chromedriver
//! (the W3C WebDriver protocol, spoken with `http::request`). A rep signs in, filters the
//! queue of the real export, opens a lead, changes its status with a note and sees it in the
//! history; the page is saved as `target/serve-browser.png`. Without chromium and chromedriver
//! the test skips, except under `CI=true`, where it fails (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http;
use super::serve_util::{Server, add_user};
use super::util::real_run;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
/// The W3C name of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver with one browser session; both end when dropped.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    fn start() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping: {CHROMIUM} or {DRIVER} is missing (not in CI)");
            return None;
        }
        let port = free_port();
        let driver = Command::new(DRIVER)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http::request(port, "GET", "/status", &[], None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1100",
        ]
        .iter()
        .map(|a| (*a).to_string())
        .chain([format!("--user-data-dir={}", b.profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let v = b.call("POST", "/session", Some(&caps));
        b.session = v["sessionId"].as_str().expect("a session id").to_string();
        b.call(
            "POST",
            &b.path("/timeouts"),
            Some(&json!({"implicit": 10_000, "pageLoad": 30_000})),
        );
        Some(b)
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn try_call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let text = body.map(Value::to_string);
        let a = http::request(
            self.port,
            method,
            path,
            &[("Content-Type", "application/json")],
            text.as_deref().or((method == "POST").then_some("{}")),
        )
        .expect("chromedriver request");
        let v: Value = serde_json::from_str(&a.body).expect("chromedriver json");
        if a.status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(format!("{method} {path}: {v}"))
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.path("/url"), Some(&json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.path("/element"),
            Some(&json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().expect("an element").to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.path(&format!("/element/{e}/value")),
            Some(&json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.path(&format!("/element/{e}/click")), None);
    }

    /// The element's text; an element replaced while it was read (an htmx swap) is found again.
    fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            let e = self.find(css);
            if let Ok(v) = self.try_call("GET", &self.path(&format!("/element/{e}/text")), None) {
                return v.as_str().unwrap_or_default().to_string();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cannot read the text of {css}");
    }

    fn url(&self) -> String {
        self.call("GET", &self.path("/url"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `ok` holds (pages change by htmx swaps, not by loads the driver waits for).
    fn wait_for(&self, what: &str, ok: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ok(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} (at {})",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, to: &Path) {
        let b64 = self.call("GET", &self.path("/screenshot"), None);
        std::fs::write(to, base64_decode(b64.as_str().unwrap())).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http::request(self.port, "DELETE", &self.path(""), &[], None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, c)| n | (u32::from(val(*c)) << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

#[test]
fn a_rep_filters_the_real_queue_and_changes_a_status_in_the_browser() {
    let Some(w) = real_run() else { return };
    let Some(b) = Browser::start() else { return };
    add_user(&w, "r.db", "ravi", "rep", "rep password");
    let server = Server::start(&w, "r.db");
    let base = format!("http://127.0.0.1:{}", server.port);
    // A page before signing in leads to the form, and back after it.
    b.go(&format!("{base}/leads"));
    b.type_into("input[name=name]", "ravi");
    b.type_into("input[name=password]", "rep password");
    b.click("form button[type=submit]");
    b.wait_for("the queue", |b| b.url().ends_with("/leads"));
    // Filter: renewals, high priority.
    b.type_into("form.filters input[name=type]", "Renewal");
    b.click("form.filters input[name=priority][value=high]");
    b.click("form.filters button[type=submit]");
    b.wait_for("the filtered queue", |b| b.url().contains("type=Renewal"));
    let summary = b.text("main > p");
    assert!(summary.ends_with("leads match"), "{summary}");
    let count: usize = summary.split_whitespace().next().unwrap().parse().unwrap();
    assert!((1..77).contains(&count), "{summary}");
    b.screenshot(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-queue.png"));
    let first_row = b.text("#queue tbody tr");
    assert!(
        first_row.contains("Renewal") && first_row.contains("HIGH"),
        "{first_row}"
    );
    // Open the first lead and record a call.
    let id = b.text("#queue tbody tr td.id a");
    b.click("#queue tbody tr td.id a");
    b.wait_for("the lead page", |b| {
        b.url().contains(&format!("/leads/{id}"))
    });
    b.click("select[name=status] option[value=contacted]");
    b.type_into(
        "textarea[name=note]",
        "Called the IT manager; wants a renewal quote",
    );
    b.click("form.change button[type=submit]");
    b.wait_for("the saved change in the history", |b| {
        b.text("#history").contains("wants a renewal quote")
    });
    let history = b.text("#history");
    assert!(history.contains("new → contacted by ravi"), "{history}");
    assert_eq!(b.text("#status"), "contacted");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-browser.png");
    b.screenshot(&shot);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
    // The command line sees the same change.
    let e = w.json(&["explain", &id, "--db", "r.db"]);
    assert_eq!(e["status"], "contacted");
}
