//! Markdown output: what pastes into an e-mail or a chat as is (headings, bullet lists, a small
//! pipe table). Text from the data is escaped so a `|` or `*` in a product name cannot break it.

use std::io::Write;

use super::score;
use crate::lifecycle::digest::{Digest, DigestLead};

/// Prints the digest: a per-territory summary table, then one section per territory.
pub fn digest(w: &mut dyn Write, d: &Digest) -> std::io::Result<()> {
    let (new, changed, aging) = d.totals();
    writeln!(w, "# Lead digest since {}", escape(&d.since))?;
    writeln!(w)?;
    if d.snapshots_compared > 0 {
        writeln!(
            w,
            "Install base: {}.",
            super::snapshots::change_summary(&d.install_base)
        )?;
        writeln!(w)?;
    }
    if d.territories.is_empty() {
        writeln!(w, "Nothing new, no priority changes and no aging leads.")?;
        return Ok(());
    }
    writeln!(
        w,
        "{new} new CRITICAL/HIGH, {}, {aging} aging (no status change for more than {} days).",
        super::plural(changed as u64, "priority change", "priority changes"),
        d.aging_days
    )?;
    writeln!(w)?;
    writeln!(w, "| territory | new | priority changes | aging |")?;
    writeln!(w, "|---|---:|---:|---:|")?;
    for t in &d.territories {
        writeln!(
            w,
            "| {} | {} | {} | {} |",
            escape(&t.territory_id),
            t.new_leads.len(),
            t.priority_changes.len(),
            t.aging.len()
        )?;
    }
    for t in &d.territories {
        writeln!(w)?;
        writeln!(w, "## Territory {}", escape(&t.territory_id))?;
        if !t.new_leads.is_empty() {
            writeln!(w)?;
            writeln!(w, "### New CRITICAL/HIGH leads")?;
            writeln!(w)?;
            for l in &t.new_leads {
                writeln!(w, "- {}", item(l))?;
            }
        }
        if !t.priority_changes.is_empty() {
            writeln!(w)?;
            writeln!(w, "### Priority changes")?;
            writeln!(w)?;
            for c in &t.priority_changes {
                writeln!(w, "- {} → {}: {}", c.from, c.to, item(&c.lead))?;
            }
        }
        if !t.aging.is_empty() {
            writeln!(w)?;
            writeln!(w, "### Aging without action")?;
            writeln!(w)?;
            for l in &t.aging {
                writeln!(
                    w,
                    "- {} (status {}, last change {})",
                    item(l),
                    l.status,
                    l.updated_at
                )?;
            }
        }
    }
    Ok(())
}

/// One lead on one line: id, priority, score, title, account and serial.
fn item(l: &DigestLead) -> String {
    let account = l
        .account_name
        .as_deref()
        .map(|a| format!(" — {}", escape(a)))
        .unwrap_or_default();
    let serial = l
        .serial_number
        .as_deref()
        .map(|sn| format!(" (S/N {})", escape(sn)))
        .unwrap_or_default();
    format!(
        "`{}` **{}** {} {}{account}{serial}",
        l.lead_id,
        l.priority,
        score(l.score),
        escape(&l.title)
    )
}

/// Backslash-escapes the characters Markdown would read as formatting.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '|' | '[' | ']' | '<' | '>' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_in_data() {
        assert_eq!(escape("a|b *c*"), "a\\|b \\*c\\*");
        assert_eq!(escape("HPE DL380 Gen9"), "HPE DL380 Gen9");
    }

    #[test]
    fn an_empty_digest_says_so() {
        let d = Digest {
            since: "2025-10-29".into(),
            since_run: None,
            aging_days: 30,
            install_base: crate::model::snapshot::ChangeCounts::default(),
            snapshots_compared: 0,
            territories: Vec::new(),
        };
        let mut out = Vec::new();
        digest(&mut out, &d).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("# Lead digest since 2025-10-29\n"), "{s}");
        assert!(s.contains("Nothing new"), "{s}");
    }
}
