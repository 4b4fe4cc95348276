//! `onelead leads`: the daily work queue, read from the database (no re-ingest).

use std::io::Write;

use crate::cli::{Format, LeadsArgs};
use crate::error::Result;
use crate::lifecycle;
use crate::pipeline::Settings;
use crate::report::{self, Style};
use crate::store::Store;
use crate::store::query::{self, LeadFilter};

/// Runs `onelead leads`.
pub fn run(args: &LeadsArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let store = Store::open_existing(&settings.db)?;
    let mut filter = LeadFilter {
        limit: args.limit,
        ..LeadFilter::default()
    };
    crate::cmd::export::apply_lifecycle(&args.lifecycle, &mut filter);
    let leads = query::leads(&store.conn, &filter)?;
    let queued = lifecycle::flag_aging(&leads, chrono::Utc::now(), settings.cfg.aging_days);
    let out = &mut std::io::stdout().lock();
    let format = args.format.get();
    if leads.is_empty() && format == Format::Table {
        writeln!(
            out,
            "no leads match; run `onelead run` to evaluate the rules"
        )?;
        return Ok(());
    }
    let mut table = if format == Format::Csv {
        report::leads::csv_table(&leads)
    } else {
        report::leads::queue_table(&leads)
    };
    // The aging marker is a lifecycle fact, added here so the shared printers stay as they are.
    table.headers.push("aging".into());
    for (row, q) in table.rows.iter_mut().zip(&queued) {
        row.push(if q.aging { "aging" } else { "" }.into());
    }
    report::emit(out, format, &table, &queued, Style::detect())
}
