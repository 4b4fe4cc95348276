//! Snapshots and the asset register: recording which files formed which snapshot, and settling
//! a new install base against the one it replaced (asset keys, repeated keys, what changed).

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteTx;
use super::load::sorting;
use crate::error::Result;
use crate::model::snapshot::{ChangeCounts, Duplicate, RowRef, SettledInstallBase, SnapshotRecord};
use crate::store::api::Snapshots;

/// Repeated asset keys listed with their rows in a run's report; the rest are counted.
const DUPLICATES_SHOWN: usize = 20;
/// Rows listed per repeated key.
const ROWS_SHOWN: usize = 10;

/// The coverage class of the support status `col` (see `api::Snapshots::settle_install_base`).
/// `LIKE` ignores ASCII case.
pub(super) fn coverage(col: &str) -> String {
    format!(
        "CASE
    WHEN {col} LIKE '%uncovered%' THEN 'uncovered'
    WHEN {col} LIKE '%expired%' OR {col} LIKE '%inactive%' THEN 'expired'
    WHEN {col} LIKE '%active%' OR {col} LIKE '%warranty%' THEN 'covered'
    ELSE 'unknown' END"
    )
}

/// One row per asset of the install base: the first row of each key (SQLite takes the bare
/// columns from the row `min(id)` picks). A scan and a sort (`NOT INDEXED`, run under
/// [`sorting`]) read the table once, where walking `ib_asset` looked up every row.
const CURRENT: &str = "SELECT asset_key, min(id) AS id, serial_number, product_id, product_name,
    territory_id, support_status FROM install_base NOT INDEXED WHERE asset_key IS NOT NULL
    GROUP BY asset_key";

/// Records a snapshot; returns its id.
fn record(conn: &Connection, s: &SnapshotRecord<'_>) -> Result<i64> {
    conn.execute(
        "INSERT INTO snapshots (run_id, kind, files, rows, replaced, taken_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.run_id,
            s.kind.key(),
            serde_json::to_string(s.files).unwrap_or_else(|_| "[]".into()),
            s.rows as i64,
            s.replaced as i64,
            s.taken_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Gives the assets of serials that belong to several products the key `serial|product id`;
/// returns how many serials that was. Every key is a serial number when this runs (a new
/// snapshot was just loaded).
fn split_colliding(conn: &Connection) -> Result<u64> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS colliding (serial TEXT PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM temp.colliding;
         INSERT INTO temp.colliding SELECT asset_key FROM install_base
           WHERE asset_key IS NOT NULL GROUP BY asset_key
           HAVING count(DISTINCT coalesce(product_id, '')) > 1;",
    )?;
    let n = conn.execute(
        "UPDATE install_base SET asset_key = serial_number || '|' || coalesce(product_id, '')
         WHERE asset_key IN (SELECT serial FROM temp.colliding)",
        [],
    )?;
    let serials: i64 = if n == 0 {
        0
    } else {
        conn.query_row("SELECT count(*) FROM temp.colliding", [], |r| r.get(0))?
    };
    conn.execute_batch("DELETE FROM temp.colliding")?;
    Ok(serials as u64)
}

/// Asset keys on more than one row: how many, and the first few with their rows.
fn duplicates(conn: &Connection) -> Result<(u64, Vec<Duplicate>)> {
    let mut stmt = conn.prepare(
        "SELECT asset_key FROM install_base WHERE asset_key IS NOT NULL
         GROUP BY asset_key HAVING count(*) > 1 ORDER BY asset_key",
    )?;
    let keys: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rows = conn.prepare(&format!(
        "SELECT source_file, source_sheet, source_row FROM install_base WHERE asset_key = ?1
         ORDER BY id LIMIT {ROWS_SHOWN}"
    ))?;
    let mut shown = Vec::new();
    for key in keys.iter().take(DUPLICATES_SHOWN) {
        let refs = rows
            .query_map([key], |r| {
                Ok(RowRef {
                    file: r.get(0)?,
                    sheet: r.get(1)?,
                    row: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        shown.push(Duplicate {
            asset_key: key.clone(),
            rows: refs,
        });
    }
    Ok((keys.len() as u64, shown))
}

/// Makes the install base the register: the first snapshot, with nothing to compare it with.
fn register_all(conn: &Connection) -> Result<()> {
    conn.execute_batch(&format!(
        "INSERT INTO assets (asset_key, serial_number, product_id, product_name, territory_id,
           support_status, coverage, present)
         SELECT asset_key, serial_number, product_id, product_name, territory_id,
           support_status, {}, 1 FROM ({CURRENT}) ORDER BY asset_key",
        coverage("support_status")
    ))?;
    Ok(())
}

/// Records what changed between the register and the install base as snapshot `snapshot`'s
/// changes, in two passes: the install base against the register (arrived, support status,
/// coverage), then the register against the install base (left).
fn compare(conn: &Connection, snapshot: i64) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO asset_changes (snapshot_id, change, asset_key, serial_number, product_id,
               product_name, territory_id, before, after)
             SELECT ?1, k.change, c.asset_key, c.serial_number, c.product_id, c.product_name,
               c.territory_id,
               CASE k.change WHEN 'arrived' THEN NULL
                 WHEN 'support_status' THEN a.support_status ELSE a.coverage END,
               CASE k.change WHEN 'coverage' THEN c.coverage ELSE c.support_status END
             FROM (SELECT *, {} AS coverage FROM ({CURRENT})) c
             LEFT JOIN assets a ON a.asset_key = c.asset_key AND a.present = 1
             JOIN (SELECT 'arrived' AS change UNION ALL SELECT 'support_status'
                   UNION ALL SELECT 'coverage') k
               ON (k.change = 'arrived' AND a.asset_key IS NULL)
               OR (k.change = 'support_status' AND a.asset_key IS NOT NULL
                   AND a.support_status IS NOT c.support_status)
               OR (k.change = 'coverage' AND a.asset_key IS NOT NULL
                   AND a.coverage != c.coverage)",
            coverage("support_status")
        ),
        [snapshot],
    )?;
    conn.execute(
        "INSERT INTO asset_changes (snapshot_id, change, asset_key, serial_number, product_id,
           product_name, territory_id, before, after)
         SELECT ?1, 'left', a.asset_key, a.serial_number, a.product_id, a.product_name,
           a.territory_id, a.support_status, NULL
         FROM assets a WHERE a.present = 1
           AND NOT EXISTS (SELECT 1 FROM install_base i WHERE i.asset_key = a.asset_key)
         ORDER BY a.asset_key",
        [snapshot],
    )?;
    Ok(())
}

/// Brings the register up to date with snapshot `snapshot`'s changes: only the assets that
/// changed are written.
fn update_register(conn: &Connection, snapshot: i64) -> Result<()> {
    let cov = coverage("ch.after");
    conn.execute(
        "UPDATE assets SET present = 0 WHERE asset_key IN
           (SELECT asset_key FROM asset_changes WHERE snapshot_id = ?1 AND change = 'left')",
        [snapshot],
    )?;
    // An asset that comes back takes its place in the register again.
    conn.execute(
        &format!(
            "INSERT INTO assets (asset_key, serial_number, product_id, product_name,
               territory_id, support_status, coverage, present)
             SELECT ch.asset_key, ch.serial_number, ch.product_id, ch.product_name,
               ch.territory_id, ch.after, {cov}, 1
             FROM asset_changes ch WHERE ch.snapshot_id = ?1 AND ch.change = 'arrived'
             ON CONFLICT (asset_key) DO UPDATE SET serial_number = excluded.serial_number,
               product_id = excluded.product_id, product_name = excluded.product_name,
               territory_id = excluded.territory_id, support_status = excluded.support_status,
               coverage = excluded.coverage, present = 1"
        ),
        [snapshot],
    )?;
    conn.execute(
        &format!(
            "UPDATE assets SET support_status = ch.after, coverage = {cov},
               product_name = ch.product_name, territory_id = ch.territory_id
             FROM asset_changes ch WHERE ch.snapshot_id = ?1 AND ch.change = 'support_status'
               AND assets.asset_key = ch.asset_key"
        ),
        [snapshot],
    )?;
    Ok(())
}

/// How many changes of each kind `snapshot` recorded.
pub(super) fn counts(conn: &Connection, snapshot: i64) -> Result<ChangeCounts> {
    let mut c = ChangeCounts::default();
    let mut stmt = conn.prepare_cached(
        "SELECT change, count(*) FROM asset_changes WHERE snapshot_id = ?1 GROUP BY change",
    )?;
    for row in stmt.query_map([snapshot], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (change, n) = row?;
        c.set(&change, u64::try_from(n).unwrap_or(0));
    }
    Ok(c)
}

/// See `api::Snapshots::settle_install_base`.
fn settle(conn: &Connection, snapshot: i64) -> Result<SettledInstallBase> {
    sorting(conn, || settle_sorted(conn, snapshot))
}

fn settle_sorted(conn: &Connection, snapshot: i64) -> Result<SettledInstallBase> {
    let colliding_serials = split_colliding(conn)?;
    let (duplicates, duplicate_examples) = duplicates(conn)?;
    let assets: i64 = conn.query_row(
        "SELECT count(DISTINCT asset_key) FROM install_base",
        [],
        |r| r.get(0),
    )?;
    let empty = conn
        .query_row("SELECT 1 FROM assets LIMIT 1", [], |_| Ok(()))
        .optional()?
        .is_none();
    let changes = if empty {
        register_all(conn)?;
        None
    } else {
        compare(conn, snapshot)?;
        update_register(conn, snapshot)?;
        let c = counts(conn, snapshot)?;
        conn.execute(
            "UPDATE snapshots SET changes = ?1 WHERE snapshot_id = ?2",
            params![serde_json::to_string(&c).unwrap_or_default(), snapshot],
        )?;
        Some(c)
    };
    Ok(SettledInstallBase {
        assets: assets as u64,
        colliding_serials,
        duplicates,
        duplicate_examples,
        changes,
    })
}

impl Snapshots for SqliteTx<'_> {
    fn record_snapshot(&mut self, snapshot: &SnapshotRecord<'_>) -> Result<i64> {
        record(self.conn, snapshot)
    }

    fn settle_install_base(&mut self, snapshot: i64) -> Result<SettledInstallBase> {
        settle(self.conn, snapshot)
    }
}
