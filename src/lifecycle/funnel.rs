//! The funnel: how many leads sit at each status and how many were converted, overall and by
//! lead type, territory and priority. Counts cover every lead ever made, inactive ones too: a
//! lead whose trigger stopped firing after it was converted still counts as a conversion.

use std::collections::BTreeMap;

use super::Status;
use crate::error::Result;
use crate::store::read::{FunnelBy, Reader};

/// One group's counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FunnelRow {
    /// `all`, `lead_type`, `territory` or `priority`.
    pub dimension: String,
    /// The group within the dimension (`all` for the overall row; empty territory as `(none)`).
    pub group: String,
    /// Leads ever made in this group.
    pub total: i64,
    /// Leads per status, in funnel order (`new` … `rejected`); unknown statuses count only in
    /// `total`.
    pub by_status: BTreeMap<Status, i64>,
    /// `converted / total` (0 when the group is empty).
    pub conversion_rate: f64,
}

/// The dimensions, by name, in the order their rows are listed.
const DIMENSIONS: [(&str, FunnelBy); 4] = [
    ("all", FunnelBy::All),
    ("lead_type", FunnelBy::LeadType),
    ("territory", FunnelBy::Territory),
    ("priority", FunnelBy::Priority),
];

/// Reads the funnel: the overall row, then each dimension's groups.
pub fn funnel(reader: &mut Reader) -> Result<Vec<FunnelRow>> {
    let mut rows = Vec::new();
    for (dimension, by) in DIMENSIONS {
        let mut groups: Vec<FunnelRow> = Vec::new();
        for (group, status, n) in reader.funnel_counts(by)? {
            if groups.last().is_none_or(|g| g.group != group) {
                groups.push(FunnelRow {
                    dimension: dimension.to_string(),
                    group: group.clone(),
                    total: 0,
                    by_status: Status::ALL.into_iter().map(|s| (s, 0)).collect(),
                    conversion_rate: 0.0,
                });
            }
            if let Some(g) = groups.last_mut() {
                g.total += n;
                if let Some(s) = Status::parse(&status) {
                    *g.by_status.entry(s).or_insert(0) += n;
                }
            }
        }
        for g in &mut groups {
            let converted = g.by_status.get(&Status::Converted).copied().unwrap_or(0);
            if g.total > 0 {
                g.conversion_rate = converted as f64 / g.total as f64;
            }
        }
        rows.extend(groups);
    }
    Ok(rows)
}
