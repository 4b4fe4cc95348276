//! Plain-text tables (tabled), fitted to the terminal width when printing to one.

use std::io::Write;

use tabled::builder::Builder;
use tabled::grid::util::string::get_text_width;
use tabled::settings::object::Columns;
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
        if let Some(fitted) = fitted_widths(t, width) {
            for (i, (&now, &fit)) in natural_widths(t).iter().zip(&fitted).enumerate() {
                if fit < now {
                    table.modify(Columns::one(i), Width::truncate(fit).suffix("…"));
                }
            }
        }
        // Shrink the widest columns first so ids and scores stay readable.
        table.with(Width::wrap(width).priority(Priority::max(true)));
    }
    writeln!(w, "{table}")
}

/// The widest cell of each column, header included.
fn natural_widths(t: &Table) -> Vec<usize> {
    let mut widths: Vec<usize> = t.headers.iter().map(|h| get_text_width(h)).collect();
    for row in &t.rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(get_text_width(cell));
        }
    }
    widths
}

/// Narrowest a shortened column gets: three characters and the `…` (the queue's ten columns
/// then fit 100 with every id, serial and number whole).
const MIN_SHORTENED: usize = 4;

/// Column widths that fit `width` by shortening the widest columns not kept whole, or `None`
/// when the table keeps no column whole (then every column may wrap) or fits already. What
/// still does not fit is left to wrapping.
fn fitted_widths(t: &Table, width: usize) -> Option<Vec<usize>> {
    if t.whole.is_empty() {
        return None;
    }
    let mut widths = natural_widths(t);
    // `│ a │ b │`: each column adds a border and two spaces, and one border closes the row.
    let mut total: usize = widths.iter().map(|w| w + 3).sum::<usize>() + 1;
    if total <= width {
        return None;
    }
    let shrinkable: Vec<usize> = (0..widths.len())
        .filter(|&i| !t.whole.contains(&t.headers[i]))
        .collect();
    while total > width {
        let Some(&widest) = shrinkable
            .iter()
            .filter(|&&i| widths[i] > MIN_SHORTENED)
            .max_by_key(|&&i| (widths[i], std::cmp::Reverse(i)))
        else {
            break;
        };
        widths[widest] -= 1;
        total -= 1;
    }
    Some(widths)
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

    // See: issue 20 ("at 100 columns the queue wraps serials and ids mid-word").
    #[test]
    fn issue_20_at_100_columns_ids_and_serials_stay_whole_and_text_is_shortened() {
        let mut t = Table::new(&["lead_id", "score", "type", "account", "product", "serial"]);
        t.push(vec![
            "3E58S2NQ0HX38".into(),
            "73.50".into(),
            "Hardware Refresh - EOL Equipment".into(),
            "Baltimore City Public School Systems (inc)".into(),
            "Aruba AP-325 Dual 4x4:4 802.11ac AP".into(),
            "EDYPD02HY7W4TK".into(),
        ]);
        let t = t.keep_whole(&["lead_id", "score", "serial"]);
        let mut out = Vec::new();
        let style = Style {
            width: Some(100),
            color: false,
        };
        write(&mut out, &t, style).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.lines().all(|l| l.chars().count() <= 100), "{s}");
        assert_eq!(
            s.lines().count(),
            5,
            "one line per row: nothing wrapped\n{s}"
        );
        for whole in ["3E58S2NQ0HX38", "73.50", "EDYPD02HY7W4TK"] {
            assert!(s.contains(whole), "{whole} broken:\n{s}");
        }
        assert!(s.contains('…'), "{s}");
        // A table that fits is left as it is.
        let mut out = Vec::new();
        let wide = Style {
            width: Some(200),
            color: false,
        };
        write(&mut out, &t, wide).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains('…'));
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
