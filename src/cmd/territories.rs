//! `onelead territories`: one row per sales territory with accounts, install base, leads by
//! priority, average score and pipeline.

use std::io::Write;

use crate::cli::TerritoriesArgs;
use crate::error::Result;
use crate::report::Format;
use crate::report::{self, Style, Table, money, score};
use crate::views::Territory;

/// The territory table; `raw` numbers (no grouping, full precision) for CSV.
pub fn table(ts: &[Territory], raw: bool) -> Table {
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
        row.push(number(x.avg_score, raw, score));
        row.push(number(x.pipeline, raw, money));
        t.push(row);
    }
    t
}

/// A number for a cell: as is for CSV, `pretty` for the terminal, empty when absent.
fn number(v: Option<f64>, raw: bool, pretty: fn(f64) -> String) -> String {
    match v {
        Some(v) if raw => v.to_string(),
        Some(v) => pretty(v),
        None => String::new(),
    }
}

/// Runs `onelead territories`.
pub fn run(args: &TerritoriesArgs) -> Result<()> {
    let (_, mut reader) = super::open_view(&args.db)?;
    let ts = reader.territories(args.sort.into())?;
    let format = args.format.get();
    if format == Format::Table && !reader.has_leads()? {
        writeln!(std::io::stdout().lock(), "{}", super::NO_LEADS)?;
        return Ok(());
    }
    let t = table(&ts, format == Format::Csv);
    super::print(|out| report::emit(out, format, &t, &ts, Style::detect()))
}
