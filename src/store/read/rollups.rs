//! The rollups of leads, install base and accounts that `dashboard`, `territories` and
//! `analytics` show, as every backend returns them. Their field order is the views' JSON order.

use std::collections::BTreeMap;

use serde::Serialize;

/// The four priorities, most urgent first.
pub const PRIORITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

/// Active leads per priority.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PriorityCounts {
    /// `CRITICAL` leads.
    pub critical: i64,
    /// `HIGH` leads.
    pub high: i64,
    /// `MEDIUM` leads.
    pub medium: i64,
    /// `LOW` leads.
    pub low: i64,
}

impl PriorityCounts {
    /// Adds `n` leads of `priority` (any other priority is not counted).
    pub fn add(&mut self, priority: &str, n: i64) {
        match priority {
            "CRITICAL" => self.critical += n,
            "HIGH" => self.high += n,
            "MEDIUM" => self.medium += n,
            "LOW" => self.low += n,
            _ => {}
        }
    }

    /// The counts in [`PRIORITIES`] order.
    pub fn as_array(&self) -> [i64; 4] {
        [self.critical, self.high, self.medium, self.low]
    }

    /// All four added up.
    pub fn total(&self) -> i64 {
        self.as_array().iter().sum()
    }
}

/// The sum of `extra.estimated_value` over active leads that have one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pipeline {
    /// The sum, or `null` when no active lead carries an estimate.
    pub estimated_value: Option<f64>,
    /// How many active leads carry an estimate.
    pub leads_with_estimate: i64,
}

/// The rollups of active leads that do not depend on territory, from one pass over the
/// `leads_mix` index: each aggregate on its own would scan every active lead again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadMix {
    /// Counts per (lead type, priority), ordered by type then priority, as
    /// [`Reads::counts_by_type_priority`](super::Reads::counts_by_type_priority) returns them.
    pub by_type_priority: Vec<(String, String, i64)>,
    /// Counts per priority.
    pub by_priority: PriorityCounts,
    /// The pipeline estimate.
    pub pipeline: Pipeline,
    /// Counts per distinct score, lowest score first.
    pub scores: Vec<(f64, i64)>,
    /// Counts per product family (`None`: not classified).
    pub families: BTreeMap<Option<String>, i64>,
}

impl LeadMix {
    /// Active leads in all.
    pub fn total(&self) -> i64 {
        self.by_priority.total()
    }
}

/// One territory's rollup.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Territory {
    /// Territory id (`null`: rows with no territory).
    pub territory_id: Option<String>,
    /// Territory name from the accounts, when known.
    pub territory_name: Option<String>,
    /// Accounts in the territory.
    pub accounts: i64,
    /// Install-base rows in the territory.
    pub install_base: i64,
    /// Active leads.
    pub leads: i64,
    /// Active leads per priority.
    pub by_priority: PriorityCounts,
    /// Mean score of the active leads (`null` without leads).
    pub avg_score: Option<f64>,
    /// Sum of `estimated_value` over active leads that have one (`null` when none has).
    pub pipeline: Option<f64>,
}

/// Territory orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TerritorySort {
    /// Territory id A–Z.
    Territory,
    /// Most active leads first (then average score).
    #[default]
    Leads,
    /// Highest average score first.
    Score,
    /// Largest pipeline estimate first.
    Pipeline,
}

/// Install base and active leads of one product family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilyMix {
    /// Product family (`null`: not classified).
    pub product_family: Option<String>,
    /// Install-base rows.
    pub install_base: i64,
    /// Active leads.
    pub leads: i64,
}

/// One support-coverage class of the install base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// `covered`, `expired`, `uncovered` or `unknown`.
    pub coverage: String,
    /// Install-base rows in the class.
    pub install_base: i64,
    /// Share of all install-base rows, 0–1.
    pub share: f64,
}
