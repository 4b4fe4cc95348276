//! `onelead watch` driven as a real process, and `onelead whatif` on the real exports.
//! Every wait is bounded and the child is killed on drop, so a failure never hangs the suite.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::util::{Workdir, real_run};

fn sample() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample").to_string()
}

/// A running `onelead watch` whose stdout and stderr lines arrive on one channel.
struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start(w: &Workdir, args: &[&str]) -> Watch {
        Watch::start_env(w, &[], args)
    }

    fn start_env(w: &Workdir, env: &[(&str, &str)], args: &[&str]) -> Watch {
        let mut args = args.to_vec();
        args.insert(0, "watch");
        let mut child = w
            .command(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watch");
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        Watch {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 30 s) for a line containing `needle`; returns every line since the last wait.
    fn wait_for(&mut self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no line containing {needle:?} within 30 s; saw:\n{}",
                self.seen.join("\n")
            );
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    let hit = l.contains(needle);
                    got.push(l);
                    if hit {
                        return got;
                    }
                }
                Err(e) => {
                    panic!(
                        "watch ended or timed out ({e}) waiting for {needle:?}; saw:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// Gives the watcher time to settle before the next save, so saves are separate events.
fn settle() {
    std::thread::sleep(Duration::from_millis(700));
}

#[test]
fn a_rule_saved_during_the_first_run_is_rerun_after_it() {
    let Some(w) = Workdir::try_new() else { return };
    // Big enough that the first run is still going when the rule is saved.
    w.ok(&[
        "sample", "--out", "big", "--rows", "20000", "--format", "csv",
    ]);
    let mut watch = Watch::start_env(
        &w,
        &[("ONELEAD_TIMINGS", "1")],
        &["--data", "big", "--db", "s.db", "--as-of", "2025-10-29"],
    );
    // The first run has begun: it has read the rules, and is loading 20k rows.
    watch.wait_for("timing: begin");
    let rule = "rules/triggers/hardware_refresh.rhai";
    let text = std::fs::read_to_string(w.join(rule)).unwrap();
    w.write(
        rule,
        &text.replace("Schedule a hardware refresh", "Plan a hardware refresh"),
    );
    let first = watch.wait_for("watching").join("\n");
    assert!(!first.contains("changed ──"), "{first}");
    let again = watch.wait_for("hardware_refresh.rhai changed").join("\n");
    assert!(!again.contains("stderr: error"), "{again}");
    watch.wait_for("leads from");
    let planned = w.sql(
        "s.db",
        "SELECT count(*) FROM leads WHERE recommended_action LIKE 'Plan a hardware refresh%'",
    );
    assert_ne!(planned, ["0"], "the saved rule's text is in the leads");
}

#[test]
fn watch_reports_changes_survives_bad_rules_and_picks_up_new_triggers() {
    let Some(w) = Workdir::try_new() else { return };
    let data = sample();
    let mut watch = Watch::start(
        &w,
        &["--data", &data, "--db", "s.db", "--as-of", "2025-10-29"],
    );
    watch.wait_for("watching");
    settle();
    let lead_indexes = || w.lead_indexes("s.db");
    let indexes = lead_indexes();
    assert!(indexes.len() >= 6, "{indexes:?}");

    // 1. A weight change re-evaluates (no re-ingest) and reports moved leads.
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    let moved = cfg
        .replace("urgency: 0.35", "urgency: 0.55")
        .replace("value: 0.30", "value: 0.10");
    w.write("config/onelead.yaml", &moved);
    let report = watch.wait_for("leads from");
    let text = report.join("\n");
    assert!(text.contains("onelead.yaml changed"), "{text}");
    assert!(
        text.contains("score movers") || text.contains("re-prioritised"),
        "{text}"
    );
    // Moving every score dropped the indexes over it; they are built again after the report.
    let deadline = Instant::now() + Duration::from_secs(30);
    while lead_indexes() != indexes {
        assert!(
            Instant::now() < deadline,
            "lead indexes not rebuilt within 30 s: {:?}",
            lead_indexes()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // 2. A syntax error: diagnostics, process alive, database unchanged.
    settle();
    let before = w.fingerprint("s.db");
    w.write(
        "rules/triggers/service_attach.rhai",
        "fn lead_type() { \"Service Attach - Coverage Gap\" }\nfn trigger(item, account, cfg) {\n  if {\n}\n",
    );
    let diag = watch.wait_for("keeping the last good").join("\n");
    assert!(diag.contains("triggers/service_attach.rhai:"), "{diag}");
    assert!(watch.alive());
    assert_eq!(before, w.fingerprint("s.db"));

    // 3. Fixing it recovers.
    settle();
    let original = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/triggers/service_attach.rhai"),
    )
    .unwrap();
    w.write("rules/triggers/service_attach.rhai", &original);
    watch.wait_for("leads from");
    assert!(w.sql("s.db", "SELECT count(*) FROM leads WHERE active = 1")[0] != "0");

    // 4. A new trigger file adds a lead type.
    settle();
    w.write(
        "rules/triggers/all_storage.rhai",
        "fn lead_type() { \"Storage Review\" }\nfn trigger(item, account, cfg) {\n  if item.product_family != \"MSA\" { return (); }\n  #{ title: \"Review \" + item.product_name, description: \"MSA array\", action: \"Call\", reasons: [] }\n}\n",
    );
    let added = watch.wait_for("leads from").join("\n");
    assert!(added.contains("Storage Review"), "{added}");

    // 5. Rewording that trigger moves no lead, and the report says how many read differently.
    settle();
    let reviews = w.sql(
        "s.db",
        "SELECT count(*) FROM leads WHERE active = 1 AND lead_type = 'Storage Review'",
    )[0]
    .clone();
    w.write(
        "rules/triggers/all_storage.rhai",
        "fn lead_type() { \"Storage Review\" }\nfn trigger(item, account, cfg) {\n  if item.product_family != \"MSA\" { return (); }\n  #{ title: \"Review \" + item.product_name, description: \"MSA array\", action: \"Call the account\", reasons: [] }\n}\n",
    );
    let reworded = watch.wait_for("leads from").join("\n");
    assert!(
        reworded.contains(&format!(
            "no lead added, removed or re-scored; {reviews} leads' text changed"
        )),
        "{reworded}"
    );
    assert!(watch.alive());
}

#[test]
fn whatif_with_a_higher_refresh_threshold_lists_the_leads_that_drop_out() {
    let Some(w) = real_run() else { return };
    let before = w.fingerprint("r.db");
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    w.write(
        "alt.yaml",
        &cfg.replace(
            "critical_days_past_eol: 1825",
            "critical_days_past_eol: 3000",
        ),
    );
    let v = w.json(&["whatif", "--config", "alt.yaml", "--db", "r.db"]);
    let mut removed: Vec<String> = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["lead_type"].as_str().unwrap(),
                l["product"].as_str().unwrap()
            )
        })
        .collect();
    removed.sort();
    // EOL between 2017-08-19 and 2020-10-30 is 1,826–3,000 days before 2025-10-29: the
    // remote AP (2018-05-01), the BLc fan (2018-07-01), the DL380 Gen9 kit (2018-08-01) and the
    // three PC4 memory kits (2019-05-30) stop being refresh leads.
    let hw = "Hardware Refresh - EOL Equipment";
    assert_eq!(
        removed,
        [
            format!("{hw} Aruba RAP-3WN (US) 2.4G 2x2:2 11n RAP"),
            format!("{hw} HPE 8GB 1Rx8 PC4-2400T-R Kit"),
            format!("{hw} HPE 8GB 1Rx8 PC4-2400T-R Kit"),
            format!("{hw} HPE 8GB 1Rx8 PC4-2400T-R Kit"),
            format!("{hw} HPE BLc Encl Single Fan Option"),
            format!("{hw} HPE DL380 Gen9 E5-2630Lv3 Kit"),
        ]
    );
    assert_eq!(v["added"].as_array().unwrap().len(), 0);
    assert_eq!(v["before"]["HIGH"], 73);
    // A what-if writes nothing.
    assert_eq!(before, w.fingerprint("r.db"));
    // The text form says the same.
    let text = w.ok(&["whatif", "--config", "alt.yaml", "--db", "r.db"]);
    assert!(text.contains("6 removed"), "{text}");
}
