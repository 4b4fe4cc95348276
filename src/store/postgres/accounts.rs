//! Accounts: the names the rebuild reads, writing the planned accounts and filing every data
//! row under its account, and the per-account aggregates rules see. Every order is explicit:
//! PostgreSQL's `GROUP BY` does not sort, SQLite's happens to.

use std::collections::HashMap;
use std::fmt::Write as _;

use postgres::Transaction;

use super::PgTx;
use super::load::all_empty;
use crate::error::Result;
use crate::model::account::{AccountFacts, AccountPlan, Fact, NameRows, TerritoryRows};
use crate::store::api::Accounts;

/// The tables whose rows without a territory are linked to accounts by name: (table, name
/// column, temporary table of name → account links), in the order of the plan's links.
const LINKED: [(&str, &str, &str); 3] = [
    ("projects", "customer", "links_projects"),
    ("opportunities", "account_name", "links_opportunities"),
    ("service_credits", "customer", "links_credits"),
];

/// Reads the names from the data tables.
fn read_names(tx: &mut Transaction<'_>) -> Result<NameRows> {
    let mut pairs = |sql: &str| -> Result<TerritoryRows> {
        tx.query(sql, &[])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    };
    let territories = [
        (
            "install_base",
            pairs(
                "SELECT territory_id, account_name, count(*) FROM install_base
                 WHERE territory_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
            )?,
        ),
        (
            "opportunities",
            pairs(
                "SELECT territory_id, account_name, count(*) FROM opportunities
                 WHERE territory_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
            )?,
        ),
        (
            "projects",
            pairs(
                "SELECT territory_id, customer, count(*) FROM projects
                 WHERE territory_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
            )?,
        ),
    ];
    let project_names = tx
        .query(
            "SELECT customer, max(customer_id), st_name, count(*) FROM projects
             WHERE territory_id IS NULL AND customer IS NOT NULL GROUP BY customer, st_name
             ORDER BY count(*) DESC, customer, st_name NULLS FIRST",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_>>()?;
    let opportunity_names = tx
        .query(
            "SELECT account_name, count(*) FROM opportunities
             WHERE territory_id IS NULL AND account_name IS NOT NULL GROUP BY 1 ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    let credit_customers = tx
        .query(
            "SELECT customer FROM service_credits WHERE customer IS NOT NULL
             GROUP BY customer ORDER BY customer",
            &[],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect::<Result<_>>()?;
    Ok(NameRows {
        territories,
        project_names,
        opportunity_names,
        credit_customers,
    })
}

/// Replaces `accounts` and `account_aliases` with the plan's; returns the alias rows written.
fn write_accounts(tx: &mut Transaction<'_>, plan: &AccountPlan) -> Result<usize> {
    tx.batch_execute("DELETE FROM account_aliases; DELETE FROM accounts;")?;
    let a = &plan.accounts;
    tx.execute(
        "INSERT INTO accounts (account_id, name, normalized_name, territory_id, territory_name,
           name_source)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
           $6::text[])",
        &[
            &a.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            &a.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            &a.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
            &a.iter().map(|a| a.territory.as_deref()).collect::<Vec<_>>(),
            &a.iter()
                .map(|a| a.territory_name.as_deref())
                .collect::<Vec<_>>(),
            &a.iter().map(|a| a.source).collect::<Vec<_>>(),
        ],
    )?;
    let a = &plan.aliases;
    // In plan order, so that of two aliases with one key the first is kept, as SQLite's
    // `INSERT OR IGNORE` row by row keeps it.
    let n = tx.execute(
        "INSERT INTO account_aliases (alias, normalized, account_id, method, similarity,
           source_table, occurrences)
         SELECT alias, normalized, account_id, method, similarity, source_table, occurrences
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[],
           $7::bigint[]) WITH ORDINALITY
           AS u(alias, normalized, account_id, method, similarity, source_table, occurrences, n)
         ORDER BY n
         ON CONFLICT DO NOTHING",
        &[
            &a.iter().map(|a| a.text.as_str()).collect::<Vec<_>>(),
            &a.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
            &a.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(),
            &a.iter().map(|a| a.method).collect::<Vec<_>>(),
            &a.iter().map(|a| a.similarity).collect::<Vec<f64>>(),
            &a.iter().map(|a| a.table).collect::<Vec<_>>(),
            &a.iter().map(|a| a.occurrences).collect::<Vec<i64>>(),
        ],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Sets `account_id` on every data table, as on SQLite: each table in one pass that reads a
/// temporary table of name → account links (the last link of a name wins). `fresh`: every row
/// was written by this transaction's load, which filed territory rows already.
fn file_rows(tx: &mut Transaction<'_>, plan: &AccountPlan, fresh: bool) -> Result<()> {
    let links = [
        &plan.project_links,
        &plan.opportunity_links,
        &plan.credit_links,
    ];
    for ((_, _, table), links) in LINKED.iter().zip(links) {
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS {table} (
                 name text COLLATE \"C\" PRIMARY KEY, account_id text NOT NULL) ON COMMIT DROP;
             DELETE FROM {table};"
        ))?;
        let names: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
        let accounts: Vec<&str> = links.iter().map(|(_, a)| a.as_str()).collect();
        tx.execute(
            &format!(
                "INSERT INTO {table} (name, account_id)
                 SELECT DISTINCT ON (name) name, account_id
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(name, account_id, n)
                 ORDER BY name, n DESC"
            ),
            &[&names, &accounts],
        )?;
    }
    // (territory, name) → account for the named accounts of a territory; the last link wins.
    tx.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS links_territory (
             territory text COLLATE \"C\", name text COLLATE \"C\",
             account_id text NOT NULL, PRIMARY KEY (territory, name)) ON COMMIT DROP;
         DELETE FROM links_territory;",
    )?;
    let (territories, rest): (Vec<&str>, Vec<(&str, &str)>) = plan
        .territory_links
        .iter()
        .map(|(t, n, a)| (t.as_str(), (n.as_str(), a.as_str())))
        .unzip();
    let (names, accounts): (Vec<&str>, Vec<&str>) = rest.into_iter().unzip();
    tx.execute(
        "INSERT INTO links_territory (territory, name, account_id)
         SELECT DISTINCT ON (territory, name) territory, name, account_id
         FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
           AS u(territory, name, account_id, n)
         ORDER BY territory, name, n DESC",
        &[&territories, &names, &accounts],
    )?;
    tx.batch_execute(&filing_sql(fresh))?;
    Ok(())
}

/// The statements of [`file_rows`]: a row with a territory belongs to the territory's account
/// of its name when it has one of its own (`links_territory`), else to `ST-<territory>`; one
/// without takes its name's link, or none. Only rows whose account changes are written.
fn filing_sql(fresh: bool) -> String {
    let mut sql = String::new();
    if !fresh {
        sql.push_str(
            "UPDATE install_base SET account_id = 'ST-' || territory_id
               WHERE account_id IS DISTINCT FROM ('ST-' || territory_id);\n",
        );
    }
    for (table, column, links) in LINKED {
        let link = format!("(SELECT account_id FROM {links} WHERE name = {table}.{column})");
        let territory = table != "service_credits";
        let _ = if fresh {
            // Loaded without an account: only the rows whose name has a link get one, found
            // by one join rather than a lookup per row.
            let only = if territory {
                let _ = writeln!(
                    sql,
                    "UPDATE {table} t SET account_id = l.account_id FROM links_territory l
                     WHERE l.territory = t.territory_id AND l.name = t.{column};"
                );
                "t.territory_id IS NULL AND "
            } else {
                ""
            };
            writeln!(
                sql,
                "UPDATE {table} t SET account_id = l.account_id FROM {links} l
                 WHERE {only}t.{column} = l.name;"
            )
        } else {
            let account = if territory {
                format!(
                    "CASE WHEN territory_id IS NULL THEN {link} ELSE coalesce(
                       (SELECT account_id FROM links_territory
                        WHERE territory = {table}.territory_id AND name = {table}.{column}),
                       'ST-' || territory_id) END"
                )
            } else {
                link
            };
            writeln!(
                sql,
                "UPDATE {table} SET account_id = {account}
                 WHERE account_id IS DISTINCT FROM {account};"
            )
        };
    }
    sql
}

/// Reads every account with its aggregates (one grouped query per source table).
fn account_facts(tx: &mut Transaction<'_>) -> Result<Vec<AccountFacts>> {
    let mut accounts: Vec<AccountFacts> = tx
        .query("SELECT account_id, name, territory_id FROM accounts", &[])?
        .iter()
        .map(|r| {
            Ok(AccountFacts::new(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
            ))
        })
        .collect::<Result<_>>()?;
    let index: HashMap<String, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.account_id.clone(), i))
        .collect();
    let int = |r: &postgres::Row, i: usize| -> Result<Fact> {
        Ok(r.try_get::<_, Option<i64>>(i)?
            .map_or(Fact::Null, Fact::Int))
    };
    let text = |r: &postgres::Row, i: usize| -> Result<Fact> {
        Ok(r.try_get::<_, Option<String>>(i)?
            .map_or(Fact::Null, Fact::Text))
    };
    let mut each = |sql: &str, put: &dyn Fn(&mut AccountFacts, &postgres::Row) -> Result<()>| {
        for r in tx.query(sql, &[])? {
            let id: &str = r.try_get(0)?;
            if let Some(&i) = index.get(id) {
                put(&mut accounts[i], &r)?;
            }
        }
        Ok::<_, crate::error::Error>(())
    };
    each(
        "SELECT account_id, count(*) FROM install_base WHERE account_id IS NOT NULL GROUP BY 1",
        &|a, r| {
            a.install_base_count = int(r, 1)?;
            Ok(())
        },
    )?;
    each(
        "SELECT account_id, count(*) FROM opportunities WHERE account_id IS NOT NULL GROUP BY 1",
        &|a, r| {
            a.opportunity_count = int(r, 1)?;
            Ok(())
        },
    )?;
    each(
        "SELECT account_id, count(*), count(CASE WHEN upper(system_status) = 'CLSD' THEN 1 END),
           max(end_date)
         FROM projects WHERE account_id IS NOT NULL GROUP BY 1",
        &|a, r| {
            a.project_count = int(r, 1)?;
            a.closed_project_count = int(r, 2)?;
            a.last_project_end = text(r, 3)?;
            Ok(())
        },
    )?;
    each(
        "SELECT account_id, coalesce(sum(active), 0)::bigint FROM service_credits
         WHERE account_id IS NOT NULL GROUP BY 1",
        &|a, r| {
            a.active_credits = int(r, 1)?;
            Ok(())
        },
    )?;
    // The typical project size: the most common known size; ties go to the larger size.
    each(
        "SELECT account_id, size_category FROM (
           SELECT account_id, size_category,
             row_number() OVER (PARTITION BY account_id ORDER BY count(*) DESC,
               CASE size_category WHEN '>$5M' THEN 5 WHEN '$1M-$5M' THEN 4 WHEN '$500k-$1M' THEN 3
               WHEN '$50k-$500k' THEN 2 WHEN '<$50k' THEN 1 ELSE 0 END DESC) AS pick
           FROM projects WHERE account_id IS NOT NULL AND size_category IS NOT NULL
           GROUP BY account_id, size_category) s WHERE pick = 1",
        &|a, r| {
            a.project_size_category = text(r, 1)?;
            Ok(())
        },
    )?;
    Ok(accounts)
}

impl Accounts for PgTx<'_> {
    fn account_sources_empty(&mut self) -> Result<bool> {
        all_empty(&mut self.tx, crate::store::ACCOUNT_SOURCES)
    }

    fn account_names(&mut self) -> Result<NameRows> {
        read_names(&mut self.tx)
    }

    fn write_accounts(&mut self, plan: &AccountPlan, fresh: bool) -> Result<usize> {
        let aliases = write_accounts(&mut self.tx, plan)?;
        file_rows(&mut self.tx, plan, fresh)?;
        Ok(aliases)
    }

    fn account_facts(&mut self) -> Result<Vec<AccountFacts>> {
        account_facts(&mut self.tx)
    }
}
