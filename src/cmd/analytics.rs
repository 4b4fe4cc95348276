//! `onelead analytics`: score histogram, leads by type × priority, territory leaderboard,
//! product-family mix and support coverage.

use std::io::Write;

use crate::cli::ViewArgs;
use crate::error::Result;
use crate::report::{self, Format, Style, Table};
use crate::views;

/// Runs `onelead analytics`.
pub fn run(args: &ViewArgs) -> Result<()> {
    let (_, mut reader) = super::open_view(&args.db)?;
    let a = views::analytics(&mut reader)?;
    let style = Style::detect();
    let summary = report::leads::summary_table(&a.counts);
    super::print(|out| match args.format.get() {
        Format::Json => Ok(report::json::write(out, &a)?),
        Format::Csv => Ok(report::csv::write(out, &summary)?),
        Format::Table => {
            if !reader.has_leads()? {
                writeln!(out, "{}", super::NO_LEADS)?;
                return Ok(());
            }
            writeln!(out, "score distribution (active leads):")?;
            report::histogram::write(out, &a.score_histogram)?;
            writeln!(out, "\nleads by type and priority:")?;
            report::table::write(out, &summary, style)?;
            writeln!(out, "\nterritory leaderboard:")?;
            report::table::write(
                out,
                &super::territories::table(&a.territory_leaderboard, false),
                style,
            )?;
            writeln!(out, "\nproduct families:")?;
            let mut t = Table::new(&["family", "install base", "leads"]);
            for f in &a.product_families {
                t.push(vec![
                    f.product_family.clone().unwrap_or_else(|| "(none)".into()),
                    f.install_base.to_string(),
                    f.leads.to_string(),
                ]);
            }
            report::table::write(out, &t, style)?;
            writeln!(out, "\nsupport coverage of the install base:")?;
            let mut t = Table::new(&["coverage", "install base", "share"]);
            for c in &a.coverage {
                t.push(vec![
                    c.coverage.clone(),
                    c.install_base.to_string(),
                    format!("{:.1}%", c.share * 100.0),
                ]);
            }
            report::table::write(out, &t, style)?;
            Ok(())
        }
    })
}
