//! `rules check`'s dry run: every rule over every install-base row of a database, then over
//! generated edge rows, writing nothing. Rules run one by one (a failing rule does not hide
//! the next), and each distinct problem is kept once, with the first row that showed it and a
//! count of the others.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::RwLock;

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::fxhash::{FastSet, Fx};
use crate::model::item::{Interner, ItemRow};
use crate::recommend::Catalog;
use crate::rules::{Decision, EvalContext, RuleSet, TriggerHit, share};
use crate::score::context::{self, Accounts, AsOf};
use crate::store::api::WriteTx;
use crate::verify::edge;

/// Install-base rows read and checked at a time.
const CHUNK: usize = 8192;

/// What a dry run went over and found.
#[derive(Debug)]
pub struct Report {
    /// Install-base rows checked.
    pub items: usize,
    /// Generated edge rows checked.
    pub edge_rows: usize,
    /// Every distinct problem, sorted by file and position.
    pub problems: Vec<Diagnostic>,
}

/// Everything one row's check reads.
struct Inputs<'a> {
    rules: &'a RuleSet,
    catalog: &'a Catalog,
    accounts: &'a Accounts,
    as_of: AsOf,
    factors: Vec<String>,
    /// (lead type, title, rule, family) whose services were checked already: most leads share
    /// them, and their boosts cannot fail differently.
    services_seen: RwLock<FastSet<u64>>,
}

/// Runs every rule over the install base `tx` reads and over the edge rows, as of `as_of`.
/// Nothing is written: the caller drops `tx` (a rollback).
pub fn run(
    rules: &RuleSet,
    cfg: &Config,
    tx: &mut dyn WriteTx,
    as_of: NaiveDate,
) -> Result<Report> {
    let accounts = context::read_accounts(tx)?;
    let catalog = Catalog::read(tx, cfg)?;
    let inputs = Inputs {
        rules,
        catalog: &catalog,
        accounts: &accounts,
        as_of: AsOf::new(as_of),
        factors: rules.factor_names(),
        services_seen: RwLock::default(),
    };
    let mut found = Found::default();
    let (mut after, mut items) = (0, 0);
    let mut strings = Interner::default();
    // The first row, and the first row each trigger fired on: edge rows are made from these,
    // so that every trigger, factor and services rule meets them.
    let mut templates: Vec<(String, ItemRow)> = Vec::new();
    loop {
        let rows = tx.read_items(after, CHUNK, &mut strings)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        if templates.is_empty() {
            templates.push(("the first install-base row".into(), rows[0].clone()));
        }
        let checked: Vec<(Vec<Error>, Vec<String>)> = rows
            .par_iter()
            .map(|row| check_row(&inputs, row, &super::row_context(row)))
            .collect();
        for (row, (errors, fired)) in rows.iter().zip(checked) {
            found.add_row(errors);
            for lead_type in fired {
                let label = format!("a `{lead_type}` lead's row");
                if !templates.iter().any(|(l, _)| *l == label) {
                    templates.push((label, row.clone()));
                }
            }
        }
        items += rows.len();
    }
    if templates.is_empty() {
        templates.push(("a made-up server".into(), edge::made_up()));
    }
    let edge_rows = check_edges(&inputs, &templates, as_of, &mut found);
    Ok(Report {
        items,
        edge_rows,
        problems: found.into_sorted(),
    })
}

/// Checks the edge rows made from each template; returns how many there were.
fn check_edges(
    inputs: &Inputs<'_>,
    templates: &[(String, ItemRow)],
    as_of: NaiveDate,
    found: &mut Found,
) -> usize {
    let mut n = 0;
    for (from, template) in templates {
        for edge in edge::rows(template, as_of) {
            n += 1;
            let what = format!("{}, from {from}", edge.label);
            let ctx = EvalContext {
                table: "generated edge row",
                row: n as i64,
                key: &what,
            };
            found.add_row(check_row(inputs, &edge.row, &ctx).0);
        }
    }
    n
}

/// Every rule's error on one row: the classify rules in order (a failing one changes nothing),
/// each trigger, and for each lead each factor and each services rule; with the lead types
/// that fired.
fn check_row(inputs: &Inputs<'_>, row: &ItemRow, ctx: &EvalContext) -> (Vec<Error>, Vec<String>) {
    let rules = inputs.rules;
    let mut item = context::item_map_at(row, &inputs.as_of, false);
    let mut errors: Vec<Error> = rules
        .classify_each(&mut item, ctx)
        .into_iter()
        .filter_map(Result::err)
        .collect();
    let family = item
        .get("product_family")
        .and_then(|v| v.clone().into_string().ok())
        .unwrap_or_default();
    let item = share(item);
    let account = inputs.accounts.shared(row.account_id.as_deref());
    let mut fired = Vec::new();
    for (_, decision) in rules.decisions_shared(&item, account, ctx) {
        match decision {
            Err(e) => errors.push(e),
            Ok(Decision::Fired(hit)) => {
                let lead = share(crate::score::lead_map(&hit));
                for f in &inputs.factors {
                    let only = std::slice::from_ref(f);
                    if let Err(e) = rules.score_shared(&item, account, &lead, ctx, Some(only)) {
                        errors.push(e);
                    }
                }
                check_services(inputs, &hit, &family, &lead, ctx, &mut errors);
                fired.push(hit.lead_type);
            }
            Ok(Decision::NotFired(_)) => {}
        }
    }
    (errors, fired)
}

/// Every services rule on every candidate service of a lead, once per kind of lead.
fn check_services(
    inputs: &Inputs<'_>,
    hit: &TriggerHit,
    family: &str,
    lead: &rhai::Dynamic,
    ctx: &EvalContext,
    errors: &mut Vec<Error>,
) {
    let key = Fx::default().hash_one((&hit.lead_type, &hit.title, &hit.rule, family));
    if inputs
        .services_seen
        .read()
        .is_ok_and(|seen| seen.contains(&key))
    {
        return;
    }
    for service in inputs.catalog.candidates(family) {
        let service = share(service.map.clone());
        errors.extend(
            inputs
                .rules
                .boost_each(lead, &service, ctx)
                .into_iter()
                .filter_map(Result::err),
        );
    }
    if let Ok(mut seen) = inputs.services_seen.write() {
        seen.insert(key);
    }
}

/// Problems by where they are (the same line and column fail on many rows, each quoting its
/// own values), each with the first row that showed it and how many others did. A problem with
/// no position is told apart by its text.
#[derive(Default)]
struct Found {
    seen: HashMap<String, (Diagnostic, usize)>,
}

impl Found {
    /// One row's errors; a place that failed twice on the row (two leads scored by the same
    /// rule) counts once.
    fn add_row(&mut self, errors: Vec<Error>) {
        let mut keys = std::collections::HashSet::new();
        for e in errors {
            let (key, d) = Self::keyed(e);
            if keys.insert(key.clone()) {
                self.seen
                    .entry(key)
                    .and_modify(|(_, n)| *n += 1)
                    .or_insert((d, 0));
            }
        }
    }

    fn keyed(e: Error) -> (String, Diagnostic) {
        let text = match e {
            Error::RuleRuntime(t) => t,
            other => other.render(),
        };
        let d = Diagnostic::from_rendered(text);
        let key = if d.line > 0 {
            format!("{}:{}:{}", d.path, d.line, d.col)
        } else {
            d.text
                .lines()
                .filter(|l| !l.starts_with("  = while evaluating"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        (key, d)
    }

    fn into_sorted(self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .seen
            .into_values()
            .map(|(mut d, others)| {
                if others > 0 {
                    let rows = if others == 1 { "row" } else { "rows" };
                    d.text = d
                        .text
                        .lines()
                        .map(|l| {
                            if l.starts_with("  = while evaluating") {
                                format!("{l}, and {others} other {rows}")
                            } else {
                                l.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                }
                d
            })
            .collect();
        out.sort();
        out
    }
}

/// Where a dry run's rows come from.
pub struct Rows {
    /// The database holding them (a temporary one for the sample).
    pub store: crate::store::Store,
    /// What they are, for the summary (`database `data/onelead.db``).
    pub label: String,
    /// The as-of date the rows are seen at.
    pub as_of: NaiveDate,
    /// Keeps the sample's temporary folder until the run is over.
    _temp: Option<tempfile::TempDir>,
}

/// The rows to check: the install base of the database at `db` when it has one, else the
/// bundled sample (`data/sample` under the project, or the same sample generated afresh when
/// the project has none), loaded into a temporary database without running any rule. The
/// as-of date is `as_of`, else the database's last run's, else today.
pub fn rows(cfg: &Config, db: &std::path::Path, as_of: Option<NaiveDate>) -> Result<Rows> {
    if db.exists() {
        let mut store = crate::store::Store::open_existing(db)?;
        if store.begin()?.count_items()? > 0 {
            let last = store.reader()?.last_as_of()?;
            let as_of = as_of
                .or_else(|| last.as_deref().and_then(crate::derive::days::parse))
                .unwrap_or_else(today);
            return Ok(Rows {
                store,
                label: format!("database `{}`", db.display()),
                as_of,
                _temp: None,
            });
        }
    }
    let temp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let bundled = cfg.resolve(std::path::Path::new(BUNDLED_SAMPLE));
    let (input, label) = if bundled.is_dir() {
        let label = format!("the bundled sample `{}`", bundled.display());
        (bundled, label)
    } else {
        let dir = temp.path().join("sample");
        crate::sample::write_sample(
            &dir,
            SAMPLE_ROWS,
            SAMPLE_SEED,
            crate::cli::SampleFormat::Xlsx,
        )?;
        let label =
            format!("the bundled sample (generated: {SAMPLE_ROWS} rows, seed {SAMPLE_SEED})");
        (dir, label)
    };
    let as_of = as_of.unwrap_or_else(today);
    let store = load_unclassified(cfg, &temp.path().join("check.db"), input, as_of)?;
    Ok(Rows {
        store,
        label,
        as_of,
        _temp: Some(temp),
    })
}

/// Where the project keeps its sample, and how it was made (README: "Regenerate the bundled
/// sample").
const BUNDLED_SAMPLE: &str = "data/sample";
const SAMPLE_ROWS: usize = 200;
const SAMPLE_SEED: u64 = 42;

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Loads `input` into a new database at `db` as `load` does, but with no rules: the rules under
/// check must not run before the dry run does.
fn load_unclassified(
    cfg: &Config,
    db: &std::path::Path,
    input: std::path::PathBuf,
    as_of: NaiveDate,
) -> Result<crate::store::Store> {
    let mut store = crate::store::Store::open(db)?;
    let settings = crate::pipeline::Settings {
        cfg: cfg.clone(),
        db: db.into(),
        inputs: vec![input],
        rules_dir: std::path::PathBuf::new(),
        as_of,
    };
    let mode = crate::pipeline::Mode {
        command: "check",
        ingest: true,
        make_leads: false,
        commit: true,
        changes: crate::score::diff::Changes::Off,
        indexes_later: false,
    };
    let none = RuleSet::none(cfg);
    crate::pipeline::execute(&mut store, &settings, &none, mode, &|_, _| {}, None)?;
    Ok(store)
}
