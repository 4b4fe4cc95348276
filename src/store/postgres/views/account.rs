//! The account 360° view: finding an account by id, name or alias, and everything known about
//! it. Every query selects by `account_id`, which each table indexes.

use postgres::Client;
use postgres_types::ToSql;

use super::query::lead_from_row;
use crate::error::Result;
use crate::store::columns::select_list;
use crate::store::read::account::{AssetFold, closest_names};
use crate::store::read::{
    Account360, Alias, Asset, Credits, ExpiringCredit, Identity, Lookup, Opportunity, Projects,
};

const IDENTITY: &str = "SELECT account_id, name, normalized_name, territory_id, territory_name,
    name_source FROM accounts";

fn identities(client: &mut Client, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<Identity>> {
    client
        .query(sql, p)?
        .iter()
        .map(|r| {
            Ok(Identity {
                account_id: r.try_get(0)?,
                name: r.try_get(1)?,
                normalized_name: r.try_get(2)?,
                territory_id: r.try_get(3)?,
                territory_name: r.try_get(4)?,
                name_source: r.try_get(5)?,
            })
        })
        .collect()
}

/// Finds `query`: exact id, then exact name, normalised name or alias (case-insensitive), then
/// a substring of any of them. `normalized` is `query` normalised the way accounts were.
pub fn find_account(client: &mut Client, query: &str, normalized: &str) -> Result<Lookup> {
    let by_id = identities(
        client,
        &format!("{IDENTITY} WHERE account_id = $1"),
        &[&query],
    )?;
    if let Some(one) = by_id.into_iter().next() {
        return Ok(Lookup::Found(one));
    }
    let exact = identities(
        client,
        &format!(
            "{IDENTITY} WHERE lower(name) = lower($1) OR normalized_name = $2
               OR account_id IN (SELECT account_id FROM account_aliases
                                 WHERE lower(alias) = lower($1) OR normalized = $2)
             ORDER BY name, account_id"
        ),
        &[&query, &normalized],
    )?;
    let found = if exact.is_empty() {
        identities(
            client,
            &format!(
                "{IDENTITY} WHERE strpos(lower(name), lower($1)) > 0
                   OR ($2 <> '' AND strpos(normalized_name, $2) > 0)
                   OR account_id IN (SELECT account_id FROM account_aliases
                                     WHERE strpos(lower(alias), lower($1)) > 0)
                 ORDER BY name, account_id"
            ),
            &[&query, &normalized],
        )?
    } else {
        exact
    };
    match found.len() {
        0 => {
            let names = client
                .query("SELECT name, normalized_name FROM accounts", &[])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_>>()?;
            Ok(Lookup::Missing(closest_names(names, normalized)))
        }
        1 => Ok(found
            .into_iter()
            .next()
            .map_or(Lookup::Missing(Vec::new()), Lookup::Found)),
        _ => Ok(Lookup::Ambiguous(found)),
    }
}

/// The account's install base, folded in one pass as on SQLite; only the rows kept are then
/// read whole.
fn install_base(
    client: &mut Client,
    id: &str,
    limit: Option<usize>,
) -> Result<(crate::store::read::account::Assets, Vec<Asset>)> {
    let mut fold = AssetFold::default();
    for r in client.query(
        "SELECT risk_level, product_family, eol_date, serial_number, id FROM install_base
         WHERE account_id = $1",
        &[&id],
    )? {
        fold.add(
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
    }
    let folded = fold.finish(limit);
    let mut assets = Vec::with_capacity(folded.ids.len());
    for r in client.query(
        "SELECT serial_number, product_name, product_family, risk_level, eol_date, support_status
         FROM install_base i JOIN unnest($1::bigint[]) WITH ORDINALITY AS k(id, n) USING (id)
         ORDER BY k.n",
        &[&folded.ids],
    )? {
        assets.push(Asset {
            serial_number: r.try_get(0)?,
            product_name: r.try_get(1)?,
            product_family: r.try_get(2)?,
            risk_level: r.try_get(3)?,
            eol_date: r.try_get(4)?,
            support_status: r.try_get(5)?,
        });
    }
    Ok((folded, assets))
}

/// The account's service credits that expire within 90 days.
const EXPIRING: &str = "FROM service_credits
    WHERE account_id = $1 AND expiry_bucket IN ('0-45', '46-90')";

/// `count(*)` of a query that takes the account id as `$1`.
fn count(client: &mut Client, sql: &str, id: &str) -> Result<usize> {
    let n: i64 = client.query_one(sql, &[&id])?.try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Reads the 360° view of `account`, each list cut to `limit` rows (`None`: all of them).
pub fn account_360(
    client: &mut Client,
    account: Identity,
    limit: Option<usize>,
) -> Result<Account360> {
    let id = account.account_id.as_str();
    let sql_limit: Option<i64> = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let aliases = client
        .query(
            "SELECT alias, method, similarity, source_table, occurrences FROM account_aliases
             WHERE account_id = $1 ORDER BY similarity DESC, alias",
            &[&id],
        )?
        .iter()
        .map(|r| {
            Ok(Alias {
                alias: r.try_get(0)?,
                method: r.try_get(1)?,
                similarity: r.try_get(2)?,
                source_table: r.try_get(3)?,
                occurrences: r.try_get(4)?,
            })
        })
        .collect::<Result<_>>()?;
    let (ib, assets) = install_base(client, id, limit)?;
    // `LIMIT NULL` is no limit.
    let leads = client
        .query(
            &format!(
                "SELECT {} FROM leads l
                 LEFT JOIN accounts a ON a.account_id = l.account_id
                 WHERE l.account_id = $1 AND l.active = 1 ORDER BY l.score DESC, l.lead_id
                 LIMIT $2",
                select_list()
            ),
            &[&id, &sql_limit],
        )?
        .iter()
        .map(lead_from_row)
        .collect::<Result<_>>()?;
    let leads_total = count(
        client,
        "SELECT count(*) FROM lead_rows WHERE account_id = $1 AND active = 1",
        id,
    )?;
    let opportunities = client
        .query(
            "SELECT opportunity_id, name, product_line FROM opportunities WHERE account_id = $1
             ORDER BY opportunity_id NULLS FIRST, id LIMIT $2",
            &[&id, &sql_limit],
        )?
        .iter()
        .map(|r| {
            Ok(Opportunity {
                opportunity_id: r.try_get(0)?,
                name: r.try_get(1)?,
                product_line: r.try_get(2)?,
            })
        })
        .collect::<Result<_>>()?;
    let opportunities_total = count(
        client,
        "SELECT count(*) FROM opportunities WHERE account_id = $1",
        id,
    )?;
    let projects = projects(client, id)?;
    let service_credits = credits(client, id, sql_limit)?;
    Ok(Account360 {
        account,
        aliases,
        risk_levels: ib.risk_levels,
        product_families: ib.product_families,
        install_base: assets,
        install_base_total: ib.total,
        leads,
        leads_total,
        opportunities,
        opportunities_total,
        projects,
        service_credits,
    })
}

/// The account's project history in numbers.
fn projects(client: &mut Client, id: &str) -> Result<Projects> {
    let r = client.query_one(
        "SELECT count(*), max(end_date), count(*) FILTER (WHERE system_status = 'CLSD')
         FROM projects WHERE account_id = $1",
        &[&id],
    )?;
    let typical_size = client
        .query_opt(
            "SELECT size_category FROM projects WHERE account_id = $1 AND size_category IS NOT NULL
             GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            &[&id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(Projects {
        count: r.try_get(0)?,
        typical_size,
        last_end_date: r.try_get(1)?,
        closed: r.try_get(2)?,
    })
}

/// The account's service credits: the active total and those expiring within 90 days.
fn credits(client: &mut Client, id: &str, limit: Option<i64>) -> Result<Credits> {
    let active_total: i64 = client
        .query_one(
            "SELECT coalesce(sum(active), 0)::bigint FROM service_credits WHERE account_id = $1",
            &[&id],
        )?
        .try_get(0)?;
    let expiring = client
        .query(
            &format!(
                "SELECT project_id, project_name, practice, active, expiry_bucket, contract_end
                 {EXPIRING} ORDER BY contract_end NULLS FIRST, project_id NULLS FIRST LIMIT $2"
            ),
            &[&id, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(ExpiringCredit {
                project_id: r.try_get(0)?,
                project_name: r.try_get(1)?,
                practice: r.try_get(2)?,
                active: r.try_get(3)?,
                expiry_bucket: r.try_get(4)?,
                contract_end: r.try_get(5)?,
            })
        })
        .collect::<Result<_>>()?;
    let expiring_total = count(client, &format!("SELECT count(*) {EXPIRING}"), id)?;
    Ok(Credits {
        active_total,
        expiring,
        expiring_total,
    })
}
