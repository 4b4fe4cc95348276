//! Read queries the views share. Filters become SQL `WHERE` clauses with bound parameters, so
//! they use the indexes and never interpolate user text.

use std::sync::LazyLock;

use rusqlite::{Connection, Row, params_from_iter};

use super::super::leads::cell;

use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::columns::{self, LEAD_COLUMNS, WrongType};
use crate::store::read::{LeadFilter, LeadSort};

const PRIORITY_RANK: &str = "CASE l.priority WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 \
                             WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END";

/// The SELECT list that [`lead_from_row`] reads: the declared lead columns a read fills the
/// lead from, in order, then the account's name (`accounts a`).
pub fn lead_columns() -> &'static str {
    static SELECT: LazyLock<String> = LazyLock::new(|| {
        let mut list: Vec<String> = columns::read(LEAD_COLUMNS)
            .map(|c| format!("l.{}", c.name))
            .collect();
        list.push("a.name".into());
        list.join(", ")
    });
    &SELECT
}

/// The statement that selects the leads matching `f`, in its order, and its parameters.
fn lead_query(f: &LeadFilter) -> (String, Vec<rusqlite::types::Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |v: String| {
        args.push(v.into());
        format!("?{}", args.len())
    };
    if !f.include_inactive {
        clauses.push("l.active = 1".into());
    }
    if let Some(t) = &f.lead_type {
        clauses.push(format!(
            "instr(lower(l.lead_type), lower({})) > 0",
            arg(t.clone())
        ));
    }
    if !f.priorities.is_empty() {
        let list: Vec<String> = f.priorities.iter().map(|p| arg(p.to_uppercase())).collect();
        clauses.push(format!("l.priority IN ({})", list.join(",")));
    }
    if let Some(s) = f.min_score {
        clauses.push(format!("l.score >= CAST({} AS REAL)", arg(s.to_string())));
    }
    if let Some(t) = &f.territory {
        clauses.push(format!("l.territory_id = {}", arg(t.clone())));
    }
    if let Some(a) = &f.account {
        let p = arg(a.clone());
        clauses.push(format!(
            "(l.account_id = {p} OR instr(lower(a.name), lower({p})) > 0
              OR instr(a.normalized_name, lower({p})) > 0
              OR l.account_id IN (SELECT account_id FROM account_aliases
                                  WHERE instr(lower(alias), lower({p})) > 0))"
        ));
    }
    if let Some(fam) = &f.family {
        clauses.push(format!(
            "upper(l.product_family) = upper({})",
            arg(fam.clone())
        ));
    }
    if let Some(s) = &f.status {
        clauses.push(format!("lower(l.status) = lower({})", arg(s.clone())));
    }
    if let Some(d) = f.new_since {
        // Stored times are `YYYY-MM-DDTHH:MM:SSZ`, so a bare date compares as its midnight.
        clauses.push(format!("l.created_at >= {}", arg(d.to_string())));
    }
    if let Some(days) = f.older_than_days {
        clauses.push(format!(
            "l.updated_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', {})",
            arg(format!("-{days} days"))
        ));
    }
    let order = match f.sort {
        LeadSort::Score => "l.score DESC".to_string(),
        LeadSort::Priority => format!("{PRIORITY_RANK}, l.score DESC"),
        LeadSort::Account => "a.name COLLATE NOCASE, l.score DESC".into(),
        LeadSort::Type => "l.lead_type, l.score DESC".into(),
        LeadSort::DaysPastEol => "l.days_since_eol IS NULL, l.days_since_eol DESC".into(),
    };
    let mut sql = format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id",
        lead_columns()
    );
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    // The id breaks ties so the order is the same on every run.
    sql = format!("{sql} ORDER BY {order}, l.lead_id");
    if let Some(n) = f.limit {
        sql = format!("{sql} LIMIT {n}");
    }
    (sql, args)
}

/// [`leads`] one at a time, in the same order, for output that streams: every lead of a
/// million-row database held at once took gigabytes. Stops at the first error `visit` returns.
pub fn each_lead(
    conn: &Connection,
    f: &LeadFilter,
    mut visit: impl FnMut(Lead) -> Result<()>,
) -> Result<()> {
    let (sql, args) = lead_query(f);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        visit(lead_from_row(r)?)?;
    }
    Ok(())
}

/// Builds a [`Lead`] from a row selected with [`lead_columns`].
pub fn lead_from_row(r: &Row<'_>) -> rusqlite::Result<Lead> {
    let mut lead = Lead::default();
    let mut at = 0;
    for c in columns::read(LEAD_COLUMNS) {
        let value = r.get_ref(at)?;
        if let Some(read) = c.read {
            read(&mut lead, cell(value)).map_err(|WrongType| {
                rusqlite::Error::InvalidColumnType(at, c.name.into(), value.data_type())
            })?;
        }
        at += 1;
    }
    lead.account_name = r.get(at)?;
    // The column holds the trigger's own reasons; the factors' follow, named.
    let named: Vec<String> = lead
        .factors
        .iter()
        .flat_map(|(name, f)| f.reasons.iter().map(move |r| format!("{name}: {r}")))
        .collect();
    lead.reasons.extend(named);
    Ok(lead)
}

/// Active lead counts per (lead type, priority).
pub fn counts_by_type_priority(conn: &Connection) -> Result<Vec<(String, String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT lead_type, priority, count(*) FROM leads WHERE active = 1
         GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
