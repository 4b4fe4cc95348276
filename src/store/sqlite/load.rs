//! Writing ingested records. The records of a kind of sheet replace every row of its tables
//! (the snapshot before), so loading the same exports twice, or next month's under another
//! name, never duplicates anything.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Statement, ToSql, params};

use super::SqliteTx;
use super::schema::DEFERRED_INDEXES;
use crate::error::Result;
use crate::model::{CatalogRecord, Record, SheetKind, SourceRef};
use crate::store::api::{Loaded, Loads, RecordSink};
use crate::store::dates::{DateText, date};
use crate::store::kind_tables;

/// Deletes every row of `kind`'s tables; returns how many its first table held. A `DELETE`
/// without a `WHERE` clears a table by dropping its pages, not row by row.
fn clear_kind(conn: &Connection, kind: SheetKind) -> Result<u64> {
    let tables = kind_tables(kind);
    let mut held = 0;
    for (i, table) in tables.iter().enumerate().rev() {
        let n = conn.execute(&format!("DELETE FROM {table}"), [])?;
        if i == 0 {
            held = n as u64;
        }
    }
    Ok(held)
}

/// The kinds whose first table holds a row.
fn stored_kinds(conn: &Connection) -> Result<Vec<SheetKind>> {
    let mut kinds = Vec::new();
    for kind in SheetKind::ALL {
        if !all_empty(conn, &kind_tables(kind)[..1])? {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// True when none of `tables` has a row.
pub fn all_empty(conn: &Connection, tables: &[&str]) -> Result<bool> {
    for table in tables {
        if conn
            .prepare_cached(&format!("SELECT 1 FROM {table} LIMIT 1"))?
            .query([])?
            .next()?
            .is_some()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Drops the [`DEFERRED_INDEXES`] of data tables that are empty (of `only`, when given), inside
/// the run's transaction, and returns the statements that create them again, with their tables
/// (see [`create_indexes`]). A run that fails or is killed before it commits leaves them in
/// place, as it leaves everything.
pub fn defer_indexes(
    conn: &Connection,
    only: Option<&[&str]>,
) -> Result<Vec<(&'static str, String)>> {
    let mut dropped = Vec::new();
    for (table, index) in DEFERRED_INDEXES {
        if only.is_some_and(|o| !o.contains(table)) || !all_empty(conn, &[table])? {
            continue;
        }
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1 AND tbl_name = ?2",
                [index, table],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(sql) = sql {
            conn.execute_batch(&format!("DROP INDEX {index}"))?;
            dropped.push((*table, sql));
        }
    }
    Ok(dropped)
}

/// Creates the indexes [`defer_indexes`] dropped, now that the rows are in.
pub fn create_indexes(conn: &Connection, indexes: &[(&str, String)]) -> Result<()> {
    build_indexes(conn, indexes.iter().map(|(_, sql)| sql.as_str()))
}

/// Runs `CREATE INDEX` statements over many rows, the sorter set up as [`sorting`] says.
pub fn build_indexes<'a>(conn: &Connection, sqls: impl IntoIterator<Item = &'a str>) -> Result<()> {
    sorting(conn, || {
        Ok(sqls
            .into_iter()
            .try_for_each(|sql| conn.execute_batch(sql))?)
    })
}

/// Runs `f`, whose statements sort many rows (index builds, `GROUP BY` over a whole table), with
/// SQLite's sorter set for it. The sorter may take as much memory as the page cache allows, on
/// top of the cache itself: with the 128 MiB cache, the lead indexes' sorts were the peak of a
/// million-row run (526 MiB). A small cache for the duration bounds both; the sort spills to a
/// temporary file instead, which costs little for keys this small. Smaller still sorts faster:
/// with 2 MiB rather than 16, a million leads' indexes took 5.3 s rather than 7.2 s (the sorter
/// works in more, smaller runs, which its threads share). The sorter may use every core
/// (`PRAGMA threads`): a third off the 8 s the lead indexes took at a million leads, and the
/// callers run it where a core is otherwise idle.
pub fn sorting<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -2048; PRAGMA threads = {}",
        cores.min(4)
    ))?;
    let done = f();
    conn.execute_batch(&format!("PRAGMA cache_size = {cache}; PRAGMA threads = 0"))?;
    done
}

impl ToSql for DateText {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.as_bytes())))
    }
}

/// Writes records, with one INSERT statement per table prepared once for the whole load.
pub struct Writer<'c> {
    conn: &'c Connection,
    /// The indexes the load suspended (see [`defer_indexes`]).
    loaded: &'c mut Vec<(&'static str, String)>,
    install_base: Statement<'c>,
    opportunities: Statement<'c>,
    projects: Statement<'c>,
    services: Statement<'c>,
    service_credits: Statement<'c>,
    catalog: Statement<'c>,
    sku_mappings: Statement<'c>,
}

impl<'c> Writer<'c> {
    /// Prepares the statements. Rows with a sales territory are filed under its account
    /// (`ST-<territory>`, NULL without one) as they are written, which is what the account
    /// rebuild would set: it then has only the name-linked rows left to write.
    pub fn new(
        conn: &'c Connection,
        loaded: &'c mut Vec<(&'static str, String)>,
    ) -> Result<Writer<'c>> {
        Ok(Writer {
            conn,
            loaded,
            install_base: conn.prepare(
                "INSERT INTO install_base (serial_number, product_id, product_name, product_line,
                 platform, business_area, territory_id, account_name, business_unit, eol_date,
                 eosl_date, service_start, service_end, service_source, support_status,
                 service_agreement_id, source_file, source_sheet, source_row, account_id,
                 asset_key)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,
                 'ST-' || ?7, ?1)",
            )?,
            opportunities: conn.prepare(
                "INSERT INTO opportunities (opportunity_id, name, territory_id, account_name,
                 product_line, source_file, source_sheet, source_row, account_id)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,'ST-' || ?3)",
            )?,
            projects: conn.prepare(
                "INSERT INTO projects (project_id, raw_project_id, project_number, description,
                 customer, customer_id, territory_id, st_name, practice, status, system_status,
                 size_category, start_date, end_date, country, business_area,
                 third_party_svc_cost, third_party_mat_cost, labor_cost,
                 source_file, source_sheet, source_row, account_id)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,
                 'ST-' || ?7)",
            )?,
            services: conn.prepare(
                "INSERT INTO services (practice, sub_practice, service, source_file, source_sheet,
                 source_row) VALUES (?1,?2,?3,?4,?5,?6)",
            )?,
            service_credits: conn.prepare(
                "INSERT INTO service_credits (project_id, project_name, customer, country_code,
                 practice, purchased, converted, delivered, converted_not_delivered, active,
                 expiry_bucket, contract_end, source_file, source_sheet, source_row)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
            )?,
            catalog: conn.prepare(
                "INSERT INTO service_catalog (product_family, category, service, skus, source_file,
                 source_sheet, source_row, source_column) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?,
            sku_mappings: conn.prepare(
                "INSERT INTO service_sku_mappings (catalog_id, product_family, category, service,
                 sku, source_file, source_sheet, source_row) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?,
        })
    }

    /// Writes one record.
    pub fn insert(&mut self, rec: &Record) -> Result<()> {
        match rec {
            Record::InstallBase(r) => {
                let s = &r.src;
                self.install_base.execute(params![
                    r.serial_number,
                    r.product_id,
                    r.product_name,
                    r.product_line,
                    r.platform,
                    r.business_area,
                    r.territory_id,
                    r.account_name,
                    r.business_unit,
                    date(r.eol_date),
                    date(r.eosl_date),
                    date(r.service_start),
                    date(r.service_end),
                    r.service_source,
                    r.support_status,
                    r.service_agreement_id,
                    &*s.file,
                    &*s.sheet,
                    s.row
                ])?;
            }
            Record::Opportunity(r) => {
                let s = &r.src;
                self.opportunities.execute(params![
                    r.opportunity_id,
                    r.name,
                    r.territory_id,
                    r.account_name,
                    r.product_line,
                    &*s.file,
                    &*s.sheet,
                    s.row
                ])?;
            }
            Record::Project(r) => {
                let s = &r.src;
                self.projects.execute(params![
                    r.project_id,
                    r.raw_project_id,
                    r.project_number,
                    r.description,
                    r.customer,
                    r.customer_id,
                    r.territory_id,
                    r.st_name,
                    r.practice,
                    r.status,
                    r.system_status,
                    r.size_category,
                    date(r.start_date),
                    date(r.end_date),
                    r.country,
                    r.business_area,
                    r.third_party_svc_cost,
                    r.third_party_mat_cost,
                    r.labor_cost,
                    &*s.file,
                    &*s.sheet,
                    s.row
                ])?;
            }
            Record::Service(r) => {
                let s = &r.src;
                self.services.execute(params![
                    r.practice,
                    r.sub_practice,
                    r.service,
                    &*s.file,
                    &*s.sheet,
                    s.row
                ])?;
            }
            Record::ServiceCredit(r) => {
                let s = &r.src;
                self.service_credits.execute(params![
                    r.project_id,
                    r.project_name,
                    r.customer,
                    r.country_code,
                    r.practice,
                    r.purchased,
                    r.converted,
                    r.delivered,
                    r.converted_not_delivered,
                    r.active,
                    r.expiry_bucket,
                    date(r.contract_end),
                    &*s.file,
                    &*s.sheet,
                    s.row
                ])?;
            }
            Record::Catalog(r) => self.insert_catalog(r)?,
        }
        Ok(())
    }

    fn insert_catalog(&mut self, r: &CatalogRecord) -> Result<()> {
        let SourceRef { file, sheet, row } = &r.src;
        let skus = (!r.skus.is_empty()).then(|| r.skus.join("/"));
        self.catalog.execute(params![
            r.product_family,
            r.category,
            r.service,
            skus,
            file,
            sheet,
            row,
            r.column
        ])?;
        let catalog_id = self.conn.last_insert_rowid();
        for sku in &r.skus {
            self.sku_mappings.execute(params![
                catalog_id,
                r.product_family,
                r.category,
                r.service,
                sku,
                file,
                sheet,
                row
            ])?;
        }
        Ok(())
    }
}

impl Loads for SqliteTx<'_> {
    fn stored_kinds(&mut self) -> Result<Vec<SheetKind>> {
        stored_kinds(self.conn)
    }

    fn start_load(&mut self) -> Result<Box<dyn RecordSink + '_>> {
        self.loaded = defer_indexes(self.conn, None)?;
        let conn = self.conn;
        Ok(Box::new(Writer::new(conn, &mut self.loaded)?))
    }

    /// Install-base rows are never rewritten by the account rebuild, so their indexes can be
    /// built while the accounts are planned; the other tables' after the rebuild updated them.
    fn index_loaded(&mut self, part: Loaded) -> Result<()> {
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.loaded)
            .into_iter()
            .partition(|(table, _)| (*table == "install_base") == (part == Loaded::InstallBase));
        self.loaded = later;
        create_indexes(self.conn, &now)
    }
}

impl RecordSink for Writer<'_> {
    /// Emptied tables fill faster without their deferred indexes, as empty ones do: a second
    /// month's install base loads as the first did.
    fn replace(&mut self, kind: SheetKind) -> Result<u64> {
        let held = clear_kind(self.conn, kind)?;
        let dropped = defer_indexes(self.conn, Some(kind_tables(kind)))?;
        self.loaded.extend(dropped);
        Ok(held)
    }

    fn write(&mut self, rec: &Record) -> Result<()> {
        self.insert(rec)
    }

    /// Every record was written as it came.
    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
