//! `onelead export`: the lead list for a CRM import. Every nested field a CRM cannot take is
//! flattened: the top three SKUs become `sku_1..3`, the top services `service_1..3`.

use std::io::Write;

use crate::cli::{ExportArgs, ExportFormat, LifecycleFilterArgs};
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::pipeline::Settings;
use crate::report;
use crate::report::Table;
use crate::score::lead::Lead;
use crate::store::Store;
use crate::store::query::{self, LeadFilter};

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
    let store = Store::open_existing(&settings.db)?;
    let mut filter = LeadFilter {
        include_inactive: args.include_inactive,
        limit: args.limit,
        ..crate::cmd::leads::filter_of(&args.filter)
    };
    apply_lifecycle(&args.lifecycle, &mut filter);
    let leads = query::leads(&store.conn, &filter)?;
    let queued = lifecycle::flag_aging(&leads, chrono::Utc::now(), settings.cfg.aging_days);
    let rows: Vec<ExportRow> = queued.iter().map(|q| row(q.lead, q.aging)).collect();
    // Built in memory first, so a file is written whole or not at all and every failure names it.
    let mut buf = Vec::new();
    match args.format {
        ExportFormat::Csv => report::csv::write(&mut buf, &table(&rows))?,
        ExportFormat::Json => report::json::write(&mut buf, &rows)?,
    }
    match &args.out {
        Some(path) => std::fs::write(path, &buf).map_err(|e| Error::BadFile {
            path: path.clone(),
            message: format!("cannot write the export: {e}"),
        }),
        None => Ok(std::io::stdout().lock().write_all(&buf)?),
    }
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

fn table(rows: &[ExportRow]) -> Table {
    let mut t = Table::new(&HEADERS);
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    for r in rows {
        t.push(vec![
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
        ]);
    }
    t
}
