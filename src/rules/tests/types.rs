//! Issue 21's type cases: a number compared with a text, calls with the wrong arguments.

use super::*;

// See: issue 21 ("`if -days > \"90\"` in a rule: `run` exits 0 and commits 67 wrong leads").
#[test]
fn comparing_a_number_with_a_text_is_an_error_at_the_operator() {
    let e = Scratch::new().run_trigger("    let days = 3771;\n    if -days > \"90\" { return; }");
    assert_eq!(
        e,
        "error: cannot compare -3771 with \"90\" (`>`): one is a number, the other a text\n \
         --> rules/triggers/t.rhai:4:14\n  |\n4 |     if -days > \"90\" { return; }\n  |              ^\n  \
         = while evaluating install_base row 17 (serial USE3267F8N)\n\
         help: a number in quotes is a text: write it without quotes, or convert the text with `parse_int` / `parse_float`"
    );
}

#[test]
fn every_comparison_of_a_number_with_a_text_fails_both_ways_round() {
    for (expr, shown) in [
        ("item.support_status == 5", "\"\" with 5 (`==`)"),
        ("5 != item.support_status", "5 with \"\" (`!=`)"),
        ("2.5 <= \"3\"", "2.5 with \"3\" (`<=`)"),
        ("\"3\" >= 2.5", "\"3\" with 2.5 (`>=`)"),
        ("\"a\" < 1", "\"a\" with 1 (`<`)"),
    ] {
        let e = Scratch::new().run_trigger(&format!("    if {expr} {{ return; }}"));
        assert!(
            e.starts_with(&format!("error: cannot compare {shown}")),
            "{expr}: {e}"
        );
    }
}

#[test]
fn comparisons_rules_rely_on_still_work() {
    let s = Scratch::new();
    s.write(
        "triggers/t.rhai",
        "fn lead_type() { \"T\" }\nfn trigger(item, account, cfg) {\n\
         let ok = item.days_since_eol == () && item.support_status != () && \"a\" < \"b\"\n\
           && 1 < 2.5 && 2 == 2.0 && item.eol_placeholder == false && 'a' == 'a';\n\
         if ok { #{ title: \"t\", description: \"d\", action: \"a\" } }\n}\n",
    );
    let set = s.load().unwrap();
    let hits = set.triggers(&item(&[]), &account(&[]), &CTX).unwrap();
    assert_eq!(hits.len(), 1);
}

// See: issue 21 ("unknown function `fmt_int` … did you mean `fmt_int`?").
#[test]
fn a_helper_called_with_the_wrong_type_shows_how_it_is_called() {
    let e = Scratch::new().run_trigger("    let n = \"1825\";\n    fmt_int(n);");
    assert!(
        e.starts_with(
            "error: `fmt_int` cannot be called with `(string)`\n --> rules/triggers/t.rhai:4:5"
        ),
        "{e}"
    );
    assert!(
        e.ends_with("help: it is called as `fmt_int(number)`"),
        "{e}"
    );
    assert!(!e.contains("did you mean"), "{e}");
}

#[test]
fn a_script_function_called_with_too_many_arguments_shows_its_definition() {
    let e = Scratch::new().run_trigger("    twice(1, 2);\n}\nfn twice(x) {\n    x * 2");
    assert!(
        e.starts_with("error: `twice` cannot be called with `(i64, i64)`"),
        "{e}"
    );
    assert!(e.ends_with("help: it is called as `fn twice(x)`"), "{e}");
}

// See: issue 21 ("a classify rule returning `#{risk_level: 5}`: 179 leads closed, no error").
#[test]
fn classify_results_keep_the_shape_of_their_fields() {
    for (ret, expected) in [
        (
            "#{ risk_level: 5 }",
            "rule `classify/c` returned `risk_level: 5`; `risk_level` must be one of `CRITICAL`, `HIGH`, `MEDIUM`, `UNKNOWN`",
        ),
        (
            "#{ risk_level: \"critical\" }",
            "rule `classify/c` returned `risk_level: \"critical\"`; `risk_level` must be one of",
        ),
        (
            "#{ product_family: 3 }",
            "rule `classify/c` returned `product_family: 3`; `product_family` must be a text",
        ),
        (
            "#{ days_since_eol: \"12\" }",
            "rule `classify/c` returned `days_since_eol: \"12\"`; `days_since_eol` must be a number or `()`",
        ),
    ] {
        let s = Scratch::new();
        s.write(
            "classify/c.rhai",
            &format!("fn classify(item, cfg) {{\n    {ret}\n}}\n"),
        );
        let set = s.load().unwrap();
        let e = match set.classify(&mut item(&[]), &CTX) {
            Err(Error::RuleRuntime(d)) => s.tidy(&d),
            other => panic!("{ret}: expected an error, got {other:?}"),
        };
        assert!(e.starts_with(&format!("error: {expected}")), "{ret}: {e}");
        // At the map that returned it (Rhai folds a map of constants into one constant).
        assert!(e.contains(" --> rules/classify/c.rhai:2:5"), "{e}");
        assert!(e.contains("= while evaluating install_base row 17"), "{e}");
    }
    // A value worked out at run time is no literal to point at: the function is shown. One
    // written among other entries is shown itself.
    for (ret, at) in [
        ("#{ risk_level: item.id }", " --> rules/classify/c.rhai:1:1"),
        (
            "#{ segment: item.id, risk_level: \"High\" }",
            " --> rules/classify/c.rhai:2:38",
        ),
    ] {
        let s = Scratch::new();
        s.write(
            "classify/c.rhai",
            &format!("fn classify(item, cfg) {{\n    {ret}\n}}\n"),
        );
        let e = match s.load().unwrap().classify(&mut item(&[]), &CTX) {
            Err(Error::RuleRuntime(d)) => s.tidy(&d),
            other => panic!("{ret}: expected an error, got {other:?}"),
        };
        assert!(e.contains(at), "{ret}: {e}");
    }
    // The shipped shapes, `()` and new fields of any kind pass.
    let s = Scratch::new();
    s.write(
        "classify/c.rhai",
        "fn classify(item, cfg) {\n    if item.id == 2 { return (); }\n    #{ risk_level: \"HIGH\", product_family: \"COMPUTE\", days_since_eol: (), segment: 3, tags: [1] }\n}\n",
    );
    let set = s.load().unwrap();
    let mut it = item(&[]);
    set.classify(&mut it, &CTX).unwrap();
    assert_eq!(it["segment"].as_int(), Ok(3));
}

// See: issue 21 ("the run's rule-set hash leaves out `priority_thresholds`, `family_services` and
// `top_services`, so two runs with different results can carry the same hash").
#[test]
fn the_hash_covers_every_config_section_results_depend_on() {
    let s = Scratch::new();
    s.write("lib/m.rhai", "fn x() { 1 }\n");
    let hash = |yaml: &str| {
        let c = cfg(&format!("scoring_weights: {{f: 1.0}}\n{yaml}"));
        RuleSet::load(s.dir.path(), &c).unwrap().hash().to_string()
    };
    let plain = hash("");
    for changed in [
        "thresholds: {critical_days_past_eol: 3000}\n",
        "priority_thresholds: {critical: 80}\n",
        "family_services: {COMPUTE: [Servers]}\n",
        "top_services: 4\n",
        "accounts: {fuzzy_threshold: 90}\n",
    ] {
        assert_ne!(hash(changed), plain, "{changed}");
    }
    // Settings that change where things are or what views show do not.
    for same in [
        "aging_days: 60\n",
        "database: other.db\n",
        "limits: {max_operations: 5000}\n",
    ] {
        assert_eq!(hash(same), plain, "{same}");
    }
    // A module's text is part of it too.
    s.write("lib/m.rhai", "fn x() { 2 }\n");
    assert_ne!(hash(""), plain);
}

// See: issue 21 ("a misspelt field (`item.days_since_expirey`) passes `rules check`").
#[test]
fn a_misspelt_field_is_found_without_data_even_on_a_path_no_row_takes() {
    let s = Scratch::new();
    s.write(
        "triggers/t.rhai",
        "fn lead_type() { \"T\" }\nfn trigger(it, acc, cfg) {\n    if it.id < 0 {\n        \
         return it.days_since_expirey + acc.opportunity_cnt;\n    }\n    \
         if \"x\" in cfg { cfg.anything } else { it.segment }\n}\n",
    );
    s.write(
        "classify/c.rhai",
        "fn classify(item, cfg) { let m = #{ segment: 1 }; m.tier = 2; m }\n",
    );
    let set = s.load().unwrap();
    let found: Vec<String> = set
        .unknown_fields()
        .into_iter()
        .map(|d| s.tidy(&d.text))
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with(
            "error: unknown field `days_since_expirey` of `item`\n --> rules/triggers/t.rhai:4:19"
        ),
        "{}",
        found[0]
    );
    assert!(found[0].ends_with("help: did you mean `days_since_expiry`?"));
    assert!(found[1].starts_with("error: unknown field `opportunity_cnt` of `account`"));
    assert!(found[1].ends_with("help: did you mean `opportunity_count`?"));
    // The shipped rules read only fields their maps have.
    assert!(defaults().unknown_fields().is_empty());
}
