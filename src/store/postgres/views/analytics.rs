//! Rollups behind `analytics` that `dashboard` and `territories` do not share: the
//! product-family mix and support coverage.

use std::collections::BTreeMap;

use postgres::Client;

use crate::error::Result;
use crate::store::read::rollups;
use crate::store::read::{Coverage, FamilyMix, LeadMix};

/// Per product family, most install base first.
pub fn family_mix(client: &mut Client, mix: &LeadMix) -> Result<Vec<FamilyMix>> {
    let rows = client
        .query(
            "SELECT product_family, count(*) FROM install_base GROUP BY 1",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    Ok(rollups::family_mix(rows, mix))
}

/// The four coverage classes, always in the order covered, expired, uncovered, unknown.
pub fn coverage(client: &mut Client) -> Result<Vec<Coverage>> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for r in client.query(
        &format!(
            "SELECT {}, sum(n)::bigint FROM
               (SELECT support_status, count(*) AS n FROM install_base GROUP BY support_status) s
             GROUP BY 1",
            super::super::snapshots::coverage("support_status")
        ),
        &[],
    )? {
        counts.insert(r.try_get(0)?, r.try_get(1)?);
    }
    Ok(rollups::coverage(&counts))
}
