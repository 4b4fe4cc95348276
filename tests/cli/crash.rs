//! Crash safety and concurrent readers (issue 8), with real processes on a generated export big
//! enough that a debug `run` takes seconds. A run is one transaction in a WAL database: a
//! SIGKILL at any point leaves the last committed state (leads and their event history) intact
//! and the next run succeeds; views keep answering from the last commit while a run writes.
//!
//! Robust on a loaded 2-core CI machine: kill points are fractions of the measured length of a
//! run on the same machine, waits are generous but bounded, and every child is killed on drop.

use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::util::Workdir;

const AS_OF: &str = "2025-10-29";
/// Install-base rows: about 8 s for a debug `run` on an idle 2-core machine, long enough for
/// several full `leads --format json` reads (about 1 s each) to overlap it.
const ROWS: &str = "3000";
/// Nothing here should take longer; a child still running then is killed and the test fails.
const BOUND: Duration = Duration::from_secs(300);

/// The two tests here are timing-sensitive; running them one at a time keeps each other's load
/// out of their measurements.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A child process that is killed (SIGKILL) and reaped when dropped, so no test leaves one behind.
struct Guard(Child);

impl Guard {
    fn spawn(w: &Workdir, args: &[&str]) -> Guard {
        let child = w
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn onelead");
        Guard(child)
    }

    fn running(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the exit, up to [`BOUND`].
    fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(s) = self.0.try_wait().expect("try_wait") {
                return s;
            }
            assert!(
                started.elapsed() < BOUND,
                "onelead still running after {BOUND:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A trigger that adds a lead to every server, so the second run changes the leads (with new
/// weights, which change every score).
const EXTRA: &str = r#"
fn lead_type() { "Cross-sell - Storage Expansion" }

fn trigger(item, account, cfg) {
    if item.product_family != "COMPUTE" { return (); }
    #{
        title: "Storage for " + item.product_name,
        description: "Servers may need storage.",
        action: "Offer a storage assessment.",
        reasons: ["server"],
    }
}
"#;

fn run_args() -> Vec<&'static str> {
    vec!["run", "--data", "big", "--db", "c.db", "--as-of", AS_OF]
}

/// A workdir with a generated export, one completed run and one recorded status event; returns
/// how long the run took.
fn committed_run() -> Option<(Workdir, Duration)> {
    let w = Workdir::try_new()?;
    w.ok(&["sample", "--out", "big", "--rows", ROWS, "--format", "csv"]);
    let started = Instant::now();
    w.ok(&run_args());
    let took = started.elapsed();
    // A rep's work that every later run must keep.
    let top = w.json(&["leads", "--db", "c.db", "--limit", "1"]);
    let id = top[0]["lead_id"].as_str().unwrap().to_string();
    w.ok(&[
        "status",
        &id,
        "contacted",
        "--note",
        "called",
        "--by",
        "crash test",
        "--db",
        "c.db",
    ]);
    w.write("rules/triggers/extra.rhai", EXTRA);
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    let cfg = cfg
        .replace("urgency: 0.35", "urgency: 0.25")
        .replace("strategic_fit: 0.15", "strategic_fit: 0.25");
    w.write("config/onelead.yaml", &cfg);
    Some((w, took))
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn lead_count(w: &Workdir) -> i64 {
    w.sql("c.db", "SELECT count(*) FROM leads WHERE active = 1")[0]
        .parse()
        .unwrap()
}

#[test]
fn a_run_killed_at_any_point_loses_nothing_and_the_next_run_succeeds() {
    let _one = HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some((w, took)) = committed_run() else {
        return;
    };
    let mut before = w.fingerprint("c.db");
    let events = w.sql("c.db", "SELECT * FROM lead_events ORDER BY id");
    assert!(
        events.iter().any(|e| e.contains("|crash test|")),
        "{events:?}"
    );
    let old = lead_count(&w);
    let mut tested = Vec::new();
    let mut skipped = 0;
    // Early (ingest) to late (evaluation) in a run at least as long as the first.
    for fraction in [0.05, 0.2, 0.4, 0.6] {
        let at = took.mul_f64(fraction).max(Duration::from_millis(100));
        let mut run = Guard::spawn(&w, &run_args());
        std::thread::sleep(at);
        if !run.running() {
            // A machine that got faster since the first run: the run committed before this
            // point. It must have succeeded; the committed state is the new baseline.
            assert!(
                run.wait().success(),
                "the run failed before the kill point {at:?}"
            );
            before = w.fingerprint("c.db");
            skipped += 1;
            continue;
        }
        run.kill();
        tested.push(at);
        if let Some(db) = w.sqlite("c.db") {
            assert_eq!(integrity(&db), "ok", "after a kill at {at:?}");
        }
        assert_eq!(before, w.fingerprint("c.db"), "after a kill at {at:?}");
        assert_eq!(
            events,
            w.sql("c.db", "SELECT * FROM lead_events ORDER BY id"),
            "after a kill at {at:?}"
        );
    }
    eprintln!("kill points tested: {tested:?} (a full run took {took:?})");
    assert!(
        skipped <= 1,
        "{skipped} kill points came after the commit; tested {tested:?}"
    );
    // The next run completes and keeps the history.
    let mut run = Guard::spawn(&w, &run_args());
    let status = run.wait();
    assert!(status.success(), "the run after the kills failed: {status}");
    if let Some(db) = w.sqlite("c.db") {
        assert_eq!(integrity(&db), "ok");
    }
    assert!(
        skipped > 0 || lead_count(&w) > old,
        "the new trigger added no leads"
    );
    let kept = w.sql(
        "c.db",
        "SELECT count(*) FROM lead_events WHERE by = 'crash test' AND to_status = 'contacted'",
    );
    assert_eq!(kept, ["1"]);
}

/// The top of the queue as a reader sees it: (lead id, score) of the best 20.
fn top(w: &Workdir) -> Vec<(String, f64)> {
    let out = w.run(&["leads", "--db", "c.db", "--format", "json", "--limit", "20"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "reader failed ({:?}) while the run wrote:\n{stderr}",
        out.status.code()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lead_id"].as_str().unwrap().to_string(),
                l["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn views_answer_from_the_last_commit_while_a_run_writes() {
    let _one = HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some((w, _)) = committed_run() else {
        return;
    };
    let old_count = lead_count(&w);
    let old = top(&w);
    let mut writer = Guard::spawn(&w, &run_args());
    let started = Instant::now();
    // (what the reader saw, writer still running after the read)
    let mut seen: Vec<(Vec<(String, f64)>, bool)> = Vec::new();
    loop {
        let now = top(&w);
        let running = writer.running();
        seen.push((now, running));
        if !running {
            break;
        }
        assert!(started.elapsed() < BOUND, "the run did not finish");
    }
    assert!(writer.wait().success(), "the writer failed");
    let new = top(&w);
    assert_ne!(old, new, "the new weights changed no score");
    assert!(lead_count(&w) > old_count, "the new trigger added no leads");
    // The old state until the commit, then the new one; never anything in between.
    let first_new = seen
        .iter()
        .position(|(t, _)| *t == new)
        .unwrap_or(seen.len());
    let bad: Vec<usize> = (0..seen.len())
        .filter(|&i| seen[i].0 != if i < first_new { &old } else { &new }[..])
        .collect();
    assert!(
        bad.is_empty(),
        "reads {bad:?} of {} saw a state that was neither",
        seen.len()
    );
    let during = seen.iter().filter(|(_, running)| *running).count();
    assert!(during >= 5, "only {during} reads overlapped the run");
    eprintln!("{during} reads while the run wrote, all from the last commit");
}
