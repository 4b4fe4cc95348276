//! Plain-text tables (tabled), fitted to the terminal width when printing to one.

use std::io::Write;

use tabled::builder::Builder;
use tabled::settings::peaker::Priority;
use tabled::settings::{Style as TStyle, Width};

use super::{Style, Table};

/// Prints `t`; an empty table prints nothing (callers say "no leads" themselves).
pub fn write(w: &mut dyn Write, t: &Table, style: Style) -> std::io::Result<()> {
    if t.rows.is_empty() {
        return Ok(());
    }
    let mut b = Builder::default();
    b.push_record(t.headers.clone());
    for r in &t.rows {
        b.push_record(r.clone());
    }
    let mut table = b.build();
    table.with(TStyle::sharp());
    if let Some(width) = style.width {
        // Shrink the widest columns first so ids and scores stay readable.
        table.with(Width::wrap(width).priority(Priority::max(true)));
    }
    writeln!(w, "{table}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_headers_and_rows_and_nothing_when_empty() {
        let mut t = Table::new(&["id", "score"]);
        let mut out = Vec::new();
        write(&mut out, &t, Style::default()).unwrap();
        assert!(out.is_empty());
        t.push(vec!["AB12".into(), "64.50".into()]);
        write(&mut out, &t, Style::default()).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("│ id   │ score │"), "{s}");
        assert!(s.contains("│ AB12 │ 64.50 │"), "{s}");
    }

    #[test]
    fn fits_the_terminal_width() {
        let mut t = Table::new(&["description"]);
        t.push(vec!["word ".repeat(40)]);
        let mut out = Vec::new();
        let style = Style {
            width: Some(40),
            color: false,
        };
        write(&mut out, &t, style).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.lines().all(|l| l.chars().count() <= 40), "{s}");
    }
}
