//! Rollups behind `analytics` that `dashboard` and `territories` do not share: the
//! product-family mix and support coverage. The lead side comes from
//! [`super::rollups::lead_mix`]; the install-base side is one `GROUP BY` over an index.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::error::Result;
use crate::store::read::rollups;
use crate::store::read::{Coverage, FamilyMix, LeadMix};

/// Per product family, most install base first.
pub fn family_mix(conn: &Connection, mix: &LeadMix) -> Result<Vec<FamilyMix>> {
    let mut stmt = conn.prepare("SELECT product_family, count(*) FROM install_base GROUP BY 1")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rollups::family_mix(rows, mix))
}

/// The four coverage classes, always in the order covered, expired, uncovered, unknown.
/// The install base is counted per distinct `support_status` first (a walk of the `ib_status`
/// index) and only those few values are classed, not every row.
pub fn coverage(conn: &Connection) -> Result<Vec<Coverage>> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT {}, sum(n) FROM
           (SELECT support_status, count(*) AS n FROM install_base GROUP BY support_status)
         GROUP BY 1",
        super::super::snapshots::coverage("support_status")
    ))?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (c, n): (String, i64) = row?;
        counts.insert(c, n);
    }
    Ok(rollups::coverage(&counts))
}

#[cfg(test)]
mod tests {
    use super::super::super::testdb;
    use super::*;
    use crate::views::score_histogram;

    #[test]
    fn histogram_buckets_active_scores() {
        let (_d, s) = testdb::build();
        s.conn
            .execute_batch(
                "UPDATE leads SET score = 100 WHERE lead_id = 'BBBB0003';
                 UPDATE leads SET score = 0 WHERE lead_id = 'CCCC0004';",
            )
            .unwrap();
        let h = score_histogram(&super::super::rollups::lead_mix(&s.conn).unwrap());
        assert_eq!(h.len(), 10);
        let counts: Vec<i64> = h.iter().map(|b| b.leads).collect();
        // 0 → first bucket; 71 → [70, 80); 92.5 and 100 → the last bucket.
        assert_eq!(counts, [1, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
        assert_eq!((h[9].from, h[9].to), (90, 100));
    }

    #[test]
    fn coverage_shares_with_uncovered_winning_over_expired() {
        let (_d, s) = testdb::build();
        let c = coverage(&s.conn).unwrap();
        let got: Vec<(&str, i64)> = c
            .iter()
            .map(|c| (c.coverage.as_str(), c.install_base))
            .collect();
        // covered: Active Support, Warranty, Active warranty; expired: Expired, Support expired;
        // uncovered: "Uncovered - expired", uncovered; unknown: NULL.
        assert_eq!(
            got,
            [
                ("covered", 3),
                ("expired", 2),
                ("uncovered", 2),
                ("unknown", 1)
            ]
        );
        assert_eq!(c[0].share, 3.0 / 8.0);
        assert!((c.iter().map(|c| c.share).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn an_inactive_contract_is_not_coverage() {
        let (_d, s) = testdb::build();
        s.conn
            .execute(
                "UPDATE install_base SET support_status = 'Inactive Contract' WHERE id = 1",
                [],
            )
            .unwrap();
        let c = coverage(&s.conn).unwrap();
        assert_eq!((c[0].coverage.as_str(), c[0].install_base), ("covered", 2));
        assert_eq!((c[1].coverage.as_str(), c[1].install_base), ("expired", 3));
    }

    #[test]
    fn family_mix_counts_install_base_and_leads() {
        let (_d, s) = testdb::build();
        let m = family_mix(&s.conn, &super::super::rollups::lead_mix(&s.conn).unwrap()).unwrap();
        assert_eq!(m[0].product_family.as_deref(), Some("Servers"));
        assert_eq!((m[0].install_base, m[0].leads), (4, 2));
        let net = m
            .iter()
            .find(|f| f.product_family.as_deref() == Some("Networking"))
            .unwrap();
        assert_eq!((net.install_base, net.leads), (1, 1));
    }
}
