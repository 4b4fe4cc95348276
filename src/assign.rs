//! Assignment rules: who a new lead goes to. The config's `assignment:` list is tried in order
//! and the first rule whose conditions all hold names the owner, the way Salesforce assignment
//! rules work; a rule without conditions catches the rest. Leads keep their owner across runs
//! (a manager may change it); a lead nobody owns is placed by the rules on each run.
//!
//! ```yaml
//! assignment:
//!   - owner: kim
//!     territory: ["56088", "56166"]
//!   - owner: lee
//!     lead_type: renewal          # part of the lead type, any case
//!     priority: [critical, high]
//!   - owner: ops                  # everything else
//! ```

use serde::Deserialize;

use crate::error::{Error, Result};

/// One rule: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRule {
    /// Who gets the lead (a user name).
    pub owner: String,
    /// Any of these territory ids.
    #[serde(default, deserialize_with = "texts")]
    pub territory: Vec<String>,
    /// Any of these account ids.
    #[serde(default, deserialize_with = "texts")]
    pub account: Vec<String>,
    /// Part of the lead type (any case).
    #[serde(default)]
    pub lead_type: Option<String>,
    /// Any of these product families (any case).
    #[serde(default, deserialize_with = "texts")]
    pub family: Vec<String>,
    /// Any of these priorities (`critical`, `high`, `medium`, `low`).
    #[serde(default, deserialize_with = "texts")]
    pub priority: Vec<String>,
    /// Score at least this.
    #[serde(default)]
    pub min_score: Option<f64>,
}

/// A list of texts where YAML may have written numbers (`territory: [56088]`).
fn texts<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Scalar>),
        One(Scalar),
    }
    let list = match OneOrMany::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(s) => vec![s],
    };
    Ok(list
        .into_iter()
        .map(|s| match s {
            Scalar::Text(t) => t,
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
        })
        .collect())
}

const PRIORITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// Checks the rules; the message names the rule by its place (`assignment[2].priority`).
pub fn validate(rules: &[AssignRule], file: &str) -> Result<()> {
    for (i, r) in rules.iter().enumerate() {
        let at = |field: &str| format!("{file}: `assignment[{i}].{field}`");
        if r.owner.trim().is_empty() {
            return Err(Error::Config(format!("{} must name a user", at("owner"))));
        }
        if let Some(p) = r
            .priority
            .iter()
            .find(|p| !PRIORITIES.contains(&p.to_lowercase().as_str()))
        {
            return Err(Error::Config(format!(
                "{}: `{p}` is not one of {}",
                at("priority"),
                PRIORITIES.join(", ")
            )));
        }
        if r.min_score.is_some_and(|s| !s.is_finite()) {
            return Err(Error::Config(format!(
                "{} must be a number",
                at("min_score")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Vec<AssignRule> {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn numbers_read_as_ids_and_one_value_as_a_list() {
        let r =
            parse("- {owner: kim, territory: [56088, '56166'], priority: High}\n- {owner: ops}");
        assert_eq!(r[0].territory, ["56088", "56166"]);
        assert_eq!(r[0].priority, ["High"]);
        assert_eq!(
            r[1],
            AssignRule {
                owner: "ops".into(),
                ..AssignRule::default()
            }
        );
        assert!(validate(&r, "c.yaml").is_ok());
    }

    #[test]
    fn bad_rules_are_named_by_place() {
        let e = validate(
            &parse("- {owner: kim}\n- {owner: lee, priority: [urgent]}"),
            "c.yaml",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.yaml: `assignment[1].priority`: `urgent` is not one of critical, high, medium, low"
        );
        let e = validate(&parse("- {owner: ' '}"), "c.yaml").unwrap_err();
        assert!(
            e.to_string()
                .contains("`assignment[0].owner` must name a user")
        );
        assert!(serde_yaml::from_str::<Vec<AssignRule>>("- {owner: kim, region: x}").is_err());
    }
}
