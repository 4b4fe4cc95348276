//! The morning digest: what the install base changed, new CRITICAL/HIGH leads and priority
//! changes since a date or the last run, and open leads aging without action, grouped per
//! territory; open work only. In: the store's digest rows
//! (leads, their events, the runs); out: a [`Digest`] the report printers render.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::is_aging;
use crate::error::{Error, Result};
use crate::model::snapshot::ChangeCounts;
pub use crate::store::read::DigestLead;
use crate::store::read::{DigestWindow, Reader};

/// Where the digest window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Events on or after this day (UTC).
    Date(NaiveDate),
    /// Events of the latest run that evaluated leads.
    LastRun,
}

impl FromStr for Since {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("last-run") {
            return Ok(Since::LastRun);
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Since::Date)
            .map_err(|_| format!("expected `last-run` or a date `YYYY-MM-DD`, got `{s}`"))
    }
}

/// A lead whose priority moved within the window (first `from`, latest `to`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PriorityChange {
    /// The lead now.
    #[serde(flatten)]
    pub lead: DigestLead,
    /// Priority before the window's first change.
    pub from: String,
    /// Priority after the window's last change.
    pub to: String,
}

/// One territory's part of the digest.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TerritoryDigest {
    /// Territory id (`(none)` for leads without one).
    pub territory_id: String,
    /// New CRITICAL/HIGH leads, best score first.
    pub new_leads: Vec<DigestLead>,
    /// Priority changes, best score first.
    pub priority_changes: Vec<PriorityChange>,
    /// Open leads with no status change for more than `aging_days`, oldest first.
    pub aging: Vec<DigestLead>,
}

/// The whole digest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Digest {
    /// Human description of the window start (`run 3 (2025-10-29T08:00:00Z)` or a date).
    pub since: String,
    /// The run the window starts at, for `last-run`.
    pub since_run: Option<i64>,
    /// The aging threshold used.
    pub aging_days: i64,
    /// What the install-base snapshots taken in the window changed, added up.
    pub install_base: ChangeCounts,
    /// How many install-base snapshots of the window were compared with the one before.
    pub snapshots_compared: usize,
    /// Territories with anything to report, by id.
    pub territories: Vec<TerritoryDigest>,
}

impl Digest {
    /// Total new leads, priority changes and aging leads.
    pub fn totals(&self) -> (usize, usize, usize) {
        self.territories.iter().fold((0, 0, 0), |(a, b, c), t| {
            (
                a + t.new_leads.len(),
                b + t.priority_changes.len(),
                c + t.aging.len(),
            )
        })
    }
}

/// Builds the digest. `now` decides aging; `aging_days` comes from the config.
pub fn digest(
    reader: &mut Reader,
    since: Since,
    now: DateTime<Utc>,
    aging_days: i64,
) -> Result<Digest> {
    let (window, label, since_run) = match since {
        Since::Date(d) => (DigestWindow::Since(d.to_string()), d.to_string(), None),
        Since::LastRun => {
            let Some((id, started)) = reader.last_evaluation()? else {
                return Err(Error::NotFound(
                    "no run has evaluated leads yet; run `onelead run` first".into(),
                ));
            };
            let started = DateTime::parse_from_rfc3339(&started)
                .map_or(started, |t| super::format_time(t.with_timezone(&Utc)));
            (
                DigestWindow::FromRun(id),
                format!("run {id} ({started})"),
                Some(id),
            )
        }
    };
    let (install_base, snapshots_compared) =
        crate::views::changes_within(reader, |s| match &window {
            DigestWindow::Since(day) => s.taken_at.as_str() >= day.as_str(),
            DigestWindow::FromRun(id) => s.run_id >= *id,
        })?;
    let rows = reader.digest_rows(&window)?;
    let mut territories: BTreeMap<String, TerritoryDigest> = BTreeMap::new();
    for (t, lead) in rows.created {
        entry(&mut territories, t).new_leads.push(lead);
    }
    for (t, c) in priority_changes(rows.priority_moves) {
        entry(&mut territories, t).priority_changes.push(c);
    }
    for (t, lead) in rows.active {
        if is_aging(&lead.status, true, &lead.updated_at, now, aging_days) {
            entry(&mut territories, t).aging.push(lead);
        }
    }
    Ok(Digest {
        since: label,
        since_run,
        aging_days,
        install_base,
        snapshots_compared,
        territories: territories.into_values().collect(),
    })
}

/// Each lead's priority change over the window (its first `from`, its latest `to`), those that
/// ended where they began left out, best score first.
fn priority_changes(
    moves: Vec<(String, DigestLead, String, String)>,
) -> Vec<(String, PriorityChange)> {
    let mut changes: BTreeMap<String, (String, PriorityChange)> = BTreeMap::new();
    for (t, lead, from, to) in moves {
        changes
            .entry(lead.lead_id.clone())
            .and_modify(|(_, c)| c.to.clone_from(&to))
            .or_insert((t, PriorityChange { lead, from, to }));
    }
    let mut changes: Vec<(String, PriorityChange)> = changes
        .into_values()
        .filter(|(_, c)| c.from != c.to)
        .collect();
    changes.sort_by(|a, b| {
        b.1.lead
            .score
            .total_cmp(&a.1.lead.score)
            .then_with(|| a.1.lead.lead_id.cmp(&b.1.lead.lead_id))
    });
    changes
}

/// The territory's section, created on first use.
fn entry(map: &mut BTreeMap<String, TerritoryDigest>, t: String) -> &mut TerritoryDigest {
    map.entry(t.clone()).or_insert_with(|| TerritoryDigest {
        territory_id: t,
        ..TerritoryDigest::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_last_run_or_a_date() {
        assert_eq!("last-run".parse::<Since>(), Ok(Since::LastRun));
        assert_eq!(
            "2025-10-29".parse::<Since>(),
            Ok(Since::Date(NaiveDate::from_ymd_opt(2025, 10, 29).unwrap()))
        );
        assert!(
            "yesterday"
                .parse::<Since>()
                .unwrap_err()
                .contains("`yesterday`")
        );
    }
}
