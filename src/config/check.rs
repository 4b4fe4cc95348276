//! Validation beyond what serde checks, each problem pointing at its key or value, and serde's
//! own errors reworded for sales ops.

use std::collections::BTreeMap;
use std::path::Path;

use super::locate::Locations;
use super::{Config, KNOWN_KEYS, Limits, did_you_mean};
use crate::diagnostic::{Diagnostic, Loc};

impl Config {
    /// Every problem serde cannot see, each pointing at its key or value.
    pub(super) fn validate(&mut self, at: &Located<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let sum: f64 = self.scoring_weights.values().sum();
        if (sum - 1.0).abs() > 1e-6 {
            let parts: Vec<String> = self
                .scoring_weights
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let msg = format!(
                "`scoring_weights` must sum to 1, but {} = {sum}",
                parts.join(" + ")
            );
            out.push(at.key("scoring_weights", &msg, None));
        }
        for (k, v) in &self.scoring_weights {
            if !v.is_finite() || *v < 0.0 {
                let msg = format!("`scoring_weights.{k}` must be a number ≥ 0, not {v}");
                out.push(at.value(&format!("scoring_weights.{k}"), &msg, None));
            }
        }
        let p = &self.priority_thresholds;
        if !(p.critical >= p.high && p.high >= p.medium) {
            let msg = format!(
                "`priority_thresholds` must satisfy critical ≥ high ≥ medium, but they are {} / {} / {}",
                p.critical, p.high, p.medium
            );
            out.push(at.key("priority_thresholds", &msg, None));
        }
        let r = &self.priority_ranks;
        if !(0.0 < r.critical && r.critical <= r.high && r.high <= r.medium && r.medium <= 100.0) {
            let msg = format!(
                "`priority_ranks` must satisfy 0 < critical ≤ high ≤ medium ≤ 100 (percent), but they are {} / {} / {}",
                r.critical, r.high, r.medium
            );
            out.push(at.key("priority_ranks", &msg, None));
        }
        if !(0.0..=100.0).contains(&self.accounts.fuzzy_threshold) {
            let msg = "`accounts.fuzzy_threshold` must be between 0 and 100";
            out.push(at.value("accounts.fuzzy_threshold", msg, None));
        }
        for msg in crate::assign::validate(&self.assignment) {
            out.push(at.key("assignment", &msg, None));
        }
        for p in self.crm.problems().into_iter().chain(self.mail.problems()) {
            out.push(at.value(&p.key, &p.message, p.help.as_deref()));
        }
        out.extend(self.limits.validate(at));
        out.extend(validate_thresholds(&mut self.thresholds, at));
        out.sort();
        out
    }
}

/// A serde_yaml error as a diagnostic at its line and column. serde_yaml puts the key path
/// first (`limits.max_operations: invalid type: …`) and the location last; the message is
/// reworded where a sales-ops reader would not follow serde's (`expected f64`).
pub(super) fn yaml_error(e: &serde_yaml::Error, path: &Path, text: &str) -> Diagnostic {
    let raw = e.to_string();
    let raw = raw.split(" at line ").next().unwrap_or(&raw).trim_end();
    let (key, what) = match raw.split_once(": ") {
        Some((k, w)) if !k.contains(' ') => (Some(k), w),
        _ => (None, raw),
    };
    let mut help = None;
    let msg = if let Some(unknown) = what
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        help = did_you_mean(unknown, KNOWN_KEYS).map(|b| format!("did you mean `{b}`?"));
        let section = key.map(|k| format!(" in `{k}`")).unwrap_or_default();
        match (&help, what.split_once(", expected ")) {
            (None, Some((_, known))) => {
                format!("unknown field `{unknown}`{section}; expected {known}")
            }
            _ => format!("unknown field `{unknown}`{section}"),
        }
    } else if let (Some(k), Some((found, expected))) = (
        key,
        what.strip_prefix("invalid type: string ")
            .and_then(|r| r.split_once(", expected ")),
    ) && ["f64", "f32", "usize", "u64", "u32", "i64", "i32"].contains(&expected)
    {
        help = Some("write the number without quotes".to_string());
        format!("`{k}` must be a number, not the text {found}")
    } else {
        key.map_or_else(|| what.to_string(), |k| format!("`{k}`: {what}"))
    };
    let shown = path.display().to_string();
    let loc = e.location().map_or(Loc::file(&shown), |l| Loc {
        path: &shown,
        source: Some(text),
        line: l.line(),
        col: l.column(),
    });
    Diagnostic::new(&msg, &loc, None, help.as_deref())
}

/// The config as read, for `rules check` (see [`Config::check_file`]).
#[derive(Debug)]
pub struct Checked {
    /// The config; the defaults when it could not be parsed.
    pub config: Config,
    /// False when the file could not be read or parsed at all: checks that compare the rules
    /// with the config (weights ↔ factor files) would only repeat that problem.
    pub parsed: bool,
    /// Every problem found, sorted by position.
    pub problems: Vec<Diagnostic>,
}

impl Checked {
    pub(super) fn clean(config: Config) -> Checked {
        Checked {
            config,
            parsed: true,
            problems: Vec::new(),
        }
    }
}

/// A config file's text and key positions, for pointing at what validation finds.
pub(super) struct Located<'a> {
    pub(super) path: &'a str,
    pub(super) text: &'a str,
    pub(super) keys: Locations,
}

impl Located<'_> {
    fn at(&self, key: &str, value: bool, msg: &str, help: Option<&str>) -> Diagnostic {
        let loc = self.keys.loc(self.path, self.text, key, value);
        Diagnostic::new(msg, &loc, None, help)
    }

    /// A problem with a whole key (`scoring_weights`).
    fn key(&self, key: &str, msg: &str, help: Option<&str>) -> Diagnostic {
        self.at(key, false, msg, help)
    }

    /// A problem with a key's value (`thresholds.x: "90"`).
    fn value(&self, key: &str, msg: &str, help: Option<&str>) -> Diagnostic {
        self.at(key, true, msg, help)
    }
}

impl Limits {
    /// Each limit must be at least 1: Rhai reads 0 as "no limit", which would open the sandbox.
    fn validate(&self, at: &Located<'_>) -> Vec<Diagnostic> {
        let Limits {
            max_operations,
            max_call_levels,
            max_expr_depth,
            max_string_size,
            max_array_size,
            max_map_size,
        } = self;
        let all = [
            ("max_operations", *max_operations),
            ("max_call_levels", *max_call_levels as u64),
            ("max_expr_depth", *max_expr_depth as u64),
            ("max_string_size", *max_string_size as u64),
            ("max_array_size", *max_array_size as u64),
            ("max_map_size", *max_map_size as u64),
        ];
        all.iter()
            .filter(|(_, v)| *v == 0)
            .map(|(k, _)| {
                let msg = format!("`limits.{k}` must be at least 1 (0 would turn the limit off)");
                at.value(&format!("limits.{k}"), &msg, None)
            })
            .collect()
    }
}

/// A threshold is a number, `true`/`false`, a text or a list of them. A quoted number is a
/// mistake that Rhai would not catch (`90 > "90"` is silently false), so it is an error; it is
/// read as the number, so that checking the rules goes on without tripping over it again. Codes
/// made of digits (territory ids) belong in a list, where quotes are kept.
fn validate_thresholds(
    thresholds: &mut BTreeMap<String, serde_yaml::Value>,
    at: &Located<'_>,
) -> Vec<Diagnostic> {
    use serde_yaml::Value;
    let mut out = Vec::new();
    for (k, v) in thresholds.iter_mut() {
        let key = format!("thresholds.{k}");
        match v {
            Value::String(s) => {
                let Ok(n) = s.trim().parse::<f64>() else {
                    continue;
                };
                let msg = format!("`{key}` is the text \"{s}\", not a number");
                let help = format!("write `{k}: {}` without quotes", s.trim());
                out.push(at.value(&key, &msg, Some(&help)));
                *v = s
                    .trim()
                    .parse::<i64>()
                    .map_or_else(|_| Value::from(n), Value::from);
            }
            Value::Null => {
                let msg = format!("`{key}` has no value");
                let help = format!("give it a number, e.g. `{k}: 90`, or remove it");
                out.push(at.key(&key, &msg, Some(&help)));
            }
            _ => {}
        }
    }
    out
}
