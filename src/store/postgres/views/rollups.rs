//! Aggregate queries behind `dashboard` and `territories` (and `analytics`): one `GROUP BY`
//! each over the active leads (or the install base), folded as on SQLite
//! (`store::read::rollups`).

use postgres::Client;

use crate::error::Result;
use crate::store::read::rollups::{MixBuilder, TerritoryRollup, add_priority, average, rank};
use crate::store::read::{LeadMix, Territory, TerritorySort};

/// Lead counts in the database: all rows and active ones.
pub fn lead_totals(client: &mut Client) -> Result<(i64, i64)> {
    let r = client.query_one(
        "SELECT count(*), coalesce(sum(active), 0)::bigint FROM lead_rows",
        &[],
    )?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}

/// Whether the database holds any lead, active or not.
pub fn has_leads(client: &mut Client) -> Result<bool> {
    Ok(client
        .query_one("SELECT EXISTS (SELECT 1 FROM lead_rows)", &[])?
        .try_get(0)?)
}

/// Reads the [`LeadMix`] from the groups of the `leads_mix` index's columns.
pub fn lead_mix(client: &mut Client) -> Result<LeadMix> {
    let mut mix = MixBuilder::default();
    for r in client.query(
        "SELECT lead_type, priority, product_family, score, count(*), sum(estimated_value),
                count(estimated_value)
         FROM lead_rows WHERE active = 1
         GROUP BY lead_type, priority, product_family, score",
        &[],
    )? {
        mix.add(
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
            r.try_get(5)?,
            r.try_get(6)?,
        );
    }
    Ok(mix.finish())
}

/// Every territory seen in accounts, install base or active leads, in `sort` order.
pub fn territories(client: &mut Client, sort: TerritorySort) -> Result<Vec<Territory>> {
    let mut rollup = TerritoryRollup::default();
    for r in client.query(
        "SELECT territory_id, max(territory_name), count(*) FROM accounts GROUP BY territory_id",
        &[],
    )? {
        rollup.accounts(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    }
    for r in client.query(
        "SELECT territory_id, count(*) FROM install_base GROUP BY territory_id",
        &[],
    )? {
        rollup.install_base(r.try_get(0)?, r.try_get(1)?);
    }
    for r in client.query(
        "SELECT territory_id, priority, count(*), sum(score), sum(estimated_value)
         FROM lead_rows WHERE active = 1 GROUP BY territory_id, priority",
        &[],
    )? {
        let priority: &str = r.try_get(1)?;
        rollup.leads(
            r.try_get(0)?,
            priority,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
    }
    Ok(rollup.finish(sort))
}

/// The `n` territories with the most active leads, as [`territories`] would give them: one
/// pass ranks them, and only the `n` kept are rolled up.
pub fn leaderboard(client: &mut Client, n: usize) -> Result<Vec<Territory>> {
    let rows = client
        .query(
            "SELECT territory_id, count(*), sum(score) FROM lead_rows WHERE active = 1
             GROUP BY territory_id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(n);
    for territory_id in rank(rows, n) {
        let mut t = Territory {
            territory_id,
            ..Territory::default()
        };
        let mut score_sum = 0.0;
        // `IS NOT DISTINCT FROM` matches the NULL territory too, as `GROUP BY` groups it.
        for r in client.query(
            "SELECT priority, count(*), sum(score), sum(estimated_value) FROM lead_rows
             WHERE active = 1 AND territory_id IS NOT DISTINCT FROM $1 GROUP BY priority",
            &[&t.territory_id],
        )? {
            let priority: &str = r.try_get(0)?;
            add_priority(
                &mut t,
                &mut score_sum,
                priority,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
            );
        }
        let r = client.query_one(
            "SELECT max(territory_name), count(*) FROM accounts
             WHERE territory_id IS NOT DISTINCT FROM $1",
            &[&t.territory_id],
        )?;
        (t.territory_name, t.accounts) = (r.try_get(0)?, r.try_get(1)?);
        t.install_base = client
            .query_one(
                "SELECT count(*) FROM install_base WHERE territory_id IS NOT DISTINCT FROM $1",
                &[&t.territory_id],
            )?
            .try_get(0)?;
        out.push(average(t, score_sum));
    }
    Ok(out)
}
