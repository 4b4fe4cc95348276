//! What the views ask for leads by: the queue's filter and order, a lead's history, and the
//! rows the digest and the funnel are folded from.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::model::lead::Lead;

/// Sort orders of the lead queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadSort {
    /// Highest score first.
    #[default]
    Score,
    /// CRITICAL first, then by score.
    Priority,
    /// Account name A–Z, then by score.
    Account,
    /// Lead type A–Z, then by score.
    Type,
    /// Longest past end of life first.
    DaysPastEol,
}

/// Which leads to read.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Case-insensitive substring of the lead type.
    pub lead_type: Option<String>,
    /// Any of these priorities (upper-case).
    pub priorities: Vec<String>,
    /// Score at least this.
    pub min_score: Option<f64>,
    /// Territory id.
    pub territory: Option<String>,
    /// Substring of the account name, its normalised name or any alias.
    pub account: Option<String>,
    /// Product family (case-insensitive).
    pub family: Option<String>,
    /// Which workflow statuses (default: the open ones).
    pub statuses: Statuses,
    /// Include leads whose trigger no longer fires.
    pub include_inactive: bool,
    /// Order.
    pub sort: LeadSort,
    /// At most this many.
    pub limit: Option<usize>,
    /// First seen on or after this day (`created_at`, UTC).
    pub new_since: Option<chrono::NaiveDate>,
    /// No status change for more than this many days (`updated_at`).
    pub older_than_days: Option<i64>,
    /// Start after this lead (keyset paging; used when its sort is `sort`).
    pub after: Option<crate::store::keyset::Cursor>,
    /// Owned by this user (the name as stored).
    pub owner: Option<String>,
    /// Workflow changes accepted but not yet in the database, read as if they were: a lead is
    /// returned with its pending status and owner, and the `status` and `owner` filters match
    /// those (see [`Overlay`]).
    pub overlay: Overlay,
}

/// A lead's workflow state after the changes still pending for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlaid {
    /// Its status, when a pending change sets one.
    pub status: Option<String>,
    /// Its owner (`Some(None)`: nobody), when a pending change sets one.
    pub owner: Option<Option<String>>,
}

/// Workflow changes accepted but not yet in the lead database, by lead id (as stored): the
/// journal's pending entries (`store::journal::overlay`) while a run holds the database. A
/// backend returns every lead a read gives with these laid over it, and matches the `status`
/// and `owner` filters against them, so a change shows in every list from the moment it is
/// accepted. Shared, as a filter is cloned for each page it reads.
#[derive(Debug, Clone, Default)]
pub struct Overlay(Arc<HashMap<String, Overlaid>>);

impl Overlay {
    /// The overlay of these leads' pending states.
    pub fn new(leads: HashMap<String, Overlaid>) -> Overlay {
        Overlay(Arc::new(leads))
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pending state of the lead with this id (as stored), if it has one.
    pub fn get(&self, lead_id: &str) -> Option<&Overlaid> {
        self.0.get(lead_id)
    }

    /// Lays the pending state of `lead` over it; true when it has one.
    pub fn apply(&self, lead: &mut Lead) -> bool {
        let Some(o) = self.0.get(&lead.lead_id) else {
            return false;
        };
        if let Some(s) = &o.status {
            lead.status.clone_from(s);
        }
        if let Some(owner) = &o.owner {
            lead.owner.clone_from(owner);
        }
        true
    }

    /// For a filter on these statuses: the leads whose pending status decides instead of the
    /// stored one, and those of them whose pending status is one of `statuses` (any case).
    pub fn status_sets(&self, statuses: &[String]) -> (Vec<&str>, Vec<&str>) {
        self.sets(|o| {
            o.status
                .as_deref()
                .map(|s| statuses.iter().any(|t| s.eq_ignore_ascii_case(t)))
        })
    }

    /// For a filter on owner `owner`: likewise, by pending owner.
    pub fn owner_sets(&self, owner: &str) -> (Vec<&str>, Vec<&str>) {
        self.sets(|o| o.owner.as_ref().map(|x| x.as_deref() == Some(owner)))
    }

    fn sets(&self, decides: impl Fn(&Overlaid) -> Option<bool>) -> (Vec<&str>, Vec<&str>) {
        let mut changed = Vec::new();
        let mut matching = Vec::new();
        for (id, o) in self.0.iter() {
            if let Some(m) = decides(o) {
                changed.push(id.as_str());
                if m {
                    matching.push(id.as_str());
                }
            }
        }
        // In a stable order, so the statement's parameters are the same for the same overlay.
        changed.sort_unstable();
        matching.sort_unstable();
        (changed, matching)
    }
}

/// Which workflow statuses a lead list takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Statuses {
    /// Open work: `new`, `contacted`, `qualified`.
    #[default]
    Open,
    /// Every status.
    Any,
    /// These (lower-case).
    Only(Vec<String>),
}

impl Statuses {
    /// The statuses of open work.
    pub const OPEN: [&'static str; 3] = ["new", "contacted", "qualified"];

    /// The statuses taken, lower-case; `None` for every status.
    pub fn names(&self) -> Option<Vec<String>> {
        match self {
            Statuses::Open => Some(Self::OPEN.iter().map(|s| (*s).to_string()).collect()),
            Statuses::Any => None,
            Statuses::Only(list) => Some(list.iter().map(|s| s.to_lowercase()).collect()),
        }
    }
}

/// One entry of a lead's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// What happened (`created`, `status`, `closed`, ...).
    pub kind: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Free-text note.
    pub note: Option<String>,
    /// Who.
    pub by: Option<String>,
    /// Linked opportunity.
    pub opportunity_id: Option<String>,
    /// The run that caused it, if a run did.
    pub run_id: Option<i64>,
}

/// A lead as the digest lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DigestLead {
    /// Stable lead id.
    pub lead_id: String,
    /// Current priority.
    pub priority: String,
    /// Current score.
    pub score: f64,
    /// Lead type.
    pub lead_type: String,
    /// Title from the trigger.
    pub title: String,
    /// Account name, when linked.
    pub account_name: Option<String>,
    /// Asset serial number.
    pub serial_number: Option<String>,
    /// Workflow status.
    pub status: String,
    /// First seen.
    pub created_at: String,
    /// Last status change.
    pub updated_at: String,
}

/// Which events the digest reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestWindow {
    /// Events at or after this day (`YYYY-MM-DD`).
    Since(String),
    /// Events of this run or later.
    FromRun(i64),
}

/// The rows the digest is folded from, each with its lead's territory (`(none)` without one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestRows {
    /// Active CRITICAL/HIGH leads created in the window, best score first, then by id.
    pub created: Vec<(String, DigestLead)>,
    /// Priority events in the window, oldest first, with the priority before and after.
    pub priority_moves: Vec<(String, DigestLead, String, String)>,
    /// Every active lead, least recently updated first, then by id.
    pub active: Vec<(String, DigestLead)>,
}

/// How the funnel groups leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelBy {
    /// Every lead in one group, `all`.
    All,
    /// By lead type, A–Z.
    LeadType,
    /// By territory id (`(none)` without one), A–Z.
    Territory,
    /// By priority, most urgent first.
    Priority,
}

/// Normalises a typed lead id: ids are upper-case Crockford base-32, so case does not matter.
pub fn canonical_id(input: &str) -> String {
    input.trim().to_uppercase()
}

/// Up to five of `ids` (in order) the user may have meant by `id`: ids starting with what was
/// typed (a truncated id), otherwise the three closest by edit distance.
pub fn similar_ids(ids: Vec<String>, id: &str) -> Vec<String> {
    let typed = canonical_id(id);
    let prefixed: Vec<String> = ids
        .iter()
        .filter(|i| !typed.is_empty() && (i.starts_with(&typed) || typed.starts_with(i.as_str())))
        .take(5)
        .cloned()
        .collect();
    if !prefixed.is_empty() {
        return prefixed;
    }
    let mut scored: Vec<(usize, String)> = ids
        .into_iter()
        .map(|i| (strsim::damerau_levenshtein(&typed, &i), i))
        .filter(|(d, i)| *d <= i.len() / 2)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, i)| i).collect()
}

/// The status changes' query on both backends, `clause` being the window on events `e` in the
/// backend's parameter syntax: people's status changes (not a run's closings) per territory
/// and new status.
pub(crate) fn status_changes_sql(clause: &str) -> String {
    format!(
        "SELECT coalesce(l.territory_id, '(none)'), lower(e.to_status), count(*)
         FROM lead_events e JOIN leads l ON l.lead_id = e.lead_id
         WHERE e.kind = 'status' AND {clause} GROUP BY 1, 2 ORDER BY 1, 2"
    )
}

/// The funnel's query on both backends, over `table` (the leads as each backend names them):
/// leads per (group, lower-case status), groups in `by`'s order, statuses A–Z within a group.
pub(crate) fn funnel_sql(by: FunnelBy, table: &str) -> String {
    // Grouping expressions, one per dimension, with the order their groups are listed in.
    // They are our own constants, never user text.
    let (expr, order) = match by {
        FunnelBy::All => ("CAST('all' AS TEXT)", "1"),
        FunnelBy::LeadType => ("lead_type", "1"),
        FunnelBy::Territory => ("coalesce(territory_id, '(none)')", "1"),
        FunnelBy::Priority => (
            "priority",
            "CASE priority WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'MEDIUM' THEN 2 \
             WHEN 'LOW' THEN 3 ELSE 4 END, 1",
        ),
    };
    format!(
        "SELECT {expr}, lower(status), count(*) FROM {table} GROUP BY {expr}, lower(status)
         ORDER BY {order}, 2"
    )
}
