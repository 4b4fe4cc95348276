//! What an evaluation's results depend on, split so that `watch` can tell an edit to triggers,
//! scoring rules or weights alone from any other and re-run only what it changes.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::rules::{RuleKind, RuleSet, digest, hash_of};

impl RuleSet {
    /// What the results of an evaluation with these rules and `cfg` depend on, split so that
    /// `watch` can tell an edit to triggers alone from any other (see [`Basis::changed_triggers`]).
    pub fn basis(&self, cfg: &Config) -> Basis {
        let triggers: Vec<(String, u64)> = self
            .of(RuleKind::Trigger)
            .map(|r| (r.name.clone(), hash_of(&(&r.path, &r.source))))
            .collect();
        let factors: Vec<(String, u64)> = self
            .of(RuleKind::Scoring)
            .map(|r| (r.name.clone(), hash_of(&(&r.path, &r.source))))
            .collect();
        let own_paths: Vec<String> = self
            .of(RuleKind::Trigger)
            .chain(self.of(RuleKind::Scoring))
            .map(|r| r.path.display().to_string())
            .collect();
        // Everything else: the config (thresholds, weights, as-of, services, limits...), the
        // other rules (not triggers or scoring rules) and every module a rule may import.
        let rest: Vec<(&String, &String)> = self
            .sources
            .iter()
            .filter(|(path, _)| !own_paths.contains(path))
            .collect();
        // The weights and priority thresholds apart, when no rule reads the weights: a change to
        // those alone moves scores and priorities and nothing else.
        let scoring = hash_of(&format!(
            "{:?} {:?}",
            cfg.scoring_weights, cfg.priority_thresholds
        ));
        let (cfg_text, cfg_digest) = if self.weights_blind {
            let rest_cfg = crate::config::Config {
                scoring_weights: BTreeMap::new(),
                priority_thresholds: crate::config::PriorityThresholds {
                    critical: 0.0,
                    high: 0.0,
                    medium: 0.0,
                },
                ..cfg.clone()
            };
            let mut seen = self.cfg.clone();
            seen.remove("scoring_weights");
            (format!("{rest_cfg:?}"), digest(&seen))
        } else {
            (format!("{cfg:?}"), self.cfg_digest)
        };
        Basis {
            common: hash_of(&(cfg_text, cfg_digest, rest)),
            scoring,
            triggers,
            factors,
        }
    }
}

/// What an evaluation's results depend on (see [`RuleSet::basis`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    /// The config, the as-of date and every rule and module file but the triggers; not the
    /// weights and priority thresholds unless a rule reads the weights.
    common: u64,
    /// The weights and the priority thresholds.
    scoring: u64,
    /// Each trigger's file stem with a hash of its path and text, in path order.
    triggers: Vec<(String, u64)>,
    /// Each scoring rule's, likewise.
    factors: Vec<(String, u64)>,
}

impl Basis {
    /// The triggers (file stems) added, edited or removed since `old`, when nothing else
    /// changed: re-running only those gives every lead a full evaluation would. `None` when
    /// anything else changed.
    pub fn changed_triggers(&self, old: &Basis) -> Option<Vec<String>> {
        if self.common != old.common || self.scoring != old.scoring || self.factors != old.factors {
            return None;
        }
        let mut changed: Vec<String> = self
            .triggers
            .iter()
            .filter(|t| !old.triggers.contains(t))
            .chain(old.triggers.iter().filter(|t| !self.triggers.contains(t)))
            .map(|(name, _)| name.clone())
            .collect();
        changed.sort();
        changed.dedup();
        Some(changed)
    }
}

impl Basis {
    /// True when only the weights or the priority thresholds changed since `old`, and no rule
    /// reads the weights: every rule would return what it returned then.
    pub fn only_scoring_changed(&self, old: &Basis) -> bool {
        self.common == old.common
            && self.triggers == old.triggers
            && self.factors == old.factors
            && self.scoring != old.scoring
    }

    /// The scoring rules (factor names) edited since `old`, when nothing else changed: every
    /// other rule would return what it returned then. `None` when anything else changed,
    /// including a factor added or removed (which changes the weights too).
    pub fn changed_factors(&self, old: &Basis) -> Option<Vec<String>> {
        let names = |b: &Basis| b.factors.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        if self.common != old.common
            || self.triggers != old.triggers
            || self.scoring != old.scoring
            || names(self) != names(old)
        {
            return None;
        }
        let changed: Vec<String> = self
            .factors
            .iter()
            .filter(|f| !old.factors.contains(f))
            .map(|(name, _)| name.clone())
            .collect();
        (!changed.is_empty()).then_some(changed)
    }
}
