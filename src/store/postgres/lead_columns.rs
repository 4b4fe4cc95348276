//! The declared lead columns ([`LEAD_COLUMNS`]) on PostgreSQL: the row a write copies into
//! `lead_rows` (or its staging table), the statement that applies staged rewrites, and a stored
//! value as the declaration reads it. The column types come from the table itself, so a value
//! is sent as whatever integer or number the column holds.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use bytes::BytesMut;
use postgres::Transaction;
use postgres_types::{IsNull, ToSql, Type, to_sql_checked};

use super::leads::NewTexts;
use crate::error::{Error, Result};
use crate::model::lead::{Factor, Lead};
use crate::store::columns::{
    self, Cell, Encoded, Initial, LEAD_COLUMNS, LeadColumn, Moves, Value, Written,
};
use crate::store::texts::{Texts, factor_json};

/// A lead column's value as a write sends it.
#[derive(Debug)]
pub enum Param<'a> {
    /// As evaluation wrote it (never a stored text: those are sent as their ids).
    Value(Value<'a>),
    /// A text's id (provisional until the batch's new texts are stored), the run's id.
    Int(i64),
    /// Text made for the write (`factor_ids`, the time, a declared literal).
    Owned(String),
    /// NULL.
    Null,
    /// The ids of a lead's factor outcomes, until they are resolved into `factor_ids`.
    Factors(&'a BTreeMap<String, Factor>, Vec<i64>),
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(i) | Param::Value(Value::Int(i) | Value::OptInt(Some(i))) => {
                int(*i, ty, out)
            }
            Param::Value(Value::Real(x) | Value::OptReal(Some(x))) => x.to_sql(ty, out),
            Param::Value(Value::Text(s) | Value::OptText(Some(s))) => s.to_sql(ty, out),
            Param::Owned(s) => s.as_str().to_sql(ty, out),
            Param::Null
            | Param::Value(Value::OptInt(None) | Value::OptReal(None) | Value::OptText(None)) => {
                Ok(IsNull::Yes)
            }
            Param::Value(Value::Body(_) | Value::Services(_) | Value::Factors(_))
            | Param::Factors(..) => Err("a stored text must be sent as its id".into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An integer as the column's own type (`active` is an `integer`, ids are `bigint`).
fn int(
    i: i64,
    ty: &Type,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
    match *ty {
        Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
        Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
        _ => i.to_sql(ty, out),
    }
}

/// A declared SQL literal (`'new'`, `1`, `NULL`) as a value.
fn literal(sql: &str) -> Param<'static> {
    if let Ok(i) = sql.parse::<i64>() {
        return Param::Int(i);
    }
    match sql.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(text) => Param::Owned(text.replace("''", "'")),
        None => Param::Null,
    }
}

/// The columns of `lead_rows` a write copies, in [`LEAD_COLUMNS`]' order, with the types the
/// table gives them.
pub fn copy_columns(tx: &mut Transaction<'_>) -> Result<Vec<(&'static str, Type)>> {
    let rows = tx.query(
        "SELECT a.attname::text, a.atttypid FROM pg_attribute a
         WHERE a.attrelid = 'lead_rows'::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        &[],
    )?;
    let mut types = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let name: String = r.try_get(0)?;
        let oid: u32 = r.try_get(1)?;
        types.insert(name, Type::from_oid(oid).unwrap_or(Type::TEXT));
    }
    LEAD_COLUMNS
        .iter()
        .map(|c| {
            let name = c.stored_name();
            let ty = types.get(name).cloned().ok_or_else(|| {
                Error::Postgres(format!(
                    "`lead_rows` has no column `{name}` (a onelead bug)"
                ))
            })?;
            Ok((name, ty))
        })
        .collect()
}

/// A lead's row of [`copy_columns`]: its texts as ids (provisional ones included, see
/// [`resolve`]); a new lead's workflow columns as they start, which an update does not apply.
pub fn row<'a>(
    texts: &mut Texts,
    new: &mut NewTexts,
    (lead, enc): (&'a Lead, &'a Encoded),
    run_id: i64,
    now: &str,
) -> Result<Vec<Param<'a>>> {
    let mut values = Vec::with_capacity(LEAD_COLUMNS.len());
    for c in LEAD_COLUMNS {
        values.push(match (c.written, c.value) {
            (Written::Run, _) => Param::Int(run_id),
            (Written::Reset(_, sql) | Written::Workflow(Initial::Const(sql)), _) => literal(sql),
            (Written::Workflow(Initial::Now), _) => Param::Owned(now.to_string()),
            (_, None) => Param::Null,
            (_, Some(value)) => match value(lead, enc) {
                Value::Body(body) => Param::Int(texts.id(new, body)?),
                Value::Services(s) => Param::Int(texts.services(new, s)?),
                Value::Factors(f) => Param::Factors(f, texts.factor_ids(new, f)?),
                other => Param::Value(other),
            },
        });
    }
    Ok(values)
}

/// Replaces a row's provisional text ids by the stored ones.
pub fn resolve(values: &mut [Param<'_>], new: &NewTexts) -> Result<()> {
    for (c, v) in LEAD_COLUMNS.iter().zip(values.iter_mut()) {
        match v {
            Param::Int(id) if matches!(c.stored, columns::Stored::Text(_)) => {
                *id = new.resolve(*id)?;
            }
            Param::Factors(f, ids) => {
                let ids = ids
                    .iter()
                    .map(|id| new.resolve(*id))
                    .collect::<Result<Vec<_>>>()?;
                *v = Param::Owned(factor_json(f.keys(), &ids));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Applies the staged rewrites (`lead_updates`): every column an update that moves
/// everything sets. A column set to the value it holds costs nothing extra: PostgreSQL decides
/// whether an update touches an index by comparing the indexed values, not by what the
/// statement names.
pub static APPLY_UPDATES: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = LEAD_COLUMNS
        .iter()
        .filter(|c| c.updated_by(Moves::Placement))
        .map(|c| match c.written {
            Written::Reset(_, sql) => format!("{} = {sql}", c.stored_name()),
            _ => format!("{0} = u.{0}", c.stored_name()),
        })
        .collect();
    let key = LEAD_COLUMNS
        .iter()
        .find(|c| c.written == Written::Key)
        .map_or("lead_id", LeadColumn::stored_name);
    format!(
        "UPDATE lead_rows l SET {} FROM lead_updates u WHERE l.{key} = u.{key};
         TRUNCATE lead_updates",
        sets.join(", ")
    )
});

/// The value at `at` of a row as the declared columns read it.
pub fn cell(r: &postgres::Row, at: usize) -> Result<Cell<'_>> {
    let ty = r.columns().get(at).map(|c| c.type_().clone());
    Ok(match ty {
        Some(Type::INT8) => r
            .try_get::<_, Option<i64>>(at)?
            .map_or(Cell::Null, Cell::Int),
        Some(Type::INT4) => r
            .try_get::<_, Option<i32>>(at)?
            .map_or(Cell::Null, |i| Cell::Int(i.into())),
        Some(Type::INT2) => r
            .try_get::<_, Option<i16>>(at)?
            .map_or(Cell::Null, |i| Cell::Int(i.into())),
        Some(Type::FLOAT8) => r
            .try_get::<_, Option<f64>>(at)?
            .map_or(Cell::Null, Cell::Real),
        Some(Type::FLOAT4) => r
            .try_get::<_, Option<f32>>(at)?
            .map_or(Cell::Null, |x| Cell::Real(x.into())),
        _ => r
            .try_get::<_, Option<&str>>(at)?
            .map_or(Cell::Null, Cell::Text),
    })
}

/// The `SELECT` list of the stored state the ledger compares: key, active, priority, score,
/// fingerprint, rule, then the placement columns.
pub static STATE_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let placement: Vec<&str> = columns::placement(LEAD_COLUMNS)
        .map(LeadColumn::stored_name)
        .collect();
    format!(
        "lead_id, active, priority, score, fingerprint, rule, {}",
        placement.join(", ")
    )
});

/// The placement key of a row of [`STATE_COLUMNS`], hashed as read.
pub fn placement_key(r: &postgres::Row) -> Result<u64> {
    let mut h = columns::Hasher::default();
    for (i, c) in columns::placement(LEAD_COLUMNS).enumerate() {
        h.value(columns::stored_value(c, cell(r, 6 + i)?));
    }
    Ok(h.finish())
}
