//! Writing ingested records with binary `COPY`, a buffer per table. The records of a kind of
//! sheet replace every row of its tables (the snapshot before), as on SQLite.

use postgres::Transaction;
use postgres_types::{ToSql, Type};

use super::PgTx;
use super::copy::{CopyRows, Text};
use super::schema::DEFERRED_INDEXES;
use crate::error::Result;
use crate::model::{CatalogRecord, Record, SheetKind};
use crate::store::api::{Loaded, Loads, RecordSink};
use crate::store::dates::date;
use crate::store::kind_tables;

/// A table's buffer is sent once it holds this many bytes: large enough that a `COPY`'s own
/// cost vanishes, small enough to bound a load's memory.
pub const FLUSH_BYTES: usize = 8 << 20;

const T: Type = Type::TEXT;
const I: Type = Type::INT8;
const F: Type = Type::FLOAT8;

/// True when none of `tables` has a row.
pub fn all_empty(tx: &mut Transaction<'_>, tables: &[&str]) -> Result<bool> {
    for table in tables {
        if tx
            .query_opt(&format!("SELECT 1 FROM {table} LIMIT 1"), &[])?
            .is_some()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Drops the [`DEFERRED_INDEXES`] of empty data tables; returns the statements that build
/// them again, with their tables. Inside the run's transaction: a failed run keeps them.
fn defer_indexes(tx: &mut Transaction<'_>) -> Result<Vec<(&'static str, String)>> {
    let mut dropped = Vec::new();
    for (table, index) in DEFERRED_INDEXES {
        if !all_empty(tx, &[table])? {
            continue;
        }
        let sql: Option<String> = tx
            .query_opt(
                "SELECT indexdef FROM pg_indexes
                 WHERE schemaname = current_schema() AND tablename = $1 AND indexname = $2",
                &[table, index],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(sql) = sql {
            tx.batch_execute(&format!("DROP INDEX {index}"))?;
            dropped.push((*table, sql));
        }
    }
    for table in REWRITTEN {
        if all_empty(tx, &[table])? {
            tx.batch_execute(&format!("ALTER TABLE {table} SET (fillfactor = {ROOMY})"))?;
        }
    }
    Ok(dropped)
}

/// The tables whose freshly loaded rows the same run rewrites: the install base gets its
/// derived fields, projects and credits their accounts. Loaded into an empty table, their
/// pages are left half empty ([`ROOMY`]) until the rewrite is done: each row's new version then
/// fits beside the old one, so the rewrite touches no index (a HOT update) instead of
/// inserting every row into the table's indexes again.
pub const REWRITTEN: &[&str] = &["install_base", "projects", "service_credits"];

/// Percent of each page a load into an empty [`REWRITTEN`] table fills.
const ROOMY: u8 = 50;

/// Back to full pages for the rows later runs add (those written so far keep their room).
pub fn pack_rewritten(tx: &mut Transaction<'_>) -> Result<()> {
    for table in REWRITTEN {
        tx.batch_execute(&format!("ALTER TABLE {table} RESET (fillfactor)"))?;
    }
    Ok(())
}

/// Gathers the planner's statistics of freshly filled tables, from a small sample: the run's
/// own queries and the views right after it then plan with real counts, and autovacuum
/// refines the statistics later: until then they need to be roughly right, not the default
/// sample's 30,000 rows a table.
pub fn analyze(tx: &mut Transaction<'_>, tables: &[&str]) -> Result<()> {
    if tables.is_empty() {
        return Ok(());
    }
    tx.batch_execute(&format!(
        "SET LOCAL default_statistics_target = 10; ANALYZE {}; RESET default_statistics_target",
        tables.join(", ")
    ))?;
    Ok(())
}

/// Builds indexes over many rows, with the memory a sort of a million keys wants.
pub fn build_indexes<'a>(
    tx: &mut Transaction<'_>,
    sqls: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    tx.batch_execute("SET LOCAL maintenance_work_mem = '256MB'")?;
    for sql in sqls {
        tx.batch_execute(sql)?;
    }
    tx.batch_execute("RESET maintenance_work_mem")?;
    Ok(())
}

/// The load's buffers, one per table.
pub struct Writer<'t, 'c> {
    tx: &'t mut Transaction<'c>,
    install_base: CopyRows,
    opportunities: CopyRows,
    projects: CopyRows,
    services: CopyRows,
    service_credits: CopyRows,
    sku_mappings: CopyRows,
}

impl<'t, 'c> Writer<'t, 'c> {
    fn new(tx: &'t mut Transaction<'c>) -> Writer<'t, 'c> {
        let src = [("source_file", T), ("source_sheet", T), ("source_row", I)];
        let cols = |names: &[(&'static str, Type)]| -> Vec<(&'static str, Type)> {
            names.iter().cloned().chain(src.iter().cloned()).collect()
        };
        Writer {
            tx,
            install_base: CopyRows::new(
                "install_base",
                &cols(&[
                    ("serial_number", T),
                    ("product_id", T),
                    ("product_name", T),
                    ("product_line", T),
                    ("platform", T),
                    ("business_area", T),
                    ("territory_id", T),
                    ("account_name", T),
                    ("business_unit", T),
                    ("eol_date", T),
                    ("eosl_date", T),
                    ("service_start", T),
                    ("service_end", T),
                    ("service_source", T),
                    ("support_status", T),
                    ("service_agreement_id", T),
                    ("account_id", T),
                    ("asset_key", T),
                ]),
            ),
            opportunities: CopyRows::new(
                "opportunities",
                &cols(&[
                    ("opportunity_id", T),
                    ("name", T),
                    ("territory_id", T),
                    ("account_name", T),
                    ("product_line", T),
                    ("account_id", T),
                ]),
            ),
            projects: CopyRows::new(
                "projects",
                &cols(&[
                    ("project_id", T),
                    ("raw_project_id", T),
                    ("project_number", T),
                    ("description", T),
                    ("customer", T),
                    ("customer_id", T),
                    ("territory_id", T),
                    ("st_name", T),
                    ("practice", T),
                    ("status", T),
                    ("system_status", T),
                    ("size_category", T),
                    ("start_date", T),
                    ("end_date", T),
                    ("country", T),
                    ("business_area", T),
                    ("third_party_svc_cost", F),
                    ("third_party_mat_cost", F),
                    ("labor_cost", F),
                    ("account_id", T),
                ]),
            ),
            services: CopyRows::new(
                "services",
                &cols(&[("practice", T), ("sub_practice", T), ("service", T)]),
            ),
            service_credits: CopyRows::new(
                "service_credits",
                &cols(&[
                    ("project_id", T),
                    ("project_name", T),
                    ("customer", T),
                    ("country_code", T),
                    ("practice", T),
                    ("purchased", I),
                    ("converted", I),
                    ("delivered", I),
                    ("converted_not_delivered", I),
                    ("active", I),
                    ("expiry_bucket", T),
                    ("contract_end", T),
                ]),
            ),
            sku_mappings: CopyRows::new(
                "service_sku_mappings",
                &cols(&[
                    ("catalog_id", I),
                    ("product_family", T),
                    ("category", T),
                    ("service", T),
                    ("sku", T),
                ]),
            ),
        }
    }

    /// Sends every buffered row.
    fn flush_all(&mut self) -> Result<()> {
        let tx = &mut *self.tx;
        for rows in [
            &mut self.install_base,
            &mut self.opportunities,
            &mut self.projects,
            &mut self.services,
            &mut self.service_credits,
            &mut self.sku_mappings,
        ] {
            rows.flush(tx)?;
        }
        Ok(())
    }

    /// Encodes one record into its table's buffer, and sends the buffer when it is full.
    fn insert(&mut self, rec: &Record) -> Result<()> {
        let rows = match rec {
            Record::InstallBase(r) => {
                let s = &r.src;
                let dates = [r.eol_date, r.eosl_date, r.service_start, r.service_end].map(date);
                let dates = dates.each_ref().map(|d| Text::date(d.as_ref()));
                let account = Text::account(r.territory_id.as_deref());
                self.install_base.push(&[
                    &r.serial_number,
                    &r.product_id,
                    &r.product_name,
                    &r.product_line,
                    &r.platform,
                    &r.business_area,
                    &r.territory_id,
                    &r.account_name,
                    &r.business_unit,
                    &dates[0],
                    &dates[1],
                    &dates[2],
                    &dates[3],
                    &r.service_source,
                    &r.support_status,
                    &r.service_agreement_id,
                    &account,
                    // The serial number until the snapshot is settled (`snapshots::settle`).
                    &r.serial_number,
                    &&*s.file,
                    &&*s.sheet,
                    &i64::from(s.row),
                ])?;
                &mut self.install_base
            }
            Record::Opportunity(r) => {
                let s = &r.src;
                let account = Text::account(r.territory_id.as_deref());
                self.opportunities.push(&[
                    &r.opportunity_id,
                    &r.name,
                    &r.territory_id,
                    &r.account_name,
                    &r.product_line,
                    &account,
                    &&*s.file,
                    &&*s.sheet,
                    &i64::from(s.row),
                ])?;
                &mut self.opportunities
            }
            Record::Project(r) => {
                self.project(r)?;
                &mut self.projects
            }
            Record::Service(r) => {
                let s = &r.src;
                self.services.push(&[
                    &r.practice,
                    &r.sub_practice,
                    &r.service,
                    &&*s.file,
                    &&*s.sheet,
                    &i64::from(s.row),
                ])?;
                &mut self.services
            }
            Record::ServiceCredit(r) => {
                let s = &r.src;
                let end = date(r.contract_end);
                let end = Text::date(end.as_ref());
                self.service_credits.push(&[
                    &r.project_id,
                    &r.project_name,
                    &r.customer,
                    &r.country_code,
                    &r.practice,
                    &r.purchased,
                    &r.converted,
                    &r.delivered,
                    &r.converted_not_delivered,
                    &r.active,
                    &r.expiry_bucket,
                    &end,
                    &&*s.file,
                    &&*s.sheet,
                    &i64::from(s.row),
                ])?;
                &mut self.service_credits
            }
            Record::Catalog(r) => {
                self.catalog(r)?;
                &mut self.sku_mappings
            }
        };
        if rows.bytes() >= FLUSH_BYTES {
            rows.flush(self.tx)?;
        }
        Ok(())
    }

    fn project(&mut self, r: &crate::model::ProjectRecord) -> Result<()> {
        let s = &r.src;
        let account = Text::account(r.territory_id.as_deref());
        let dates = [r.start_date, r.end_date].map(date);
        let dates = dates.each_ref().map(|d| Text::date(d.as_ref()));
        let values: [&dyn ToSql; 23] = [
            &r.project_id,
            &r.raw_project_id,
            &r.project_number,
            &r.description,
            &r.customer,
            &r.customer_id,
            &r.territory_id,
            &r.st_name,
            &r.practice,
            &r.status,
            &r.system_status,
            &r.size_category,
            &dates[0],
            &dates[1],
            &r.country,
            &r.business_area,
            &r.third_party_svc_cost,
            &r.third_party_mat_cost,
            &r.labor_cost,
            &account,
            &&*s.file,
            &&*s.sheet,
            &i64::from(s.row),
        ];
        self.projects.push(&values)
    }

    /// A catalog row is inserted at once (a sheet has a few hundred), for its id; its SKU
    /// mappings go to their buffer.
    fn catalog(&mut self, r: &CatalogRecord) -> Result<()> {
        let s = &r.src;
        let skus = (!r.skus.is_empty()).then(|| r.skus.join("/"));
        let row = i64::from(s.row);
        let id: i64 = self
            .tx
            .query_one(
                "INSERT INTO service_catalog (product_family, category, service, skus,
                 source_file, source_sheet, source_row, source_column)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &r.product_family,
                    &r.category,
                    &r.service,
                    &skus,
                    &&*s.file,
                    &&*s.sheet,
                    &row,
                    &r.column,
                ],
            )?
            .try_get(0)?;
        for sku in &r.skus {
            self.sku_mappings.push(&[
                &id,
                &r.product_family,
                &r.category,
                &r.service,
                sku,
                &&*s.file,
                &&*s.sheet,
                &row,
            ])?;
        }
        Ok(())
    }
}

impl RecordSink for Writer<'_, '_> {
    /// `DELETE`, not `TRUNCATE`, and the indexes kept: either would lock the views out of
    /// the table until the run commits, where they read the last committed snapshot meanwhile.
    fn replace(&mut self, kind: SheetKind) -> Result<u64> {
        // Rows buffered for this kind, read earlier in this run, go first.
        self.flush_all()?;
        let tables = kind_tables(kind);
        let mut held = 0;
        for (i, table) in tables.iter().enumerate().rev() {
            let n = self.tx.execute(&format!("DELETE FROM {table}"), &[])?;
            if i == 0 {
                held = n;
            }
        }
        Ok(held)
    }

    fn write(&mut self, rec: &Record) -> Result<()> {
        self.insert(rec)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.flush_all()
    }
}

impl Loads for PgTx<'_> {
    fn stored_kinds(&mut self) -> Result<Vec<SheetKind>> {
        let mut kinds = Vec::new();
        for kind in SheetKind::ALL {
            if !all_empty(&mut self.tx, &kind_tables(kind)[..1])? {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }

    fn start_load(&mut self) -> Result<Box<dyn RecordSink + '_>> {
        self.loaded = defer_indexes(&mut self.tx)?;
        Ok(Box::new(Writer::new(&mut self.tx)))
    }

    /// The other tables' indexes are built once the account rebuild updated them; the install
    /// base's wait until the evaluation wrote its derived fields (see `items::derived_rows`).
    fn index_loaded(&mut self, part: Loaded) -> Result<()> {
        if part == Loaded::InstallBase {
            return Ok(());
        }
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.loaded)
            .into_iter()
            .partition(|(table, _)| *table != "install_base");
        self.loaded = later;
        build_indexes(&mut self.tx, now.iter().map(|(_, sql)| sql.as_str()))?;
        let mut tables: Vec<&str> = now.iter().map(|(t, _)| *t).collect();
        tables.dedup();
        analyze(&mut self.tx, &tables)
    }
}
