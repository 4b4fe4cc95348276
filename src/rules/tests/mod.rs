//! Tests of the rule set: diagnostics (positions, hints, limits, sandbox), validation, and the
//! default rules reproducing the original system's formulas on hand-built rows.

use std::path::Path;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Map};

use super::*;

const YAML: &str = "thresholds:\n  critical_days_past_eol: 1825\n  latest_server_generation: 12\n";
const CTX: EvalContext<'static> = EvalContext {
    table: "install_base",
    row: 17,
    key: "USE3267F8N",
};

fn cfg(yaml: &str) -> Config {
    Config::parse(yaml, Path::new("config/onelead.yaml")).unwrap()
}

fn defaults() -> RuleSet {
    let mut set = RuleSet::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &cfg(YAML),
    )
    .unwrap();
    set.set_as_of(chrono::NaiveDate::from_ymd_opt(2025, 10, 29).unwrap());
    set
}

/// A temporary rules folder with one valid factor (`f`, weight 1) plus whatever a test adds.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        s.write(
            "scoring/f.rhai",
            "fn score(item, account, lead, cfg) { 50 }",
        );
        s
    }
    fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }
    fn yaml() -> Config {
        cfg("scoring_weights: {f: 1.0}\nthresholds: {critical_days_past_eol: 1825}\n")
    }
    /// Shows paths as `rules/...` whatever the temp folder is called.
    fn tidy(&self, s: &str) -> String {
        s.replace(&self.dir.path().display().to_string(), "rules")
    }
    fn load(&self) -> Result<RuleSet> {
        RuleSet::load(self.dir.path(), &Scratch::yaml())
    }
    fn load_errors(&self) -> Vec<String> {
        match self.load() {
            Err(Error::Rules(d)) => d.iter().map(|d| self.tidy(d)).collect(),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("rules loaded"),
        }
    }
    /// Loads a single trigger `t.rhai` whose body is `body` and runs it on a default item.
    fn run_trigger(&self, body: &str) -> String {
        self.write(
            "triggers/t.rhai",
            &format!("fn lead_type() {{ \"T\" }}\nfn trigger(item, account, cfg) {{\n{body}\n}}\n"),
        );
        let set = self
            .load()
            .unwrap_or_else(|e| panic!("{}", self.tidy(&e.to_string())));
        match set.triggers(&item(&[]), &account(&[]), &CTX) {
            Err(Error::RuleRuntime(d)) => self.tidy(&d),
            other => panic!("expected a runtime error, got {other:?}"),
        }
    }
}

fn s(v: &str) -> Dynamic {
    Dynamic::from(v.to_string())
}

/// An install-base item shaped like the lead builds it; `over` replaces fields.
fn item(over: &[(&str, Dynamic)]) -> Map {
    let mut m = Map::new();
    for f in ITEM_FIELDS {
        m.insert((*f).into(), s(""));
    }
    for f in [
        "eol_date",
        "eosl_date",
        "service_start",
        "service_end",
        "days_since_eol",
        "days_since_expiry",
    ] {
        m.insert(f.into(), Dynamic::UNIT);
    }
    m.insert("id".into(), Dynamic::from_int(1));
    m.insert("eol_placeholder".into(), Dynamic::FALSE);
    m.insert("as_of".into(), s("2025-10-29"));
    for (k, v) in over {
        m.insert((*k).into(), v.clone());
    }
    m
}

fn account(over: &[(&str, Dynamic)]) -> Map {
    let mut m = Map::new();
    for f in ["account_id", "name", "territory_id"] {
        m.insert(f.into(), s(""));
    }
    for f in [
        "install_base_count",
        "opportunity_count",
        "project_count",
        "closed_project_count",
        "active_credits",
    ] {
        m.insert(f.into(), Dynamic::from_int(0));
    }
    m.insert("project_size_category".into(), Dynamic::UNIT);
    m.insert("last_project_end".into(), Dynamic::UNIT);
    for (k, v) in over {
        m.insert((*k).into(), v.clone());
    }
    m
}

fn lead(kind: &str) -> Map {
    let mut m = Map::new();
    m.insert("lead_type".into(), s(kind));
    m.insert("title".into(), s("t"));
    m.insert("rule".into(), s("r"));
    m
}

fn scores(set: &RuleSet, item: &Map, account: &Map, kind: &str) -> Vec<(String, f64)> {
    set.score(item, account, &lead(kind), &CTX)
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.value))
        .collect()
}

#[test]
fn rule_set_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RuleSet>();
}

#[test]
fn syntax_error_points_at_line_and_column() {
    let s = Scratch::new();
    s.write(
        "triggers/bad.rhai",
        "fn lead_type() { \"X\" }\nfn trigger(item, account, cfg) {\n    let x = ;\n}\n",
    );
    let errs = s.load_errors();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert!(e.starts_with("error: "), "{e}");
    assert!(e.contains(" --> rules/triggers/bad.rhai:3:13\n"), "{e}");
    assert!(
        e.contains("\n  |\n3 |     let x = ;\n  |             ^"),
        "{e}"
    );
}

#[test]
fn unknown_variable_is_a_compile_error_with_a_hint() {
    let s = Scratch::new();
    s.write("triggers/typo.rhai", "fn lead_type() { \"X\" }\nfn trigger(item, account, cfg) {\n    if itme.id > 0 { () }\n}\n");
    let e = &s.load_errors()[0];
    assert!(
        e.starts_with("error: unknown variable `itme`\n --> rules/triggers/typo.rhai:3:8\n"),
        "{e}"
    );
    assert!(
        e.contains("\n3 |     if itme.id > 0 { () }\n  |        ^^^^\n"),
        "{e}"
    );
    assert!(e.ends_with("help: did you mean `item`?"), "{e}");
}

#[test]
fn misspelt_field_suggests_the_real_one() {
    let e = Scratch::new().run_trigger("    if item.support_stauts.contains(\"x\") { return; }");
    assert!(
        e.starts_with("error: unknown field `support_stauts`\n --> rules/triggers/t.rhai:3:"),
        "{e}"
    );
    assert!(
        e.contains("3 |     if item.support_stauts.contains(\"x\") { return; }\n"),
        "{e}"
    );
    assert!(
        e.contains("\n  = while evaluating install_base row 17 (serial USE3267F8N)"),
        "{e}"
    );
    assert!(e.ends_with("help: did you mean `support_status`?"), "{e}");
}

#[test]
fn runtime_type_error_names_types() {
    let e = Scratch::new().run_trigger("    if item.id { return; }");
    assert!(e.starts_with("error: "), "{e}");
    assert!(
        e.starts_with(
            "error: type mismatch: expected `bool`, found `i64`\n --> rules/triggers/t.rhai:3:12\n"
        ),
        "{e}"
    );
    assert!(e.contains("while evaluating install_base row 17"), "{e}");
}

#[test]
fn unknown_function_suggests_a_helper() {
    let e = Scratch::new().run_trigger("    fmt_itn(5);");
    assert!(
        e.starts_with("error: unknown function `fmt_itn (i64)`"),
        "{e}"
    );
    assert!(e.ends_with("help: did you mean `fmt_int`?"), "{e}");
}

#[test]
fn endless_loop_hits_the_operations_limit_fast() {
    let start = Instant::now();
    let e = Scratch::new().run_trigger("    loop {}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(
        e.starts_with(
            "error: rule `triggers/t` exceeded 100000 operations (`limits.max_operations`)\n"
        ),
        "{e}"
    );
    // Rhai stops the call from outside, so the diagnostic points at the entry function.
    assert!(e.contains(" --> rules/triggers/t.rhai:2:1\n"), "{e}");
}

#[test]
fn deep_recursion_hits_the_call_limit() {
    let s = Scratch::new();
    s.write("triggers/t.rhai", "fn lead_type() { \"T\" }\nfn down(n) { down(n + 1) }\nfn trigger(item, account, cfg) { down(0) }\n");
    let set = s.load().unwrap();
    let Err(Error::RuleRuntime(e)) = set.triggers(&item(&[]), &account(&[]), &CTX) else {
        panic!()
    };
    assert!(
        e.starts_with(
            "error: rule `triggers/t` exceeded 32 nested calls (`limits.max_call_levels`)"
        ),
        "{e}"
    );
}

#[test]
fn huge_strings_hit_the_size_limit() {
    let e = Scratch::new().run_trigger("    let x = \"x\".pad(1_000_000_000, 'x');");
    assert!(
        e.contains("exceeds 1048576 (`limits.max_string_size`)"),
        "{e}"
    );
    let e = Scratch::new().run_trigger("    let x = \"x\"; loop { x += x; }");
    assert!(e.contains("(`limits.max_string_size`)"), "{e}");
}

#[test]
fn imports_stay_inside_the_rules_folder() {
    for bad in ["../x", "/etc/passwd", "lib/../../x"] {
        let s = Scratch::new();
        s.write("triggers/t.rhai", &format!("import \"{bad}\" as x;\nfn lead_type() {{ \"T\" }}\nfn trigger(item, account, cfg) {{ () }}\n"));
        let errs = s.load_errors();
        assert!(errs[0].starts_with(&format!("error: cannot import `{bad}`: imports must be relative paths inside the rules folder")), "{errs:?}");
        let caret = format!(
            "1 | import \"{bad}\" as x;\n  |        {}\n",
            "^".repeat(bad.len() + 2)
        );
        assert!(
            errs[0].contains(&format!(" --> rules/triggers/t.rhai:1:8\n  |\n{caret}")),
            "{errs:?}"
        );
    }
}

#[test]
fn lib_modules_can_be_imported_and_their_errors_point_into_them() {
    let s = Scratch::new();
    s.write(
        "lib/text.rhai",
        "fn shout(x) { x.to_upper() + \"!\" }\nfn boom() { throw \"lib boom\" }\n",
    );
    s.write("triggers/t.rhai", "import \"lib/text\" as text;\nfn lead_type() { text::shout(\"t\") }\nfn trigger(item, account, cfg) {\n  if item.id == 2 { text::boom(); }\n  #{ title: text::shout(\"hi\"), description: \"d\", action: \"a\" }\n}\n");
    let set = s.load().unwrap();
    assert_eq!(
        set.rules().iter().find_map(|r| r.lead_type.clone()),
        Some("T!".into())
    );
    let hits = set.triggers(&item(&[]), &account(&[]), &CTX).unwrap();
    assert_eq!(hits[0].title, "HI!");
    let Err(Error::RuleRuntime(e)) =
        set.triggers(&item(&[("id", Dynamic::from_int(2))]), &account(&[]), &CTX)
    else {
        panic!()
    };
    let e = s.tidy(&e);
    assert!(
        e.starts_with("error: rule threw: lib boom\n --> rules/lib/text.rhai:2:"),
        "{e}"
    );
}

#[test]
fn interpreted_rules_read_the_account_and_cfg_while_other_workers_read_them() {
    // Rhai reads a property of a shared value under its write lock, and gives up with a "data
    // race" after five 10 ms sleeps while another thread reads it. Interpreted rules get a
    // private copy of what every worker reads; it is still read-only.
    let scratch = Scratch::new();
    scratch.write("lib/text.rhai", "fn say(x) { `${x}` }\n");
    let rule = |body: &str| {
        format!(
            "import \"lib/text\" as text;\nfn lead_type() {{ \"T\" }}\n\
             fn trigger(item, account, cfg) {{\n  {body}\n}}\n"
        )
    };
    scratch.write(
        "triggers/t.rhai",
        &rule(
            "#{ title: text::say([account.name, cfg.critical_days_past_eol]), \
             description: \"d\", action: \"a\" }",
        ),
    );
    let set = scratch.load().unwrap();
    let item = share(item(&[]));
    let account = share(account(&[("name", s("Acme"))]));
    // Another worker reading both, all along.
    let _reading = (
        account.read_lock::<Map>().unwrap(),
        set.cfg_shared.read_lock::<Map>().unwrap(),
    );
    let hits = set.triggers_shared(&item, &account, &CTX, None).unwrap();
    assert_eq!(hits[0].title, "[\"Acme\", 1825]");
    for (param, field) in [("account", "name"), ("cfg", "critical_days_past_eol")] {
        scratch.write(
            "triggers/t.rhai",
            &rule(&format!("{param}.{field} = 1;\n  ()")),
        );
        let Err(Error::RuleRuntime(e)) = scratch
            .load()
            .unwrap()
            .triggers_shared(&item, &account, &CTX, None)
        else {
            panic!("assigning to {param} was not an error")
        };
        assert!(
            e.contains(&format!("cannot modify constant {param}")),
            "{e}"
        );
    }
}

#[test]
fn watch_keeps_caches_only_for_rules_that_run_interpreted() {
    let s = Scratch::new();
    s.write("lib/text.rhai", "fn shout(x) { x.to_upper() }\n");
    s.write(
        "triggers/a.rhai",
        "fn lead_type() { \"A\" }\nfn trigger(item, account, cfg) { () }\n",
    );
    s.write("triggers/b.rhai", "import \"lib/text\" as text;\nfn lead_type() { text::shout(\"b\") }\nfn trigger(item, account, cfg) { () }\n");
    let set = s.load().unwrap();
    set.retain_caches();
    let retained: Vec<(String, bool)> = set
        .rules()
        .iter()
        .zip(&set.memos)
        .filter(|(r, _)| r.lead_type.is_some())
        .map(|(r, m)| (r.name.clone(), m.retained()))
        .collect();
    let compiled = super::fast::enabled();
    // `a` runs on the fast path (unless it is switched off); `b` imports, so Rhai runs it.
    assert_eq!(
        retained,
        [("a".to_string(), !compiled), ("b".to_string(), true)]
    );
}

#[test]
fn eval_is_disabled() {
    let s = Scratch::new();
    s.write(
        "triggers/t.rhai",
        "fn lead_type() { \"T\" }\nfn trigger(item, account, cfg) { eval(\"1\") }\n",
    );
    let e = &s.load_errors()[0];
    assert!(e.starts_with("error: `eval` is disabled in rules"), "{e}");
    assert!(e.contains(" --> rules/triggers/t.rhai:2:"), "{e}");
}

#[test]
fn throw_and_helper_failure_are_told_apart() {
    let e = Scratch::new().run_trigger("    throw \"no luck\";");
    assert!(e.starts_with("error: rule threw: no luck\n"), "{e}");
    let e = Scratch::new().run_trigger("    days_between(\"2025-13-01\", item.as_of);");
    assert!(e.starts_with("error: helper `days_between` failed: `2025-13-01` is not a `YYYY-MM-DD` date\n --> rules/triggers/t.rhai:3:5"), "{e}");
}

#[test]
fn factors_outside_0_to_100_are_rejected_not_clamped() {
    for (body, shown) in [("1e9", "1000000000"), ("0.0 / 0.0", "NaN"), ("-1", "-1")] {
        let s = Scratch::new();
        s.write(
            "scoring/f.rhai",
            &format!("fn score(item, account, lead, cfg) {{\n  {body}\n}}\n"),
        );
        let set = s.load().unwrap();
        let Err(Error::RuleRuntime(e)) = set.score(&item(&[]), &account(&[]), &lead("X"), &CTX)
        else {
            panic!()
        };
        let e = s.tidy(&e);
        assert!(e.starts_with(&format!("error: factor `f` returned {shown}; factors must be between 0 and 100\n --> rules/scoring/f.rhai:1:1")), "{e}");
    }
}

#[test]
fn wrong_return_types_name_the_contract() {
    let s = Scratch::new();
    s.write(
        "scoring/f.rhai",
        "fn score(item, account, lead, cfg) { \"high\" }",
    );
    s.write(
        "triggers/t.rhai",
        "fn lead_type() { \"T\" }\nfn trigger(item, account, cfg) { 5 }\n",
    );
    s.write("services/b.rhai", "fn boost(lead, service, cfg) { 1.5 }");
    let set = s.load().unwrap();
    let Err(Error::RuleRuntime(e)) = set.score(&item(&[]), &account(&[]), &lead("X"), &CTX) else {
        panic!()
    };
    assert!(
        e.starts_with("error: rule `scoring/f` returned `string`; `score` must return a number"),
        "{e}"
    );
    let Err(Error::RuleRuntime(e)) = set.triggers(&item(&[]), &account(&[]), &CTX) else {
        panic!()
    };
    assert!(
        e.starts_with("error: rule `triggers/t` returned `i64`; `trigger` must return `()`"),
        "{e}"
    );
    let mut svc = Map::new();
    svc.insert("service".into(), Dynamic::from("x".to_string()));
    let Err(Error::RuleRuntime(e)) = set.boost(&lead("X"), &svc, &CTX) else {
        panic!()
    };
    assert!(
        e.starts_with("error: rule `services/b` returned `f64`; `boost` must return an integer"),
        "{e}"
    );
}

#[test]
fn all_problems_are_reported_at_once_sorted_by_path() {
    let s = Scratch::new();
    s.write(
        "triggers/b.rhai",
        "fn lead_type() { \"X\" }\nfn trigger(item, account) { () }\n",
    );
    s.write("triggers/a.rhai", "fn trigger(item, account, cfg) { ( }\n");
    s.write(
        "triggers/c.rhai",
        "fn lead_type() { \"X\" }\nfn trigger(item, account, cfg) { () }\n",
    );
    s.write("classify/k.rhai", "fn classify(item) { () }\n");
    s.write(
        "scoring/extra.rhai",
        "fn score(item, account, lead, cfg) { 1 }\n",
    );
    let cfg = cfg("scoring_weights: {f: 0.5, gone: 0.5}\n");
    let Err(Error::Rules(errs)) = RuleSet::load(s.dir.path(), &cfg) else {
        panic!()
    };
    let errs: Vec<String> = errs.iter().map(|e| s.tidy(e)).collect();
    let heads: Vec<&str> = errs
        .iter()
        .map(|e| e.lines().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        heads,
        // The temp folder is absolute, so it sorts before the relative config path.
        [
            " --> rules/classify/k.rhai:1:1",
            " --> rules/scoring/extra.rhai",
            " --> rules/triggers/a.rhai:1:36",
            " --> rules/triggers/b.rhai:2:1",
            " --> rules/triggers/c.rhai:1:1",
            " --> config/onelead.yaml",
        ],
        "{errs:#?}"
    );
    assert!(
        errs[5].starts_with(
            "error: `scoring_weights.gone` has no rule: create `rules/scoring/gone.rhai`"
        ),
        "{}",
        errs[5]
    );
    assert!(errs[0].starts_with("error: rule `classify/k` defines `fn classify` with 1 parameter(s); expected `fn classify(item, cfg)`"), "{}", errs[0]);
    assert!(errs[1].starts_with("error: factor `extra` has no weight: add `scoring_weights.extra` to `config/onelead.yaml`"), "{}", errs[1]);
    assert!(errs[2].starts_with("error: unexpected `}`"), "{}", errs[2]);
    assert!(
        errs[3].contains("`fn trigger(item, account, cfg)`"),
        "{}",
        errs[3]
    );
    assert!(
        errs[4].starts_with("error: lead type `X` is already produced by `rules/triggers/b.rhai`"),
        "{}",
        errs[5]
    );
}

#[test]
fn missing_entry_point_is_reported() {
    let s = Scratch::new();
    s.write("triggers/t.rhai", "fn trigger(item, account, cfg) { () }\n");
    let e = &s.load_errors()[0];
    assert_eq!(
        e,
        "error: rule `triggers/t` does not define `fn lead_type()`\n --> rules/triggers/t.rhai"
    );
}

#[test]
fn hash_changes_with_rules_and_config() {
    let s = Scratch::new();
    let a = s.load().unwrap().hash().to_string();
    assert_eq!(a.len(), 64);
    assert_eq!(a, s.load().unwrap().hash());
    s.write(
        "scoring/f.rhai",
        "fn score(item, account, lead, cfg) { 51 }",
    );
    assert_ne!(a, s.load().unwrap().hash());
}

#[test]
fn diag_render_matches_house_format() {
    let src = "fn a() {\n    if item.support_stauts.contains(\"x\") {\n}";
    let loc = diag::Loc {
        path: "rules/triggers/renewal.rhai",
        source: Some(src),
        line: 2,
        col: 8,
    };
    let out = diag::render(
        "unknown field `support_stauts`",
        &loc,
        Some("while evaluating install_base row 17 (serial X)"),
        Some("did you mean `support_status`?"),
    );
    assert_eq!(
        out,
        "error: unknown field `support_stauts`\n --> rules/triggers/renewal.rhai:2:8\n  |\n2 |     if item.support_stauts.contains(\"x\") {\n  |        ^^^^\n  = while evaluating install_base row 17 (serial X)\nhelp: did you mean `support_status`?"
    );
    assert_eq!(
        diag::clean("Function not found: x (line 3, position 9)"),
        "function not found: x"
    );
}

mod defaults;

mod output;

mod types;
