//! `explain` output: a lead's score taken apart. [`Explanation`] is the JSON; the table form is
//! a few short sections; the CSV is the factor table.

use std::io::Write;

use serde::Serialize;

use super::{Style, Table, score};
use crate::model::lead::Lead;
use crate::recommend::BASE_PRIORITY;
use crate::views::Event;

/// One factor's part in the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorPart {
    /// Factor name (the `rules/factors/` file stem).
    pub factor: String,
    /// 0–100 as the factor rule returned it.
    pub value: f64,
    /// Weight from `scoring_weights`.
    pub weight: f64,
    /// `value × weight`.
    pub contribution: f64,
    /// Why.
    pub reasons: Vec<String>,
}

/// What fired the lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    /// Trigger rule (file stem).
    pub rule: String,
    /// Lead type.
    pub lead_type: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Recommended action.
    pub recommended_action: String,
    /// The trigger's own reasons (the factor reasons are under `factors`).
    pub reasons: Vec<String>,
}

/// A recommended service with its priority split into base and boost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Service name.
    pub service: String,
    /// SKU codes.
    pub skus: Vec<String>,
    /// `base + boost`.
    pub priority: i64,
    /// The base priority every service starts from.
    pub base: i64,
    /// What the `rules/services/` boosts added.
    pub boost: i64,
    /// The SKU sheet's product row.
    pub product: String,
}

/// The `explain` JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Lead id.
    pub lead_id: String,
    /// Score, 0–100.
    pub score: f64,
    /// Priority.
    pub priority: String,
    /// Workflow status.
    pub status: String,
    /// Who works the lead.
    pub owner: Option<String>,
    /// False when the trigger no longer fires.
    pub active: bool,
    /// Account id.
    pub account_id: Option<String>,
    /// Account name.
    pub account_name: Option<String>,
    /// Territory id.
    pub territory_id: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Product family.
    pub product_family: Option<String>,
    /// Days past end of life.
    pub days_since_eol: Option<i64>,
    /// Factors by name; their contributions add up to `factor_total`.
    pub factors: Vec<FactorPart>,
    /// Σ contributions (equals `score` up to rounding).
    pub factor_total: f64,
    /// The trigger.
    pub trigger: Trigger,
    /// Recommended services, best first.
    pub recommended_services: Vec<Service>,
    /// Status history, oldest first.
    pub events: Vec<Event>,
}

/// Takes `lead` apart.
pub fn explain(lead: Lead, events: Vec<Event>) -> Explanation {
    let factors: Vec<FactorPart> = lead
        .factors
        .into_iter()
        .map(|(factor, f)| FactorPart {
            factor,
            value: f.value,
            weight: f.weight,
            contribution: f.contribution,
            reasons: f.reasons.to_vec(),
        })
        .collect();
    let factor_total = factors.iter().map(|f| f.contribution).sum();
    // `reasons` holds the trigger's reasons followed by each factor's, so the trigger's are
    // whatever comes before the factor reasons.
    let factor_reasons: usize = factors.iter().map(|f| f.reasons.len()).sum();
    let own = lead.reasons.len().saturating_sub(factor_reasons);
    let mut reasons = lead.reasons;
    reasons.truncate(own);
    Explanation {
        lead_id: lead.lead_id,
        score: lead.score,
        priority: lead.priority,
        status: lead.status,
        owner: lead.owner,
        active: lead.active,
        account_id: lead.account_id,
        account_name: lead.account_name,
        territory_id: lead.territory_id,
        serial_number: lead.serial_number,
        product_name: lead.product_name,
        product_family: lead.product_family,
        days_since_eol: lead.days_since_eol,
        factors,
        factor_total,
        trigger: Trigger {
            rule: lead.rule,
            lead_type: lead.lead_type,
            title: lead.title,
            description: lead.description,
            recommended_action: lead.recommended_action,
            reasons,
        },
        recommended_services: lead
            .recommended_services
            .iter()
            .map(|r| Service {
                boost: r.priority - BASE_PRIORITY,
                base: BASE_PRIORITY,
                service: r.service.clone(),
                skus: r.skus.clone(),
                priority: r.priority,
                product: r.product.clone(),
            })
            .collect(),
        events,
    }
}

/// The factor table (also the CSV), with a final sum row in table form.
pub fn factors_table(e: &Explanation, with_total: bool) -> Table {
    let mut t = Table::new(&["factor", "value", "weight", "contribution", "reasons"]);
    for f in &e.factors {
        t.push(vec![
            f.factor.clone(),
            score(f.value),
            f.weight.to_string(),
            score(f.contribution),
            f.reasons.join("; "),
        ]);
    }
    if with_total {
        t.push(vec![
            "= score".into(),
            String::new(),
            String::new(),
            score(e.factor_total),
            String::new(),
        ]);
    }
    t
}

/// The table form: header, factors with their sum, trigger, services, history.
pub fn write_text(w: &mut dyn Write, e: &Explanation, style: Style) -> std::io::Result<()> {
    let state = if e.active { "active" } else { "inactive" };
    writeln!(
        w,
        "lead {}: score {} ({}), status {} ({state})",
        e.lead_id,
        score(e.score),
        e.priority,
        e.status
    )?;
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    writeln!(
        w,
        "account {} ({}), territory {}; asset {} {} [{}]{}",
        opt(&e.account_name),
        opt(&e.account_id),
        opt(&e.territory_id),
        opt(&e.serial_number),
        opt(&e.product_name),
        opt(&e.product_family),
        e.days_since_eol
            .map(|d| format!(", {d} days past end of life"))
            .unwrap_or_default()
    )?;
    writeln!(w, "\nscore breakdown:")?;
    super::table::write(w, &factors_table(e, true), style)?;
    let t = &e.trigger;
    writeln!(w, "\ntrigger `{}`: {}", t.rule, t.lead_type)?;
    writeln!(w, "  title:       {}", t.title)?;
    writeln!(w, "  description: {}", t.description)?;
    writeln!(w, "  action:      {}", t.recommended_action)?;
    for r in &t.reasons {
        writeln!(w, "  - {r}")?;
    }
    if e.recommended_services.is_empty() {
        writeln!(w, "\nno recommended services")?;
    } else {
        writeln!(w, "\nrecommended services:")?;
        let mut s = Table::new(&["service", "skus", "priority", "product"]);
        for r in &e.recommended_services {
            s.push(vec![
                r.service.clone(),
                r.skus.join(" "),
                format!("{} (base {} + {})", r.priority, r.base, r.boost),
                r.product.clone(),
            ]);
        }
        super::table::write(w, &s, style)?;
    }
    if e.events.is_empty() {
        writeln!(w, "\nno history")?;
    } else {
        writeln!(w, "\nhistory:")?;
        let mut h = Table::new(&["at", "event", "from", "to", "by", "note"]);
        for ev in &e.events {
            h.push(vec![
                ev.at.clone(),
                ev.kind.clone(),
                opt(&ev.from_status),
                opt(&ev.to_status),
                opt(&ev.by),
                opt(&ev.note),
            ]);
        }
        super::table::write(w, &h, style)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb;

    #[test]
    fn contributions_add_up_to_the_score_and_reasons_split() {
        let (_d, mut s) = testdb::build();
        for (id, ..) in testdb::LEADS {
            let lead = s.lead_by_id(id).unwrap().unwrap();
            let score_value = lead.score;
            assert_eq!(
                lead.reasons,
                ["trigger fired", "age: old", "value: big", "value: bigger"]
            );
            let e = explain(lead, Vec::new());
            assert!((e.factor_total - score_value).abs() < 1e-9, "{id}");
            assert_eq!(e.trigger.reasons, ["trigger fired"]);
        }
        let lead = s.lead_by_id("AAAA0002").unwrap().unwrap();
        let e = explain(lead, s.events("AAAA0002").unwrap());
        assert_eq!(e.recommended_services[0].boost, 3);
        assert_eq!(e.recommended_services[1].boost, 0);
        let t = factors_table(&e, true);
        assert_eq!(t.rows.last().unwrap()[3], "71.00");
        let mut out = Vec::new();
        write_text(&mut out, &e, Style::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("8 (base 5 + 3)"), "{text}");
        assert!(text.contains("called Bob"), "{text}");
    }
}
