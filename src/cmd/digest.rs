//! `onelead digest`: the morning summary for a manager, per territory, as Markdown (default),
//! JSON or a table.

use crate::cli::{DigestArgs, DigestFormat};
use crate::error::Result;
use crate::lifecycle::digest::{self, Digest};
use crate::pipeline::Settings;
use crate::report::{self, Style, Table};

/// Runs `onelead digest`.
pub fn run(args: &DigestArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let mut reader = super::open_reader(&settings.db)?;
    let d = digest::digest(
        &mut reader,
        args.since,
        chrono::Utc::now(),
        settings.cfg.aging_days,
    )?;
    let out = &mut std::io::stdout().lock();
    match args.format {
        DigestFormat::Markdown => report::markdown::digest(out, &d)?,
        DigestFormat::Json => report::json::write(out, &d)?,
        DigestFormat::Table => {
            let t = table(&d);
            if t.rows.is_empty() {
                report::line(out, &format!("nothing to report since {}", d.since))?;
            }
            report::table::write(out, &t, Style::detect())?;
        }
    }
    Ok(())
}

/// One row per listed lead, with the section it is listed in.
fn table(d: &Digest) -> Table {
    let mut t = Table::new(&[
        "territory",
        "section",
        "lead_id",
        "priority",
        "score",
        "type",
        "account",
        "detail",
    ]);
    for terr in &d.territories {
        let sections = terr
            .new_leads
            .iter()
            .map(|l| ("new", l, String::new()))
            .chain(
                terr.priority_changes
                    .iter()
                    .map(|c| ("priority", &c.lead, format!("{} → {}", c.from, c.to))),
            )
            .chain(
                terr.aging
                    .iter()
                    .map(|l| ("aging", l, format!("{} since {}", l.status, l.updated_at))),
            );
        for (section, l, detail) in sections {
            t.push(vec![
                terr.territory_id.clone(),
                section.to_string(),
                l.lead_id.clone(),
                l.priority.clone(),
                report::score(l.score),
                l.lead_type.clone(),
                l.account_name.clone().unwrap_or_default(),
                detail,
            ]);
        }
    }
    t
}
