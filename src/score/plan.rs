//! What an evaluation must run, decided from what changed since the evaluation `watch`
//! carried (see [`super::Carry`]): everything, only the edited triggers, only the edited
//! scoring rules, or no rule at all. Each plan is executed by its own function.

use super::ledger::{LeadStates, rule_key, settles_alone};
use crate::fxhash::FastSet;
use crate::rules::Basis;

/// An evaluation's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Every rule on every item. `classified`: only triggers changed, but re-running those
    /// alone could not settle every lead id, and the classify rules return only what is
    /// stored with each row, so those results are taken instead of running the rules.
    Full {
        /// Take the classify results stored with each row.
        classified: bool,
    },
    /// Only these triggers (file stems) on every item; every other stored lead stands.
    /// `classified` as for [`Plan::Full`].
    Partial {
        /// The edited triggers.
        triggers: Vec<String>,
        /// Their [`rule_key`]s.
        scope: FastSet<u64>,
        /// Take the classify results stored with each row.
        classified: bool,
    },
    /// No rule: only the weights or the priority thresholds changed, and each active lead's new
    /// score is arithmetic on the factors it has stored.
    Reweigh,
    /// Only these scoring rules, on the rows `watch` keeps; the rest as [`Plan::Reweigh`].
    Rerate {
        /// The edited scoring rules.
        factors: Vec<String>,
    },
}

impl Plan {
    /// Decides the plan of an evaluation whose rules and config make `basis`. `old` is what
    /// the carried lead states were evaluated from (`None`: nothing carried), `states` the
    /// stored leads', `rows` whether the install-base rows were carried too, and
    /// `plain_classify` whether the classify rules returned only what is stored with each row.
    /// `make_leads` false (`load`) always runs everything (the classify rules).
    pub fn decide(
        basis: &Basis,
        old: Option<&Basis>,
        states: &LeadStates,
        rows: bool,
        plain_classify: bool,
        make_leads: bool,
    ) -> Plan {
        let Some(old) = old.filter(|_| make_leads) else {
            return Plan::Full { classified: false };
        };
        // Only scoring rules changed, and the rows and their classify results are at hand:
        // those rules alone run.
        if rows && plain_classify {
            if let Some(factors) = basis.changed_factors(old) {
                return Plan::Rerate { factors };
            }
        }
        // Only the weights or priority thresholds changed: no rule needs to run at all.
        if basis.only_scoring_changed(old) {
            return Plan::Reweigh;
        }
        // Only triggers changed, on the same data: re-run those. The data, config and
        // non-trigger rules are the carried evaluation's, so what it stored with each row is
        // what the classify rules would give again.
        let Some(triggers) = basis.changed_triggers(old) else {
            return Plan::Full { classified: false };
        };
        let classified = plain_classify;
        let scope: FastSet<u64> = triggers.iter().map(|r| rule_key(r)).collect();
        if settles_alone(states, &scope) {
            Plan::Partial {
                triggers,
                scope,
                classified,
            }
        } else {
            Plan::Full { classified }
        }
    }

    /// True when the items' classify results are taken from the rows, not the rules.
    pub fn classified(&self) -> bool {
        match self {
            Plan::Full { classified } | Plan::Partial { classified, .. } => *classified,
            Plan::Reweigh | Plan::Rerate { .. } => false,
        }
    }

    /// The triggers a partial evaluation is confined to ([`super::ledger::rule_key`]s).
    pub fn scope(&self) -> Option<FastSet<u64>> {
        match self {
            Plan::Partial { scope, .. } => Some(scope.clone()),
            _ => None,
        }
    }

    /// The triggers the evaluation runs, as the outcome reports them: `None` for all of them.
    pub fn only_triggers(&self) -> Option<Vec<String>> {
        match self {
            Plan::Full { .. } => None,
            Plan::Partial { triggers, .. } => Some(triggers.clone()),
            Plan::Reweigh | Plan::Rerate { .. } => Some(Vec::new()),
        }
    }

    /// What the timings say it ran.
    pub fn describe(&self) -> String {
        match self {
            Plan::Full { .. } => "all".into(),
            Plan::Partial { triggers, .. } => triggers.join(","),
            Plan::Reweigh => "none (weights or priority thresholds only)".into(),
            Plan::Rerate { factors } => format!("none (scoring rules {})", factors.join(",")),
        }
    }
}
