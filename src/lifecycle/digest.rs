//! The morning digest: new CRITICAL/HIGH leads and priority changes since a date or the last
//! run, and open leads aging without action, grouped per territory. In: the `leads`,
//! `lead_events` and `runs` tables; out: a [`Digest`] the report printers render.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row};

use super::is_aging;
use crate::error::{Error, Result};

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

const LEAD_COLS: &str = "l.lead_id, l.priority, l.score, l.lead_type, l.title, a.name,
    l.serial_number, l.status, l.created_at, l.updated_at, coalesce(l.territory_id, '(none)')";

fn digest_lead(r: &Row<'_>) -> rusqlite::Result<(String, DigestLead)> {
    Ok((
        r.get(10)?,
        DigestLead {
            lead_id: r.get(0)?,
            priority: r.get(1)?,
            score: r.get(2)?,
            lead_type: r.get(3)?,
            title: r.get(4)?,
            account_name: r.get(5)?,
            serial_number: r.get(6)?,
            status: r.get(7)?,
            created_at: r.get(8)?,
            updated_at: r.get(9)?,
        },
    ))
}

/// Builds the digest. `now` decides aging; `aging_days` comes from the config.
pub fn digest(
    conn: &Connection,
    since: Since,
    now: DateTime<Utc>,
    aging_days: i64,
) -> Result<Digest> {
    // The window is either "events of run N or later" or "events at or after a day"; both
    // become one bound parameter against a fixed clause.
    let (window, bound, label, since_run): (&str, rusqlite::types::Value, String, Option<i64>) =
        match since {
            Since::Date(d) => ("e.at >= ?1", d.to_string().into(), d.to_string(), None),
            Since::LastRun => {
                let run: Option<(i64, String)> = conn
                    .query_row(
                        "SELECT run_id, started_at FROM runs WHERE command != 'load'
                         ORDER BY run_id DESC LIMIT 1",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let Some((id, started)) = run else {
                    return Err(Error::NotFound(
                        "no run has evaluated leads yet; run `onelead run` first".into(),
                    ));
                };
                let started = DateTime::parse_from_rfc3339(&started)
                    .map_or(started, |t| super::format_time(t.with_timezone(&Utc)));
                (
                    "e.run_id >= ?1",
                    id.into(),
                    format!("run {id} ({started})"),
                    Some(id),
                )
            }
        };
    let mut territories: BTreeMap<String, TerritoryDigest> = BTreeMap::new();

    let sql = format!(
        "SELECT DISTINCT {LEAD_COLS} FROM lead_events e JOIN leads l ON l.lead_id = e.lead_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE e.kind = 'created' AND {window} AND l.active = 1
           AND l.priority IN ('CRITICAL', 'HIGH')
         ORDER BY l.score DESC, l.lead_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    for row in stmt.query_map([&bound], digest_lead)? {
        let (t, lead) = row?;
        entry(&mut territories, t).new_leads.push(lead);
    }

    // Priority events keep the old priority in `from_status` and the new one in `to_status`.
    let sql = format!(
        "SELECT {LEAD_COLS}, e.from_status, e.to_status FROM lead_events e
         JOIN leads l ON l.lead_id = e.lead_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE e.kind = 'priority' AND {window} ORDER BY e.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut changes: BTreeMap<String, (String, PriorityChange)> = BTreeMap::new();
    for row in stmt.query_map([&bound], |r| {
        let (t, lead) = digest_lead(r)?;
        Ok((t, lead, r.get::<_, String>(11)?, r.get::<_, String>(12)?))
    })? {
        let (t, lead, from, to) = row?;
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
    for (t, c) in changes {
        entry(&mut territories, t).priority_changes.push(c);
    }

    let sql = format!(
        "SELECT {LEAD_COLS} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.active = 1 ORDER BY l.updated_at, l.lead_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    for row in stmt.query_map([], digest_lead)? {
        let (t, lead) = row?;
        if is_aging(&lead.status, true, &lead.updated_at, now, aging_days) {
            entry(&mut territories, t).aging.push(lead);
        }
    }

    Ok(Digest {
        since: label,
        since_run,
        aging_days,
        territories: territories.into_values().collect(),
    })
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
