//! Accounts: the names the rebuild reads, writing the planned accounts and filing every data
//! row under its account, and the per-account aggregates rules see.

use std::collections::HashMap;
use std::fmt::Write as _;

use rusqlite::{Connection, params};

use super::SqliteTx;
use super::load::{all_empty, sorting};
use crate::error::Result;
use crate::model::account::{AccountFacts, AccountPlan, Fact, NameRows, TerritoryRows};
use crate::store::api::Accounts;

/// The tables whose rows without a territory are linked to accounts by name: (table, name
/// column, temp table of name → account links), in the order of the plan's links.
const LINKED: [(&str, &str, &str); 3] = [
    ("projects", "customer", "temp.links_projects"),
    ("opportunities", "account_name", "temp.links_opportunities"),
    ("service_credits", "customer", "temp.links_credits"),
];

/// Reads the names from the data tables.
pub fn read_names(conn: &Connection) -> Result<NameRows> {
    let pairs = |sql: &str| -> Result<TerritoryRows> {
        Ok(conn
            .prepare(sql)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?)
    };
    Ok(NameRows {
        territories: [
            (
                "install_base",
                pairs(
                    "SELECT territory_id, account_name, count(*) FROM install_base
                     WHERE territory_id IS NOT NULL GROUP BY 1, 2",
                )?,
            ),
            (
                "opportunities",
                pairs(
                    "SELECT territory_id, account_name, count(*) FROM opportunities
                     WHERE territory_id IS NOT NULL GROUP BY 1, 2",
                )?,
            ),
            (
                "projects",
                pairs(
                    "SELECT territory_id, customer, count(*) FROM projects
                     WHERE territory_id IS NOT NULL GROUP BY 1, 2",
                )?,
            ),
        ],
        project_names: conn
            .prepare(
                "SELECT customer, max(customer_id), st_name, count(*) FROM projects
                 WHERE territory_id IS NULL AND customer IS NOT NULL GROUP BY customer, st_name
                 ORDER BY count(*) DESC, customer",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?,
        opportunity_names: conn
            .prepare(
                "SELECT account_name, count(*) FROM opportunities
                 WHERE territory_id IS NULL AND account_name IS NOT NULL GROUP BY 1",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?,
        credit_customers: conn
            .prepare(
                "SELECT customer FROM service_credits WHERE customer IS NOT NULL
                 GROUP BY customer",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?,
    })
}

/// Replaces `accounts` and `account_aliases` with the plan's; returns the alias rows written.
fn write_accounts(conn: &Connection, plan: &AccountPlan) -> Result<usize> {
    conn.execute_batch("DELETE FROM account_aliases; DELETE FROM accounts;")?;
    let mut ins = conn.prepare(
        "INSERT INTO accounts (account_id, name, normalized_name, territory_id, territory_name,
         name_source) VALUES (?1,?2,?3,?4,?5,?6)",
    )?;
    for a in &plan.accounts {
        ins.execute(params![
            a.id,
            a.name,
            a.key,
            a.territory,
            a.territory_name,
            a.source
        ])?;
    }
    let mut ins = conn.prepare(
        "INSERT OR IGNORE INTO account_aliases (alias, normalized, account_id, method,
         similarity, source_table, occurrences) VALUES (?1,?2,?3,?4,?5,?6,?7)",
    )?;
    let mut aliases = 0;
    for a in &plan.aliases {
        aliases += ins.execute(params![
            a.text,
            a.key,
            a.account,
            a.method,
            a.similarity,
            a.table,
            a.occurrences
        ])?;
    }
    Ok(aliases)
}

/// Sets `account_id` on every data table. `fresh`: the data tables were empty when the
/// transaction began and every row since was written by the load's writer, which files
/// territory rows under their account already.
fn file_rows(conn: &Connection, plan: &AccountPlan, fresh: bool) -> Result<()> {
    stage_links(conn, plan)?;
    conn.execute_batch(&filing_sql(fresh))?;
    Ok(())
}

/// Fills the temp tables of links `file_rows` reads: name → account per linked table, and
/// (territory, name) → account for the named accounts of a territory.
fn stage_links(conn: &Connection, plan: &AccountPlan) -> Result<()> {
    let links = [
        &plan.project_links,
        &plan.opportunity_links,
        &plan.credit_links,
    ];
    // One UPDATE per table, reading a temp table of name → account links, instead of one
    // full-table UPDATE per name, which made the rebuild quadratic (names × rows). A link
    // replaces an earlier one for the same name, as the per-name UPDATEs in order did.
    for ((_, _, table), links) in LINKED.iter().zip(links) {
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS {} (
                 name TEXT PRIMARY KEY, account_id TEXT NOT NULL) WITHOUT ROWID;
             DELETE FROM {table};",
            table.trim_start_matches("temp.")
        ))?;
        let mut ins = conn.prepare(&format!(
            "INSERT OR REPLACE INTO {table} (name, account_id) VALUES (?1, ?2)"
        ))?;
        for (name, account) in links {
            ins.execute(params![name, account])?;
        }
    }
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS links_territory (
             territory TEXT, name TEXT, account_id TEXT NOT NULL,
             PRIMARY KEY (territory, name)) WITHOUT ROWID;
         DELETE FROM temp.links_territory;",
    )?;
    let mut ins = conn.prepare(
        "INSERT OR REPLACE INTO temp.links_territory (territory, name, account_id)
         VALUES (?1, ?2, ?3)",
    )?;
    for (territory, name, account) in &plan.territory_links {
        ins.execute(params![territory, name, account])?;
    }
    Ok(())
}

/// The statements that file every data table's rows under their accounts from the staged
/// links, and empty the links after.
fn filing_sql(fresh: bool) -> String {
    // Each table in one pass. A row with a territory belongs to the territory's account of its
    // name, when it has one of its own (`temp.links_territory`), else to `ST-<territory>`; one
    // without takes the account last linked to its name, or none. Fresh tables were written
    // with the territory accounts already, so only the rows without a territory and those
    // linked by territory and name are visited, each with one lookup; otherwise only the rows
    // whose account changes are written.
    let mut sql = String::new();
    if !fresh {
        sql.push_str(
            "UPDATE install_base SET account_id = 'ST-' || territory_id
               WHERE account_id IS NOT ('ST-' || territory_id);\n",
        );
    }
    for (table, column, links) in LINKED {
        let link = format!("(SELECT account_id FROM {links} WHERE name = {table}.{column})");
        let territory = table != "service_credits";
        let _ = if fresh {
            let only = if territory {
                let _ = writeln!(
                    sql,
                    "UPDATE {table} SET account_id = l.account_id FROM temp.links_territory l
                     WHERE l.territory = {table}.territory_id AND l.name = {table}.{column};"
                );
                "territory_id IS NULL AND "
            } else {
                ""
            };
            writeln!(
                sql,
                "UPDATE {table} SET account_id = {link} WHERE {only}{column} IS NOT NULL;"
            )
        } else {
            let account = if territory {
                format!(
                    "CASE WHEN territory_id IS NULL THEN {link} ELSE coalesce(
                       (SELECT account_id FROM temp.links_territory
                        WHERE territory = {table}.territory_id AND name = {table}.{column}),
                       'ST-' || territory_id) END"
                )
            } else {
                link
            };
            writeln!(
                sql,
                "UPDATE {table} SET account_id = {account} WHERE account_id IS NOT {account};"
            )
        };
        let _ = writeln!(sql, "DELETE FROM {links};");
    }
    sql.push_str("DELETE FROM temp.links_territory;");
    sql
}

/// A stored aggregate as rules see it: numbers and text as they are, anything else unknown.
fn fact(v: rusqlite::types::Value) -> Fact {
    match v {
        rusqlite::types::Value::Integer(i) => Fact::Int(i),
        rusqlite::types::Value::Text(s) => Fact::Text(s),
        _ => Fact::Null,
    }
}

/// Reads every account with its aggregates (one grouped query per source table, not per row).
pub fn account_facts(conn: &Connection) -> Result<Vec<AccountFacts>> {
    type Set = fn(&mut AccountFacts, Vec<Fact>);
    let mut accounts: Vec<AccountFacts> = Vec::new();
    let mut stmt = conn.prepare("SELECT account_id, name, territory_id FROM accounts")?;
    for row in stmt.query_map([], |r| {
        Ok(AccountFacts::new(r.get(0)?, r.get(1)?, r.get(2)?))
    })? {
        accounts.push(row?);
    }
    let index: HashMap<String, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.account_id.clone(), i))
        .collect();
    // Each query returns the account id then one column per aggregate.
    let mut set = |sql: &str, put: Set| -> Result<()> {
        let mut stmt = conn.prepare(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let Some(&i) = index.get(&id) else { continue };
            let values = (1..n)
                .map(|c| r.get(c).map(fact))
                .collect::<rusqlite::Result<_>>()?;
            put(&mut accounts[i], values);
        }
        Ok(())
    };
    // Counts alone come from the account indexes. Aggregates of other columns scan the table
    // once (`NOT INDEXED`) and sort, instead of visiting every row in account order through
    // the index: 3 s → 1 s at a million install-base rows, before evaluation can start. Nothing
    // else runs yet, so the sorts get every core (`load::sorting`): 0.8 s → 0.4 s of that.
    sorting(conn, || {
        set(
            "SELECT account_id, count(*) FROM install_base WHERE account_id IS NOT NULL GROUP BY 1",
            |a, mut v| a.install_base_count = v.remove(0),
        )?;
        set(
            "SELECT account_id, count(*) FROM opportunities WHERE account_id IS NOT NULL GROUP BY 1",
            |a, mut v| a.opportunity_count = v.remove(0),
        )?;
        set(
            "SELECT account_id, count(*), count(CASE WHEN upper(system_status) = 'CLSD' THEN 1 END),
               max(end_date)
             FROM projects NOT INDEXED WHERE account_id IS NOT NULL GROUP BY 1",
            |a, v| {
                let mut v = v.into_iter();
                a.project_count = v.next().unwrap_or(Fact::Null);
                a.closed_project_count = v.next().unwrap_or(Fact::Null);
                a.last_project_end = v.next().unwrap_or(Fact::Null);
            },
        )?;
        set(
            "SELECT account_id, coalesce(sum(active), 0) FROM service_credits NOT INDEXED
         WHERE account_id IS NOT NULL GROUP BY 1",
            |a, mut v| a.active_credits = v.remove(0),
        )?;
        // The typical project size: the most common known size; ties go to the larger size so the
        // answer never depends on hash order (the original's did).
        set(
            "SELECT account_id, size_category FROM (
           SELECT account_id, size_category,
             row_number() OVER (PARTITION BY account_id ORDER BY count(*) DESC,
               CASE size_category WHEN '>$5M' THEN 5 WHEN '$1M-$5M' THEN 4 WHEN '$500k-$1M' THEN 3
               WHEN '$50k-$500k' THEN 2 WHEN '<$50k' THEN 1 ELSE 0 END DESC) AS pick
           FROM projects NOT INDEXED WHERE account_id IS NOT NULL AND size_category IS NOT NULL
           GROUP BY account_id, size_category) WHERE pick = 1",
            |a, mut v| a.project_size_category = v.remove(0),
        )
    })?;
    Ok(accounts)
}

impl Accounts for SqliteTx<'_> {
    fn account_sources_empty(&mut self) -> Result<bool> {
        all_empty(self.conn, crate::store::ACCOUNT_SOURCES)
    }

    fn account_names(&mut self) -> Result<NameRows> {
        read_names(self.conn)
    }

    fn write_accounts(&mut self, plan: &AccountPlan, fresh: bool) -> Result<usize> {
        let aliases = write_accounts(self.conn, plan)?;
        file_rows(self.conn, plan, fresh)?;
        Ok(aliases)
    }

    fn account_facts(&mut self) -> Result<Vec<AccountFacts>> {
        account_facts(self.conn)
    }
}
