//! Changes accepted while a `run` holds the lead database: every page and the API show them at
//! once, and they are applied when the run lets go.

use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::harness;
use crate::auth::Role;
use crate::store::Store;

/// `(lead_id, status, owner)` of `/api/leads?{query}` as the rep sees it.
async fn listed(h: &super::Harness, query: &str) -> Vec<(String, String, String)> {
    let a = h
        .api("GET", &format!("/api/leads?{query}"), Some(Role::Rep), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: Vec<serde_json::Value> = serde_json::from_str(&a.body).unwrap();
    v.iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or("-").to_string();
            (text("lead_id"), text("status"), text("owner"))
        })
        .collect()
}

#[tokio::test]
async fn owners_and_statuses_changed_during_a_run_show_at_once_and_are_applied_after_it() {
    let h = harness();
    let stored = listed(&h, "territory=T1").await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(stored.iter().all(|l| l.2 == "-"), "{stored:?}");
    // A run takes the lead database's write lock and keeps it.
    let mut run = Store::open_existing(&h.db).unwrap();
    let tx = run.begin().unwrap();
    let boss = h.login(Role::Manager).await;
    let a = h
        .post(
            "/leads/reassign",
            Some(&boss),
            "query=territory%3DT1&owner=rep",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body
            .contains("3 leads assigned to <strong>rep</strong> (a run is writing the leads"),
        "{}",
        a.body
    );
    let first = stored[0].0.clone();
    let rep = h.login(Role::Rep).await;
    let a = h
        .post(
            &format!("/leads/{first}/status"),
            Some(&rep),
            "status=contacted&note=rang",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // My leads, its count, the owner filter and the status filter all see the changes.
    let expected: Vec<(String, String, String)> = stored
        .iter()
        .map(|(id, status, _)| {
            let status = if *id == first { "contacted" } else { status };
            (id.clone(), status.to_string(), "rep".to_string())
        })
        .collect();
    assert_eq!(listed(&h, "mine=1").await, expected);
    assert_eq!(listed(&h, "owner=rep").await, expected);
    let contacted: Vec<_> = expected
        .iter()
        .filter(|l| l.1 == "contacted")
        .cloned()
        .collect();
    assert!(contacted.iter().any(|l| l.0 == first), "{contacted:?}");
    assert_eq!(listed(&h, "owner=rep&status=contacted").await, contacted);
    let mine = h.get("/leads?mine=1", Some(&rep)).await.body;
    assert!(mine.contains("3 leads match"), "{mine}");
    assert!(mine.contains("pending"), "{mine}");
    let one = h
        .api(
            "GET",
            &format!("/api/leads/{first}"),
            Some(Role::Viewer),
            None,
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&one.body).unwrap();
    assert_eq!(
        (v["owner"].as_str(), v["status"].as_str()),
        (Some("rep"), Some("contacted"))
    );
    // The lead database itself has none of it yet.
    let reader = Store::open_existing(&h.db).unwrap();
    assert_eq!(owners(&reader, &stored), ["-", "-", "-"]);
    // The run ends; the server applies the changes within its retry interval.
    tx.commit().unwrap();
    let started = Instant::now();
    while owners(&reader, &stored) != ["rep", "rep", "rep"] {
        assert!(started.elapsed() < Duration::from_secs(20), "never applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed(&h, "mine=1").await, expected);
    let mine = h.get("/leads?mine=1", Some(&rep)).await.body;
    assert!(!mine.contains("pending"), "{mine}");
}

/// The stored owners of `leads`, `-` for nobody.
fn owners(store: &Store, leads: &[(String, String, String)]) -> Vec<String> {
    let mut r = store.reader().unwrap();
    leads
        .iter()
        .map(|(id, ..)| {
            let lead = r.lead_by_id(id).unwrap().unwrap();
            lead.owner.unwrap_or_else(|| "-".into())
        })
        .collect()
}

/// The stored status of `lead_id`.
fn stored_status(store: &Store, lead_id: &str) -> String {
    let mut r = store.reader().unwrap();
    r.lead_by_id(lead_id).unwrap().unwrap().status
}

/// `POST /api/leads/{lead_id}/status` as the rep; the answer's `to` and `applied`.
async fn change(h: &super::Harness, lead_id: &str, body: &str) -> (String, bool) {
    let a = h
        .api(
            "POST",
            &format!("/api/leads/{lead_id}/status"),
            Some(Role::Rep),
            Some(body),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    (
        v["to"].as_str().unwrap().to_string(),
        v["applied"].as_bool().unwrap(),
    )
}

/// While a run holds the lead database, every status change is answered as pending (once one
/// has found the run there, the next ones no longer wait for it) and shown at once; when the
/// run lets go they are applied, and the change after that is answered as applied again: the
/// "a run holds it" state does not outlive the run.
#[tokio::test]
async fn status_changes_during_a_run_are_answered_pending_and_applied_after_it() {
    let h = harness();
    let lead = "CCCC0004";
    let reader = Store::open_existing(&h.db).unwrap();
    assert_eq!(stored_status(&reader, lead), "new");
    let mut run = Store::open_existing(&h.db).unwrap();
    let tx = run.begin().unwrap();
    for note in ["first", "second", "third"] {
        let body = format!(r#"{{"status":"contacted","note":"{note}"}}"#);
        assert_eq!(
            change(&h, lead, &body).await,
            ("contacted".to_string(), false)
        );
    }
    let shown = h
        .api("GET", &format!("/api/leads/{lead}"), Some(Role::Rep), None)
        .await;
    let v: serde_json::Value = serde_json::from_str(&shown.body).unwrap();
    assert_eq!(v["status"].as_str(), Some("contacted"), "{}", shown.body);
    assert_eq!(stored_status(&reader, lead), "new");
    tx.commit().unwrap();
    let started = Instant::now();
    while stored_status(&reader, lead) != "contacted" {
        assert!(started.elapsed() < Duration::from_secs(20), "never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = r#"{"status":"contacted","note":"after the run"}"#;
    assert_eq!(
        change(&h, lead, body).await,
        ("contacted".to_string(), true)
    );
    // Every change made during the run is in the lead's history, none lost.
    let shown = h
        .api("GET", &format!("/api/leads/{lead}"), Some(Role::Rep), None)
        .await;
    let v: serde_json::Value = serde_json::from_str(&shown.body).unwrap();
    let mut notes: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "status")
        .filter_map(|e| e["note"].as_str())
        .collect();
    notes.sort_unstable();
    assert_eq!(notes, ["after the run", "first", "second", "third"]);
}
