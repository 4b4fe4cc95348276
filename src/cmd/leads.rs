//! `onelead leads`: the daily work queue, read from the database (no re-ingest).

use std::io::Write;

use crate::cli::{Format, LeadsArgs};
use crate::error::Result;
use crate::pipeline::Settings;
use crate::report::{self, Style};
use crate::store::Store;
use crate::store::query::{self, LeadFilter};

/// Runs `onelead leads`.
pub fn run(args: &LeadsArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let store = Store::open_existing(&settings.db)?;
    let filter = LeadFilter {
        limit: args.limit,
        ..LeadFilter::default()
    };
    let leads = query::leads(&store.conn, &filter)?;
    let out = &mut std::io::stdout().lock();
    let format = args.format.get();
    if leads.is_empty() && format == Format::Table {
        writeln!(
            out,
            "no leads match; run `onelead run` to evaluate the rules"
        )?;
        return Ok(());
    }
    let table = if format == Format::Csv {
        report::leads::csv_table(&leads)
    } else {
        report::leads::queue_table(&leads)
    };
    report::emit(out, format, &table, &leads, Style::detect())
}
