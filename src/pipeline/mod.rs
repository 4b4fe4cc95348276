//! The main job, shared by `load`, `run`, `watch` and `whatif`, as plain stages in one
//! transaction, committed only at the end: [`stages::ingest`] the inputs (each kind of sheet
//! they hold replaces that kind's snapshot), derive the [`stages::accounts`], settle the
//! [`stages::snapshots`], [`stages::evaluate`] the rules and [`stages::record`] the run.

mod stages;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestReport};
use crate::model::SheetKind;
use crate::model::account::AccountStats;
use crate::model::snapshot::{ChangeCounts, SettledInstallBase};
use crate::rules::RuleSet;
use crate::score::diff::Changes;
use crate::score::distribute::Distribution;
use crate::score::{Carry, Outcome};
use crate::store::{Location, Store};

/// Paths and dates resolved from flags, environment and config ("high args").
#[derive(Debug, Clone)]
pub struct Settings {
    /// The validated config.
    pub cfg: Config,
    /// The database: a file, or a PostgreSQL URL.
    pub db: Location,
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
        // A path from the command line is relative to where onelead runs; one from the config,
        // to the project folder. A URL is a URL wherever it comes from.
        let db = match db {
            Some(db) => Location::parse(db.as_os_str())?,
            None => match Location::parse(cfg.database.as_os_str())? {
                Location::Sqlite(path) => Location::Sqlite(cfg.resolve(&path)),
                url @ Location::Postgres(_) => url,
            },
        };
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
    if !settings.rules_dir.is_dir() {
        return Err(missing_rules(settings));
    }
    let mut rules = RuleSet::load(&settings.rules_dir, &settings.cfg)?;
    rules.set_as_of(settings.as_of);
    Ok(rules)
}

/// A missing rules folder, with where its path came from: `--rules`, the config file (resolved
/// against the project folder it belongs to), or the defaults when no config file was found
/// (resolved against the current folder).
fn missing_rules(settings: &Settings) -> Error {
    let dir = &settings.rules_dir;
    let cfg = &settings.cfg;
    let here = std::env::current_dir().map_or_else(|_| ".".into(), |d| d.display().to_string());
    let note = if *dir != cfg.resolve(&cfg.rules_dir) {
        "it was given by `--rules`".to_string()
    } else if cfg.path.as_os_str().is_empty() {
        format!(
            "no config file `{}` was found in `{here}` (the current folder), so the default \
             `rules_dir: {}` was used; run onelead in the project folder or give \
             `--config path/to/config/onelead.yaml`",
            crate::config::DEFAULT_CONFIG,
            cfg.rules_dir.display()
        )
    } else {
        let root = if cfg.root == Path::new(".") {
            here
        } else {
            cfg.root.display().to_string()
        };
        format!(
            "`rules_dir: {}` in `{}` is resolved against `{root}`",
            cfg.rules_dir.display(),
            cfg.path.display()
        )
    };
    Error::Rules(vec![format!(
        "error: rules folder `{}` does not exist\n  = note: {note}",
        dir.display()
    )])
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
    /// The snapshots this run's inputs formed, each replacing the one before of its kind.
    pub snapshots: Vec<SnapshotReport>,
    /// What changed in the install base against the previous snapshot: `None` when this run
    /// formed none, or the first.
    pub changes: Option<ChangeCounts>,
    /// Account unification.
    pub accounts: AccountStats,
    /// Evaluation.
    pub evaluation: Outcome,
    /// Hash of the rule set and config that produced the leads.
    pub rules_hash: String,
}

/// One snapshot a run formed: a kind of sheet, the files that held it, and what it replaced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotReport {
    /// Its id.
    pub snapshot_id: i64,
    /// The kind of sheet (`install_base`, `opportunities`, …).
    pub kind: String,
    /// The files whose sheets of this kind formed it, in the order read.
    pub files: Vec<String>,
    /// Rows loaded.
    pub rows: u64,
    /// Rows of the snapshot it replaced.
    pub replaced: u64,
    /// For an install base: its assets, repeated keys and changes; `None` for other kinds.
    pub install_base: Option<SettledInstallBase>,
}

/// A snapshot as the ingest stage formed it, before it is recorded.
pub struct Formed {
    kind: SheetKind,
    files: Vec<String>,
    rows: u64,
    replaced: u64,
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
    /// Evaluate by worker processes.
    workers: Option<&'a Distribution<'a>>,
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
    carry: Option<&mut Carry>,
) -> Result<RunReport> {
    execute_with(store, settings, rules, mode, progress, carry, None)
}

/// [`execute`], evaluating by worker processes when `workers` says so (see
/// [`crate::score::distribute`]).
pub fn execute_with(
    store: &mut Store,
    settings: &Settings,
    rules: &RuleSet,
    mode: Mode<'_>,
    progress: &dyn Fn(&str, u64),
    mut carry: Option<&mut Carry>,
    workers: Option<&Distribution<'_>>,
) -> Result<RunReport> {
    let files = if mode.ingest {
        if settings.inputs.is_empty() {
            return Err(Error::Usage(
                "no input files: give `--data PATH` or set `data:` in the config".into(),
            ));
        }
        distinct(ingest::collect_inputs(&settings.inputs)?)
    } else {
        Vec::new()
    };
    let job = Job {
        settings,
        rules,
        mode,
        files,
        progress,
        workers,
    };
    if let Some(report) = attempt(store, &job, carry.as_deref_mut())? {
        return Ok(report);
    }
    if let Some(c) = carry.as_deref_mut() {
        *c = Carry::default();
    }
    attempt(store, &job, carry)?.ok_or_else(|| Error::Database {
        db: settings.db.to_string(),
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
    let run_id = stages::start(&mut *tx, job, started)?;
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
    if job.mode.ingest {
        (job.progress)("snapshots", 0);
    }
    let snapshots = stages::snapshots(&mut *tx, ingested.formed, run_id, started)?;
    let keep = carry.is_some() && job.mode.commit;
    let Some((evaluation, mut next)) = stages::evaluate(&mut *tx, job, run_id, carried, keep)?
    else {
        return Ok(None);
    };
    if job.mode.make_leads {
        // New leads (and any nobody owns) go to the first assignment rule they match.
        crate::assign::place(&mut *tx, job.rules, &job.settings.cfg.assignment)?;
    }
    let changes = snapshots
        .iter()
        .find_map(|s| s.install_base.as_ref().and_then(|i| i.changes));
    let report = RunReport {
        run_id,
        as_of: job.settings.as_of.to_string(),
        ingest: ingested.report,
        snapshots,
        changes,
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

/// `files` without repeats (the same file named twice, or through two paths), in order: a
/// snapshot holds each file once.
fn distinct(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    files
        .into_iter()
        .filter(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())))
        .collect()
}

/// The name a snapshot records a file by.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
