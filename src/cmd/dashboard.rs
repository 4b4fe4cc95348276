//! `onelead dashboard`: the overview page — totals, leads by priority and type, the pipeline
//! estimate and the top 10 leads.

use std::io::Write;

use crate::cli::ViewArgs;
use crate::error::Result;
use crate::report::{self, Format, Style, Table};
use crate::views;

/// Runs `onelead dashboard`.
pub fn run(args: &ViewArgs) -> Result<()> {
    let (_, mut reader) = super::open_view(&args.db)?;
    let d = views::dashboard(&mut reader)?;
    let style = Style::detect();
    super::print(|out| match args.format.get() {
        Format::Json => Ok(report::json::write(out, &d)?),
        Format::Csv => Ok(report::csv::write(out, &report::leads::csv_table(&d.top))?),
        Format::Table => {
            if d.total_leads == 0 {
                writeln!(out, "{}", super::NO_LEADS)?;
                return Ok(());
            }
            let active = report::plural(d.total_leads as u64, "active lead", "active leads");
            writeln!(out, "{active}")?;
            let estimate = d.pipeline.estimated_value.map_or_else(
                || "no estimate (the rules give no `estimated_value`)".to_string(),
                |v| {
                    format!(
                        "{} from {} of {}",
                        report::money(v),
                        d.pipeline.leads_with_estimate,
                        report::plural(d.total_leads as u64, "lead", "leads")
                    )
                },
            );
            writeln!(out, "pipeline estimate: {estimate}\n")?;
            let mut t = Table::new(&["priority", "leads"]);
            for (p, n) in views::PRIORITIES.iter().zip(d.by_priority.as_array()) {
                t.push(vec![(*p).to_string(), n.to_string()]);
            }
            report::table::write(out, &t, style)?;
            writeln!(out, "\nby lead type:")?;
            report::table::write(out, &report::leads::summary_table(&d.counts), style)?;
            writeln!(
                out,
                "\ntop {}:",
                report::plural(d.top.len() as u64, "lead", "leads")
            )?;
            report::table::write(out, &report::leads::queue_table(&d.top), style)?;
            Ok(())
        }
    })
}
