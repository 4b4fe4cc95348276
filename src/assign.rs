//! Assignment rules: who a new lead goes to, the way Salesforce assignment rules work: rules
//! tried in order, the first that matches names the owner. Sales ops write them as scripts in
//! `rules/assign/*.rhai` (`fn assign(lead, cfg)` returns a user's name or `()`; see
//! `rules/README.md`), or as the config's `assignment:` list, whose conditions must all hold (a
//! rule without conditions catches the rest). The scripts are tried first, in path order, then
//! the list. Leads keep their owner across runs (a manager may change it); a lead nobody owns
//! is placed by the rules on each run ([`place`]).
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

use rayon::prelude::*;
use serde::Deserialize;

use crate::error::Result;
use crate::rules::{EvalContext, RuleSet, share};
use crate::store::api::{UnownedLead, WriteTx};

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

/// Checks the rules; each problem names the rule by its place (`assignment[2].priority`).
pub fn validate(rules: &[AssignRule]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let at = |field: &str| format!("`assignment[{i}].{field}`");
        if r.owner.trim().is_empty() {
            problems.push(format!("{} must name a user", at("owner")));
        }
        if let Some(p) = r
            .priority
            .iter()
            .find(|p| !PRIORITIES.contains(&p.to_lowercase().as_str()))
        {
            problems.push(format!(
                "{}: `{p}` is not one of {}",
                at("priority"),
                PRIORITIES.join(", ")
            ));
        }
        if r.min_score.is_some_and(|s| !s.is_finite()) {
            problems.push(format!("{} must be a number", at("min_score")));
        }
    }
    problems
}

/// Leads read, judged and written at a time: the scripts run on a batch in parallel.
const BATCH: usize = 10_000;

/// Gives every active lead nobody owns the owner the first matching rule names: the scripts of
/// `rules/assign/` first, then the config's `config` list. Inside the run's transaction, after
/// the leads are written; returns how many were placed.
pub fn place(tx: &mut dyn WriteTx, rules: &RuleSet, config: &[AssignRule]) -> Result<usize> {
    let mut placed = 0;
    if rules.has_assign_rules() {
        let mut after: Option<String> = None;
        loop {
            let batch = tx.unowned_leads(after.as_deref(), BATCH)?;
            let owners: Vec<(String, String)> = batch
                .par_iter()
                .map(|l| {
                    let owner = rules.assign(&share(lead_map(l)), &context(l, &table(l)))?;
                    Ok(owner.map(|o| (l.lead_id.clone(), o)))
                })
                .filter_map(Result::transpose)
                .collect::<Result<_>>()?;
            tx.set_owners(&owners)?;
            placed += owners.len();
            match batch.last() {
                Some(last) if batch.len() == BATCH => after = Some(last.lead_id.clone()),
                _ => break,
            }
        }
    }
    Ok(placed + tx.assign_owners(config)?)
}

/// How a failing rule's message names the lead.
fn table(l: &UnownedLead) -> String {
    format!("lead `{}` from install_base", l.lead_id)
}

fn context<'a>(l: &'a UnownedLead, table: &'a str) -> EvalContext<'a> {
    EvalContext {
        table,
        row: l.install_base_id,
        key: l.serial_number.as_deref().unwrap_or(""),
    }
}

/// The `lead` map assignment scripts see (`rules::ASSIGN_FIELDS`): missing text is `""`,
/// missing numbers `()`, as everywhere in the rules.
fn lead_map(l: &UnownedLead) -> rhai::Map {
    let text = |s: &Option<String>| rhai::Dynamic::from(s.clone().unwrap_or_default());
    let mut m = rhai::Map::new();
    let mut put = |k: &str, v: rhai::Dynamic| {
        m.insert(k.into(), v);
    };
    put("lead_id", l.lead_id.clone().into());
    put("lead_type", l.lead_type.clone().into());
    put("rule", l.rule.clone().into());
    put("title", l.title.clone().into());
    put("priority", l.priority.clone().into());
    put("score", rhai::Dynamic::from_float(l.score));
    put("territory_id", text(&l.territory_id));
    put("account_id", text(&l.account_id));
    put("account_name", text(&l.account_name));
    put("product_family", text(&l.product_family));
    put("product_name", text(&l.product_name));
    put("serial_number", text(&l.serial_number));
    put(
        "days_since_eol",
        l.days_since_eol
            .map_or(rhai::Dynamic::UNIT, rhai::Dynamic::from_int),
    );
    put(
        "estimated_value",
        l.estimated_value
            .map_or(rhai::Dynamic::UNIT, rhai::Dynamic::from_float),
    );
    m
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
        assert!(validate(&r).is_empty());
    }

    #[test]
    fn bad_rules_are_named_by_place() {
        let e = validate(&parse(
            "- {owner: kim}\n- {owner: lee, priority: [urgent]}\n- {owner: ' '}",
        ));
        assert_eq!(
            e,
            [
                "`assignment[1].priority`: `urgent` is not one of critical, high, medium, low",
                "`assignment[2].owner` must name a user",
            ]
        );
        assert!(serde_yaml::from_str::<Vec<AssignRule>>("- {owner: kim, region: x}").is_err());
    }

    /// The config check reports them with the others, at the `assignment` key's line.
    #[test]
    fn the_config_check_points_at_the_assignment_list() {
        let yaml = "aging_days: 30\nassignment:\n  - {owner: lee, priority: [urgent]}\n";
        let e = crate::config::Config::parse(yaml, std::path::Path::new("c.yaml")).unwrap_err();
        let e = e.to_string();
        assert!(e.contains("`assignment[0].priority`: `urgent`"), "{e}");
        assert!(e.contains("c.yaml:2:"), "{e}");
    }
}

#[cfg(test)]
mod lead_map_tests {
    use super::*;

    /// The map holds exactly the fields the rules' "did you mean" knows.
    #[test]
    fn the_lead_map_has_the_documented_fields() {
        let m = lead_map(&UnownedLead::default());
        let mut keys: Vec<String> = m.keys().map(ToString::to_string).collect();
        let mut fields: Vec<String> = crate::rules::ASSIGN_FIELDS
            .iter()
            .map(ToString::to_string)
            .collect();
        keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(keys, fields);
        assert!(m["territory_id"].is_string() && m["days_since_eol"].is_unit());
    }
}
