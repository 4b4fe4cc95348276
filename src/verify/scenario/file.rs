//! A scenario file as sales ops write it (YAML) → scenarios ready to run: the item and account
//! maps the rules will see, built the way a run builds them, and what is expected. Every
//! mistake in the file is a diagnostic at its line and column.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Days, NaiveDate};
use rhai::{Dynamic, ImmutableString, Map};
use serde::Deserialize;
use serde_yaml::Value;

use crate::config::locate::Locations;
use crate::diagnostic::{Diagnostic, Loc};
use crate::model::account::CatalogEntry;
use crate::model::item::{DATE_FIELDS, TEXT_FIELDS};
use crate::score::context::{self, AsOf};
use crate::verify::simulate;

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    /// The date day counts are measured from; today when absent.
    #[serde(default)]
    as_of: Option<String>,
    /// Item and account fields every scenario of the file starts from.
    #[serde(default)]
    defaults: Inputs,
    /// Offerings of the SKU sheet the file's leads may be recommended.
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
    scenarios: Vec<ScenarioText>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Inputs {
    #[serde(default)]
    item: BTreeMap<String, Value>,
    #[serde(default)]
    account: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioText {
    name: String,
    #[serde(default)]
    item: BTreeMap<String, Value>,
    #[serde(default)]
    account: BTreeMap<String, Value>,
    expect: Expect,
}

/// What a scenario expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Item fields after the classify rules (`risk_level: CRITICAL`).
    #[serde(default)]
    pub item: BTreeMap<String, Value>,
    /// Every lead the item gives, by type; `[]` for none. Not checked when absent.
    #[serde(default)]
    pub leads: Option<Vec<ExpectedLead>>,
    /// Lead types that must not fire, each with a part of the reason its trigger gives.
    #[serde(default)]
    pub no_lead: BTreeMap<String, String>,
}

/// One expected lead; what is left out is not checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedLead {
    /// The lead type.
    #[serde(rename = "type")]
    pub lead_type: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM` or `LOW`.
    #[serde(default)]
    pub priority: Option<String>,
    /// A number, or a range `70..75` (inclusive).
    #[serde(default)]
    pub score: Option<Value>,
    /// Factor name → a number or a range.
    #[serde(default)]
    pub factors: BTreeMap<String, Value>,
    /// The recommended services' names, best first.
    #[serde(default)]
    pub services: Option<Vec<String>>,
    /// Parts of the trigger's reasons, each found in one of them.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// A part of the recommended action.
    #[serde(default)]
    pub action: Option<String>,
}

/// A scenario ready to run.
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The line of its `name:`.
    pub line: usize,
    /// The item as a run builds it (before the classify rules).
    pub item: Map,
    /// The account.
    pub account: Map,
    /// What it expects.
    pub expect: Expect,
}

/// A file's scenarios, its catalog and its as-of date.
pub struct File {
    /// The date day counts are measured from.
    pub as_of: NaiveDate,
    /// The catalog its leads are recommended from.
    pub catalog: Vec<CatalogEntry>,
    /// Its scenarios, in order.
    pub scenarios: Vec<Scenario>,
}

/// Reads one scenario file: every problem in it, or its scenarios.
pub fn read(path: &Path) -> Result<File, Vec<Diagnostic>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let msg = format!("cannot read `{shown}`: {e}");
        vec![Diagnostic::new(&msg, &Loc::file(&shown), None, None)]
    })?;
    let parsed: Text = serde_yaml::from_str(&text).map_err(|e| {
        let loc = e.location().map_or(Loc::file(&shown), |l| Loc {
            path: &shown,
            source: Some(&text),
            line: l.line(),
            col: l.column(),
        });
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg);
        vec![Diagnostic::new(msg, &loc, None, None)]
    })?;
    let at = Located {
        path: &shown,
        text: &text,
        keys: Locations::new(&text),
    };
    let mut problems = Vec::new();
    let as_of = match &parsed.as_of {
        None => chrono::Local::now().date_naive(),
        Some(s) => date(s).unwrap_or_else(|| {
            problems.push(at.value(
                "as_of",
                &format!("`as_of` must be a `YYYY-MM-DD` date, not `{s}`"),
            ));
            chrono::Local::now().date_naive()
        }),
    };
    let mut scenarios = Vec::new();
    for (i, s) in parsed.scenarios.into_iter().enumerate() {
        let key = format!("scenarios.{i}");
        let mut fields = parsed.defaults.item.clone();
        fields.extend(s.item);
        let mut account = parsed.defaults.account.clone();
        account.extend(s.account);
        let item = item(
            &fields,
            i,
            as_of,
            &at,
            &format!("{key}.item"),
            &mut problems,
        );
        let account = account_map(&account, &at, &format!("{key}.account"), &mut problems);
        scenarios.push(Scenario {
            name: s.name,
            line: at.keys.find(&format!("{key}.name")).map_or(0, |s| s.line),
            item,
            account,
            expect: s.expect,
        });
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(problems);
    }
    Ok(File {
        as_of,
        catalog: parsed.catalog,
        scenarios,
    })
}

/// A scenario file's text and key positions.
struct Located<'a> {
    path: &'a str,
    text: &'a str,
    keys: Locations,
}

impl Located<'_> {
    /// A problem with the value of `key` (or, when that is not found, with where it belongs).
    fn value(&self, key: &str, msg: &str) -> Diagnostic {
        self.with_help(key, msg, None)
    }

    fn with_help(&self, key: &str, msg: &str, help: Option<&str>) -> Diagnostic {
        Diagnostic::new(msg, &self.loc(key, true), None, help)
    }

    /// An unknown field, with the closest known one.
    fn unknown(&self, key: &str, what: &str, field: &str, known: &[&str]) -> Diagnostic {
        let help =
            crate::config::did_you_mean(field, known).map(|b| format!("did you mean `{b}`?"));
        let msg = format!("{what} has no field `{field}`");
        Diagnostic::new(&msg, &self.loc(key, false), None, help.as_deref())
    }

    /// Where `key` (its value, with `value`) is, or its nearest parent, or the file.
    fn loc(&self, key: &str, value: bool) -> Loc<'_> {
        self.keys.loc(self.path, self.text, key, value)
    }
}

/// The fields a scenario's item may set: the export's columns, or a day count instead of its
/// date (`days_since_eol: 1826` sets `eol_date` that many days before `as_of`).
const DAY_COUNTS: [(&str, &str); 2] = [
    ("days_since_eol", "eol_date"),
    ("days_since_expiry", "service_end"),
];

/// The item map a run would build from a row with these fields.
fn item(
    fields: &BTreeMap<String, Value>,
    index: usize,
    as_of: NaiveDate,
    at: &Located<'_>,
    key: &str,
    problems: &mut Vec<Diagnostic>,
) -> Map {
    let mut row = simulate::blank_row(index as i64 + 1, &format!("SCENARIO-{}", index + 1));
    let known: Vec<&str> = TEXT_FIELDS
        .iter()
        .chain(DATE_FIELDS)
        .copied()
        .chain(DAY_COUNTS.iter().map(|(d, _)| *d))
        .collect();
    for (field, v) in fields {
        let at_key = format!("{key}.{field}");
        if let Some((_, date_field)) = DAY_COUNTS.iter().find(|(d, _)| d == field) {
            let i = DATE_FIELDS
                .iter()
                .position(|f| f == date_field)
                .unwrap_or(0);
            if fields.contains_key(*date_field) {
                let msg = format!("give `{field}` or `{date_field}`, not both");
                problems.push(at.value(&at_key, &msg));
            }
            match v.as_i64().and_then(|n| days_before(as_of, n)) {
                Some(d) => row.dates[i] = Some(d),
                None => problems.push(at.value(
                    &at_key,
                    &format!("`{field}` must be a whole number of days"),
                )),
            }
            continue;
        }
        let is_date = DATE_FIELDS.contains(&field.as_str());
        if !is_date && !TEXT_FIELDS.contains(&field.as_str()) {
            problems.push(at.unknown(&at_key, "a scenario's item", field, &known));
            continue;
        }
        let value = match v {
            Value::String(_) | Value::Null => scalar_text(v),
            _ if is_date => None,
            _ => scalar_text(v),
        };
        let result = value.map_or(Err(simulate::FieldError::NotADate), |t| {
            simulate::set_field(&mut row, field, &t)
        });
        match result {
            Ok(()) => {}
            Err(_) if is_date => problems.push(at.value(
                &at_key,
                &format!("`{field}` must be a `YYYY-MM-DD` date or empty"),
            )),
            Err(_) => problems.push(at.value(&at_key, &format!("`{field}` must be a text"))),
        }
    }
    context::item_map_at(&row, &AsOf::new(as_of), false)
}

/// The account map with these fields over an empty account's.
fn account_map(
    fields: &BTreeMap<String, Value>,
    at: &Located<'_>,
    key: &str,
    problems: &mut Vec<Diagnostic>,
) -> Map {
    let mut m = context::empty_account();
    for (field, v) in fields {
        let at_key = format!("{key}.{field}");
        let Some(current) = m.get(field.as_str()) else {
            let known = crate::rules::ACCOUNT_FIELDS;
            problems.push(at.unknown(&at_key, "a scenario's account", field, known));
            continue;
        };
        let value = if current.is_int() {
            v.as_i64().map(Dynamic::from_int)
        } else if let Value::Null = v {
            Some(Dynamic::UNIT)
        } else {
            scalar_text(v).map(Dynamic::from)
        };
        if let Some(d) = value {
            m.insert(field.as_str().into(), d);
        } else {
            let want = if current.is_int() {
                "a whole number"
            } else {
                "a text"
            };
            problems.push(at.value(&at_key, &format!("`{field}` must be {want}")));
        }
    }
    m
}

/// A YAML scalar as text (`56088` and `"56088"` alike: territory ids are read as text).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// The date `n` days before `as_of` (after it for a negative `n`), as text.
fn days_before(as_of: NaiveDate, n: i64) -> Option<ImmutableString> {
    let d = if n >= 0 {
        as_of.checked_sub_days(Days::new(n.unsigned_abs()))
    } else {
        as_of.checked_add_days(Days::new(n.unsigned_abs()))
    }?;
    Some(d.format("%Y-%m-%d").to_string().into())
}
