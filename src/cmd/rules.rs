//! `onelead rules test`: the scenario files, each scenario's outcome on stdout; exit 1 when one
//! fails or a file cannot be read.
//!
//! `onelead rules check`: the pre-flight. Validates the config, compiles every rule, finds
//! misspelt fields without data, then runs every rule over the install base and generated edge
//! rows without writing. Every problem, config and rules together, is reported at once on
//! stderr, sorted by file and position (exit 1); otherwise a summary goes to stdout.

use std::io::Write as _;

use crate::cli::{RulesCheckArgs, RulesTestArgs};
use crate::config::{Config, DEFAULT_CONFIG};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::rules::{RuleKind, RuleSet};
use crate::verify::{dry_run, scenario};

/// Runs `onelead rules check`.
pub fn check(args: &RulesCheckArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let explicit = args.config.as_os_str() != DEFAULT_CONFIG;
    let checked = Config::check_file(&args.config, explicit);
    let cfg = &checked.config;
    let dir = args
        .rules
        .clone()
        .unwrap_or_else(|| cfg.resolve(&cfg.rules_dir));
    let mut problems = checked.problems.clone();
    let mut dry = None;
    match RuleSet::check(&dir, cfg, checked.parsed)? {
        Err(found) => problems.extend(found),
        Ok(mut set) => {
            problems.extend(set.unknown_fields());
            let db = args
                .db
                .clone()
                .unwrap_or_else(|| cfg.resolve(&cfg.database));
            let mut rows = dry_run::rows(cfg, &db, args.as_of)?;
            set.set_as_of(rows.as_of);
            let mut tx = rows.store.begin()?;
            let report = dry_run::run(&set, cfg, &mut *tx, rows.as_of)?;
            drop(tx);
            problems.extend(report.problems.iter().cloned());
            dry = Some((set, report, rows.label));
        }
    }
    if !problems.is_empty() {
        return Err(failure(problems));
    }
    let Some((set, report, label)) = dry else {
        return Ok(());
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", summary(&set, &dir.display().to_string()))?;
    writeln!(
        out,
        "dry run: every rule over {} install-base rows of {label} and {} generated edge rows, \
         nothing written ({:.2} s)",
        report.items,
        report.edge_rows,
        started.elapsed().as_secs_f64()
    )?;
    write_fast_report(&mut out, &set)?;
    Ok(())
}

/// Every problem, sorted and each once, then how many there were. A misspelt field is found
/// both without data and by the dry run at the same place: the dry run's, which names the row
/// that showed it, is kept.
fn failure(mut problems: Vec<Diagnostic>) -> Error {
    let with_row = |d: &Diagnostic| d.text.contains("\n  = while evaluating");
    problems.sort_by(|a, b| {
        (&a.path, a.line, a.col, !with_row(a)).cmp(&(&b.path, b.line, b.col, !with_row(b)))
    });
    problems.dedup_by(|later, first| {
        later.text == first.text
            || (later.line > 0
                && (&later.path, later.line, later.col) == (&first.path, first.line, first.col))
    });
    let n = problems.len();
    let mut texts: Vec<String> = problems.into_iter().map(|d| d.text).collect();
    let noun = if n == 1 { "problem" } else { "problems" };
    texts.push(format!("error: `rules check` found {n} {noun}"));
    Error::Rules(texts)
}

/// Which rule functions the fast path runs compiled, and why the others are interpreted.
fn write_fast_report(out: &mut impl std::io::Write, set: &RuleSet) -> Result<()> {
    let report = set.fast_report();
    if report.is_empty() {
        return Ok(());
    }
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
    // Assignment rules are optional: the line names them only when there are some.
    let assign = match count(RuleKind::Assign) {
        0 => String::new(),
        n => format!(", {n} assign"),
    };
    format!(
        "ok: {dir}: {} classify, {} triggers ({}), {} scoring ({}), {} services{assign}; hash {}",
        count(RuleKind::Classify),
        count(RuleKind::Trigger),
        types.join(", "),
        count(RuleKind::Scoring),
        set.factor_names().join(", "),
        count(RuleKind::Services),
        set.hash().get(..12).unwrap_or(set.hash()),
    )
}

/// Runs `onelead rules test`.
pub fn test(args: &RulesTestArgs) -> Result<()> {
    let explicit = args.config.as_os_str() != DEFAULT_CONFIG;
    let cfg = Config::load(&args.config, explicit)?;
    let dir = args
        .rules
        .clone()
        .unwrap_or_else(|| cfg.resolve(&cfg.rules_dir));
    let mut rules = RuleSet::load(&dir, &cfg)?;
    let files = if args.files.is_empty() {
        scenario::files(&dir.join("tests"))?
    } else {
        args.files.clone()
    };
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "no scenario files in `{}`; write one (see rules/README.md) or name files to run",
            dir.join("tests").display()
        )));
    }
    let mut out = std::io::stdout().lock();
    let mut tally = Tally::default();
    let mut coverage = scenario::Coverage::default();
    for path in &files {
        let outcome = scenario::run_file(&mut rules, &cfg, path, &mut coverage);
        tally.write(&mut out, outcome)?;
    }
    let Tally {
        passed,
        failed,
        unread,
        mut problems,
    } = tally;
    let total = passed + failed;
    if cfg.priority_mode == crate::config::PriorityMode::Rank {
        writeln!(
            out,
            "note: `priority_mode` is `rank`: scenario priorities are not checked (a lead's rank depends on every other lead)"
        )?;
    }
    // Only over every scenario file: a file run alone is not meant to cover everything.
    if args.files.is_empty() {
        for gap in coverage.gaps(&rules) {
            writeln!(out, "note: {gap}")?;
        }
    }
    writeln!(
        out,
        "rules test: {total} scenarios in {} files: {passed} passed, {failed} failed",
        files.len()
    )?;
    if !problems.is_empty() {
        problems.sort();
        let mut texts: Vec<String> = problems.into_iter().map(|d| d.text).collect();
        let noun = if unread == 1 { "file" } else { "files" };
        texts.push(format!(
            "error: `rules test` could not read {unread} scenario {noun}"
        ));
        return Err(Error::Rules(texts));
    }
    if failed > 0 {
        return Err(Error::Rules(vec![format!(
            "error: {failed} of {total} scenarios failed"
        )]));
    }
    Ok(())
}

/// What the scenario files gave so far.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    unread: usize,
    problems: Vec<Diagnostic>,
}

impl Tally {
    /// Prints one file's outcomes (a failure with what it expected against what came out) and
    /// counts them.
    fn write(&mut self, out: &mut impl std::io::Write, file: scenario::FileOutcome) -> Result<()> {
        writeln!(out, "{}", file.path.display())?;
        for s in &file.scenarios {
            if s.failures.is_empty() {
                self.passed += 1;
                writeln!(out, "  ok    {}", s.name)?;
                continue;
            }
            self.failed += 1;
            let at = format!("{}:{}", file.path.display(), s.line);
            writeln!(out, "  FAIL  {}  ({at})", s.name)?;
            for line in s.failures.iter().flat_map(|f| f.lines()) {
                writeln!(out, "          {line}")?;
            }
        }
        if !file.problems.is_empty() {
            self.unread += 1;
            self.problems.extend(file.problems);
        }
        Ok(())
    }
}
