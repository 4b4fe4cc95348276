//! Re-weighing: when only the weights or the priority thresholds changed since the carried
//! evaluation (and no rule reads the weights; see `rules::Basis::only_scoring_changed`), every
//! rule would return what it returned then. Each active lead's new score is then arithmetic on
//! the factor values it has stored: no rule runs and no install-base row is read. When only
//! scoring rules were edited (`rules::Basis::changed_factors`), those alone run again for each
//! active lead ([`Rerate`]), on the rows `watch` keeps, and the rest is the same arithmetic.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};

use super::context::{self, AsOf, ItemRow};
use super::diff::LeadState;
use super::lead::Factor;
use super::ledger::{Ledger, Rescored, refingerprint};
use super::{Accounts, round6};
use crate::config::Config;
use crate::error::Result;
use crate::fxhash::FastMap;
use crate::rules::{EvalContext, FactorScore, RuleSet};
use rayon::prelude::*;

/// Re-weighs every active lead through `ledger`; returns how many there are, or `None` when a
/// lead's stored factors or fingerprint cannot be read back (written by hand, or by a build that
/// left the fingerprint out): the caller then evaluates everything instead.
pub(super) fn rescore(
    conn: &Connection,
    cfg: &Config,
    accounts: &Accounts,
    ledger: &mut Ledger<'_>,
    rerate: Option<&Rerate<'_>>,
) -> Result<Option<usize>> {
    // Read first, then written: an update under an open scan of the same table could move a
    // row ahead of the scan, and the indexes cannot be dropped. In table order, so that the
    // updates (by rowid: no index search) walk the table's pages once.
    let stored = {
        let mut stmt = conn.prepare(
            "SELECT lead_id, factor_ids, score, priority, fingerprint, lead_type, account_id,
             product_name, serial_number, rowid, install_base_id, rule, title_id
             FROM lead_rows NOT INDEXED WHERE active = 1",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Stored {
                rowid: r.get(9)?,
                id: r.get(0)?,
                factor_ids: r.get(1)?,
                score: r.get(2)?,
                priority: r.get(3)?,
                fingerprint: r.get(4)?,
                lead_type: r.get(5)?,
                account_id: r.get(6)?,
                product: r.get(7)?,
                serial: r.get(8)?,
                install_base_id: r.get(10)?,
                rule: r.get(11)?,
                title_id: r.get(12)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    // The edited rules' new results, lead by lead, on both cores.
    let fresh = match rerate {
        Some(r) => {
            let titles = titles(conn)?;
            let fresh = stored
                .par_iter()
                .map(|lead| r.factors(lead, accounts, &titles))
                .collect::<Result<Option<Vec<_>>>>()?;
            let Some(fresh) = fresh else {
                return Ok(None);
            };
            fresh
        }
        None => Vec::new(),
    };
    let updated = |i: usize, factors: &mut BTreeMap<String, Factor>| -> bool {
        fresh.get(i).is_none_or(|scores| {
            scores.iter().all(|s| {
                factors.get_mut(&s.name).is_some_and(|f| {
                    f.value = s.value;
                    f.reasons = s.reasons.clone();
                    true
                })
            })
        })
    };
    // Factor outcomes are shared by many leads: each is parsed once.
    let mut outcomes: FastMap<i64, Factor> = FastMap::default();
    // How many scores move decides, before the first write, whether to keep the indexes in step
    // or build them again afterwards (see `Ledger::rescored`).
    let mut moving = 0;
    for (i, lead) in stored.iter().enumerate() {
        let Some(mut factors) = factors_of(conn, &mut outcomes, lead)? else {
            return Ok(None);
        };
        if !updated(i, &mut factors) {
            return Ok(None);
        }
        if reweigh(cfg, &mut factors) != (lead.score, lead.priority.as_str()) {
            moving += 1;
        }
    }
    ledger.expect_moves(conn, moving)?;
    let leads = stored.len();
    for (i, lead) in stored.into_iter().enumerate() {
        let (Some(mut factors), Some(old_fingerprint)) =
            (factors_of(conn, &mut outcomes, &lead)?, lead.fingerprint)
        else {
            return Ok(None);
        };
        let old = factors.clone();
        updated(i, &mut factors);
        let (score, priority) = reweigh(cfg, &mut factors);
        let fingerprint = refingerprint(
            old_fingerprint,
            (lead.score, &lead.priority, &old),
            (score, priority, &factors),
        );
        let new = Rescored {
            score,
            priority,
            factors,
            fingerprint,
        };
        ledger.write_scored(conn, (lead.rowid, &lead.id), &new, || LeadState {
            lead_id: lead.id.clone(),
            lead_type: lead.lead_type,
            priority: priority.to_string(),
            score,
            account: accounts.name(lead.account_id.as_deref()),
            product: lead.product,
            serial: lead.serial,
        })?;
    }
    Ok(Some(leads))
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
        lead: &Stored,
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
        lead_map.insert("lead_type".into(), lead.lead_type.clone().into());
        lead_map.insert("title".into(), title.clone().into());
        lead_map.insert("rule".into(), lead.rule.clone().into());
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

/// The titles of the active leads, by text id.
fn titles(conn: &Connection) -> Result<FastMap<i64, String>> {
    let mut stmt = conn.prepare(
        "SELECT text_id, body FROM lead_texts
         WHERE text_id IN (SELECT title_id FROM lead_rows WHERE active = 1)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A stored lead's factors, from their outcomes; `None` if they cannot be read back.
fn factors_of(
    conn: &Connection,
    outcomes: &mut FastMap<i64, Factor>,
    lead: &Stored,
) -> Result<Option<BTreeMap<String, Factor>>> {
    let Ok(ids) = serde_json::from_str::<BTreeMap<String, i64>>(&lead.factor_ids) else {
        return Ok(None);
    };
    let mut factors = BTreeMap::new();
    for (name, text_id) in ids {
        let Some(f) = outcome(conn, outcomes, text_id)? else {
            return Ok(None);
        };
        factors.insert(name, f.clone());
    }
    Ok(Some(factors))
}

/// Applies the weights of `cfg` to `factors`, and returns the score and priority they give, as
/// evaluation computes them (`Evaluator::evaluate_item`).
fn reweigh(cfg: &Config, factors: &mut BTreeMap<String, Factor>) -> (f64, &'static str) {
    let mut total = 0.0;
    for (name, f) in factors.iter_mut() {
        f.weight = cfg.scoring_weights.get(name).copied().unwrap_or(0.0);
        f.contribution = round6(f.value * f.weight);
        total += f.contribution;
    }
    let score = round6(total);
    (score, cfg.priority_thresholds.priority(score))
}

/// The columns of an active lead re-weighing reads.
struct Stored {
    rowid: i64,
    install_base_id: Option<i64>,
    rule: String,
    title_id: i64,
    id: String,
    factor_ids: String,
    score: f64,
    priority: String,
    fingerprint: Option<i64>,
    lead_type: String,
    account_id: Option<String>,
    product: Option<String>,
    serial: Option<String>,
}

/// The stored factor outcome `text_id`, parsed; `None` if there is no such text or it is not a
/// factor outcome.
fn outcome<'a>(
    conn: &Connection,
    outcomes: &'a mut FastMap<i64, Factor>,
    text_id: i64,
) -> Result<Option<&'a Factor>> {
    if let std::collections::hash_map::Entry::Vacant(slot) = outcomes.entry(text_id) {
        let body: Option<String> = conn
            .prepare_cached("SELECT body FROM lead_texts WHERE text_id = ?1")?
            .query_row([text_id], |r| r.get(0))
            .optional()?;
        let Some(f) = body.and_then(|b| serde_json::from_str::<Factor>(&b).ok()) else {
            return Ok(None);
        };
        slot.insert(f);
    }
    Ok(outcomes.get(&text_id))
}
