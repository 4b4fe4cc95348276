//! The snapshots runs formed and the asset changes install-base snapshots recorded, for
//! `onelead changes` and the digest (as `store/sqlite/views/snapshots.rs`).

use postgres::Client;
use postgres_types::ToSql;

use crate::error::Result;
use crate::model::snapshot::{AssetChange, Change, ChangeCounts, SnapshotInfo};

/// The snapshots of kind `kind`, newest first.
pub fn snapshots(client: &mut Client, kind: &str) -> Result<Vec<SnapshotInfo>> {
    client
        .query(
            "SELECT snapshot_id, run_id, kind, files, rows, replaced, taken_at, changes
             FROM snapshots WHERE kind = $1 ORDER BY snapshot_id DESC",
            &[&kind],
        )?
        .iter()
        .map(|r| {
            let files: String = r.try_get(3)?;
            let changes: Option<String> = r.try_get(7)?;
            Ok(SnapshotInfo {
                snapshot_id: r.try_get(0)?,
                run_id: r.try_get(1)?,
                kind: r.try_get(2)?,
                files: serde_json::from_str(&files).unwrap_or_default(),
                rows: u64::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
                replaced: u64::try_from(r.try_get::<_, i64>(5)?).unwrap_or(0),
                taken_at: r.try_get(6)?,
                changes: changes.and_then(|c| serde_json::from_str::<ChangeCounts>(&c).ok()),
            })
        })
        .collect()
}

/// The changes of `snapshot` of `kinds` (all when empty), by kind then key.
pub fn asset_changes(
    client: &mut Client,
    snapshot: i64,
    kinds: &[Change],
    limit: Option<usize>,
) -> Result<Vec<AssetChange>> {
    let wanted: Vec<&str> = if kinds.is_empty() {
        Change::ALL.iter().map(|c| c.as_str()).collect()
    } else {
        kinds.iter().map(|c| c.as_str()).collect()
    };
    let limit = limit.map_or_else(String::new, |n| format!("LIMIT {n}"));
    let sql = format!(
        "SELECT c.change, c.asset_key, c.serial_number, c.product_id, c.product_name,
           c.territory_id, a.name, c.before, c.after
         FROM asset_changes c LEFT JOIN accounts a ON a.account_id = 'ST-' || c.territory_id
         WHERE c.snapshot_id = $1 AND c.change = ANY($2::text[])
         ORDER BY CASE c.change WHEN 'arrived' THEN 0 WHEN 'left' THEN 1
           WHEN 'support_status' THEN 2 ELSE 3 END, c.asset_key {limit}"
    );
    let args: [&(dyn ToSql + Sync); 2] = [&snapshot, &wanted];
    client
        .query(&sql, &args)?
        .iter()
        .map(|r| {
            let change: String = r.try_get(0)?;
            Ok(AssetChange {
                change: Change::parse(&change).unwrap_or(Change::SupportStatus),
                asset_key: r.try_get(1)?,
                serial_number: r.try_get(2)?,
                product_id: r.try_get(3)?,
                product_name: r.try_get(4)?,
                territory_id: r.try_get(5)?,
                account_name: r.try_get(6)?,
                before: r.try_get(7)?,
                after: r.try_get(8)?,
            })
        })
        .collect()
}
