//! The shareable HTML report: one self-contained file with the overview, the lead queue, account
//! 360° pages, the territory rollup and the analytics charts. A [`Report`] (gathered by
//! [`crate::views::report`] from the same queries as the terminal views) goes in; HTML comes out
//! on any `io::Write`.
//!
//! The file works offline and safely: CSS, JavaScript and SVG charts are inline; every text and
//! attribute from the data is escaped with [`esc`]; data for the script is JSON in a
//! `<script type="application/json">` block with `<` written as `\u003c` ([`script_json`]); a
//! Content-Security-Policy allows no network and only the report's own two scripts (by hash).

mod accounts;
mod queue;
pub mod svg;

use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::report::{money, score};
pub use crate::views::Report;
use crate::views::{PRIORITIES, Territory};

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");
/// Runs first, so an error anywhere later (even in the main script) is counted on `<body>`.
const ERROR_HOOK: &str = "window.oneleadErrors=0;window.onerror=function(){\
window.oneleadErrors+=1;if(document.body){document.body.setAttribute('data-errors',\
String(window.oneleadErrors));}};";

/// Writes the report to `path` atomically: a temp file beside it, then a rename, so a reader
/// (a browser reloading during `watch`) never sees half a file.
pub fn write_file(path: &Path, report: &Report) -> Result<()> {
    let mut html_bytes = Vec::new();
    write(&mut html_bytes, report)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, &html_bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::WriteFile {
            path: path.to_path_buf(),
            source: e,
        });
    }
    Ok(())
}

/// Escapes `& < > " '` so any text is safe in element content and in quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">` block: `<` (and `>`, `&`) as `\uXXXX` escapes,
/// so no value can close the block or open a comment; `JSON.parse` reads them back unchanged.
pub fn script_json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    Ok(serde_json::to_string(value)?
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

/// Standard base64 (for the CSP script hashes; the crate has no base64 dependency).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn csp_hash(script: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(script.as_bytes())))
}

/// Writes the whole document.
pub fn write(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {} {}",
        csp_hash(ERROR_HOOK),
        csp_hash(JS)
    );
    write!(
        w,
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{}">
<title>OneLead report</title>
<script>{ERROR_HOOK}</script>
<style>{CSS}</style></head>
<body data-errors="0" data-total-rows="{}" data-visible-rows="{}">
<header><h1>OneLead report</h1><p class="meta">generated {}{}</p>
<nav><a href="#overview">Overview</a><a href="#analytics">Analytics</a><a href="#queue-section">Lead queue</a><a href="#territories">Territories</a><a href="#accounts">Accounts</a></nav></header>
<main>
"##,
        esc(&csp),
        r.queue.len(),
        r.queue.len(),
        esc(&r.generated),
        if r.filters.is_empty() {
            String::new()
        } else {
            format!(" · queue filtered by {}", esc(&r.filters.join(" ")))
        }
    )?;
    // The manager's reading order: headline numbers and charts, then the work, then the detail.
    overview(w, r)?;
    analytics(w, r)?;
    let anchors = accounts::anchors(&r.accounts);
    queue::write(w, &r.queue, &anchors)?;
    if r.queue_total > r.queue.len() {
        writeln!(
            w,
            r#"<p class="capped">The queue shows the best {} of {} matching leads; <code>onelead leads</code> (with the same filters) or the lead desk (<code>onelead serve</code>) lists them all.</p>"#,
            r.queue.len(),
            r.queue_total
        )?;
    }
    territories(w, &r.territories)?;
    if r.territories_total > r.territories.len() {
        writeln!(
            w,
            "<p class=\"capped\">The {} territories with the most leads of {}; <code>onelead territories</code> lists them all.</p>",
            r.territories.len(),
            r.territories_total
        )?;
    }
    accounts::write(w, &r.accounts, &anchors)?;
    write!(
        w,
        "</main>\n<footer>OneLead · every number comes from the same queries as the terminal views</footer>\n<script>{JS}</script>\n</body></html>\n"
    )
}

fn overview(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let p = &r.by_priority;
    let pipeline = r.pipeline.estimated_value.map_or_else(
        || ("—".to_string(), "no lead carries an estimate".to_string()),
        |v| {
            (
                money(v),
                format!(
                    "from {} of {}",
                    r.pipeline.leads_with_estimate,
                    super::plural(p.total() as u64, "lead", "leads")
                ),
            )
        },
    );
    let covered = r.coverage.iter().find(|c| c.coverage == "covered");
    let ib: i64 = r.coverage.iter().map(|c| c.install_base).sum();
    write!(
        w,
        r#"<section id="overview"><h2>Overview</h2><div class="kpis">
<div class="kpi"><span class="n">{}</span><span class="t">active leads</span><span class="s">{} in the queue below</span></div>
<div class="kpi hot"><span class="n">{}</span><span class="t">critical / high</span><span class="s">{} critical · {} high · {} medium · {} low</span></div>
<div class="kpi"><span class="n">{}</span><span class="t">pipeline estimate</span><span class="s">{}</span></div>
<div class="kpi"><span class="n">{:.0}%</span><span class="t">support coverage</span><span class="s">{} of {ib} install-base rows covered</span></div>
</div></section>
"#,
        p.total(),
        r.queue.len(),
        p.critical + p.high,
        p.critical,
        p.high,
        p.medium,
        p.low,
        esc(&pipeline.0),
        esc(&pipeline.1),
        covered.map_or(0.0, |c| c.share * 100.0),
        covered.map_or(0, |c| c.install_base),
    )
}

fn opt(v: Option<&str>) -> String {
    esc(v.unwrap_or(""))
}

fn territories(w: &mut dyn Write, ts: &[Territory]) -> io::Result<()> {
    write!(
        w,
        r#"<section id="territories"><h2>Territories</h2><div class="scroll"><table class="grid"><thead><tr><th>territory</th><th>name</th><th class="num">accounts</th><th class="num">install base</th><th class="num">leads</th>"#
    )?;
    for p in PRIORITIES {
        write!(w, r#"<th class="num">{p}</th>"#)?;
    }
    write!(
        w,
        r#"<th class="num">avg score</th><th class="num">pipeline</th></tr></thead><tbody>"#
    )?;
    for t in ts {
        write!(
            w,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>"#,
            t.territory_id
                .as_deref()
                .map_or_else(|| "(none)".to_string(), esc),
            opt(t.territory_name.as_deref()),
            t.accounts,
            t.install_base,
            t.leads
        )?;
        for n in t.by_priority.as_array() {
            write!(w, r#"<td class="num">{n}</td>"#)?;
        }
        write!(
            w,
            r#"<td class="num">{}</td><td class="num">{}</td></tr>"#,
            t.avg_score.map(score).unwrap_or_default(),
            t.pipeline.map(money).unwrap_or_default()
        )?;
    }
    writeln!(w, "</tbody></table></div></section>")
}

/// Writes the analytics section (its charts) of `r`; the server's analytics page uses it too.
pub fn analytics(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    write!(
        w,
        r#"<section id="analytics"><h2>Analytics</h2><div class="charts"><figure><figcaption>Score distribution (active leads)</figcaption>"#
    )?;
    let bars: Vec<(String, i64)> = r
        .histogram
        .iter()
        .map(|b| (format!("{}–{}", b.from, b.to), b.leads))
        .collect();
    svg::columns(w, "Score distribution", &bars)?;
    write!(
        w,
        "</figure><figure><figcaption>Leads by type and priority</figcaption>"
    )?;
    let rows: Vec<(String, [i64; 4])> = r
        .by_type
        .iter()
        .map(|t| (t.lead_type.clone(), t.by_priority.as_array()))
        .collect();
    svg::priority_bars(w, "Leads by type and priority", &rows)?;
    write!(
        w,
        "</figure><figure><figcaption>Territory leaderboard (top 10 by leads)</figcaption>"
    )?;
    let rows: Vec<(String, [i64; 4])> = r
        .territories
        .iter()
        .filter(|t| t.leads > 0)
        .take(10)
        .map(|t| {
            let id = t.territory_id.clone().unwrap_or_else(|| "(none)".into());
            let label = match &t.territory_name {
                Some(n) if *n != id && !n.ends_with(&id) => format!("{id} {n}"),
                _ => id,
            };
            (label, t.by_priority.as_array())
        })
        .collect();
    svg::priority_bars(w, "Territory leaderboard", &rows)?;
    write!(
        w,
        "</figure><figure><figcaption>Product families</figcaption>"
    )?;
    let rows: Vec<(String, i64, i64)> = r
        .families
        .iter()
        .take(12)
        .map(|f| {
            (
                f.product_family.clone().unwrap_or_else(|| "(none)".into()),
                f.install_base,
                f.leads,
            )
        })
        .collect();
    svg::paired_bars(w, "Product families", ["install base", "leads"], &rows)?;
    write!(
        w,
        "</figure><figure><figcaption>Support coverage of the install base</figcaption>"
    )?;
    let colors = ["#16a34a", "#ea580c", "#b91c1c", "#94a3b8"];
    let slices: Vec<(String, i64, &str)> = r
        .coverage
        .iter()
        .zip(colors)
        .map(|(c, color)| (c.coverage.clone(), c.install_base, color))
        .collect();
    svg::donut(w, "Support coverage", &slices)?;
    writeln!(w, "</figure></div></section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            esc(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn script_json_cannot_close_its_block() {
        let s = script_json(&["</script><!--", "a&b"]).unwrap();
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, ["</script><!--", "a&b"]);
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn an_empty_report_is_a_whole_document() {
        let mut out = Vec::new();
        write(&mut out, &Report::default()).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(html.contains(r#"data-total-rows="0""#));
        // Nothing to fetch: no `src`, no links off the page (the SVG namespace is only a name).
        assert!(!html.contains("src="), "{html}");
        assert!(!html.contains("href=\"http"), "{html}");
    }
}
