//! The HTML report's data: the same views as the terminal commands, gathered in one go; the
//! queue and the account pages follow the filters, the totals and rollups cover every lead.
//! `report::html` turns a [`Report`] into the page.

use std::collections::HashSet;

use super::{
    Account360, Bucket, Coverage, FamilyMix, LeadFilter, Lookup, Pipeline, PriorityCounts, Reader,
    Territory, TerritorySort, TypeCounts, leads, score_histogram, type_counts,
};
use crate::error::Result;
use crate::model::lead::Lead;

/// Everything the report shows.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// When it was written (shown in the header).
    pub generated: String,
    /// The lead filters in force, as `--flag value` text (empty: all active leads).
    pub filters: Vec<String>,
    /// Active leads per priority (all leads, not only the filtered queue).
    pub by_priority: PriorityCounts,
    /// Pipeline estimate over all active leads.
    pub pipeline: Pipeline,
    /// The filtered queue, best first.
    pub queue: Vec<Lead>,
    /// 360° pages of the accounts in the queue, in queue order.
    pub accounts: Vec<Account360>,
    /// Territory rollup.
    pub territories: Vec<Territory>,
    /// Score histogram of active leads.
    pub histogram: Vec<Bucket>,
    /// Active leads per type and priority.
    pub by_type: Vec<TypeCounts>,
    /// Product-family mix.
    pub families: Vec<FamilyMix>,
    /// Support coverage of the install base.
    pub coverage: Vec<Coverage>,
}

/// Reads everything the report shows: the queue through `filter` (described by `filters`, the
/// flags that set it), the rest over all leads.
pub fn report(reader: &mut Reader, filter: &LeadFilter, filters: Vec<String>) -> Result<Report> {
    let mix = reader.lead_mix()?;
    let queue = leads(reader, filter)?;
    let mut accounts = Vec::new();
    let mut seen = HashSet::new();
    for id in queue.iter().filter_map(|l| l.account_id.as_deref()) {
        if !seen.insert(id) {
            continue;
        }
        // An exact id always finds exactly that account.
        if let Lookup::Found(a) = reader.find_account(id, id)? {
            accounts.push(reader.account_360(a, None)?);
        }
    }
    Ok(Report {
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        filters,
        territories: reader.territories(TerritorySort::Leads)?,
        histogram: score_histogram(&mix),
        by_type: type_counts(&mix.by_type_priority),
        families: reader.family_mix(&mix)?,
        coverage: reader.coverage()?,
        by_priority: mix.by_priority,
        pipeline: mix.pipeline,
        queue,
        accounts,
    })
}
