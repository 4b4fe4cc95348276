//! Priority by rank (`priority_mode: rank`): the share of the active leads each priority gets
//! (`priority_ranks`), turned into score cut-offs before the evaluation writes anything. Every
//! item's leads are scored once without writing; the scores sorted give the cut-offs, and the
//! evaluation then applies them as it applies fixed thresholds. The first pass costs about what
//! the rules cost; fixed thresholds, the default, skip it.
//!
//! A lead's rank is one more than the number of leads scoring strictly higher, so leads with
//! equal scores share a rank and a priority: the top 10% are the leads ranked within the first
//! 10% of the active leads.

use chrono::NaiveDate;
use rayon::prelude::*;

use super::context::{self, AsOf};
use crate::config::{Config, PriorityRanks, PriorityThresholds};
use crate::error::Result;
use crate::model::item::{Interner, ItemRow};
use crate::rules::{EvalContext, RuleSet, share};
use crate::store::api::WriteTx;

/// Items scored at a time.
const CHUNK: usize = 8192;

/// The score cut-offs that give `cfg.priority_ranks` over the leads the rules make of the
/// install base `tx` reads, as of `as_of`.
pub fn cutoffs(
    rules: &RuleSet,
    cfg: &Config,
    tx: &mut dyn WriteTx,
    as_of: NaiveDate,
) -> Result<PriorityThresholds> {
    let accounts = context::read_accounts(tx)?;
    let at = AsOf::new(as_of);
    let mut strings = Interner::default();
    let mut scores = Vec::new();
    let mut after = 0;
    loop {
        let rows = tx.read_items(after, CHUNK, &mut strings)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let chunk: Vec<Vec<f64>> = rows
            .par_iter()
            .map(|row| lead_scores(rules, cfg, &accounts, &at, row))
            .collect::<Result<_>>()?;
        scores.extend(chunk.into_iter().flatten());
    }
    Ok(from_scores(&mut scores, &cfg.priority_ranks))
}

/// The scores of one item's leads, as evaluation computes them.
fn lead_scores(
    rules: &RuleSet,
    cfg: &Config,
    accounts: &context::Accounts,
    at: &AsOf,
    row: &ItemRow,
) -> Result<Vec<f64>> {
    let ctx = EvalContext {
        table: "install_base",
        row: row.source_row,
        key: row.text("serial_number").unwrap_or(""),
    };
    let mut item = context::item_map_at(row, at, false);
    rules.classify(&mut item, &ctx)?;
    let item = share(item);
    let account = accounts.shared(row.account_id.as_deref());
    let mut scores = Vec::new();
    for hit in rules.triggers_shared(&item, account, &ctx, None)? {
        let lead = share(super::lead_map(&hit));
        let values = rules.score_shared(&item, account, &lead, &ctx, None)?;
        scores.push(super::weigh(cfg, values).1);
    }
    Ok(scores)
}

/// The cut-offs that put each share of `scores` (sorted here, best first) in its priority: the
/// score of the last lead within the share; infinite (nobody) when the share holds no lead.
pub fn from_scores(scores: &mut [f64], ranks: &PriorityRanks) -> PriorityThresholds {
    scores.sort_by(|a, b| b.total_cmp(a));
    let n = scores.len() as f64;
    let cut = |percent: f64| {
        let k = (n * percent / 100.0 + 1e-9).floor() as usize;
        k.checked_sub(1)
            .and_then(|i| scores.get(i))
            .copied()
            .unwrap_or(f64::INFINITY)
    };
    PriorityThresholds {
        critical: cut(ranks.critical),
        high: cut(ranks.high),
        medium: cut(ranks.medium),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(c: f64, h: f64, m: f64) -> PriorityRanks {
        PriorityRanks {
            critical: c,
            high: h,
            medium: m,
        }
    }

    #[test]
    fn each_share_of_the_leads_gets_its_priority() {
        // 20 leads scoring 1..=20: the top 10% are 2 leads, 25% 5, 50% 10.
        let mut scores: Vec<f64> = (1..=20).map(f64::from).collect();
        let t = from_scores(&mut scores, &PriorityRanks::default());
        assert_eq!((t.critical, t.high, t.medium), (19.0, 16.0, 11.0));
        let count = |p: &str| scores.iter().filter(|s| t.priority(**s) == p).count();
        assert_eq!(
            [
                count("CRITICAL"),
                count("HIGH"),
                count("MEDIUM"),
                count("LOW")
            ],
            [2, 3, 5, 10]
        );
    }

    #[test]
    fn equal_scores_share_a_priority_and_a_share_too_small_for_one_lead_is_empty() {
        // Ranks 1, 2, 2, 2, 5: the top 40% (2 leads) reach into the tie, which is in whole.
        let mut scores = vec![50.0, 90.0, 80.0, 80.0, 80.0];
        let t = from_scores(&mut scores, &ranks(20.0, 40.0, 100.0));
        assert_eq!((t.critical, t.high, t.medium), (90.0, 80.0, 50.0));
        assert_eq!(t.priority(80.0), "HIGH");
        // 5% of 5 leads is no lead: nobody is CRITICAL.
        let t = from_scores(&mut scores, &ranks(5.0, 40.0, 100.0));
        assert!(t.critical.is_infinite());
        assert_eq!(t.priority(90.0), "HIGH");
        // No leads at all: nobody is anything but LOW.
        let t = from_scores(&mut [], &PriorityRanks::default());
        assert_eq!(t.priority(100.0), "LOW");
    }
}
