//! `explain SERIAL`: what the rules make of one asset now, trigger by trigger, including the
//! triggers that do not fire and the reason each gives (`no_lead(reason)`) — the question users
//! of rules engines ask most is why a rule did not fire. Each row with the serial number is
//! run through every rule as a run would (`simulate`), as of the database's last run.

use serde::Serialize;

use crate::config::{Config, PriorityMode};
use crate::error::Result;
use crate::model::item::ItemRow;
use crate::model::lead::{self, Lead};
use crate::recommend::Catalog;
use crate::rules::{Decision, RuleSet};
use crate::score::context::{self, AsOf};
use crate::store::api::WriteTx;
use crate::verify::simulate::simulate;

/// One install-base row of the asset and what every trigger decided for it.
#[derive(Debug, Clone, Serialize)]
pub struct AssetRow {
    /// Install-base row id.
    pub install_base_id: i64,
    /// The row as Excel numbers it in its sheet.
    pub source_row: i64,
    /// Serial number.
    pub serial_number: String,
    /// Product name.
    pub product_name: String,
    /// Unified account id.
    pub account_id: Option<String>,
    /// Account name.
    pub account_name: Option<String>,
    /// The date day counts are measured from.
    pub as_of: String,
    /// The fields the triggers saw (after the classify rules), by name, as rules show values.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Each trigger's decision, in path order.
    pub triggers: Vec<TriggerDecision>,
}

/// What one trigger decided.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerDecision {
    /// `triggers/renewal`.
    pub rule: String,
    /// The lead type it gives.
    pub lead_type: String,
    /// Whether it fired.
    pub fired: bool,
    /// Its reasons when it fired; the reason it gave for not firing, if any, when not.
    pub reasons: Vec<String>,
    /// The id the lead has (or would have) for this asset and type.
    pub lead_id: String,
    /// Score, when it fired.
    pub score: Option<f64>,
    /// Priority, when it fired and priorities are by score (`priority_mode: thresholds`); by
    /// rank it depends on every other lead: see the stored lead's.
    pub priority: Option<String>,
    /// The stored lead of that id, if any: its status and whether it is active.
    pub stored: Option<Stored>,
}

/// A stored lead's state, next to what the rules decide now.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    /// Its stored priority.
    pub priority: String,
    /// Workflow status.
    pub status: String,
    /// False once its trigger stopped firing.
    pub active: bool,
    /// Its stored score.
    pub score: f64,
}

/// The rows of `serial` with every trigger's decision; empty when no row has it. `stored`
/// finds the stored lead of an id.
pub fn explain(
    rules: &RuleSet,
    cfg: &Config,
    tx: &mut dyn WriteTx,
    serial: &str,
    as_of: chrono::NaiveDate,
    stored: &mut dyn FnMut(&str) -> Result<Option<Lead>>,
) -> Result<Vec<AssetRow>> {
    let rows = tx.items_by_serial(serial)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let accounts = context::read_accounts(tx)?;
    let catalog = Catalog::read(tx, cfg)?;
    let at = AsOf::new(as_of);
    rows.iter()
        .map(|row| {
            let serial = row.text("serial_number").unwrap_or("");
            let ctx = super::row_context(row);
            let item = context::item_map_at(row, &at, false);
            let account = accounts.get(row.account_id.as_deref());
            let got = simulate(rules, cfg, &catalog, item, account, &ctx)?;
            let mut triggers = Vec::new();
            for (rule, decision) in &got.decisions {
                let lead_type = rule.lead_type.clone().unwrap_or_default();
                let lead_id = lead::lead_id(&asset_key(row), &lead_type, lead::SHORT_ID);
                let lead = got.leads.iter().find(|l| l.hit.lead_type == lead_type);
                let reasons = match decision {
                    Decision::Fired(hit) => hit.reasons.clone(),
                    Decision::NotFired(why) => why.iter().map(ToString::to_string).collect(),
                };
                triggers.push(TriggerDecision {
                    rule: rule.id(),
                    fired: matches!(decision, Decision::Fired(_)),
                    reasons,
                    score: lead.map(|l| l.score),
                    priority: lead
                        .filter(|_| cfg.priority_mode == PriorityMode::Thresholds)
                        .map(|l| l.priority.to_string()),
                    stored: stored(&lead_id)?.map(|l| Stored {
                        priority: l.priority,
                        status: l.status,
                        active: l.active,
                        score: l.score,
                    }),
                    lead_id,
                    lead_type,
                });
            }
            Ok(AssetRow {
                install_base_id: row.id,
                source_row: row.source_row,
                serial_number: serial.to_string(),
                product_name: row.text("product_name").unwrap_or("").to_string(),
                account_id: row.account_id.clone(),
                account_name: accounts.name(row.account_id.as_deref()),
                as_of: as_of.to_string(),
                fields: got
                    .item
                    .iter()
                    .map(|(k, v)| (k.to_string(), crate::rules::show_value(v)))
                    .collect(),
                triggers,
            })
        })
        .collect()
}

/// The asset's identity in lead ids, as a run forms it (`score::asset_key`).
fn asset_key(row: &ItemRow) -> String {
    crate::score::asset_key(row.asset_key.as_deref(), row.id)
}
