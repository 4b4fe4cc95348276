//! `onelead run`: the main job. Load, evaluate the rules, write the leads (one transaction),
//! then print the summary and the top 10.

use std::io::Write;

use crate::cli::RunArgs;
use crate::cmd::load::load_and_evaluate;
use crate::error::Result;
use crate::model::lead::Lead;
use crate::pipeline::RunReport;
use crate::report::Format;
use crate::report::{self, Style};
use crate::views;

#[derive(serde::Serialize)]
struct RunJson<'a> {
    run: &'a RunReport,
    leads_by_type_priority: Vec<Count>,
    top: Vec<Lead>,
}

#[derive(serde::Serialize)]
struct Count {
    lead_type: String,
    priority: String,
    leads: i64,
}

/// Runs `onelead run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let (settings, store, report) = load_and_evaluate(&args.load, "run", true, args.workers)?;
    let mut reader = store.reader()?;
    drop(store);
    let counts = reader.counts_by_type_priority()?;
    let top = views::top_leads(&mut reader, 10)?;
    let out = &mut std::io::stdout().lock();
    // CSV is the top leads, as `dashboard` prints them.
    if args.load.format.get() == Format::Csv {
        return Ok(report::csv::write(out, &report::leads::csv_table(&top))?);
    }
    if args.load.format.get() == Format::Json {
        let json = RunJson {
            run: &report,
            leads_by_type_priority: counts
                .into_iter()
                .map(|(lead_type, priority, leads)| Count {
                    lead_type,
                    priority,
                    leads,
                })
                .collect(),
            top,
        };
        return Ok(report::json::write(out, &json)?);
    }
    crate::cmd::load::write_load_report(out, &report, &settings)?;
    report::snapshots::write(out, &report.snapshots)?;
    let e = &report.evaluation;
    writeln!(
        out,
        "\n{} from {} as of {} (rules {}): {} new, {} closed, {} reopened",
        report::plural(e.leads as u64, "lead", "leads"),
        report::plural(e.items as u64, "item", "items"),
        report.as_of,
        &report.rules_hash[..12.min(report.rules_hash.len())],
        e.new_leads,
        e.closed,
        e.reopened
    )?;
    if let Some(cut) = &e.priority_cutoffs {
        writeln!(out, "{}", ranked(cut, &settings.cfg.priority_ranks))?;
    }
    let style = Style::detect();
    report::table::write(out, &report::leads::summary_table(&counts), style)?;
    if !top.is_empty() {
        writeln!(
            out,
            "\ntop {}:",
            report::plural(top.len() as u64, "lead", "leads")
        )?;
        report::table::write(out, &report::leads::queue_table(&top), style)?;
    }
    Ok(())
}

/// `priority by rank: CRITICAL from 72.75 (top 10%), …`; a share too small for one lead says so.
fn ranked(cut: &crate::config::PriorityThresholds, ranks: &crate::config::PriorityRanks) -> String {
    let part = |name: &str, score: f64, percent: f64| {
        if score.is_finite() {
            format!("{name} from {score:.2} (top {percent}%)")
        } else {
            format!("no {name} (top {percent}% is less than one lead)")
        }
    };
    format!(
        "priority by rank: {}, {}, {}",
        part("CRITICAL", cut.critical, ranks.critical),
        part("HIGH", cut.high, ranks.high),
        part("MEDIUM", cut.medium, ranks.medium)
    )
}
