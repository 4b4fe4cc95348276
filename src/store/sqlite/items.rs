//! The install base as evaluation reads and classifies it, and the SKU sheet's catalog.

use rhai::ImmutableString;
use rusqlite::{Connection, params};

use super::SqliteTx;
use crate::error::Result;
use crate::model::account::CatalogEntry;
use crate::model::item::{DATE_FIELDS, Interner, ItemRow, StoredDerived, TEXT_FIELDS};
use crate::store::api::Items;

/// Up to `limit` install-base rows with `id > after`, in id order, sharing repeated values
/// through `strings` (kept across chunks).
fn read_items(
    conn: &Connection,
    after: i64,
    limit: usize,
    strings: &mut Interner,
) -> Result<Vec<ItemRow>> {
    let sql = select_items("id > ?1 ORDER BY id LIMIT ?2");
    query_items(conn, &sql, rusqlite::params![after, limit as i64], strings)
}

/// The install-base rows of one serial number, in id order: exactly as written, else in any
/// case.
fn items_by_serial(conn: &Connection, serial: &str) -> Result<Vec<ItemRow>> {
    let strings = &mut Interner::default();
    let exact = select_items("serial_number = ?1 ORDER BY id");
    let rows = query_items(conn, &exact, [serial], strings)?;
    if !rows.is_empty() {
        return Ok(rows);
    }
    let any_case = select_items("serial_number = ?1 COLLATE NOCASE ORDER BY id");
    query_items(conn, &any_case, [serial], strings)
}

/// The item columns evaluation reads, from the rows `filter` selects.
fn select_items(filter: &str) -> String {
    let cols: Vec<&str> = TEXT_FIELDS.iter().chain(DATE_FIELDS).copied().collect();
    format!(
        "SELECT id, account_id, source_row, days_since_eol, days_since_expiry, risk_level,
         product_family, {}, asset_key FROM install_base WHERE {filter}",
        cols.join(", ")
    )
}

fn query_items(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    strings: &mut Interner,
) -> Result<Vec<ItemRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        let nt = TEXT_FIELDS.len();
        let mut shared = |i: usize| -> rusqlite::Result<Option<ImmutableString>> {
            Ok(r.get_ref(i)?.as_str_or_null()?.map(|s| strings.get(i, s)))
        };
        let text = (7..7 + nt)
            .map(&mut shared)
            .collect::<rusqlite::Result<_>>()?;
        let dates = (7 + nt..7 + nt + DATE_FIELDS.len())
            .map(shared)
            .collect::<rusqlite::Result<_>>()?;
        Ok(ItemRow {
            id: r.get(0)?,
            asset_key: r.get(7 + nt + DATE_FIELDS.len())?,
            account_id: r.get(1)?,
            source_row: r.get(2)?,
            stored: StoredDerived {
                days_since_eol: r.get(3)?,
                days_since_expiry: r.get(4)?,
                risk_level: r.get(5)?,
                product_family: r.get(6)?,
            },
            text,
            dates,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn write_derived(conn: &Connection, id: i64, d: &StoredDerived) -> Result<()> {
    conn.prepare_cached(
        "UPDATE install_base SET days_since_eol = ?1, days_since_expiry = ?2, risk_level = ?3,
         product_family = ?4 WHERE id = ?5",
    )?
    .execute(params![
        d.days_since_eol,
        d.days_since_expiry,
        d.risk_level,
        d.product_family,
        id
    ])?;
    Ok(())
}

/// Reads `service_catalog` (product rows only), in load order.
pub fn service_catalog(conn: &Connection) -> Result<Vec<CatalogEntry>> {
    let mut stmt = conn.prepare(
        "SELECT product_family, coalesce(category, ''), service, coalesce(skus, '')
         FROM service_catalog WHERE product_family IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CatalogEntry {
            product: r.get(0)?,
            category: r.get(1)?,
            service: r.get(2)?,
            skus: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Items for SqliteTx<'_> {
    fn read_items(
        &mut self,
        after: i64,
        limit: usize,
        strings: &mut Interner,
    ) -> Result<Vec<ItemRow>> {
        read_items(self.conn, after, limit, strings)
    }

    fn write_derived(&mut self, changed: &[(i64, &StoredDerived)]) -> Result<()> {
        changed
            .iter()
            .try_for_each(|(id, d)| write_derived(self.conn, *id, d))
    }

    fn items_by_serial(&mut self, serial: &str) -> Result<Vec<ItemRow>> {
        items_by_serial(self.conn, serial)
    }

    fn count_items(&mut self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM install_base", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn service_catalog(&mut self) -> Result<Vec<CatalogEntry>> {
        service_catalog(self.conn)
    }
}
