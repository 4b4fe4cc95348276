//! A lead as a row of a CRM's import file. The headers are the CRM's own field labels, so its
//! import wizard maps every column by itself; the OneLead id goes in a column of its own, which
//! the CRM keeps as an external id (Salesforce) or unique property (HubSpot) and which
//! `status --import` finds again.

use super::{Crm, CrmConfig, NOT_PROVIDED};
use crate::lifecycle::Status;
use crate::model::lead::Lead;

/// The header of the OneLead id column in both files.
pub const ID_HEADER: &str = "OneLead ID";

/// Salesforce's Lead fields, by the labels its import wizard matches.
const SALESFORCE: &[&str] = &[
    ID_HEADER,
    "Last Name",
    "Company",
    "Lead Status",
    "Lead Source",
    "Rating",
    "Description",
];

/// HubSpot's contact properties, by their labels.
const HUBSPOT: &[&str] = &[
    ID_HEADER,
    "Last Name",
    "Company Name",
    "Lead Status",
    "Lifecycle Stage",
    "Message",
];

/// Salesforce's Description holds 32,000 characters; HubSpot's Message more.
const MAX_DESCRIPTION: usize = 32_000;

/// The header row of `crm`'s import file.
pub fn headers(crm: Crm) -> &'static [&'static str] {
    match crm {
        Crm::Salesforce => SALESFORCE,
        Crm::Hubspot => HUBSPOT,
    }
}

/// One lead's cells, in [`headers`] order.
pub fn row(crm: Crm, cfg: &CrmConfig, lead: &Lead) -> Vec<String> {
    let status = Status::parse(&lead.status).map_or(lead.status.as_str(), |s| crm.status_value(s));
    let last_name = fill(&cfg.last_name, lead);
    let company = fill(&cfg.company, lead);
    match crm {
        Crm::Salesforce => vec![
            lead.lead_id.clone(),
            last_name,
            company,
            status.to_string(),
            cfg.lead_source.clone(),
            rating(&lead.priority).to_string(),
            description(lead),
        ],
        Crm::Hubspot => vec![
            lead.lead_id.clone(),
            last_name,
            company,
            status.to_string(),
            "Lead".to_string(),
            description(lead),
        ],
    }
}

/// Salesforce's Rating picklist has three values for OneLead's four priorities.
pub fn rating(priority: &str) -> &'static str {
    match priority.to_ascii_uppercase().as_str() {
        "CRITICAL" => "Hot",
        "HIGH" => "Warm",
        _ => "Cold",
    }
}

/// A template with its placeholders filled from the lead; `[not provided]` when that leaves
/// nothing (the CRM refuses an empty required field).
pub fn fill(template: &str, lead: &Lead) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = template.to_string();
    for (name, value) in [
        ("account", o(&lead.account_name)),
        ("account_id", o(&lead.account_id)),
        ("territory", o(&lead.territory_id)),
        ("serial", o(&lead.serial_number)),
        ("product", o(&lead.product_name)),
        ("lead_id", lead.lead_id.clone()),
    ] {
        out = out.replace(&format!("{{{name}}}"), &value);
    }
    let out = out.trim();
    if out.is_empty() {
        NOT_PROVIDED.to_string()
    } else {
        out.to_string()
    }
}

/// What a rep reads in the CRM: the title and description, the action, priority and score,
/// every reason, the services with their SKUs and the asset.
pub fn description(lead: &Lead) -> String {
    let mut lines = vec![lead.title.clone()];
    if !lead.description.is_empty() {
        lines.push(lead.description.clone());
    }
    if !lead.recommended_action.is_empty() {
        lines.push(format!("Action: {}", lead.recommended_action));
    }
    lines.push(format!(
        "{} {} ({}), score {:.2}",
        lead.priority, lead.lead_type, lead.lead_id, lead.score
    ));
    if !lead.reasons.is_empty() {
        lines.push("Why:".into());
        lines.extend(lead.reasons.iter().map(|r| format!("- {r}")));
    }
    if !lead.recommended_services.is_empty() {
        let services: Vec<String> = lead
            .recommended_services
            .iter()
            .map(|s| {
                if s.skus.is_empty() {
                    s.service.clone()
                } else {
                    format!("{} ({})", s.service, s.skus.join(", "))
                }
            })
            .collect();
        lines.push(format!("Services: {}", services.join("; ")));
    }
    let asset: Vec<&str> = [&lead.product_name, &lead.serial_number]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .collect();
    if !asset.is_empty() {
        lines.push(format!("Asset: {}", asset.join(", S/N ")));
    }
    let mut text = lines.join("\n");
    if text.chars().count() > MAX_DESCRIPTION {
        text = text.chars().take(MAX_DESCRIPTION - 1).collect();
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lead::test_lead;

    #[test]
    fn priorities_rate_hot_warm_cold() {
        assert_eq!(rating("CRITICAL"), "Hot");
        assert_eq!(rating("HIGH"), "Warm");
        assert_eq!(rating("MEDIUM"), "Cold");
        assert_eq!(rating("LOW"), "Cold");
    }

    #[test]
    fn placeholders_fill_from_the_lead_and_nothing_becomes_not_provided() {
        let mut lead = test_lead("Renew it", 80.0);
        lead.account_name = Some("Apple Inc.".into());
        lead.serial_number = Some("SN1".into());
        assert_eq!(fill("{account}", &lead), "Apple Inc.");
        assert_eq!(fill("Asset {serial}", &lead), "Asset SN1");
        lead.account_name = None;
        assert_eq!(fill("{account}", &lead), NOT_PROVIDED);
    }

    #[test]
    fn rows_have_a_cell_per_header() {
        let lead = test_lead("Renew it", 80.0);
        for crm in [Crm::Salesforce, Crm::Hubspot] {
            assert_eq!(
                row(crm, &CrmConfig::default(), &lead).len(),
                headers(crm).len()
            );
        }
    }

    #[test]
    fn a_long_description_is_cut_to_what_salesforce_holds() {
        let mut lead = test_lead("Renew it", 80.0);
        lead.reasons = vec!["x".repeat(40_000)];
        let d = description(&lead);
        assert_eq!(d.chars().count(), MAX_DESCRIPTION);
        assert!(d.ends_with('…'));
    }
}
