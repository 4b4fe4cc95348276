//! `onelead account NAME|ID`: the account 360° view — identity and merged names, install base
//! and its risk, leads, opportunities, project history and service credits.

use std::io::Write;

use crate::cli::{AccountArgs, Format};
use crate::derive::account::normalize;
use crate::error::{Error, Result};
use crate::report::{self, Style, Table};
use crate::store::account_view::{self, Account360, Count, Identity, Lookup};

/// Install-base rows the table shows; the JSON has them all.
const ASSET_ROWS: usize = 50;

/// Runs `onelead account`.
pub fn run(args: &AccountArgs) -> Result<()> {
    let (settings, store) = super::open_view(&args.db)?;
    let normalized = normalize(&args.account, &settings.cfg.accounts.legal_suffixes);
    let account = match account_view::find_account(&store.conn, &args.account, &normalized)? {
        Lookup::Found(a) => a,
        Lookup::Ambiguous(list) => return Err(ambiguous(&args.account, &list)),
        Lookup::Missing(names) => return Err(missing(&args.account, &names)),
    };
    let v = account_view::account_360(&store.conn, account)?;
    let out = &mut std::io::stdout().lock();
    match args.format.get() {
        Format::Json => Ok(report::json::write(out, &v)?),
        Format::Csv => Ok(report::csv::write(
            out,
            &report::leads::csv_table(&v.leads),
        )?),
        Format::Table => write_text(out, &v, Style::detect()),
    }
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

fn write_text(out: &mut dyn Write, view: &Account360, style: Style) -> Result<()> {
    let ident = &view.account;
    let territory = match (&ident.territory_id, &ident.territory_name) {
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
    writeln!(out, "\ninstall base: {} assets", view.install_base.len())?;
    if !view.install_base.is_empty() {
        report::table::write(out, &counts_table("risk", &view.risk_levels), style)?;
        report::table::write(out, &counts_table("family", &view.product_families), style)?;
        let mut t = Table::new(&["serial", "product", "family", "risk", "EOL", "status"]);
        for x in view.install_base.iter().take(ASSET_ROWS) {
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
        report::table::write(out, &t, style)?;
        if view.install_base.len() > ASSET_ROWS {
            writeln!(
                out,
                "… and {} more (`--json` lists all)",
                view.install_base.len() - ASSET_ROWS
            )?;
        }
    }
    if view.leads.is_empty() {
        writeln!(out, "\nno active leads")?;
    } else {
        writeln!(out, "\nleads: {}", view.leads.len())?;
        report::table::write(out, &report::leads::queue_table(&view.leads), style)?;
    }
    if !view.opportunities.is_empty() {
        writeln!(out, "\nopportunities: {}", view.opportunities.len())?;
        let mut t = Table::new(&["opportunity", "name", "product line"]);
        for o in &view.opportunities {
            t.push(vec![
                o.opportunity_id.clone().unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
                o.product_line.clone().unwrap_or_default(),
            ]);
        }
        report::table::write(out, &t, style)?;
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
    let credits = &view.service_credits;
    writeln!(out, "\nservice credits: {} active", credits.active_total)?;
    if !credits.expiring.is_empty() {
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
        report::table::write(out, &t, style)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb;

    #[test]
    fn messages_list_matches_and_suggestions() {
        let (_d, s) = testdb::build();
        let Lookup::Ambiguous(list) = account_view::find_account(&s.conn, "c", "c").unwrap() else {
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

    #[test]
    fn text_view_caps_the_asset_rows() {
        let (_d, s) = testdb::build();
        for i in 0..60 {
            s.conn
                .execute(
                    "INSERT INTO install_base (serial_number, account_id, source_file,
                     source_sheet, source_row) VALUES (?1, 'ACC2', 'f', 's', 1)",
                    [format!("X{i}")],
                )
                .unwrap();
        }
        let Lookup::Found(a) = account_view::find_account(&s.conn, "ACC2", "acc2").unwrap() else {
            panic!()
        };
        let v = account_view::account_360(&s.conn, a).unwrap();
        assert_eq!(v.install_base.len(), 61);
        let mut out = Vec::new();
        write_text(&mut out, &v, Style::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("… and 11 more"), "{text}");
        assert!(text.contains("install base: 61 assets"), "{text}");
    }
}
