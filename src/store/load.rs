//! Writing ingested records. Loading a file replaces every row an earlier load of the same file
//! name wrote, so loading the same exports twice never duplicates anything.

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use crate::error::Result;
use crate::model::{CatalogRecord, Record, SourceRef};
use crate::store::schema::DATA_TABLES;

/// Deletes every row that an earlier load of `file` (a file name) wrote.
pub fn forget_file(conn: &Connection, file: &str) -> Result<()> {
    // Mappings reference catalog rows, so they go first (reverse load order).
    for table in DATA_TABLES.iter().rev() {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE source_file = ?1"))?
            .execute([file])?;
    }
    Ok(())
}

fn date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

/// Writes one record.
pub fn insert(conn: &Connection, rec: &Record) -> Result<()> {
    match rec {
        Record::InstallBase(r) => {
            let s = &r.src;
            conn.prepare_cached(
                "INSERT INTO install_base (serial_number, product_id, product_name, product_line,
                 platform, business_area, territory_id, account_name, business_unit, eol_date,
                 eosl_date, service_start, service_end, service_source, support_status,
                 service_agreement_id, source_file, source_sheet, source_row)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
            )?
            .execute(params![
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
                s.file,
                s.sheet,
                s.row
            ])?;
        }
        Record::Opportunity(r) => {
            let s = &r.src;
            conn.prepare_cached(
                "INSERT INTO opportunities (opportunity_id, name, territory_id, account_name,
                 product_line, source_file, source_sheet, source_row)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?
            .execute(params![
                r.opportunity_id,
                r.name,
                r.territory_id,
                r.account_name,
                r.product_line,
                s.file,
                s.sheet,
                s.row
            ])?;
        }
        Record::Project(r) => {
            let s = &r.src;
            conn.prepare_cached(
                "INSERT INTO projects (project_id, raw_project_id, project_number, description,
                 customer, customer_id, territory_id, st_name, practice, status, system_status,
                 size_category, start_date, end_date, country, business_area,
                 third_party_svc_cost, third_party_mat_cost, labor_cost,
                 source_file, source_sheet, source_row)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)",
            )?
            .execute(params![
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
                s.file,
                s.sheet,
                s.row
            ])?;
        }
        Record::Service(r) => {
            let s = &r.src;
            conn.prepare_cached(
                "INSERT INTO services (practice, sub_practice, service, source_file, source_sheet,
                 source_row) VALUES (?1,?2,?3,?4,?5,?6)",
            )?
            .execute(params![
                r.practice,
                r.sub_practice,
                r.service,
                s.file,
                s.sheet,
                s.row
            ])?;
        }
        Record::ServiceCredit(r) => {
            let s = &r.src;
            conn.prepare_cached(
                "INSERT INTO service_credits (project_id, project_name, customer, country_code,
                 practice, purchased, converted, delivered, converted_not_delivered, active,
                 expiry_bucket, contract_end, source_file, source_sheet, source_row)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
            )?
            .execute(params![
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
                s.file,
                s.sheet,
                s.row
            ])?;
        }
        Record::Catalog(r) => insert_catalog(conn, r)?,
    }
    Ok(())
}

fn insert_catalog(conn: &Connection, r: &CatalogRecord) -> Result<()> {
    let SourceRef { file, sheet, row } = &r.src;
    let skus = (!r.skus.is_empty()).then(|| r.skus.join("/"));
    conn.prepare_cached(
        "INSERT INTO service_catalog (product_family, category, service, skus, source_file,
         source_sheet, source_row, source_column) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
    )?
    .execute(params![
        r.product_family,
        r.category,
        r.service,
        skus,
        file,
        sheet,
        row,
        r.column
    ])?;
    let catalog_id = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO service_sku_mappings (catalog_id, product_family, category, service, sku,
         source_file, source_sheet, source_row) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
    )?;
    for sku in &r.skus {
        stmt.execute(params![
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
