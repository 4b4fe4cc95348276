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

/// Folds the rows of active leads grouped by (type, priority, family, score) into a
/// [`LeadMix`]: every backend reads those groups off one index walk.
#[derive(Default)]
pub struct MixBuilder {
    type_priority: BTreeMap<(String, String), i64>,
    scores: Vec<(f64, i64)>,
    mix: LeadMix,
    value: Sum,
}

impl MixBuilder {
    /// One group: `n` leads, the sum of their estimates and how many have one.
    #[allow(clippy::too_many_arguments)] // one group's columns, as the query returns them
    pub fn add(
        &mut self,
        lead_type: String,
        priority: String,
        family: Option<String>,
        score: f64,
        n: i64,
        estimate: Option<f64>,
        with_estimate: i64,
    ) {
        self.mix.by_priority.add(&priority, n);
        *self.type_priority.entry((lead_type, priority)).or_default() += n;
        *self.mix.families.entry(family).or_default() += n;
        self.scores.push((score, n));
        if let Some(v) = estimate {
            self.value.add(v);
        }
        self.mix.pipeline.leads_with_estimate += with_estimate;
    }

    /// The mix.
    pub fn finish(self) -> LeadMix {
        let MixBuilder {
            type_priority,
            mut scores,
            mut mix,
            value,
        } = self;
        mix.pipeline.estimated_value =
            (mix.pipeline.leads_with_estimate > 0).then(|| value.total());
        mix.by_type_priority = type_priority
            .into_iter()
            .map(|((ty, p), n)| (ty, p, n))
            .collect();
        // The same score comes once per (type, priority, family) group: merge them.
        scores.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (score, n) in scores {
            match mix.scores.last_mut() {
                Some(last) if last.0 == score => last.1 += n,
                _ => mix.scores.push((score, n)),
            }
        }
        mix
    }
}

/// Compensated (Neumaier) summation, so adding up per-group sums keeps the accuracy of a
/// database's own `sum()` over the rows.
#[derive(Debug, Default)]
pub struct Sum {
    sum: f64,
    compensation: f64,
}

impl Sum {
    /// Adds `x`.
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The sum so far.
    pub fn total(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Territories being rolled up from per-territory counts, each with the sum of its active
/// leads' scores (for the average).
#[derive(Default)]
pub struct TerritoryRollup(std::collections::HashMap<Option<String>, (Territory, f64)>);

impl TerritoryRollup {
    /// The territory `id` with its score sum, added empty when new (the id cloned once).
    fn entry(&mut self, id: Option<String>) -> &mut (Territory, f64) {
        self.0.entry(id).or_insert_with_key(|id| {
            let t = Territory {
                territory_id: id.clone(),
                ..Territory::default()
            };
            (t, 0.0)
        })
    }

    /// A territory's accounts and its name.
    pub fn accounts(&mut self, id: Option<String>, name: Option<String>, n: i64) {
        let (t, _) = self.entry(id);
        t.territory_name = name;
        t.accounts = n;
    }

    /// A territory's install base.
    pub fn install_base(&mut self, id: Option<String>, n: i64) {
        self.entry(id).0.install_base = n;
    }

    /// A territory's active leads of one priority: `n`, their score sum and pipeline.
    pub fn leads(
        &mut self,
        id: Option<String>,
        priority: &str,
        n: i64,
        score: f64,
        value: Option<f64>,
    ) {
        let (t, score_sum) = self.entry(id);
        add_priority(t, score_sum, priority, n, score, value);
    }

    /// The territories with their average scores, in `sort` order.
    pub fn finish(self, sort: TerritorySort) -> Vec<Territory> {
        let mut out: Vec<Territory> = self
            .0
            .into_values()
            .map(|(t, score_sum)| average(t, score_sum))
            .collect();
        sort_territories(&mut out, sort);
        out
    }
}

/// Adds one territory's active leads of one priority: `n` leads, their score sum and pipeline.
pub fn add_priority(
    t: &mut Territory,
    score_sum: &mut f64,
    priority: &str,
    n: i64,
    score: f64,
    value: Option<f64>,
) {
    *score_sum += score;
    t.leads += n;
    t.by_priority.add(priority, n);
    if let Some(v) = value {
        t.pipeline = Some(t.pipeline.unwrap_or(0.0) + v);
    }
}

/// `t` with its average score, given the sum of its leads' scores.
pub fn average(mut t: Territory, score_sum: f64) -> Territory {
    if t.leads > 0 {
        t.avg_score = Some(score_sum / t.leads as f64);
    }
    t
}

/// The `n` territories a leaderboard shows, from (territory, active leads, score sum) rows:
/// most leads first, then highest average score, then by id.
pub fn rank(rows: Vec<(Option<String>, i64, f64)>, n: usize) -> Vec<Option<String>> {
    let mut ranked: Vec<Territory> = rows
        .into_iter()
        .map(|(territory_id, leads, score)| Territory {
            territory_id,
            leads,
            avg_score: Some(score / leads as f64),
            ..Territory::default()
        })
        .collect();
    sort_territories(&mut ranked, TerritorySort::Leads);
    ranked.truncate(n);
    ranked.into_iter().map(|t| t.territory_id).collect()
}

/// Sorts territories; every order ends with the id, so the input order never shows.
pub fn sort_territories(ts: &mut [Territory], sort: TerritorySort) {
    let by_id = |a: &Territory, b: &Territory| a.territory_id.cmp(&b.territory_id);
    let desc =
        |a: Option<f64>, b: Option<f64>| b.unwrap_or(f64::MIN).total_cmp(&a.unwrap_or(f64::MIN));
    match sort {
        TerritorySort::Territory => ts.sort_by(by_id),
        TerritorySort::Leads => ts.sort_by(|a, b| {
            b.leads
                .cmp(&a.leads)
                .then(desc(a.avg_score, b.avg_score))
                .then(by_id(a, b))
        }),
        TerritorySort::Score => {
            ts.sort_by(|a, b| desc(a.avg_score, b.avg_score).then(by_id(a, b)));
        }
        TerritorySort::Pipeline => {
            ts.sort_by(|a, b| desc(a.pipeline, b.pipeline).then(by_id(a, b)));
        }
    }
}

/// Per product family, most install base first, from the install base's counts per family
/// and the leads' (from `mix`).
pub fn family_mix(install_base: Vec<(Option<String>, i64)>, mix: &LeadMix) -> Vec<FamilyMix> {
    let mut map: BTreeMap<Option<String>, (i64, i64)> = BTreeMap::new();
    for (f, n) in install_base {
        map.entry(f).or_default().0 = n;
    }
    for (f, n) in &mix.families {
        map.entry(f.clone()).or_default().1 = *n;
    }
    let mut out: Vec<FamilyMix> = map
        .into_iter()
        .map(|(product_family, (install_base, leads))| FamilyMix {
            product_family,
            install_base,
            leads,
        })
        .collect();
    out.sort_by(|a, b| {
        b.install_base
            .cmp(&a.install_base)
            .then(b.leads.cmp(&a.leads))
            .then(a.product_family.cmp(&b.product_family))
    });
    out
}

/// The four coverage classes, always in the order covered, expired, uncovered, unknown, from
/// the install base's count per class.
pub fn coverage(counts: &BTreeMap<String, i64>) -> Vec<Coverage> {
    let total: i64 = counts.values().sum();
    ["covered", "expired", "uncovered", "unknown"]
        .iter()
        .map(|c| {
            let n = counts.get(*c).copied().unwrap_or(0);
            Coverage {
                coverage: (*c).to_string(),
                install_base: n,
                share: if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_sum_keeps_its_precision() {
        // Naive left-to-right addition loses the 1.0 entirely; a database's sum() does not.
        let mut s = Sum::default();
        for x in [1e16, 1.0, -1e16] {
            s.add(x);
        }
        assert_eq!(s.total(), 1.0);
    }
}
