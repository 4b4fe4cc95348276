//! A lead's stored columns, declared once ([`LEAD_COLUMNS`]): what each is called, how it is
//! stored, who writes it and when, its part of the fingerprint and how a read fills the
//! [`Lead`]. A backend derives its table, the `leads` view, the inserts and updates, the
//! fingerprint and the lists of columns it reads from this declaration; adding a column is an
//! entry here (and a field of [`Lead`]).
//!
//! The fingerprint tells an unchanged lead from a changed one without encoding it: a stable hash
//! (xxh3 over an explicit byte form, [`FINGERPRINT_SCHEME`]) of every column evaluation writes,
//! taken from the lead's fields.

mod encode;

use std::collections::BTreeMap;

pub use encode::{
    Encoded, FINGERPRINT_SCHEME, Hasher, factor_part, fingerprint, json_text, placement_key,
    reasons_digest, score_hash, scored_part,
};

use crate::model::lead::{Factor, Lead, Services};

/// How `lead_rows` keeps a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// As it is, under the same name.
    Plain,
    /// Each distinct text once (`lead_texts`), named by the id in this column.
    Text(&'static str),
    /// Each factor outcome once (`lead_texts`), named by `{"factor": id, …}` in this column.
    Factors(&'static str),
}

/// What a change of the rules or the config can move in a lead, from least to most: an update
/// that moves more rewrites more columns and more indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Moves {
    /// Its text and details, which no index holds.
    Content,
    /// Its score and priority, which the rollup indexes hold.
    Score,
    /// Its placement: the columns its indexes file it under besides the score and priority.
    Placement,
}

/// What a new lead's workflow column starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    /// This SQL literal.
    Const(&'static str),
    /// The time of the run that made it.
    Now,
}

/// Who writes a column, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The lead's id: inserted once; updates find the lead by it.
    Key,
    /// Evaluation, in every update that moves this much or more.
    Evaluated(Moves),
    /// The id of the run that wrote the lead last.
    Run,
    /// This SQL literal, on insert and in every update that moves this much or more (`active`
    /// back to 1 on a reopen, `closed_reason` cleared).
    Reset(Moves, &'static str),
    /// Set on insert; after that only the reps' workflow changes it.
    Workflow(Initial),
}

/// A column's value as evaluation writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    OptText(Option<&'a str>),
    /// An integer.
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// A number.
    Real(f64),
    /// A number or NULL.
    OptReal(Option<f64>),
    /// A text stored once and named by id ([`Stored::Text`]).
    Body(&'a str),
    /// The recommended services, stored once as JSON and named by id.
    Services(&'a Services),
    /// The factor outcomes ([`Stored::Factors`]).
    Factors(&'a BTreeMap<String, Factor>),
}

/// A stored value as a read sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A number.
    Real(f64),
    /// Text.
    Text(&'a str),
}

/// A stored value of the wrong type for its field (written by hand, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

/// Fills a lead's field from its column.
pub type Read = fn(&mut Lead, Cell<'_>) -> Result<(), WrongType>;

/// One column of a stored lead.
#[derive(Debug, Clone, Copy)]
pub struct LeadColumn {
    /// Its name in the `leads` view (the name users' own SQL knows).
    pub name: &'static str,
    /// Its type and constraints in `lead_rows` (`INTEGER NOT NULL` for a text's id).
    pub sql: &'static str,
    /// Its default in `lead_rows`, as SQL.
    pub default: Option<&'static str>,
    /// How `lead_rows` keeps it.
    pub stored: Stored,
    /// Who writes it.
    pub written: Written,
    /// Its value, for the key and the columns evaluation writes.
    pub value: Option<for<'a> fn(&'a Lead, &'a Encoded) -> Value<'a>>,
    /// Its part of the fingerprint; `None` for the columns the fingerprint leaves out (and the
    /// score, priority and factors, which make its scored part).
    pub fingerprint: Option<fn(&Lead, &mut Hasher)>,
    /// How a read fills the lead; `None` when it is not a field of [`Lead`].
    pub read: Option<Read>,
    /// The schema version that added it (a database made before gets it added).
    pub since: i64,
}

impl LeadColumn {
    /// The column `lead_rows` keeps it in.
    pub fn stored_name(&self) -> &'static str {
        match self.stored {
            Stored::Plain => self.name,
            Stored::Text(id) | Stored::Factors(id) => id,
        }
    }

    /// True when an update that moves `moves` sets it.
    pub fn updated_by(&self, moves: Moves) -> bool {
        match self.written {
            Written::Evaluated(m) | Written::Reset(m, _) => m <= moves,
            Written::Run => true,
            Written::Key | Written::Workflow(_) => false,
        }
    }
}

/// The defaults of a column: a plain, nullable column read and written as nothing.
const fn column(name: &'static str, sql: &'static str, written: Written) -> LeadColumn {
    LeadColumn {
        name,
        sql,
        default: None,
        stored: Stored::Plain,
        written,
        value: None,
        fingerprint: None,
        read: None,
        since: 5,
    }
}

use Moves::{Content, Placement, Score};

/// A lead's columns, in the order of the `leads` view (schema version 4's table).
pub const LEAD_COLUMNS: &[LeadColumn] = &[
    LeadColumn {
        value: Some(|l, _| Value::Text(&l.lead_id)),
        read: Some(|l, c| set(&mut l.lead_id, text(c)?)),
        ..column("lead_id", "TEXT PRIMARY KEY", Written::Key)
    },
    LeadColumn {
        value: Some(|l, _| Value::Text(&l.lead_type)),
        fingerprint: Some(|l, h| h.text(&l.lead_type)),
        read: Some(|l, c| set(&mut l.lead_type, text(c)?)),
        ..column("lead_type", "TEXT NOT NULL", Written::Evaluated(Placement))
    },
    LeadColumn {
        value: Some(|l, _| Value::Text(&l.rule)),
        fingerprint: Some(|l, h| h.text(&l.rule)),
        read: Some(|l, c| set(&mut l.rule, text(c)?)),
        ..column("rule", "TEXT NOT NULL", Written::Evaluated(Content))
    },
    LeadColumn {
        value: Some(|l, _| Value::Int(l.install_base_id)),
        fingerprint: Some(|l, h| h.int(l.install_base_id)),
        read: Some(|l, c| set(&mut l.install_base_id, int(c)?)),
        ..column("install_base_id", "INTEGER", Written::Evaluated(Content))
    },
    LeadColumn {
        value: Some(|l, _| Value::OptText(l.serial_number.as_deref())),
        fingerprint: Some(|l, h| h.opt_text(l.serial_number.as_deref())),
        read: Some(|l, c| set(&mut l.serial_number, opt_text(c)?)),
        ..column("serial_number", "TEXT", Written::Evaluated(Content))
    },
    LeadColumn {
        value: Some(|l, _| Value::OptText(l.product_name.as_deref())),
        fingerprint: Some(|l, h| h.opt_text(l.product_name.as_deref())),
        read: Some(|l, c| set(&mut l.product_name, opt_text(c)?)),
        ..column("product_name", "TEXT", Written::Evaluated(Content))
    },
    LeadColumn {
        value: Some(|l, _| Value::OptText(l.product_family.as_deref())),
        fingerprint: Some(|l, h| h.opt_text(l.product_family.as_deref())),
        read: Some(|l, c| set(&mut l.product_family, opt_text(c)?)),
        ..column("product_family", "TEXT", Written::Evaluated(Placement))
    },
    LeadColumn {
        value: Some(|l, _| Value::OptText(l.account_id.as_deref())),
        fingerprint: Some(|l, h| h.opt_text(l.account_id.as_deref())),
        read: Some(|l, c| set(&mut l.account_id, opt_text(c)?)),
        ..column("account_id", "TEXT", Written::Evaluated(Placement))
    },
    LeadColumn {
        value: Some(|l, _| Value::OptText(l.territory_id.as_deref())),
        fingerprint: Some(|l, h| h.opt_text(l.territory_id.as_deref())),
        read: Some(|l, c| set(&mut l.territory_id, opt_text(c)?)),
        ..column("territory_id", "TEXT", Written::Evaluated(Placement))
    },
    LeadColumn {
        stored: Stored::Text("title_id"),
        value: Some(|l, _| Value::Body(&l.title)),
        fingerprint: Some(|l, h| h.text(&l.title)),
        read: Some(|l, c| set(&mut l.title, text(c)?)),
        ..column("title", "INTEGER NOT NULL", Written::Evaluated(Content))
    },
    LeadColumn {
        value: Some(|l, _| Value::Text(&l.description)),
        fingerprint: Some(|l, h| h.text(&l.description)),
        read: Some(|l, c| set(&mut l.description, text(c)?)),
        ..column("description", "TEXT NOT NULL", Written::Evaluated(Content))
    },
    LeadColumn {
        stored: Stored::Text("action_id"),
        value: Some(|l, _| Value::Body(&l.recommended_action)),
        fingerprint: Some(|l, h| h.text(&l.recommended_action)),
        read: Some(|l, c| set(&mut l.recommended_action, text(c)?)),
        ..column(
            "recommended_action",
            "INTEGER NOT NULL",
            Written::Evaluated(Content),
        )
    },
    LeadColumn {
        value: Some(|l, _| Value::Real(l.score)),
        read: Some(|l, c| set(&mut l.score, real(c)?)),
        ..column("score", "REAL NOT NULL", Written::Evaluated(Score))
    },
    LeadColumn {
        value: Some(|l, _| Value::Text(&l.priority)),
        read: Some(|l, c| set(&mut l.priority, text(c)?)),
        ..column("priority", "TEXT NOT NULL", Written::Evaluated(Score))
    },
    LeadColumn {
        stored: Stored::Factors("factor_ids"),
        value: Some(|l, _| Value::Factors(&l.factors)),
        read: Some(|l, c| set(&mut l.factors, json(c)?)),
        ..column("factors", "TEXT NOT NULL", Written::Evaluated(Content))
    },
    LeadColumn {
        stored: Stored::Text("reasons_id"),
        value: Some(|_, e| Value::Body(&e.reasons)),
        fingerprint: Some(|l, h| h.list(&l.reasons)),
        read: Some(|l, c| set(&mut l.reasons, json(c)?)),
        ..column("reasons", "INTEGER NOT NULL", Written::Evaluated(Content))
    },
    LeadColumn {
        stored: Stored::Text("services_id"),
        value: Some(|l, _| Value::Services(&l.recommended_services)),
        fingerprint: Some(|l, h| h.services(&l.recommended_services)),
        read: Some(|l, c| set(&mut l.recommended_services, json(c)?)),
        ..column(
            "recommended_services",
            "INTEGER NOT NULL",
            Written::Evaluated(Content),
        )
    },
    LeadColumn {
        value: Some(|_, e| Value::Text(&e.skus)),
        fingerprint: Some(|l, h| h.list(&l.recommended_skus)),
        read: Some(|l, c| {
            let skus = text(c)?;
            let skus = skus.split(',').filter(|s| !s.is_empty());
            set(&mut l.recommended_skus, skus.map(str::to_string).collect())
        }),
        ..column(
            "recommended_skus",
            "TEXT NOT NULL",
            Written::Evaluated(Content),
        )
    },
    LeadColumn {
        value: Some(|l, _| Value::OptInt(l.days_since_eol)),
        fingerprint: Some(|l, h| h.opt_int(l.days_since_eol)),
        read: Some(|l, c| set(&mut l.days_since_eol, opt_int(c)?)),
        ..column("days_since_eol", "INTEGER", Written::Evaluated(Content))
    },
    LeadColumn {
        value: Some(|_, e| Value::Text(&e.extra)),
        fingerprint: Some(|l, h| h.extra(&l.extra)),
        read: Some(|l, c| set(&mut l.extra, json(c)?)),
        ..column("extra", "TEXT NOT NULL", Written::Evaluated(Content))
    },
    LeadColumn {
        // From `extra`, which the fingerprint covers.
        value: Some(|_, e| Value::OptReal(e.estimated_value)),
        ..column("estimated_value", "REAL", Written::Evaluated(Placement))
    },
    LeadColumn {
        value: Some(|_, e| Value::Int(e.fingerprint)),
        ..column("fingerprint", "INTEGER", Written::Evaluated(Content))
    },
    LeadColumn {
        default: Some("'new'"),
        read: Some(|l, c| set(&mut l.status, text(c)?)),
        ..column(
            "status",
            "TEXT NOT NULL",
            Written::Workflow(Initial::Const("'new'")),
        )
    },
    LeadColumn {
        default: Some("1"),
        read: Some(|l, c| set(&mut l.active, int(c)? != 0)),
        ..column("active", "INTEGER NOT NULL", Written::Reset(Placement, "1"))
    },
    column("closed_reason", "TEXT", Written::Reset(Content, "NULL")),
    LeadColumn {
        read: Some(|l, c| set(&mut l.created_at, text(c)?)),
        ..column(
            "created_at",
            "TEXT NOT NULL",
            Written::Workflow(Initial::Now),
        )
    },
    LeadColumn {
        read: Some(|l, c| set(&mut l.updated_at, text(c)?)),
        ..column(
            "updated_at",
            "TEXT NOT NULL",
            Written::Workflow(Initial::Now),
        )
    },
    column("run_id", "INTEGER NOT NULL", Written::Run),
    LeadColumn {
        // Who works the lead: the assignment rules place a new one, a manager moves it.
        read: Some(|l, c| set(&mut l.owner, opt_text(c)?)),
        since: 6,
        ..column("owner", "TEXT", Written::Workflow(Initial::Const("NULL")))
    },
];

#[allow(clippy::unnecessary_wraps)] // the shape of a `Read`, so that each reads as one expression
fn set<T>(field: &mut T, value: T) -> Result<(), WrongType> {
    *field = value;
    Ok(())
}

fn text(c: Cell<'_>) -> Result<String, WrongType> {
    match c {
        Cell::Text(s) => Ok(s.to_string()),
        _ => Err(WrongType),
    }
}

fn opt_text(c: Cell<'_>) -> Result<Option<String>, WrongType> {
    match c {
        Cell::Null => Ok(None),
        c => text(c).map(Some),
    }
}

fn int(c: Cell<'_>) -> Result<i64, WrongType> {
    match c {
        Cell::Int(i) => Ok(i),
        _ => Err(WrongType),
    }
}

fn opt_int(c: Cell<'_>) -> Result<Option<i64>, WrongType> {
    match c {
        Cell::Null => Ok(None),
        c => int(c).map(Some),
    }
}

fn real(c: Cell<'_>) -> Result<f64, WrongType> {
    match c {
        Cell::Real(x) => Ok(x),
        // As SQLite itself reads an integer as a real.
        Cell::Int(i) => Ok(i as f64),
        _ => Err(WrongType),
    }
}

/// A stored placement value as evaluation would have written it, so that the stored row's
/// [`placement_key`] is the one its lead would have: a number in a `REAL` column is a real.
pub fn stored_value<'a>(c: &LeadColumn, cell: Cell<'a>) -> Value<'a> {
    match cell {
        Cell::Null => Value::OptText(None),
        Cell::Text(s) => Value::Text(s),
        Cell::Int(i) if c.sql.starts_with("REAL") => Value::Real(i as f64),
        Cell::Int(i) => Value::Int(i),
        Cell::Real(x) => Value::Real(x),
    }
}

/// A JSON column: text that does not parse reads as the empty value, as it always has.
fn json<T: serde::de::DeserializeOwned + Default>(c: Cell<'_>) -> Result<T, WrongType> {
    match c {
        Cell::Text(s) => Ok(serde_json::from_str(s).unwrap_or_default()),
        _ => Err(WrongType),
    }
}

/// The columns [`LEAD_COLUMNS`] declares a value for (the key, evaluation's and the run's), in
/// order: the values a backend binds for an insert or an update.
pub fn written(columns: &[LeadColumn]) -> impl Iterator<Item = &LeadColumn> {
    columns.iter().filter(|c| {
        matches!(
            c.written,
            Written::Key | Written::Evaluated(_) | Written::Run
        )
    })
}

/// The columns that place a lead in its indexes besides `active`, `priority` and `score`.
pub fn placement(columns: &[LeadColumn]) -> impl Iterator<Item = &LeadColumn> {
    columns
        .iter()
        .filter(|c| c.written == Written::Evaluated(Placement))
}

/// The columns a read fills a lead from, in order.
pub fn read(columns: &[LeadColumn]) -> impl Iterator<Item = &LeadColumn> {
    columns.iter().filter(|c| c.read.is_some())
}

/// The `SELECT` list of a whole lead, on every backend: the columns a read fills it from (of
/// the `leads` view, `l`), in order, then the account's name (`accounts a`). [`read_lead`]
/// reads a row of it.
pub fn select_list() -> &'static str {
    static SELECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let mut list: Vec<String> = read(LEAD_COLUMNS)
            .map(|c| format!("l.{}", c.name))
            .collect();
        list.push("a.name".into());
        list.join(", ")
    });
    &SELECT
}

/// A lead from a row of [`select_list`], whose `at`-th value `cell` gives; `wrong` makes the
/// error of a value of the wrong type for its column. The factors' reasons follow the
/// trigger's own, named, as every view shows them.
pub fn read_lead<'r, E>(
    mut cell: impl FnMut(usize) -> Result<Cell<'r>, E>,
    wrong: impl Fn(usize, &LeadColumn) -> E,
) -> Result<Lead, E> {
    let mut lead = Lead::default();
    let mut at = 0;
    for c in read(LEAD_COLUMNS) {
        if let Some(fill) = c.read {
            fill(&mut lead, cell(at)?).map_err(|WrongType| wrong(at, c))?;
        }
        at += 1;
    }
    lead.account_name = match cell(at)? {
        Cell::Text(name) => Some(name.to_string()),
        _ => None,
    };
    let named: Vec<String> = lead
        .factors
        .iter()
        .flat_map(|(name, f)| f.reasons.iter().map(move |r| format!("{name}: {r}")))
        .collect();
    lead.reasons.extend(named);
    Ok(lead)
}
