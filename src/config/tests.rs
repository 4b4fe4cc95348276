//! Config parsing and validation.
use super::*;

fn parse(s: &str) -> Result<Config> {
    Config::parse(s, Path::new("config/onelead.yaml"))
}

#[test]
fn defaults_match_the_original_design() {
    let c = parse("").unwrap();
    assert_eq!(c.scoring_weights["urgency"], 0.35);
    assert_eq!(c.scoring_weights["strategic_fit"], 0.15);
    assert_eq!(c.priority_thresholds.priority(75.0), "CRITICAL");
    assert_eq!(c.priority_thresholds.priority(59.99), "MEDIUM");
    assert_eq!(c.threshold("critical_days_past_eol", 0.0), 1825.0);
    assert_eq!(c.accounts.fuzzy_threshold, 85.0);
}

#[test]
fn unknown_key_names_line_column_and_suggestion() {
    let err = parse("database: x.db\nscoring_weight:\n  urgency: 1\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("error: unknown field `scoring_weight`"),
        "{err}"
    );
    assert!(err.contains(" --> config/onelead.yaml:2:1"), "{err}");
    assert!(
        err.contains("help: did you mean `scoring_weights`?"),
        "{err}"
    );
}

#[test]
fn weights_must_sum_to_one() {
    let err = parse("scoring_weights: {urgency: 0.5, value: 0.6}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("must sum to 1"), "{err}");
    assert!(err.contains("urgency 0.5 + value 0.6"), "{err}");
}

#[test]
fn the_empty_document_and_default_agree() {
    let from_yaml: Config = serde_yaml::from_str("{}").unwrap();
    let d = Config::default();
    assert_eq!(from_yaml.scoring_weights, d.scoring_weights);
    assert_eq!(from_yaml.thresholds, d.thresholds);
    assert_eq!(from_yaml.top_services, d.top_services);
    assert_eq!(from_yaml.aging_days, d.aging_days);
    assert_eq!(from_yaml.database, d.database);
    assert_eq!(from_yaml.rules_dir, d.rules_dir);
}

#[test]
fn shipped_config_is_valid_and_matches_defaults() {
    let shipped = parse(include_str!("../../config/onelead.yaml")).unwrap();
    let defaults = parse("").unwrap();
    assert_eq!(shipped.scoring_weights, defaults.scoring_weights);
    assert_eq!(
        shipped.limits.max_operations,
        defaults.limits.max_operations
    );
    assert_eq!(
        shipped.family_services["COMPUTE"],
        vec!["Servers".to_string()]
    );
}

#[test]
fn partial_sections_keep_their_other_defaults() {
    let c = parse("limits: {max_operations: 5}\npriority_thresholds: {critical: 90}").unwrap();
    assert_eq!(c.limits.max_operations, 5);
    assert_eq!(c.limits.max_call_levels, 32);
    assert_eq!(c.priority_thresholds.high, 60.0);
}

#[test]
fn root_is_parent_of_config_folder() {
    assert_eq!(
        project_root(Path::new("config/onelead.yaml")),
        PathBuf::from(".")
    );
    assert_eq!(
        project_root(Path::new("/p/config/a.yaml")),
        PathBuf::from("/p")
    );
    assert_eq!(
        project_root(Path::new("/tmp/x.yaml")),
        PathBuf::from("/tmp")
    );
}

fn problems(s: &str) -> Vec<String> {
    Config::check_text(s, Path::new("config/onelead.yaml"))
        .problems
        .into_iter()
        .map(|d| d.text)
        .collect()
}

// See: issue 21 ("`warranty_warning_days: \"90\"` … `rules check` says ok").
#[test]
fn a_quoted_threshold_is_an_error_at_its_value() {
    let text = "thresholds:\n  critical_days_past_eol: 1825\n  warranty_warning_days: \"90\"\n";
    let err = parse(text).unwrap_err().to_string();
    assert_eq!(
        err,
        "error: `thresholds.warranty_warning_days` is the text \"90\", not a number\n \
         --> config/onelead.yaml:3:26\n  |\n3 |   warranty_warning_days: \"90\"\n  |                          ^^^^\n\
         help: write `warranty_warning_days: 90` without quotes"
    );
    // The lenient reading keeps going with the number, so the rules are not blamed too.
    let checked = Config::check_text(text, Path::new("config/onelead.yaml"));
    assert_eq!(checked.problems.len(), 1);
    assert_eq!(
        checked.config.thresholds["warranty_warning_days"],
        serde_yaml::Value::from(90)
    );
}

#[test]
fn texts_lists_and_numbers_are_thresholds_but_an_empty_value_is_not() {
    let ok = "thresholds:\n  name: Apple\n  territories: [\"56088\", \"56769\"]\n  ratio: 0.5\n  on: true\n";
    assert!(problems(ok).is_empty(), "{:?}", problems(ok));
    let p = problems("thresholds:\n  gap:\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("error: `thresholds.gap` has no value\n --> config/onelead.yaml:2:3"),
        "{}",
        p[0]
    );
}

// See: issue 21 ("two broken rules and weights that do not sum to 1: only the weights error").
#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = "scoring_weights:\n  urgency: 0.5\n  value: -0.6\npriority_thresholds: {critical: 10, high: 60}\n\
                thresholds:\n  a: \"3\"\nlimits:\n  max_operations: 0\n";
    let p = problems(text);
    let heads: Vec<&str> = p
        .iter()
        .map(|t| t.lines().take(2).collect::<Vec<_>>())
        .map(|l| l[1].trim_start_matches(" --> config/onelead.yaml:"))
        .collect();
    assert_eq!(heads, ["1:1", "3:10", "4:1", "6:6", "8:19"], "{p:#?}");
    assert!(p[0].contains("`scoring_weights` must sum to 1, but urgency 0.5 + value -0.6"));
    assert!(p[1].contains("`scoring_weights.value` must be a number ≥ 0, not -0.6"));
    assert!(p[2].contains("critical ≥ high ≥ medium, but they are 10 / 60 / 40"));
    assert!(p[3].contains("`thresholds.a` is the text \"3\""));
    assert!(p[4].contains("`limits.max_operations` must be at least 1"));
    // `parse` reports all of them too, in the same order.
    let err = parse(text).unwrap_err().to_string();
    assert_eq!(err, p.join("\n"));
}

#[test]
fn a_number_in_quotes_where_serde_wants_one_is_reworded() {
    let err = parse("priority_thresholds:\n  critical: \"75\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "error: `priority_thresholds.critical` must be a number, not the text \"75\"\n \
             --> config/onelead.yaml:2:13"
        ),
        "{err}"
    );
    assert!(
        err.ends_with("help: write the number without quotes"),
        "{err}"
    );
}

#[test]
fn an_unknown_nested_key_names_its_section_and_the_closest_key() {
    let err = parse("accounts:\n  fuzy_threshold: 80\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "error: unknown field `fuzy_threshold` in `accounts`\n --> config/onelead.yaml:2:3"
        ),
        "{err}"
    );
    assert!(
        err.ends_with("help: did you mean `fuzzy_threshold`?"),
        "{err}"
    );
    // With nothing close, serde's list of the keys it knows is kept instead.
    let err = parse("accounts:\n  zzz: 1\n").unwrap_err().to_string();
    assert!(err.contains("expected one of `fuzzy_threshold`"), "{err}");
}

// See: issue 21 ("did you mean `fmt_int`?" after `fmt_int`).
#[test]
fn a_suggestion_is_never_the_word_itself() {
    assert_eq!(
        did_you_mean("fmt_int", &["fmt_int", "fmt_float"]),
        Some("fmt_float")
    );
    assert_eq!(did_you_mean("item", &["item"]), None);
}

#[test]
fn an_unreadable_file_is_one_problem_and_the_defaults() {
    let c = Config::check_file(Path::new("/nonexistent/config/x.yaml"), true);
    assert!(!c.parsed);
    assert_eq!(c.problems.len(), 1);
    assert!(
        c.problems[0]
            .text
            .starts_with("error: cannot read `/nonexistent/config/x.yaml`")
    );
    assert_eq!(c.config.scoring_weights, Config::default().scoring_weights);
}
