//! Read queries the views share. Filters become SQL `WHERE` clauses with bound parameters, so
//! they use the indexes and never interpolate user text; the orders are SQLite's (text sorts
//! by bytes, `COLLATE "C"`), so both backends list leads alike.

use fallible_iterator::FallibleIterator;
use postgres::Client;
use postgres_types::ToSql;

use crate::error::{Error, Result};
use crate::model::lead::Lead;
use crate::store::columns;
use crate::store::keyset::{self, Cursor};
use crate::store::postgres::lead_columns::cell;
use crate::store::read::{LeadFilter, LeadSort};

const PRIORITY_RANK: &str = "CASE l.priority WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 \
                             WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END";

/// A bound value of the lead query.
#[derive(Debug)]
pub enum Arg {
    Text(String),
    Texts(Vec<String>),
    Float(f64),
    Int(i64),
}

impl Arg {
    /// The value, to bind.
    pub fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(s) => s,
            Arg::Texts(v) => v,
            Arg::Float(f) => f,
            Arg::Int(i) => i,
        }
    }
}

/// ASCII letters folded to lower case, as SQLite's `NOCASE` compares.
const FOLD: &str = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'";

/// The `WHERE` conditions of `f` (over `leads l` joined with `accounts a`) and their
/// parameters.
pub fn conditions(f: &LeadFilter) -> (Vec<String>, Vec<Arg>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    if !f.include_inactive {
        clauses.push("l.active = 1".into());
    }
    if let Some(t) = &f.lead_type {
        clauses.push(format!(
            "strpos(lower(l.lead_type), lower({})) > 0",
            arg(Arg::Text(t.clone()))
        ));
    }
    if !f.priorities.is_empty() {
        let list: Vec<String> = f
            .priorities
            .iter()
            .map(|p| arg(Arg::Text(p.to_uppercase())))
            .collect();
        clauses.push(format!("l.priority IN ({})", list.join(",")));
    }
    if let Some(s) = f.min_score {
        clauses.push(format!("l.score >= {}", arg(Arg::Float(s))));
    }
    if let Some(t) = &f.territory {
        clauses.push(format!("l.territory_id = {}", arg(Arg::Text(t.clone()))));
    }
    if let Some(a) = &f.account {
        let p = arg(Arg::Text(a.clone()));
        clauses.push(format!(
            "(l.account_id = {p} OR strpos(lower(a.name), lower({p})) > 0
              OR strpos(a.normalized_name, lower({p})) > 0
              OR l.account_id IN (SELECT account_id FROM account_aliases
                                  WHERE strpos(lower(alias), lower({p})) > 0))"
        ));
    }
    if let Some(fam) = &f.family {
        clauses.push(format!(
            "upper(l.product_family) = upper({})",
            arg(Arg::Text(fam.clone()))
        ));
    }
    if let Some(names) = f.statuses.names() {
        let list: Vec<String> = names.iter().map(|s| arg(Arg::Text(s.clone()))).collect();
        let stored = format!("lower(l.status) IN ({})", list.join(","));
        clauses.push(overlaid(stored, f.overlay.status_sets(&names), &mut arg));
    }
    if let Some(o) = &f.owner {
        let stored = format!("l.owner = {}", arg(Arg::Text(o.clone())));
        clauses.push(overlaid(stored, f.overlay.owner_sets(o), &mut arg));
    }
    if let Some(d) = f.new_since {
        // Stored times are `YYYY-MM-DDTHH:MM:SSZ`, so a bare date compares as its midnight.
        clauses.push(format!("l.created_at >= {}", arg(Arg::Text(d.to_string()))));
    }
    if let Some(days) = f.older_than_days {
        clauses.push(format!(
            "l.updated_at < to_char(now() AT TIME ZONE 'UTC' - make_interval(days => ({}::bigint)::int),
               'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            arg(Arg::Int(days))
        ));
    }
    if let Some(c) = f.after.as_ref().filter(|c| c.sort == f.sort) {
        clauses.push(after(c, &mut arg));
    }
    (clauses, args)
}

/// A condition on a workflow column with the pending changes laid over it (see
/// [`crate::store::read::Overlay`]), as on SQLite.
fn overlaid(
    stored: String,
    (changed, matching): (Vec<&str>, Vec<&str>),
    arg: &mut impl FnMut(Arg) -> String,
) -> String {
    if changed.is_empty() {
        return stored;
    }
    let ids = |v: Vec<&str>| Arg::Texts(v.into_iter().map(str::to_string).collect());
    let mut c = format!(
        "({stored} AND l.lead_id <> ALL({}::text[]))",
        arg(ids(changed))
    );
    if !matching.is_empty() {
        c = format!("({c} OR l.lead_id = ANY({}::text[]))", arg(ids(matching)));
    }
    c
}

/// The condition "comes after this cursor" (see `store::keyset`), mirroring each sort's
/// `ORDER BY` exactly, NULLs included.
fn after(c: &Cursor, arg: &mut impl FnMut(Arg) -> String) -> String {
    let head = match &c.head {
        keyset::Value::Null => None,
        keyset::Value::Integer(i) => Some(Arg::Int(*i)),
        keyset::Value::Text(t) => Some(Arg::Text(t.clone())),
    };
    let id = arg(Arg::Text(c.lead_id.clone()));
    if c.sort == LeadSort::DaysPastEol {
        return match head {
            None => format!("(l.days_since_eol IS NULL AND l.lead_id > {id})"),
            Some(h) => {
                let d = arg(h);
                format!(
                    "(l.days_since_eol IS NULL OR l.days_since_eol < {d}::bigint
                      OR (l.days_since_eol = {d}::bigint AND l.lead_id > {id}))"
                )
            }
        };
    }
    let s = arg(Arg::Float(c.score));
    let by_score =
        format!("(l.score < {s}::float8 OR (l.score = {s}::float8 AND l.lead_id > {id}))");
    match (c.sort, head) {
        (LeadSort::Score | LeadSort::DaysPastEol, _) | (LeadSort::Priority, None) => {
            format!("(l.score <= {s}::float8 AND {by_score})")
        }
        (LeadSort::Priority, Some(h)) => {
            let r = arg(h);
            format!(
                "({PRIORITY_RANK} > {r}::bigint OR ({PRIORITY_RANK} = {r}::bigint AND {by_score}))"
            )
        }
        (LeadSort::Account, None) => format!("(a.name IS NOT NULL OR {by_score})"),
        (LeadSort::Account, Some(h)) => {
            let n = arg(h);
            format!(
                "(a.name IS NOT NULL AND (translate(a.name, {FOLD}) > translate({n}, {FOLD})
                  OR (translate(a.name, {FOLD}) = translate({n}, {FOLD}) AND {by_score})))"
            )
        }
        (LeadSort::Type, None) => by_score,
        (LeadSort::Type, Some(h)) => {
            let t = arg(h);
            format!("(l.lead_type > {t} OR (l.lead_type = {t} AND {by_score}))")
        }
    }
}

/// The statement that selects the leads matching `f`, in its order, and its parameters.
fn lead_query(f: &LeadFilter) -> (String, Vec<Arg>) {
    let (clauses, args) = conditions(f);
    let order = match f.sort {
        LeadSort::Score => "l.score DESC".to_string(),
        LeadSort::Priority => format!("{PRIORITY_RANK}, l.score DESC"),
        // SQLite's NOCASE folds ASCII letters only.
        LeadSort::Account => {
            "translate(a.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
             NULLS FIRST, l.score DESC"
                .into()
        }
        LeadSort::Type => "l.lead_type, l.score DESC".into(),
        LeadSort::DaysPastEol => "l.days_since_eol IS NULL, l.days_since_eol DESC".into(),
    };
    let mut sql = format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id",
        columns::select_list()
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

/// The leads matching `f`, one at a time, in order, streamed from the server.
pub fn each_lead(
    client: &mut Client,
    f: &LeadFilter,
    mut visit: impl FnMut(Lead) -> Result<()>,
) -> Result<()> {
    let (sql, args) = lead_query(f);
    let mut rows = client.query_raw(&sql, args.iter().map(Arg::sql))?;
    while let Some(r) = rows.next()? {
        let mut lead = lead_from_row(&r)?;
        f.overlay.apply(&mut lead);
        visit(lead)?;
    }
    Ok(())
}

/// Builds a [`Lead`] from a row selected with [`columns::select_list`].
pub fn lead_from_row(r: &postgres::Row) -> Result<Lead> {
    columns::read_lead(
        |at| cell(r, at),
        |at, c| {
            Error::Postgres(format!(
                "column {at} (`{}`) of a lead holds a value of the wrong type",
                c.name
            ))
        },
    )
}

/// Active lead counts per (lead type, priority).
pub fn counts_by_type_priority(client: &mut Client) -> Result<Vec<(String, String, i64)>> {
    client
        .query(
            "SELECT lead_type, priority, count(*) FROM lead_rows WHERE active = 1
             GROUP BY 1, 2 ORDER BY 1, 2",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}
