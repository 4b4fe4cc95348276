//! `onelead user` and `onelead serve` as a process: users from the command line, the real
//! exports through the API, and a status change made while a run writes.

use std::time::{Duration, Instant};

use super::serve_util::{Server, add_user};
use super::util::{Backend, Workdir, backend, real_run};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad json ({e}): {text}"))
}

#[test]
fn user_add_prints_the_token_last_and_the_others_manage_it() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&["sample", "--out", "data", "--rows", "20"]);
    w.ok(&["run", "--data", "data", "--db", "u.db"]);
    let token = add_user(&w, "u.db", "kim", "rep", "long enough");
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    let list = w.json(&["user", "list", "--db", "u.db"]);
    assert_eq!(list[0]["name"], "kim");
    assert_eq!(list[0]["role"], "rep");
    assert!(list[0].get("token").is_none() && list[0].get("password_hash").is_none());
    // Secrets are kept only as digests.
    // The desk: a file beside an SQLite database, tables of the same PostgreSQL database.
    let desk = match backend() {
        Backend::Sqlite => "u.desk.db",
        Backend::Postgres => "u.db",
    };
    let stored = w.sql(desk, "SELECT password_hash, token_hash FROM users");
    assert!(stored[0].starts_with("$argon2id$"), "{stored:?}");
    assert!(!stored[0].contains(&token));
    // A taken name, a short password.
    let e = w.fails(
        &["user", "add", "KIM", "--role", "viewer", "--db", "u.db"],
        1,
    );
    assert!(e.contains("user `kim`: exists already"), "{e}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onelead"))
        .args(["user", "add", "lee", "--role", "viewer", "--db", "u.db"])
        .current_dir(w.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    let rotated = w.ok(&["user", "rotate-token", "kim", "--db", "u.db"]);
    let new = rotated.lines().last().unwrap();
    assert_eq!(new.len(), 64);
    assert_ne!(new, token);
    let e = w.fails(&["user", "remove", "kin", "--db", "u.db"], 1);
    assert!(e.contains("no user `kin`; did you mean `kim`?"), "{e}");
    w.ok(&["user", "remove", "kim", "--db", "u.db"]);
    assert!(
        w.ok(&["user", "list", "--db", "u.db"])
            .contains("no users yet")
    );
}

#[test]
fn serve_refuses_a_public_address_without_users() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&["sample", "--out", "data", "--rows", "20"]);
    w.ok(&["run", "--data", "data", "--db", "p.db"]);
    let e = w.fails(&["serve", "--listen", "0.0.0.0:0", "--db", "p.db"], 2);
    assert!(
        e.contains("refusing to listen on `0.0.0.0:0` with no users"),
        "{e}"
    );
}

/// 77 leads = 30 + 27 + 20: the design document's headline on `DataExportAug29th.xlsx`.
#[test]
fn the_real_export_through_the_api_with_a_viewer_and_a_rep() {
    let Some(w) = real_run() else { return };
    let viewer = add_user(&w, "r.db", "vera", "viewer", "viewer password");
    let rep = add_user(&w, "r.db", "ravi", "rep", "rep password");
    let server = Server::start(&w, "r.db");
    let all = server.api("GET", "/api/leads", Some(&viewer), None);
    assert_eq!(all.status, 200);
    assert_eq!(all.header("content-type"), Some("application/json"));
    let leads = json(&all.body);
    assert_eq!(leads.as_array().unwrap().len(), 77);
    // Exactly what `onelead leads --format json` prints.
    assert_eq!(
        all.body,
        w.ok(&["leads", "--db", "r.db", "--format", "json"])
    );
    let id = leads[0]["lead_id"].as_str().unwrap().to_string();
    let path = format!("/api/leads/{id}/status");
    let body = r#"{"status": "contacted", "note": "called the account"}"#;
    let denied = server.api("POST", &path, Some(&viewer), Some(body));
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(server.api("POST", &path, None, Some(body)).status, 401);
    let done = server.api("POST", &path, Some(&rep), Some(body));
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(json(&done.body)["applied"], true);
    let contacted = w.json(&["leads", "--db", "r.db", "--status", "contacted"]);
    let ids: Vec<&str> = contacted
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let explained = w.json(&["explain", &id, "--db", "r.db"]);
    let last = explained["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "status");
    assert_eq!(last["by"], "ravi");
    assert_eq!(last["note"], "called the account");
    assert!(w.ok(&["explain", &id, "--db", "r.db"]).contains("ravi"));
}

/// True while another connection holds the database's write lock (a run's transaction).
fn write_locked(db: &std::path::Path) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::ZERO).unwrap();
    match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
        Ok(()) => false,
        Err(e) => matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ),
    }
}

/// A rep's change made while a `run` holds the lead database is answered at once, applied when
/// the run ends, and kept by the next run.
#[test]
fn a_status_change_made_while_a_run_writes_is_kept() {
    // It waits for SQLite's file lock. On PostgreSQL the same story is told by
    // `postgres::two_status_changes_at_the_same_moment_both_land_and_survive_a_rerun`.
    if backend() == Backend::Postgres {
        return;
    }
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&[
        "sample", "--out", "data", "--rows", "5000", "--format", "csv", "--seed", "7",
    ]);
    w.ok(&["run", "--data", "data", "--db", "c.db"]);
    let rep = add_user(&w, "c.db", "ravi", "rep", "rep password");
    let server = Server::start(&w, "c.db");
    let first = json(
        &server
            .api("GET", "/api/leads?limit=1&status=new", Some(&rep), None)
            .body,
    );
    let id = first[0]["lead_id"].as_str().unwrap().to_string();
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_onelead"))
        .args(["run", "--data", "data", "--db", "c.db"])
        .current_dir(w.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !write_locked(&w.join("c.db")) {
        assert!(
            run.try_wait().unwrap().is_none(),
            "the run ended before it was seen writing"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(2));
    }
    let asked = Instant::now();
    let body = r#"{"status": "qualified", "note": "during the run"}"#;
    let answer = server.api(
        "POST",
        &format!("/api/leads/{id}/status"),
        Some(&rep),
        Some(body),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        asked.elapsed()
    );
    if run.try_wait().unwrap().is_none() {
        // Still writing: the change waits in the journal.
        assert_eq!(json(&answer.body)["applied"], false, "{}", answer.body);
    }
    // Pending or applied already, every reader sees it from now on: the CLI too.
    let qualified = w.json(&["leads", "--db", "c.db", "--status", "qualified"]);
    assert!(
        qualified
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["lead_id"] == id.as_str()),
        "{qualified}"
    );
    assert!(run.wait().unwrap().success());
    // The server applies it once the run lets go.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = w.json(&["explain", &id, "--db", "c.db"])["status"].clone();
        if status == "qualified" {
            break;
        }
        assert!(Instant::now() < deadline, "never applied (status {status})");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A rerun keeps it, and the history says who and why.
    w.ok(&["run", "--data", "data", "--db", "c.db"]);
    let e = w.json(&["explain", &id, "--db", "c.db"]);
    assert_eq!(e["status"], "qualified");
    let ev = e["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "status")
        .unwrap()
        .clone();
    assert_eq!(
        (ev["by"].as_str(), ev["note"].as_str()),
        (Some("ravi"), Some("during the run"))
    );
}

/// Assignment rules place the leads nobody owns, first match wins (an owner already set is
/// kept: see `store::sqlite::owners`).
#[test]
fn assignment_rules_place_unowned_leads_first_match_wins() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&["sample", "--out", "data", "--rows", "60", "--format", "csv"]);
    w.ok(&["run", "--data", "data", "--db", "a.db"]);
    let all = w.json(&["leads", "--db", "a.db"]);
    let leads = all.as_array().unwrap();
    assert!(
        leads.iter().all(|l| l["owner"].is_null()),
        "no rules, no owners"
    );
    let territory = leads[0]["territory_id"].as_str().unwrap().to_string();
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml"))
        .unwrap()
        .replace(
            "assignment: []",
            &format!(
                "assignment:\n  - {{owner: kim, territory: ['{territory}']}}\n  - {{owner: ops}}"
            ),
        );
    w.write("config/onelead.yaml", &cfg);
    w.ok(&["run", "--data", "data", "--db", "a.db"]);
    let all = w.json(&["leads", "--db", "a.db"]);
    for l in all.as_array().unwrap() {
        let expect = if l["territory_id"] == territory.as_str() {
            "kim"
        } else {
            "ops"
        };
        assert_eq!(l["owner"], expect, "{}", l["lead_id"]);
    }
    let kims = w.json(&["leads", "--db", "a.db", "--owner", "kim"]);
    assert!(!kims.as_array().unwrap().is_empty());
}

/// Scripted assignment rules (`rules/assign/*.rhai`) are tried first, in path order, then the
/// config's list; a rule that fails stops the run with its position and the lead it was
/// judging, and leaves the database as it was.
#[test]
fn scripted_assignment_rules_come_first_in_path_order_then_the_config() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&["sample", "--out", "data", "--rows", "60", "--format", "csv"]);
    w.ok(&["run", "--data", "data", "--db", "a.db"]);
    let all = w.json(&["leads", "--db", "a.db"]);
    let leads = all.as_array().unwrap();
    // The best lead goes to kim; the territory of the last (a lower score) to lee.
    let top = leads[0]["score"].as_f64().unwrap();
    let last = leads.last().unwrap();
    assert!(last["score"].as_f64().unwrap() < top);
    let territory = last["territory_id"].as_str().unwrap().to_string();
    let before = w.fingerprint("a.db");
    w.write(
        "rules/assign/10_typo.rhai",
        "fn assign(lead, cfg) {\n    if lead.scor >= 0.0 { \"kim\" }\n}\n",
    );
    let err = w.fails(&["run", "--data", "data", "--db", "a.db"], 1);
    assert!(err.contains("assign/10_typo.rhai:2:13"), "{err}");
    assert!(err.contains("did you mean `score`?"), "{err}");
    assert!(err.contains("while evaluating lead `"), "{err}");
    assert_eq!(before, w.fingerprint("a.db"), "the database changed");
    std::fs::remove_file(w.join("rules/assign/10_typo.rhai")).unwrap();
    w.write(
        "rules/assign/20_territory.rhai",
        &format!(
            "fn assign(lead, cfg) {{ if lead.territory_id == \"{territory}\" {{ \"lee\" }} }}\n"
        ),
    );
    w.write(
        "rules/assign/10_top.rhai",
        &format!("fn assign(lead, cfg) {{ if lead.score >= {top:?} {{ return \"kim\"; }} () }}\n"),
    );
    let check = w.ok(&["rules", "check"]);
    assert!(check.contains("3 services, 2 assign; hash"), "{check}");
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml"))
        .unwrap()
        .replace("assignment: []", "assignment:\n  - {owner: ops}");
    w.write("config/onelead.yaml", &cfg);
    w.ok(&["run", "--data", "data", "--db", "a.db"]);
    let all = w.json(&["leads", "--db", "a.db"]);
    let mut seen = std::collections::BTreeSet::new();
    for l in all.as_array().unwrap() {
        let expect = if l["score"].as_f64().unwrap() >= top {
            "kim"
        } else if l["territory_id"] == territory.as_str() {
            "lee"
        } else {
            "ops"
        };
        assert_eq!(l["owner"], expect, "{}", l["lead_id"]);
        seen.insert(expect);
    }
    assert_eq!(seen.len(), 3, "every rule placed a lead: {seen:?}");
}
