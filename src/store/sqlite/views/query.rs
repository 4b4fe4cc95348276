//! Read queries the views share. Filters become SQL `WHERE` clauses with bound parameters, so
//! they use the indexes and never interpolate user text.

use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use super::super::leads::cell;

use crate::error::Result;
use crate::model::lead::Lead;
use rusqlite::types::Value;

use crate::store::columns;
use crate::store::keyset::{self, Cursor};
use crate::store::read::{LeadFilter, LeadSort, WorkflowSnapshot, WorkflowState};

const PRIORITY_RANK: &str = "CASE l.priority WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 \
                             WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END";

/// The SELECT list that [`lead_from_row`] reads: the declared lead columns a read fills the
/// lead from, in order, then the account's name (`accounts a`).
pub fn lead_columns() -> &'static str {
    columns::select_list()
}

/// How a `type` filter (a case-insensitive part of the name) is put to SQLite.
#[derive(Debug, Clone, PartialEq)]
enum TypeMatch {
    /// Compare each lead's type with the text.
    Part,
    /// The only lead type that contains the text: an equality, so `leads_type_score` walks
    /// that type's leads in score order instead of the whole queue's.
    One(String),
    /// No active lead's type contains the text: nothing to read.
    Nothing,
}

/// The distinct types of the active leads, in order: one index seek each, however many leads
/// there are.
fn active_types(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE t(x) AS (
           SELECT (SELECT min(lead_type) FROM lead_rows WHERE active = 1)
           UNION ALL
           SELECT (SELECT min(lead_type) FROM lead_rows WHERE active = 1 AND lead_type > x)
             FROM t WHERE x IS NOT NULL)
         SELECT x FROM t WHERE x IS NOT NULL",
    )?;
    let types = stmt.query_map([], |r| r.get(0))?;
    Ok(types.collect::<rusqlite::Result<_>>()?)
}

/// How `f`'s type filter is best put: a type filter matched against every lead walks the
/// score order until the page is full, which passes every lead of the other types ranked
/// above the first of this one (thousands at a million leads, all of them for a text no type
/// contains). The text is matched as the SQL does it (`instr(lower(..), lower(..))`: SQLite's
/// `lower` folds ASCII only).
fn type_match(conn: &Connection, f: &LeadFilter) -> Result<TypeMatch> {
    let Some(part) = f.lead_type.as_deref().filter(|_| !f.include_inactive) else {
        return Ok(TypeMatch::Part);
    };
    let part = part.to_ascii_lowercase();
    let mut hits = active_types(conn)?
        .into_iter()
        .filter(|t| t.to_ascii_lowercase().contains(&part));
    Ok(match (hits.next(), hits.next()) {
        (None, _) => TypeMatch::Nothing,
        (Some(one), None) => TypeMatch::One(one),
        (Some(_), Some(_)) => TypeMatch::Part,
    })
}

/// The `WHERE` conditions of `f` (over `leads l` joined with `accounts a`) and their
/// parameters, its type filter put as `types` says.
fn conditions(f: &LeadFilter, types: &TypeMatch) -> (Vec<String>, Vec<rusqlite::types::Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |v: String| {
        args.push(v.into());
        format!("?{}", args.len())
    };
    if !f.include_inactive {
        clauses.push("l.active = 1".into());
    }
    match (&f.lead_type, types) {
        (None, _) => {}
        (Some(_), TypeMatch::Nothing) => clauses.push("0".into()),
        (Some(_), TypeMatch::One(t)) => clauses.push(format!("l.lead_type = {}", arg(t.clone()))),
        (Some(t), TypeMatch::Part) => clauses.push(format!(
            "instr(lower(l.lead_type), lower({})) > 0",
            arg(t.clone())
        )),
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
    if let Some(names) = f.statuses.names() {
        let sets = f.overlay.status_sets(&names);
        let list: Vec<String> = names.into_iter().map(&mut arg).collect();
        let stored = format!("lower(l.status) IN ({})", list.join(","));
        clauses.push(overlaid(stored, sets, &mut arg));
    }
    if let Some(o) = &f.owner {
        let stored = format!("l.owner = {}", arg(o.clone()));
        clauses.push(overlaid(stored, f.overlay.owner_sets(o), &mut arg));
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
    if let Some(c) = f.after.as_ref().filter(|c| c.sort == f.sort) {
        clauses.push(after(c, &mut args));
    }
    (clauses, args)
}

/// A condition on a workflow column with the pending changes laid over it (see
/// [`crate::store::read::Overlay`]): the stored value decides for the leads without a pending
/// one, and the leads whose pending value matches are in. Without pending changes it is the
/// plain condition, so the indexes serve it as before.
fn overlaid(
    stored: String,
    (changed, matching): (Vec<&str>, Vec<&str>),
    arg: &mut impl FnMut(String) -> String,
) -> String {
    if changed.is_empty() {
        return stored;
    }
    let ids = |v: Vec<&str>| serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    let mut c = format!(
        "({stored} AND l.lead_id NOT IN (SELECT value FROM json_each({})))",
        arg(ids(changed))
    );
    if !matching.is_empty() {
        c = format!(
            "({c} OR l.lead_id IN (SELECT value FROM json_each({})))",
            arg(ids(matching))
        );
    }
    c
}

/// The condition "comes after this cursor" (see `store::keyset`), mirroring each sort's
/// `ORDER BY` exactly, NULLs included; its values appended to `args`.
fn after(c: &Cursor, args: &mut Vec<Value>) -> String {
    let mut arg = |v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    let head = match &c.head {
        keyset::Value::Null => Value::Null,
        keyset::Value::Integer(i) => Value::Integer(*i),
        keyset::Value::Text(t) => Value::Text(t.clone()),
    };
    let id = arg(Value::Text(c.lead_id.clone()));
    if c.sort == LeadSort::DaysPastEol {
        return if head == Value::Null {
            format!("(l.days_since_eol IS NULL AND l.lead_id > {id})")
        } else {
            let d = arg(head);
            format!(
                "(l.days_since_eol IS NULL OR l.days_since_eol < {d}
                  OR (l.days_since_eol = {d} AND l.lead_id > {id}))"
            )
        };
    }
    let s = arg(Value::Real(c.score));
    // The redundant `score <= s` lets the score index start at the cursor.
    let by_score = format!("(l.score < {s} OR (l.score = {s} AND l.lead_id > {id}))");
    match (c.sort, head) {
        (LeadSort::Score | LeadSort::DaysPastEol, _) => format!("(l.score <= {s} AND {by_score})"),
        (LeadSort::Priority, h) => {
            let r = arg(h);
            format!("({PRIORITY_RANK} > {r} OR ({PRIORITY_RANK} = {r} AND {by_score}))")
        }
        (LeadSort::Account, Value::Null) => format!("(a.name IS NOT NULL OR {by_score})"),
        (LeadSort::Account, h) => {
            let n = arg(h);
            format!(
                "(a.name IS NOT NULL AND (a.name > {n} COLLATE NOCASE
                  OR (a.name = {n} COLLATE NOCASE AND {by_score})))"
            )
        }
        (LeadSort::Type, h) => {
            let t = arg(h);
            format!("(l.lead_type > {t} OR (l.lead_type = {t} AND {by_score}))")
        }
    }
}

/// The statement that selects the leads matching `f`, in its order, and its parameters.
fn lead_query(f: &LeadFilter, types: &TypeMatch) -> (String, Vec<rusqlite::types::Value>) {
    let (clauses, args) = conditions(f, types);
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
    let (sql, args) = lead_query(f, &type_match(conn, f)?);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let mut lead = lead_from_row(r)?;
        f.overlay.apply(&mut lead);
        visit(lead)?;
    }
    Ok(())
}

/// `SELECT {what}` over the leads matching `f`, its limit and cursor aside.
fn matching(f: &LeadFilter, types: &TypeMatch, what: &str) -> (String, Vec<Value>) {
    let all = LeadFilter {
        after: None,
        limit: None,
        ..f.clone()
    };
    let (clauses, args) = conditions(&all, types);
    let mut sql =
        format!("SELECT {what} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    (sql, args)
}

/// See [`crate::store::read::Reads::count_capped`].
pub fn count_capped(conn: &Connection, f: &LeadFilter, cap: usize) -> Result<usize> {
    let (sql, args) = matching(f, &type_match(conn, f)?, "1");
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM ({sql} LIMIT {cap})"),
        params_from_iter(args),
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// See [`crate::store::read::Reads::lead_ids`].
pub fn lead_ids(conn: &Connection, f: &LeadFilter) -> Result<Vec<String>> {
    let (sql, args) = matching(f, &type_match(conn, f)?, "l.lead_id");
    let mut stmt = conn.prepare(&sql)?;
    let ids = stmt.query_map(params_from_iter(args), |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// See [`crate::store::read::Reads::leads_of_assets`]: through the account's leads
/// (`leads_account_score`), so an asset's leads on other pages are found without a scan.
pub fn leads_of_assets(conn: &Connection, assets: &[(Option<String>, i64)]) -> Result<Vec<Lead>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.account_id IS ?1 AND l.active = 1 AND l.install_base_id = ?2
         ORDER BY l.score DESC, l.lead_id",
        lead_columns()
    ))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (account, asset) in assets {
        if seen.insert((account, asset)) {
            for l in stmt.query_map(rusqlite::params![account, asset], lead_from_row)? {
                out.push(l?);
            }
        }
    }
    Ok(out)
}

/// See [`crate::store::read::Reads::workflow_of`]: one read transaction.
pub fn workflow_of(conn: &Connection, ids: &[String], mark: &str) -> Result<WorkflowSnapshot> {
    let tx = conn.unchecked_transaction()?;
    let mark: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [mark], |r| {
            r.get(0)
        })
        .optional()?;
    let mut stmt =
        tx.prepare_cached("SELECT lead_id, status, owner FROM lead_rows WHERE lead_id = ?1")?;
    let mut leads = Vec::with_capacity(ids.len());
    for id in ids {
        let found = stmt
            .query_row([id], |r| {
                Ok(WorkflowState {
                    lead_id: r.get(0)?,
                    status: r.get(1)?,
                    owner: r.get(2)?,
                })
            })
            .optional()?;
        leads.push(found);
    }
    drop(stmt);
    tx.finish()?;
    Ok(WorkflowSnapshot { leads, mark })
}

/// Builds a [`Lead`] from a row selected with [`lead_columns`].
pub fn lead_from_row(r: &Row<'_>) -> rusqlite::Result<Lead> {
    columns::read_lead(
        |at| r.get_ref(at).map(cell),
        |at, c| {
            let ty = r
                .get_ref(at)
                .map_or(rusqlite::types::Type::Null, |v| v.data_type());
            rusqlite::Error::InvalidColumnType(at, c.name.into(), ty)
        },
    )
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

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::store::sqlite::testdb;

    /// SQLite's plan for the queue's statement under `f`, one line per step.
    fn plan(conn: &Connection, f: &LeadFilter) -> String {
        let (sql, args) = lead_query(f, &type_match(conn, f).unwrap());
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asserts that `first` and a deep page after it (a score cursor) both read `index` in
    /// the queue's order: no sort of what it finds.
    fn walks_in_order(first: LeadFilter, index: &str) {
        let (_d, store) = testdb::build();
        let deep = LeadFilter {
            after: Some(Cursor {
                sort: LeadSort::Score,
                head: keyset::Value::Null,
                score: 50.0,
                lead_id: "AAAA0001".into(),
            }),
            ..first.clone()
        };
        for f in [first, deep] {
            let p = plan(&store.conn, &f);
            assert!(p.contains(&format!("USING INDEX {index}")), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "{p}");
        }
    }

    /// A page of one territory, first or deep, walks that territory's leads in score order:
    /// no sort, no walk through every active lead (most territories hold a few of a million).
    #[test]
    fn a_territory_page_walks_its_own_index_in_order() {
        let first = LeadFilter {
            territory: Some("T1".into()),
            limit: Some(50),
            ..LeadFilter::default()
        };
        walks_in_order(first, "leads_territory_score");
    }

    /// The whole queue, first or deep, is read in its order from `leads_score_id`: no sort of
    /// every lead that shares the page's last score (thousands at a million leads), and the
    /// cursor is a seek.
    #[test]
    fn the_queue_walks_the_score_index_in_order() {
        let first = LeadFilter {
            limit: Some(50),
            ..LeadFilter::default()
        };
        walks_in_order(first, "leads_score_id");
    }

    /// A page of the one type a `type` filter names (in any case, in part) walks that type's
    /// leads in score order: a type whose best leads rank below another's must not walk past
    /// those first.
    #[test]
    fn a_type_page_walks_its_own_index_in_order() {
        let first = LeadFilter {
            lead_type: Some("rENEWAL".into()),
            limit: Some(50),
            ..LeadFilter::default()
        };
        walks_in_order(first, "leads_type_score");
    }

    /// Whatever way the type filter is put to SQLite (one type, a part of several, a part of
    /// none), it finds exactly the leads whose type contains the text, in the queue's order.
    #[test]
    fn a_type_filter_finds_the_leads_whose_type_contains_it() {
        let (_d, store) = testdb::build();
        let all = LeadFilter::default();
        let mut every = Vec::new();
        each_lead(&store.conn, &all, |l| {
            every.push(l);
            Ok(())
        })
        .unwrap();
        let types: std::collections::BTreeSet<&str> =
            every.iter().map(|l| l.lead_type.as_str()).collect();
        assert!(types.len() > 1, "{types:?}");
        for (part, how) in [
            (
                "renewal",
                TypeMatch::One("Renewal - Expired Support".into()),
            ),
            (
                "HARDWARE refresh",
                TypeMatch::One("Hardware Refresh - EOL Equipment".into()),
            ),
            (" - E", TypeMatch::Part),
            ("no such type", TypeMatch::Nothing),
        ] {
            let f = LeadFilter {
                lead_type: Some(part.into()),
                ..LeadFilter::default()
            };
            assert_eq!(type_match(&store.conn, &f).unwrap(), how, "{part}");
            let mut found = Vec::new();
            each_lead(&store.conn, &f, |l| {
                found.push(l.lead_id);
                Ok(())
            })
            .unwrap();
            let expected: Vec<String> = every
                .iter()
                .filter(|l| l.lead_type.to_lowercase().contains(&part.to_lowercase()))
                .map(|l| l.lead_id.clone())
                .collect();
            assert_eq!(found, expected, "{part}");
            assert_eq!(count_capped(&store.conn, &f, 1000).unwrap(), expected.len());
            assert_eq!(lead_ids(&store.conn, &f).unwrap().len(), expected.len());
        }
    }

    /// One priority's page walks that priority's leads in score order: the critical leads
    /// fill the top of the score order, so a page of high ones must not walk past them.
    #[test]
    fn a_priority_page_walks_its_own_index_in_order() {
        let first = LeadFilter {
            priorities: vec!["HIGH".into()],
            limit: Some(50),
            ..LeadFilter::default()
        };
        walks_in_order(first, "leads_priority_score");
    }
}
