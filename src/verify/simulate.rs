//! One item through every rule as a run takes it: the classify rules, each trigger's decision,
//! and for each lead its factors, score, priority and services. Scenario tests and `explain
//! SERIAL` use it; a run evaluates in bulk (`score::Evaluator`) with the same functions
//! (`score::lead_map`, `score::weigh`, `recommend::recommend`).

use std::collections::BTreeMap;

use rhai::Map;

use crate::config::Config;
use crate::error::Result;
use crate::model::lead::{Factor, Recommendation};
use crate::recommend::{self, Catalog};
use crate::rules::{Decision, EvalContext, Rule, RuleSet, TriggerHit, share};

/// What the rules made of one item.
pub struct Simulated<'r> {
    /// The item as the triggers saw it (after the classify rules).
    pub item: Map,
    /// Each trigger with its decision, in path order.
    pub decisions: Vec<(&'r Rule, Decision)>,
    /// The leads of the triggers that fired, in the same order.
    pub leads: Vec<SimLead>,
}

/// A lead as a run would write it.
pub struct SimLead {
    /// The trigger's hit.
    pub hit: TriggerHit,
    /// Each factor's value, weight, contribution and reasons.
    pub factors: BTreeMap<String, Factor>,
    /// Σ weight × factor.
    pub score: f64,
    /// From the score by the configured thresholds.
    pub priority: &'static str,
    /// The recommended services, best first.
    pub services: Vec<Recommendation>,
}

/// Runs every rule on `item` (before classification) and `account`. The first rule error
/// stops it, as it stops a run.
pub fn simulate<'r>(
    rules: &'r RuleSet,
    cfg: &Config,
    catalog: &Catalog,
    mut item: Map,
    account: &Map,
    ctx: &EvalContext,
) -> Result<Simulated<'r>> {
    rules.classify(&mut item, ctx)?;
    let family = item
        .get("product_family")
        .and_then(|v| v.clone().into_string().ok())
        .unwrap_or_default();
    let (shared_item, shared_account) = (share(item.clone()), share(account.clone()));
    let mut decisions = Vec::new();
    let mut leads = Vec::new();
    for (rule, decision) in rules.decisions_shared(&shared_item, &shared_account, ctx) {
        let decision = decision?;
        if let Decision::Fired(hit) = &decision {
            let lead = crate::score::lead_map(hit);
            let values = rules.score_shared(
                &shared_item,
                &shared_account,
                &share(lead.clone()),
                ctx,
                None,
            )?;
            let (factors, score) = crate::score::weigh(cfg, values);
            let services =
                recommend::recommend(catalog, rules, &family, &lead, cfg.top_services, ctx)?;
            leads.push(SimLead {
                hit: hit.clone(),
                factors,
                score,
                priority: cfg.priority_thresholds.priority(score),
                services,
            });
        }
        decisions.push((rule, decision));
    }
    Ok(Simulated {
        item,
        decisions,
        leads,
    })
}
