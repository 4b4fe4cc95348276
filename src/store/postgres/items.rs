//! The install base as evaluation reads and classifies it, and the SKU sheet's catalog.

use rhai::ImmutableString;

use postgres_types::Type;

use super::PgTx;
use super::copy::CopyRows;
use super::load::{FLUSH_BYTES, analyze, build_indexes, pack_rewritten};
use crate::error::Result;
use crate::model::account::CatalogEntry;
use crate::model::item::{DATE_FIELDS, Interner, ItemRow, StoredDerived, TEXT_FIELDS};
use crate::store::api::Items;

/// Columns before the text and date fields in [`read_items`]' rows.
const FIXED: usize = 7;

/// Up to `limit` install-base rows with `id > after`, in id order, sharing repeated values
/// through `strings` (kept across chunks).
pub fn read_items(
    client: &mut impl postgres::GenericClient,
    after: i64,
    limit: usize,
    strings: &mut Interner,
) -> Result<Vec<ItemRow>> {
    let sql = format!(
        "SELECT {} FROM install_base WHERE id > $1 ORDER BY id LIMIT $2",
        item_columns()
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    client
        .query(&sql, &[&after, &limit])?
        .iter()
        .map(|r| item_row(r, strings))
        .collect()
}

/// The install-base rows of one serial number, in id order: exactly as written, else in any
/// case (ASCII letters, as SQLite's `NOCASE`).
fn items_by_serial(
    client: &mut impl postgres::GenericClient,
    serial: &str,
) -> Result<Vec<ItemRow>> {
    let strings = &mut Interner::default();
    for filter in [
        "serial_number = $1",
        "translate(serial_number, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
           = translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
    ] {
        let sql = format!(
            "SELECT {} FROM install_base WHERE {filter} ORDER BY id",
            item_columns()
        );
        let rows = client
            .query(&sql, &[&serial])?
            .iter()
            .map(|r| item_row(r, strings))
            .collect::<Result<Vec<_>>>()?;
        if !rows.is_empty() {
            return Ok(rows);
        }
    }
    Ok(Vec::new())
}

/// An item from a row of `id, account_id, source_row`, the derived columns, then the text and
/// date fields in their order (see [`item_columns`]).
pub fn item_row(r: &postgres::Row, strings: &mut Interner) -> Result<ItemRow> {
    let nt = TEXT_FIELDS.len();
    let mut shared = |i: usize| -> Result<Option<ImmutableString>> {
        Ok(r.try_get::<_, Option<&str>>(i)?.map(|s| strings.get(i, s)))
    };
    let text = (FIXED..FIXED + nt)
        .map(&mut shared)
        .collect::<Result<_>>()?;
    let dates = (FIXED + nt..FIXED + nt + DATE_FIELDS.len())
        .map(shared)
        .collect::<Result<_>>()?;
    Ok(ItemRow {
        id: r.try_get(0)?,
        asset_key: r.try_get(FIXED + nt + DATE_FIELDS.len())?,
        account_id: r.try_get(1)?,
        source_row: r.try_get(2)?,
        stored: StoredDerived {
            days_since_eol: r.try_get(3)?,
            days_since_expiry: r.try_get(4)?,
            risk_level: r.try_get(5)?,
            product_family: r.try_get(6)?,
        },
        text,
        dates,
    })
}

/// The columns [`item_row`] reads, in its order.
pub fn item_columns() -> String {
    let fields: Vec<&str> = TEXT_FIELDS.iter().chain(DATE_FIELDS).copied().collect();
    format!(
        "id, account_id, source_row, days_since_eol, days_since_expiry, risk_level,
         product_family, {}, asset_key",
        fields.join(", ")
    )
}

/// The derived fields of changed items, staged until [`PgTx::settle_items`] writes them all.
///
/// An `UPDATE` per chunk rewrites each row with every index of the table. Staged by `COPY`
/// into a temporary table and applied by one `UPDATE` at the end of the evaluation (after
/// which nothing in the run reads them), with the indexes of a table loaded into empty built
/// only then, the rows are rewritten once and the indexes built once.
pub fn derived_rows() -> CopyRows {
    CopyRows::new(
        "item_derived",
        &[
            ("id", Type::INT8),
            ("days_since_eol", Type::INT8),
            ("days_since_expiry", Type::INT8),
            ("risk_level", Type::TEXT),
            ("product_family", Type::TEXT),
        ],
    )
}

impl PgTx<'_> {
    /// Writes the staged derived fields, then builds the indexes a load into empty tables
    /// left for now.
    pub(super) fn settle_items(&mut self) -> Result<()> {
        if let Some(mut rows) = self.derived.take() {
            rows.flush(&mut self.tx)?;
            self.tx.batch_execute(
                "UPDATE install_base i SET days_since_eol = d.days_since_eol,
                   days_since_expiry = d.days_since_expiry, risk_level = d.risk_level,
                   product_family = d.product_family
                 FROM item_derived d WHERE i.id = d.id;
                 DROP TABLE item_derived",
            )?;
        }
        // The install base's, and any a caller left (the others are built by `index_loaded`).
        let left = std::mem::take(&mut self.loaded);
        if !left.is_empty() {
            build_indexes(&mut self.tx, left.iter().map(|(_, sql)| sql.as_str()))?;
            analyze(&mut self.tx, &["install_base"])?;
            pack_rewritten(&mut self.tx)?;
        }
        Ok(())
    }

    /// Stages the derived fields of a chunk's changed items.
    fn stage_derived(&mut self, changed: &[(i64, &StoredDerived)]) -> Result<()> {
        if changed.is_empty() {
            return Ok(());
        }
        if self.derived.is_none() {
            self.tx.batch_execute(
                "CREATE TEMP TABLE IF NOT EXISTS item_derived (id bigint, days_since_eol bigint,
                   days_since_expiry bigint, risk_level text, product_family text)
                 ON COMMIT DROP",
            )?;
            self.derived = Some(derived_rows());
        }
        let Some(rows) = self.derived.as_mut() else {
            return Ok(());
        };
        for (id, d) in changed {
            rows.push(&[
                id,
                &d.days_since_eol,
                &d.days_since_expiry,
                &d.risk_level,
                &d.product_family,
            ])?;
        }
        if rows.bytes() >= FLUSH_BYTES {
            rows.flush(&mut self.tx)?;
        }
        Ok(())
    }
}

/// Reads `service_catalog` (product rows only), in load order.
pub fn service_catalog(client: &mut impl postgres::GenericClient) -> Result<Vec<CatalogEntry>> {
    client
        .query(
            "SELECT product_family, coalesce(category, ''), service, coalesce(skus, '')
             FROM service_catalog WHERE product_family IS NOT NULL ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(CatalogEntry {
                product: r.try_get(0)?,
                category: r.try_get(1)?,
                service: r.try_get(2)?,
                skus: r.try_get(3)?,
            })
        })
        .collect()
}

impl Items for PgTx<'_> {
    fn read_items(
        &mut self,
        after: i64,
        limit: usize,
        strings: &mut Interner,
    ) -> Result<Vec<ItemRow>> {
        read_items(&mut self.tx, after, limit, strings)
    }

    fn write_derived(&mut self, changed: &[(i64, &StoredDerived)]) -> Result<()> {
        self.stage_derived(changed)
    }

    fn items_by_serial(&mut self, serial: &str) -> Result<Vec<ItemRow>> {
        items_by_serial(&mut self.tx, serial)
    }

    fn count_items(&mut self) -> Result<usize> {
        let n: i64 = self
            .tx
            .query_one("SELECT count(*) FROM install_base", &[])?
            .try_get(0)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn service_catalog(&mut self) -> Result<Vec<CatalogEntry>> {
        service_catalog(&mut self.tx)
    }
}
