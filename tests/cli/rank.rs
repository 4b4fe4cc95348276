//! Priority by rank (`priority_mode: rank`): the share of the active leads each priority gets,
//! fixed thresholds staying the default, and `whatif` showing the switch.
// See: issue 21 ("Priorities that triage").

use crate::util::{Workdir, real_run, sample_run};

fn counts(w: &Workdir, db: &str) -> Vec<String> {
    w.sql(
        db,
        "SELECT priority, count(*) FROM leads WHERE active = 1 GROUP BY 1 ORDER BY 1",
    )
}

#[test]
fn by_rank_each_share_of_the_active_leads_gets_its_priority() {
    let Some(w) = Workdir::try_new() else { return };
    w.edit(
        "config/onelead.yaml",
        "priority_mode: thresholds",
        "priority_mode: rank",
    );
    w.edit(
        "config/onelead.yaml",
        "  high: 25\n  medium: 50",
        "  high: 30\n  medium: 60",
    );
    let out = w.run_sample("s.db");
    assert!(out.contains("\npriority by rank: CRITICAL from "), "{out}");
    // Worked out from the stored scores: a lead's rank is one more than the number of leads
    // scoring higher; the top 10% by rank are CRITICAL, the top 30% CRITICAL or HIGH, …
    let rows = w.sql(
        "s.db",
        "SELECT l.priority, (SELECT count(*) FROM leads m WHERE m.active = 1 AND m.score > l.score) + 1,
                (SELECT count(*) FROM leads WHERE active = 1)
         FROM leads l WHERE l.active = 1",
    );
    assert!(rows.len() > 50, "{rows:?}");
    for row in &rows {
        let [priority, rank, n]: [&str; 3] = row.split('|').collect::<Vec<_>>().try_into().unwrap();
        let (rank, n): (f64, f64) = (rank.parse().unwrap(), n.parse().unwrap());
        let expected = if rank <= (n * 0.10).floor() {
            "CRITICAL"
        } else if rank <= (n * 0.30).floor() {
            "HIGH"
        } else if rank <= (n * 0.60).floor() {
            "MEDIUM"
        } else {
            "LOW"
        };
        assert_eq!(priority, expected, "rank {rank} of {n}");
    }
    let v = w.json(&sample_run("s.db"));
    let cut = &v["run"]["evaluation"]["priority_cutoffs"];
    assert!(
        cut["critical"].as_f64().unwrap() >= cut["high"].as_f64().unwrap(),
        "{v}"
    );
}

#[test]
fn fixed_thresholds_stay_the_default_and_whatif_shows_the_switch() {
    let Some(w) = Workdir::try_new() else { return };
    let v = w.json(&sample_run("s.db"));
    assert!(v["run"]["evaluation"]["priority_cutoffs"].is_null(), "{v}");
    let before = counts(&w, "s.db");
    let changes = w.json(&["whatif", "--db", "s.db", "--priority-mode", "rank"]);
    let moved = changes["reprioritised"].as_array().unwrap();
    assert!(!moved.is_empty(), "{changes}");
    // Only priorities move: no lead comes or goes, no score changes.
    assert!(changes["added"].as_array().unwrap().is_empty());
    assert!(changes["removed"].as_array().unwrap().is_empty());
    assert!(moved.iter().all(|m| m["delta"] == 0.0), "{changes}");
    // A what-if writes nothing.
    assert_eq!(counts(&w, "s.db"), before);
    // And back: the default mode asked for explicitly changes nothing.
    let same = w.json(&["whatif", "--db", "s.db", "--priority-mode", "thresholds"]);
    assert!(
        same["reprioritised"].as_array().unwrap().is_empty(),
        "{same}"
    );
}

#[test]
fn by_rank_the_real_export_spreads_its_77_leads_over_four_priorities() {
    let Some(w) = real_run() else { return };
    // Fixed thresholds (the default): HIGH 73 / MEDIUM 4, as the 77-lead test has it.
    assert_eq!(counts(&w, "r.db"), ["HIGH|73", "MEDIUM|4"]);
    let v = w.json(&["whatif", "--db", "r.db", "--priority-mode", "rank"]);
    // 77 leads: the top 10% are 7 leads, whose last scores 72.75; five more score that too.
    let after: Vec<(String, i64)> = v["after"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_i64().unwrap()))
        .collect();
    assert_eq!(
        after,
        [
            ("CRITICAL".to_string(), 12),
            ("HIGH".to_string(), 12),
            ("LOW".to_string(), 38),
            ("MEDIUM".to_string(), 15)
        ]
    );
}

#[test]
fn scenario_priorities_are_not_checked_by_rank() {
    let Some(w) = Workdir::try_new() else { return };
    w.edit(
        "config/onelead.yaml",
        "priority_mode: thresholds",
        "priority_mode: rank",
    );
    let out = w.ok(&["rules", "test"]);
    assert!(
        out.contains("note: `priority_mode` is `rank`: scenario priorities are not checked"),
        "{out}"
    );
}

#[test]
fn ranks_must_grow_from_critical_to_medium() {
    let Some(w) = Workdir::try_new() else { return };
    w.edit(
        "config/onelead.yaml",
        "  critical: 10\n  high: 25",
        "  critical: 30\n  high: 25",
    );
    let err = w.fails(&["rules", "check"], 1);
    assert!(
        err.starts_with(
            "error: `priority_ranks` must satisfy 0 < critical ≤ high ≤ medium ≤ 100 (percent), but they are 30 / 25 / 50\n --> config/onelead.yaml:"
        ),
        "{err}"
    );
}
