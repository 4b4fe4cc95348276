//! `rules test`: the shipped scenario files pass on the shipped rules and config, fail with
//! expected-against-got when a threshold moves, and a mistake in a scenario file is shown at
//! its line and column.
// See: issue 21 ("`rules test`: scenario tests").

use crate::util::Workdir;

#[test]
fn the_shipped_scenarios_pass() {
    let w = Workdir::new();
    let out = w.ok(&["rules", "test"]);
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("rules test: "), "{out}");
    assert!(
        last.ends_with(" failed") && last.contains(" passed, 0 failed"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
    // Every trigger, factor and classify rule is exercised.
    assert!(!out.contains("note:"), "{out}");
    // Every shipped rule file has a scenario file of its own, or is covered by one named for
    // its kind (the factors, the services).
    for name in [
        "family",
        "risk",
        "hardware_refresh",
        "renewal",
        "service_attach",
        "urgency",
        "value",
        "propensity",
        "strategic_fit",
        "services",
        "priority",
    ] {
        assert!(
            out.contains(&format!("rules/tests/{name}.yaml\n")),
            "{name}: {out}"
        );
    }
}

// See: issue 21 ("moving `critical_days_past_eol` from 1825 to 3000 fails some").
#[test]
fn moving_the_critical_age_to_3000_fails_scenarios_with_expected_against_got() {
    let w = Workdir::new();
    w.edit(
        "config/onelead.yaml",
        "critical_days_past_eol: 1825",
        "critical_days_past_eol: 3000",
    );
    let out = w.run(&["rules", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout.contains(
            "  FAIL  a server one day past the critical age is a refresh lead  (rules/tests/hardware_refresh.yaml:20)\n          \
             lead `Hardware Refresh - EOL Equipment`: expected one, got none\n            \
             triggers/hardware_refresh: end of life was 1,826 days ago, not more than 3,000\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  FAIL  expired support one day past the critical age is CRITICAL  (rules/tests/risk.yaml:10)\n          \
             item `risk_level`: expected \"CRITICAL\", got \"HIGH\"\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "lead `Service Attach - Coverage Gap` factor `urgency`: expected 80, got 70\n            \
             base 50\n            EOL 1,826 days ago (+20)\n"
        ),
        "{stdout}"
    );
    let failed: usize = stdout.matches("  FAIL  ").count();
    assert!(failed >= 10, "{stdout}");
    assert_eq!(
        stderr,
        format!(
            "error: {failed} of {} scenarios failed\n",
            failed + stdout.matches("  ok    ").count()
        )
    );
}

#[test]
fn a_mistake_in_a_scenario_file_is_shown_where_it_is() {
    let w = Workdir::new();
    w.write(
        "rules/tests/mine.yaml",
        "as_of: 2025-10-29\nscenarios:\n  - name: typo\n    item:\n      product_nme: X\n      eol_date: soon\n    \
         account: {opportunity_count: many}\n    expect: {leads: []}\n",
    );
    let err = w.fails(&["rules", "test", "rules/tests/mine.yaml"], 1);
    assert_eq!(
        err,
        "error: a scenario's item has no field `product_nme`\n --> rules/tests/mine.yaml:5:7\n  |\n\
         5 |       product_nme: X\n  |       ^^^^^^^^^^^\nhelp: did you mean `product_name`?\n\n\
         error: `eol_date` must be a `YYYY-MM-DD` date or empty\n --> rules/tests/mine.yaml:6:17\n  |\n\
         6 |       eol_date: soon\n  |                 ^^^^\n\n\
         error: `opportunity_count` must be a whole number\n --> rules/tests/mine.yaml:7:34\n  |\n\
         7 |     account: {opportunity_count: many}\n  |                                  ^^^^\n\n\
         error: `rules test` could not read 1 scenario file\n"
    );
    // An unknown key of the file itself is serde's, at its place.
    w.write(
        "rules/tests/mine.yaml",
        "scenarios:\n  - name: x\n    expect: {leeds: []}\n",
    );
    let err = w.fails(&["rules", "test", "rules/tests/mine.yaml"], 1);
    assert!(
        err.starts_with("error: scenarios[0].expect: unknown field `leeds`"),
        "{err}"
    );
    assert!(err.contains(" --> rules/tests/mine.yaml:3:14"), "{err}");
}

#[test]
fn no_scenario_files_is_a_usage_error() {
    let w = Workdir::new();
    std::fs::remove_dir_all(w.join("rules/tests")).unwrap();
    let err = w.fails(&["rules", "test"], 2);
    assert!(
        err.starts_with("error: no scenario files in `rules/tests`"),
        "{err}"
    );
}

#[test]
fn a_rule_no_scenario_exercises_is_noted() {
    let w = Workdir::new();
    w.write(
        "rules/triggers/cross_sell.rhai",
        "fn lead_type() { \"Cross-sell\" }\nfn trigger(item, account, cfg) { () }\n",
    );
    let out = w.ok(&["rules", "test"]);
    assert!(
        out.contains(
            "note: triggers/cross_sell: no scenario expects a `Cross-sell` lead\n\
             note: triggers/cross_sell: no scenario says why there is no `Cross-sell` lead (`no_lead`)\n\
             note: triggers/cross_sell: no scenario lists the services of a `Cross-sell` lead\n"
        ),
        "{out}"
    );
}
