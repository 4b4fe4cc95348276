//! The snapshots runs formed and the asset changes install-base snapshots recorded, for
//! `onelead changes` and the digest.

use rusqlite::{Connection, params_from_iter};

use crate::error::Result;
use crate::model::snapshot::{AssetChange, Change, ChangeCounts, SnapshotInfo};

/// The snapshots of kind `kind`, newest first.
pub fn snapshots(conn: &Connection, kind: &str) -> Result<Vec<SnapshotInfo>> {
    let mut stmt = conn.prepare(
        "SELECT snapshot_id, run_id, kind, files, rows, replaced, taken_at, changes
         FROM snapshots WHERE kind = ?1 ORDER BY snapshot_id DESC",
    )?;
    let rows = stmt.query_map([kind], |r| {
        let files: String = r.get(3)?;
        let changes: Option<String> = r.get(7)?;
        Ok(SnapshotInfo {
            snapshot_id: r.get(0)?,
            run_id: r.get(1)?,
            kind: r.get(2)?,
            files: serde_json::from_str(&files).unwrap_or_default(),
            rows: r.get::<_, i64>(4)? as u64,
            replaced: r.get::<_, i64>(5)? as u64,
            taken_at: r.get(6)?,
            changes: changes.and_then(|c| serde_json::from_str::<ChangeCounts>(&c).ok()),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The changes of `snapshot` of `kinds` (all when empty), by kind then key.
pub fn asset_changes(
    conn: &Connection,
    snapshot: i64,
    kinds: &[Change],
    limit: Option<usize>,
) -> Result<Vec<AssetChange>> {
    let wanted: Vec<&str> = if kinds.is_empty() {
        Change::ALL.iter().map(|c| c.as_str()).collect()
    } else {
        kinds.iter().map(|c| c.as_str()).collect()
    };
    let marks: Vec<String> = (2..wanted.len() + 2).map(|i| format!("?{i}")).collect();
    let limit = limit.map_or_else(String::new, |n| format!("LIMIT {n}"));
    let sql = format!(
        "SELECT c.change, c.asset_key, c.serial_number, c.product_id, c.product_name,
           c.territory_id, a.name, c.before, c.after
         FROM asset_changes c LEFT JOIN accounts a ON a.account_id = 'ST-' || c.territory_id
         WHERE c.snapshot_id = ?1 AND c.change IN ({})
         ORDER BY CASE c.change WHEN 'arrived' THEN 0 WHEN 'left' THEN 1
           WHEN 'support_status' THEN 2 ELSE 3 END, c.asset_key {limit}",
        marks.join(",")
    );
    let mut args: Vec<rusqlite::types::Value> = vec![snapshot.into()];
    args.extend(
        wanted
            .iter()
            .map(|w| rusqlite::types::Value::from((*w).to_string())),
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        let change: String = r.get(0)?;
        Ok(AssetChange {
            change: Change::parse(&change).unwrap_or(Change::SupportStatus),
            asset_key: r.get(1)?,
            serial_number: r.get(2)?,
            product_id: r.get(3)?,
            product_name: r.get(4)?,
            territory_id: r.get(5)?,
            account_name: r.get(6)?,
            before: r.get(7)?,
            after: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
