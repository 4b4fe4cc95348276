//! `onelead territories`: one row per sales territory with accounts, install base, leads by
//! priority, average score and pipeline.

use std::io::Write;

use crate::cli::{Format, TerritoriesArgs};
use crate::error::Result;
use crate::report::{self, Style, Table, money, score};
use crate::store::views::{self, Territory};

/// The territory table (also the CSV).
pub fn table(ts: &[Territory]) -> Table {
    let mut t = Table::new(&[
        "territory",
        "name",
        "accounts",
        "install base",
        "leads",
        "CRITICAL",
        "HIGH",
        "MEDIUM",
        "LOW",
        "avg score",
        "pipeline",
    ]);
    for x in ts {
        let mut row = vec![
            x.territory_id.clone().unwrap_or_else(|| "(none)".into()),
            x.territory_name.clone().unwrap_or_default(),
            x.accounts.to_string(),
            x.install_base.to_string(),
            x.leads.to_string(),
        ];
        row.extend(x.by_priority.as_array().iter().map(ToString::to_string));
        row.push(x.avg_score.map(score).unwrap_or_default());
        row.push(x.pipeline.map(money).unwrap_or_default());
        t.push(row);
    }
    t
}

/// Runs `onelead territories`.
pub fn run(args: &TerritoriesArgs) -> Result<()> {
    let (_, store) = super::open_view(&args.db)?;
    let ts = views::territories(&store.conn, args.sort)?;
    let out = &mut std::io::stdout().lock();
    let format = args.format.get();
    if format == Format::Table && views::lead_totals(&store.conn)?.0 == 0 {
        writeln!(out, "{}", super::NO_LEADS)?;
        return Ok(());
    }
    report::emit(out, format, &table(&ts), &ts, Style::detect())
}
