//! `dashboard`: totals, leads by priority and type, the pipeline estimate and the top 10.

use serde::Serialize;

use super::{Pipeline, PriorityCounts, Reader, TypeCounts, top_leads, type_counts};
use crate::error::Result;
use crate::model::lead::Lead;

/// The `dashboard` JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// Active leads.
    pub total_leads: i64,
    /// Active leads per priority.
    pub by_priority: PriorityCounts,
    /// Active leads per type, per priority.
    pub by_type: Vec<TypeCounts>,
    /// The pipeline estimate.
    pub pipeline: Pipeline,
    /// The ten best active leads.
    pub top: Vec<Lead>,
    /// Active lead counts per (type, priority), as the summary table shows them.
    #[serde(skip)]
    pub counts: Vec<(String, String, i64)>,
}

/// Reads the dashboard.
pub fn dashboard(reader: &mut Reader) -> Result<Dashboard> {
    let mix = reader.lead_mix()?;
    let top = top_leads(reader, 10)?;
    Ok(Dashboard {
        total_leads: mix.total(),
        by_type: type_counts(&mix.by_type_priority),
        by_priority: mix.by_priority,
        pipeline: mix.pipeline,
        top,
        counts: mix.by_type_priority,
    })
}
