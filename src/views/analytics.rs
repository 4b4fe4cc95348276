//! `analytics`: the score histogram, leads by type × priority, the territory leaderboard, the
//! product-family mix and support coverage.

use serde::Serialize;

use super::{Coverage, FamilyMix, LeadMix, Reader, Territory, TypeCounts, type_counts};
use crate::error::Result;

/// The `analytics` JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Analytics {
    /// Active leads in 10-point score buckets.
    pub score_histogram: Vec<Bucket>,
    /// Active leads per type, per priority.
    pub by_type_priority: Vec<TypeCounts>,
    /// The ten territories with the most active leads.
    pub territory_leaderboard: Vec<Territory>,
    /// Install base and active leads per product family.
    pub product_families: Vec<FamilyMix>,
    /// Support coverage of the install base.
    pub coverage: Vec<Coverage>,
    /// Active lead counts per (type, priority), as the summary table shows them.
    #[serde(skip)]
    pub counts: Vec<(String, String, i64)>,
}

/// Reads the analytics.
pub fn analytics(reader: &mut Reader) -> Result<Analytics> {
    let mix = reader.lead_mix()?;
    let territory_leaderboard = reader.leaderboard(10)?;
    Ok(Analytics {
        score_histogram: score_histogram(&mix),
        by_type_priority: type_counts(&mix.by_type_priority),
        territory_leaderboard,
        product_families: reader.family_mix(&mix)?,
        coverage: reader.coverage()?,
        counts: mix.by_type_priority,
    })
}

/// One 10-point score bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Lowest score in the bucket (0, 10, … 90).
    pub from: i64,
    /// Upper bound: exclusive, except the last bucket, which includes 100.
    pub to: i64,
    /// Active leads in it.
    pub leads: i64,
}

/// Active leads in ten 10-point buckets, `[0, 10)` … `[90, 100]`, empty buckets included
/// (a score below 0 counts in the first, 100 or more in the last).
pub fn score_histogram(mix: &LeadMix) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = (0..10)
        .map(|i| Bucket {
            from: i * 10,
            to: i * 10 + 10,
            leads: 0,
        })
        .collect();
    for &(score, n) in &mix.scores {
        // `as` truncates toward zero, as SQL's CAST(score / 10 AS INTEGER) did.
        let i = ((score / 10.0) as i64).clamp(0, 9);
        if let Some(b) = usize::try_from(i).ok().and_then(|i| buckets.get_mut(i)) {
            b.leads += n;
        }
    }
    buckets
}
