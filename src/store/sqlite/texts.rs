//! The texts lead rows name by id (`lead_texts`): each distinct title, action, reasons list,
//! services list and factor outcome stored once. A million leads share a few tens of thousands
//! of them, so a lead row is a third of the size it would be with its texts inline.

use std::collections::BTreeMap;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql};

use crate::error::Result;
use crate::fxhash::FastMap;
use crate::model::lead::Factor;
use crate::store::columns::Value;
use crate::store::texts::{self, TextStore};

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

/// Every text the leads name, by body (`lead_texts`, see `schema`), as the writer keeps them
/// ([`texts::Texts`]); a text the table does not hold yet is inserted there and then. Read
/// inside the evaluation's transaction, so it holds exactly what the table does until the
/// transaction ends.
pub struct Texts(texts::Texts);

/// Inserts a new text into `lead_texts`.
struct Insert<'c>(&'c Connection);

impl TextStore for Insert<'_> {
    fn add(&mut self, body: &str) -> Result<i64> {
        // `RETURNING` would cost a temporary table per statement; a new text (the writer's
        // map holds every stored one) is simply the last row inserted.
        let inserted = self
            .0
            .prepare_cached("INSERT OR IGNORE INTO lead_texts (body) VALUES (?1)")?
            .execute([body])?;
        Ok(if inserted == 1 {
            self.0.last_insert_rowid()
        } else {
            self.0
                .prepare_cached("SELECT text_id FROM lead_texts WHERE body = ?1")?
                .query_row([body], |r| r.get(0))?
        })
    }
}

impl Texts {
    /// Reads every stored text (a few tens of thousands at a million leads).
    pub fn read(conn: &Connection) -> Result<Texts> {
        let mut stmt = conn.prepare("SELECT body, text_id FROM lead_texts")?;
        let mut ids = FastMap::default();
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (body, id) = row?;
            ids.insert(body.into_boxed_str(), id);
        }
        Ok(Texts(texts::Texts::new(ids)))
    }

    /// The parameter a lead column's value is bound as: the id of a text stored once, the
    /// `factor_ids` object of factor outcomes, anything else as it is.
    pub fn param<'a>(&mut self, conn: &Connection, value: Value<'a>) -> Result<Param<'a>> {
        Ok(match value {
            Value::Body(body) => Param::Int(self.0.id(&mut Insert(conn), body)?),
            Value::Services(s) => Param::Int(self.0.services(&mut Insert(conn), s)?),
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
        let ids = self.0.factor_ids(&mut Insert(conn), factors)?;
        Ok(texts::factor_json(factors.keys(), &ids))
    }
}
