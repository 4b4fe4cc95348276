//! The account 360° view: finding an account by id, name or alias, and everything known about
//! it. Every query selects by `account_id`, which each table indexes.

use rusqlite::{Connection, OptionalExtension, params};

use super::query::{lead_columns, lead_from_row};
use crate::error::Result;
use crate::store::read::account::{AssetFold, Assets};
use crate::store::read::{
    self, Account360, Alias, Asset, Credits, ExpiringCredit, Identity, Lookup, Opportunity,
    Projects,
};

const IDENTITY: &str = "SELECT account_id, name, normalized_name, territory_id, territory_name,
    name_source FROM accounts";

fn identities(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Identity>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(p, |r| {
        Ok(Identity {
            account_id: r.get(0)?,
            name: r.get(1)?,
            normalized_name: r.get(2)?,
            territory_id: r.get(3)?,
            territory_name: r.get(4)?,
            name_source: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Finds `query`: exact id, then exact name, normalised name or alias (case-insensitive), then
/// a substring of any of them. `normalized` is `query` normalised the way accounts were.
pub fn find_account(conn: &Connection, query: &str, normalized: &str) -> Result<Lookup> {
    let by_id = identities(
        conn,
        &format!("{IDENTITY} WHERE account_id = ?1"),
        &[&query],
    )?;
    if let Some(one) = by_id.into_iter().next() {
        return Ok(Lookup::Found(one));
    }
    let exact = identities(
        conn,
        &format!(
            "{IDENTITY} WHERE lower(name) = lower(?1) OR normalized_name = ?2
               OR account_id IN (SELECT account_id FROM account_aliases
                                 WHERE lower(alias) = lower(?1) OR normalized = ?2)
             ORDER BY name, account_id"
        ),
        &[&query, &normalized],
    )?;
    let found = if exact.is_empty() {
        identities(
            conn,
            &format!(
                "{IDENTITY} WHERE instr(lower(name), lower(?1)) > 0
                   OR (?2 <> '' AND instr(normalized_name, ?2) > 0)
                   OR account_id IN (SELECT account_id FROM account_aliases
                                     WHERE instr(lower(alias), lower(?1)) > 0)
                 ORDER BY name, account_id"
            ),
            &[&query, &normalized],
        )?
    } else {
        exact
    };
    match found.len() {
        0 => Ok(Lookup::Missing(closest_names(conn, normalized)?)),
        1 => Ok(found
            .into_iter()
            .next()
            .map_or(Lookup::Missing(Vec::new()), Lookup::Found)),
        _ => Ok(Lookup::Ambiguous(found)),
    }
}

/// The three account names closest to `normalized` (see [`read::account::closest_names`]).
fn closest_names(conn: &Connection, normalized: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name, normalized_name FROM accounts")?;
    let names = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(read::account::closest_names(names, normalized))
}

/// The account's install base: rows per risk level and per product family, the number of
/// rows, and the first `limit` rows (`None`: all), as [`AssetFold`] orders them.
///
/// One pass over the account's rows gives the counts and the order: a giant account's assets
/// are scattered over tens of thousands of table pages, and a second pass (an `ORDER BY`) would
/// read them all again. Only the rows kept are then read whole, by id.
fn install_base(conn: &Connection, id: &str, limit: Option<usize>) -> Result<(Assets, Vec<Asset>)> {
    let mut fold = AssetFold::default();
    let mut stmt = conn.prepare(
        "SELECT risk_level, product_family, eol_date, serial_number, id FROM install_base
         WHERE account_id = ?1",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        fold.add(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    }
    let folded = fold.finish(limit);
    let mut stmt = conn.prepare(
        "SELECT serial_number, product_name, product_family, risk_level, eol_date, support_status
         FROM install_base WHERE id = ?1",
    )?;
    let assets = folded
        .ids
        .iter()
        .map(|row| {
            stmt.query_row([row], |r| {
                Ok(Asset {
                    serial_number: r.get(0)?,
                    product_name: r.get(1)?,
                    product_family: r.get(2)?,
                    risk_level: r.get(3)?,
                    eol_date: r.get(4)?,
                    support_status: r.get(5)?,
                })
            })
        })
        .collect::<rusqlite::Result<_>>()?;
    Ok((folded, assets))
}

/// The account's service credits that expire within 90 days.
const EXPIRING: &str = "FROM service_credits
    WHERE account_id = ?1 AND expiry_bucket IN ('0-45', '46-90')";

/// `count(*)` of a query that takes the account id as `?1`.
fn count(conn: &Connection, sql: &str, id: &str) -> Result<usize> {
    let n: i64 = conn.query_row(sql, [id], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Reads the 360° view of `account`, each list cut to `limit` rows (`None`: all of them).
/// Leads and opportunities come out of `leads_account_score` and `opp_account_id` in display
/// order, so only the rows kept are read: a giant account's 84k wide lead rows are never
/// loaded. The install base is passed over once for its counts and order (see
/// [`install_base`]); an index covering those would be rewritten for every asset by each run,
/// which recomputes risk and family, for an account size the real exports do not have.
pub fn account_360(
    conn: &Connection,
    account: Identity,
    limit: Option<usize>,
) -> Result<Account360> {
    let id = account.account_id.as_str();
    // SQLite reads a negative LIMIT as "no limit".
    let sql_limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut stmt = conn.prepare(
        "SELECT alias, method, similarity, source_table, occurrences FROM account_aliases
         WHERE account_id = ?1 ORDER BY similarity DESC, alias",
    )?;
    let aliases = stmt
        .query_map([id], |r| {
            Ok(Alias {
                alias: r.get(0)?,
                method: r.get(1)?,
                similarity: r.get(2)?,
                source_table: r.get(3)?,
                occurrences: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let (ib, assets) = install_base(conn, id, limit)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
         WHERE l.account_id = ?1 AND l.active = 1 ORDER BY l.score DESC, l.lead_id LIMIT ?2",
        lead_columns()
    ))?;
    let leads = stmt
        .query_map(params![id, sql_limit], lead_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let leads_total = count(
        conn,
        "SELECT count(*) FROM leads WHERE account_id = ?1 AND active = 1",
        id,
    )?;
    let mut stmt = conn.prepare(
        "SELECT opportunity_id, name, product_line FROM opportunities WHERE account_id = ?1
         ORDER BY opportunity_id, id LIMIT ?2",
    )?;
    let opportunities = stmt
        .query_map(params![id, sql_limit], |r| {
            Ok(Opportunity {
                opportunity_id: r.get(0)?,
                name: r.get(1)?,
                product_line: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let opportunities_total = count(
        conn,
        "SELECT count(*) FROM opportunities WHERE account_id = ?1",
        id,
    )?;
    let mut projects = conn.query_row(
        "SELECT count(*), max(end_date), coalesce(sum(system_status = 'CLSD'), 0)
         FROM projects WHERE account_id = ?1",
        [id],
        |r| {
            Ok(Projects {
                count: r.get(0)?,
                typical_size: None,
                last_end_date: r.get(1)?,
                closed: r.get(2)?,
            })
        },
    )?;
    projects.typical_size = conn
        .query_row(
            "SELECT size_category FROM projects WHERE account_id = ?1 AND size_category IS NOT NULL
             GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let active_total = conn.query_row(
        "SELECT coalesce(sum(active), 0) FROM service_credits WHERE account_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT project_id, project_name, practice, active, expiry_bucket, contract_end
         {EXPIRING} ORDER BY contract_end, project_id LIMIT ?2"
    ))?;
    let expiring = stmt
        .query_map(params![id, sql_limit], |r| {
            Ok(ExpiringCredit {
                project_id: r.get(0)?,
                project_name: r.get(1)?,
                practice: r.get(2)?,
                active: r.get(3)?,
                expiry_bucket: r.get(4)?,
                contract_end: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let expiring_total = count(conn, &format!("SELECT count(*) {EXPIRING}"), id)?;
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
        service_credits: Credits {
            active_total,
            expiring,
            expiring_total,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::testdb;
    use super::*;
    use crate::derive::account::normalize;
    use crate::store::read::Count;

    fn find(conn: &Connection, q: &str) -> Lookup {
        find_account(conn, q, &normalize(q, &[])).unwrap()
    }

    fn found_id(l: &Lookup) -> &str {
        match l {
            Lookup::Found(a) => &a.account_id,
            other => panic!("expected one account, got {other:?}"),
        }
    }

    #[test]
    fn finds_by_id_name_normalised_name_alias_and_substring() {
        let (_d, s) = testdb::build();
        assert_eq!(found_id(&find(&s.conn, "ACC2")), "ACC2");
        assert_eq!(found_id(&find(&s.conn, "globex inc")), "ACC2");
        assert_eq!(found_id(&find(&s.conn, "Globex, Inc.")), "ACC2");
        assert_eq!(found_id(&find(&s.conn, "acme corp.")), "ACC1");
        assert_eq!(found_id(&find(&s.conn, "initrode")), "ACC3");
        assert_eq!(found_id(&find(&s.conn, "nitec")), "ACC3");
    }

    #[test]
    fn several_matches_are_ambiguous_and_none_suggests_names() {
        let (_d, s) = testdb::build();
        // "c" is in every name.
        match find(&s.conn, "c") {
            Lookup::Ambiguous(v) => assert_eq!(v.len(), 3),
            other => panic!("{other:?}"),
        }
        match find(&s.conn, "Globox") {
            Lookup::Missing(names) => {
                assert_eq!(names.len(), 3);
                assert_eq!(names[0], "Globex Inc");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn account_360_rolls_up_everything() {
        let (_d, s) = testdb::build();
        let Lookup::Found(acme) = find(&s.conn, "ACC1") else {
            panic!()
        };
        let v = account_360(&s.conn, acme, None).unwrap();
        assert_eq!(v.aliases.len(), 2);
        assert_eq!(v.aliases[0].method, "exact");
        assert_eq!(v.install_base.len(), 2);
        assert_eq!(v.risk_levels.len(), 2);
        let ids: Vec<&str> = v.leads.iter().map(|l| l.lead_id.as_str()).collect();
        assert_eq!(ids, ["AAAA0001", "AAAA0002"]);
        assert_eq!(v.opportunities.len(), 1);
        assert_eq!(
            v.projects,
            Projects {
                count: 3,
                typical_size: Some("Small".into()),
                last_end_date: Some("2023-09-30".into()),
                closed: 2,
            }
        );
        assert_eq!(v.service_credits.active_total, 55);
        assert_eq!(v.service_credits.expiring.len(), 2);
    }

    #[test]
    fn a_limit_cuts_each_list_but_not_its_total_or_the_counts() {
        let (_d, s) = testdb::build();
        let acme = || match find(&s.conn, "ACC1") {
            Lookup::Found(a) => a,
            other => panic!("{other:?}"),
        };
        let all = account_360(&s.conn, acme(), None).unwrap();
        let one = account_360(&s.conn, acme(), Some(1)).unwrap();
        // The first row of each list is the first row of the full list.
        assert_eq!(one.install_base, all.install_base[..1]);
        assert_eq!(one.leads, all.leads[..1]);
        assert_eq!(one.opportunities, all.opportunities[..1]);
        assert_eq!(
            one.service_credits.expiring,
            all.service_credits.expiring[..1]
        );
        for v in [&all, &one] {
            assert_eq!(v.install_base_total, 2);
            assert_eq!(v.leads_total, 2);
            assert_eq!(v.opportunities_total, 1);
            assert_eq!(v.service_credits.expiring_total, 2);
            assert_eq!(v.risk_levels, all.risk_levels);
            assert_eq!(v.product_families, all.product_families);
        }
        let none = account_360(&s.conn, acme(), Some(0)).unwrap();
        assert!(none.install_base.is_empty() && none.leads.is_empty());
        assert_eq!((none.install_base_total, none.leads_total), (2, 2));
    }

    #[test]
    fn assets_come_in_the_order_sql_sorts_them() {
        let (_d, s) = testdb::build();
        // No date and no serial, equal keys (the row id decides), lower and upper case.
        s.conn
            .execute_batch(
                "INSERT INTO install_base (serial_number, product_name, eol_date, account_id,
                   source_file, source_sheet, source_row) VALUES
                   ('b', 'p1', '2021-01-01', 'ACC2', 'f', 's', 1),
                   (NULL, 'p2', '2021-01-01', 'ACC2', 'f', 's', 2),
                   ('B', 'p3', '2021-01-01', 'ACC2', 'f', 's', 3),
                   ('a', 'p4', NULL, 'ACC2', 'f', 's', 4),
                   (NULL, 'p5', NULL, 'ACC2', 'f', 's', 5),
                   ('b', 'p6', '2021-01-01', 'ACC2', 'f', 's', 6),
                   ('z', 'p7', '2019-12-31', 'ACC2', 'f', 's', 7),
                   ('b', 'p8', '2021-01-01', 'ACC2', 'f', 's', 8);",
            )
            .unwrap();
        let mut stmt = s
            .conn
            .prepare(
                "SELECT product_name FROM install_base WHERE account_id = 'ACC2'
                 ORDER BY eol_date IS NULL, eol_date, serial_number, id",
            )
            .unwrap();
        let want: Vec<Option<String>> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let acc2 = || match find(&s.conn, "ACC2") {
            Lookup::Found(a) => a,
            other => panic!("{other:?}"),
        };
        let got = |limit| -> Vec<Option<String>> {
            account_360(&s.conn, acc2(), limit)
                .unwrap()
                .install_base
                .into_iter()
                .map(|a| a.product_name)
                .collect()
        };
        assert_eq!(want.len(), 9);
        assert_eq!(got(None), want);
        assert_eq!(got(Some(4)), want[..4]);
    }

    #[test]
    fn counts_are_most_first_then_by_value_with_none_first() {
        let (_d, s) = testdb::build();
        s.conn
            .execute_batch(
                "INSERT INTO install_base (account_id, risk_level, product_family, source_file,
                   source_sheet, source_row)
                 VALUES ('ACC3', 'LOW', 'Storage', 'f', 's', 1), ('ACC3', 'LOW', NULL, 'f', 's', 2),
                        ('ACC3', 'HIGH', NULL, 'f', 's', 3), ('ACC3', NULL, 'Storage', 'f', 's', 4);",
            )
            .unwrap();
        let Lookup::Found(a) = find(&s.conn, "ACC3") else {
            panic!()
        };
        let v = account_360(&s.conn, a, None).unwrap();
        let got = |c: &[Count]| -> Vec<(Option<String>, i64)> {
            c.iter().map(|c| (c.value.clone(), c.count)).collect()
        };
        // The same order as SQL's `ORDER BY count DESC, value` (NULL sorts first).
        for (list, column) in [
            (&v.risk_levels, "risk_level"),
            (&v.product_families, "product_family"),
        ] {
            let mut stmt = s
                .conn
                .prepare(&format!(
                    "SELECT {column}, count(*) FROM install_base WHERE account_id = 'ACC3'
                     GROUP BY 1 ORDER BY 2 DESC, 1"
                ))
                .unwrap();
            let want: Vec<(Option<String>, i64)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(got(list), want, "{column}");
        }
        assert_eq!(v.install_base_total, 9);
    }
}
