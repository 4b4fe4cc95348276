//! Lead lifecycle: the statuses a rep moves a lead through, which moves make sense, and the
//! status history (`lead_events`, kind `status`). In: lead ids and a status change; out: a
//! recorded change per lead (its history and its status). Reruns never overwrite what is
//! written here (evaluation keeps `status` and `updated_at`), so a rep's work survives.

pub mod digest;
pub mod funnel;
pub mod weekly;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::lead::Lead;

/// Where a rep is with a lead.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nobody has acted on it yet (every lead starts here).
    New,
    /// The account was contacted.
    Contacted,
    /// The need and budget are confirmed.
    Qualified,
    /// It became an opportunity or order (final).
    Converted,
    /// Not worth pursuing.
    Rejected,
}

use Status::{Contacted, Converted, New, Qualified, Rejected};

/// Moves a rep may make without `--force`. Staying at the same status is always allowed (it
/// records a note). Converted is final: its opportunity exists in the CRM, so moving it back
/// would make the funnel lie. A rejected lead may be picked up again, but not converted without
/// being worked first.
const TRANSITIONS: &[(Status, &[Status])] = &[
    (New, &[Contacted, Qualified, Rejected]),
    (Contacted, &[Qualified, Converted, Rejected]),
    (Qualified, &[Contacted, Converted, Rejected]),
    (Converted, &[]),
    (Rejected, &[New, Contacted]),
];

impl Status {
    /// Every status, in funnel order.
    pub const ALL: [Status; 5] = [New, Contacted, Qualified, Converted, Rejected];

    /// The name stored in `leads.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            New => "new",
            Contacted => "contacted",
            Qualified => "qualified",
            Converted => "converted",
            Rejected => "rejected",
        }
    }

    /// Reads a stored status (case-insensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// True while someone should still act on the lead (aging applies only to these).
    pub fn is_open(self) -> bool {
        matches!(self, New | Contacted | Qualified)
    }

    /// True when moving from `self` to `to` needs no `--force`.
    pub fn can_move_to(self, to: Status) -> bool {
        self == to
            || TRANSITIONS
                .iter()
                .any(|(from, tos)| *from == self && tos.contains(&to))
    }
}

/// The current time as stored in `created_at`, `updated_at` and `lead_events.at`.
pub fn now_utc() -> String {
    format_time(Utc::now())
}

/// Formats a time the way the lead tables store it (UTC, seconds, `Z`), so text order is time
/// order in SQL.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// True when an active, open lead has had no status change for more than `aging_days` days.
/// A timestamp that does not parse is not flagged: we cannot tell its age.
pub fn is_aging(
    status: &str,
    active: bool,
    updated_at: &str,
    now: DateTime<Utc>,
    aging_days: i64,
) -> bool {
    let open = Status::parse(status).is_none_or(Status::is_open);
    let Ok(updated) = DateTime::parse_from_rfc3339(updated_at) else {
        return false;
    };
    active && open && now.signed_duration_since(updated) > chrono::Duration::days(aging_days)
}

/// [`is_aging`] of a lead.
pub fn lead_is_aging(lead: &Lead, now: DateTime<Utc>, aging_days: i64) -> bool {
    is_aging(&lead.status, lead.active, &lead.updated_at, now, aging_days)
}

/// A lead in the work queue with its aging flag; JSON keeps every [`Lead`] field and adds
/// `"aging"`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueuedLead<'a> {
    /// The lead, fields flattened into the object.
    #[serde(flatten)]
    pub lead: &'a Lead,
    /// No status change for more than `aging_days` while open.
    pub aging: bool,
}

/// Pairs each lead with its aging flag as of `now`.
pub fn flag_aging(leads: &[Lead], now: DateTime<Utc>, aging_days: i64) -> Vec<QueuedLead<'_>> {
    leads
        .iter()
        .map(|lead| QueuedLead {
            lead,
            aging: lead_is_aging(lead, now, aging_days),
        })
        .collect()
}

/// The queue as JSON (`onelead leads --format json`, and the server's `GET /api/leads`): an
/// array of leads, each with `aging`, pretty-printed, written as the leads are read.
pub fn queue_json(
    out: &mut dyn std::io::Write,
    reader: &mut crate::store::read::Reader,
    filter: &crate::store::read::LeadFilter,
    now: DateTime<Utc>,
    aging_days: i64,
) -> Result<()> {
    /// [`QueuedLead`] owning its lead: the same JSON.
    #[derive(serde::Serialize)]
    struct Queued {
        #[serde(flatten)]
        lead: Lead,
        aging: bool,
    }
    crate::report::json::stream(out, |item| {
        reader.each_lead(filter, &mut |lead| {
            let aging = lead_is_aging(&lead, now, aging_days);
            item(&Queued { lead, aging })
        })
    })
}

/// One status change as the rep gave it.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    /// The new status.
    pub status: Status,
    /// Free text kept with the event.
    pub note: Option<&'a str>,
    /// Who made the change.
    pub by: Option<&'a str>,
    /// The CRM opportunity the lead became or belongs to.
    pub opportunity: Option<&'a str>,
    /// Allow moves outside the transition table.
    pub force: bool,
}

/// A change that was recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// The lead, as stored (upper case).
    pub lead_id: String,
    /// Its status before.
    pub from: String,
    /// Its status now.
    pub to: Status,
}

/// The error for lead ids that do not exist (upper case, each once).
pub fn unknown_ids(unknown: &[String]) -> Error {
    Error::NotFound(format!(
        "unknown lead {} {}; nothing was changed (`onelead leads` lists the ids)",
        if unknown.len() == 1 { "id" } else { "ids" },
        backticked(unknown)
    ))
}

/// Refuses, all at once, the moves of `found` (`(lead_id, current status)`) that the
/// transition table does not allow, unless the change is forced.
pub fn check_moves(found: &[(String, String)], change: &StatusChange<'_>) -> Result<()> {
    if change.force {
        return Ok(());
    }
    let forbidden: Vec<String> = found
        .iter()
        .filter(|(_, from)| Status::parse(from).is_none_or(|f| !f.can_move_to(change.status)))
        .map(|(id, from)| format!("`{id}` ({from} → {})", change.status.as_str()))
        .collect();
    if forbidden.is_empty() {
        return Ok(());
    }
    Err(Error::BadInput {
        location: "status change".into(),
        message: format!(
            "not an allowed move for {}; nothing was changed. `--force` records it \
             anyway (kept in the history like any other change)",
            forbidden.join(", ")
        ),
    })
}

/// Backticked, comma-separated ids for messages.
pub fn backticked(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_path_needs_no_force() {
        assert!(New.can_move_to(Contacted));
        assert!(Contacted.can_move_to(Qualified));
        assert!(Qualified.can_move_to(Converted));
        assert!(New.can_move_to(Rejected));
        assert!(Rejected.can_move_to(New));
    }

    #[test]
    fn moves_that_make_no_sense_need_force() {
        assert!(!Converted.can_move_to(New));
        assert!(!Rejected.can_move_to(Converted));
        assert!(!New.can_move_to(Converted));
        for to in Status::ALL {
            assert_eq!(
                Converted.can_move_to(to),
                to == Converted,
                "converted → {to:?}"
            );
        }
    }

    #[test]
    fn staying_is_always_allowed() {
        for s in Status::ALL {
            assert!(s.can_move_to(s));
        }
    }

    #[test]
    fn statuses_round_trip_case_insensitively() {
        for s in Status::ALL {
            assert_eq!(Status::parse(&s.as_str().to_uppercase()), Some(s));
        }
        assert_eq!(Status::parse("won"), None);
    }

    #[test]
    fn aging_is_more_than_n_days_without_a_change_on_open_active_leads() {
        let now = DateTime::parse_from_rfc3339("2025-10-29T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(!is_aging("new", true, "2025-09-29T12:00:00Z", now, 30));
        assert!(is_aging("new", true, "2025-09-29T11:59:59Z", now, 30));
        assert!(!is_aging("new", false, "2025-01-01T00:00:00Z", now, 30));
        assert!(!is_aging(
            "converted",
            true,
            "2025-01-01T00:00:00Z",
            now,
            30
        ));
        assert!(is_aging("qualified", true, "2025-01-01T00:00:00Z", now, 30));
        assert!(!is_aging("new", true, "garbage", now, 30));
    }
}
