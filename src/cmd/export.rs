//! `onelead export`: the lead list for a CRM import. Every nested field a CRM cannot take is
//! flattened: the top three SKUs become `sku_1..3`, the top services `service_1..3`. With
//! `--to salesforce|hubspot` the columns are that CRM's own fields instead (`crm::export`).

use std::io::Write;
use std::path::Path;

use crate::cli::{ExportArgs, ExportFormat, LifecycleFilterArgs};
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::model::lead::Lead;
use crate::pipeline::Settings;
use crate::report;
use crate::views::LeadFilter;

/// One exported lead: flat, so the CSV and the JSON carry the same fields.
#[derive(Debug, Clone, serde::Serialize)]
struct ExportRow {
    lead_id: String,
    status: String,
    active: bool,
    aging: bool,
    priority: String,
    score: f64,
    lead_type: String,
    title: String,
    description: String,
    recommended_action: String,
    account_id: Option<String>,
    account_name: Option<String>,
    territory_id: Option<String>,
    serial_number: Option<String>,
    product_name: Option<String>,
    product_family: Option<String>,
    days_since_eol: Option<i64>,
    sku_1: Option<String>,
    sku_2: Option<String>,
    sku_3: Option<String>,
    service_1: Option<String>,
    service_2: Option<String>,
    service_3: Option<String>,
    created_at: String,
    updated_at: String,
}

const HEADERS: [&str; 25] = [
    "lead_id",
    "status",
    "active",
    "aging",
    "priority",
    "score",
    "lead_type",
    "title",
    "description",
    "recommended_action",
    "account_id",
    "account_name",
    "territory_id",
    "serial_number",
    "product_name",
    "product_family",
    "days_since_eol",
    "sku_1",
    "sku_2",
    "sku_3",
    "service_1",
    "service_2",
    "service_3",
    "created_at",
    "updated_at",
];

/// Copies the status and age flags into a lead filter (shared with `onelead leads`).
pub(crate) fn apply_lifecycle(args: &LifecycleFilterArgs, f: &mut LeadFilter) {
    f.new_since = args.new_since;
    f.older_than_days = args.older_than.map(i64::from);
}

/// Runs `onelead export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let mut reader = super::open_reader(&settings.db)?;
    let mut filter = LeadFilter {
        include_inactive: args.include_inactive,
        limit: args.limit,
        ..crate::cmd::leads::filter_of(&args.filter)
    };
    apply_lifecycle(&args.lifecycle, &mut filter);
    let (now, aging_days) = (chrono::Utc::now(), settings.cfg.aging_days);
    if let Some(to) = args.to {
        let (crm, cfg) = (crate::crm::Crm::from(to), &settings.cfg.crm);
        let mut write = |out: &mut dyn Write| {
            report::csv::stream(out, crate::crm::export::headers(crm), |row| {
                reader.each_lead(&filter, &mut |l| {
                    row(&crate::crm::export::row(crm, cfg, &l))
                })
            })
        };
        return match &args.out {
            Some(path) => to_file(path, write),
            None => super::print(|out| write(out)),
        };
    }
    // Each lead is written as it is read: a million leads at once took gigabytes.
    let written = std::cell::Cell::new(0_u64);
    let format = if args.json {
        ExportFormat::Json
    } else {
        args.format
    };
    let mut write = |out: &mut dyn Write| {
        let rows = |visit: &mut dyn FnMut(ExportRow) -> Result<()>| {
            reader.each_lead(&filter, &mut |l| {
                let aging = lifecycle::lead_is_aging(&l, now, aging_days);
                written.set(written.get() + 1);
                visit(row(&l, aging))
            })
        };
        match format {
            ExportFormat::Csv => csv(out, rows),
            ExportFormat::Json => json(out, rows),
        }
    };
    match &args.out {
        Some(path) => {
            to_file(path, write)?;
            let leads = report::plural(written.get(), "lead", "leads");
            report::line(
                &mut std::io::stdout().lock(),
                &format!("wrote {leads} to {}", path.display()),
            )
        }
        None => super::print(|out| write(out)),
    }
}

/// Writes the export to `path` whole or not at all: into a file beside it, renamed over it
/// once complete; any failure removes that file and names `path`.
fn to_file(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let bad = |e: &dyn std::fmt::Display| Error::BadFile {
        path: path.to_path_buf(),
        message: format!("cannot write the export: {e}"),
    };
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let written = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| bad(&e))?;
        let mut out = std::io::BufWriter::new(file);
        write(&mut out).map_err(|e| match e {
            Error::Output(io) => bad(&io),
            other => other,
        })?;
        out.flush().map_err(|e| bad(&e))?;
        std::fs::rename(&tmp, path).map_err(|e| bad(&e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The rows as CSV under [`HEADERS`].
fn csv(
    out: &mut dyn Write,
    rows: impl FnOnce(&mut dyn FnMut(ExportRow) -> Result<()>) -> Result<()>,
) -> Result<()> {
    report::csv::stream(out, &HEADERS, |row| rows(&mut |r| row(&cells(&r))))
}

/// The rows as a pretty JSON array, as every view prints.
fn json(
    out: &mut dyn Write,
    rows: impl FnOnce(&mut dyn FnMut(ExportRow) -> Result<()>) -> Result<()>,
) -> Result<()> {
    report::json::stream(out, |item| rows(&mut |r| item(&r)))
}

fn row(l: &Lead, aging: bool) -> ExportRow {
    let sku = |i: usize| l.recommended_skus.get(i).cloned();
    let service = |i: usize| l.recommended_services.get(i).map(|r| r.service.clone());
    ExportRow {
        lead_id: l.lead_id.clone(),
        status: l.status.clone(),
        active: l.active,
        aging,
        priority: l.priority.clone(),
        score: l.score,
        lead_type: l.lead_type.clone(),
        title: l.title.clone(),
        description: l.description.clone(),
        recommended_action: l.recommended_action.clone(),
        account_id: l.account_id.clone(),
        account_name: l.account_name.clone(),
        territory_id: l.territory_id.clone(),
        serial_number: l.serial_number.clone(),
        product_name: l.product_name.clone(),
        product_family: l.product_family.clone(),
        days_since_eol: l.days_since_eol,
        sku_1: sku(0),
        sku_2: sku(1),
        sku_3: sku(2),
        service_1: service(0),
        service_2: service(1),
        service_3: service(2),
        created_at: l.created_at.clone(),
        updated_at: l.updated_at.clone(),
    }
}

/// One row's cells, in [`HEADERS`] order.
fn cells(r: &ExportRow) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.lead_id.clone(),
        r.status.clone(),
        r.active.to_string(),
        r.aging.to_string(),
        r.priority.clone(),
        r.score.to_string(),
        r.lead_type.clone(),
        r.title.clone(),
        r.description.clone(),
        r.recommended_action.clone(),
        o(&r.account_id),
        o(&r.account_name),
        o(&r.territory_id),
        o(&r.serial_number),
        o(&r.product_name),
        o(&r.product_family),
        r.days_since_eol.map(|d| d.to_string()).unwrap_or_default(),
        o(&r.sku_1),
        o(&r.sku_2),
        o(&r.sku_3),
        o(&r.service_1),
        o(&r.service_2),
        o(&r.service_3),
        r.created_at.clone(),
        r.updated_at.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure part way through leaves the file as it was and nothing beside it; success
    /// replaces it whole.
    #[test]
    fn an_export_file_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.csv");
        std::fs::write(&path, "old").unwrap();
        let failed = to_file(&path, |out| {
            out.write_all(b"half a row")?;
            Err(Error::NotFound("lead".into()))
        });
        assert!(matches!(failed, Err(Error::NotFound(_))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
        to_file(&path, |out| Ok(out.write_all(b"new")?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
