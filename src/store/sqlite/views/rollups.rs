//! Aggregate queries behind `dashboard` and `territories` (and `analytics`, which reuses them). Every aggregate is one
//! `GROUP BY` in SQL over active leads (or the install base); nothing loops a query per row.
//! The rows are folded as every backend folds them (`store::read::rollups`).

use rusqlite::Connection;

use crate::error::Result;
use crate::store::read::rollups::{MixBuilder, TerritoryRollup, add_priority, average, rank};
use crate::store::read::{LeadMix, Territory, TerritorySort};

/// SQL for a lead's estimated value, or NULL when the trigger gave none (or gave a non-number).
const ESTIMATE: &str = "l.estimated_value";

/// Lead counts in the database: all rows and active ones.
pub fn lead_totals(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT count(*), coalesce(sum(active), 0) FROM leads",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Whether the database holds any lead, active or not (to tell "empty" from "nothing matched")
/// without counting a million of them.
pub fn has_leads(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM leads)", [], |r| r.get(0))?)
}

/// Reads the [`LeadMix`]. The `GROUP BY` follows the `leads_mix` index column for column, so
/// SQLite streams the groups out of the index without sorting anything; there are few groups
/// (types × priorities × families × distinct scores), folded by [`MixBuilder`].
pub fn lead_mix(conn: &Connection) -> Result<LeadMix> {
    let mut stmt = conn.prepare(&format!(
        "SELECT l.lead_type, l.priority, l.product_family, l.score, count(*), sum({ESTIMATE}),
                count({ESTIMATE})
         FROM leads l WHERE l.active = 1
         GROUP BY l.lead_type, l.priority, l.product_family, l.score"
    ))?;
    let mut mix = MixBuilder::default();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        mix.add(
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        );
    }
    Ok(mix.finish())
}

/// Every territory seen in accounts, install base or active leads, in `sort` order.
///
/// Three `GROUP BY`s, each walking an index in territory order (`accounts_territory`,
/// `ib_territory`, `leads_rollup`); a million-lead database has tens of thousands of
/// territories, so each row costs one hash lookup and the id is cloned once per territory.
pub fn territories(conn: &Connection, sort: TerritorySort) -> Result<Vec<Territory>> {
    let mut rollup = TerritoryRollup::default();
    let mut stmt = conn.prepare(
        "SELECT territory_id, max(territory_name), count(*) FROM accounts GROUP BY territory_id",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        let (id, name, n) = row?;
        rollup.accounts(id, name, n);
    }
    let mut stmt =
        conn.prepare("SELECT territory_id, count(*) FROM install_base GROUP BY territory_id")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, n) = row?;
        rollup.install_base(id, n);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT l.territory_id, l.priority, count(*), sum(l.score), sum({ESTIMATE})
         FROM leads l WHERE l.active = 1 GROUP BY l.territory_id, l.priority"
    ))?;
    for row in stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })? {
        let (id, priority, n, score, value): (_, String, _, _, _) = row?;
        rollup.leads(id, &priority, n, score, value);
    }
    Ok(rollup.finish(sort))
}

/// The `n` territories with the most active leads (then highest average score), as
/// [`territories`] sorted by leads and cut to those with leads would give them, for a fraction
/// of the work: one pass counts leads and sums scores per territory to rank them, and only the
/// `n` kept get their priorities, pipeline, accounts and install base, by index lookups.
pub fn leaderboard(conn: &Connection, n: usize) -> Result<Vec<Territory>> {
    let mut stmt = conn.prepare(
        "SELECT territory_id, count(*), sum(score) FROM leads WHERE active = 1
         GROUP BY territory_id",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // The figures shown are computed exactly as `territories` computes them.
    let mut leads = conn.prepare(&format!(
        "SELECT l.priority, count(*), sum(l.score), sum({ESTIMATE}) FROM leads l
         WHERE l.active = 1 AND l.territory_id IS ?1 GROUP BY l.priority"
    ))?;
    // `IS` matches the NULL territory too, as `GROUP BY` groups it.
    let mut accounts = conn
        .prepare("SELECT max(territory_name), count(*) FROM accounts WHERE territory_id IS ?1")?;
    let mut install_base =
        conn.prepare("SELECT count(*) FROM install_base WHERE territory_id IS ?1")?;
    let mut out = Vec::with_capacity(n);
    for territory_id in rank(rows, n) {
        let mut t = Territory {
            territory_id,
            ..Territory::default()
        };
        let mut score_sum = 0.0;
        for row in leads.query_map([&t.territory_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })? {
            let (priority, n, score, value): (String, i64, f64, Option<f64>) = row?;
            add_priority(&mut t, &mut score_sum, &priority, n, score, value);
        }
        (t.territory_name, t.accounts) =
            accounts.query_row([&t.territory_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        t.install_base = install_base.query_row([&t.territory_id], |r| r.get(0))?;
        out.push(average(t, score_sum));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::super::testdb;
    use super::*;
    use crate::store::read::{PRIORITIES, Pipeline, PriorityCounts};

    /// Active leads per priority, and the pipeline estimate.
    fn overview(conn: &Connection) -> Result<(PriorityCounts, Pipeline)> {
        let mix = lead_mix(conn)?;
        Ok((mix.by_priority, mix.pipeline))
    }

    #[test]
    fn overview_counts_active_leads_and_sums_estimates() {
        let (_d, s) = testdb::build();
        let (p, pipe) = overview(&s.conn).unwrap();
        assert_eq!(p.as_array(), [1, 1, 1, 1]);
        // The inactive lead's 99999 is left out.
        assert_eq!(pipe.estimated_value, Some(12500.5));
        assert_eq!(pipe.leads_with_estimate, 2);
        assert_eq!(lead_totals(&s.conn).unwrap(), (5, 4));
    }

    #[test]
    fn lead_mix_adds_up_to_the_plain_aggregates() {
        let (_d, s) = testdb::build();
        // More than one lead per score, type and family, and a second estimate.
        s.conn
            .execute_batch(
                "INSERT INTO leads SELECT 'X' || lead_id, lead_type, rule, install_base_id,
                   serial_number, product_name, product_family, account_id, territory_id, title,
                   description, recommended_action, score, priority, factors, reasons,
                   recommended_services, recommended_skus, days_since_eol, extra,
                   estimated_value * 3 + 0.1, fingerprint, status, active, closed_reason, created_at,
                   updated_at, run_id, owner FROM leads;
                 UPDATE leads SET product_family = NULL WHERE lead_id = 'XCCCC0004';",
            )
            .unwrap();
        let conn = &s.conn;
        let sql = |q: &str| -> Vec<(Option<String>, i64)> {
            let mut stmt = conn.prepare(q).unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let mix = lead_mix(conn).unwrap();
        assert_eq!(
            mix.by_type_priority,
            super::super::query::counts_by_type_priority(conn).unwrap()
        );
        let by_priority: Vec<(Option<String>, i64)> = PRIORITIES
            .iter()
            .zip(mix.by_priority.as_array())
            .filter(|(_, n)| *n > 0)
            .map(|(p, n)| (Some((*p).to_string()), n))
            .collect();
        assert_eq!(
            by_priority,
            sql(
                "SELECT priority, count(*) FROM leads WHERE active = 1 GROUP BY 1
                 ORDER BY CASE priority WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1
                   WHEN 'MEDIUM' THEN 2 ELSE 3 END"
            )
        );
        let families: Vec<(Option<String>, i64)> = mix.families.clone().into_iter().collect();
        assert_eq!(
            families,
            sql("SELECT product_family, count(*) FROM leads WHERE active = 1 GROUP BY 1")
        );
        let scores: Vec<(Option<String>, i64)> = mix
            .scores
            .iter()
            .map(|(s, n)| (Some(s.to_string()), *n))
            .collect();
        assert_eq!(
            scores,
            sql("SELECT CAST(score AS TEXT), count(*) FROM leads WHERE active = 1 GROUP BY score ORDER BY score")
                .into_iter()
                .map(|(s, n)| (s.map(|s| s.parse::<f64>().unwrap().to_string()), n))
                .collect::<Vec<_>>()
        );
        let (sum, n): (Option<f64>, i64) = conn
            .query_row(
                "SELECT sum(estimated_value), count(estimated_value) FROM leads WHERE active = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(mix.pipeline.leads_with_estimate, n);
        assert_eq!(n, 4);
        assert_eq!(mix.pipeline.estimated_value, sum);
        assert_eq!(mix.total(), 8);
    }

    #[test]
    fn has_leads_counts_inactive_ones() {
        let (_d, s) = testdb::build();
        assert!(has_leads(&s.conn).unwrap());
        s.conn
            .execute("DELETE FROM leads WHERE active = 1", [])
            .unwrap();
        assert!(has_leads(&s.conn).unwrap());
        s.conn.execute("DELETE FROM leads", []).unwrap();
        assert!(!has_leads(&s.conn).unwrap());
    }

    #[test]
    fn the_leaderboard_is_the_top_of_the_territory_table() {
        let (_d, s) = testdb::build();
        // A third territory with leads and no accounts, and leads without a territory.
        s.conn
            .execute_batch(
                "INSERT INTO leads SELECT 'X' || lead_id, lead_type, rule, install_base_id,
                   serial_number, product_name, product_family, account_id,
                   CASE WHEN lead_id LIKE 'A%' THEN 'T3' END, title, description,
                   recommended_action, score, priority, factors, reasons, recommended_services,
                   recommended_skus, days_since_eol, extra, estimated_value, fingerprint, status, active,
                   closed_reason, created_at, updated_at, run_id, owner FROM leads;
                 INSERT INTO install_base (territory_id, source_file, source_sheet, source_row)
                   VALUES (NULL, 'f', 's', 1);",
            )
            .unwrap();
        let mut all = territories(&s.conn, TerritorySort::Leads).unwrap();
        all.retain(|t| t.leads > 0);
        assert_eq!(all.len(), 4);
        for n in [0, 2, 10] {
            let top = leaderboard(&s.conn, n).unwrap();
            assert_eq!(top, all[..n.min(all.len())], "top {n}");
        }
        let top = leaderboard(&s.conn, 10).unwrap();
        let none = top.iter().find(|t| t.territory_id.is_none()).unwrap();
        assert_eq!((none.leads, none.install_base, none.accounts), (2, 1, 0));
    }

    #[test]
    fn territory_rollup_numbers() {
        let (_d, s) = testdb::build();
        let ts = territories(&s.conn, TerritorySort::Leads).unwrap();
        let ids: Vec<_> = ts.iter().map(|t| t.territory_id.as_deref()).collect();
        assert_eq!(ids, [Some("T1"), Some("T2")]);
        let t1 = &ts[0];
        assert_eq!((t1.accounts, t1.install_base, t1.leads), (2, 3, 3));
        assert_eq!(t1.by_priority.as_array(), [1, 1, 1, 0]);
        assert_eq!(t1.avg_score, Some((92.5 + 71.0 + 55.25) / 3.0));
        assert_eq!(t1.pipeline, Some(12500.5));
        assert_eq!(t1.territory_name.as_deref(), Some("North"));
        let t2 = &ts[1];
        assert_eq!((t2.accounts, t2.install_base, t2.leads), (1, 5, 1));
        assert_eq!(t2.avg_score, Some(30.0));
        assert_eq!(t2.pipeline, None);
        let by_score = territories(&s.conn, TerritorySort::Score).unwrap();
        assert_eq!(by_score[0].territory_id.as_deref(), Some("T1"));
        let by_id = territories(&s.conn, TerritorySort::Territory).unwrap();
        assert_eq!(by_id[1].territory_id.as_deref(), Some("T2"));
    }
}
