//! `rules test`: scenario files under `rules/tests/` (YAML a sales-ops person can read and
//! write) give an asset's fields and its account's, and the leads expected by type: factor
//! values or score ranges, priority, services, and why a trigger does not fire. Each scenario
//! runs through every rule as a run would ([`super::simulate`]) with the project's config; a
//! failure shows what was expected against what came out, with the rules' reasons.

mod file;

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::config::{Config, PriorityMode};
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::recommend::Catalog;
use crate::rules::{Decision, EvalContext, RuleSet};
use crate::verify::simulate::{SimLead, Simulated, simulate};
use file::{ExpectedLead, Scenario};

/// One scenario's outcome.
pub struct Outcome {
    /// Its name.
    pub name: String,
    /// The line of its `name:`.
    pub line: usize,
    /// What differed from what it expects (empty: it passed), one line each, reasons indented.
    pub failures: Vec<String>,
}

/// What the scenarios of a run expect, to tell which rules no scenario exercises.
#[derive(Default)]
pub struct Coverage {
    fired: Vec<String>,
    not_fired: Vec<String>,
    factors: Vec<String>,
    fields: Vec<String>,
    services: Vec<String>,
}

impl Coverage {
    fn add(&mut self, s: &Scenario) {
        self.fields.extend(s.expect.item.keys().cloned());
        self.not_fired.extend(s.expect.no_lead.keys().cloned());
        for lead in s.expect.leads.iter().flatten() {
            self.fired.push(lead.lead_type.clone());
            self.factors.extend(lead.factors.keys().cloned());
            if lead.services.as_ref().is_some_and(|s| !s.is_empty()) {
                self.services.push(lead.lead_type.clone());
            }
        }
    }

    /// What no scenario checks, one line each: a trigger never expected to fire, or never
    /// expected not to (with its reason), a factor whose value no scenario states, a classify
    /// rule none of whose fields is expected, and a lead type whose services none lists.
    pub fn gaps(&self, rules: &RuleSet) -> Vec<String> {
        use crate::rules::RuleKind;
        let mut out = Vec::new();
        for rule in rules.rules() {
            let id = rule.id();
            match (rule.kind, rule.lead_type.as_ref()) {
                (RuleKind::Trigger, Some(t)) => {
                    if !self.fired.contains(t) {
                        out.push(format!("{id}: no scenario expects a `{t}` lead"));
                    }
                    if !self.not_fired.contains(t) {
                        out.push(format!(
                            "{id}: no scenario says why there is no `{t}` lead (`no_lead`)"
                        ));
                    }
                    if !self.services.contains(t) {
                        out.push(format!(
                            "{id}: no scenario lists the services of a `{t}` lead"
                        ));
                    }
                }
                (RuleKind::Scoring, _) if !self.factors.contains(&rule.name) => {
                    out.push(format!("{id}: no scenario states the factor's value"));
                }
                (RuleKind::Classify, _) => {
                    let fields = crate::rules::returned_fields(rule);
                    if !fields.iter().any(|f| self.fields.contains(f)) {
                        out.push(format!(
                            "{id}: no scenario expects a field it sets ({})",
                            fields.join(", ")
                        ));
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// One file's outcomes, or what is wrong with the file itself.
pub struct FileOutcome {
    /// The file as displayed.
    pub path: PathBuf,
    /// Its scenarios' outcomes.
    pub scenarios: Vec<Outcome>,
    /// Problems reading it (no scenario ran).
    pub problems: Vec<Diagnostic>,
}

/// Every `*.yaml`/`*.yml` file under `dir`, sorted; none when it does not exist.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| crate::Error::io(dir, e))? {
        let path = entry.map_err(|e| crate::Error::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Runs every scenario of `path` with `rules` (loaded with `cfg`), noting what they expect in
/// `coverage`.
pub fn run_file(
    rules: &mut RuleSet,
    cfg: &Config,
    path: &Path,
    coverage: &mut Coverage,
) -> FileOutcome {
    let parsed = match file::read(path) {
        Ok(f) => f,
        Err(problems) => {
            return FileOutcome {
                path: path.to_path_buf(),
                scenarios: Vec::new(),
                problems,
            };
        }
    };
    rules.set_as_of(parsed.as_of);
    parsed.scenarios.iter().for_each(|s| coverage.add(s));
    let catalog = Catalog::new(parsed.catalog, cfg);
    let scenarios = parsed
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let label = format!("`{}`", s.name);
            let ctx = EvalContext {
                table: "scenario",
                row: i as i64 + 1,
                key: &label,
            };
            let failures = match simulate(rules, cfg, &catalog, s.item.clone(), &s.account, &ctx) {
                Ok(got) => compare(s, &got, cfg.priority_mode == PriorityMode::Thresholds),
                Err(e) => vec![format!("a rule failed:\n{}", indent(&e.render(), 2))],
            };
            Outcome {
                name: s.name.clone(),
                line: s.line,
                failures,
            }
        })
        .collect();
    FileOutcome {
        path: path.to_path_buf(),
        scenarios,
        problems: Vec::new(),
    }
}

/// Everything in `got` that differs from what `s` expects; priorities only when they are the
/// lead's own (`priority_mode: thresholds`): by rank, a lead's priority depends on every other.
fn compare(s: &Scenario, got: &Simulated<'_>, priorities: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (field, want) in &s.expect.item {
        let have = got.item.get(field.as_str()).map(crate::rules::show_value);
        let want_text = show_yaml(want);
        if have.as_deref() != Some(want_text.as_str()) {
            let have = have.unwrap_or_else(|| "nothing (no such field)".into());
            out.push(format!("item `{field}`: expected {want_text}, got {have}"));
        }
    }
    if let Some(leads) = &s.expect.leads {
        for want in leads {
            match got.leads.iter().find(|l| l.hit.lead_type == want.lead_type) {
                Some(lead) => out.extend(compare_lead(want, lead, priorities)),
                None => out.push(missing(&want.lead_type, got)),
            }
        }
        for lead in &got.leads {
            if !leads.iter().any(|w| w.lead_type == lead.hit.lead_type) {
                out.push(format!(
                    "lead `{}`: expected none, got one\n{}",
                    lead.hit.lead_type,
                    indent(&lead.hit.reasons.join("\n"), 2)
                ));
            }
        }
    }
    for (lead_type, part) in &s.expect.no_lead {
        out.extend(compare_no_lead(lead_type, part, got));
    }
    out
}

/// An expected lead that did not come: what its trigger said instead.
fn missing(lead_type: &str, got: &Simulated<'_>) -> String {
    let said = got
        .decisions
        .iter()
        .find(|(rule, _)| rule.lead_type.as_deref() == Some(lead_type))
        .map_or_else(
            || "  no trigger gives this lead type".to_string(),
            |(rule, d)| match d {
                Decision::NotFired(Some(why)) => format!("  {}: {why}", rule.id()),
                Decision::NotFired(None) | Decision::Fired(_) => {
                    format!("  {}: no lead (the rule gives no reason)", rule.id())
                }
            },
        );
    format!("lead `{lead_type}`: expected one, got none\n{said}")
}

/// A lead type that must not fire, for a reason containing `part`.
fn compare_no_lead(lead_type: &str, part: &str, got: &Simulated<'_>) -> Option<String> {
    let Some((rule, decision)) = got
        .decisions
        .iter()
        .find(|(rule, _)| rule.lead_type.as_deref() == Some(lead_type))
    else {
        return Some(format!(
            "no lead `{lead_type}`: no trigger gives this lead type"
        ));
    };
    match decision {
        Decision::NotFired(Some(why)) if why.contains(part) => None,
        Decision::NotFired(why) => Some(format!(
            "no lead `{lead_type}`: expected a reason containing \"{part}\", got {}",
            why.as_ref()
                .map_or("none".to_string(), |w| format!("\"{w}\" ({})", rule.id()))
        )),
        Decision::Fired(hit) => Some(format!(
            "no lead `{lead_type}`: expected none, got one\n{}",
            indent(&hit.reasons.join("\n"), 2)
        )),
    }
}

/// Everything in one lead that differs from what is expected of it.
fn compare_lead(want: &ExpectedLead, got: &SimLead, priorities: bool) -> Vec<String> {
    let name = &want.lead_type;
    let mut out = Vec::new();
    if let Some(p) = &want.priority
        && priorities
        && !p.eq_ignore_ascii_case(got.priority)
    {
        out.push(format!(
            "lead `{name}` priority: expected {p}, got {} (score {})",
            got.priority,
            fmt_num(got.score)
        ));
    }
    if let Some(range) = &want.score
        && let Some(problem) = outside(range, got.score)
    {
        let parts: Vec<String> = got
            .factors
            .iter()
            .map(|(f, v)| format!("{f} {} × {}", fmt_num(v.value), v.weight))
            .collect();
        out.push(format!(
            "lead `{name}` score: {problem}\n  = {}",
            parts.join(" + ")
        ));
    }
    for (factor, range) in &want.factors {
        let Some(f) = got.factors.get(factor) else {
            out.push(format!("lead `{name}` factor `{factor}`: no such factor"));
            continue;
        };
        if let Some(problem) = outside(range, f.value) {
            out.push(format!(
                "lead `{name}` factor `{factor}`: {problem}\n{}",
                indent(&f.reasons.join("\n"), 2)
            ));
        }
    }
    if let Some(services) = &want.services {
        let have: Vec<&str> = got.services.iter().map(|s| s.service.as_str()).collect();
        if have != services.iter().map(String::as_str).collect::<Vec<_>>() {
            out.push(format!(
                "lead `{name}` services: expected {services:?}, got {have:?}"
            ));
        }
    }
    if let Some(part) = &want.action
        && !got.hit.action.contains(part.as_str())
    {
        out.push(format!(
            "lead `{name}` action: expected one containing \"{part}\", got\n  {}",
            got.hit.action
        ));
    }
    for part in &want.reasons {
        if !got.hit.reasons.iter().any(|r| r.contains(part.as_str())) {
            out.push(format!(
                "lead `{name}` reasons: expected one containing \"{part}\", got\n{}",
                indent(&got.hit.reasons.join("\n"), 2)
            ));
        }
    }
    out
}

/// Why `x` is not `want` (a number, or an inclusive range `a..b`), if it is not.
fn outside(want: &Value, x: f64) -> Option<String> {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let got = fmt_num(x);
    if let Some(n) = want.as_f64() {
        return (!close(n, x)).then(|| format!("expected {}, got {got}", fmt_num(n)));
    }
    let range = want.as_str().and_then(|s| {
        let (a, b) = s.split_once("..")?;
        Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
    });
    match range {
        Some((a, b)) if x >= a - 1e-9 && x <= b + 1e-9 => None,
        Some((a, b)) => Some(format!(
            "expected {}..{}, got {got}",
            fmt_num(a),
            fmt_num(b)
        )),
        None => Some(format!(
            "expected `{}`, which is neither a number nor a range such as `70..75`",
            show_yaml(want)
        )),
    }
}

/// A number as a person writes it: `80`, `72.75`.
fn fmt_num(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A YAML scalar as [`crate::rules::show_value`] shows the same value in a rule.
fn show_yaml(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "()".into(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
