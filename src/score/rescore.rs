//! Re-weighing: when only the weights or the priority thresholds changed since the carried
//! evaluation (and no rule reads the weights; see `rules::Basis::only_scoring_changed`), every
//! rule would return what it returned then. Each active lead's new score is then arithmetic on
//! the factor values it has stored: no rule runs and no install-base row is read.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};

use super::diff::LeadState;
use super::lead::Factor;
use super::ledger::{Ledger, Rescored, scored_hash};
use super::{Accounts, round6};
use crate::config::Config;
use crate::error::Result;
use crate::fxhash::FastMap;

/// Re-weighs every active lead through `ledger`; returns how many there are, or `None` when a
/// lead's stored factors or fingerprint cannot be read back (written by hand, or by a build that
/// left the fingerprint out): the caller then evaluates everything instead.
pub(super) fn rescore(
    conn: &Connection,
    cfg: &Config,
    accounts: &Accounts,
    ledger: &mut Ledger<'_>,
) -> Result<Option<usize>> {
    // Read first, then written: an update under an open scan of the same table could move a
    // row ahead of the scan, and the indexes cannot be dropped. In table order, so that the
    // updates (by rowid: no index search) walk the table's pages once.
    let stored = {
        let mut stmt = conn.prepare(
            "SELECT lead_id, factor_ids, score, priority, fingerprint, lead_type, account_id,
             product_name, serial_number, rowid FROM lead_rows NOT INDEXED WHERE active = 1",
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
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    // Factor outcomes are shared by many leads: each is parsed once.
    let mut outcomes: FastMap<i64, Factor> = FastMap::default();
    // How many scores move decides, before the first write, whether to keep the indexes in step
    // or build them again afterwards (see `Ledger::rescored`).
    let mut moving = 0;
    for lead in &stored {
        let Some(mut factors) = factors_of(conn, &mut outcomes, lead)? else {
            return Ok(None);
        };
        if reweigh(cfg, &mut factors) != (lead.score, lead.priority.as_str()) {
            moving += 1;
        }
    }
    ledger.expect_moves(conn, moving)?;
    let leads = stored.len();
    for lead in stored {
        let (Some(mut factors), Some(old_fingerprint)) =
            (factors_of(conn, &mut outcomes, &lead)?, lead.fingerprint)
        else {
            return Ok(None);
        };
        // The fingerprint is content ^ scored: take the old scored part out, put the new one in.
        let content = u64::from_ne_bytes(old_fingerprint.to_ne_bytes())
            ^ scored_hash(lead.score, &lead.priority, weights(&factors));
        let (score, priority) = reweigh(cfg, &mut factors);
        let fingerprint = content ^ scored_hash(score, priority, weights(&factors));
        let new = Rescored {
            score,
            priority,
            factors,
            fingerprint: i64::from_ne_bytes(fingerprint.to_ne_bytes()),
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

/// Each factor's (name, weight, contribution), as [`scored_hash`] takes them.
fn weights(factors: &BTreeMap<String, Factor>) -> impl Iterator<Item = (&str, f64, f64)> {
    factors
        .iter()
        .map(|(n, f)| (n.as_str(), f.weight, f.contribution))
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
