//! `onelead rules check`: compile every rule against the config and report all problems at once
//! (stderr, exit 1), or print a one-line summary (stdout).

use std::io::Write as _;

use crate::cli::RulesCheckArgs;
use crate::config::{Config, DEFAULT_CONFIG};
use crate::error::Result;
use crate::rules::{RuleKind, RuleSet};

/// Runs `onelead rules check`.
pub fn check(args: &RulesCheckArgs) -> Result<()> {
    let explicit = args.config.as_os_str() != DEFAULT_CONFIG;
    let cfg = Config::load(&args.config, explicit)?;
    let dir = args
        .rules
        .clone()
        .unwrap_or_else(|| cfg.resolve(&cfg.rules_dir));
    let set = RuleSet::load(&dir, &cfg)?;
    let line = summary(&set, &dir.display().to_string());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    let report = set.fast_report();
    if !report.is_empty() {
        let compiled = report.iter().filter(|(.., why)| why.is_none()).count();
        writeln!(
            out,
            "fast path: {compiled} of {} rule functions compiled",
            report.len()
        )?;
        for (rule, sig, why) in &report {
            if let Some(why) = why {
                writeln!(out, "  interpreted: {rule} {sig}: {why}")?;
            }
        }
    }
    Ok(())
}

/// `ok: rules/ — 2 classify, 3 triggers (…), 4 scoring, 3 services; hash 1a2b3c4d5e6f`.
fn summary(set: &RuleSet, dir: &str) -> String {
    let count = |k: RuleKind| set.rules().iter().filter(|r| r.kind == k).count();
    let types: Vec<String> = set
        .rules()
        .iter()
        .filter_map(|r| r.lead_type.as_ref().map(|t| format!("`{t}`")))
        .collect();
    format!(
        "ok: {dir}: {} classify, {} triggers ({}), {} scoring ({}), {} services; hash {}",
        count(RuleKind::Classify),
        count(RuleKind::Trigger),
        types.join(", "),
        count(RuleKind::Scoring),
        set.factor_names().join(", "),
        count(RuleKind::Services),
        set.hash().get(..12).unwrap_or(set.hash()),
    )
}
