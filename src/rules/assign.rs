//! Assignment rules (`rules/assign/*.rhai`): `fn assign(lead, cfg)` returns the name of the user
//! who should work a lead nobody owns, or `()` to leave it to the next rule. The rules are tried
//! in path order and the first name wins, the way Salesforce assignment rules work. What a lead
//! is (its fields, how it is read) is the caller's: see `crate::assign`.

use rhai::Dynamic;

use super::{EvalContext, RuleKind, RuleSet, memo};
use crate::error::Result;

impl RuleSet {
    /// True when `rules/assign/` holds a rule.
    pub fn has_assign_rules(&self) -> bool {
        self.of(RuleKind::Assign).next().is_some()
    }

    /// The owner the first assignment rule (in path order) names for `lead` (a map made once
    /// with [`super::share`]), trimmed; `None` when every rule returns `()`. Anything else a rule
    /// returns is an error naming it.
    pub fn assign(&self, lead: &Dynamic, ctx: &EvalContext) -> Result<Option<String>> {
        for (rule, memo) in self.memoised(RuleKind::Assign) {
            let keys = [
                memo::Arg::Shared(lead),
                memo::Arg::Cfg(&self.cfg_shared, self.cfg_digest),
            ];
            let out = memo.get_or(&keys, || {
                self.call(rule, "assign", (lead.clone(), self.cfg()), ctx)
            })?;
            if out.is_unit() {
                continue;
            }
            let kind = out.type_name();
            let why = match out.into_string() {
                Ok(name) if !name.trim().is_empty() => return Ok(Some(name.trim().to_string())),
                Ok(_) => "returned an empty name".to_string(),
                Err(_) => format!("returned `{kind}`"),
            };
            let msg = format!(
                "rule `{}` {why}; `assign` must return a user's name or `()`",
                rule.id()
            );
            return Err(Self::contract(rule, "assign", &msg, ctx));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rhai::Map;

    use super::*;
    use crate::config::Config;
    use crate::error::Error;

    const CTX: EvalContext<'static> = EvalContext {
        table: "lead `L1` from install_base",
        row: 17,
        key: "SN1",
    };

    /// A rule set of one scoring rule (every set needs its factors) and these assignment rules.
    fn rules(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<RuleSet>) {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec![(
            "scoring/f.rhai",
            "fn score(item, account, lead, cfg) { 50 }",
        )];
        all.extend_from_slice(files);
        for (rel, text) in all {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let cfg = Config::parse(
            "scoring_weights: {f: 1.0}\nthresholds: {big_deal: 50000}\n",
            Path::new("config/onelead.yaml"),
        )
        .unwrap();
        let set = RuleSet::load(dir.path(), &cfg);
        (dir, set)
    }

    fn lead(territory: &str, value: Option<f64>) -> Dynamic {
        let mut m = Map::new();
        for f in super::super::ASSIGN_FIELDS {
            m.insert((*f).into(), "".into());
        }
        m.insert("territory_id".into(), territory.into());
        m.insert("score".into(), Dynamic::from_float(70.0));
        m.insert(
            "estimated_value".into(),
            value.map_or(Dynamic::UNIT, Dynamic::from_float),
        );
        crate::rules::share(m)
    }

    const BIG: &str = "fn assign(lead, cfg) {
    if lead.estimated_value != () && lead.estimated_value >= cfg.big_deal { return \" kim \"; }
}";
    const WEST: &str = "fn assign(lead, cfg) { if lead.territory_id == \"W\" { \"lee\" } }";

    #[test]
    fn the_first_rule_in_path_order_that_names_someone_wins() {
        let (_d, set) = rules(&[("assign/20_west.rhai", WEST), ("assign/10_big.rhai", BIG)]);
        let set = set.unwrap();
        assert!(set.has_assign_rules());
        let owner = |t, v| set.assign(&lead(t, v), &CTX).unwrap();
        assert_eq!(owner("W", Some(90_000.0)).as_deref(), Some("kim"));
        assert_eq!(owner("W", Some(10.0)).as_deref(), Some("lee"));
        assert_eq!(owner("W", None).as_deref(), Some("lee"));
        assert_eq!(owner("E", None), None);
        let (_d, none) = rules(&[]);
        assert!(!none.unwrap().has_assign_rules());
    }

    #[test]
    fn a_rule_that_returns_no_name_is_an_error_naming_it_and_the_lead() {
        for (body, why) in [
            ("fn assign(lead, cfg) { 42 }", "returned `i64`"),
            ("fn assign(lead, cfg) { \"  \" }", "returned an empty name"),
        ] {
            let (_d, set) = rules(&[("assign/a.rhai", body)]);
            let e = set.unwrap().assign(&lead("W", None), &CTX).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "rule `assign/a` {why}; `assign` must return a user's name or `()`"
                )),
                "{text}"
            );
            assert!(text.contains("assign/a.rhai:1:"), "{text}");
            assert!(text.contains("while evaluating lead `L1`"), "{text}");
        }
    }

    #[test]
    fn a_typo_names_the_field_and_a_wrong_signature_stops_the_load() {
        let typo = "fn assign(lead, cfg) {\n    if lead.teritory_id == \"W\" { \"lee\" }\n}";
        let (_d, set) = rules(&[("assign/a.rhai", typo)]);
        let e = set.unwrap().assign(&lead("W", None), &CTX).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("assign/a.rhai:2:"), "{text}");
        assert!(text.contains("did you mean `territory_id`?"), "{text}");
        let (_d, set) = rules(&[("assign/b.rhai", "fn assign(lead) { \"kim\" }")]);
        let Err(Error::Rules(diags)) = set else {
            panic!("a rule without `assign(lead, cfg)` loaded")
        };
        assert!(
            diags.iter().any(|d| d.contains("assign/b.rhai")),
            "{diags:?}"
        );
    }
}
