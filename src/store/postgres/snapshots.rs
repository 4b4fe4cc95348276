//! Snapshots and the asset register on PostgreSQL, as on SQLite (`store/sqlite/snapshots.rs`):
//! recording which files formed which snapshot, and settling a new install base against the
//! one it replaced (asset keys, repeated keys, what changed).

use postgres::Transaction;

use super::PgTx;
use crate::error::Result;
use crate::model::snapshot::{ChangeCounts, Duplicate, RowRef, SettledInstallBase, SnapshotRecord};
use crate::store::api::Snapshots;

/// Repeated asset keys listed with their rows in a run's report; the rest are counted.
const DUPLICATES_SHOWN: i64 = 20;
/// Rows listed per repeated key.
const ROWS_SHOWN: i64 = 10;

/// The coverage class of the support status `col` (see `api::Snapshots::settle_install_base`),
/// ignoring case as SQLite's `LIKE` does.
pub fn coverage(col: &str) -> String {
    format!(
        "CASE
    WHEN {col} ILIKE '%uncovered%' THEN 'uncovered'
    WHEN {col} ILIKE '%expired%' OR {col} ILIKE '%inactive%' THEN 'expired'
    WHEN {col} ILIKE '%active%' OR {col} ILIKE '%warranty%' THEN 'covered'
    ELSE 'unknown' END"
    )
}

/// One row per asset of the install base: the first row of each key.
const CURRENT: &str = "SELECT DISTINCT ON (asset_key) asset_key, id, serial_number, product_id,
    product_name, territory_id, support_status FROM install_base WHERE asset_key IS NOT NULL
    ORDER BY asset_key, id";

/// Records a snapshot; returns its id.
fn record(tx: &mut Transaction<'_>, s: &SnapshotRecord<'_>) -> Result<i64> {
    let files = serde_json::to_string(s.files).unwrap_or_else(|_| "[]".into());
    let rows = i64::try_from(s.rows).unwrap_or(i64::MAX);
    let replaced = i64::try_from(s.replaced).unwrap_or(i64::MAX);
    Ok(tx
        .query_one(
            "INSERT INTO snapshots (run_id, kind, files, rows, replaced, taken_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING snapshot_id",
            &[
                &s.run_id,
                &s.kind.key(),
                &files,
                &rows,
                &replaced,
                &s.taken_at,
            ],
        )?
        .try_get(0)?)
}

/// Gives the assets of serials that belong to several products the key `serial|product id`;
/// returns how many serials that was.
fn split_colliding(tx: &mut Transaction<'_>) -> Result<u64> {
    let serials: i64 = tx
        .query_one(
            "WITH colliding AS (
               SELECT asset_key FROM install_base WHERE asset_key IS NOT NULL GROUP BY asset_key
               HAVING count(DISTINCT coalesce(product_id, '')) > 1),
             split AS (
               UPDATE install_base i
               SET asset_key = i.serial_number || '|' || coalesce(i.product_id, '')
               FROM colliding c WHERE i.asset_key = c.asset_key RETURNING 1)
             SELECT (SELECT count(*) FROM colliding) + 0 * (SELECT count(*) FROM split)",
            &[],
        )?
        .try_get(0)?;
    Ok(u64::try_from(serials).unwrap_or(0))
}

/// Asset keys on more than one row: how many, and the first few with their rows.
fn duplicates(tx: &mut Transaction<'_>) -> Result<(u64, Vec<Duplicate>)> {
    let n: i64 = tx
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM install_base WHERE asset_key IS NOT NULL
               GROUP BY asset_key HAVING count(*) > 1) d",
            &[],
        )?
        .try_get(0)?;
    let keys = tx.query(
        "SELECT asset_key FROM install_base WHERE asset_key IS NOT NULL
         GROUP BY asset_key HAVING count(*) > 1 ORDER BY asset_key LIMIT $1",
        &[&DUPLICATES_SHOWN],
    )?;
    let mut shown = Vec::with_capacity(keys.len());
    for k in keys {
        let key: String = k.try_get(0)?;
        let rows = tx
            .query(
                "SELECT source_file, source_sheet, source_row FROM install_base
                 WHERE asset_key = $1 ORDER BY id LIMIT $2",
                &[&key, &ROWS_SHOWN],
            )?
            .iter()
            .map(|r| {
                Ok(RowRef {
                    file: r.try_get(0)?,
                    sheet: r.try_get(1)?,
                    row: r.try_get(2)?,
                })
            })
            .collect::<Result<_>>()?;
        shown.push(Duplicate {
            asset_key: key,
            rows,
        });
    }
    Ok((u64::try_from(n).unwrap_or(0), shown))
}

/// Makes the install base the register: the first snapshot, with nothing to compare it with.
fn register_all(tx: &mut Transaction<'_>) -> Result<()> {
    tx.batch_execute(&format!(
        "INSERT INTO assets (asset_key, serial_number, product_id, product_name, territory_id,
           support_status, coverage, present)
         SELECT asset_key, serial_number, product_id, product_name, territory_id,
           support_status, {}, 1 FROM ({CURRENT}) c ORDER BY asset_key",
        coverage("support_status")
    ))?;
    Ok(())
}

/// Records what changed between the register and the install base as snapshot `snapshot`'s
/// changes: the install base against the register (arrived, support status, coverage), then
/// the register against the install base (left).
fn compare(tx: &mut Transaction<'_>, snapshot: i64) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO asset_changes (snapshot_id, change, asset_key, serial_number, product_id,
               product_name, territory_id, before, after)
             SELECT $1, k.change, c.asset_key, c.serial_number, c.product_id, c.product_name,
               c.territory_id,
               CASE k.change WHEN 'arrived' THEN NULL
                 WHEN 'support_status' THEN a.support_status ELSE a.coverage END,
               CASE k.change WHEN 'coverage' THEN c.coverage ELSE c.support_status END
             FROM (SELECT cur.*, {} AS coverage FROM ({CURRENT}) cur) c
             LEFT JOIN assets a ON a.asset_key = c.asset_key AND a.present = 1
             JOIN (VALUES ('arrived'), ('support_status'), ('coverage')) k(change)
               ON (k.change = 'arrived' AND a.asset_key IS NULL)
               OR (k.change = 'support_status' AND a.asset_key IS NOT NULL
                   AND a.support_status IS DISTINCT FROM c.support_status)
               OR (k.change = 'coverage' AND a.asset_key IS NOT NULL
                   AND a.coverage <> c.coverage)
             ORDER BY c.asset_key, k.change",
            coverage("cur.support_status")
        ),
        &[&snapshot],
    )?;
    tx.execute(
        "INSERT INTO asset_changes (snapshot_id, change, asset_key, serial_number, product_id,
           product_name, territory_id, before, after)
         SELECT $1, 'left', a.asset_key, a.serial_number, a.product_id, a.product_name,
           a.territory_id, a.support_status, NULL
         FROM assets a WHERE a.present = 1
           AND NOT EXISTS (SELECT 1 FROM install_base i WHERE i.asset_key = a.asset_key)
         ORDER BY a.asset_key",
        &[&snapshot],
    )?;
    Ok(())
}

/// Brings the register up to date with snapshot `snapshot`'s changes.
fn update_register(tx: &mut Transaction<'_>, snapshot: i64) -> Result<()> {
    let cov = coverage("ch.after");
    tx.execute(
        "UPDATE assets SET present = 0 WHERE asset_key IN
           (SELECT asset_key FROM asset_changes WHERE snapshot_id = $1 AND change = 'left')",
        &[&snapshot],
    )?;
    // An asset that comes back takes its place in the register again.
    tx.execute(
        &format!(
            "INSERT INTO assets (asset_key, serial_number, product_id, product_name,
               territory_id, support_status, coverage, present)
             SELECT ch.asset_key, ch.serial_number, ch.product_id, ch.product_name,
               ch.territory_id, ch.after, {cov}, 1
             FROM asset_changes ch WHERE ch.snapshot_id = $1 AND ch.change = 'arrived'
             ON CONFLICT (asset_key) DO UPDATE SET serial_number = excluded.serial_number,
               product_id = excluded.product_id, product_name = excluded.product_name,
               territory_id = excluded.territory_id, support_status = excluded.support_status,
               coverage = excluded.coverage, present = 1"
        ),
        &[&snapshot],
    )?;
    tx.execute(
        &format!(
            "UPDATE assets SET support_status = ch.after, coverage = {cov},
               product_name = ch.product_name, territory_id = ch.territory_id
             FROM asset_changes ch WHERE ch.snapshot_id = $1 AND ch.change = 'support_status'
               AND assets.asset_key = ch.asset_key"
        ),
        &[&snapshot],
    )?;
    Ok(())
}

/// How many changes of each kind `snapshot` recorded.
fn counts(tx: &mut Transaction<'_>, snapshot: i64) -> Result<ChangeCounts> {
    let mut c = ChangeCounts::default();
    for r in tx.query(
        "SELECT change, count(*) FROM asset_changes WHERE snapshot_id = $1 GROUP BY change",
        &[&snapshot],
    )? {
        let change: String = r.try_get(0)?;
        c.set(&change, u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0));
    }
    Ok(c)
}

/// See `api::Snapshots::settle_install_base`.
fn settle(tx: &mut Transaction<'_>, snapshot: i64) -> Result<SettledInstallBase> {
    let colliding_serials = split_colliding(tx)?;
    let (duplicates, duplicate_examples) = duplicates(tx)?;
    let assets: i64 = tx
        .query_one("SELECT count(DISTINCT asset_key) FROM install_base", &[])?
        .try_get(0)?;
    let empty = tx.query_opt("SELECT 1 FROM assets LIMIT 1", &[])?.is_none();
    let changes = if empty {
        register_all(tx)?;
        None
    } else {
        compare(tx, snapshot)?;
        update_register(tx, snapshot)?;
        let c = counts(tx, snapshot)?;
        tx.execute(
            "UPDATE snapshots SET changes = $1 WHERE snapshot_id = $2",
            &[&serde_json::to_string(&c).unwrap_or_default(), &snapshot],
        )?;
        Some(c)
    };
    Ok(SettledInstallBase {
        assets: u64::try_from(assets).unwrap_or(0),
        colliding_serials,
        duplicates,
        duplicate_examples,
        changes,
    })
}

impl Snapshots for PgTx<'_> {
    fn record_snapshot(&mut self, snapshot: &SnapshotRecord<'_>) -> Result<i64> {
        record(&mut self.tx, snapshot)
    }

    fn settle_install_base(&mut self, snapshot: i64) -> Result<SettledInstallBase> {
        settle(&mut self.tx, snapshot)
    }
}
