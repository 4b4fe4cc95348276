//! The lead desk's reads on PostgreSQL (as `store/sqlite/views/query.rs` has them on SQLite):
//! capped counts and ids of a filter's leads, the leads of a page's assets, and the workflow
//! state the journal checks a change against.

use postgres::Client;

use super::query::{Arg, conditions, lead_from_row};
use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::columns;
use crate::store::read::{LeadFilter, WorkflowSnapshot, WorkflowState};

/// `SELECT {what}` over the leads matching `f`, its limit and cursor aside.
fn matching(f: &LeadFilter, what: &str) -> (String, Vec<Arg>) {
    let all = LeadFilter {
        after: None,
        limit: None,
        ..f.clone()
    };
    let (clauses, args) = conditions(&all);
    let mut sql =
        format!("SELECT {what} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    (sql, args)
}

/// See [`crate::store::read::Reads::count_capped`].
pub fn count_capped(client: &mut Client, f: &LeadFilter, cap: usize) -> Result<usize> {
    let (sql, args) = matching(f, "1");
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let refs: Vec<_> = args.iter().map(Arg::sql).collect();
    let n: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM ({sql} LIMIT {cap}) capped"),
            &refs,
        )?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// See [`crate::store::read::Reads::lead_ids`].
pub fn lead_ids(client: &mut Client, f: &LeadFilter) -> Result<Vec<String>> {
    let (sql, args) = matching(f, "l.lead_id");
    let refs: Vec<_> = args.iter().map(Arg::sql).collect();
    client
        .query(&sql, &refs)?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// See [`crate::store::read::Reads::leads_of_assets`]: through the account's leads
/// (`leads_account_score`).
pub fn leads_of_assets(client: &mut Client, assets: &[(Option<String>, i64)]) -> Result<Vec<Lead>> {
    let stmt = client.prepare(&format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.account_id IS NOT DISTINCT FROM $1 AND l.active = 1 AND l.install_base_id = $2
         ORDER BY l.score DESC, l.lead_id",
        columns::select_list()
    ))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (account, asset) in assets {
        if seen.insert((account, asset)) {
            for r in client.query(&stmt, &[account, asset])? {
                out.push(lead_from_row(&r)?);
            }
        }
    }
    Ok(out)
}

/// See [`crate::store::read::Reads::workflow_of`]: one snapshot (a repeatable-read
/// transaction).
pub fn workflow_of(client: &mut Client, ids: &[String], mark: &str) -> Result<WorkflowSnapshot> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let mark: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&mark])?
        .map(|r| r.try_get(0))
        .transpose()?;
    let stmt = tx.prepare("SELECT lead_id, status, owner FROM lead_rows WHERE lead_id = $1")?;
    let mut leads = Vec::with_capacity(ids.len());
    for id in ids {
        let found = match tx.query_opt(&stmt, &[id])? {
            Some(r) => Some(WorkflowState {
                lead_id: r.try_get(0)?,
                status: r.try_get(1)?,
                owner: r.try_get(2)?,
            }),
            None => None,
        };
        leads.push(found);
    }
    tx.commit()?;
    Ok(WorkflowSnapshot { leads, mark })
}

/// A `meta` value.
pub fn meta(client: &mut Client, key: &str) -> Result<Option<String>> {
    Ok(client
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
        .map(|r| r.try_get(0))
        .transpose()?)
}
