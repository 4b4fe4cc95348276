//! Read queries the views share. Filters become SQL `WHERE` clauses with bound parameters, so
//! they use the indexes and never interpolate user text.

use rusqlite::{Connection, Row, params_from_iter};

use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::read::{LeadFilter, LeadSort};

const PRIORITY_RANK: &str = "CASE l.priority WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 \
                             WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END";

/// The SELECT list that [`lead_from_row`] reads.
pub const LEAD_COLUMNS: &str = "l.lead_id, l.lead_type, l.rule, l.priority, l.score, l.factors,
    l.reasons, l.title, l.description, l.recommended_action, l.account_id, a.name,
    l.territory_id, l.install_base_id, l.serial_number, l.product_name, l.product_family,
    l.days_since_eol, l.recommended_services, l.recommended_skus, l.extra, l.status, l.active,
    l.created_at, l.updated_at";

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
        "SELECT {LEAD_COLUMNS} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id"
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

fn from_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

/// Builds a [`Lead`] from a row selected with [`LEAD_COLUMNS`].
pub fn lead_from_row(r: &Row<'_>) -> rusqlite::Result<Lead> {
    let skus: String = r.get(19)?;
    let factors: std::collections::BTreeMap<String, crate::model::lead::Factor> =
        from_json(&r.get::<_, String>(5)?);
    // The column holds the trigger's own reasons; the factors' follow, named.
    let mut reasons: Vec<String> = from_json(&r.get::<_, String>(6)?);
    for (name, f) in &factors {
        reasons.extend(f.reasons.iter().map(|r| format!("{name}: {r}")));
    }
    Ok(Lead {
        lead_id: r.get(0)?,
        lead_type: r.get(1)?,
        rule: r.get(2)?,
        priority: r.get(3)?,
        score: r.get(4)?,
        factors,
        reasons,
        title: r.get(7)?,
        description: r.get(8)?,
        recommended_action: r.get(9)?,
        account_id: r.get(10)?,
        account_name: r.get(11)?,
        territory_id: r.get(12)?,
        install_base_id: r.get(13)?,
        serial_number: r.get(14)?,
        product_name: r.get(15)?,
        product_family: r.get(16)?,
        days_since_eol: r.get(17)?,
        recommended_services: from_json(&r.get::<_, String>(18)?),
        recommended_skus: skus
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        extra: from_json(&r.get::<_, String>(20)?),
        status: r.get(21)?,
        active: r.get(22)?,
        created_at: r.get(23)?,
        updated_at: r.get(24)?,
    })
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
