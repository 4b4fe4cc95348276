//! The lead queue of the HTML report: filter controls, a table with one `<tbody>` per lead (its
//! row and an expandable score breakdown with the recommended services and SKUs), and the sort
//! and filter keys as JSON for `report.js`.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};

use serde_json::json;

use super::{esc, opt, script_json};
use crate::model::lead::Lead;
use crate::report::score;
use crate::views::PRIORITIES;

/// Sortable columns: `(data-key, header, numeric)`; the keys name fields of the JSON rows.
const COLUMNS: [(&str, &str, bool); 10] = [
    ("id", "lead", false),
    ("rank", "priority", false),
    ("score", "score", true),
    ("type", "type", false),
    ("account", "account", false),
    ("territory", "territory", false),
    ("product", "product", false),
    ("serial", "serial", false),
    ("days", "days past EOL", true),
    ("skus", "top SKUs", false),
];

/// 0 for CRITICAL … 3 for LOW, 4 for anything else: the priority's sort key and badge class.
pub(super) fn rank(priority: &str) -> usize {
    PRIORITIES
        .iter()
        .position(|p| *p == priority)
        .unwrap_or(PRIORITIES.len())
}

/// Writes the queue section. `anchors` maps account ids to their section ids.
pub fn write(
    w: &mut dyn Write,
    leads: &[Lead],
    anchors: &HashMap<String, String>,
) -> io::Result<()> {
    write!(
        w,
        r#"<section id="queue-section"><h2>Lead queue</h2>
<form id="filters" class="controls" autocomplete="off">"#
    )?;
    let types: BTreeSet<&str> = leads.iter().map(|l| l.lead_type.as_str()).collect();
    select(w, "type", "type", types.into_iter())?;
    select(w, "priority", "priority", PRIORITIES.into_iter())?;
    let territories: BTreeSet<&str> = leads
        .iter()
        .filter_map(|l| l.territory_id.as_deref())
        .collect();
    select(w, "territory", "territory", territories.into_iter())?;
    write!(
        w,
        r#"<label>min score <input type="number" name="min" min="0" max="100" step="1"></label>
<button type="reset">clear</button><output id="shown">{n} of {n} leads</output></form>
<div class="scroll"><table id="queue" class="grid"><thead><tr>"#,
        n = leads.len()
    )?;
    for (key, header, numeric) in COLUMNS {
        write!(
            w,
            r#"<th data-key="{key}"{} tabindex="0" aria-sort="none">{header}</th>"#,
            if numeric { r#" class="num""# } else { "" }
        )?;
    }
    write!(w, "</tr></thead>")?;
    for (i, l) in leads.iter().enumerate() {
        row(w, i, l, anchors)?;
    }
    if leads.is_empty() {
        write!(
            w,
            r#"<tbody class="none"><tr><td colspan="{}">no leads match</td></tr></tbody>"#,
            COLUMNS.len()
        )?;
    }
    let data: Vec<serde_json::Value> = leads
        .iter()
        .map(|l| {
            json!({
                "id": l.lead_id,
                "priority": l.priority,
                "rank": rank(&l.priority),
                "score": l.score,
                "type": l.lead_type,
                "account": l.account_name.as_deref().or(l.account_id.as_deref()).unwrap_or(""),
                "territory": l.territory_id.as_deref().unwrap_or(""),
                "product": l.product_name.as_deref().unwrap_or(""),
                "serial": l.serial_number.as_deref().unwrap_or(""),
                "days": l.days_since_eol,
                "skus": l.recommended_skus.join(" "),
            })
        })
        .collect();
    writeln!(
        w,
        r#"</table></div>
<script type="application/json" id="lead-data">{}</script></section>"#,
        script_json(&data)?
    )
}

fn select<'a>(
    w: &mut dyn Write,
    name: &str,
    label: &str,
    values: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    write!(
        w,
        r#"<label>{label} <select name="{name}"><option value="">all</option>"#
    )?;
    for v in values {
        write!(w, r#"<option value="{0}">{0}</option>"#, esc(v))?;
    }
    write!(w, "</select></label>")
}

fn row(w: &mut dyn Write, i: usize, l: &Lead, anchors: &HashMap<String, String>) -> io::Result<()> {
    let account = esc(l
        .account_name
        .as_deref()
        .or(l.account_id.as_deref())
        .unwrap_or(""));
    let account = match l.account_id.as_ref().and_then(|a| anchors.get(a)) {
        Some(anchor) => format!(r##"<a href="#{anchor}">{account}</a>"##),
        None => account,
    };
    write!(
        w,
        r#"<tbody class="lead" data-i="{i}" id="lead-{}"><tr><td class="id">{}</td><td><span class="badge p{}">{}</span></td><td class="num">{}</td><td>{}</td><td>{account}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td></tr>"#,
        esc(&l.lead_id),
        esc(&l.lead_id),
        rank(&l.priority),
        esc(&l.priority),
        score(l.score),
        esc(&l.lead_type),
        opt(l.territory_id.as_deref()),
        opt(l.product_name.as_deref()),
        opt(l.serial_number.as_deref()),
        l.days_since_eol.map(|d| d.to_string()).unwrap_or_default(),
        esc(&l.recommended_skus.join(" ")),
    )?;
    write!(
        w,
        r#"<tr class="more"><td colspan="{}"><details><summary>{}</summary><div class="why">"#,
        COLUMNS.len(),
        esc(&l.title)
    )?;
    breakdown(w, l)?;
    write!(w, "</div></details></td></tr></tbody>")
}

/// The score breakdown, the reasons and the recommended services of one lead.
fn breakdown(w: &mut dyn Write, l: &Lead) -> io::Result<()> {
    write!(
        w,
        r#"<p>{}</p><p><b>Next step:</b> {}</p><table class="mini"><thead><tr><th>factor</th><th class="num">value</th><th class="num">weight</th><th class="num">contribution</th><th>why</th></tr></thead><tbody>"#,
        esc(&l.description),
        esc(&l.recommended_action)
    )?;
    for (name, f) in &l.factors {
        write!(
            w,
            r#"<tr><td>{}</td><td class="num">{:.1}</td><td class="num">{:.2}</td><td class="num">{:.2}</td><td>{}</td></tr>"#,
            esc(name),
            f.value,
            f.weight,
            f.contribution,
            esc(&f.reasons.join("; "))
        )?;
    }
    write!(
        w,
        r#"<tr class="total"><td>score</td><td></td><td></td><td class="num">{}</td><td></td></tr></tbody></table>"#,
        score(l.score)
    )?;
    if l.recommended_services.is_empty() {
        write!(w, "<p>No service recommended for this product.</p>")?;
    } else {
        write!(
            w,
            r#"<table class="mini"><thead><tr><th>recommended service</th><th>SKUs</th><th class="num">priority</th><th>from</th></tr></thead><tbody>"#
        )?;
        for s in l.recommended_services.iter() {
            write!(
                w,
                r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                esc(&s.service),
                esc(&s.skus.join(" ")),
                s.priority,
                esc(&s.product)
            )?;
        }
        write!(w, "</tbody></table>")?;
    }
    if !l.reasons.is_empty() {
        write!(w, "<ul class=\"reasons\">")?;
        for r in &l.reasons {
            write!(w, "<li>{}</li>", esc(r))?;
        }
        write!(w, "</ul>")?;
    }
    Ok(())
}
