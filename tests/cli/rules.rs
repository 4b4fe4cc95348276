//! `onelead run` with the default rules on the real exports, rule plugins added by dropping a
//! file in, and every class of rule/config error: clear message, exit 1, database untouched.

use crate::util::{Workdir, real_run, sample, sample_run, shared_data};

fn type_counts(v: &serde_json::Value) -> Vec<(String, String, i64)> {
    v["leads_by_type_priority"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["lead_type"].as_str().unwrap().to_string(),
                c["priority"].as_str().unwrap().to_string(),
                c["leads"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn per_type(w: &Workdir, db: &str) -> Vec<String> {
    w.sql(
        db,
        "SELECT lead_type, count(*) FROM leads WHERE active = 1 GROUP BY 1 ORDER BY 1",
    )
}

#[test]
fn default_rules_reproduce_the_77_leads_at_both_dates() {
    let Some(data) = shared_data() else { return };
    let data = data.to_str().unwrap();
    for as_of in ["2025-10-29", "2026-11-24"] {
        let Some(w) = Workdir::try_new() else { return };
        let v = w.json(&["run", "--data", data, "--db", "r.db", "--as-of", as_of]);
        assert_eq!(v["run"]["evaluation"]["leads"], 77, "as of {as_of}");
        assert_eq!(
            per_type(&w, "r.db"),
            [
                "Hardware Refresh - EOL Equipment|27",
                "Renewal - Expired Support|30",
                "Service Attach - Coverage Gap|20"
            ],
            "as of {as_of}"
        );
        // Linked accounts lift propensity: HIGH 73 / MEDIUM 4 (the original's HIGH 57 / MEDIUM 20).
        let mut by_priority = std::collections::BTreeMap::new();
        for (_, p, n) in type_counts(&v) {
            *by_priority.entry(p).or_insert(0) += n;
        }
        assert_eq!(
            by_priority.into_iter().collect::<Vec<_>>(),
            [("HIGH".to_string(), 73), ("MEDIUM".to_string(), 4)]
        );
    }
}

/// Factor values worked out by hand from the rules and README §4 (see comments).
#[test]
fn factor_scores_match_a_hand_calculation() {
    let Some(w) = real_run() else { return };
    let leads = w.json(&["leads", "--db", "r.db"]);
    let leads = leads.as_array().unwrap();
    let q = |serial: &str, ty: &str| -> Vec<String> {
        leads
            .iter()
            .filter(|l| l["serial_number"] == serial)
            .filter(|l| l["lead_type"].as_str().unwrap().starts_with(ty))
            .map(|l| {
                let f = |name: &str| l["factors"][name]["value"].as_f64().unwrap().to_string();
                format!(
                    "{}|{}|{}|{}|{}|{}",
                    f("urgency"),
                    f("value"),
                    f("propensity"),
                    f("strategic_fit"),
                    l["score"].as_f64().unwrap(),
                    l["priority"].as_str().unwrap()
                )
            })
            .collect()
    };
    // DL360p Gen8, EOL 2015-07-01 (3,773 days: +30), no service end (+0) → urgency 80.
    // Apple territory: 15 IB items (+5) → value 55; 51 opportunities of Apple's own (+30) + 10
    // → propensity 70.
    // COMPUTE (+25), platform 'Compute' (+15), hardware refresh (+10) → strategic fit 100.
    // 80·.35 + 55·.30 + 70·.20 + 100·.15 = 28 + 16.5 + 14 + 15 = 73.5.
    assert_eq!(q("USE3267F8N", "Hardware"), ["80|55|70|100|73.5|HIGH"]);
    // Renewal of the same asset: strategic fit 50 + 25 + 15 + 5 = 95 → 72.75.
    assert_eq!(q("USE3267F8N", "Renewal"), ["80|55|70|95|72.75|HIGH"]);
    // Expired Fixed Aruba AP in Baltimore (56769): EOL placeholder and service end in 2042 →
    // urgency 50; 30 IB items (+10) → value 60; 3 opportunities of the territory's main
    // account (+20; its 6 others name other customers, accounts of their own) + 10 →
    // propensity 60; NETWORK, renewal → strategic fit 55. 17.5 + 18 + 12 + 8.25 = 55.75 →
    // MEDIUM.
    let fixed = w.sql(
        "r.db",
        "SELECT l.score, l.priority FROM leads l JOIN install_base i ON i.id = l.install_base_id
         WHERE i.support_status = 'Expired Fixed Support'",
    );
    assert_eq!(fixed, ["55.75|MEDIUM"; 4]);
    // The parts add up to the total on every lead.
    for l in leads {
        let parts: f64 = l["factors"]
            .as_object()
            .unwrap()
            .values()
            .map(|f| f["contribution"].as_f64().unwrap())
            .sum();
        assert!((l["score"].as_f64().unwrap() - parts).abs() < 1e-9, "{l}");
    }
}

#[test]
fn every_lead_whose_family_has_sku_rows_gets_services() {
    let Some(w) = real_run() else { return };
    let leads = w.json(&["leads", "--db", "r.db"]);
    let leads = leads.as_array().unwrap();
    let has = |l: &serde_json::Value, field: &str| !l[field].as_array().unwrap().is_empty();
    let mut by_family = std::collections::BTreeMap::<String, [usize; 3]>::new();
    for l in leads {
        let n = by_family
            .entry(l["product_family"].as_str().unwrap().to_string())
            .or_default();
        n[0] += 1;
        n[1] += usize::from(has(l, "recommended_services"));
        n[2] += usize::from(has(l, "recommended_skus"));
    }
    let rows: Vec<String> = by_family
        .iter()
        .map(|(f, [n, services, skus])| format!("{f}|{n}|{services}|{skus}"))
        .collect();
    // COMPUTE → Servers, BLADE → C7000/Synergy, NETWORK → Networking; OPTION (drives, memory)
    // has no product row in the SKU sheet.
    assert_eq!(
        rows,
        [
            "BLADE|3|3|3",
            "COMPUTE|19|19|11",
            "NETWORK|5|5|0",
            "OPTION|50|0|0"
        ]
    );
    // Every server lead carries services; renewals and attaches of servers carry a SKU.
    for l in leads {
        if l["product_name"]
            .as_str()
            .is_some_and(|p| p.contains("DL3"))
        {
            assert!(has(l, "recommended_services"), "{l}");
        }
    }
}

#[test]
fn run_works_out_of_the_box_on_the_bundled_sample() {
    let Some(w) = Workdir::try_new() else { return };
    let v = w.json(&["run", "--data", &sample(), "--db", "s.db"]);
    assert!(
        v["run"]["evaluation"]["leads"].as_i64().unwrap() > 50,
        "{v}"
    );
    assert_eq!(v["top"].as_array().unwrap().len(), 10);
    let types: Vec<String> = per_type(&w, "s.db");
    assert_eq!(types.len(), 3, "{types:?}");
}

/// Every derived field and lead column a run writes, without the run's wall-clock timestamps.
fn outcome(w: &Workdir, db: &str) -> Vec<String> {
    let mut rows = w.sql(
        db,
        "SELECT id, risk_level, product_family, days_since_eol, days_since_expiry
         FROM install_base ORDER BY id",
    );
    rows.extend(w.sql(
        db,
        "SELECT lead_id, lead_type, rule, title, description, recommended_action, score, priority,
                factors, reasons, recommended_services, recommended_skus, extra, status, active
         FROM leads ORDER BY lead_id",
    ));
    rows
}

/// Rule calls run compiled unless `ONELEAD_NO_FAST=1`; both must write exactly the same
/// results, with a compiled rule (`cross_sell`) and an interpreted one (`loopy`) side by side.
#[test]
fn the_fast_path_and_the_interpreter_write_the_same_results() {
    let Some(w) = Workdir::try_new() else { return };
    w.write("rules/triggers/cross_sell.rhai", CROSS_SELL);
    w.write(
        "rules/triggers/loopy.rhai",
        "fn lead_type() { \"Loopy\" }\nfn trigger(item, account, cfg) {\n  let n = 0;\n  while n < 2 { n += 1; }\n  if item.risk_level == \"CRITICAL\" { #{ title: `loop ${n}`, description: \"d\", action: \"a\" } }\n}\n",
    );
    let check = w.ok(&["rules", "check"]);
    assert!(
        check.contains("interpreted: triggers/loopy trigger/3"),
        "{check}"
    );
    let mut inputs = vec![sample()];
    inputs.extend(shared_data().map(|d| d.display().to_string()));
    for (n, data) in inputs.iter().enumerate() {
        let (fast, slow) = (format!("fast{n}.db"), format!("slow{n}.db"));
        for (db, env) in [(&fast, "0"), (&slow, "1")] {
            let args = ["run", "--data", data, "--db", db, "--as-of", "2025-10-29"];
            let out = w.run_env(&[("ONELEAD_NO_FAST", env)], &args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (a, b) = (outcome(&w, &fast), outcome(&w, &slow));
        assert!(a.len() > 100, "{data}: {} rows", a.len());
        assert!(a == b, "{data}: the fast path and the interpreter disagree");
    }
}

const CROSS_SELL: &str = r#"
fn lead_type() { "Cross-sell - Storage Expansion" }

fn trigger(item, account, cfg) {
    if item.product_family != "COMPUTE" || account.opportunity_count < 1 { return (); }
    #{
        title: "Cross-sell: storage for " + item.product_name,
        description: "Servers with open opportunities may need storage.",
        action: "Offer a storage assessment.",
        reasons: ["server with " + account.opportunity_count + " opportunities"],
    }
}
"#;

#[test]
fn a_new_trigger_file_adds_a_lead_type() {
    let Some(w) = Workdir::try_new() else { return };
    w.run_sample("s.db");
    let before = per_type(&w, "s.db");
    w.write("rules/triggers/cross_sell.rhai", CROSS_SELL);
    w.run_sample("s.db");
    let after = per_type(&w, "s.db");
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        after
            .iter()
            .any(|t| t.starts_with("Cross-sell - Storage Expansion|")),
        "{after:?}"
    );
    // The other types are untouched.
    for t in &before {
        assert!(after.contains(t), "{t} missing from {after:?}");
    }
}

#[test]
fn a_new_factor_file_with_a_weight_changes_totals() {
    let Some(w) = Workdir::try_new() else { return };
    w.run_sample("s.db");
    let before = w.sql("s.db", "SELECT lead_id, score FROM leads ORDER BY lead_id");
    w.write(
        "rules/scoring/engagement.rhai",
        "fn score(item, account, lead, cfg) { #{ value: 100, reasons: [\"always engaged\"] } }",
    );
    let cfg = std::fs::read_to_string(w.join("config/onelead.yaml")).unwrap();
    let cfg = cfg.replace("urgency: 0.35", "urgency: 0.25").replace(
        "strategic_fit: 0.15",
        "strategic_fit: 0.15\n  engagement: 0.10",
    );
    w.write("config/onelead.yaml", &cfg);
    w.run_sample("s.db");
    let after = w.sql("s.db", "SELECT lead_id, score FROM leads ORDER BY lead_id");
    assert_eq!(before.len(), after.len());
    assert_ne!(before, after);
    for l in w.json(&["leads", "--db", "s.db"]).as_array().unwrap() {
        assert_eq!(l["factors"]["engagement"]["contribution"], 10.0, "{l}");
    }
}

/// Runs once to get a database, breaks something, and checks the error and that the database
/// did not change.
fn assert_rejected(break_it: impl Fn(&Workdir), expected: &[&str]) {
    let Some(w) = Workdir::try_new() else { return };
    w.run_sample("s.db");
    let before = w.fingerprint("s.db");
    break_it(&w);
    let err = w.fails(&sample_run("s.db"), 1);
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(before, w.fingerprint("s.db"), "the database changed");
}

#[test]
fn weights_that_do_not_sum_to_one_are_rejected() {
    assert_rejected(
        |w| w.edit("config/onelead.yaml", "urgency: 0.35", "urgency: 0.45"),
        &["config/onelead.yaml", "`scoring_weights` must sum to 1"],
    );
}

#[test]
fn an_unknown_config_key_is_rejected_with_a_suggestion() {
    assert_rejected(
        |w| {
            w.edit("config/onelead.yaml", "top_services: 3", "top_service: 3");
        },
        &[
            "error: unknown field `top_service`",
            "config/onelead.yaml:",
            "help: did you mean `top_services`?",
        ],
    );
}

#[test]
fn a_syntax_error_shows_file_line_and_column() {
    assert_rejected(
        |w| {
            w.write(
                "rules/triggers/broken.rhai",
                "fn lead_type() { \"Broken\" }\nfn trigger(item, account, cfg) {\n    if item.support_status == { ()\n}\n",
            );
        },
        &["error:", "triggers/broken.rhai:"],
    );
}

#[test]
fn a_misspelt_field_names_the_line_and_suggests_the_field() {
    assert_rejected(
        |w| {
            w.edit(
                "rules/triggers/service_attach.rhai",
                "item.support_status",
                "item.support_stauts",
            );
        },
        &[
            "triggers/service_attach.rhai:",
            "support_stauts",
            "did you mean `support_status`?",
            "while evaluating install_base row",
        ],
    );
}

#[test]
fn a_runtime_type_error_names_the_rule_and_the_row() {
    assert_rejected(
        |w| {
            w.write(
                "rules/scoring/urgency.rhai",
                "fn score(item, account, lead, cfg) { item.product_name + 1 - 2 }\n",
            );
        },
        &[
            "scoring/urgency.rhai:1:",
            "while evaluating install_base row",
        ],
    );
}

#[test]
fn a_runaway_rule_is_stopped_by_the_operations_limit() {
    let started = std::time::Instant::now();
    assert_rejected(
        |w| {
            w.write(
                "rules/triggers/loopy.rhai",
                "fn lead_type() { \"Loopy\" }\nfn trigger(item, account, cfg) {\n    loop { }\n}\n",
            );
        },
        &["triggers/loopy", "exceeded", "limits.max_operations"],
    );
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn rules_cannot_change_their_inputs_for_the_rules_after_them() {
    assert_rejected(
        |w| {
            w.write(
                "rules/triggers/sneaky.rhai",
                "fn lead_type() { \"Sneaky\" }\nfn trigger(item, account, cfg) {\n    item.risk_level = \"LOW\";\n    ()\n}\n",
            );
        },
        &["cannot modify constant item", "triggers/sneaky.rhai:3:5"],
    );
}

/// Everything evaluation writes, in a stable order.
fn evaluated(w: &Workdir, db: &str) -> Vec<String> {
    let mut rows = w.sql(
        db,
        "SELECT lead_id, lead_type, rule, score, priority, title, description,
           recommended_action, factors, reasons, recommended_services, recommended_skus, extra,
           active FROM leads ORDER BY lead_id",
    );
    rows.extend(w.sql(
        db,
        "SELECT id, days_since_eol, days_since_expiry, risk_level, product_family
         FROM install_base ORDER BY id",
    ));
    rows
}

fn run_args<'a>(data: &'a str, db: &'a str) -> [&'a str; 7] {
    ["run", "--data", data, "--db", db, "--as-of", "2025-10-29"]
}

#[test]
fn cached_rule_results_equal_running_every_rule() {
    let Some(w) = Workdir::try_new() else { return };
    w.ok(&[
        "sample", "--rows", "3000", "--format", "csv", "--out", "gen",
    ]);
    let mut inputs = vec![sample(), "gen".to_string()];
    inputs.extend(shared_data().map(|p| p.display().to_string()));
    for (i, data) in inputs.iter().enumerate() {
        let (cached, plain) = (format!("c{i}.db"), format!("p{i}.db"));
        w.ok(&run_args(data, &cached));
        w.ok_env(&[("ONELEAD_NO_MEMO", "1")], &run_args(data, &plain));
        let (a, b) = (evaluated(&w, &cached), evaluated(&w, &plain));
        assert!(a.len() > 100, "{data}: too little to compare");
        assert!(a == b, "{data}: cached and uncached evaluations differ");
        // The cache is used, not bypassed: its hit counts are reported with ONELEAD_TIMINGS.
        let out = w.run_env(&[("ONELEAD_TIMINGS", "1")], &run_args(data, &cached));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("memo: scoring/urgency cached"),
            "{data}: {stderr}"
        );
    }
}

#[test]
fn what_rules_print_reaches_stderr_through_the_logger_and_can_be_silenced() {
    let w = Workdir::new();
    w.write(
        "rules/triggers/chatty.rhai",
        "fn lead_type() { \"Chatty\" }\nfn trigger(item, account, cfg) {\n    print(`row ${item.id}`);\n    debug(item.product_family);\n    log(\"a note\");\n    no_lead(\"never\")\n}\n",
    );
    let out = w.run(&["run", "--data", &sample(), "--db", "s.db"]);
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let has = |line: &str| err.lines().any(|l| l == line);
    assert!(has("rules: row 1"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("rules: rules/triggers/chatty.rhai:4:5: \"")),
        "{err}"
    );
    assert!(has("note: rules/triggers/chatty.rhai: a note"), "{err}");
    // `ONELEAD_LOG=rules=warn` keeps the notes of `log` and drops `print` and `debug`.
    let out = w.run_env(
        &[("ONELEAD_LOG", "rules=warn")],
        &["run", "--data", &sample(), "--db", "q.db"],
    );
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.lines().all(|l| !l.starts_with("rules: ")), "{err}");
    assert!(
        err.contains("note: rules/triggers/chatty.rhai: a note"),
        "{err}"
    );
}
