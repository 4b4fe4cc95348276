//! Output: one printer per format (and `html`, the shareable report), each writing to any `io::Write` so tests capture output in
//! memory. Views build a [`Table`] (for table and CSV output) and a serde value (for JSON).

pub mod asset;
pub mod csv;
pub mod diff;
pub mod explain;
pub mod histogram;
pub mod html;
pub mod ingest;
pub mod json;
pub mod leads;
pub mod mail;
pub mod markdown;
pub mod snapshots;
pub mod table;

use std::io::{IsTerminal, Write};

use crate::error::Result;

/// The output formats every view prints in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A table fitted to the terminal.
    #[default]
    Table,
    /// CSV for spreadsheets.
    Csv,
    /// Stable JSON (documented in `docs/json.md`).
    Json,
}

/// Rows of text under headers: what the table and CSV printers print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
    /// Columns a narrow terminal must not break (ids, serials, numbers), by header: the others
    /// are shortened (`…`) instead, so what a user copies from these is whole. Empty: every
    /// column may wrap.
    pub whole: Vec<String>,
}

impl Table {
    /// A table with these headers and no rows.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            rows: Vec::new(),
            whole: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Keeps these columns whole on a narrow terminal (see [`Table::whole`]).
    #[must_use]
    pub fn keep_whole(mut self, headers: &[&str]) -> Table {
        self.whole = headers.iter().map(|h| (*h).to_string()).collect();
        self
    }
}

/// Terminal facts that decide how tables look.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Fit tables to this many columns (`None`: not a terminal, never wrap).
    pub width: Option<usize>,
    /// Colour allowed (a terminal and no `NO_COLOR`).
    pub color: bool,
}

impl Style {
    /// Looks at stdout and the environment.
    pub fn detect() -> Style {
        let tty = std::io::stdout().is_terminal();
        let width = if tty {
            terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
        } else {
            None
        };
        Style {
            width,
            color: tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// Writes `table` (table or CSV) or `value` (JSON) in the chosen format.
pub fn emit<T: serde::Serialize>(
    w: &mut dyn Write,
    format: Format,
    table: &Table,
    value: &T,
    style: Style,
) -> Result<()> {
    match format {
        Format::Table => table::write(w, table, style)?,
        Format::Csv => csv::write(w, table)?,
        Format::Json => json::write(w, value)?,
    }
    Ok(())
}

/// Formats a score with two decimals, as the views show it.
pub fn score(s: f64) -> String {
    format!("{s:.2}")
}

/// Formats a money estimate with thousands separators and two decimals (`12,500.50`).
pub fn money(v: f64) -> String {
    let fixed = format!("{:.2}", v.abs());
    let (int, frac) = fixed.split_once('.').unwrap_or((fixed.as_str(), "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{grouped}.{frac}")
}

/// `n` and the noun that goes with it: `1 row`, `2 rows`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A line for stdout, mapping a closed pipe to the error the caller treats as success.
pub fn line(w: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(w, "{text}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money(12500.5), "12,500.50");
        assert_eq!(super::money(999.0), "999.00");
        assert_eq!(super::money(-1_234_567.0), "-1,234,567.00");
    }
}
