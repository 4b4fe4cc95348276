//! The main job, shared by `load`, `run`, `watch` and `whatif`, as plain stages in one
//! transaction, committed only at the end: [`stages::ingest`] the inputs, derive the
//! [`stages::accounts`], [`stages::evaluate`] the rules and [`stages::record`] the run.

mod stages;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestReport};
use crate::model::account::AccountStats;
use crate::rules::RuleSet;
use crate::score::diff::Changes;
use crate::score::{Carry, Outcome};
use crate::store::Store;

/// Paths and dates resolved from flags, environment and config ("high args").
#[derive(Debug, Clone)]
pub struct Settings {
    /// The validated config.
    pub cfg: Config,
    /// Database file.
    pub db: PathBuf,
    /// Input files and folders.
    pub inputs: Vec<PathBuf>,
    /// Rules folder.
    pub rules_dir: PathBuf,
    /// The as-of date.
    pub as_of: NaiveDate,
}

impl Settings {
    /// Resolves everything from the command line values; `None` means "not given".
    pub fn resolve(
        config: &Path,
        db: Option<&Path>,
        data: &[PathBuf],
        rules: Option<&Path>,
        as_of: Option<NaiveDate>,
    ) -> Result<Settings> {
        let explicit = config != Path::new(crate::config::DEFAULT_CONFIG);
        let cfg = Config::load(config, explicit)?;
        let db = db.map_or_else(|| cfg.resolve(&cfg.database), Path::to_path_buf);
        let inputs = if data.is_empty() {
            cfg.data.iter().map(|p| cfg.resolve(p)).collect()
        } else {
            data.to_vec()
        };
        let rules_dir = rules.map_or_else(|| cfg.resolve(&cfg.rules_dir), Path::to_path_buf);
        let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
        Ok(Settings {
            cfg,
            db,
            inputs,
            rules_dir,
            as_of,
        })
    }
}

/// Compiles the rules for these settings (`cfg.as_of` set to the run's date).
pub fn load_rules(settings: &Settings) -> Result<RuleSet> {
    let mut rules = RuleSet::load(&settings.rules_dir, &settings.cfg)?;
    rules.set_as_of(settings.as_of);
    Ok(rules)
}

/// What one run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// The `runs` row id.
    pub run_id: i64,
    /// The as-of date used.
    pub as_of: String,
    /// Per-file, per-table counts and coercions; `None` when nothing was ingested.
    pub ingest: Option<IngestReport>,
    /// Account unification.
    pub accounts: AccountStats,
    /// Evaluation.
    pub evaluation: Outcome,
    /// Hash of the rule set and config that produced the leads.
    pub rules_hash: String,
}

/// What a run does.
#[derive(Debug, Clone, Copy)]
pub struct Mode<'a> {
    /// Recorded in `runs.command`.
    pub command: &'a str,
    /// Read the input files (false: re-evaluate what the database holds).
    pub ingest: bool,
    /// Evaluate the triggers and write leads (false: classify only, as `load` does).
    pub make_leads: bool,
    /// Commit at the end (false: a what-if, whose results are rolled back).
    pub commit: bool,
    /// Report what changed against the leads before the run (`RunReport::evaluation.changes`).
    pub changes: Changes,
    /// Commit before building the lead indexes the evaluation dropped (but the summary's), and
    /// leave them to the caller (`RunReport::evaluation.pending`, done with
    /// [`Store::finish`]): `watch` prints its report first. Views are slower, not wrong, while
    /// they are missing; opening the database builds any that still are.
    pub indexes_later: bool,
}

/// One run: what it reads and how.
struct Job<'a> {
    settings: &'a Settings,
    rules: &'a RuleSet,
    mode: Mode<'a>,
    /// The input files, collected before the transaction begins.
    files: Vec<PathBuf>,
    progress: &'a dyn Fn(&str, u64),
}

/// Runs the job in one transaction. `carry` (`watch`) holds what the last committed run kept
/// for this one; it is replaced after a commit and left empty after a failure.
///
/// A partial re-evaluation may give up (see `score::Evaluator::run`): nothing was ingested
/// then, so the transaction is rolled back and the run done again in full, without the carried
/// state. A full evaluation never gives up, so there are at most two attempts.
pub fn execute(
    store: &mut Store,
    settings: &Settings,
    rules: &RuleSet,
    mode: Mode<'_>,
    progress: &dyn Fn(&str, u64),
    mut carry: Option<&mut Carry>,
) -> Result<RunReport> {
    let files = if mode.ingest {
        if settings.inputs.is_empty() {
            return Err(Error::Usage(
                "no input files: give `--data PATH` or set `data:` in the config".into(),
            ));
        }
        ingest::collect_inputs(&settings.inputs)?
    } else {
        Vec::new()
    };
    let job = Job {
        settings,
        rules,
        mode,
        files,
        progress,
    };
    if let Some(report) = attempt(store, &job, carry.as_deref_mut())? {
        return Ok(report);
    }
    if let Some(c) = carry.as_deref_mut() {
        *c = Carry::default();
    }
    attempt(store, &job, carry)?.ok_or_else(|| Error::Database {
        path: settings.db.clone(),
        message: "an evaluation without carried state gave up (a onelead bug)".into(),
    })
}

/// One attempt at the job: the stages in one transaction, committed at the end when the mode
/// says so. `None` when the evaluation gave up (the transaction is rolled back).
fn attempt(
    store: &mut Store,
    job: &Job<'_>,
    mut carry: Option<&mut Carry>,
) -> Result<Option<RunReport>> {
    let started = chrono::Utc::now();
    let mut tx = store.begin()?;
    (job.progress)("begin", 0);
    // What the last committed run kept stands only if nobody else committed since.
    let token = tx.token();
    let mut carried = carry
        .as_deref_mut()
        .map(std::mem::take)
        .filter(|c| c.token == token)
        .unwrap_or_default();
    if job.mode.commit {
        // Status changes recorded while the lead database was busy (see `store::journal`).
        crate::store::journal::apply_in_run(&mut *tx, &job.settings.db)?;
    }
    let ingested = stages::ingest(&mut *tx, job)?;
    // The carried account maps are stale once anything they are derived from may have changed.
    if job.mode.ingest {
        carried.forget_data();
    }
    (job.progress)("accounts", 0);
    let (accounts, rebuilt) = stages::accounts(&mut *tx, job, ingested.tally)?;
    if rebuilt {
        carried.forget_data();
    }
    (job.progress)("accounts", accounts.accounts as u64);
    let run_id = stages::start(&mut *tx, job, started)?;
    let keep = carry.is_some() && job.mode.commit;
    let Some((evaluation, mut next)) = stages::evaluate(&mut *tx, job, run_id, carried, keep)?
    else {
        return Ok(None);
    };
    if job.mode.make_leads {
        // New leads (and any nobody owns) go to the first assignment rule they match.
        crate::assign::place(&mut *tx, job.rules, &job.settings.cfg.assignment)?;
    }
    let report = RunReport {
        run_id,
        as_of: job.settings.as_of.to_string(),
        ingest: ingested.report,
        accounts,
        evaluation,
        rules_hash: job.rules.hash().to_string(),
    };
    stages::record(&mut *tx, &report)?;
    if job.mode.commit {
        (job.progress)("commit", 0);
        next.token = tx.commit()?;
        if let Some(c) = carry {
            *c = next;
        }
    }
    Ok(Some(report))
}

/// The name rows are filed under: reloading a file of the same name replaces its rows.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
