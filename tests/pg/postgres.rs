//! What only a shared PostgreSQL database does (issue 24): the same leads as SQLite on the real
//! exports, reps' status changes from several processes at once, evaluation by worker
//! processes (one killed mid-partition), and connection errors that name the server and never
//! the password.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workdir, real_run, shared_data};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample");
const AS_OF: &str = "2025-10-29";
/// Nothing here should take longer; a child still running then is killed and the test fails.
const BOUND: Duration = Duration::from_secs(300);

/// A child process killed and reaped when dropped.
struct Guard(Child);

impl Guard {
    fn wait(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(started.elapsed() < BOUND, "still running after {BOUND:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `leads --include-inactive`-like: every active lead as JSON, with the times (which differ
/// from run to run) blanked.
fn leads(w: &Workdir, db: &str) -> String {
    let text = w.ok(&[
        "export",
        "--db",
        db,
        "--format",
        "json",
        "--include-inactive",
    ]);
    let all = w.ok(&["leads", "--db", db, "--format", "json"]);
    blank_times(&format!("{text}\n{all}"))
}

/// Replaces `YYYY-MM-DDTHH:MM:SSZ` times with `[TIME]`.
fn blank_times(s: &str) -> String {
    let b = s.as_bytes();
    let is_time = |i: usize| {
        i + 20 <= b.len()
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z'
    };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if is_time(i) {
            out.extend_from_slice(b"[TIME]");
            i += 20;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Waits (up to [`BOUND`]) until `query` on `db` answers `expected`; the tables may not exist
/// yet.
fn wait_for(w: &Workdir, db: &str, query: &str, expected: &str) {
    let started = Instant::now();
    while w.try_sql(db, query).is_none_or(|r| r.concat() != expected) {
        assert!(started.elapsed() < BOUND, "{query} never gave {expected}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_real_exports_give_the_same_leads_on_postgres_as_on_sqlite() {
    let Some(w) = real_run() else { return };
    let data = shared_data().unwrap();
    let file = w.join("r.sqlite").to_str().unwrap().to_string();
    w.ok(&[
        "run",
        "--data",
        data.to_str().unwrap(),
        "--db",
        &file,
        "--as-of",
        AS_OF,
    ]);
    let on_sqlite = leads(&w, &file);
    // 77 leads = 30 + 27 + 20: the design document's headline on DataExportAug29th.xlsx.
    let n = w.json(&["leads", "--db", "r.db"]).as_array().unwrap().len();
    assert_eq!(n, 77);
    assert_eq!(leads(&w, "r.db"), on_sqlite);
    // Every view answers, and answers alike.
    for view in ["dashboard", "territories", "analytics", "funnel", "digest"] {
        assert_eq!(
            blank_times(&w.ok(&[view, "--db", "r.db", "--format", "json"])),
            blank_times(&w.ok(&[view, "--db", &file, "--format", "json"])),
            "{view}"
        );
    }
    // Evaluated by two worker processes: the same leads again.
    w.ok(&[
        "run",
        "--data",
        data.to_str().unwrap(),
        "--db",
        "workers.db",
        "--as-of",
        AS_OF,
        "--workers",
        "2",
    ]);
    assert_eq!(leads(&w, "workers.db"), on_sqlite);
}

#[test]
fn two_status_changes_at_the_same_moment_both_land_and_survive_a_rerun() {
    let Some(w) = Workdir::try_new() else { return };
    let run = ["run", "--data", SAMPLE, "--db", "s.db", "--as-of", AS_OF];
    w.ok(&run);
    let top = w.json(&["leads", "--db", "s.db", "--limit", "4"]);
    let ids: Vec<String> = (0..4)
        .map(|i| top[i]["lead_id"].as_str().unwrap().to_string())
        .collect();
    // Both at once, while a rerun writes the leads.
    let mut rerun = Guard(w.command(&run).stdout(Stdio::null()).spawn().unwrap());
    let mut changes: Vec<Guard> = [(&ids[0], "contacted", "ann"), (&ids[1], "qualified", "bob")]
        .iter()
        .map(|(id, to, by)| {
            Guard(
                w.command(&["status", id, to, "--by", by, "--db", "s.db"])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    for c in &mut changes {
        assert!(c.wait().success());
    }
    assert!(rerun.wait().success());
    w.ok(&run);
    let status = |id: &str| -> String {
        w.sql(
            "s.db",
            &format!("SELECT status FROM leads WHERE lead_id = '{id}'"),
        )
        .concat()
    };
    assert_eq!(status(&ids[0]), "contacted");
    assert_eq!(status(&ids[1]), "qualified");
    assert_eq!(status(&ids[2]), "new");
    let history = w.sql(
        "s.db",
        "SELECT lead_id, from_status, to_status, by FROM lead_events WHERE kind = 'status'
         ORDER BY lead_id",
    );
    let mut expected = vec![
        format!("{}|new|contacted|ann", ids[0]),
        format!("{}|new|qualified|bob", ids[1]),
    ];
    expected.sort();
    assert_eq!(history, expected);
}

/// A trigger that also burns CPU (the same result, slower): a partition then takes long
/// enough to kill its worker in the middle of it.
const SLOW: &str =
    "fn trigger(item, account, cfg) {\n    let spin = 0;\n    for i in 0..15000 { spin += i; }\n";

#[test]
fn a_worker_killed_mid_partition_loses_nothing_and_doubles_nothing() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&[
        "sample", "--out", "big", "--rows", "1200", "--format", "csv",
    ]);
    let trigger = "rules/triggers/renewal.rhai";
    let text = std::fs::read_to_string(w.join(trigger)).unwrap();
    assert!(text.contains("fn trigger(item, account, cfg) {\n"));
    w.write(
        trigger,
        &text.replacen("fn trigger(item, account, cfg) {\n", SLOW, 1),
    );
    let run = |db: &str| ["run", "--data", "big", "--db", db, "--as-of", AS_OF].map(String::from);
    // The reference: one process.
    let one: Vec<String> = run("one.db").to_vec();
    w.ok(&one.iter().map(String::as_str).collect::<Vec<_>>());
    let expected = leads(&w, "one.db");

    // The run waits for workers started elsewhere.
    let mut args = run("w.db").to_vec();
    args.extend(["--workers".into(), "0".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut running = Guard(
        w.command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Workers find the partitions once the run has published them.
    wait_for(&w, "w.db", "SELECT count(*) > 0 FROM work_parts", "true");
    let worker = |extra: &[&str]| {
        let mut a = vec!["worker", "--db", "w.db"];
        a.extend(extra);
        Guard(
            w.command(&a)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };
    let mut first = worker(&[]);
    let mut seen = Vec::new();
    for line in BufReader::new(first.0.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("claimed partition") {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("claimed partition")),
        "the worker claimed nothing: {seen:?}"
    );
    // Killed with the partition in hand: none is done, nothing is staged.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        w.sql("w.db", "SELECT count(*) FROM work_parts WHERE done"),
        ["0"]
    );
    assert_eq!(w.sql("w.db", "SELECT count(*) FROM work_outcomes"), ["0"]);
    let parts: i64 = w
        .sql("w.db", "SELECT count(*) FROM work_parts")
        .concat()
        .parse()
        .unwrap();
    assert!(parts >= 2, "{parts} partitions");
    // Another worker takes every partition, the killed one too, and the run commits.
    let mut second = worker(&["--exit-when-done"]);
    assert!(second.wait().success());
    assert!(running.wait().success());
    assert_eq!(leads(&w, "w.db"), expected);
    // Every lead once, created once.
    let counts = |db: &str| {
        w.sql(
            db,
            "SELECT count(*), count(DISTINCT lead_id),
               (SELECT count(*) FROM lead_events WHERE kind = 'created') FROM leads",
        )
    };
    assert_eq!(counts("w.db"), counts("one.db"));
    let c = counts("w.db").concat();
    let n: Vec<&str> = c.split('|').collect();
    assert!(n[0] == n[1] && n[1] == n[2], "{c}");
    // The scratch is gone.
    assert_eq!(w.sql("w.db", "SELECT count(*) FROM work_items"), ["0"]);
}

#[test]
fn bad_urls_unreachable_servers_and_wrong_passwords_exit_1_naming_the_host() {
    let Some(w) = Workdir::try_new() else { return };
    let port = crate::pg::server().unwrap().port();
    w.execute(
        "x.db",
        "DO $$ BEGIN CREATE ROLE carol LOGIN PASSWORD 'right-pw';
         EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    );
    for (url, expected) in [
        (
            "postgres://carol:hunter2@127.0.0.1:notaport/x".to_string(),
            "not a valid PostgreSQL URL",
        ),
        (
            "postgres://carol:hunter2@127.0.0.1:1/x".to_string(),
            "cannot connect to `127.0.0.1:1`",
        ),
        (
            format!("postgres://carol:hunter2@127.0.0.1:{port}/postgres"),
            "password authentication failed for user \"carol\"",
        ),
    ] {
        for cmd in ["run", "leads", "status"] {
            let mut args = vec![cmd, "--db", &url];
            if cmd == "run" {
                args.extend(["--data", SAMPLE]);
            }
            if cmd == "status" {
                args.extend(["ABCDEFGH", "contacted"]);
            }
            let err = w.fails(&args, 1);
            assert!(
                err.starts_with("error: database `postgres://carol"),
                "{err}"
            );
            assert!(err.contains("127.0.0.1:"), "{err}");
            assert!(err.contains(expected), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
