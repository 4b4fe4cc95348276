//! The views as a library: what `dashboard`, `analytics`, `leads`, `territories`, `account`,
//! `explain` and the HTML report show, as data. Each takes a read-only [`Reader`] (cheap to
//! open, one per thread or request), never writes and never prints; the CLI, the report and the
//! server render what these return. The JSON of each is documented in `docs/json.md`.

mod analytics;
mod changes;
mod dashboard;
mod report;

pub use analytics::{Analytics, Bucket, analytics, score_histogram};
pub use changes::{ChangeFilter, Changes, changes, changes_within, install_base_snapshots};
pub use dashboard::{Dashboard, dashboard};
pub use report::{REPORT_LIMIT, Report, report};

pub use crate::store::read::{
    Account360, Alias, Asset, Count, Coverage, Credits, Event, ExpiringCredit, FamilyMix, Identity,
    LeadFilter, LeadMix, LeadSort, Lookup, Opportunity, Overlaid, Overlay, PRIORITIES, Pipeline,
    PriorityCounts, Projects, Reader, Reads, Statuses, Territory, TerritorySort,
};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::model::lead::Lead;

/// The leads matching `filter`, in its order.
pub fn leads(reader: &mut Reader, filter: &LeadFilter) -> Result<Vec<Lead>> {
    let mut out = Vec::new();
    reader.each_lead(filter, &mut |l| {
        out.push(l);
        Ok(())
    })?;
    Ok(out)
}

/// The best `n` active leads.
pub fn top_leads(reader: &mut Reader, n: usize) -> Result<Vec<Lead>> {
    leads(
        reader,
        &LeadFilter {
            limit: Some(n),
            ..LeadFilter::default()
        },
    )
}

/// What [`lead`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadLookup {
    /// The lead and its history, oldest first.
    Found(Box<Lead>, Vec<Event>),
    /// No such lead; the ids the user may have meant.
    Missing(Vec<String>),
}

/// A lead by id (any case) with its history, or the ids the user may have meant.
pub fn lead(reader: &mut Reader, id: &str) -> Result<LeadLookup> {
    match reader.lead_by_id(id)? {
        Some(lead) => {
            let events = reader.events(&lead.lead_id)?;
            Ok(LeadLookup::Found(Box::new(lead), events))
        }
        None => Ok(LeadLookup::Missing(reader.similar_ids(id)?)),
    }
}

/// Active leads of one type per priority: the JSON rows of "leads by type".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeCounts {
    /// Lead type.
    pub lead_type: String,
    /// Per priority.
    #[serde(flatten)]
    pub by_priority: PriorityCounts,
    /// All priorities.
    pub total: i64,
}

/// Folds `(type, priority, count)` rows (from [`Reads::counts_by_type_priority`]) into one row per type.
pub fn type_counts(counts: &[(String, String, i64)]) -> Vec<TypeCounts> {
    let mut map: BTreeMap<&str, PriorityCounts> = BTreeMap::new();
    for (ty, p, n) in counts {
        map.entry(ty.as_str()).or_default().add(p, *n);
    }
    map.into_iter()
        .map(|(ty, by_priority)| TypeCounts {
            lead_type: ty.to_string(),
            total: by_priority.total(),
            by_priority,
        })
        .collect()
}
