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
    /// The filtered queue, best first (at most the filter's limit, else [`REPORT_LIMIT`]).
    pub queue: Vec<Lead>,
    /// Leads matching the filters in all (the queue holds the best of them).
    pub queue_total: usize,
    /// 360° pages of the accounts in the queue, in queue order.
    pub accounts: Vec<Account360>,
    /// Territory rollup: the [`TERRITORY_ROWS`] with most leads.
    pub territories: Vec<Territory>,
    /// Territories in all.
    pub territories_total: usize,
    /// Score histogram of active leads.
    pub histogram: Vec<Bucket>,
    /// Active leads per type and priority.
    pub by_type: Vec<TypeCounts>,
    /// Product-family mix.
    pub families: Vec<FamilyMix>,
    /// Support coverage of the install base.
    pub coverage: Vec<Coverage>,
}

/// How many leads the report's queue shows unless the filter's limit says otherwise: the file
/// is meant to be e-mailed, and every lead of a large database made it hundreds of MB.
pub const REPORT_LIMIT: usize = 1000;
/// Rows of each list on an account page, and territories listed: the report stays small
/// enough to e-mail at any size (the overview and the charts still count everything).
pub const ACCOUNT_ROWS: usize = 20;
/// See [`ACCOUNT_ROWS`].
pub const TERRITORY_ROWS: usize = 200;

/// Reads everything the report shows: the queue through `filter` (described by `filters`, the
/// flags that set it; at most its limit, else [`REPORT_LIMIT`] leads), the rest over all leads.
pub fn report(reader: &mut Reader, filter: &LeadFilter, filters: Vec<String>) -> Result<Report> {
    let mix = reader.lead_mix()?;
    let capped = LeadFilter {
        limit: Some(filter.limit.unwrap_or(REPORT_LIMIT)),
        ..filter.clone()
    };
    let queue = leads(reader, &capped)?;
    let queue_total = if queue.len() < capped.limit.unwrap_or(0) {
        queue.len()
    } else {
        reader.count_capped(filter, usize::MAX)?
    };
    let mut territories = reader.territories(TerritorySort::Leads)?;
    let territories_total = territories.len();
    territories.truncate(TERRITORY_ROWS);
    let mut accounts = Vec::new();
    let mut seen = HashSet::new();
    for id in queue.iter().filter_map(|l| l.account_id.as_deref()) {
        if !seen.insert(id) {
            continue;
        }
        // An exact id always finds exactly that account.
        if let Lookup::Found(a) = reader.find_account(id, id)? {
            accounts.push(reader.account_360(a, Some(ACCOUNT_ROWS))?);
        }
    }
    Ok(Report {
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        filters,
        territories,
        territories_total,
        histogram: score_histogram(&mix),
        by_type: type_counts(&mix.by_type_priority),
        families: reader.family_mix(&mix)?,
        coverage: reader.coverage()?,
        by_priority: mix.by_priority,
        pipeline: mix.pipeline,
        queue,
        queue_total,
        accounts,
    })
}
