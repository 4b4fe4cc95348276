//! A lead's stored columns, declared once ([`LEAD_COLUMNS`]): what each is called, how it is
//! stored, who writes it and when, its part of the fingerprint and how a read fills the
//! [`Lead`]. A backend derives its table, the `leads` view, the inserts and updates, the
//! fingerprint and the lists of columns it reads from this declaration; adding a column is an
//! entry here (and a field of [`Lead`]).
//!
//! The fingerprint tells an unchanged lead from a changed one without encoding it: a stable hash
//! (xxh3 over an explicit byte form, [`FINGERPRINT_SCHEME`]) of every column evaluation writes,
//! taken from the lead's fields.

use std::collections::BTreeMap;

use xxhash_rust::xxh3::Xxh3;

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

/// A lead's stored columns that are not its own fields as they are, encoded once by the worker
/// that evaluated it (off the writer thread).
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The trigger's reasons, as a JSON array.
    pub reasons: String,
    /// The recommended SKUs, comma-separated.
    pub skus: String,
    /// The trigger's other fields, as a JSON object.
    pub extra: String,
    /// `extra.estimated_value`, when a number.
    pub estimated_value: Option<f64>,
    /// [`fingerprint`] of the lead.
    pub fingerprint: i64,
    /// [`placement_key`] of the lead.
    pub keys: u64,
}

/// `v` as JSON, in a buffer of `capacity` bytes to start with: sized per column, because a
/// lead's buffers wait in memory until its chunk is written.
pub fn json_text<T: serde::Serialize>(v: &T, capacity: usize) -> String {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, v) {
        Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| "null".into()),
        Err(_) => "null".into(),
    }
}

impl Encoded {
    /// Encodes the columns of a lead whose [`fingerprint`] is `fingerprint`.
    pub fn of(lead: &Lead, fingerprint: i64) -> Encoded {
        let mut enc = Encoded {
            reasons: json_text(&lead.reasons, 128),
            skus: lead.recommended_skus.join(","),
            extra: json_text(&lead.extra, 16),
            // A column of its own, so pipeline sums read an index instead of parsing JSON.
            estimated_value: lead
                .extra
                .get("estimated_value")
                .and_then(serde_json::Value::as_f64),
            fingerprint,
            keys: 0,
        };
        enc.keys = placement_key(
            placement(LEAD_COLUMNS).filter_map(|c| c.value.map(|value| value(lead, &enc))),
        );
        enc
    }
}

/// A hash of a lead's placement values (see [`placement`]). When none of them changed, an
/// update can leave the indexes alone (SQLite touches only an index whose columns the `SET`
/// names; PostgreSQL's updates that change no indexed column are HOT): rewriting five index
/// entries per lead made a re-evaluation that changed only text 3–4× slower. Kept in memory
/// only, never stored; a backend computes the stored row's from the same values.
pub fn placement_key<'a>(values: impl Iterator<Item = Value<'a>>) -> u64 {
    let mut h = Hasher::default();
    for v in values {
        h.value(v);
    }
    h.finish()
}

/// The scheme [`fingerprint`] hashes with, stored beside the fingerprints (see
/// [`super::api::Leads::adopt_fingerprints`]); a database whose fingerprints were made another
/// way has them forgotten (read as unknown, not as changed).
pub const FINGERPRINT_SCHEME: &str = "xxh3-1";

/// A stable hash of values: each is written with a tag and its length, so that no two
/// sequences of values give the same bytes, and the bytes are hashed with xxh3 (the same on every
/// machine and every build, unlike `std`'s `DefaultHasher`), as they come, on the stack.
pub struct Hasher(Xxh3);

impl Default for Hasher {
    fn default() -> Hasher {
        Hasher(Xxh3::new())
    }
}

impl Hasher {
    fn tag(&mut self, tag: u8, len: usize) {
        let mut bytes = [0; 9];
        bytes[0] = tag;
        bytes[1..].copy_from_slice(&(len as u64).to_le_bytes());
        self.0.update(&bytes);
    }

    /// A text.
    pub fn text(&mut self, s: &str) {
        self.tag(b's', s.len());
        self.0.update(s.as_bytes());
    }

    /// A text or nothing (nothing differs from any text, the empty one too).
    pub fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.tag(b'-', 0),
        }
    }

    /// An integer.
    pub fn int(&mut self, i: i64) {
        self.tag(b'i', 8);
        self.0.update(&i.to_le_bytes());
    }

    /// An integer or nothing.
    pub fn opt_int(&mut self, i: Option<i64>) {
        match i {
            Some(i) => self.int(i),
            None => self.tag(b'-', 0),
        }
    }

    /// A number, bit for bit.
    pub fn real(&mut self, x: f64) {
        self.tag(b'f', 8);
        self.0.update(&x.to_bits().to_le_bytes());
    }

    /// A hash made elsewhere.
    fn digest(&mut self, h: u64) {
        self.tag(b'h', 8);
        self.0.update(&h.to_le_bytes());
    }

    /// A list of texts.
    pub fn list(&mut self, items: &[String]) {
        self.tag(b'l', items.len());
        for s in items {
            self.text(s);
        }
    }

    /// The recommended services.
    fn services(&mut self, services: &Services) {
        self.tag(b'r', services.len());
        for r in services.iter() {
            self.text(&r.service);
            self.list(&r.skus);
            self.int(r.priority);
            self.text(&r.product);
        }
    }

    /// The trigger's other fields: usually empty; JSON is the one stable form of arbitrary
    /// values.
    fn extra(&mut self, extra: &serde_json::Map<String, serde_json::Value>) {
        if extra.is_empty() {
            self.tag(b'e', 0);
        } else {
            self.text(&json_text(extra, 64));
        }
    }

    /// A value as evaluation writes it (texts stored once hash as their text).
    pub fn value(&mut self, v: Value<'_>) {
        match v {
            Value::Text(s) | Value::Body(s) => self.text(s),
            Value::OptText(s) => self.opt_text(s),
            Value::Int(i) => self.int(i),
            Value::OptInt(i) => self.opt_int(i),
            Value::Real(x) => self.real(x),
            Value::OptReal(x) => match x {
                Some(x) => self.real(x),
                None => self.tag(b'-', 0),
            },
            Value::Services(s) => self.services(s),
            Value::Factors(f) => {
                self.tag(b'F', f.len());
                for (name, f) in f {
                    self.digest(factor_part(name, f, reasons_digest(&f.reasons)));
                }
            }
        }
    }

    /// The hash of what was written.
    pub fn finish(&self) -> u64 {
        self.0.digest()
    }
}

/// A hash of every column a re-evaluation can change, taken from the lead's fields rather than
/// its JSON: a worker finds an unchanged lead without encoding it (most leads, after an edit).
/// The XOR of independent parts: the lead's own columns ([`base_hash`]), its score and priority
/// ([`score_hash`]) and each factor ([`factor_part`]). A re-evaluation that changes only the
/// factors and the score (see `score::rescore`) then computes the new fingerprint from the
/// stored one ([`scored_part`]), without the rest of the lead.
pub fn fingerprint(lead: &Lead) -> i64 {
    i64::from_ne_bytes(base_hash(lead).to_ne_bytes())
        ^ scored_part(lead.score, &lead.priority, &lead.factors)
}

/// The part of [`fingerprint`] that a lead's score, priority and factors make, as an `i64`: a
/// fingerprint XOR the part of its old score, priority and factors XOR the part of its new
/// ones is the fingerprint of the lead with the new ones.
pub fn scored_part(score: f64, priority: &str, factors: &BTreeMap<String, Factor>) -> i64 {
    let mut h = score_hash(score, priority);
    for (name, f) in factors {
        h ^= factor_part(name, f, reasons_digest(&f.reasons));
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Every column [`fingerprint`] covers but the score, the priority and the factors: those
/// [`LEAD_COLUMNS`] gives a fingerprint part, in their order.
fn base_hash(lead: &Lead) -> u64 {
    let mut h = Hasher::default();
    for part in LEAD_COLUMNS.iter().filter_map(|c| c.fingerprint) {
        part(lead, &mut h);
    }
    h.finish()
}

/// The score and priority's part of [`fingerprint`].
pub fn score_hash(score: f64, priority: &str) -> u64 {
    let mut h = Hasher::default();
    h.real(score);
    h.text(priority);
    h.finish()
}

/// One factor's part, with the digest of its reasons given: re-scoring finds most of them
/// already made (one per stored outcome), where hashing the strings was most of its hashing.
/// Its name is in it, so two factors never cancel out.
pub fn factor_part(name: &str, f: &Factor, reasons: u64) -> u64 {
    let mut h = Hasher::default();
    h.text(name);
    h.real(f.value);
    h.real(f.weight);
    h.real(f.contribution);
    h.digest(reasons);
    h.finish()
}

/// The digest of a factor's reasons that [`factor_part`] takes.
pub fn reasons_digest(reasons: &[String]) -> u64 {
    let mut h = Hasher::default();
    h.list(reasons);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lead::Recommendation;

    fn lead() -> Lead {
        let mut factors = BTreeMap::new();
        factors.insert(
            "urgency".to_string(),
            Factor {
                value: 80.0,
                weight: 0.35,
                contribution: 28.0,
                reasons: vec!["EOL 900 days ago (+30)".to_string()].into(),
            },
        );
        Lead {
            lead_id: "3E58S2NQ".into(),
            lead_type: "Renewal - Expired Support".into(),
            rule: "renewal".into(),
            priority: "HIGH".into(),
            score: 64.5,
            factors,
            reasons: vec!["support ended".into()],
            title: "Renew support".into(),
            description: "d".into(),
            recommended_action: "Call them".into(),
            account_id: Some("ST-56088".into()),
            territory_id: Some("56088".into()),
            install_base_id: 42,
            serial_number: Some("CZ30ACB8NL".into()),
            product_name: Some("DL380".into()),
            product_family: Some("COMPUTE".into()),
            days_since_eol: Some(900),
            recommended_services: vec![Recommendation {
                service: "Care".into(),
                skus: vec!["H1".into()],
                priority: 8,
                product: "Servers".into(),
            }]
            .into(),
            recommended_skus: vec!["H1".to_string()].into(),
            ..Lead::default()
        }
    }

    /// Stored fingerprints are compared with ones a later build computes: the hash must not
    /// move with the toolchain or the platform. This number is what scheme `xxh3-1` gives for
    /// this lead; if a change to the hashed columns or their byte form moves it, bump
    /// `FINGERPRINT_SCHEME` so that databases forget their old fingerprints instead of reading
    /// every lead as reworded.
    #[test]
    fn the_fingerprint_of_a_known_lead_is_what_this_scheme_has_always_given() {
        assert_eq!(FINGERPRINT_SCHEME, "xxh3-1");
        assert_eq!(fingerprint(&lead()), GOLDEN);
    }

    const GOLDEN: i64 = -1_269_540_831_397_100_636;

    /// Re-scoring computes a lead's new fingerprint from its stored one and the parts its old
    /// and new score, priority and factors make.
    #[test]
    fn the_scored_part_swaps_in_and_out_of_a_fingerprint() {
        let old = lead();
        let mut new = old.clone();
        new.score = 61.0;
        new.priority = "MEDIUM".into();
        if let Some(f) = new.factors.get_mut("urgency") {
            f.weight = 0.3;
            f.contribution = 24.0;
        }
        let swapped = fingerprint(&old)
            ^ scored_part(old.score, &old.priority, &old.factors)
            ^ scored_part(new.score, &new.priority, &new.factors);
        assert_eq!(swapped, fingerprint(&new));
        assert_ne!(fingerprint(&old), fingerprint(&new));
        // Any column's change shows; an empty text differs from none.
        let mut moved = old.clone();
        moved.serial_number = Some(String::new());
        assert_ne!(fingerprint(&moved), fingerprint(&old));
        moved.serial_number = None;
        assert_ne!(fingerprint(&moved), fingerprint(&old));
    }
}
