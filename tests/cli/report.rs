//! `onelead report`: the HTML file opened in headless Chromium on the real exports (rows,
//! in-page filters, no script errors, a screenshot), escaping of hostile names from the
//! spreadsheets, and `watch --report`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workdir, shared_data};

const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_PRODUCT: &str = "<img src=x onerror=alert(2)>";

/// Runs `cmd`, killing it after `secs` seconds so a hung browser never hangs the suite. Output
/// goes through files: a pipe nobody reads while we poll would fill up and stall the browser.
fn run_bounded(cmd: &mut Command, secs: u64) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (read(&out), read(&err))
}

/// `chromium`, or `None` (outside CI) when it is not installed; under `CI=true` it must be.
fn chromium() -> Option<&'static str> {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("chromium");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but `chromium` is not installed (.ci/run installs it with apt-get)"
    );
    eprintln!("skipping: `chromium` is not installed (not in CI)");
    None
}

fn headless(bin: &str, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The attributes of the first `<body …>` tag in `dom`.
fn body_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// Loads `url` and returns (visible rows, total rows, errors, ready) read from `<body>`.
fn open_in_browser(bin: &str, profile: &Path, url: &str) -> [String; 4] {
    let (dom, log) = run_bounded(
        headless(bin, profile).args(["--enable-logging=stderr", "--v=0", "--dump-dom", url]),
        120,
    );
    let uncaught: Vec<&str> = log.lines().filter(|l| l.contains("Uncaught")).collect();
    assert!(
        uncaught.is_empty(),
        "{url}: script errors:\n{}",
        uncaught.join("\n")
    );
    [
        "data-visible-rows",
        "data-total-rows",
        "data-errors",
        "data-ready",
    ]
    .map(|a| body_attr(&dom, a).unwrap_or_else(|| panic!("{url}: no `{a}` on <body>; log:\n{log}")))
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
            PathBuf::from,
        )
        .join("report-test")
}

#[test]
fn issue_9_real_report_opens_in_chromium_with_working_filters() {
    let Some(data) = shared_data() else { return };
    let Some(bin) = chromium() else { return };
    let Some(w) = Workdir::try_new() else { return };
    let data = data.to_str().unwrap();
    w.ok(&[
        "run",
        "--data",
        data,
        "--db",
        "r.db",
        "--as-of",
        "2025-10-29",
    ]);
    let said = w.ok(&["report", "--db", "r.db", "--out", "out/report.html"]);
    assert!(
        said.starts_with("wrote out/report.html (77 of 77 matching leads"),
        "{said}"
    );
    let html = std::fs::read_to_string(w.join("out/report.html")).unwrap();
    assert_eq!(html.matches(r#"<tbody class="lead""#).count(), 77);
    for section in [
        "overview",
        "analytics",
        "queue-section",
        "territories",
        "accounts",
    ] {
        assert!(html.contains(&format!(r#"id="{section}""#)), "{section}");
    }
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 5);

    let profile = tempfile::tempdir().unwrap();
    let file = w.join("out/report.html");
    let url = format!("file://{}", file.display());
    for (hash, visible) in [
        ("", "77"),
        ("#filter=MEDIUM", "4"),
        ("#filter=CRITICAL", "0"),
    ] {
        let got = open_in_browser(bin, profile.path(), &format!("{url}{hash}"));
        assert_eq!(
            got,
            [visible, "77", "0", "1"].map(String::from),
            "{hash}: visible, total, errors, ready"
        );
    }
    let got = open_in_browser(bin, profile.path(), &format!("{url}#priority=high&min=73"));
    assert_eq!(got[0], "6", "HIGH leads scoring at least 73");

    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    run_bounded(
        headless(bin, profile.path())
            .arg(format!("--screenshot={}", png.display()))
            .args(["--window-size=1280,2000", &url]),
        120,
    );
    let size = std::fs::metadata(&png).map_or(0, |m| m.len());
    assert!(size > 10_000, "no screenshot at {}", png.display());
}

/// Replaces every case-insensitive occurrence of `needle` up to the end of its CSV field.
fn replace_field_ci(text: &str, needle: &str, with: &str) -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while let Some(i) = rest.to_ascii_lowercase().find(needle) {
            let end = rest[i..]
                .find([',', '\r', '\n'])
                .map_or(rest.len(), |e| i + e);
            out.push_str(&rest[..i]);
            out.push_str(with);
            rest = &rest[end..];
            n += 1;
        }
        out.push_str(rest);
    }
    (out, n)
}

#[test]
fn issue_9_hostile_names_from_spreadsheets_are_escaped() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&["sample", "--out", "in", "--format", "csv", "--rows", "20"]);
    let mut replaced = 0;
    for f in ["in/opportunities.csv", "in/projects.csv"] {
        let text = std::fs::read_to_string(w.join(f)).unwrap();
        let (text, n) = replace_field_ci(&text, "silel systems", HOSTILE);
        replaced += n;
        w.write(f, &text);
    }
    assert!(replaced > 0, "the sample no longer has the Silel account");
    let ib = std::fs::read_to_string(w.join("in/install_base.csv")).unwrap();
    let (ib, n) = replace_field_ci(&ib, "hp proliant dl360p gen8", HOSTILE_PRODUCT);
    assert!(n > 0, "the sample no longer has a DL360p");
    w.write("in/install_base.csv", &ib);
    w.ok(&[
        "run",
        "--data",
        "in",
        "--db",
        "h.db",
        "--as-of",
        "2025-10-29",
    ]);
    let leads = w.json(&["leads", "--db", "h.db"]);
    let names: Vec<&str> = leads
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["account_name"].as_str())
        .collect();
    assert!(names.contains(&HOSTILE), "{names:?}");

    w.ok(&["report", "--db", "h.db", "--out", "h.html"]);
    let html = std::fs::read_to_string(w.join("h.html")).unwrap();
    assert!(!html.contains(HOSTILE), "raw account name in the report");
    assert!(!html.contains("<img"), "raw product name in the report");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    // In the script's JSON the name is there too, with `<` as `\u003c`.
    assert!(html.contains(r"\u003cscript\u003ealert(1)\u003c/script\u003e"));
    // Exactly the report's own scripts: the hook, the data block and the page script.
    assert_eq!(html.matches("<script").count(), 3, "{html}");
}

#[test]
fn issue_9_report_needs_an_existing_database() {
    let Some(w) = Workdir::try_new() else { return };
    let err = w.fails(&["report", "--db", "none.db"], 1);
    assert!(err.starts_with("error:"), "{err}");
    assert!(!w.join("onelead-report.html").exists());
}

#[test]
fn issue_9_watch_writes_the_report_after_each_run() {
    let Some(w) = Workdir::try_new() else { return };
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample");
    let mut child = w
        .command(&[
            "watch", "--data", sample, "--db", "w.db", "--report", "w.html",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch");
    let deadline = Instant::now() + Duration::from_secs(60);
    let path = w.join("w.html");
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let html = std::fs::read_to_string(&path).expect("watch wrote no report within 60 s");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains(r#"<tbody class="lead""#));
    // The temp file was renamed over the report, not left behind.
    let leftovers: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The e-mailed report shows the best N leads and says how many more match and where they are;
/// the overview still counts all of them.
#[test]
fn issue_23_the_report_queue_is_capped_and_says_so() {
    let w = Workdir::new();
    w.ok(&[
        "sample", "--out", "data", "--rows", "300", "--format", "csv",
    ]);
    w.ok(&["run", "--data", "data", "--db", "c.db"]);
    let total: usize = w.json(&["dashboard", "--db", "c.db"])["total_leads"]
        .as_u64()
        .unwrap() as usize;
    assert!(total > 10, "{total}");
    let said = w.ok(&["report", "--db", "c.db", "--out", "c.html", "--limit", "10"]);
    assert!(
        said.contains(&format!("(10 of {total} matching leads")),
        "{said}"
    );
    let html = std::fs::read_to_string(w.join("c.html")).unwrap();
    assert_eq!(html.matches(r#"<tbody class="lead""#).count(), 10);
    assert!(
        html.contains(&format!("the best 10 of {total} matching leads")),
        "no cap line"
    );
    assert!(html.contains(&format!(
        r#"<span class="n">{total}</span><span class="t">active leads"#
    )));
    // Uncapped when everything fits: no line.
    w.ok(&[
        "report", "--db", "c.db", "--out", "all.html", "--limit", "100000",
    ]);
    let all = std::fs::read_to_string(w.join("all.html")).unwrap();
    assert_eq!(all.matches(r#"<tbody class="lead""#).count(), total);
    assert!(!all.contains("matching leads;"));
}
