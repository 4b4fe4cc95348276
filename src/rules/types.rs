//! The rule set's data types: rule kinds and files, trigger hits, factor scores, the evaluation
//! context, and the field names scripts see (used for "did you mean" hints).

use std::path::PathBuf;

use rhai::AST;

/// Fields of the `item` map scripts receive (see `rules/README.md`).
pub const ITEM_FIELDS: &[&str] = &[
    "id",
    "serial_number",
    "product_id",
    "product_name",
    "product_line",
    "platform",
    "business_area",
    "business_unit",
    "territory_id",
    "support_status",
    "service_source",
    "service_agreement_id",
    "eol_date",
    "eosl_date",
    "service_start",
    "service_end",
    "eol_placeholder",
    "days_since_eol",
    "days_since_expiry",
    "as_of",
    "product_family",
    "risk_level",
];
/// The risk levels a classify rule may return as `risk_level` (triggers and reports compare
/// against these names).
pub const RISK_LEVELS: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "UNKNOWN"];

/// What is wrong with one field a classify rule returned, if anything: `risk_level` must be one
/// of [`RISK_LEVELS`], and a field the item already has keeps its type (`product_family` a
/// text, `days_since_eol` a number or `()`). New fields may hold anything.
pub(crate) fn classify_field_problem(key: &str, v: &rhai::Dynamic) -> Option<String> {
    let shown = || format!("`{key}: {}`", show_value(v));
    let text = v.is_string();
    let ok = match key {
        "risk_level" => {
            let valid = v
                .read_lock::<rhai::ImmutableString>()
                .is_some_and(|s| RISK_LEVELS.contains(&s.as_str()));
            if !valid {
                let names: Vec<String> = RISK_LEVELS.iter().map(|r| format!("`{r}`")).collect();
                return Some(format!(
                    "returned {}; `risk_level` must be one of {}",
                    shown(),
                    names.join(", ")
                ));
            }
            true
        }
        "id" => v.is_int(),
        "eol_placeholder" => v.is_bool(),
        "days_since_eol" | "days_since_expiry" => v.is_int() || v.is_unit(),
        "eol_date" | "eosl_date" | "service_start" | "service_end" => text || v.is_unit(),
        k if ITEM_FIELDS.contains(&k) => text,
        _ => true,
    };
    (!ok).then(|| {
        let want = match key {
            "id" => "a number",
            "eol_placeholder" => "`true` or `false`",
            "days_since_eol" | "days_since_expiry" => "a number or `()`",
            "eol_date" | "eosl_date" | "service_start" | "service_end" => {
                "a `YYYY-MM-DD` text or `()`"
            }
            _ => "a text",
        };
        format!("returned {}; `{key}` must be {want}", shown())
    })
}

/// A value as a rule would write it (`"HIGH"`, `5`, `()`), for messages.
pub fn show_value(v: &rhai::Dynamic) -> String {
    if v.is_string() {
        format!("{:?}", v.to_string())
    } else if v.is_unit() {
        "()".into()
    } else {
        v.to_string()
    }
}

/// Fields of the `account` map.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "account_id",
    "name",
    "territory_id",
    "install_base_count",
    "opportunity_count",
    "project_count",
    "closed_project_count",
    "project_size_category",
    "active_credits",
    "last_project_end",
];
/// Fields of the `lead` map scoring and services rules receive (`score::lead_map` builds it).
pub const LEAD_FIELDS: &[&str] = &["lead_type", "title", "rule"];
/// Fields of the `lead` map assignment rules receive (see `crate::assign`).
pub const ASSIGN_FIELDS: &[&str] = &[
    "lead_id",
    "lead_type",
    "rule",
    "title",
    "priority",
    "score",
    "territory_id",
    "account_id",
    "account_name",
    "product_family",
    "product_name",
    "serial_number",
    "days_since_eol",
    "estimated_value",
];
/// Fields of the `service` map services rules receive.
pub const SERVICE_FIELDS: &[&str] = &["service", "category", "product_family", "skus"];

/// The kinds of rule, one folder each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    /// `classify/`: derive fields such as `product_family` and `risk_level`.
    Classify,
    /// `triggers/`: decide whether an item is a lead of one type.
    Trigger,
    /// `scoring/`: one factor of a lead's score.
    Scoring,
    /// `services/`: boost recommended services for a lead.
    Services,
    /// `assign/`: name the owner of a lead nobody owns (first match wins).
    Assign,
}

impl RuleKind {
    /// Every kind, in evaluation order.
    pub const ALL: [RuleKind; 5] = [
        RuleKind::Classify,
        RuleKind::Trigger,
        RuleKind::Scoring,
        RuleKind::Services,
        RuleKind::Assign,
    ];

    /// The folder under `rules/`.
    pub fn dir(self) -> &'static str {
        match self {
            RuleKind::Classify => "classify",
            RuleKind::Trigger => "triggers",
            RuleKind::Scoring => "scoring",
            RuleKind::Services => "services",
            RuleKind::Assign => "assign",
        }
    }

    /// The functions a rule of this kind must define, with their parameters.
    pub fn entry_points(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            RuleKind::Classify => &[("classify", &["item", "cfg"])],
            RuleKind::Trigger => &[("lead_type", &[]), ("trigger", &["item", "account", "cfg"])],
            RuleKind::Scoring => &[("score", &["item", "account", "lead", "cfg"])],
            RuleKind::Services => &[("boost", &["lead", "service", "cfg"])],
            RuleKind::Assign => &[("assign", &["lead", "cfg"])],
        }
    }
}

/// One compiled rule file.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which folder it lives in.
    pub kind: RuleKind,
    /// The file stem (`renewal`); for scoring rules, the factor name.
    pub name: String,
    /// The file as displayed, e.g. `rules/triggers/renewal.rhai`.
    pub path: PathBuf,
    /// Triggers only: what `fn lead_type()` returned.
    pub lead_type: Option<String>,
    pub(crate) source: String,
    pub(crate) ast: AST,
    /// Run the top level (its imports) before each call; see `loader::has_imports`.
    pub(crate) eval_top: bool,
    /// Its functions compiled for the fast path (`None`: every call goes through Rhai).
    pub(crate) fast: Option<std::sync::Arc<crate::rules::fast::Compiled>>,
}

impl Rule {
    /// `triggers/renewal`: how diagnostics name the rule.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.dir(), self.name)
    }
}

/// A trigger that fired for an item.
#[derive(Debug, Clone)]
pub struct TriggerHit {
    /// The trigger's `lead_type()`.
    pub lead_type: String,
    /// The trigger's file stem.
    pub rule: String,
    /// One-line title.
    pub title: String,
    /// What was found, with figures.
    pub description: String,
    /// What sales should do.
    pub action: String,
    /// Why the rule fired, one line each.
    pub reasons: Vec<String>,
    /// Any other keys the rule returned (e.g. `estimated_value`).
    pub extra: rhai::Map,
}

/// What one trigger decided for one item.
#[derive(Debug, Clone)]
pub enum Decision {
    /// It fired: a lead.
    Fired(TriggerHit),
    /// It did not, with the reason it gave (`no_lead(reason)`), if any. Rhai's own string: the
    /// hot path passes it over without copying it.
    NotFired(Option<rhai::ImmutableString>),
}

/// One scoring factor's value for a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorScore {
    /// The factor (scoring file stem).
    pub name: String,
    /// Between 0 and 100.
    pub value: f64,
    /// How the value was reached. Shared with the rule's cached result: most leads' factors
    /// are cache hits, and a copy per lead was a dozen allocations (and frees) each.
    pub reasons: std::sync::Arc<[String]>,
}

/// Which data row is being evaluated, for runtime diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The table (`install_base`).
    pub table: &'a str,
    /// The row id.
    pub row: i64,
    /// The serial number.
    pub key: &'a str,
}

impl EvalContext<'_> {
    pub(crate) fn describe(&self) -> String {
        if self.key.is_empty() {
            format!("while evaluating {} row {}", self.table, self.row)
        } else if self.table == "install_base" {
            format!(
                "while evaluating {} row {} (serial {})",
                self.table, self.row, self.key
            )
        } else {
            // A row made up for a check (`rules check`'s edge rows, a scenario): the key says
            // what it stands for.
            format!(
                "while evaluating {} {} ({})",
                self.table, self.row, self.key
            )
        }
    }
}
