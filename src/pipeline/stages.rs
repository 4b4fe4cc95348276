//! The stages of the main job, in order: ingest → accounts → evaluate → record. Each takes the
//! run's transaction and does one thing.

use crate::config::{AccountsConfig, Config, PriorityMode};
use crate::derive::account::{self, NameTally};
use crate::error::Result;
use crate::ingest::{self, IngestReport};
use crate::model::SheetKind;
use crate::model::account::{AccountPlan, AccountStats};
use crate::model::snapshot::SnapshotRecord;
use crate::score::{self, Carry, Evaluator, Outcome};
use crate::store::api::{Loaded, RecordSink, RunStart, WriteTx};

use super::{Formed, Job, RunReport, SnapshotReport, file_name};

/// What the ingest stage read.
pub struct Ingested {
    /// Per-file, per-table counts and coercions; `None` when nothing was ingested.
    pub report: Option<IngestReport>,
    /// The account names, counted as they were read, when the tables the accounts are derived
    /// from hold only what this run wrote.
    pub tally: Option<NameTally>,
    /// The snapshots the inputs formed, one per kind of sheet they held rows of.
    pub formed: Vec<Formed>,
}

/// The kinds of sheet accounts are derived from.
const ACCOUNT_KINDS: [SheetKind; 4] = [
    SheetKind::InstallBase,
    SheetKind::Opportunity,
    SheetKind::Project,
    SheetKind::ServiceCredit,
];

/// Reads the input files into the store: the records of each kind of sheet replace that
/// kind's snapshot, whatever the files are called; kinds the inputs do not hold stay.
pub fn ingest(tx: &mut dyn WriteTx, job: &Job<'_>) -> Result<Ingested> {
    if !job.mode.ingest {
        return Ok(Ingested {
            report: None,
            tally: None,
            formed: Vec::new(),
        });
    }
    let stored = tx.stored_kinds()?;
    let mut names = NameTally::default();
    let mut rows = 0_u64;
    let mut forming = Forming::default();
    let mut sink = tx.start_load()?;
    let report = ingest::ingest_files(
        &job.files,
        &job.settings.cfg.ingest,
        &mut |rec| names.add(rec),
        &mut |item| match item {
            ingest::Item::File(path) => {
                forming.file = file_name(path);
                Ok(())
            }
            ingest::Item::Sheet(sheet) => {
                // `sheet:<label>` with the declared rows starts a sheet's progress bar.
                (job.progress)("load", rows);
                (job.progress)(&format!("sheet:{}", sheet.label()), sheet.rows);
                Ok(())
            }
            ingest::Item::Record(rec) => {
                rows += 1;
                if rows % 10_000 == 0 {
                    (job.progress)("load", rows);
                }
                forming.record(SheetKind::of(rec), &mut *sink)?;
                sink.write(rec)
            }
        },
    )?;
    sink.finish()?;
    (job.progress)("load", rows);
    // The names counted are all there is when every table they come from was empty or was
    // replaced by this run.
    let fresh = ACCOUNT_KINDS
        .iter()
        .all(|k| !stored.contains(k) || forming.formed.iter().any(|f| f.kind == *k));
    Ok(Ingested {
        report: Some(report),
        tally: fresh.then_some(names),
        formed: forming.formed,
    })
}

/// The snapshots being formed as records arrive.
#[derive(Default)]
struct Forming {
    /// The file being read.
    file: String,
    formed: Vec<Formed>,
}

impl Forming {
    /// Counts a record of `kind`; the first of its kind replaces the kind's snapshot.
    fn record(&mut self, kind: SheetKind, sink: &mut dyn RecordSink) -> Result<()> {
        let i = if let Some(i) = self.formed.iter().position(|f| f.kind == kind) {
            i
        } else {
            let replaced = sink.replace(kind)?;
            self.formed.push(Formed {
                kind,
                files: Vec::new(),
                rows: 0,
                replaced,
            });
            self.formed.len() - 1
        };
        let f = &mut self.formed[i];
        f.rows += 1;
        if f.files.last() != Some(&self.file) {
            f.files.push(self.file.clone());
        }
        Ok(())
    }
}

/// Records the snapshots this run formed and settles a new install base against the one it
/// replaced (once its indexes are built: see [`accounts`]).
pub fn snapshots(
    tx: &mut dyn WriteTx,
    formed: Vec<Formed>,
    run_id: i64,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<SnapshotReport>> {
    let taken_at = started.to_rfc3339();
    let mut out = Vec::with_capacity(formed.len());
    for f in formed {
        let snapshot_id = tx.record_snapshot(&SnapshotRecord {
            run_id,
            kind: f.kind,
            files: &f.files,
            rows: f.rows,
            replaced: f.replaced,
            taken_at: &taken_at,
        })?;
        let install_base = if f.kind == SheetKind::InstallBase {
            Some(tx.settle_install_base(snapshot_id)?)
        } else {
            None
        };
        out.push(SnapshotReport {
            snapshot_id,
            kind: f.kind.key().to_string(),
            files: f.files,
            rows: f.rows,
            replaced: f.replaced,
            install_base,
        });
    }
    Ok(out)
}

/// Derives the accounts and files every data row under its account, and builds the indexes
/// the load suspended. With `tally` (a first load), the accounts are planned from the names
/// counted while reading, on another thread while the install base's indexes are built.
/// True with the stats when the accounts were rebuilt.
pub fn accounts(
    tx: &mut dyn WriteTx,
    job: &Job<'_>,
    tally: Option<NameTally>,
) -> Result<(AccountStats, bool)> {
    let cfg = &job.settings.cfg.accounts;
    // Install-base rows are never rewritten by the account rebuild, so their indexes can be
    // built while the accounts are derived; the other tables' after the rebuild updated them.
    let (stats, rebuilt) = if let Some(tally) = tally {
        let stats = std::thread::scope(|scope| {
            let planner = scope.spawn(move || account::plan(tally.into_names(), cfg));
            tx.index_loaded(Loaded::InstallBase)?;
            let plan = match planner.join() {
                Ok(plan) => plan,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            write_accounts(tx, plan, true)
        })?;
        (stats, true)
    } else {
        let derived = derive_accounts(tx, cfg, job.mode.ingest)?;
        tx.index_loaded(Loaded::InstallBase)?;
        derived
    };
    remember_accounts(tx, cfg, &stats)?;
    tx.index_loaded(Loaded::Rest)?;
    Ok((stats, rebuilt))
}

/// Writes the planned accounts; returns the plan's stats with what was written.
fn write_accounts(tx: &mut dyn WriteTx, plan: AccountPlan, fresh: bool) -> Result<AccountStats> {
    let aliases = tx.write_accounts(&plan, fresh)?;
    let mut stats = plan.stats;
    stats.aliases += aliases;
    stats.accounts = plan.accounts.len();
    Ok(stats)
}

/// Rebuilds the accounts, unless nothing they derive from changed since the last rebuild: no
/// file was ingested (only `load`/`run`/`watch` ingest, and each rebuilds) and the account
/// settings are the same. A rules-only re-evaluation then skips the name matching. True with
/// the stats when the accounts were rebuilt.
fn derive_accounts(
    tx: &mut dyn WriteTx,
    cfg: &AccountsConfig,
    ingested: bool,
) -> Result<(AccountStats, bool)> {
    let key = format!("{cfg:?}");
    if !ingested {
        let cached = tx
            .meta("accounts")?
            .and_then(|s| serde_json::from_str::<(String, AccountStats)>(&s).ok())
            .filter(|(k, _)| *k == key);
        if let Some((_, stats)) = cached {
            return Ok((stats, false));
        }
    }
    let plan = account::plan(tx.account_names()?, cfg);
    Ok((write_accounts(tx, plan, false)?, true))
}

/// Records what the accounts were derived from, for [`derive_accounts`].
fn remember_accounts(
    tx: &mut dyn WriteTx,
    cfg: &AccountsConfig,
    stats: &AccountStats,
) -> Result<()> {
    let key = format!("{cfg:?}");
    tx.set_meta(
        "accounts",
        &serde_json::to_string(&(key, stats)).unwrap_or_default(),
    )
}

/// Records the run's start; returns its id.
pub fn start(
    tx: &mut dyn WriteTx,
    job: &Job<'_>,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    tx.start_run(&RunStart {
        started_at: &started.to_rfc3339(),
        command: job.mode.command,
        as_of: &job.settings.as_of.to_string(),
        inputs: &serde_json::to_string(&job.files).unwrap_or_default(),
        rules_hash: job.rules.hash(),
    })
}

/// Evaluates the rules (see [`Evaluator::run`]); `None` when a partial evaluation gave up.
pub fn evaluate(
    tx: &mut dyn WriteTx,
    job: &Job<'_>,
    run_id: i64,
    carried: Carry,
    keep: bool,
) -> Result<Option<(Outcome, Carry)>> {
    let mode = &job.mode;
    // By rank, the cut-offs come from every lead's score, known before anything is written.
    let ranked = if mode.make_leads && job.settings.cfg.priority_mode == PriorityMode::Rank {
        (job.progress)("rank", 0);
        let cut = score::rank::cutoffs(job.rules, &job.settings.cfg, tx, job.settings.as_of)?;
        Some(Config {
            priority_thresholds: cut,
            ..job.settings.cfg.clone()
        })
    } else {
        None
    };
    let cfg = ranked.as_ref().unwrap_or(&job.settings.cfg);
    let evaluator = Evaluator {
        rules: job.rules,
        cfg,
        as_of: job.settings.as_of,
        make_leads: mode.make_leads,
        track_changes: mode.changes,
        indexes_later: mode.indexes_later && mode.commit,
        workers: job.workers,
    };
    (job.progress)("evaluate", 0);
    let evaluated = evaluator.run(
        tx,
        run_id,
        &|n| (job.progress)("evaluate", n),
        carried,
        keep,
    )?;
    let evaluated = evaluated.map(|(mut out, carry)| {
        out.priority_cutoffs = ranked.map(|c| c.priority_thresholds);
        (out, carry)
    });
    if evaluated.is_some() && tracing::enabled!(target: "memo", tracing::Level::INFO) {
        for (rule, cacheable, lookups, hits) in job.rules.memo_stats() {
            let state = if cacheable { "cached" } else { "uncached" };
            tracing::info!(target: "memo", "{rule} {state} {hits}/{lookups}");
        }
    }
    Ok(evaluated)
}

/// Records the run's end with its counts.
pub fn record(tx: &mut dyn WriteTx, report: &RunReport) -> Result<()> {
    tx.finish_run(
        report.run_id,
        &serde_json::to_string(&report.evaluation).unwrap_or_default(),
    )
}
