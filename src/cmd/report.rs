//! `onelead report`: the views as one self-contained HTML file a sales manager can open from an
//! e-mail. The data comes from [`views::report`], the same views as `dashboard`, `leads`,
//! `account`, `territories` and `analytics`; `report::html` turns it into the page (as
//! `watch --report` does after each successful rerun).

use std::io::Write;
use std::path::Path;

use crate::cli::{LeadFilterArgs, ReportArgs};
use crate::error::Result;
use crate::report::html;
use crate::views::{self, LeadFilter, Reader, Report};
use clap::ValueEnum;

/// Runs `onelead report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let (_, mut reader) = super::open_view(&args.db)?;
    let filter = LeadFilter {
        limit: Some(args.limit),
        ..super::leads::filter_of(&args.filter)
    };
    let report = write_file(&mut reader, &filter, describe(&args.filter), &args.out)?;
    let out = &mut std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} ({} of {} in the queue, {})",
        args.out.display(),
        report.queue.len(),
        crate::report::plural(report.queue_total as u64, "matching lead", "matching leads"),
        crate::report::plural(
            report.accounts.len() as u64,
            "account page",
            "account pages"
        )
    )?;
    Ok(())
}

/// The filters in force as the flags that set them, for the report's header.
fn describe(f: &LeadFilterArgs) -> Vec<String> {
    let mut out = Vec::new();
    let mut flag = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(format!("--{name} {v}"));
        }
    };
    flag("type", f.lead_type.clone());
    if !f.priority.is_empty() {
        let list: Vec<&str> = f.priority.iter().map(|p| p.as_str()).collect();
        flag("priority", Some(list.join(",")));
    }
    flag("min-score", f.min_score.map(|s| s.to_string()));
    flag("territory", f.territory.clone());
    flag("account", f.account.clone());
    flag("family", f.family.clone());
    if !f.status.is_empty() {
        let list: Vec<String> = f
            .status
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .map(|v| v.get_name().to_string())
            .collect();
        flag("status", Some(list.join(",")));
    }
    flag("owner", f.owner.clone());
    out
}

/// Gathers the report and writes it to `path` (see [`html::write_file`]).
fn write_file(
    reader: &mut Reader,
    filter: &LeadFilter,
    filters: Vec<String>,
    path: &Path,
) -> Result<Report> {
    let report = views::report(reader, filter, filters)?;
    html::write_file(path, &report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::store::testdb;

    fn args(flags: &[&str]) -> ReportArgs {
        let mut argv = vec!["onelead", "report"];
        argv.extend_from_slice(flags);
        let Command::Report(a) = Cli::try_parse_from(argv).unwrap().command else {
            panic!()
        };
        a
    }

    #[test]
    fn header_names_the_filters_as_flags() {
        let a = args(&["--priority", "high,critical", "--territory", "T1"]);
        assert_eq!(
            describe(&a.filter),
            ["--priority HIGH,CRITICAL", "--territory T1"]
        );
        assert!(describe(&args(&[]).filter).is_empty());
        assert_eq!(args(&[]).out, Path::new("onelead-report.html"));
    }

    #[test]
    fn queue_and_account_pages_follow_the_filter_while_totals_do_not() {
        let (_d, mut s) = testdb::build();
        let filter = super::super::leads::filter_of(&args(&["--territory", "T1"]).filter);
        let r = views::report(&mut s, &filter, vec![]).unwrap();
        let ids: Vec<&str> = r.queue.iter().map(|l| l.lead_id.as_str()).collect();
        assert_eq!(ids, ["AAAA0001", "AAAA0002", "BBBB0003"]);
        let accounts: Vec<&str> = r
            .accounts
            .iter()
            .map(|a| a.account.account_id.as_str())
            .collect();
        assert_eq!(accounts, ["ACC1", "ACC2"]);
        assert_eq!(r.by_priority.total(), 4);
    }
}
