//! `onelead report`: the views as one self-contained HTML file a sales manager can open from an
//! e-mail. The data comes from the same store queries as `dashboard`, `leads`, `account`,
//! `territories` and `analytics`; `report::html` turns it into the page. `watch --report` calls
//! [`write_file`] after each successful rerun.

use std::io::Write;
use std::path::Path;

use rusqlite::Connection;

use crate::cli::{LeadFilterArgs, ReportArgs};
use crate::error::{Error, Result};
use crate::lifecycle::Status;
use crate::report::html::{self, Report};
use crate::store::account_view::{self, Lookup};
use crate::store::analytics as stats;
use crate::store::query::{self, LeadFilter};
use crate::store::views::{self, TerritorySort};

/// Runs `onelead report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let (_, store) = super::open_view(&args.db)?;
    let filter = super::leads::filter_of(&args.filter);
    let report = write_file(&store.conn, &filter, describe(&args.filter), &args.out)?;
    let out = &mut std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} ({} leads in the queue, {} account pages)",
        args.out.display(),
        report.queue.len(),
        report.accounts.len()
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
    flag(
        "status",
        f.status.map(|s| Status::from(s).as_str().to_string()),
    );
    out
}

/// Reads everything the report shows: the queue through `filter`, the rest over all leads.
pub fn gather(conn: &Connection, filter: &LeadFilter, filters: Vec<String>) -> Result<Report> {
    let mix = views::lead_mix(conn)?;
    let queue = query::leads(conn, filter)?;
    let mut accounts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in queue.iter().filter_map(|l| l.account_id.as_deref()) {
        if !seen.insert(id) {
            continue;
        }
        // An exact id always finds exactly that account.
        if let Lookup::Found(a) = account_view::find_account(conn, id, id)? {
            accounts.push(account_view::account_360(conn, a, None)?);
        }
    }
    Ok(Report {
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        filters,
        by_priority: mix.by_priority.clone(),
        pipeline: mix.pipeline.clone(),
        queue,
        accounts,
        territories: views::territories(conn, TerritorySort::Leads)?,
        histogram: stats::score_histogram(&mix),
        by_type: views::type_counts(&mix.by_type_priority),
        families: stats::family_mix(conn, &mix)?,
        coverage: stats::coverage(conn)?,
    })
}

/// Gathers and writes the report to `path` atomically: a temp file beside it, then a rename, so
/// a reader (a browser reloading during `watch`) never sees half a file.
pub fn write_file(
    conn: &Connection,
    filter: &LeadFilter,
    filters: Vec<String>,
    path: &Path,
) -> Result<Report> {
    let report = gather(conn, filter, filters)?;
    let mut html_bytes = Vec::new();
    html::write(&mut html_bytes, &report)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, &html_bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::WriteFile {
            path: path.to_path_buf(),
            source: e,
        });
    }
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
        let (_d, s) = testdb::build();
        let filter = super::super::leads::filter_of(&args(&["--territory", "T1"]).filter);
        let r = gather(&s.conn, &filter, vec![]).unwrap();
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
