//! Prints a [`ChangeReport`] as text (the JSON form is the struct itself).

use std::io::Write;

use super::{Style, Table, score, table};
use crate::model::lead::LeadState;
use crate::score::diff::{ChangeReport, Move};

/// Score movers shown in text form (JSON has them all).
const MOVERS_SHOWN: usize = 10;
/// Added, removed or re-prioritised leads shown in text form: a first run or a new trigger can
/// add thousands, a weight change re-prioritise thousands, and a table of thousands is not a
/// report (JSON has them all).
pub const LEADS_SHOWN: usize = 25;

/// Prints the change report.
pub fn write(w: &mut dyn Write, report: &ChangeReport, style: Style) -> std::io::Result<()> {
    let r = report;
    let reworded = match r.reworded {
        0 => String::new(),
        1 => "1 lead's text changed".into(),
        n => format!("{n} leads' text changed"),
    };
    match (r.is_empty(), reworded.is_empty()) {
        (true, true) => writeln!(w, "no lead changed")?,
        (true, false) => writeln!(w, "no lead added, removed or re-scored; {reworded}")?,
        (false, _) => {
            write!(
                w,
                "changes: {} added, {} removed, {} re-prioritised, {} score movers",
                r.added.len(),
                r.removed.len(),
                r.reprioritised_count(),
                r.score_movers_count()
            )?;
            if reworded.is_empty() {
                writeln!(w)?;
            } else {
                writeln!(w, "; {reworded}")?;
            }
        }
    }
    let mut counts = Table::new(&["priority", "before", "after"]);
    for priority in ["CRITICAL", "HIGH", "MEDIUM", "LOW"] {
        let before = r.before.get(priority).copied().unwrap_or(0);
        let after = r.after.get(priority).copied().unwrap_or(0);
        counts.push(vec![priority.into(), before.to_string(), after.to_string()]);
    }
    table::write(w, &counts, style)?;
    section(w, "added", &r.added, style)?;
    section(w, "removed", &r.removed, style)?;
    moves(
        w,
        "re-prioritised (biggest moves first)",
        (&r.reprioritised, r.reprioritised_count()),
        LEADS_SHOWN,
        style,
    )?;
    moves(
        w,
        "score movers (biggest first)",
        (&r.score_movers, r.score_movers_count()),
        MOVERS_SHOWN,
        style,
    )?;
    Ok(())
}

/// One row per lead the report names: `change` is `added`, `removed`, `reprioritised` or
/// `score`; the `*_before` cells are empty for added and removed leads. What `--format csv`
/// prints.
pub fn csv_table(r: &ChangeReport) -> Table {
    let mut t = Table::new(&[
        "change",
        "lead_id",
        "lead_type",
        "priority_before",
        "priority",
        "score_before",
        "score",
        "delta",
        "account",
        "product",
        "serial",
    ]);
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let row = |change: &str, l: &LeadState, before: Option<(&str, f64, f64)>| {
        let (pb, sb, d) = before.map_or_else(Default::default, |(p, s, d)| {
            (p.to_string(), s.to_string(), d.to_string())
        });
        vec![
            change.to_string(),
            l.lead_id.clone(),
            l.lead_type.clone(),
            pb,
            l.priority.clone(),
            sb,
            l.score.to_string(),
            d,
            o(&l.account),
            o(&l.product),
            o(&l.serial),
        ]
    };
    for l in &r.added {
        t.push(row("added", l, None));
    }
    for l in &r.removed {
        t.push(row("removed", l, None));
    }
    for (change, moves) in [
        ("reprioritised", &r.reprioritised),
        ("score", &r.score_movers),
    ] {
        for m in moves {
            let before = (m.priority_before.as_str(), m.score_before, m.delta);
            t.push(row(change, &m.lead, Some(before)));
        }
    }
    t
}

fn section(
    w: &mut dyn Write,
    title: &str,
    leads: &[LeadState],
    style: Style,
) -> std::io::Result<()> {
    if leads.is_empty() {
        return Ok(());
    }
    writeln!(w, "\n{title}:")?;
    let mut t = Table::new(&["lead_id", "priority", "score", "type", "account", "product"]);
    for l in leads.iter().take(LEADS_SHOWN) {
        t.push(vec![
            l.lead_id.clone(),
            l.priority.clone(),
            score(l.score),
            l.lead_type.clone(),
            l.account.clone().unwrap_or_default(),
            l.product.clone().unwrap_or_default(),
        ]);
    }
    table::write(w, &t, style)?;
    if leads.len() > LEADS_SHOWN {
        writeln!(w, "… and {} more", leads.len() - LEADS_SHOWN)?;
    }
    Ok(())
}

/// The first `max` of `moves`, and how many more there are of `total`.
fn moves(
    w: &mut dyn Write,
    title: &str,
    (moves, total): (&[Move], usize),
    max: usize,
    style: Style,
) -> std::io::Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    writeln!(w, "\n{title}:")?;
    let mut t = Table::new(&["lead_id", "type", "account", "priority", "score", "change"]);
    for m in moves.iter().take(max) {
        let l = &m.lead;
        t.push(vec![
            l.lead_id.clone(),
            l.lead_type.clone(),
            l.account.clone().unwrap_or_default(),
            if m.priority_before == l.priority {
                l.priority.clone()
            } else {
                format!("{} → {}", m.priority_before, l.priority)
            },
            format!("{} → {}", score(m.score_before), score(l.score)),
            format!("{:+.2}", m.delta),
        ]);
    }
    table::write(w, &t, style)?;
    let shown = moves.len().min(max);
    if total > shown {
        writeln!(w, "… and {} more", total - shown)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(i: usize) -> Move {
        Move {
            lead: LeadState {
                lead_id: format!("L{i:03}"),
                lead_type: "Renewal".into(),
                priority: "HIGH".into(),
                score: 70.0,
                account: None,
                product: None,
                serial: None,
            },
            priority_before: "MEDIUM".into(),
            score_before: 50.0,
            delta: 20.0,
        }
    }

    /// A weight change can re-prioritise thousands of leads: the text shows the first ones and
    /// says how many more there are.
    #[test]
    fn text_shows_the_first_re_prioritised_leads_and_counts_the_rest() {
        let report = ChangeReport {
            reprioritised: (0..LEADS_SHOWN + 5).map(mv).collect(),
            ..ChangeReport::default()
        };
        let mut out = Vec::new();
        let style = Style {
            width: None,
            color: false,
        };
        write(&mut out, &report, style).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!("L{:03}", LEADS_SHOWN - 1)), "{text}");
        assert!(!text.contains(&format!("L{LEADS_SHOWN:03}")), "{text}");
        assert!(text.contains("… and 5 more"), "{text}");
        assert!(text.contains(&format!("{} re-prioritised", LEADS_SHOWN + 5)));
    }
}
