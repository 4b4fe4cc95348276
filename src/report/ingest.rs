//! The load report — what `load` and `run` read, what they decided, what they could not read —
//! as text that fits the terminal, or as CSV rows (one fact per row). Its JSON is the
//! [`IngestReport`] itself.

use std::fmt::Write as _;
use std::io::Write;

use super::{Style, Table};
use crate::ingest::{Coercion, IngestReport};

/// Prints the report: rows per table (plus `extra` rows such as accounts), flag columns, date
/// orders, unreadable values and warnings. Long lines wrap at the terminal's width.
pub fn write_table(
    out: &mut dyn Write,
    r: &IngestReport,
    extra: &[(&str, usize)],
    into: &str,
    style: Style,
) -> std::io::Result<()> {
    let files: Vec<String> = r
        .files
        .iter()
        .map(|f| match &f.encoding {
            Some(e) if e != "utf-8" => format!("{} ({e})", f.file),
            _ => f.file.clone(),
        })
        .collect();
    let width = style.width;
    let loaded = format!("loaded {} into {into}", files.join(", "));
    write!(out, "{}", wrap(&loaded, width, ""))?;
    let mut t = Table::new(&["table", "rows"]);
    for (table, n) in &r.rows {
        t.push(vec![table.clone(), n.to_string()]);
    }
    for (table, n) in extra {
        t.push(vec![(*table).to_string(), n.to_string()]);
    }
    super::table::write(out, &t, style)?;
    write_decisions(out, r, width)?;
    if !r.coerced.is_empty() {
        writeln!(
            out,
            "values that could not be read and were stored as NULL:"
        )?;
        super::table::write(out, &coercion_table(&r.coerced), style)?;
    }
    if !r.warnings.is_empty() {
        writeln!(out, "warnings:")?;
        for w in &r.warnings {
            let text = format!("- {}: {}", place(&w.file, &w.sheet), w.message);
            write!(out, "{}", wrap(&text, width, "  "))?;
        }
    }
    Ok(())
}

/// What the load decided from the data: flag columns, and date orders read from a column's
/// own dates (assumed and contradictory orders are warnings).
fn write_decisions(
    out: &mut dyn Write,
    r: &IngestReport,
    width: Option<usize>,
) -> std::io::Result<()> {
    if !r.flags.is_empty() {
        writeln!(out, "Yes/No columns, stored as 1 and 0:")?;
        for f in &r.flags {
            writeln!(
                out,
                "  {}.{}: {} yes, {} no",
                f.table, f.column, f.yes, f.no
            )?;
        }
    }
    for d in r.date_columns.iter().filter(|d| d.basis == "inferred") {
        let (order, shown) = match (d.order.as_deref(), &d.day_first, &d.month_first) {
            (Some("dmy"), Some(s), _) => ("day/month", s),
            (_, _, Some(s)) => ("month/day", s),
            _ => continue,
        };
        let n = match d.ambiguous {
            1 => "the ambiguous date".to_string(),
            n => format!("{n} ambiguous dates"),
        };
        let text = format!(
            "{}: {n} in `{}` read {order}, as `{}` on row {} shows",
            place(&d.file, &d.sheet),
            d.column,
            shown.value,
            shown.row
        );
        write!(out, "{}", wrap(&text, width, "  "))?;
    }
    Ok(())
}

/// `file` or `file [sheet]`.
fn place(file: &str, sheet: &str) -> String {
    if sheet.is_empty() {
        file.to_string()
    } else {
        format!("{file} [{sheet}]")
    }
}

/// One row per (table, column): where the examples are once when they share a sheet, so the
/// table stays narrow.
fn coercion_table(coerced: &[Coercion]) -> Table {
    let mut t = Table::new(&["table", "column", "count", "where", "examples"]);
    for c in coerced {
        let first = c.examples.first();
        let shared = first.filter(|f| {
            c.examples
                .iter()
                .all(|e| e.file == f.file && e.sheet == f.sheet)
        });
        let at = shared.map_or_else(String::new, |f| place(&f.file, &f.sheet));
        let ex: Vec<String> = c
            .examples
            .iter()
            .map(|e| {
                let raw = shorten(&e.raw, 40);
                if shared.is_some() {
                    format!("row {}: {raw:?}", e.row)
                } else {
                    format!("{} row {}: {raw:?}", place(&e.file, &e.sheet), e.row)
                }
            })
            .collect();
        t.push(vec![
            c.table.clone(),
            c.column.clone(),
            c.count.to_string(),
            at,
            ex.join("; "),
        ]);
    }
    t
}

/// At most `n` characters of `s`, with `…` where it was cut (the CSV and JSON keep it whole).
fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

/// Columns of [`write_csv`].
pub const CSV_HEADERS: &[&str] = &[
    "kind", "file", "sheet", "table", "column", "count", "row", "detail",
];

/// The report as CSV: `sheet` rows (what each sheet was loaded as), `rows` per table (and
/// `extra`), `flags`, `date_order`, `coerced` (one per example) and `warning` rows.
pub fn write_csv(
    out: &mut dyn Write,
    r: &IngestReport,
    extra: &[(&str, usize)],
) -> std::io::Result<()> {
    let mut t = Table::new(CSV_HEADERS);
    let mut push = |cells: [&str; 8]| t.push(cells.iter().map(|c| (*c).to_string()).collect());
    for f in &r.files {
        for s in &f.sheets {
            let enc = f.encoding.as_deref().unwrap_or("");
            push([
                "sheet",
                &f.file,
                &s.sheet,
                &s.kind,
                "",
                &s.rows.to_string(),
                "",
                enc,
            ]);
        }
    }
    let counts = r.rows.iter().map(|(t, n)| (t.as_str(), *n));
    for (table, n) in counts.chain(extra.iter().map(|(t, n)| (*t, *n as u64))) {
        push(["rows", "", "", table, "", &n.to_string(), "", ""]);
    }
    push_findings(&mut push, r);
    super::csv::write(out, &t)
}

/// The CSV rows of what the load decided or could not read.
fn push_findings(push: &mut dyn FnMut([&str; 8]), r: &IngestReport) {
    for f in &r.flags {
        let detail = format!("yes {}, no {}", f.yes, f.no);
        let n = (f.yes + f.no).to_string();
        push(["flags", "", "", &f.table, &f.column, &n, "", &detail]);
    }
    for d in &r.date_columns {
        let detail = format!("{} {}", d.order.as_deref().unwrap_or("none"), d.basis);
        let n = d.ambiguous.to_string();
        let row = d
            .example
            .as_ref()
            .map(|e| e.row.to_string())
            .unwrap_or_default();
        push([
            "date_order",
            &d.file,
            &d.sheet,
            &d.table,
            &d.column,
            &n,
            &row,
            &detail,
        ]);
    }
    for c in &r.coerced {
        let n = c.count.to_string();
        for e in &c.examples {
            let row = e.row.to_string();
            push([
                "coerced", &e.file, &e.sheet, &c.table, &c.column, &n, &row, &e.raw,
            ]);
        }
    }
    for w in &r.warnings {
        let row = w.row.map(|r| r.to_string()).unwrap_or_default();
        push([
            "warning", &w.file, &w.sheet, &w.kind, &w.column, "", &row, &w.message,
        ]);
    }
}

/// `text` broken at spaces into lines of at most `width` characters (continuation lines
/// indented); one line when there is no terminal. Ends with a newline.
pub fn wrap(text: &str, width: Option<usize>, indent: &str) -> String {
    let Some(width) = width.filter(|w| *w > indent.len() + 20) else {
        return format!("{text}\n");
    };
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            let _ = writeln!(out, "{}", line.trim_end());
            line = indent.to_string();
        } else if len > 0 && !line.ends_with(' ') {
            line.push(' ');
        }
        line.push_str(word);
    }
    let _ = writeln!(out, "{}", line.trim_end());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{CoercionExample, FileSummary, Warning};

    fn report() -> IngestReport {
        let mut r = IngestReport::default();
        r.files.push(FileSummary {
            file: "emea.csv".into(),
            sheets: Vec::new(),
            encoding: Some("windows-1252".into()),
        });
        r.add_rows("projects", 2394);
        r.record_flags("projects", "labor_cost", 2372, 3);
        for row in [2, 4, 5] {
            r.record_coercion(
                "projects",
                "start_date",
                CoercionExample {
                    file: "DataExportAug29th.xlsx".into(),
                    sheet: "A&PS Project sample".into(),
                    row,
                    raw: "soon".repeat(30),
                },
            );
        }
        r.warn(Warning {
            file: "emea.csv".into(),
            kind: "encoding".into(),
            message: "word ".repeat(40),
            ..Warning::default()
        });
        r
    }

    #[test]
    fn the_table_report_fits_a_narrow_terminal() {
        // See: issue 20 — every real load printed a table ~200 columns wide.
        let mut out = Vec::new();
        let style = Style {
            width: Some(60),
            color: false,
        };
        write_table(&mut out, &report(), &[("accounts", 13)], "x.db", style).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.lines().all(|l| l.chars().count() <= 60), "{s}");
        assert!(
            s.starts_with("loaded emea.csv (windows-1252) into x.db\n"),
            "{s}"
        );
        let joined = s.replace("\n  ", " ");
        assert!(
            s.contains(
                "Yes/No columns, stored as 1 and 0:\n  projects.labor_cost: 2372 yes, 3 no\n"
            ),
            "{s}"
        );
        assert!(joined.contains("warnings:\n- emea.csv: word word"), "{s}");
        // Off a terminal nothing wraps, and long values are cut in the table only.
        let mut out = Vec::new();
        write_table(&mut out, &report(), &[], "x.db", Style::default()).unwrap();
        let s = String::from_utf8(out).unwrap();
        let cut = format!("row 2: \"{}…\"", &"soon".repeat(10)[..39]);
        assert!(s.contains(&cut), "{s}");
        assert!(
            s.contains(&format!("- emea.csv: {}", "word ".repeat(40).trim_end())),
            "{s}"
        );
    }

    #[test]
    fn the_csv_report_has_one_fact_per_row() {
        let mut out = Vec::new();
        write_csv(&mut out, &report(), &[("accounts", 13)]).unwrap();
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], CSV_HEADERS.join(","));
        assert!(lines.contains(&"rows,,,projects,,2394,,"), "{s}");
        assert!(lines.contains(&"rows,,,accounts,,13,,"), "{s}");
        assert!(
            lines.contains(&"flags,,,projects,labor_cost,2375,,\"yes 2372, no 3\""),
            "{s}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("coerced,")).count(),
            3
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("warning,emea.csv,,encoding,,,,word")),
            "{s}"
        );
    }

    #[test]
    fn wrap_breaks_at_spaces_and_indents() {
        assert_eq!(wrap("a b", None, "  "), "a b\n");
        let w = wrap(&"abcd ".repeat(12), Some(25), "  ");
        assert!(w.lines().all(|l| l.chars().count() <= 25), "{w}");
        assert!(w.lines().skip(1).all(|l| l.starts_with("  abcd")), "{w}");
    }
}
