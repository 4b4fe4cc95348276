//! Inline SVG charts for the HTML report: drawn here as text, so the file needs no chart library,
//! no script and no network. Every label passes through [`esc`]; sizes come from a `viewBox`, so
//! a chart scales with its column and prints sharply.

use std::f64::consts::PI;
use std::io::{self, Write};

use super::esc;

/// Fill colours of the priorities, most urgent first (the order of `views::PRIORITIES`).
pub const PRIORITY_COLORS: [&str; 4] = ["#b91c1c", "#ea580c", "#ca8a04", "#64748b"];

/// The main series colour and the second series colour.
const BLUE: &str = "#2563eb";
const TEAL: &str = "#0d9488";

/// Shortens a label to `max` characters so it fits its column; the full text stays in `<title>`.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn open(w: &mut dyn Write, width: f64, height: f64, label: &str) -> io::Result<()> {
    write!(
        w,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(label)
    )
}

/// A vertical bar chart: one bar per `(label, value)`, the value above each bar.
pub fn columns(w: &mut dyn Write, title: &str, bars: &[(String, i64)]) -> io::Result<()> {
    let (width, height, left, bottom, top) = (480.0, 220.0, 10.0, 28.0, 16.0);
    open(w, width, height, title)?;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let slot = (width - 2.0 * left) / bars.len().max(1) as f64;
    let plot = height - bottom - top;
    for (i, (label, v)) in bars.iter().enumerate() {
        let h = plot * (*v as f64) / max;
        let x = left + slot * i as f64;
        let y = top + plot - h;
        let mid = x + slot / 2.0;
        write!(
            w,
            r#"<g><title>{}: {v}</title><rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{BLUE}"/>"#,
            esc(label),
            x + 3.0,
            slot - 6.0
        )?;
        write!(
            w,
            r#"<text x="{mid:.1}" y="{:.1}" class="v">{v}</text><text x="{mid:.1}" y="{:.1}" class="l">{}</text></g>"#,
            y - 3.0,
            height - bottom + 14.0,
            esc(&clip(label, 8))
        )?;
    }
    write!(
        w,
        r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#94a3b8"/></svg>"##,
        width - left,
        top + plot,
        top + plot
    )
}

/// Horizontal bars stacked by priority: one row per `(label, counts in PRIORITIES order)`,
/// with a legend and the row total after each bar.
pub fn priority_bars(
    w: &mut dyn Write,
    title: &str,
    rows: &[(String, [i64; 4])],
) -> io::Result<()> {
    let (width, label_w, row_h, top) = (480.0, 170.0, 22.0, 24.0);
    let height = top + row_h * rows.len().max(1) as f64 + 4.0;
    open(w, width, height, title)?;
    for (i, (name, color)) in crate::views::PRIORITIES
        .iter()
        .zip(PRIORITY_COLORS)
        .enumerate()
    {
        let x = label_w + 70.0 * i as f64;
        write!(
            w,
            r#"<rect x="{x}" y="4" width="10" height="10" fill="{color}"/><text x="{}" y="13" class="k">{name}</text>"#,
            x + 14.0
        )?;
    }
    let max = rows
        .iter()
        .map(|r| r.1.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let span = width - label_w - 40.0;
    for (i, (label, counts)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let total: i64 = counts.iter().sum();
        write!(
            w,
            r#"<g><title>{}: {total} ({})</title><text x="{:.1}" y="{:.1}" class="r">{}</text>"#,
            esc(label),
            counts
                .iter()
                .zip(crate::views::PRIORITIES)
                .filter(|(n, _)| **n > 0)
                .map(|(n, p)| format!("{p} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            label_w - 6.0,
            y + 15.0,
            esc(&clip(label, 26))
        )?;
        let mut x = label_w;
        for (n, color) in counts.iter().zip(PRIORITY_COLORS) {
            let seg = span * (*n as f64) / max;
            if seg > 0.0 {
                write!(
                    w,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{seg:.1}" height="{:.1}" fill="{color}"/>"#,
                    y + 3.0,
                    row_h - 6.0
                )?;
            }
            x += seg;
        }
        write!(
            w,
            r#"<text x="{:.1}" y="{:.1}" class="v2">{total}</text></g>"#,
            x + 4.0,
            y + 15.0
        )?;
    }
    write!(w, "</svg>")
}

/// Two bar panels side by side over the same rows: `(label, first, second)`, each panel scaled
/// to its own maximum (install base counts dwarf lead counts).
pub fn paired_bars(
    w: &mut dyn Write,
    title: &str,
    headers: [&str; 2],
    rows: &[(String, i64, i64)],
) -> io::Result<()> {
    let (width, label_w, row_h, top) = (480.0, 130.0, 22.0, 22.0);
    let height = top + row_h * rows.len().max(1) as f64 + 4.0;
    let panel = (width - label_w) / 2.0;
    open(w, width, height, title)?;
    for (i, h) in headers.iter().enumerate() {
        write!(
            w,
            r#"<text x="{:.1}" y="13" class="k">{}</text>"#,
            label_w + panel * i as f64,
            esc(h)
        )?;
    }
    let max_a = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let max_b = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1) as f64;
    for (i, (label, a, b)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        write!(
            w,
            r#"<g><title>{}: {a} {}, {b} {}</title><text x="{:.1}" y="{:.1}" class="r">{}</text>"#,
            esc(label),
            esc(headers[0]),
            esc(headers[1]),
            label_w - 6.0,
            y + 15.0,
            esc(&clip(label, 18))
        )?;
        for (j, (n, max, color)) in [(*a, max_a, BLUE), (*b, max_b, TEAL)].iter().enumerate() {
            let x = label_w + panel * j as f64;
            let len = (panel - 44.0) * (*n as f64) / max;
            write!(
                w,
                r#"<rect x="{x:.1}" y="{:.1}" width="{len:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" class="v2">{n}</text>"#,
                y + 3.0,
                row_h - 6.0,
                x + len + 4.0,
                y + 15.0
            )?;
        }
        write!(w, "</g>")?;
    }
    write!(w, "</svg>")
}

/// A donut of `(label, count, colour)` slices with the first slice's share in the middle and a
/// legend beside it.
pub fn donut(w: &mut dyn Write, title: &str, slices: &[(String, i64, &str)]) -> io::Result<()> {
    let (cx, cy, r) = (100.0, 100.0, 70.0);
    open(w, 480.0, 200.0, title)?;
    let total: i64 = slices.iter().map(|s| s.1).sum();
    let circumference = 2.0 * PI * r;
    write!(
        w,
        r##"<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#e2e8f0" stroke-width="28"/>"##
    )?;
    let mut offset = 0.0;
    for (i, (label, n, color)) in slices.iter().enumerate() {
        let share = if total == 0 {
            0.0
        } else {
            *n as f64 / total as f64
        };
        let len = circumference * share;
        if len > 0.0 {
            write!(
                w,
                r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{color}" stroke-width="28" stroke-dasharray="{len:.2} {:.2}" stroke-dashoffset="{:.2}" transform="rotate(-90 {cx} {cy})"><title>{}: {n} ({:.1}%)</title></circle>"#,
                circumference - len,
                -offset,
                esc(label),
                share * 100.0
            )?;
        }
        offset += len;
        let y = 40.0 + 28.0 * i as f64;
        write!(
            w,
            r#"<rect x="220" y="{:.1}" width="12" height="12" fill="{color}"/><text x="240" y="{y:.1}" class="k">{}: {n} ({:.1}%)</text>"#,
            y - 10.0,
            esc(label),
            share * 100.0
        )?;
    }
    let first = slices.first().map_or(0, |s| s.1);
    let pct = if total == 0 {
        0.0
    } else {
        first as f64 * 100.0 / total as f64
    };
    let name = slices.first().map_or("", |s| s.0.as_str());
    write!(
        w,
        r#"<text x="{cx}" y="{}" class="big">{pct:.0}%</text><text x="{cx}" y="{}" class="l">{}</text></svg>"#,
        cy + 4.0,
        cy + 20.0,
        esc(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn labels_are_escaped_and_clipped() {
        let svg = text(|w| columns(w, "t", &[("<b>&".into(), 3), ("x".into(), 0)]));
        assert!(svg.contains("&lt;b&gt;&amp;"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn stacked_bars_scale_to_the_largest_row() {
        let svg = text(|w| {
            priority_bars(
                w,
                "t",
                &[("a".into(), [1, 1, 0, 0]), ("b".into(), [0, 0, 0, 1])],
            )
        });
        // Row a is the longest: its two segments share the whole span (480 - 170 - 40).
        assert!(svg.contains(r#"width="135.0""#), "{svg}");
        assert!(svg.contains("a: 2 (CRITICAL 1, HIGH 1)"), "{svg}");
    }

    #[test]
    fn donut_shows_the_first_share_and_survives_no_data() {
        let svg = text(|w| {
            donut(
                w,
                "t",
                &[("covered".into(), 3, BLUE), ("x".into(), 1, TEAL)],
            )
        });
        assert!(svg.contains(">75%<"), "{svg}");
        let empty = text(|w| donut(w, "t", &[("covered".into(), 0, BLUE)]));
        assert!(empty.contains(">0%<"), "{empty}");
    }
}
