//! The lines `run` and `load` print about the snapshots a run formed: what each kind of sheet
//! replaced, what changed in the install base, and serial numbers found on several rows.

use std::fmt::Write as _;
use std::io::Write;

use super::ingest::wrap;
use super::plural;
use crate::model::snapshot::{ChangeCounts, SettledInstallBase};
use crate::pipeline::SnapshotReport;

/// `1 arrived, 5 left, 2 changed support status, 1 changed coverage`.
pub fn change_summary(c: &ChangeCounts) -> String {
    format!(
        "{} arrived, {} left, {} changed support status, {} changed coverage",
        c.arrived, c.left, c.support_status, c.coverage
    )
}

/// Lines wrap at 80 columns, terminal or not: they follow `load`'s report, which fits one.
const WIDTH: Option<usize> = Some(80);

/// A few lines per snapshot, then the repeated asset keys of a new install base.
pub fn write(out: &mut dyn Write, snapshots: &[SnapshotReport]) -> std::io::Result<()> {
    for s in snapshots {
        let mut line = format!(
            "{}: {} from {}",
            s.kind.replace('_', " "),
            plural(s.rows, "row", "rows"),
            s.files.join(", ")
        );
        if s.replaced > 0 {
            let _ = write!(line, ", replacing {}", s.replaced);
        }
        write!(out, "{}", wrap(&line, WIDTH, "  "))?;
        let compared = match s.install_base.as_ref().map(|i| &i.changes) {
            Some(Some(c)) if c.is_empty() => {
                format!("since the last install base: {}", change_summary(c))
            }
            Some(Some(c)) => format!(
                "since the last install base: {} (`onelead changes` lists them)",
                change_summary(c)
            ),
            Some(None) => "the first install base: nothing to compare it with".into(),
            None => String::new(),
        };
        indented(out, &compared)?;
        if let Some(i) = &s.install_base {
            duplicates(out, i)?;
        }
    }
    Ok(())
}

/// The warning about asset keys on several rows, with where they are.
fn duplicates(out: &mut dyn Write, i: &SettledInstallBase) -> std::io::Result<()> {
    if i.duplicates == 0 {
        return Ok(());
    }
    let warning = format!(
        "warning: {} on more than one row of this install base (every row is kept; the \
         later rows' leads get longer ids):",
        plural(i.duplicates, "serial number is", "serial numbers are")
    );
    write!(out, "{}", wrap(&warning, WIDTH, "  "))?;
    for d in &i.duplicate_examples {
        let rows: Vec<String> = d
            .rows
            .iter()
            .map(|r| {
                let sheet = if r.sheet.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", r.sheet)
                };
                format!("{}{sheet} row {}", r.file, r.row)
            })
            .collect();
        let line = format!("`{}`: {}", d.asset_key, rows.join(", "));
        indented(out, &line)?;
    }
    let more = i
        .duplicates
        .saturating_sub(i.duplicate_examples.len() as u64);
    if more > 0 {
        writeln!(out, "  … and {more} more")?;
    }
    Ok(())
}

/// `text` under the line before it: indented by two, wrapped within [`WIDTH`].
fn indented(out: &mut dyn Write, text: &str) -> std::io::Result<()> {
    let narrower = WIDTH.map(|w| w - 2);
    for l in wrap(text, narrower, "  ").lines().filter(|l| !l.is_empty()) {
        writeln!(out, "  {l}")?;
    }
    Ok(())
}
