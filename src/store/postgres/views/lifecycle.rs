//! The rows `digest` and `funnel` are folded from (see `lifecycle`).

use postgres::Client;
use postgres_types::ToSql;

use crate::error::Result;
use crate::store::read::{DigestLead, DigestRows, DigestWindow, FunnelBy, Statuses};

const LEAD_COLS: &str = "l.lead_id, l.priority, l.score, l.lead_type, l.title, a.name,
    l.serial_number, l.status, l.created_at, l.updated_at, coalesce(l.territory_id, '(none)')";

fn digest_lead(r: &postgres::Row) -> Result<(String, DigestLead)> {
    Ok((
        r.try_get(10)?,
        DigestLead {
            lead_id: r.try_get(0)?,
            priority: r.try_get(1)?,
            score: r.try_get(2)?,
            lead_type: r.try_get(3)?,
            title: r.try_get(4)?,
            account_name: r.try_get(5)?,
            serial_number: r.try_get(6)?,
            status: r.try_get(7)?,
            created_at: r.try_get(8)?,
            updated_at: r.try_get(9)?,
        },
    ))
}

/// The last run that evaluated leads: its id and start time.
pub fn last_evaluation(client: &mut Client) -> Result<Option<(i64, String)>> {
    client
        .query_opt(
            "SELECT run_id, started_at FROM runs WHERE command != 'load'
             ORDER BY run_id DESC LIMIT 1",
            &[],
        )?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// Open work only (`Statuses::OPEN`): the digest is what to act on.
fn open() -> String {
    let names: Vec<String> = Statuses::OPEN.iter().map(|s| format!("'{s}'")).collect();
    format!("lower(l.status) IN ({})", names.join(", "))
}

/// The as-of date of the last run that wrote leads, so a what-if changes only the rules.
pub fn last_as_of(client: &mut Client) -> Result<Option<String>> {
    client
        .query_opt(
            "SELECT as_of FROM runs WHERE command IN ('run', 'watch') ORDER BY run_id DESC LIMIT 1",
            &[],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
}

/// `window` as a clause on events `e` and its one bound parameter.
fn window_clause(window: &DigestWindow) -> (&'static str, &(dyn ToSql + Sync)) {
    match window {
        DigestWindow::Since(day) => ("e.at >= $1", day),
        DigestWindow::FromRun(id) => ("e.run_id >= $1", id),
    }
}

/// The digest's rows for `window`: one bound parameter against a fixed clause.
pub fn digest_rows(client: &mut Client, window: &DigestWindow) -> Result<DigestRows> {
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
    for r in client.query(&sql, &[bound])? {
        rows.created.push(digest_lead(&r)?);
    }
    // Priority events keep the old priority in `from_status` and the new one in `to_status`.
    let sql = format!(
        "SELECT {LEAD_COLS}, e.from_status, e.to_status FROM lead_events e
         JOIN leads l ON l.lead_id = e.lead_id
         LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE e.kind = 'priority' AND {clause} AND {open} ORDER BY e.id"
    );
    for r in client.query(&sql, &[bound])? {
        let (t, lead) = digest_lead(&r)?;
        rows.priority_moves
            .push((t, lead, r.try_get(11)?, r.try_get(12)?));
    }
    let sql = format!(
        "SELECT {LEAD_COLS} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.active = 1 ORDER BY l.updated_at, l.lead_id"
    );
    for r in client.query(&sql, &[])? {
        rows.active.push(digest_lead(&r)?);
    }
    Ok(rows)
}

/// Status changes in `window` per (territory, lower-case new status).
pub fn status_changes(
    client: &mut Client,
    window: &DigestWindow,
) -> Result<Vec<(String, String, i64)>> {
    let (clause, bound) = window_clause(window);
    let sql = crate::store::read::status_changes_sql(clause);
    client
        .query(&sql, &[bound])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Leads per (group, lower-case status) under `by`, groups in `by`'s order.
pub fn funnel_counts(client: &mut Client, by: FunnelBy) -> Result<Vec<(String, String, i64)>> {
    let sql = crate::store::read::funnel_sql(by, "lead_rows");
    client
        .query(&sql, &[])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}
