//! CRM files both ways: leads out as a file Salesforce's or HubSpot's import maps by itself
//! ([`export`]), statuses back from a CRM's export ([`import`]). In: leads, the `crm:` section
//! of the config; out: rows for a CSV writer, or the status changes a CRM file asks for.
//!
//! Status values cross in both directions, so both directions are defined here: what OneLead
//! writes for each of its statuses ([`Crm::status_value`]) and what each CRM value means
//! ([`StatusMap`]: the defaults below, then `crm.status_map`).

pub mod export;
pub mod import;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::KeyProblem;
use crate::lifecycle::Status;

/// The CRMs OneLead writes import files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crm {
    /// Salesforce's Lead import (Data Import Wizard, Data Loader).
    Salesforce,
    /// HubSpot's contact import.
    Hubspot,
}

impl Crm {
    /// The value OneLead writes in the CRM's status column for `status`. Salesforce's default
    /// Lead Status picklist has no "qualified": a qualified lead is still being worked there.
    pub fn status_value(self, status: Status) -> &'static str {
        match (self, status) {
            (Crm::Salesforce, Status::New) => "Open - Not Contacted",
            (Crm::Salesforce, Status::Contacted | Status::Qualified) => "Working - Contacted",
            (Crm::Salesforce, Status::Converted) => "Closed - Converted",
            (Crm::Salesforce, Status::Rejected) => "Closed - Not Converted",
            (Crm::Hubspot, Status::New) => "New",
            (Crm::Hubspot, Status::Contacted) => "Connected",
            (Crm::Hubspot, Status::Qualified) => "In Progress",
            (Crm::Hubspot, Status::Converted) => "Open Deal",
            (Crm::Hubspot, Status::Rejected) => "Unqualified",
        }
    }
}

/// CRM status values understood without configuration: Salesforce's default Lead Status
/// picklist, and HubSpot's default Lead Status (`hs_lead_status`) options, whose labels and
/// internal names normalise alike (`Attempted to Contact` = `ATTEMPTED_TO_CONTACT`).
const DEFAULT_STATUS_MAP: &[(&str, Status)] = &[
    ("Open - Not Contacted", Status::New),
    ("Working - Contacted", Status::Contacted),
    ("Closed - Converted", Status::Converted),
    ("Closed - Not Converted", Status::Rejected),
    ("New", Status::New),
    ("Open", Status::New),
    ("Attempted to Contact", Status::Contacted),
    ("Connected", Status::Contacted),
    ("In Progress", Status::Qualified),
    ("Open Deal", Status::Converted),
    ("Unqualified", Status::Rejected),
    ("Bad Timing", Status::Rejected),
];

/// The `crm:` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    /// What goes in Last Name, which Salesforce requires and OneLead does not know (its leads
    /// are assets, not people): text with `{account}`, `{account_id}`, `{territory}`,
    /// `{serial}`, `{product}`, `{lead_id}` placeholders; empty → `[not provided]`.
    #[serde(default = "default_last_name")]
    pub last_name: String,
    /// What goes in Company (also required by Salesforce), with the same placeholders.
    #[serde(default = "default_company")]
    pub company: String,
    /// The Lead Source value.
    #[serde(default = "default_lead_source")]
    pub lead_source: String,
    /// CRM status value → OneLead status, on top of (and over) the defaults.
    #[serde(default)]
    pub status_map: BTreeMap<String, Status>,
    /// The header of the OneLead id column in CRM exports, when it is not `OneLead ID` (or the
    /// Salesforce API name `OneLead_Id__c`, or HubSpot's `onelead_id`).
    #[serde(default)]
    pub id_column: Option<String>,
    /// The header of the status column in CRM exports, when it is not `Lead Status`,
    /// `Status` or `hs_lead_status`.
    #[serde(default)]
    pub status_column: Option<String>,
}

/// What Salesforce itself writes for a required field a web form left empty.
pub const NOT_PROVIDED: &str = "[not provided]";

fn default_last_name() -> String {
    NOT_PROVIDED.into()
}
fn default_company() -> String {
    "{account}".into()
}
fn default_lead_source() -> String {
    "OneLead".into()
}

impl Default for CrmConfig {
    fn default() -> Self {
        CrmConfig {
            last_name: default_last_name(),
            company: default_company(),
            lead_source: default_lead_source(),
            status_map: BTreeMap::new(),
            id_column: None,
            status_column: None,
        }
    }
}

/// The placeholders `crm.last_name` and `crm.company` may use.
pub const PLACEHOLDERS: &[&str] = &[
    "account",
    "account_id",
    "territory",
    "serial",
    "product",
    "lead_id",
];

impl CrmConfig {
    /// The templates' unknown placeholders.
    pub fn problems(&self) -> Vec<KeyProblem> {
        let mut out = Vec::new();
        for (key, template) in [("last_name", &self.last_name), ("company", &self.company)] {
            for name in placeholders(template) {
                if PLACEHOLDERS.contains(&name) {
                    continue;
                }
                let known: Vec<String> =
                    PLACEHOLDERS.iter().map(|p| format!("`{{{p}}}`")).collect();
                out.push(KeyProblem {
                    key: format!("crm.{key}"),
                    message: format!(
                        "`crm.{key}` has an unknown placeholder `{{{name}}}` (known: {})",
                        known.join(", ")
                    ),
                    help: crate::config::did_you_mean(name, PLACEHOLDERS)
                        .map(|c| format!("did you mean `{{{c}}}`?")),
                });
            }
        }
        out
    }

    /// The status map: the defaults, then the config's entries over them.
    pub fn status_map(&self) -> StatusMap {
        let mut map: BTreeMap<String, Status> = DEFAULT_STATUS_MAP
            .iter()
            .map(|(k, v)| (normalise(k), *v))
            .collect();
        for (k, v) in &self.status_map {
            map.insert(normalise(k), *v);
        }
        StatusMap(map)
    }
}

/// The names inside `{…}` in a template.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// CRM status values (normalised) → OneLead statuses.
#[derive(Debug, Clone)]
pub struct StatusMap(BTreeMap<String, Status>);

impl StatusMap {
    /// The OneLead status a CRM value means, in any case, spacing or punctuation.
    pub fn get(&self, value: &str) -> Option<Status> {
        self.0.get(&normalise(value)).copied()
    }
}

/// A header or value with case, spaces and punctuation taken out: `Lead Status`, `lead_status`
/// and `LEAD-STATUS` read alike.
pub fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_and_hubspot_defaults_are_understood_in_any_spelling() {
        let map = CrmConfig::default().status_map();
        assert_eq!(map.get("Open - Not Contacted"), Some(Status::New));
        assert_eq!(map.get("working - contacted"), Some(Status::Contacted));
        assert_eq!(map.get("Closed - Converted"), Some(Status::Converted));
        assert_eq!(map.get("Closed - Not Converted"), Some(Status::Rejected));
        assert_eq!(map.get("ATTEMPTED_TO_CONTACT"), Some(Status::Contacted));
        assert_eq!(map.get("Open Deal"), Some(Status::Converted));
        assert_eq!(map.get("BAD_TIMING"), Some(Status::Rejected));
        assert_eq!(map.get("Won"), None);
    }

    #[test]
    fn the_config_adds_values_and_overrides_defaults() {
        let cfg = CrmConfig {
            status_map: BTreeMap::from([
                ("Qualified".to_string(), Status::Qualified),
                ("In Progress".to_string(), Status::Contacted),
            ]),
            ..CrmConfig::default()
        };
        let map = cfg.status_map();
        assert_eq!(map.get("qualified"), Some(Status::Qualified));
        assert_eq!(map.get("IN_PROGRESS"), Some(Status::Contacted));
    }

    /// Every value OneLead writes reads back as a status that writes the same value again, so
    /// an untouched export imports as no change.
    #[test]
    fn every_exported_status_value_reads_back() {
        let map = CrmConfig::default().status_map();
        for crm in [Crm::Salesforce, Crm::Hubspot] {
            for s in Status::ALL {
                let value = crm.status_value(s);
                let back = map.get(value).unwrap();
                assert_eq!(crm.status_value(back), value, "{crm:?} {s:?}");
            }
        }
    }

    #[test]
    fn unknown_placeholders_are_config_errors() {
        let cfg = CrmConfig {
            last_name: "{acount} lead".into(),
            ..CrmConfig::default()
        };
        let p = cfg.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, "crm.last_name");
        assert!(p[0].message.contains("`{acount}`"), "{p:?}");
        assert_eq!(p[0].help.as_deref(), Some("did you mean `{account}`?"));
        assert!(CrmConfig::default().problems().is_empty());
    }
}
