//! The weekly territory summary: per territory with active leads, where it stands (leads per
//! priority, average score, pipeline), what the last seven days brought (new CRITICAL/HIGH
//! leads, priority changes) and its best open leads. In: a reader and the time; out: a
//! [`Weekly`] the mail and report printers render.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};

use super::digest::{self, DigestLead, Since};
use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::read::{DigestWindow, LeadFilter, PriorityCounts, Reader, TerritorySort};

/// How many of a territory's best leads the summary lists.
const TOP: usize = 5;

/// One territory's week.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WeeklyTerritory {
    /// Territory id (`(none)` for leads without one).
    pub territory_id: String,
    /// Its name, when known.
    pub territory_name: Option<String>,
    /// Accounts in it.
    pub accounts: i64,
    /// Active leads.
    pub leads: i64,
    /// Active leads per priority.
    pub by_priority: PriorityCounts,
    /// Mean score of the active leads.
    pub avg_score: Option<f64>,
    /// Σ estimated value of the active leads that have one.
    pub pipeline: Option<f64>,
    /// New CRITICAL/HIGH leads of the week, best first.
    pub new_leads: Vec<DigestLead>,
    /// Leads whose priority moved during the week.
    pub priority_changes: usize,
    /// Status changes people made during the week, per new status (lower case): the team's
    /// work on the territory, which the design's "territory performance summary" is about.
    pub status_changes: BTreeMap<String, i64>,
    /// Open leads aging without action.
    pub aging: usize,
    /// Its best active leads.
    pub top: Vec<DigestLead>,
}

impl WeeklyTerritory {
    /// The week's status changes in funnel order (`3 contacted, 1 converted`), or `none`.
    pub fn status_summary(&self) -> String {
        let order = |s: &str| super::Status::parse(s).map_or(usize::MAX, |st| st as usize);
        let mut moves: Vec<(&String, &i64)> = self.status_changes.iter().collect();
        moves.sort_by_key(|(s, _)| order(s));
        let parts: Vec<String> = moves.iter().map(|(s, n)| format!("{n} {s}")).collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The weekly summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Weekly {
    /// The ISO week it is for (`2026-W49`).
    pub week: String,
    /// The first day of the seven it covers.
    pub since: String,
    /// The aging threshold used.
    pub aging_days: i64,
    /// Territories with active leads, most leads first.
    pub territories: Vec<WeeklyTerritory>,
}

/// Builds the summary of the seven days before `now`.
pub fn weekly(reader: &mut Reader, now: DateTime<Utc>, aging_days: i64) -> Result<Weekly> {
    let since = (now - Duration::days(7)).date_naive();
    let d = digest::digest(reader, Since::Date(since), now, aging_days)?;
    let mut moves: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (t, status, n) in reader.status_changes(&DigestWindow::Since(since.to_string()))? {
        moves.entry(t).or_default().insert(status, n);
    }
    let mut territories = Vec::new();
    for t in reader.territories(TerritorySort::Leads)? {
        if t.leads == 0 {
            continue;
        }
        let id = t.territory_id.clone().unwrap_or_else(|| "(none)".into());
        let week = d.territories.iter().find(|w| w.territory_id == id);
        let top = match &t.territory_id {
            Some(tid) => best_leads(reader, tid)?,
            None => Vec::new(),
        };
        territories.push(WeeklyTerritory {
            territory_name: t.territory_name,
            accounts: t.accounts,
            leads: t.leads,
            by_priority: t.by_priority,
            avg_score: t.avg_score,
            pipeline: t.pipeline,
            new_leads: week.map(|w| w.new_leads.clone()).unwrap_or_default(),
            priority_changes: week.map_or(0, |w| w.priority_changes.len()),
            status_changes: moves.remove(&id).unwrap_or_default(),
            aging: week.map_or(0, |w| w.aging.len()),
            top,
            territory_id: id,
        });
    }
    let iso = now.iso_week();
    Ok(Weekly {
        week: format!("{}-W{:02}", iso.year(), iso.week()),
        since: since.to_string(),
        aging_days,
        territories,
    })
}

/// A territory's best active leads.
fn best_leads(reader: &mut Reader, territory: &str) -> Result<Vec<DigestLead>> {
    let filter = LeadFilter {
        territory: Some(territory.to_string()),
        limit: Some(TOP),
        ..LeadFilter::default()
    };
    let mut out = Vec::with_capacity(TOP);
    reader.each_lead(&filter, &mut |l| {
        out.push(digest_lead(&l));
        Ok(())
    })?;
    Ok(out)
}

/// A lead as the digests list it.
pub fn digest_lead(l: &Lead) -> DigestLead {
    DigestLead {
        lead_id: l.lead_id.clone(),
        priority: l.priority.clone(),
        score: l.score,
        lead_type: l.lead_type.clone(),
        title: l.title.clone(),
        account_name: l.account_name.clone(),
        serial_number: l.serial_number.clone(),
        status: l.status.clone(),
        created_at: l.created_at.clone(),
        updated_at: l.updated_at.clone(),
    }
}
