//! `onelead funnel`: leads per status and conversion rates by lead type, territory and
//! priority, over every lead ever made.

use std::io::Write;

use crate::cli::FunnelArgs;
use crate::error::Result;
use crate::lifecycle::{Status, funnel};
use crate::pipeline::Settings;
use crate::report::Format;
use crate::report::{self, Style, Table};

/// Runs `onelead funnel`.
pub fn run(args: &FunnelArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let mut reader = super::open_reader(&settings.db)?;
    let rows = funnel::funnel(&mut reader)?;
    let out = &mut std::io::stdout().lock();
    let format = args.format.get();
    if rows.is_empty() && format == Format::Table {
        writeln!(out, "no leads yet; run `onelead run` to evaluate the rules")?;
        return Ok(());
    }
    let mut headers = vec!["dimension", "group", "total"];
    headers.extend(Status::ALL.iter().map(|s| s.as_str()));
    headers.push("conversion");
    let mut t = Table::new(&headers);
    for r in &rows {
        let mut row = vec![r.dimension.clone(), r.group.clone(), r.total.to_string()];
        row.extend(
            Status::ALL
                .iter()
                .map(|s| r.by_status.get(s).copied().unwrap_or(0).to_string()),
        );
        // CSV keeps the exact fraction for spreadsheets; the table shows a percentage.
        row.push(if format == Format::Csv {
            r.conversion_rate.to_string()
        } else {
            format!("{:.1}%", r.conversion_rate * 100.0)
        });
        t.push(row);
    }
    report::emit(out, format, &t, &rows, Style::detect())
}
