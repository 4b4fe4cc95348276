//! Evaluation by worker processes (`run --workers N`, `onelead worker`): the install base in
//! partitions by account, evaluated by processes that may run on other machines, merged by
//! the run in its one transaction.
//!
//! A run ships everything evaluation reads besides the items in its [`Setup`]: the rules'
//! sources and the config's text (a worker compiles them as the run did), the as-of date,
//! the accounts' aggregates and the SKU sheet's catalog, as the run's own transaction sees
//! them (no other process can see that transaction's rows). Partitions follow accounts, so
//! every asset of an account is evaluated by one worker. The run then writes the workers'
//! outcomes in item order through the same ledger and writer as its own evaluation would, so
//! the leads are the same as a run on one machine makes, to the id and the fingerprint.

mod merge;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::context::{self, Accounts, AsOf};
use super::item::{PassContext, RecommendCache};
use super::ledger::LeadStates;
use super::{Evaluator, diff};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::account::{AccountFacts, CatalogEntry};
use crate::model::item::{ItemOutcome, ItemRow};
use crate::recommend::Catalog;
use crate::rules::RuleSet;
use crate::store::api::{WorkDone, WorkQueue};

/// What a worker needs besides its partition's items.
#[derive(Debug, Serialize, Deserialize)]
pub struct Setup {
    /// The run's onelead: a worker of another version refuses the work (its rules could read
    /// differently).
    pub version: String,
    /// The as-of date, `YYYY-MM-DD`.
    pub as_of: String,
    /// The run's rules folder as it names it in diagnostics.
    pub rules_dir: String,
    /// Every `.rhai` file of the rules folder: path relative to it, and source.
    pub rules: Vec<(String, String)>,
    /// The config's text (empty: the defaults).
    pub config: String,
    /// The accounts with their aggregates.
    pub accounts: Vec<AccountFacts>,
    /// The SKU sheet's product rows.
    pub catalog: Vec<CatalogEntry>,
}

impl Setup {
    /// The setup of a run with these rules, config and date, and the store's accounts and
    /// catalog.
    pub fn new(
        rules_dir: &Path,
        cfg: &Config,
        as_of: NaiveDate,
        accounts: Vec<AccountFacts>,
        catalog: Vec<CatalogEntry>,
    ) -> Result<Setup> {
        let config = if cfg.path.as_os_str().is_empty() {
            String::new()
        } else {
            std::fs::read_to_string(&cfg.path).map_err(|e| Error::io(&cfg.path, e))?
        };
        let mut rules = Vec::new();
        rhai_files(rules_dir, Path::new(""), &mut rules)?;
        rules.sort();
        Ok(Setup {
            version: env!("CARGO_PKG_VERSION").to_string(),
            as_of: as_of.to_string(),
            rules_dir: rules_dir.display().to_string(),
            rules,
            config,
            accounts,
            catalog,
        })
    }

    /// As the store keeps it.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Usage(format!("cannot encode the work: {e}")))
    }

    /// As the store kept it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Setup> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Usage(format!("this worker cannot read the run's work: {e}")))
    }
}

/// Every `.rhai` file under `dir/sub`, with its path relative to `dir`.
fn rhai_files(dir: &Path, sub: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    let folder = dir.join(sub);
    for entry in std::fs::read_dir(&folder).map_err(|e| Error::io(&folder, e))? {
        let entry = entry.map_err(|e| Error::io(&folder, e))?;
        let rel = sub.join(entry.file_name());
        let path = dir.join(&rel);
        if path.is_dir() {
            rhai_files(dir, &rel, out)?;
        } else if path.extension().is_some_and(|e| e == "rhai") {
            let source = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            out.push((rel.to_string_lossy().into_owned(), source));
        }
    }
    Ok(())
}

/// A worker's copy of a run's setup, ready to evaluate partitions: the rules compiled from
/// the run's sources (written to a folder of its own, removed when dropped).
pub struct Prepared {
    rules: RuleSet,
    cfg: Config,
    as_of: NaiveDate,
    accounts: Accounts,
    catalog: Catalog,
    /// Where the copies live, and how the run names its rules folder: diagnostics name the
    /// run's files, not the copies.
    folder: PathBuf,
    copies: String,
    rules_dir: String,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // A folder left behind holds only copies of rules; nothing to report if it stays.
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Compiles a run's setup in a worker.
pub fn prepare(setup: Setup) -> Result<Prepared> {
    if setup.version != env!("CARGO_PKG_VERSION") {
        return Err(Error::Usage(format!(
            "this worker is onelead {} and the run is onelead {}: run the same version",
            env!("CARGO_PKG_VERSION"),
            setup.version
        )));
    }
    let folder = std::env::temp_dir().join(format!(
        "onelead-worker-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    let rules_dir = folder.join("rules");
    for (rel, source) in &setup.rules {
        let path = rules_dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, source).map_err(|e| Error::WriteFile {
            path: path.clone(),
            source: e,
        })?;
    }
    std::fs::create_dir_all(&rules_dir).map_err(|e| Error::io(&rules_dir, e))?;
    let as_of = crate::derive::days::parse(&setup.as_of).ok_or_else(|| {
        Error::Usage(format!(
            "the run's as-of date `{}` does not read",
            setup.as_of
        ))
    })?;
    let config_path = folder.join("config/onelead.yaml");
    let cfg = Config::parse(&setup.config, &config_path)?;
    let mut rules = RuleSet::load(&rules_dir, &cfg)?;
    rules.set_as_of(as_of);
    Ok(Prepared {
        rules,
        catalog: Catalog::new(setup.catalog, &cfg),
        accounts: context::accounts_from(setup.accounts),
        cfg,
        as_of,
        copies: rules_dir.display().to_string(),
        folder,
        rules_dir: setup.rules_dir,
    })
}

/// Evaluates a partition's items as the run would (every rule on every item), on every core.
pub fn evaluate(p: &Prepared, rows: &[ItemRow]) -> Vec<ItemOutcome> {
    let evaluator = Evaluator {
        rules: &p.rules,
        cfg: &p.cfg,
        as_of: p.as_of,
        make_leads: true,
        track_changes: diff::Changes::Off,
        indexes_later: false,
        workers: None,
    };
    let states = LeadStates::default();
    let cx = PassContext {
        as_of: AsOf::new(p.as_of),
        classified: false,
        plain: AtomicBool::new(true),
        accounts: &p.accounts,
        catalog: &p.catalog,
        states: &states,
        recommendations: RecommendCache::default(),
    };
    rows.par_iter()
        .map(|row| match evaluator.evaluate_item(row, &cx, None) {
            Ok((d, leads)) => ItemOutcome {
                asset: crate::score::item::asset_key(row.asset_key.as_deref(), row.id),
                id: d.id,
                derived: d.fields,
                changed: d.changed,
                leads: leads.into_iter().map(|e| (e.lead, e.fingerprint)).collect(),
                error: None,
            },
            Err(e) => ItemOutcome {
                asset: crate::score::item::asset_key(row.asset_key.as_deref(), row.id),
                id: row.id,
                derived: row.stored.clone(),
                changed: false,
                leads: Vec::new(),
                error: Some(e.to_string().replace(&p.copies, &p.rules_dir)),
            },
        })
        .collect()
}

/// What a run's waiting loop is told, and may stop: the work's id and how far it is.
pub type Supervise<'a> = dyn Fn(i64, WorkDone) -> Result<()> + Sync + 'a;

/// The queue and how to wait on it, for [`Evaluator`].
pub struct Distribution<'a> {
    /// The run's side of the store's work tables.
    pub queue: std::sync::Mutex<Box<dyn WorkQueue + Send>>,
    /// Where the rules come from, for the setup.
    pub rules_dir: &'a Path,
    /// Called while the run waits (about four times a second): starts, watches and reports on
    /// the workers; an error ends the run.
    pub supervise: &'a Supervise<'a>,
}
