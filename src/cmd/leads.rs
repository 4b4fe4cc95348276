//! `onelead leads`: the daily work queue, read from the database (no re-ingest), filtered and
//! sorted in SQL.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::cli::{LeadFilterArgs, LeadsArgs, StatusFilterArg};
use crate::error::Result;
use crate::lifecycle;
use crate::report::Format;
use crate::report::{self, Style};
use crate::store::journal;
use crate::views::{self, LeadFilter, LeadSort, Reader};

/// Turns the flags into a [`LeadFilter`].
pub fn filter(args: &LeadsArgs) -> LeadFilter {
    LeadFilter {
        sort: args.sort.into(),
        limit: args.limit,
        ..filter_of(&args.filter)
    }
}

/// Turns the shared filter flags into a [`LeadFilter`] (best first, no limit).
pub fn filter_of(args: &LeadFilterArgs) -> LeadFilter {
    let mut priorities: Vec<String> = args
        .priority
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    priorities.sort_unstable();
    priorities.dedup();
    LeadFilter {
        lead_type: args.lead_type.clone(),
        priorities,
        min_score: args.min_score,
        territory: args.territory.clone(),
        account: args.account.clone(),
        family: args.family.clone(),
        statuses: StatusFilterArg::statuses(&args.status),
        owner: args.owner.clone(),
        include_inactive: false,
        sort: LeadSort::Score,
        limit: None,
        ..LeadFilter::default()
    }
}

/// Runs `onelead leads`.
pub fn run(args: &LeadsArgs) -> Result<()> {
    let (settings, mut reader) = super::open_view(&args.db)?;
    let mut filter = filter(args);
    crate::cmd::export::apply_lifecycle(&args.lifecycle, &mut filter);
    // A change accepted while a run holds the database shows at once, as on the server.
    filter.overlay = journal::overlay_at(&settings.db, &mut reader)?;
    let format = args.format.get();
    let (now, aging_days) = (chrono::Utc::now(), settings.cfg.aging_days);
    // CSV and JSON list every lead unless limited: written as they are read, in constant memory.
    match format {
        Format::Csv => return super::print(|out| csv(out, &mut reader, &filter, now, aging_days)),
        Format::Json => {
            return super::print(|out| {
                lifecycle::queue_json(out, &mut reader, &filter, now, aging_days)
            });
        }
        Format::Table => {}
    }
    let leads = views::leads(&mut reader, &filter)?;
    let queued = lifecycle::flag_aging(&leads, now, aging_days);
    if leads.is_empty() && format == Format::Table {
        let msg = if reader.has_leads()? {
            "no leads match the filters"
        } else {
            super::NO_LEADS
        };
        writeln!(std::io::stdout().lock(), "{msg}")?;
        return Ok(());
    }
    let mut table = if format == Format::Csv {
        report::leads::csv_table(&leads)
    } else {
        report::leads::queue_table(&leads)
    };
    // The aging marker is a lifecycle fact, added here so the shared printers stay as they are.
    // CSV always carries it (true/false, as the JSON); the table only when a lead is aging.
    if format == Format::Csv || queued.iter().any(|q| q.aging) {
        table.headers.push("aging".into());
        for (row, q) in table.rows.iter_mut().zip(&queued) {
            let cell = match (format, q.aging) {
                (Format::Csv, a) => a.to_string(),
                (_, true) => "aging".into(),
                (_, false) => String::new(),
            };
            row.push(cell);
        }
    }
    super::print(|out| report::emit(out, format, &table, &queued, Style::detect()))
}

/// The queue as CSV: every field of the JSON form, then `aging` (true/false, as the JSON).
fn csv(
    out: &mut dyn Write,
    reader: &mut Reader,
    filter: &LeadFilter,
    now: DateTime<Utc>,
    aging_days: i64,
) -> Result<()> {
    let mut headers: Vec<&str> = report::leads::CSV_COLUMNS.to_vec();
    headers.push("aging");
    report::csv::stream(out, &headers, |row| {
        reader.each_lead(filter, &mut |lead| {
            let mut cells = report::leads::csv_row(&lead);
            cells.push(lifecycle::lead_is_aging(&lead, now, aging_days).to_string());
            row(&cells)
        })
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::store::testdb;

    fn ids(flags: &[&str]) -> Vec<String> {
        let (_d, mut s) = testdb::build();
        let mut argv = vec!["onelead", "leads"];
        argv.extend_from_slice(flags);
        let Command::Leads(a) = Cli::try_parse_from(argv).unwrap().command else {
            panic!()
        };
        views::leads(&mut s, &filter(&a))
            .unwrap()
            .into_iter()
            .map(|l| l.lead_id)
            .collect()
    }

    #[test]
    fn each_filter_narrows_the_queue() {
        assert_eq!(ids(&[]), ["AAAA0001", "AAAA0002", "BBBB0003", "CCCC0004"]);
        assert_eq!(ids(&["--type", "rEnEwAl"]), ["AAAA0002", "BBBB0003"]);
        assert_eq!(ids(&["--priority", "critical"]), ["AAAA0001"]);
        assert_eq!(
            ids(&["--priority", "HIGH,low", "--priority", "medium"]),
            ["AAAA0002", "BBBB0003", "CCCC0004"]
        );
        assert_eq!(
            ids(&["--min-score", "55.25"]),
            ["AAAA0001", "AAAA0002", "BBBB0003"]
        );
        assert_eq!(ids(&["--territory", "T2"]), ["CCCC0004"]);
        assert_eq!(ids(&["--account", "acme corp"]), ["AAAA0001", "AAAA0002"]);
        assert_eq!(ids(&["--account", "initrode"]), ["CCCC0004"]);
        assert_eq!(ids(&["--account", "ACC2"]), ["BBBB0003"]);
        assert_eq!(ids(&["--family", "servers"]), ["AAAA0001", "BBBB0003"]);
        assert_eq!(ids(&["--status", "Contacted"]), ["AAAA0002"]);
        assert_eq!(ids(&["--limit", "2"]), ["AAAA0001", "AAAA0002"]);
        assert!(ids(&["--territory", "T9"]).is_empty());
    }

    #[test]
    fn sort_orders() {
        assert_eq!(
            ids(&["--sort", "priority"]),
            ["AAAA0001", "AAAA0002", "BBBB0003", "CCCC0004"]
        );
        // Acme (2), Globex, Initech.
        assert_eq!(
            ids(&["--sort", "account"]),
            ["AAAA0001", "AAAA0002", "BBBB0003", "CCCC0004"]
        );
        assert_eq!(
            ids(&["--sort", "type"]),
            ["AAAA0001", "CCCC0004", "AAAA0002", "BBBB0003"]
        );
        // 900, 400, 100 days, then the lead without a date.
        assert_eq!(
            ids(&["--sort", "days-past-eol"]),
            ["AAAA0001", "CCCC0004", "AAAA0002", "BBBB0003"]
        );
        let (_d, mut s) = testdb::build();
        let f = LeadFilter {
            sort: LeadSort::Score,
            ..LeadFilter::default()
        };
        let scores: Vec<f64> = views::leads(&mut s, &f)
            .unwrap()
            .iter()
            .map(|l| l.score)
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    }

    /// Streamed output is what printing every lead read at once gives.
    #[test]
    fn streamed_json_and_csv_are_the_whole_list_printed_at_once() {
        let (_d, mut s) = testdb::build();
        let f = LeadFilter::default();
        let leads = views::leads(&mut s, &f).unwrap();
        assert!(leads.len() > 1);
        // With 0 aging days every open lead is aging: the column is filled either way.
        let now = chrono::Utc::now();
        let queued = lifecycle::flag_aging(&leads, now, 0);
        let mut whole = Vec::new();
        report::json::write(&mut whole, &queued).unwrap();
        let same = |streamed: Vec<u8>, whole: Vec<u8>| {
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(whole).unwrap()
            );
        };
        let mut streamed = Vec::new();
        lifecycle::queue_json(&mut streamed, &mut s, &f, now, 0).unwrap();
        same(streamed, whole);

        let mut table = report::leads::csv_table(&leads);
        table.headers.push("aging".into());
        for (row, q) in table.rows.iter_mut().zip(&queued) {
            row.push(q.aging.to_string());
        }
        let mut whole = Vec::new();
        report::csv::write(&mut whole, &table).unwrap();
        let mut streamed = Vec::new();
        csv(&mut streamed, &mut s, &f, now, 0).unwrap();
        same(streamed, whole);
        // An empty list is an empty array, and a header alone.
        let none = LeadFilter {
            territory: Some("nowhere".into()),
            ..LeadFilter::default()
        };
        let mut out = Vec::new();
        lifecycle::queue_json(&mut out, &mut s, &none, now, 0).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
    }

    #[test]
    fn csv_parses_back_to_the_json_rows_and_columns() {
        let (_d, mut s) = testdb::build();
        let leads = views::leads(&mut s, &LeadFilter::default()).unwrap();
        let mut out = Vec::new();
        report::emit(
            &mut out,
            Format::Csv,
            &report::leads::csv_table(&leads),
            &leads,
            Style::default(),
        )
        .unwrap();
        let mut json = Vec::new();
        report::emit(
            &mut json,
            Format::Json,
            &report::leads::queue_table(&leads),
            &leads,
            Style::default(),
        )
        .unwrap();
        let json: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_slice(&json).unwrap();
        let mut rdr = csv::Reader::from_reader(out.as_slice());
        let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
        let json_keys: Vec<String> = json[0].keys().cloned().collect();
        let mut sorted = headers.clone();
        sorted.sort();
        let mut keys = json_keys.clone();
        keys.sort();
        assert_eq!(sorted, keys);
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), json.len());
        for (row, obj) in rows.iter().zip(&json) {
            for (h, cell) in headers.iter().zip(row.iter()) {
                let v = &obj[h];
                let expect = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::Array(a) if h == "recommended_skus" => a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    serde_json::Value::Number(_) | serde_json::Value::Bool(_) => v.to_string(),
                    other => other.to_string(),
                };
                if v.is_object() || (v.is_array() && h != "recommended_skus") {
                    let parsed: serde_json::Value = serde_json::from_str(cell).unwrap();
                    assert_eq!(&parsed, v, "column {h}");
                } else if h == "score" {
                    assert_eq!(cell.parse::<f64>().unwrap(), v.as_f64().unwrap());
                } else {
                    assert_eq!(cell, expect, "column {h}");
                }
            }
        }
    }
}
