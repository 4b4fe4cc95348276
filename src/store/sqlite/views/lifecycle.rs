//! The rows `digest` and `funnel` are folded from (see `lifecycle`).

use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::Result;
use crate::store::read::{DigestLead, DigestRows, DigestWindow, FunnelBy, Statuses};

const LEAD_COLS: &str = "l.lead_id, l.priority, l.score, l.lead_type, l.title, a.name,
    l.serial_number, l.status, l.created_at, l.updated_at, coalesce(l.territory_id, '(none)')";

/// Open work only (`Statuses::OPEN`): the digest is what to act on.
fn open() -> String {
    let names: Vec<String> = Statuses::OPEN.iter().map(|s| format!("'{s}'")).collect();
    format!("lower(l.status) IN ({})", names.join(", "))
}

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

/// The last run that evaluated leads: its id and start time.
pub fn last_evaluation(conn: &Connection) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT run_id, started_at FROM runs WHERE command != 'load'
             ORDER BY run_id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The as-of date of the last run that wrote leads, so a what-if changes only the rules.
pub fn last_as_of(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT as_of FROM runs WHERE command IN ('run', 'watch') ORDER BY run_id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// `window` as a clause on events `e` and its one bound parameter: either "events of run N or
/// later" or "events at or after a day".
fn window_clause(window: &DigestWindow) -> (&'static str, rusqlite::types::Value) {
    match window {
        DigestWindow::Since(day) => ("e.at >= ?1", day.clone().into()),
        DigestWindow::FromRun(id) => ("e.run_id >= ?1", (*id).into()),
    }
}

/// The digest's rows for `window`: the window is either "events of run N or later" or "events
/// at or after a day"; both become one bound parameter against a fixed clause.
pub fn digest_rows(conn: &Connection, window: &DigestWindow) -> Result<DigestRows> {
    let (clause, bound) = window_clause(window);
    let mut rows = DigestRows::default();
    let open = open();
    let sql = format!(
        "SELECT DISTINCT {LEAD_COLS} FROM lead_events e JOIN leads l ON l.lead_id = e.lead_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE e.kind = 'created' AND {clause} AND l.active = 1 AND {open}
           AND l.priority IN ('CRITICAL', 'HIGH')
         ORDER BY l.score DESC, l.lead_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    for row in stmt.query_map([&bound], digest_lead)? {
        rows.created.push(row?);
    }
    // Priority events keep the old priority in `from_status` and the new one in `to_status`.
    let sql = format!(
        "SELECT {LEAD_COLS}, e.from_status, e.to_status FROM lead_events e
         JOIN leads l ON l.lead_id = e.lead_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE e.kind = 'priority' AND {clause} AND {open} ORDER BY e.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    for row in stmt.query_map([&bound], |r| {
        let (t, lead) = digest_lead(r)?;
        Ok((t, lead, r.get::<_, String>(11)?, r.get::<_, String>(12)?))
    })? {
        rows.priority_moves.push(row?);
    }
    let sql = format!(
        "SELECT {LEAD_COLS} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.active = 1 ORDER BY l.updated_at, l.lead_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    for row in stmt.query_map([], digest_lead)? {
        rows.active.push(row?);
    }
    Ok(rows)
}

/// Status changes in `window` per (territory, lower-case new status).
pub fn status_changes(
    conn: &Connection,
    window: &DigestWindow,
) -> Result<Vec<(String, String, i64)>> {
    let (clause, bound) = window_clause(window);
    let sql = crate::store::read::status_changes_sql(clause);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([&bound], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Leads per (group, lower-case status) under `by`, groups in `by`'s order.
pub fn funnel_counts(conn: &Connection, by: FunnelBy) -> Result<Vec<(String, String, i64)>> {
    let sql = crate::store::read::funnel_sql(by, "leads");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
