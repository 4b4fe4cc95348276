//! Re-weighing: when only the weights or the priority thresholds changed since the carried
//! evaluation (and no rule reads the weights; see `rules::Basis::only_scoring_changed`), every
//! rule would return what it returned then. Each active lead's new score is then arithmetic on
//! the factor values it has stored: no rule runs and no install-base row is read. When only
//! scoring rules were edited (`rules::Basis::changed_factors`), those alone run again for each
//! active lead ([`Rerate`]), on the rows `watch` keeps, and the rest is the same arithmetic.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::context::{self, AsOf};
use super::ledger::{Ledger, Rescored};
use super::{Accounts, round6};
use crate::config::Config;
use crate::error::Result;
use crate::fxhash::FastMap;
use crate::model::item::ItemRow;
use crate::model::lead::{Factor, LeadState};
use crate::rules::{EvalContext, FactorScore, RuleSet};
use crate::store::api::{StoredScore, WriteTx};
use crate::store::columns::{factor_part, reasons_digest, score_hash};

/// Leads read, computed and written at a time: enough to keep both cores busy, few enough that
/// what waits in memory stays small at a million leads.
/// (Tests take a few at a time, so that their few dozen leads cross chunks.)
const CHUNK: usize = if cfg!(test) { 7 } else { 16_384 };

/// Re-scores every active lead through `ledger` (re-running the rules of `rerate`, if given);
/// returns how many there are, or `None` when a lead's stored factors, fingerprint or row cannot
/// be read back (written by hand, or by a build that left the fingerprint out): the caller then
/// evaluates everything instead.
pub(super) fn rescore(
    tx: &mut dyn WriteTx,
    cfg: &Config,
    accounts: &Accounts,
    ledger: &mut Ledger<'_>,
    rerate: Option<&Rerate<'_>>,
) -> Result<Option<usize>> {
    let mut clock = Stages::default();
    let (outcomes, titles) = texts(tx, rerate.is_some())?;
    let leads = tx.count_active()?;
    clock.lap("read");
    let rerate = rerate.map(|r| (r, accounts, &titles));
    // The new factors, score, priority and fingerprint of each lead of a chunk, on both cores
    // (the edited rules run here), while this thread writes the chunk before and reads the one
    // after.
    let compute = |part: &[StoredScore]| {
        part.par_iter()
            .map_init(FastMap::default, |digests, lead| {
                rescored(lead, cfg, &outcomes, rerate, digests)
            })
            .collect::<Result<Option<Vec<_>>>>()
    };
    let mut part = tx.read_scored(0, CHUNK)?;
    let mut pending: Option<(Vec<StoredScore>, Vec<Rescored>)> = None;
    let mut first = true;
    loop {
        let after = part.last().map(|l| l.at);
        let (written, next, computed) = std::thread::scope(|s| {
            let worker = s.spawn(|| compute(&part));
            let written = match pending.take() {
                Some((done, new)) => {
                    let first = std::mem::replace(&mut first, false);
                    write(&mut *tx, ledger, &done, &new, first.then_some(leads))
                }
                None => Ok(()),
            };
            let next = match (&written, after) {
                (Ok(()), Some(after)) => tx.read_scored(after, CHUNK),
                _ => Ok(Vec::new()),
            };
            (written, next, worker.join())
        });
        written?;
        let next = next?;
        let computed = computed.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        let Some(computed) = computed else {
            return Ok(None);
        };
        if part.is_empty() {
            break;
        }
        pending = Some((part, computed));
        part = next;
    }
    clock.lap("write");
    clock.report();
    Ok(Some(leads))
}

/// Writes a chunk of re-scored leads. `first` (with the number of leads) for the first chunk:
/// whether to keep the indexes in step or build them again afterwards is settled before the
/// first write (see [`crate::store::api::Leads::expect_moves`]), and the first chunk's share of
/// moving scores stands for all.
fn write(
    tx: &mut dyn WriteTx,
    ledger: &mut Ledger<'_>,
    part: &[StoredScore],
    computed: &[Rescored],
    first: Option<usize>,
) -> Result<()> {
    if let Some(leads) = first {
        let moving = part
            .iter()
            .zip(computed)
            .filter(|(old, new)| old.score != new.score || old.priority != new.priority)
            .count();
        tx.expect_moves(moving * leads / part.len().max(1))?;
    }
    let mut decided = Vec::with_capacity(part.len());
    for (lead, new) in part.iter().zip(computed) {
        let (score, priority) = (new.score, new.priority);
        // Only the moves the change report keeps need the lead's names: read then (before
        // this chunk's writes, which change none of them).
        let decision = ledger.decide_scored((lead.at, &lead.lead_id), new, || {
            Ok(LeadState {
                priority: priority.to_string(),
                score,
                ..tx.lead_state(&lead.lead_id)?
            })
        })?;
        if let Some(d) = decision {
            decided.push((d, lead, new));
        }
    }
    let batch: Vec<_> = decided
        .iter()
        .map(|(d, lead, new)| d.write(&lead.lead_id, new))
        .collect();
    tx.write_scored(&batch)
}

/// `lead` re-scored: its stored factors, with the edited rules' new results when re-rating,
/// under the weights of `cfg`. `None` when its factors, fingerprint or row cannot be read back.
/// `digests` keeps the digests of new reasons lists by address for one chunk (whose results,
/// holding those lists, outlive it).
fn rescored(
    lead: &StoredScore,
    cfg: &Config,
    outcomes: &Outcomes,
    rerate: Option<(&Rerate<'_>, &Accounts, &FastMap<i64, String>)>,
    digests: &mut FastMap<usize, u64>,
) -> Result<Option<Rescored>> {
    let (Some((mut factors, mut reasons)), Some(old_fingerprint)) =
        (factors_of(outcomes, lead), lead.fingerprint)
    else {
        return Ok(None);
    };
    // The fingerprint's parts for the score and factors: out with the old, in with the new.
    let part = |score: f64, priority: &str, factors: &BTreeMap<String, Factor>, reasons: &[u64]| {
        let mut h = score_hash(score, priority);
        for ((name, f), digest) in factors.iter().zip(reasons) {
            h ^= factor_part(name, f, *digest);
        }
        h
    };
    let out = part(lead.score, &lead.priority, &factors, &reasons);
    if let Some((r, accounts, titles)) = rerate {
        let Some(scores) = r.factors(lead, accounts, titles)? else {
            return Ok(None);
        };
        for s in scores {
            let Some(i) = factors.keys().position(|n| *n == s.name) else {
                return Ok(None);
            };
            reasons[i] = if s.reasons.is_empty() {
                reasons_digest(&s.reasons)
            } else {
                *digests
                    .entry(s.reasons.as_ptr() as usize)
                    .or_insert_with(|| reasons_digest(&s.reasons))
            };
            if let Some(f) = factors.get_mut(&s.name) {
                f.value = s.value;
                f.reasons = s.reasons;
            }
        }
    }
    let (score, priority) = reweigh(cfg, &mut factors);
    let new = part(score, priority, &factors, &reasons);
    Ok(Some(Rescored {
        score,
        priority,
        fingerprint: old_fingerprint ^ i64::from_ne_bytes((out ^ new).to_ne_bytes()),
        factors,
    }))
}

/// Each stored factor outcome, parsed, with the digest of its reasons.
type Outcomes = FastMap<i64, (Factor, u64)>;

/// A stored lead's factors, from their outcomes, with their reasons' digests in the same
/// (name) order; `None` if they cannot be read back.
fn factors_of(
    outcomes: &Outcomes,
    lead: &StoredScore,
) -> Option<(BTreeMap<String, Factor>, Vec<u64>)> {
    let ids = lead.factor_refs()?;
    let mut factors = BTreeMap::new();
    let mut reasons = Vec::with_capacity(ids.len());
    // Both in name order, as the map iterates.
    for (name, text_id) in ids {
        let (f, digest) = outcomes.get(&text_id)?;
        factors.insert(name, f.clone());
        reasons.push(*digest);
    }
    Some((factors, reasons))
}

/// Applies the weights of `cfg` to `factors`, and returns the score and priority they give, as
/// evaluation computes them (`Evaluator::evaluate_item`).
pub(super) fn reweigh(cfg: &Config, factors: &mut BTreeMap<String, Factor>) -> (f64, &'static str) {
    let mut total = 0.0;
    for (name, f) in factors.iter_mut() {
        f.weight = cfg.scoring_weights.get(name).copied().unwrap_or(0.0);
        f.contribution = round6(f.value * f.weight);
        total += f.contribution;
    }
    let score = round6(total);
    (score, cfg.priority_thresholds.priority(score))
}

/// The edited scoring rules, and what they read: the install-base rows (kept by `watch`).
pub(super) struct Rerate<'a> {
    pub rules: &'a RuleSet,
    pub only: &'a [String],
    pub rows: FastMap<i64, &'a ItemRow>,
    pub as_of: &'a AsOf,
}

impl Rerate<'_> {
    /// The edited rules' results for `lead`, as evaluation would call them
    /// (`Evaluator::evaluate_item`); `None` when its row is not kept.
    fn factors(
        &self,
        lead: &StoredScore,
        accounts: &Accounts,
        titles: &FastMap<i64, String>,
    ) -> Result<Option<Vec<FactorScore>>> {
        let Some(row) = lead.install_base_id.and_then(|id| self.rows.get(&id)) else {
            return Ok(None);
        };
        let Some(title) = titles.get(&lead.title_id) else {
            return Ok(None);
        };
        let ctx = EvalContext {
            table: "install_base",
            row: row.source_row,
            key: row.text("serial_number").unwrap_or(""),
        };
        // The classify rules' results are the stored ones (`Carry::plain_classify`).
        let item = crate::rules::share(context::item_map_at(row, self.as_of, true));
        let mut lead_map = rhai::Map::new();
        lead_map.insert("lead_type".into(), lead.lead_type.as_ref().into());
        lead_map.insert("title".into(), title.clone().into());
        lead_map.insert("rule".into(), lead.rule.as_str().into());
        let scores = self.rules.score_shared(
            &item,
            accounts.shared(row.account_id.as_deref()),
            &crate::rules::share(lead_map),
            &ctx,
            Some(self.only),
        )?;
        context::recycle(item);
        Ok(Some(scores))
    }
}

/// Every stored factor outcome, by id, with the digest of its reasons (tens of thousands at a
/// million leads, each shared by many); with `titles`, every other text too, among which the
/// leads' titles are.
fn texts(tx: &mut dyn WriteTx, titles: bool) -> Result<(Outcomes, FastMap<i64, String>)> {
    let stored = tx.factor_outcomes(titles)?;
    let outcomes = stored
        .factors
        .into_iter()
        .map(|(id, f)| {
            let digest = reasons_digest(&f.reasons);
            (id, (f, digest))
        })
        .collect();
    Ok((outcomes, stored.titles))
}

/// Where re-scoring's time goes, for the timings.
struct Stages {
    last: std::time::Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Default for Stages {
    fn default() -> Stages {
        Stages {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }
}

impl Stages {
    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((name, (now - self.last).as_secs_f64()));
        self.last = now;
    }

    fn report(&self) {
        for (name, secs) in &self.laps {
            tracing::info!(target: "timing", "rescore-{name} {secs:.3}s");
        }
    }
}
