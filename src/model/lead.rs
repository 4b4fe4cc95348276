//! The scored lead: a plain struct, its stable id and its JSON shape (documented in `docs/json.md`),
//! and the state the change report names it by.

use serde::{Deserialize, Serialize};

/// One factor's part in a lead's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// 0–100 as the factor rule returned it.
    pub value: f64,
    /// The weight from `scoring_weights`.
    pub weight: f64,
    /// `value × weight`, rounded to 6 decimals; the contributions add up to the score.
    pub contribution: f64,
    /// Why the rule gave this value (shared with the rule's cached result).
    pub reasons: std::sync::Arc<[String]>,
}

/// One recommended service from the SKU sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Service name.
    pub service: String,
    /// SKU codes the sheet gives for it (may be empty).
    pub skus: Vec<String>,
    /// Base priority plus the boosts of `rules/services/`.
    pub priority: i64,
    /// The SKU sheet's product row it came from (`Servers`, `3PAR`).
    pub product: String,
}

/// A lead's recommended services. Shared: leads of the same type, title and family get the same
/// list, computed once per evaluation.
pub type Services = std::sync::Arc<[Recommendation]>;

/// A scored, explained lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Short stable id: the same asset and lead type give the same id on every run.
    pub lead_id: String,
    /// The lead type named by the trigger rule.
    pub lead_type: String,
    /// The trigger rule's file stem.
    pub rule: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM` or `LOW`.
    pub priority: String,
    /// Σ weight × factor, 0–100.
    pub score: f64,
    /// Factor name → value, weight, contribution, reasons.
    pub factors: std::collections::BTreeMap<String, Factor>,
    /// The trigger's reasons followed by every factor's reasons (`factor: reason`). A lead
    /// fresh from evaluation holds only the trigger's: the store keeps the factors' reasons
    /// once, under `factors`, and appends them when it reads a lead back.
    pub reasons: Vec<String>,
    /// Title from the trigger.
    pub title: String,
    /// Description from the trigger.
    pub description: String,
    /// Recommended next action from the trigger.
    pub recommended_action: String,
    /// Unified account id.
    pub account_id: Option<String>,
    /// Unified account name.
    pub account_name: Option<String>,
    /// Sales territory id.
    pub territory_id: Option<String>,
    /// Install-base row id.
    pub install_base_id: i64,
    /// Asset serial number.
    pub serial_number: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Product family (from `rules/classify`).
    pub product_family: Option<String>,
    /// Days past end of life, when known.
    pub days_since_eol: Option<i64>,
    /// Top services for this lead, best first.
    pub recommended_services: Services,
    /// The SKU codes of `recommended_services`, flattened, without repeats.
    pub recommended_skus: std::sync::Arc<[String]>,
    /// Any other fields the trigger returned (e.g. `estimated_value`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Workflow status (`new`, `contacted`, ...).
    pub status: String,
    /// Who works the lead (a user name), when assigned.
    #[serde(default)]
    pub owner: Option<String>,
    /// False when the trigger no longer fires (kept with its history).
    pub active: bool,
    /// First time this lead was seen (UTC, RFC 3339).
    pub created_at: String,
    /// Last status change (UTC, RFC 3339).
    pub updated_at: String,
}

/// One active lead as the change report (`watch`, `whatif`) names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadState {
    /// Stable id.
    pub lead_id: String,
    /// Lead type.
    pub lead_type: String,
    /// Priority.
    pub priority: String,
    /// Score.
    pub score: f64,
    /// Account name.
    pub account: Option<String>,
    /// Product name.
    pub product: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
}

impl LeadState {
    /// The state of `lead`.
    pub fn of(lead: &Lead) -> LeadState {
        LeadState {
            lead_id: lead.lead_id.clone(),
            lead_type: lead.lead_type.clone(),
            priority: lead.priority.clone(),
            score: lead.score,
            account: lead.account_name.clone(),
            product: lead.product_name.clone(),
            serial: lead.serial_number.clone(),
        }
    }
}

/// Length of a lead id; a lead whose short id another asset took first gets [`LONG_ID`].
pub const SHORT_ID: usize = 8;
/// See [`SHORT_ID`].
pub const LONG_ID: usize = 13;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// FNV-1a: tiny, stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The id of (asset, lead type): `len` Crockford base-32 characters, easy to read aloud and type
/// (no I, L, O, U).
pub fn lead_id(asset_key: &str, lead_type: &str, len: usize) -> String {
    let mut h = fnv1a(format!("{asset_key}\u{1f}{lead_type}").as_bytes());
    let mut out = String::with_capacity(len);
    for i in 0..len {
        if i == 12 {
            h = fnv1a(&h.to_le_bytes());
        }
        out.push(ALPHABET[(h & 31) as usize] as char);
        h >>= 5;
    }
    out
}

/// A lead for the tests of the code that stores, compares and fingerprints leads.
#[cfg(test)]
pub fn test_lead(title: &str, score: f64) -> Lead {
    Lead {
        lead_id: "L1".into(),
        lead_type: "T".into(),
        rule: "r".into(),
        priority: "HIGH".into(),
        score,
        reasons: vec!["why".into()],
        title: title.into(),
        description: "d".into(),
        recommended_action: "a".into(),
        account_id: Some("A1".into()),
        territory_id: Some("T1".into()),
        install_base_id: 1,
        serial_number: Some("SN".into()),
        product_name: Some("P".into()),
        product_family: Some("F".into()),
        days_since_eol: Some(3),
        status: "new".into(),
        active: true,
        ..Lead::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_short_and_distinct_per_type() {
        let a = lead_id("USE3267F8N|654081-B21", "Renewal - Expired Support", 8);
        assert_eq!(
            a,
            lead_id("USE3267F8N|654081-B21", "Renewal - Expired Support", 8)
        );
        assert_eq!(a.len(), 8);
        assert_ne!(
            a,
            lead_id(
                "USE3267F8N|654081-B21",
                "Hardware Refresh - EOL Equipment",
                8
            )
        );
        assert!(a.chars().all(|c| ALPHABET.contains(&(c as u8))));
        // A longer id extends the short one, so a disambiguated id still starts the same way.
        assert!(lead_id("x", "t", 12).starts_with(&lead_id("x", "t", 8)));
    }

    #[test]
    fn fnv_matches_the_published_test_vector() {
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
