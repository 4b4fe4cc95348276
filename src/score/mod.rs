//! Evaluation: every install-base item runs through the classify rules, the triggers, the factor
//! rules and the service boosts; results are written back through the caller's transaction.
//!
//! An evaluation first decides its [`Plan`] from what changed since the one `watch` carried
//! (everything, only the edited triggers, only the edited scoring rules, or no rule), then
//! executes it with the plan's own function — [`pass`] over the items, or [`rescore`] over the
//! stored leads — and settles: closes the leads no longer triggered and hands back what the
//! next evaluation may reuse.

pub mod context;
pub mod diff;
pub mod distribute;
mod item;
pub use item::{asset_key, lead_map, weigh};
mod ledger;
mod pass;
mod plan;
pub mod rank;
mod rescore;
mod states;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::NaiveDate;

use crate::config::Config;
use crate::error::Result;
use crate::model::item::ItemRow;
use crate::recommend::Catalog;
use crate::rules::{Basis, RuleSet};
use crate::store::api::{IndexTiming, LeadRun, WriteTx};
use crate::store::columns::FINGERPRINT_SCHEME;
use crate::store::{ChangeToken, Pending};
use context::Accounts;
use item::PassContext;
use ledger::{LeadStates, Ledger, Settled};
pub use plan::Plan;

/// At most this many install-base rows are kept in memory between `watch` evaluations (about
/// 50 MB a 100k, from the rows' layout): a larger install base is read again on every save.
const CARRY_ITEMS: usize = 300_000;

/// Install-base rows in the chunks evaluation read them in.
type Chunks = Vec<Vec<ItemRow>>;

/// What an evaluation did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    /// Install-base items evaluated.
    pub items: usize,
    /// Leads triggered in this evaluation.
    pub leads: usize,
    /// Leads seen for the first time.
    pub new_leads: usize,
    /// Leads whose trigger stopped firing (kept, inactive).
    pub closed: usize,
    /// Inactive leads that fired again.
    pub reopened: usize,
    /// In `priority_mode: rank`, the score cut-offs the ranks gave (see [`rank`]); `null` by
    /// fixed thresholds.
    pub priority_cutoffs: Option<crate::config::PriorityThresholds>,
    /// What changed against the leads before this evaluation, when asked for.
    #[serde(skip)]
    pub changes: Option<diff::ChangeReport>,
    /// The triggers (file stems) a partial re-evaluation ran; `None` when every rule ran.
    #[serde(skip)]
    pub only_triggers: Option<Vec<String>>,
    /// The work left for after the commit (see [`Evaluator::indexes_later`]);
    /// [`crate::store::Store::finish`] does it.
    #[serde(skip)]
    pub pending: Vec<Pending>,
}

/// What `watch` keeps from one evaluation for the next: every lead's state and the accounts'
/// maps, which otherwise cost a read of every lead and of every account's aggregates per save
/// (0.5 s at 100k items). Valid only while nothing else writes the database: the pipeline
/// compares the store's change token, which moves when another writer commits.
#[derive(Default)]
pub struct Carry {
    /// The store's change token after the commit that produced this.
    pub token: ChangeToken,
    states: Option<LeadStates>,
    /// Dropped by the pipeline when the accounts may have changed (ingest, rebuild).
    pub accounts: Option<Arc<Accounts>>,
    /// What the carried leads were evaluated from. While the data stands, an edit to triggers
    /// alone re-runs only those triggers. Dropped by the pipeline when anything was ingested or
    /// the accounts were rebuilt.
    pub basis: Option<Basis>,
    /// The classify rules returned only the fields stored with each row, as strings, so a
    /// partial evaluation takes those instead of running them.
    pub plain_classify: bool,
    /// The install-base rows as evaluation reads them, in chunks, when there are at most
    /// [`CARRY_ITEMS`]: reading them again was an eighth of the CPU a rule edit costs. Dropped
    /// by the pipeline when anything was ingested or the accounts were rebuilt.
    pub items: Option<Chunks>,
}

impl Carry {
    /// Drops what was derived from the data (account maps, rows, the basis of a partial
    /// evaluation): the data or the accounts changed. The lead states stand; they are compared,
    /// not trusted.
    pub fn forget_data(&mut self) {
        self.accounts = None;
        self.basis = None;
        self.items = None;
    }

    /// True when there is nothing to reuse.
    pub fn is_empty(&self) -> bool {
        self.states.is_none() && self.accounts.is_none()
    }
}

/// Rounds to 6 decimals so contributions add up to the total whatever the summation order.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Everything evaluation needs besides the transaction.
pub struct Evaluator<'a> {
    /// Compiled rules.
    pub rules: &'a RuleSet,
    /// Validated config.
    pub cfg: &'a Config,
    /// Day counts are measured from this date.
    pub as_of: NaiveDate,
    /// False for `load`: classify only, no leads.
    pub make_leads: bool,
    /// Which change report to build (`watch`, `whatif`).
    pub track_changes: diff::Changes,
    /// Leave the lead indexes this evaluation suspends, but the summary's, to the caller
    /// ([`Outcome::pending`]).
    pub indexes_later: bool,
    /// Evaluate every item by worker processes (a full evaluation only).
    pub workers: Option<&'a distribute::Distribution<'a>>,
}

/// One evaluation under way: what the functions that execute a plan share.
struct Eval<'s, 'p> {
    ctx: PassContext<'s>,
    ledger: Ledger<'s>,
    out: Outcome,
    /// Keep the rows for the next evaluation.
    keep: bool,
    progress: &'p dyn Fn(u64),
}

/// How the executed plan went: the rows to carry, and the seconds spent evaluating and writing.
struct Ran {
    rows: Option<Chunks>,
    eval_secs: f64,
    write_secs: f64,
}

impl Evaluator<'_> {
    /// Evaluates what [`Plan::decide`] says; `progress` is told how many items are done so
    /// far. `carried` is what the previous evaluation kept (empty unless `watch`); with `keep`,
    /// the result includes what the next one can reuse.
    ///
    /// `None` means a partial evaluation met a lead id it could not settle alone and stopped
    /// after writing part of its results: the caller must roll the transaction back and
    /// evaluate again without the carried state. (A savepoint would spare that, but journals
    /// every page the evaluation touches, for a case that needs two assets' ids to collide.)
    pub fn run(
        &self,
        tx: &mut dyn WriteTx,
        run_id: i64,
        progress: &dyn Fn(u64),
        mut carried: Carry,
        keep: bool,
    ) -> Result<Option<(Outcome, Carry)>> {
        let setup = Instant::now();
        // Fingerprints hashed another way read as unknown, not as changed.
        tx.adopt_fingerprints(FINGERPRINT_SCHEME)?;
        let basis = self.rules.basis(self.cfg);
        let accounts = match carried.accounts.take() {
            Some(a) => a,
            None => Arc::new(context::read_accounts(tx)?),
        };
        let catalog = Catalog::read(tx, self.cfg)?;
        let carried_states = carried.states.is_some();
        let states = match carried.states.take() {
            Some(s) => s,
            None => ledger::read_states(tx)?,
        };
        let old = carried.basis.as_ref().filter(|_| carried_states);
        let plan = Plan::decide(
            &basis,
            old,
            &states,
            carried.items.is_some(),
            carried.plain_classify,
            self.make_leads,
        );
        let setup_secs = setup.elapsed().as_secs_f64();
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        tx.start_lead_writes(&LeadRun {
            run_id,
            now: &now,
            stored: states.len(),
            bulk: self.make_leads && states.is_empty(),
        })?;
        let mut eval = Eval {
            ctx: PassContext {
                as_of: context::AsOf::new(self.as_of),
                classified: plan.classified(),
                plain: AtomicBool::new(true),
                accounts: &accounts,
                catalog: &catalog,
                states: &states,
                recommendations: item::RecommendCache::default(),
            },
            ledger: Ledger::new(&states, keep, self.track_changes, plan.scope()),
            out: Outcome::default(),
            keep,
            progress,
        };
        let rows = carried.items.take();
        let ran = match (&plan, self.workers) {
            (Plan::Full { classified: false }, Some(d)) if self.make_leads => {
                self.evaluate_by_workers(tx, &mut eval, run_id, d)?
            }
            (Plan::Full { .. }, _) => self.evaluate_all(tx, &mut eval, rows)?,
            (Plan::Partial { triggers, .. }, _) => {
                self.evaluate_triggers(tx, &mut eval, triggers, rows)?
            }
            (Plan::Reweigh, _) => self.reweigh(tx, &mut eval, rows)?,
            (Plan::Rerate { factors }, _) => self.rerate(tx, &mut eval, factors, rows)?,
        };
        let Some(ran) = ran else {
            return Ok(None);
        };
        tracing::info!(target: "timing", "evaluate-triggers {}", plan.describe());
        eval.out.only_triggers = plan.only_triggers();
        // A re-weighing runs no classify rule: what the carried evaluation found stands.
        let plain_classify = match plan {
            Plan::Reweigh | Plan::Rerate { .. } => carried.plain_classify,
            _ => eval.ctx.plain.load(Ordering::Relaxed),
        };
        let Eval {
            ctx, ledger, out, ..
        } = eval;
        drop(ctx);
        tracing::info!(target: "timing", "evaluate-setup {setup_secs:.3}s {}", accounts.maps.len());
        let (out, settled) = self.settle(tx, ledger, out, &ran)?;
        let next_states = settled.and_then(|mut s| s.apply(states));
        let next = Carry {
            token: ChangeToken::default(),
            plain_classify,
            basis: next_states.is_some().then_some(basis),
            states: next_states,
            accounts: keep.then_some(accounts),
            items: ran.rows,
        };
        Ok(Some((out, next)))
    }

    /// [`Plan::Full`]: every rule on every item.
    fn evaluate_all(
        &self,
        tx: &mut dyn WriteTx,
        eval: &mut Eval<'_, '_>,
        rows: Option<Chunks>,
    ) -> Result<Option<Ran>> {
        self.evaluate_items(tx, eval, None, rows)
    }

    /// [`Plan::Partial`]: only these triggers on every item.
    fn evaluate_triggers(
        &self,
        tx: &mut dyn WriteTx,
        eval: &mut Eval<'_, '_>,
        triggers: &[String],
        rows: Option<Chunks>,
    ) -> Result<Option<Ran>> {
        self.evaluate_items(tx, eval, Some(triggers), rows)
    }

    /// A pass over the items (read, or the carried `rows`); `None` when it was abandoned.
    fn evaluate_items(
        &self,
        tx: &mut dyn WriteTx,
        eval: &mut Eval<'_, '_>,
        only: Option<&[String]>,
        rows: Option<Chunks>,
    ) -> Result<Option<Ran>> {
        let items = pass::Items {
            only,
            carried: rows,
            keep: eval.keep,
        };
        let passed = self.pass(
            tx,
            &eval.ctx,
            &mut eval.ledger,
            &mut eval.out,
            items,
            eval.progress,
        )?;
        Ok(match passed.pass {
            pass::Pass::Abandoned => None,
            pass::Pass::Done => Some(Ran {
                rows: passed.rows,
                eval_secs: passed.eval_secs,
                write_secs: passed.write_secs,
            }),
        })
    }

    /// [`Plan::Reweigh`]: the stored factors of every active lead under the new weights.
    fn reweigh(
        &self,
        tx: &mut dyn WriteTx,
        eval: &mut Eval<'_, '_>,
        rows: Option<Chunks>,
    ) -> Result<Option<Ran>> {
        let t = Instant::now();
        let Some(leads) =
            rescore::rescore(tx, self.cfg, eval.ctx.accounts, &mut eval.ledger, None)?
        else {
            return Ok(None);
        };
        rescored(tx, eval, leads, rows, t)
    }

    /// [`Plan::Rerate`]: the edited scoring rules on the carried rows, then as [`Plan::Reweigh`].
    fn rerate(
        &self,
        tx: &mut dyn WriteTx,
        eval: &mut Eval<'_, '_>,
        factors: &[String],
        rows: Option<Chunks>,
    ) -> Result<Option<Ran>> {
        let t = Instant::now();
        let rerate = rescore::Rerate {
            rules: self.rules,
            only: factors,
            rows: rows.iter().flatten().flatten().map(|r| (r.id, r)).collect(),
            as_of: &eval.ctx.as_of,
        };
        let done = rescore::rescore(
            tx,
            self.cfg,
            eval.ctx.accounts,
            &mut eval.ledger,
            Some(&rerate),
        )?;
        drop(rerate);
        let Some(leads) = done else {
            return Ok(None);
        };
        rescored(tx, eval, leads, rows, t)
    }

    /// Closes the leads this evaluation did not trigger and ends the lead writes (building the
    /// indexes they suspended, or leaving them to the caller). Returns the outcome and, when
    /// leads were made, what changed in their states.
    fn settle(
        &self,
        tx: &mut dyn WriteTx,
        ledger: Ledger<'_>,
        mut out: Outcome,
        ran: &Ran,
    ) -> Result<(Outcome, Option<Settled>)> {
        let t = Instant::now();
        let keep = ledger.keeps();
        let mut settled = None;
        if self.make_leads {
            let mut s = ledger.close_untriggered(tx)?;
            out.closed = s.closed;
            out.leads += s.kept;
            out.changes = s.changes.take();
            settled = Some(s);
        }
        let closed_secs = t.elapsed().as_secs_f64();
        let timing = if self.indexes_later {
            IndexTiming::AfterSummary
        } else {
            IndexTiming::Now
        };
        // `watch` (which keeps its states) compacts after printing its report instead, outside
        // the round trip of a save.
        let ended = tx.end_lead_writes(timing, self.make_leads && !keep)?;
        out.pending = ended.pending;
        let write_secs = ran.write_secs + t.elapsed().as_secs_f64();
        tracing::info!(target: "timing", "evaluate-close {closed_secs:.3}s {}", out.closed);
        tracing::info!(
            target: "timing",
            "evaluate-indexes {:.3}s {}",
            t.elapsed().as_secs_f64() - closed_secs,
            ended.rebuilt + out.pending.len()
        );
        tracing::info!(target: "timing", "evaluate-rules {:.3}s {}", ran.eval_secs, out.items);
        tracing::info!(target: "timing", "evaluate-write {write_secs:.3}s {}", out.leads);
        Ok((out, settled))
    }
}

/// Counts what a re-scoring did: `leads` active leads, and every item (none was read).
fn rescored(
    tx: &mut dyn WriteTx,
    eval: &mut Eval<'_, '_>,
    leads: usize,
    rows: Option<Chunks>,
    started: Instant,
) -> Result<Option<Ran>> {
    eval.out.leads = leads;
    eval.out.items = tx.count_items()?;
    (eval.progress)(eval.out.items as u64);
    Ok(Some(Ran {
        rows,
        eval_secs: 0.0,
        write_secs: started.elapsed().as_secs_f64(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_makes_reference_scores_exact() {
        // 80·0.35 + 50·0.30 + 40·0.20 + 60·0.15 is 60.0 in the reference; any order must agree.
        let parts = [80.0 * 0.35, 50.0 * 0.30, 40.0 * 0.20, 60.0 * 0.15].map(round6);
        let fwd = round6(parts.iter().sum());
        let rev = round6(parts.iter().rev().sum());
        assert_eq!(fwd, 60.0);
        assert_eq!(rev, 60.0);
    }
}
