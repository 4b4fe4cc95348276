//! `onelead account NAME|ID`: the account 360° view — identity and merged names, install base
//! and its risk, leads, opportunities, project history and service credits.

use std::io::Write;

use crate::cli::AccountArgs;
use crate::derive::account::normalize;
use crate::error::{Error, Result};
use crate::report::Format;
use crate::report::{self, Style, Table};
use crate::views::{Account360, Count, Credits, Identity, Lookup};

/// Rows of each list the table shows unless `--limit` or `--all` says otherwise. A giant account
/// (tens of thousands of assets and leads) would otherwise print, and read, every one of them.
const TABLE_ROWS: usize = 50;

/// How many rows of each list to read: `--all` means all, then `--limit`, then the table's
/// default; JSON and CSV are complete unless `--limit` is given.
fn row_limit(args: &AccountArgs, format: Format) -> Option<usize> {
    if args.all {
        return None;
    }
    match (args.limit, format) {
        (Some(n), _) => Some(n),
        (None, Format::Table) => Some(TABLE_ROWS),
        (None, _) => None,
    }
}

/// Runs `onelead account`.
pub fn run(args: &AccountArgs) -> Result<()> {
    let (settings, mut reader) = super::open_view(&args.db)?;
    let normalized = normalize(&args.account, &settings.cfg.accounts.legal_suffixes);
    let account = match reader.find_account(&args.account, &normalized)? {
        Lookup::Found(a) => a,
        Lookup::Ambiguous(list) => return Err(ambiguous(&args.account, &list)),
        Lookup::Missing(names) => return Err(missing(&args.account, &names)),
    };
    let format = args.format.get();
    let v = reader.account_360(account, row_limit(args, format))?;
    super::print(|out| match format {
        Format::Json => Ok(report::json::write(out, &v)?),
        Format::Csv => Ok(report::csv::write(
            out,
            &report::leads::csv_table(&v.leads),
        )?),
        Format::Table => write_text(out, &v, Style::detect()),
    })
}

fn ambiguous(query: &str, list: &[Identity]) -> Error {
    let mut msg = format!(
        "`{query}` matches {} accounts; give one of these ids:",
        list.len()
    );
    for a in list {
        let territory = a
            .territory_id
            .as_ref()
            .map(|t| format!(" (territory {t})"))
            .unwrap_or_default();
        msg = format!("{msg}\n  {}  {}{territory}", a.account_id, a.name);
    }
    Error::NotFound(msg)
}

fn missing(query: &str, names: &[String]) -> Error {
    let mut msg = format!("no account matches `{query}`");
    if !names.is_empty() {
        let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        msg = format!(
            "{msg}\nhelp: did you mean {}?",
            super::explain::or_list(&list)
        );
    }
    Error::NotFound(msg)
}

fn counts_table(header: &str, counts: &[Count]) -> Table {
    let mut t = Table::new(&[header, "assets"]);
    for c in counts {
        t.push(vec![
            c.value.clone().unwrap_or_else(|| "(none)".into()),
            c.count.to_string(),
        ]);
    }
    t
}

/// The first rows of a list of `total`, and how many more there are when that is not all.
fn rows(out: &mut dyn Write, t: &Table, total: usize, style: Style) -> Result<()> {
    if !t.rows.is_empty() {
        report::table::write(out, t, style)?;
    }
    if total > t.rows.len() {
        writeln!(
            out,
            "… and {} more (`--all` shows all)",
            total - t.rows.len()
        )?;
    }
    Ok(())
}

fn write_text(out: &mut dyn Write, view: &Account360, style: Style) -> Result<()> {
    let ident = &view.account;
    let territory = match (&ident.territory_id, &ident.territory_name) {
        // The territory's main account names it: said once.
        (Some(id), Some(name)) if *name == ident.name => format!("territory {id}"),
        (Some(id), Some(name)) => format!("territory {id} ({name})"),
        (Some(id), None) => format!("territory {id}"),
        _ => "no territory".into(),
    };
    writeln!(out, "{} — {}, {territory}", ident.account_id, ident.name)?;
    if !view.aliases.is_empty() {
        writeln!(out, "\nnames merged into this account:")?;
        let mut t = Table::new(&["alias", "method", "similarity", "source", "rows"]);
        for al in &view.aliases {
            t.push(vec![
                al.alias.clone(),
                al.method.clone(),
                format!("{:.0}", al.similarity),
                al.source_table.clone(),
                al.occurrences.to_string(),
            ]);
        }
        report::table::write(out, &t, style)?;
    }
    write_install_base(out, view, style)?;
    if view.leads_total == 0 {
        writeln!(out, "\nno active leads")?;
    } else {
        writeln!(out, "\nleads: {}", view.leads_total)?;
        let t = report::leads::queue_table(&view.leads);
        rows(out, &t, view.leads_total, style)?;
    }
    if view.opportunities_total > 0 {
        writeln!(out, "\nopportunities: {}", view.opportunities_total)?;
        let mut t = Table::new(&["opportunity", "name", "product line"]);
        for o in &view.opportunities {
            t.push(vec![
                o.opportunity_id.clone().unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
                o.product_line.clone().unwrap_or_default(),
            ]);
        }
        rows(out, &t, view.opportunities_total, style)?;
    }
    let prj = &view.projects;
    if prj.count == 0 {
        writeln!(out, "\nno projects")?;
    } else {
        writeln!(
            out,
            "\nprojects: {}, typically {}, last ended {}, {} closed",
            prj.count,
            prj.typical_size.as_deref().unwrap_or("unknown size"),
            prj.last_end_date.as_deref().unwrap_or("-"),
            prj.closed
        )?;
    }
    write_credits(out, &view.service_credits, style)
}

/// The account's assets: how many, by risk and family, and the first rows.
fn write_install_base(out: &mut dyn Write, view: &Account360, style: Style) -> Result<()> {
    writeln!(
        out,
        "\ninstall base: {}",
        report::plural(view.install_base_total as u64, "asset", "assets")
    )?;
    if view.install_base_total > 0 {
        report::table::write(out, &counts_table("risk", &view.risk_levels), style)?;
        report::table::write(out, &counts_table("family", &view.product_families), style)?;
        let mut t = Table::new(&["serial", "product", "family", "risk", "EOL", "status"]);
        for x in &view.install_base {
            // The exports write 2099-12-31 for "no end of life": not a date to show.
            let eol = x.eol_date.as_deref().map(|d| {
                let placeholder =
                    crate::derive::days::parse(d).is_some_and(crate::derive::days::is_placeholder);
                if placeholder {
                    "none".to_string()
                } else {
                    d.to_string()
                }
            });
            t.push(
                [
                    &x.serial_number,
                    &x.product_name,
                    &x.product_family,
                    &x.risk_level,
                    &eol,
                    &x.support_status,
                ]
                .iter()
                .map(|c| (*c).clone().unwrap_or_default())
                .collect(),
            );
        }
        rows(out, &t, view.install_base_total, style)?;
    }
    Ok(())
}

/// Active service credits, and those expiring within 90 days.
fn write_credits(out: &mut dyn Write, credits: &Credits, style: Style) -> Result<()> {
    writeln!(out, "\nservice credits: {} active", credits.active_total)?;
    if credits.expiring_total > 0 {
        writeln!(out, "expiring within 90 days:")?;
        let mut t = Table::new(&[
            "project",
            "name",
            "practice",
            "active",
            "expires in",
            "ends",
        ]);
        for e in &credits.expiring {
            t.push(vec![
                e.project_id.clone().unwrap_or_default(),
                e.project_name.clone().unwrap_or_default(),
                e.practice.clone().unwrap_or_default(),
                e.active.map(|n| n.to_string()).unwrap_or_default(),
                e.expiry_bucket
                    .as_ref()
                    .map(|b| format!("{b} days"))
                    .unwrap_or_default(),
                e.contract_end.clone().unwrap_or_default(),
            ]);
        }
        rows(out, &t, credits.expiring_total, style)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb;

    #[test]
    fn messages_list_matches_and_suggestions() {
        let (_d, mut s) = testdb::build();
        let Lookup::Ambiguous(list) = s.find_account("c", "c").unwrap() else {
            panic!()
        };
        let e = ambiguous("c", &list).to_string();
        assert!(e.starts_with("`c` matches 3 accounts"), "{e}");
        assert!(
            e.contains("\n  ACC1  Acme Corporation (territory T1)"),
            "{e}"
        );
        let e = missing("Globox", &["Globex Inc".into(), "Initech".into()]).to_string();
        assert_eq!(
            e,
            "no account matches `Globox`\nhelp: did you mean `Globex Inc` or `Initech`?"
        );
    }

    fn render(account: &str, limit: Option<usize>, s: &crate::store::Store) -> String {
        let mut r = s.reader().unwrap();
        let Lookup::Found(a) = r.find_account(account, "").unwrap() else {
            panic!()
        };
        let v = r.account_360(a, limit).unwrap();
        let mut out = Vec::new();
        write_text(&mut out, &v, Style::default()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_view_caps_the_asset_rows() {
        let (_d, s) = testdb::build_store();
        for i in 0..60 {
            testdb::execute(
                &s,
                &format!(
                    "INSERT INTO install_base (serial_number, account_id, source_file,
                     source_sheet, source_row) VALUES ('X{i:02}', 'ACC2', 'f', 's', 1)"
                ),
            );
        }
        let text = render("ACC2", Some(TABLE_ROWS), &s);
        assert!(text.contains("install base: 61 assets"), "{text}");
        assert!(text.contains("│ X48 "), "{text}");
        assert!(!text.contains("│ X49 "), "{text}");
        assert!(text.contains("… and 11 more (`--all` shows all)"), "{text}");
        let all = render("ACC2", None, &s);
        assert!(all.contains("│ X59 "), "{all}");
        assert!(!all.contains("more"), "{all}");
    }

    #[test]
    fn text_view_pages_leads_opportunities_and_expiring_credits() {
        let (_d, s) = testdb::build_store();
        testdb::execute(
            &s,
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 59)
                 INSERT INTO leads (lead_id, lead_type, rule, install_base_id, account_id, title,
                   description, recommended_action, score, priority, factors, reasons,
                   recommended_services, recommended_skus, extra, created_at, updated_at, run_id)
                 SELECT printf('ZZZZ%04d', i), 'Refresh', 'refresh', 4, 'ACC3', 't', 'd', 'a',
                   10 + i, 'LOW', '{}', '[]', '[]', '', '{}', '2024-01-01T00:00:00Z',
                   '2024-01-01T00:00:00Z', 1 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 6)
                 INSERT INTO opportunities (opportunity_id, account_id, source_file, source_sheet,
                   source_row) SELECT printf('OPP%02d', i), 'ACC3', 'f', 's', 1 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 6)
                 INSERT INTO service_credits (project_id, account_id, active, expiry_bucket,
                   contract_end, source_file, source_sheet, source_row)
                 SELECT printf('P%02d', i), 'ACC3', 1, '0-45', '2024-01-01', 'f', 's', 1 FROM n;",
        );
        // ACC3 has one lead of its own (score 30): 61 in all, the best (score 69) first.
        let text = render("ACC3", Some(5), &s);
        assert!(text.contains("leads: 61\n"), "{text}");
        assert!(text.contains("ZZZZ0059"), "{text}");
        assert!(text.contains("ZZZZ0055"), "{text}");
        assert!(!text.contains("ZZZZ0054"), "{text}");
        assert!(text.contains("… and 56 more"), "{text}");
        // OPP2 (its own) sorts after the seven added: OPP00 … OPP04 shown.
        assert!(text.contains("opportunities: 8\n"), "{text}");
        assert!(text.contains("OPP04") && !text.contains("OPP05"), "{text}");
        assert!(text.contains("… and 3 more"), "{text}");
        assert!(
            text.contains("│ P04 ") && !text.contains("│ P05 "),
            "{text}"
        );
        assert!(text.contains("… and 2 more"), "{text}");
        let all = render("ACC3", None, &s);
        assert_eq!(all.matches("ZZZZ00").count(), 60, "{all}");
        assert!(all.contains("OPP2") && all.contains("│ P06 "), "{all}");
        assert!(!all.contains("more"), "{all}");
        let none = render("ACC3", Some(0), &s);
        assert!(none.contains("leads: 61\n… and 61 more"), "{none}");
    }

    #[test]
    fn limit_flags() {
        use clap::Parser;

        use crate::cli::{Cli, Command};
        let args = |flags: &[&str]| {
            let mut argv = vec!["onelead", "account", "x"];
            argv.extend_from_slice(flags);
            match Cli::try_parse_from(argv).map(|c| c.command) {
                Ok(Command::Account(a)) => Ok(a),
                Ok(_) => panic!(),
                Err(e) => Err(e),
            }
        };
        let limit = |flags: &[&str], f| row_limit(&args(flags).unwrap(), f);
        assert_eq!(limit(&[], Format::Table), Some(TABLE_ROWS));
        assert_eq!(limit(&[], Format::Json), None);
        assert_eq!(limit(&[], Format::Csv), None);
        assert_eq!(limit(&["--limit", "7"], Format::Table), Some(7));
        assert_eq!(limit(&["--limit", "7"], Format::Json), Some(7));
        assert_eq!(limit(&["--all"], Format::Table), None);
        assert!(args(&["--all", "--limit", "3"]).is_err());
    }
}
