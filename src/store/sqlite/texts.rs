//! The texts lead rows name by id (`lead_texts`): each distinct title, action, reasons list,
//! services list and factor outcome stored once. A million leads share a few tens of thousands
//! of them, so a lead row is a third of the size it would be with its texts inline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql};

use crate::error::Result;
use crate::fxhash::FastMap;
use crate::model::lead::{Factor, Services};
use crate::store::columns::{Value, json_text as json};

/// A lead column's value bound to a statement.
pub enum Param<'a> {
    /// As evaluation wrote it (never a stored text: those are bound as their ids).
    Value(Value<'a>),
    /// A text's id, the run's id.
    Int(i64),
    /// Text made for the write (`factor_ids`, the time).
    Owned(String),
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        fn text(s: &str) -> ToSqlOutput<'_> {
            ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
        }
        Ok(match self {
            Param::Int(i) | Param::Value(Value::Int(i)) => ToSqlOutput::from(*i),
            Param::Owned(s) => text(s),
            Param::Value(Value::Text(s)) => text(s),
            Param::Value(Value::OptText(s)) => {
                s.map_or(ToSqlOutput::from(rusqlite::types::Null), text)
            }
            Param::Value(Value::OptInt(i)) => {
                i.map_or(ToSqlOutput::from(rusqlite::types::Null), ToSqlOutput::from)
            }
            Param::Value(Value::Real(x)) => ToSqlOutput::from(*x),
            Param::Value(Value::OptReal(x)) => {
                x.map_or(ToSqlOutput::from(rusqlite::types::Null), ToSqlOutput::from)
            }
            Param::Value(Value::Body(_) | Value::Services(_) | Value::Factors(_)) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "a stored text must be bound as its id".into(),
                ));
            }
        })
    }
}

/// How many texts more than twice what the last sweep left make [`sweep_texts`] sweep.
pub const SWEEP_SLACK: i64 = 10_000;

/// Deletes the texts no lead names any more (an edit to a rule's wording, or to a weight, leaves
/// the old ones behind), once the table holds `slack` more than twice what the last sweep left:
/// a sweep reads every lead row (0.3 s at 100k leads), so it runs once in many evaluations.
/// Returns how many it deleted.
pub fn sweep_texts(conn: &Connection, slack: i64) -> Result<usize> {
    let count: i64 = conn.query_row("SELECT count(*) FROM lead_texts", [], |r| r.get(0))?;
    let left: Option<i64> = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'lead_texts_swept'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    // The first evaluation sets the mark: nothing it wrote can be unnamed yet.
    let Some(left) = left else {
        mark_swept(conn, count)?;
        return Ok(0);
    };
    if count <= 2 * left + slack {
        return Ok(0);
    }
    let deleted = conn.execute(
        "DELETE FROM lead_texts WHERE text_id NOT IN (
           SELECT title_id FROM lead_rows UNION ALL SELECT action_id FROM lead_rows
           UNION ALL SELECT reasons_id FROM lead_rows UNION ALL SELECT services_id FROM lead_rows
           UNION ALL SELECT f.value FROM lead_rows, json_each(lead_rows.factor_ids) f)",
        [],
    )?;
    mark_swept(conn, count - i64::try_from(deleted).unwrap_or(0))?;
    Ok(deleted)
}

fn mark_swept(conn: &Connection, left: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('lead_texts_swept', ?1)",
        [left.to_string()],
    )?;
    Ok(())
}

/// Every text the leads name, by body (`lead_texts`, see `schema`): the writer turns a
/// lead's title, action, reasons, services and factor outcomes into ids with one lookup each,
/// and adds a text the table does not hold yet. Read inside the evaluation's transaction, so it
/// holds exactly what the table does until the transaction ends.
pub struct Texts {
    ids: FastMap<Box<str>, i64>,
    /// Factor outcomes by their reasons' address and their numbers. The rules' caches share
    /// one reasons list among all leads with the same inputs, so most leads' factors are found
    /// here without encoding them; each entry holds its list, so the address stays its own.
    factors: FastMap<FactorKey, (Arc<[String]>, i64)>,
    /// Service lists by address, likewise (one per lead type, title and family).
    services: FastMap<usize, (Services, i64)>,
}

/// A factor outcome's reasons' address, and its value, weight and contribution.
type FactorKey = (usize, [u64; 3]);

/// Entries kept in each of [`Texts`]' address caches: rules without a cache give every lead
/// its own reasons list, and holding each would keep every lead's reasons alive.
const ADDRESS_CACHE: usize = 1 << 16;

impl Texts {
    /// Reads every stored text (a few tens of thousands at a million leads).
    pub fn read(conn: &Connection) -> Result<Texts> {
        let mut stmt = conn.prepare("SELECT body, text_id FROM lead_texts")?;
        let mut ids = FastMap::default();
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (body, id) = row?;
            ids.insert(body.into_boxed_str(), id);
        }
        Ok(Texts {
            ids,
            factors: FastMap::default(),
            services: FastMap::default(),
        })
    }

    /// The id of `body`, stored first if it is new.
    fn id(&mut self, conn: &Connection, body: &str) -> Result<i64> {
        if let Some(&id) = self.ids.get(body) {
            return Ok(id);
        }
        // `RETURNING` would cost a temporary table per statement; a new text (the map holds
        // every stored one) is simply the last row inserted.
        let inserted = conn
            .prepare_cached("INSERT OR IGNORE INTO lead_texts (body) VALUES (?1)")?
            .execute([body])?;
        let id = if inserted == 1 {
            conn.last_insert_rowid()
        } else {
            conn.prepare_cached("SELECT text_id FROM lead_texts WHERE body = ?1")?
                .query_row([body], |r| r.get(0))?
        };
        self.ids.insert(body.into(), id);
        Ok(id)
    }

    /// The parameter a lead column's value is bound as: the id of a text stored once, the
    /// `factor_ids` object of factor outcomes, anything else as it is.
    pub fn param<'a>(&mut self, conn: &Connection, value: Value<'a>) -> Result<Param<'a>> {
        Ok(match value {
            Value::Body(body) => Param::Int(self.id(conn, body)?),
            Value::Services(s) => Param::Int(self.services(conn, s)?),
            Value::Factors(f) => Param::Owned(self.factor_ids(conn, f)?),
            other => Param::Value(other),
        })
    }

    /// A lead's `factor_ids`: `{"name": text_id, …}`.
    pub fn factor_ids(
        &mut self,
        conn: &Connection,
        factors: &BTreeMap<String, Factor>,
    ) -> Result<String> {
        let mut out = String::with_capacity(24 * factors.len() + 2);
        out.push('{');
        for (i, (name, f)) in factors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let id = self.factor(conn, f)?;
            // A factor name is a file stem: mostly nothing to escape, and no JSON encoder to run.
            if name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                out.push('"');
                out.push_str(name);
                out.push('"');
            } else {
                out.push_str(&json(name, name.len() + 2));
            }
            // Writing to a String cannot fail.
            let _ = write!(out, ":{id}");
        }
        out.push('}');
        Ok(out)
    }

    fn factor(&mut self, conn: &Connection, f: &Factor) -> Result<i64> {
        // The address of the list's first element: `as_ptr` of a slice, without its length.
        let key = (
            f.reasons.as_ptr() as usize,
            [f.value, f.weight, f.contribution].map(f64::to_bits),
        );
        if let Some((_, id)) = self.factors.get(&key) {
            return Ok(*id);
        }
        let id = self.id(conn, &json(f, 160))?;
        // An empty list has no address of its own: every empty list would share one key.
        if !f.reasons.is_empty() {
            if self.factors.len() >= ADDRESS_CACHE {
                self.factors.clear();
            }
            self.factors.insert(key, (Arc::clone(&f.reasons), id));
        }
        Ok(id)
    }

    fn services(&mut self, conn: &Connection, services: &Services) -> Result<i64> {
        let key = services.as_ptr() as usize;
        if let Some((_, id)) = self.services.get(&key) {
            return Ok(*id);
        }
        let id = self.id(conn, &json(services, 256))?;
        if !services.is_empty() {
            if self.services.len() >= ADDRESS_CACHE {
                self.services.clear();
            }
            self.services.insert(key, (Arc::clone(services), id));
        }
        Ok(id)
    }
}
