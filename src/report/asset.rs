//! `explain SERIAL` output: each row of the asset, the fields the triggers saw, and every
//! trigger's decision with its reasons (or the reason it did not fire). The CSV is one row per
//! (row, trigger); the JSON is [`crate::verify::asset::AssetRow`]s.

use std::io::Write;

use super::Table;
use crate::error::Result;
use crate::verify::asset::AssetRow;

/// The fields shown in the text form: what the shipped triggers read and what classify adds.
const SHOWN: &[&str] = &[
    "support_status",
    "eol_date",
    "eol_placeholder",
    "days_since_eol",
    "service_end",
    "days_since_expiry",
    "product_family",
    "risk_level",
];

/// The text form.
pub fn write_text(out: &mut dyn Write, rows: &[AssetRow]) -> Result<()> {
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "asset {} — {} (install_base row {})",
            row.serial_number, row.product_name, row.source_row
        )?;
        let account = match (&row.account_name, &row.account_id) {
            (Some(name), Some(id)) => format!("{name} ({id})"),
            (None, Some(id)) => id.clone(),
            _ => "none".into(),
        };
        writeln!(out, "account: {account}; as of {}", row.as_of)?;
        let fields: Vec<String> = SHOWN
            .iter()
            .filter_map(|f| {
                let v = row.fields.get(*f)?;
                Some(format!("{f} {v}"))
            })
            .collect();
        writeln!(out, "seen by the triggers: {}", fields.join(", "))?;
        writeln!(out)?;
        for t in &row.triggers {
            write_decision(out, t)?;
        }
    }
    Ok(())
}

fn write_decision(out: &mut dyn Write, t: &crate::verify::asset::TriggerDecision) -> Result<()> {
    let verdict = if t.fired { "lead   " } else { "no lead" };
    let mut head = format!("{verdict}  {}  ({})", t.lead_type, t.rule);
    if let Some(score) = t.score {
        let p = t.priority.as_deref().unwrap_or("(priority by rank)");
        head = format!("{head}: {} {score:.2} {p}", t.lead_id);
    }
    writeln!(out, "{head}")?;
    if t.reasons.is_empty() {
        writeln!(
            out,
            "         (the rule gives no reason; it can with `no_lead(\"…\")`)"
        )?;
    }
    for r in &t.reasons {
        writeln!(out, "         {r}")?;
    }
    if let Some(s) = &t.stored {
        let state = if s.active { "active" } else { "closed" };
        writeln!(
            out,
            "         stored as lead {}: {state}, {}, score {:.2} {}",
            t.lead_id, s.status, s.score, s.priority
        )?;
    }
    Ok(())
}

/// One row per (asset row, trigger).
pub fn table(rows: &[AssetRow]) -> Table {
    let mut t = Table::new(&[
        "serial_number",
        "install_base_id",
        "rule",
        "lead_type",
        "fired",
        "lead_id",
        "score",
        "priority",
        "reasons",
    ]);
    for row in rows {
        for d in &row.triggers {
            t.push(vec![
                row.serial_number.clone(),
                row.install_base_id.to_string(),
                d.rule.clone(),
                d.lead_type.clone(),
                d.fired.to_string(),
                d.lead_id.clone(),
                d.score.map(|s| format!("{s:.2}")).unwrap_or_default(),
                d.priority.clone().unwrap_or_default(),
                d.reasons.join("; "),
            ]);
        }
    }
    t
}
