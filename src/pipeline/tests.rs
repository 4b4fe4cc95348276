//! The pipeline against itself: partial, re-weighed and carried evaluations give what a full
//! one gives, column for column.

use super::*;
use crate::store::testdb;

const MODE: Mode<'static> = Mode {
    command: "watch",
    ingest: false,
    make_leads: true,
    commit: true,
    changes: Changes::All,
    indexes_later: false,
};

fn settings(db: &Path) -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Settings::resolve(
        &root.join("config/onelead.yaml"),
        Some(db),
        &[root.join("data/sample")],
        Some(&root.join("rules")),
        NaiveDate::from_ymd_opt(2025, 9, 1),
    )
    .unwrap()
}

type Row = Vec<Option<String>>;

fn leads(store: &Store) -> Vec<Row> {
    testdb::rows(
        store,
        "SELECT lead_id, priority, score, active, fingerprint, title FROM leads
         ORDER BY lead_id",
    )
}

fn run(store: &mut Store, s: &Settings, mode: Mode<'_>, carry: Option<&mut Carry>) -> RunReport {
    let rules = load_rules(s).unwrap();
    execute(store, s, &rules, mode, &|_, _| {}, carry).unwrap()
}

/// Two databases loaded alike from the sample, `a` by a run that kept what `watch` carries.
struct Twins {
    a: Store,
    b: Store,
    sa: Settings,
    sb: Settings,
    carry: Carry,
}

fn twins(dir: &Path, rules: Option<&Path>) -> Twins {
    let (a_db, b_db) = (dir.join("a.db"), dir.join("b.db"));
    let (mut a, mut b) = (Store::open(&a_db).unwrap(), Store::open(&b_db).unwrap());
    let (mut sa, mut sb) = (settings(&a_db), settings(&b_db));
    if let Some(r) = rules {
        sa.rules_dir = r.to_path_buf();
        sb.rules_dir = r.to_path_buf();
    }
    let mut carry = Carry::default();
    let first = Mode {
        ingest: true,
        ..MODE
    };
    run(&mut a, &sa, first, Some(&mut carry));
    run(&mut b, &sb, first, None);
    Twins {
        a,
        b,
        sa,
        sb,
        carry,
    }
}

/// Two databases built alike, one re-evaluated with what `watch` carries between saves and
/// one from scratch each time, must agree after every step — including after another
/// connection wrote to the database, when the carried state is stale.
#[test]
fn carried_state_gives_what_a_fresh_read_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (a_db, b_db) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let Twins {
        mut a,
        mut b,
        mut sa,
        mut sb,
        mut carry,
    } = twins(dir.path(), None);
    assert!(!carry.is_empty());
    assert_eq!(leads(&a), leads(&b));

    // A weight edit moves scores: the carried states must say what was stored.
    for s in [&mut sa, &mut sb] {
        for w in s.cfg.scoring_weights.values_mut() {
            *w = 0.25;
        }
    }
    let ra = run(&mut a, &sa, MODE, Some(&mut carry));
    let rb = run(&mut b, &sb, MODE, None);
    assert!(!carry.is_empty());
    assert_eq!(ra.evaluation.changes, rb.evaluation.changes);
    assert!(!ra.evaluation.changes.unwrap_or_default().is_empty());
    assert_eq!(leads(&a), leads(&b));

    // Another connection closes leads; the same rules must reopen them.
    for db in [&a_db, &b_db] {
        testdb::execute_elsewhere(db, "UPDATE lead_rows SET active = 0 WHERE rowid % 3 = 0");
    }
    let ra = run(&mut a, &sa, MODE, Some(&mut carry));
    let rb = run(&mut b, &sb, MODE, None);
    assert!(rb.evaluation.reopened > 0);
    assert_eq!(ra.evaluation.reopened, rb.evaluation.reopened);
    assert_eq!(ra.evaluation.changes, rb.evaluation.changes);
    assert_eq!(leads(&a), leads(&b));

    // Nothing changed since: nothing to report on either side.
    let ra = run(&mut a, &sa, MODE, Some(&mut carry));
    let rb = run(&mut b, &sb, MODE, None);
    assert_eq!(ra.evaluation.changes, rb.evaluation.changes);
    assert!(rb.evaluation.changes.unwrap_or_default().is_empty());
    assert_eq!(leads(&a), leads(&b));

    // New rows arrive (watch saw a data file change): the carried rows are stale.
    let extra = dir.path().join("more.csv");
    std::fs::write(
        &extra,
        "Serial_Number_Id,Product_Id,Product_Name,Account_Name,Account_Sales_Territory_Id,\
         Product_End_of_Life_Date,Final_Service_End_Date,Support_Status\n\
         SN-NEW-1,P1,ProLiant DL360 Gen8,Acme,100,2015-01-01,2019-01-01,Expired\n\
         SN-NEW-2,P2,ProLiant DL380 Gen9,Acme,100,2016-01-01,2020-01-01,Expired\n",
    )
    .unwrap();
    let reload = Mode {
        ingest: true,
        ..MODE
    };
    for s in [&mut sa, &mut sb] {
        s.inputs.push(extra.clone());
    }
    let ra = run(&mut a, &sa, reload, Some(&mut carry));
    let rb = run(&mut b, &sb, reload, None);
    assert!(rb.evaluation.changes.unwrap_or_default().added.len() >= 2);
    assert_eq!(ra.evaluation.items, rb.evaluation.items);
    assert_eq!(leads(&a), leads(&b));
}

type FullRow = Vec<Option<String>>;

/// Leads re-evaluated in place, after each kind of change, hold what a database evaluated
/// from scratch with the same settings holds: each kind of change writes its own subset of
/// the columns (see `score::ledger`), and none may leave a stale one behind.
#[test]
fn an_update_in_place_leaves_what_a_fresh_evaluation_writes() {
    let dir = tempfile::tempdir().unwrap();
    let Twins { mut a, mut sa, .. } = twins(dir.path(), None);
    let fresh_db = |name: &str, s: &Settings| {
        let db = dir.path().join(name);
        let mut store = Store::open(&db).unwrap();
        let mut s = s.clone();
        s.db = db.into();
        run(
            &mut store,
            &s,
            Mode {
                ingest: true,
                ..MODE
            },
            None,
        );
        store
    };
    // A weight change moves every score; a threshold change moves priorities only.
    for w in sa.cfg.scoring_weights.values_mut() {
        *w = 0.25;
    }
    run(&mut a, &sa, MODE, None);
    let moved = fresh_db("w.db", &sa);
    // Two databases number their runs differently.
    assert_eq!(
        full_leads_but(&a, &["run_id"]),
        full_leads_but(&moved, &["run_id"])
    );
    // Moving every score dropped the lead indexes for the update; they are all back.
    let indexes = |s: &Store| -> Vec<String> {
        testdb::rows(
            s,
            "SELECT sql FROM sqlite_master
             WHERE type = 'index' AND tbl_name = 'lead_rows' AND sql IS NOT NULL
             ORDER BY name",
        )
        .into_iter()
        .filter_map(|mut r| r.remove(0))
        .collect()
    };
    assert_eq!(indexes(&a).len(), 9);
    assert_eq!(indexes(&a), indexes(&moved));
    // `watch` leaves the indexes a move dropped to build after its report; the one that holds
    // no score (the summary's) was never dropped.
    let names: Vec<String> = sa.cfg.scoring_weights.keys().cloned().collect();
    for (name, w) in names.iter().zip([0.4, 0.1]) {
        sa.cfg.scoring_weights.insert(name.clone(), w);
    }
    let later = Mode {
        indexes_later: true,
        ..MODE
    };
    let pending = run(&mut a, &sa, later, None).evaluation.pending;
    let standing: Vec<String> = indexes(&moved)
        .into_iter()
        .filter(|sql| !pending.iter().any(|p| p.describe() == sql))
        .collect();
    assert_eq!(indexes(&a), standing);
    assert_eq!(standing.len(), 1, "{standing:?}");
    assert!(
        standing
            .iter()
            .any(|sql| sql.contains(testdb::SUMMARY_INDEX))
    );
    for p in &pending {
        a.finish(p).unwrap();
    }
    // Built already (by another command's open, say): nothing to do, no error.
    for p in &pending {
        a.finish(p).unwrap();
    }
    let moved = fresh_db("w2.db", &sa);
    assert_eq!(
        full_leads_but(&a, &["run_id"]),
        full_leads_but(&moved, &["run_id"])
    );
    assert_eq!(indexes(&a), indexes(&moved));
    sa.cfg.priority_thresholds.high -= 7.0;
    run(&mut a, &sa, MODE, None);
    let moved = fresh_db("t.db", &sa);
    // Two databases number their runs differently.
    assert_eq!(
        full_leads_but(&a, &["run_id"]),
        full_leads_but(&moved, &["run_id"])
    );
}

/// The single number `sql` selects.
fn count(store: &Store, sql: &str) -> i64 {
    testdb::count(store, sql)
}

/// Every column of every lead but the timestamps, which differ between two databases.
fn full_leads(store: &Store) -> Vec<FullRow> {
    full_leads_but(store, &[])
}

/// [`full_leads`] without the columns `skip` names.
fn full_leads_but(store: &Store, skip: &[&str]) -> Vec<FullRow> {
    let cols: Vec<String> = testdb::rows(store, "SELECT name FROM pragma_table_info('leads')")
        .into_iter()
        .filter_map(|mut r| r.remove(0))
        .filter(|c: &String| !c.ends_with("_at") && !skip.contains(&c.as_str()))
        .collect();
    let sql = format!(
        "SELECT {} FROM leads ORDER BY lead_id",
        cols.iter()
            .map(|c| format!("CAST({c} AS TEXT)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    testdb::rows(store, &sql)
}

/// One step: the change, then the triggers the partial evaluation must run (`None`:
/// everything).
type Step<'a> = (Box<dyn Fn() + 'a>, Option<Vec<&'a str>>);

/// Two evaluations (with and without what `watch` carries) give the same counts and change
/// report at step `n`.
fn assert_agree(ra: &RunReport, rb: &RunReport, n: usize) {
    let counts = |r: &RunReport| {
        let e = &r.evaluation;
        (e.items, e.leads, e.new_leads, e.closed, e.reopened)
    };
    assert_eq!(counts(ra), counts(rb), "step {n}");
    assert_eq!(ra.evaluation.changes, rb.evaluation.changes, "step {n}");
}

/// A copy of the bundled rules in `dir`, to edit.
fn copy_rules(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = dir.join("rules");
    for kind in ["classify", "triggers", "scoring", "services"] {
        std::fs::create_dir_all(rules.join(kind)).unwrap();
        for f in std::fs::read_dir(root.join("rules").join(kind)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, rules.join(kind).join(f.file_name().unwrap())).unwrap();
        }
    }
    rules
}

/// A change to the settings, as a test step.
type Change = Box<dyn Fn(&mut Settings)>;

/// After a change to the weights or priority thresholds alone, `watch` runs no rule: it
/// re-weighs the stored factors of every active lead; after an edit to scoring rules alone,
/// only those run. Every column of every lead (the fingerprint too), every count and the
/// change report must be what a full evaluation gives; and once a rule reads
/// `cfg.scoring_weights` (or classify rules return more than is stored), every rule runs.
#[test]
fn a_change_of_weights_or_scoring_rules_alone_re_scores_as_a_full_evaluation_would() {
    let dir = tempfile::tempdir().unwrap();
    let rules = copy_rules(dir.path());
    let Twins {
        mut a,
        mut b,
        mut sa,
        mut sb,
        mut carry,
    } = twins(dir.path(), Some(&rules));
    let weights = |w: [f64; 4]| -> Change {
        Box::new(move |s: &mut Settings| {
            for (v, w) in s.cfg.scoring_weights.values_mut().zip(w) {
                *v = w;
            }
        })
    };
    let edit = |from: &'static str, to: &'static str| -> Change {
        Box::new(move |s: &mut Settings| {
            let path = s.rules_dir.join("scoring/urgency.rhai");
            let text = std::fs::read_to_string(&path).unwrap();
            // Both settings name the one rules folder: the second call finds it done.
            if !text.contains(to) {
                assert!(text.contains(from), "no `{from}`");
                std::fs::write(&path, text.replace(from, to)).unwrap();
            }
        })
    };
    // (change, whether no rule but the edited scoring rules runs, whether scores move)
    let steps: Vec<(Change, bool, bool)> = vec![
        (weights([0.25; 4]), true, true),
        (
            Box::new(|s: &mut Settings| s.cfg.priority_thresholds.high -= 7.0),
            true,
            true,
        ),
        (weights([0.33, 0.27, 0.21, 0.19]), true, true),
        // A scoring rule's wording, then its numbers: only that rule runs.
        (edit("\"base 50\"", "\"base: 50\""), true, false),
        (edit("{ 30 }", "{ 25 }"), true, true),
        (
            Box::new(|s: &mut Settings| {
                std::fs::write(
                    s.rules_dir.join("classify/weighed.rhai"),
                    "fn classify(item, cfg) { #{ weighed: cfg.scoring_weights.value } }",
                )
                .unwrap();
            }),
            false,
            false,
        ),
        (weights([0.25; 4]), false, true),
        (edit("{ 25 }", "{ 30 }"), false, true),
    ];
    for (n, (change, alone, moves)) in steps.iter().enumerate() {
        change(&mut sa);
        change(&mut sb);
        let ra = run(&mut a, &sa, MODE, Some(&mut carry));
        let rb = run(&mut b, &sb, MODE, None);
        let expect = alone.then(Vec::new);
        assert_eq!(ra.evaluation.only_triggers, expect, "step {n}");
        assert_agree(&ra, &rb, n);
        let changes = ra.evaluation.changes.unwrap_or_default();
        assert_eq!(!changes.is_empty(), *moves, "step {n}");
        if n == 3 {
            // Every active lead's urgency reads differently.
            let active = count(&a, "SELECT count(*) FROM lead_rows WHERE active");
            assert_eq!(changes.reworded as i64, active);
        }
        assert_eq!(full_leads(&a), full_leads(&b), "step {n}");
        let events = "SELECT count(*) FROM lead_events WHERE kind = 'priority'";
        assert_eq!(count(&a, events), count(&b, events), "step {n}");
    }
}

const COLLIDING_TYPE: &str = "Renewal Copy 59126149";

/// After an edit to triggers alone, `watch` re-runs only the edited triggers; every lead,
/// count and change must be what a full evaluation gives — through an edit, a rename of the
/// lead type, a new trigger whose ids collide with another's (the partial evaluation must
/// give up and run everything), a removed trigger, and an edit to a scoring rule (which re-runs
/// that rule alone).
#[test]
fn a_partial_re_evaluation_gives_what_a_full_one_gives() {
    let dir = tempfile::tempdir().unwrap();
    let rules = copy_rules(dir.path());
    let Twins {
        mut a,
        mut b,
        sa,
        sb,
        mut carry,
    } = twins(dir.path(), Some(&rules));

    let edit = |file: &'static str, from: &'static str, to: &'static str| -> Box<dyn Fn()> {
        let path = rules.join("triggers").join(file);
        Box::new(move || {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(from), "{file} has no `{from}`");
            std::fs::write(&path, text.replace(from, to)).unwrap();
        })
    };
    let steps: Vec<Step> = vec![
        (
            edit("hardware_refresh.rhai", "Schedule a", "Plan a"),
            Some(vec!["hardware_refresh"]),
        ),
        (
            edit(
                "service_attach.rhai",
                "\"Service Attach - Coverage Gap\"",
                "\"Attach\"",
            ),
            Some(vec!["service_attach"]),
        ),
        (
            // A new trigger whose lead type was searched for (offline: 4·10^9 hashes) so
            // that asset MXQ6DU83D2's id under it is another lead's stored id. A partial
            // evaluation cannot settle who keeps the id; it must give up and run everything.
            Box::new(|| {
                let path = rules.join("triggers/renewal.rhai");
                let text = std::fs::read_to_string(path).unwrap().replace(
                    "\"Renewal - Expired Support\"",
                    &format!("\"{COLLIDING_TYPE}\""),
                );
                std::fs::write(rules.join("triggers/renewal_copy.rhai"), text).unwrap();
            }),
            None,
        ),
        (
            Box::new(|| {
                // The renewal lead that lost its id to the copy gets it back, which only a
                // full evaluation does.
                std::fs::remove_file(rules.join("triggers/renewal_copy.rhai")).unwrap();
            }),
            None,
        ),
        (
            Box::new(|| {
                std::fs::remove_file(rules.join("triggers/service_attach.rhai")).unwrap();
            }),
            Some(vec!["service_attach"]),
        ),
        (
            // Not a trigger: the edited scoring rule alone runs again, and no trigger.
            Box::new(|| {
                let path = rules.join("scoring/urgency.rhai");
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, format!("{text}\n// edited\n")).unwrap();
            }),
            Some(vec![]),
        ),
        (Box::new(|| {}), Some(vec![])),
        (
            // A classify rule returning a field that is not stored: partial evaluations
            // must run the classify rules again rather than rebuild their results.
            Box::new(|| {
                std::fs::write(
                    rules.join("classify/segment.rhai"),
                    "fn classify(item, cfg) { #{ segment: `seg-${item.risk_level}` } }",
                )
                .unwrap();
            }),
            None,
        ),
        (
            edit(
                "hardware_refresh.rhai",
                "Plan a",
                "For ${item.segment}: plan a",
            ),
            Some(vec!["hardware_refresh"]),
        ),
    ];
    for (n, (change, expect)) in steps.iter().enumerate() {
        change();
        let ra = run(&mut a, &sa, MODE, Some(&mut carry));
        let rb = run(&mut b, &sb, MODE, None);
        let expect = expect
            .as_ref()
            .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
        assert_eq!(ra.evaluation.only_triggers, expect, "step {n}");
        assert_eq!(rb.evaluation.only_triggers, None, "step {n}");
        assert_agree(&ra, &rb, n);
        assert_eq!(full_leads(&a), full_leads(&b), "step {n}");
        if n == 0 {
            // A reworded action: no lead moves, but the report says how many now read
            // differently — every hardware-refresh lead, and none else.
            let c = ra.evaluation.changes.clone().unwrap_or_default();
            assert!(c.is_empty(), "{c:?}");
            let refreshes = count(
                &a,
                "SELECT count(*) FROM leads WHERE rule = 'hardware_refresh' AND active",
            );
            assert!(refreshes > 0);
            assert_eq!(c.reworded as i64, refreshes);
        }
    }
    // The search found what the collision step needs.
    let id = crate::model::lead::lead_id("MXQ6DU83D2", COLLIDING_TYPE, 8);
    // Ids are Crockford base-32: nothing to quote.
    let holders = count(
        &b,
        &format!(
            "SELECT count(*) FROM leads WHERE lead_id = '{id}' AND serial_number <> 'MXQ6DU83D2'"
        ),
    );
    assert_eq!(holders, 1, "{id}");
    // The steps moved leads, or the comparison proved little.
    let events = count(
        &b,
        "SELECT count(*) FROM lead_events WHERE kind IN ('closed', 'created')",
    );
    assert!(events > 2 * full_leads(&b).len() as i64 / 3, "{events}");
}

/// A database whose fingerprints were hashed another way (by an older build) has them
/// forgotten: the next evaluation rewrites each lead once, counts none as reworded, and stores
/// the scheme it used.
#[test]
fn fingerprints_hashed_another_way_are_forgotten_not_read_as_rewordings() {
    let dir = tempfile::tempdir().unwrap();
    let Twins { mut a, b, sa, .. } = twins(dir.path(), None);
    testdb::execute(
        &a,
        "UPDATE lead_rows SET fingerprint = fingerprint + 1;
         UPDATE meta SET value = 'siphash13' WHERE key = 'fingerprints';",
    );
    let r = run(&mut a, &sa, MODE, None);
    let changes = r.evaluation.changes.unwrap_or_default();
    assert_eq!(changes.reworded, 0);
    assert!(changes.is_empty(), "{changes:?}");
    // Every lead holds what a database evaluated with this build holds.
    assert_eq!(leads(&a), leads(&b));
    let scheme = testdb::rows(&a, "SELECT value FROM meta WHERE key = 'fingerprints'");
    assert_eq!(
        scheme,
        [[Some(crate::store::columns::FINGERPRINT_SCHEME.to_string())]]
    );
}
