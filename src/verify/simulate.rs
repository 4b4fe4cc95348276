//! One item through every rule as a run takes it: the classify rules, each trigger's decision,
//! and for each lead its factors, score, priority and services. Scenario tests and `explain
//! SERIAL` use it; a run evaluates in bulk (`score::Evaluator`) with the same functions
//! (`score::lead_map`, `score::weigh`, `recommend::recommend`).

use std::collections::BTreeMap;

use rhai::Map;

use crate::config::Config;
use crate::error::Result;
use crate::model::item::{DATE_FIELDS, ItemRow, TEXT_FIELDS};
use crate::model::lead::{Factor, Recommendation};
use crate::recommend::{self, Catalog};
use crate::rules::{Decision, EvalContext, Rule, RuleSet, TriggerHit, share};

/// What the rules made of one item.
pub struct Simulated<'r> {
    /// The item as the triggers saw it (after the classify rules).
    pub item: Map,
    /// Each trigger with its decision, in path order.
    pub decisions: Vec<(&'r Rule, Decision)>,
    /// The leads of the triggers that fired, in the same order.
    pub leads: Vec<SimLead>,
}

/// A lead as a run would write it.
pub struct SimLead {
    /// The trigger's hit.
    pub hit: TriggerHit,
    /// Each factor's value, weight, contribution and reasons.
    pub factors: BTreeMap<String, Factor>,
    /// Σ weight × factor.
    pub score: f64,
    /// From the score by the configured thresholds.
    pub priority: &'static str,
    /// The recommended services, best first.
    pub services: Vec<Recommendation>,
}

/// Runs every rule on `item` (before classification) and `account`. The first rule error
/// stops it, as it stops a run.
pub fn simulate<'r>(
    rules: &'r RuleSet,
    cfg: &Config,
    catalog: &Catalog,
    mut item: Map,
    account: &Map,
    ctx: &EvalContext,
) -> Result<Simulated<'r>> {
    rules.classify(&mut item, ctx)?;
    let family = item
        .get("product_family")
        .and_then(|v| v.clone().into_string().ok())
        .unwrap_or_default();
    let (shared_item, shared_account) = (share(item.clone()), share(account.clone()));
    let mut decisions = Vec::new();
    let mut leads = Vec::new();
    for (rule, decision) in rules.decisions_shared(&shared_item, &shared_account, ctx) {
        let decision = decision?;
        if let Decision::Fired(hit) = &decision {
            let lead = crate::score::lead_map(hit);
            let values = rules.score_shared(
                &shared_item,
                &shared_account,
                &share(lead.clone()),
                ctx,
                None,
            )?;
            let (factors, score) = crate::score::weigh(cfg, values);
            let services =
                recommend::recommend(catalog, rules, &family, &lead, cfg.top_services, ctx)?;
            leads.push(SimLead {
                hit: hit.clone(),
                factors,
                score,
                priority: cfg.priority_thresholds.priority(score),
                services,
            });
        }
        decisions.push((rule, decision));
    }
    Ok(Simulated {
        item,
        decisions,
        leads,
    })
}

/// What is wrong with a field given for an install-base row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// No export column has this name.
    Unknown,
    /// A date column was given something other than a `YYYY-MM-DD` date.
    NotADate,
}

/// An install-base row with nothing in it but its serial number, numbered `id`.
pub fn blank_row(id: i64, serial: &str) -> ItemRow {
    let mut row = ItemRow {
        id,
        source_row: id,
        text: vec![None; TEXT_FIELDS.len()],
        dates: vec![None; DATE_FIELDS.len()],
        ..ItemRow::default()
    };
    row.text[0] = Some(serial.into());
    row
}

/// Sets one export column of `row` by its name as rules know it (`support_status`,
/// `eol_date`, …): a text, or for a date column a `YYYY-MM-DD` date; empty clears it.
pub fn set_field(row: &mut ItemRow, field: &str, value: &str) -> Result<(), FieldError> {
    let value = value.trim();
    if let Some(i) = TEXT_FIELDS.iter().position(|f| *f == field) {
        row.text[i] = (!value.is_empty()).then(|| value.into());
        return Ok(());
    }
    let i = DATE_FIELDS
        .iter()
        .position(|f| *f == field)
        .ok_or(FieldError::Unknown)?;
    if value.is_empty() {
        row.dates[i] = None;
        return Ok(());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| FieldError::NotADate)?;
    row.dates[i] = Some(value.into());
    Ok(())
}

/// The `item` map a run builds, as of `as_of`, from an install-base row with these export
/// columns (the rest empty): what an embedding program hands to [`simulate`].
pub fn item(fields: &[(&str, &str)], as_of: chrono::NaiveDate) -> Result<Map> {
    let serial = fields
        .iter()
        .find(|(f, _)| *f == "serial_number")
        .map_or("", |(_, v)| v);
    let mut row = blank_row(1, serial);
    for (field, value) in fields {
        set_field(&mut row, field, value).map_err(|e| crate::Error::BadInput {
            location: format!("field `{field}`"),
            message: match e {
                FieldError::Unknown => "no install-base column has this name".into(),
                FieldError::NotADate => format!("`{value}` is not a `YYYY-MM-DD` date"),
            },
        })?;
    }
    Ok(crate::score::context::item_map(&row, as_of))
}
