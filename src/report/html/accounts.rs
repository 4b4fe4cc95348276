//! Account 360° pages of the HTML report: one section per account in the queue, reached from
//! the queue by anchor, with merged names, install base, leads, opportunities, projects and
//! service credits.

use std::collections::HashMap;
use std::io::{self, Write};

use super::{esc, opt};
use crate::report::score;
use crate::views::{Account360, Count};

/// Install-base rows a page lists; the rest are counted.
const ASSET_ROWS: usize = 25;

/// Section ids by account id. Ids are positional (`acct-3`), so an account id with any
/// characters in it still makes a valid, safe fragment.
pub fn anchors(accounts: &[Account360]) -> HashMap<String, String> {
    accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.account.account_id.clone(), format!("acct-{i}")))
        .collect()
}

fn counts(w: &mut dyn Write, label: &str, cs: &[Count]) -> io::Result<()> {
    if cs.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = cs
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                esc(c.value.as_deref().unwrap_or("(none)")),
                c.count
            )
        })
        .collect();
    write!(w, "<p><b>{label}:</b> {}</p>", list.join(" · "))
}

/// Writes the accounts section.
pub fn write(
    w: &mut dyn Write,
    accounts: &[Account360],
    anchors: &HashMap<String, String>,
) -> io::Result<()> {
    write!(w, r#"<section id="accounts"><h2>Accounts</h2>"#)?;
    if accounts.is_empty() {
        write!(w, "<p>No account has a lead in the queue.</p>")?;
    }
    for v in accounts {
        let id = &v.account.account_id;
        let anchor = anchors.get(id).map_or("", String::as_str);
        let territory = match (&v.account.territory_id, &v.account.territory_name) {
            (Some(t), Some(n)) => format!("territory {} ({})", esc(t), esc(n)),
            (Some(t), None) => format!("territory {}", esc(t)),
            _ => "no territory".into(),
        };
        write!(
            w,
            r#"<article class="account" id="{anchor}"><h3>{} <small>{} · {territory}</small></h3>"#,
            esc(&v.account.name),
            esc(id)
        )?;
        if !v.aliases.is_empty() {
            let names: Vec<String> = v
                .aliases
                .iter()
                .map(|a| {
                    format!(
                        r#"<span title="{} in {}, {:.0}% similar">{}</span>"#,
                        esc(&a.method),
                        esc(&a.source_table),
                        a.similarity,
                        esc(&a.alias)
                    )
                })
                .collect();
            write!(w, "<p><b>Also known as:</b> {}</p>", names.join(" · "))?;
        }
        counts(w, "Risk", &v.risk_levels)?;
        counts(w, "Families", &v.product_families)?;
        write!(w, "<h4>Leads ({})</h4><ul class=\"leads\">", v.leads_total)?;
        for l in &v.leads {
            write!(
                w,
                r##"<li><a href="#lead-{0}">{0}</a> <span class="badge p{1}">{2}</span> {3} · {4} · {5}</li>"##,
                esc(&l.lead_id),
                super::queue::rank(&l.priority),
                esc(&l.priority),
                score(l.score),
                esc(&l.lead_type),
                opt(l.product_name.as_deref())
            )?;
        }
        write!(w, "</ul>")?;
        assets(w, v)?;
        if !v.opportunities.is_empty() {
            write!(w, "<h4>Opportunities</h4><ul>")?;
            for o in &v.opportunities {
                write!(
                    w,
                    "<li>{} {} <small>{}</small></li>",
                    opt(o.opportunity_id.as_deref()),
                    opt(o.name.as_deref()),
                    opt(o.product_line.as_deref())
                )?;
            }
            write!(w, "</ul>")?;
        }
        let p = &v.projects;
        if p.count > 0 {
            write!(
                w,
                "<p><b>Projects:</b> {}, typically {}, last ended {}, {} closed</p>",
                p.count,
                esc(p.typical_size.as_deref().unwrap_or("unknown size")),
                esc(p.last_end_date.as_deref().unwrap_or("-")),
                p.closed
            )?;
        }
        let c = &v.service_credits;
        write!(
            w,
            "<p><b>Service credits:</b> {} active, {} expiring within 90 days</p>",
            c.active_total,
            c.expiring.len()
        )?;
        write!(
            w,
            r##"<p class="back"><a href="#queue-section">back to the queue</a></p></article>"##
        )?;
    }
    writeln!(w, "</section>")
}

fn assets(w: &mut dyn Write, v: &Account360) -> io::Result<()> {
    if v.install_base.is_empty() {
        return Ok(());
    }
    write!(
        w,
        r#"<details><summary>Install base: {}</summary><div class="scroll"><table class="mini"><thead><tr><th>serial</th><th>product</th><th>family</th><th>risk</th><th>EOL</th><th>support</th></tr></thead><tbody>"#,
        super::super::plural(
            v.install_base_total.max(v.install_base.len()) as u64,
            "asset",
            "assets"
        )
    )?;
    for a in v.install_base.iter().take(ASSET_ROWS) {
        write!(
            w,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            opt(a.serial_number.as_deref()),
            opt(a.product_name.as_deref()),
            opt(a.product_family.as_deref()),
            opt(a.risk_level.as_deref()),
            opt(a.eol_date.as_deref()),
            opt(a.support_status.as_deref())
        )?;
    }
    write!(w, "</tbody></table></div>")?;
    let total = v.install_base_total.max(v.install_base.len());
    if total > ASSET_ROWS.min(v.install_base.len()) {
        write!(
            w,
            "<p>… and {} more (`onelead account {} --json` lists all)</p>",
            total - ASSET_ROWS.min(v.install_base.len()),
            esc(&v.account.account_id)
        )?;
    }
    write!(w, "</details>")
}
