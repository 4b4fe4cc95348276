//! Issue 21's list, each case as sales ops would meet it, with its error text and exit code:
//! `rules check` is a dry run that reports config and rule problems together, and `run`
//! refuses what used to pass silently.
// See: issue 21 ("Rules sales ops can trust").

use crate::util::{Workdir, sample, sample_run};

/// `rules check` fails with exit 1; returns stderr.
fn check_fails(w: &Workdir) -> String {
    w.fails(&["rules", "check"], 1)
}

#[test]
fn the_shipped_rules_pass_the_dry_run_on_the_bundled_sample() {
    let w = Workdir::new();
    let out = w.ok(&["rules", "check"]);
    assert!(
        out.starts_with("ok: rules: 2 classify, 3 triggers"),
        "{out}"
    );
    // 9 edge rows from each of 4 templates: the first row, and a row each trigger fired on.
    assert!(
        out.contains(
            "dry run: every rule over 200 install-base rows of the bundled sample (generated: 200 rows, seed 42) and 36 generated edge rows, nothing written"
        ),
        "{out}"
    );
    // With a database, its install base is what the rules run over.
    w.run_sample("s.db");
    let out = w.ok(&["rules", "check", "--db", "s.db"]);
    assert!(
        out.contains("200 install-base rows of database `s.db`"),
        "{out}"
    );
}

#[test]
fn a_quoted_threshold_is_an_error_at_its_value_not_67_spurious_leads() {
    let w = Workdir::new();
    w.edit(
        "config/onelead.yaml",
        "  latest_server_generation: 12",
        "  latest_server_generation: 12\n  warranty_warning_days: \"90\"",
    );
    let err = check_fails(&w);
    assert_eq!(
        err,
        "error: `thresholds.warranty_warning_days` is the text \"90\", not a number\n \
         --> config/onelead.yaml:37:26\n   |\n37 |   warranty_warning_days: \"90\"     # refresh advice names this generation\n   |                          ^^^^\n\
         help: write `warranty_warning_days: 90` without quotes\n\n\
         error: `rules check` found 1 problem\n"
    );
    // `run` refuses it too, before anything is written.
    let err = w.fails(&["run", "--data", &sample(), "--db", "s.db"], 1);
    assert!(
        err.starts_with("error: `thresholds.warranty_warning_days` is the text"),
        "{err}"
    );
    assert!(!w.join("s.db").exists() || w.sql("s.db", "SELECT count(*) FROM leads") == ["0"]);
}

#[test]
fn a_quoted_threshold_that_rules_use_points_at_the_config_not_at_fmt_int() {
    let w = Workdir::new();
    w.edit(
        "config/onelead.yaml",
        "critical_days_past_eol: 1825",
        "critical_days_past_eol: \"1825\"",
    );
    let err = check_fails(&w);
    assert!(
        err.starts_with(
            "error: `thresholds.critical_days_past_eol` is the text \"1825\", not a number\n \
             --> config/onelead.yaml:35:27"
        ),
        "{err}"
    );
    assert!(
        err.ends_with("error: `rules check` found 1 problem\n"),
        "{err}"
    );
    assert!(!err.contains("fmt_int"), "{err}");
}

#[test]
fn comparing_a_number_with_a_text_stops_run_and_check_at_the_line() {
    let w = Workdir::new();
    w.edit("rules/triggers/renewal.rhai",
        "    let days = item.days_since_expiry;\n",
        "    let days = item.days_since_expiry;\n    if days != () && -days > \"90\" { return no_lead(\"soon\"); }\n",
    );
    let err = w.fails(&sample_run("s.db"), 1);
    assert!(err.starts_with("error: cannot compare "), "{err}");
    assert!(
        err.contains(" with \"90\" (`>`): one is a number, the other a text\n --> "),
        "{err}"
    );
    assert!(err.contains("rules/triggers/renewal.rhai:21:28"), "{err}");
    assert!(err.contains("= while evaluating install_base row"), "{err}");
    let err = check_fails(&w);
    assert!(err.contains("rules/triggers/renewal.rhai:21:28"), "{err}");
    assert!(
        err.ends_with("error: `rules check` found 1 problem\n"),
        "{err}"
    );
}

#[test]
fn a_classify_rule_returning_a_risk_level_of_5_stops_the_run() {
    let w = Workdir::new();
    w.edit(
        "rules/classify/risk.rhai",
        "            return #{ risk_level: \"CRITICAL\" };",
        "            return #{ risk_level: 5 };",
    );
    let err = w.fails(&sample_run("s.db"), 1);
    assert!(
        err.starts_with(
            "error: rule `classify/risk` returned `risk_level: 5`; `risk_level` must be one of \
             `CRITICAL`, `HIGH`, `MEDIUM`, `UNKNOWN`\n --> rules/classify/risk.rhai:13:20"
        ),
        "{err}"
    );
    let err = check_fails(&w);
    assert!(err.contains("returned `risk_level: 5`"), "{err}");
    assert!(err.contains("= while evaluating install_base row"), "{err}");
}

#[test]
fn a_misspelt_field_fails_the_check_with_its_position_and_row() {
    let w = Workdir::new();
    w.edit(
        "rules/scoring/urgency.rhai",
        "item.days_since_expiry",
        "item.days_since_expirey",
    );
    let err = check_fails(&w);
    assert!(
        err.starts_with(
            "error: unknown field `days_since_expirey`\n --> rules/scoring/urgency.rhai:19:23\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("  = while evaluating install_base row "),
        "{err}"
    );
    assert!(
        err.contains("help: did you mean `days_since_expiry`?"),
        "{err}"
    );
    assert!(
        err.ends_with("error: `rules check` found 1 problem\n"),
        "{err}"
    );
}

#[test]
fn a_misspelt_field_on_a_path_no_row_takes_is_still_found() {
    let w = Workdir::new();
    w.edit("rules/triggers/service_attach.rhai",
        "    let product = item.product_name;",
        "    let product = item.product_name;\n    if product == \"no such product\" { return item.prodct_line; }",
    );
    let err = check_fails(&w);
    assert!(
        err.starts_with(
            "error: unknown field `prodct_line` of `item`\n --> rules/triggers/service_attach.rhai:13:51"
        ),
        "{err}"
    );
    assert!(err.contains("help: did you mean `product_line`?"), "{err}");
}

#[test]
fn broken_rules_and_bad_weights_are_all_reported_together_in_file_order() {
    let w = Workdir::new();
    w.edit("config/onelead.yaml", "urgency: 0.35", "urgency: 0.45");
    w.edit(
        "rules/triggers/service_attach.rhai",
        "let product = item.product_name;",
        "let product = item.product_name +;",
    );
    w.edit(
        "rules/scoring/value.rhai",
        "let ib = account.install_base_count;",
        "let ib = acount.install_base_count;",
    );
    // A misspelt field in a rule that compiles is not hidden by the others that do not.
    w.edit(
        "rules/triggers/renewal.rhai",
        "let status = item.support_status;",
        "let status = item.suport_status;",
    );
    let err = check_fails(&w);
    let heads: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with(" --> "))
        .collect();
    assert_eq!(
        heads,
        [
            "error: `scoring_weights` must sum to 1, but propensity 0.2 + strategic_fit 0.15 + urgency 0.45 + value 0.3 = 1.1",
            " --> config/onelead.yaml:10:1",
            "error: unknown variable `acount`",
            " --> rules/scoring/value.rhai:26:14",
            "error: unknown field `suport_status` of `item`",
            " --> rules/triggers/renewal.rhai:8:23",
            "error: unexpected `;`",
            " --> rules/triggers/service_attach.rhai:12:38",
            "error: `rules check` found 4 problems",
        ],
        "{err}"
    );
    // `run` names all of them too (the config's first: it is read before the rules).
    let err = w.fails(&["run", "--data", &sample(), "--db", "s.db"], 1);
    assert!(err.contains("`scoring_weights` must sum to 1"), "{err}");
}

#[test]
fn an_extra_brace_is_shown_with_where_its_block_opened() {
    let w = Workdir::new();
    w.edit(
        "rules/triggers/renewal.rhai",
        "        return no_lead(`support status \"${status}\" does not say expired`);\n    }",
        "        return no_lead(`support status \"${status}\" does not say expired`);\n    }}",
    );
    let err = check_fails(&w);
    assert_eq!(
        err,
        "error: unexpected `}`: no block is open here\n --> rules/triggers/renewal.rhai:40:1\n   |\n40 | }\n   | ^\n\
         help: the block opened at line 7 (`fn trigger(item, account, cfg) {`) is closed by the `}` at 11:6, \
         which is not where its indentation puts it: is that one extra?\n\n\
         error: `rules check` found 1 problem\n"
    );
    assert!(!err.contains("did you mean `item`"));
}

#[test]
fn the_run_hash_moves_with_priorities_services_and_top_services() {
    let w = Workdir::new();
    let hash = |w: &Workdir| {
        let v = w.json(&sample_run("s.db"));
        v["run"]["rules_hash"].as_str().unwrap().to_string()
    };
    let mut seen = vec![hash(&w)];
    for (from, to) in [
        ("  high: 60", "  high: 65"),
        ("  COMPUTE: [Servers]", "  COMPUTE: [Servers, Synergy]"),
        ("top_services: 3", "top_services: 2"),
    ] {
        w.edit("config/onelead.yaml", from, to);
        let h = hash(&w);
        assert!(!seen.contains(&h), "{to}: the hash did not move");
        seen.push(h);
    }
    assert_eq!(
        w.sql("s.db", "SELECT count(DISTINCT rules_hash) FROM runs"),
        ["4"]
    );
}

#[test]
fn a_rule_that_fails_only_on_an_edge_row_is_found_with_that_row() {
    let w = Workdir::new();
    // Wrong for items whose end of life is still ahead: fine on a sample with none of them.
    w.edit("rules/scoring/urgency.rhai",
        "    let expiry = item.days_since_expiry;",
        "    if eol != () && eol < -365 { throw `end of life ${eol} days ago`; }\n    let expiry = item.days_since_expiry;",
    );
    let err = check_fails(&w);
    assert!(err.starts_with("error: rule threw: end of life -"), "{err}");
    assert!(
        err.contains("  = while evaluating generated edge row "),
        "{err}"
    );
    assert!(err.contains(" (dates in the future, from a `"), "{err}");
    assert!(
        err.ends_with("error: `rules check` found 1 problem\n"),
        "{err}"
    );
}
