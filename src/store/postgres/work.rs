//! Evaluation by worker processes on PostgreSQL (`work_*` tables, see `schema`).
//!
//! A run copies its install base into `work_items`, partition by partition, from its own
//! transaction (whose rows nobody else can see yet) through a connection of its own, and then
//! publishes the partitions. A worker claims one with `FOR UPDATE SKIP LOCKED` and holds that
//! row lock in the transaction that stages its outcomes and marks it done: a worker that dies
//! loses both at once, and the partition is claimable again, whole. The run reads the staged
//! outcomes back in item order and writes them as if it had evaluated the items itself.
//!
//! An outcome's leads are staged as JSON arrays whose repeated texts (lead types, titles,
//! factor outcomes, service lists …) are numbers into the partition's `work_texts`: a
//! million leads repeat a few tens of thousands of texts.

use std::collections::HashMap;
use std::sync::Arc;

use fallible_iterator::FallibleIterator;
use postgres::{Client, Transaction};
use postgres_types::Type;
use serde_json::{Value, json};

use super::copy::CopyRows;
use super::items::{item_columns, item_row};
use super::{Db, connect, db_err};
use crate::error::{Error, Result};
use crate::model::item::{DATE_FIELDS, Interner, ItemOutcome, ItemRow, StoredDerived, TEXT_FIELDS};
use crate::model::lead::{Factor, Lead, Services};
use crate::store::api::{Claim, WorkDone, WorkQueue};
use crate::store::columns::json_text as to_json;
use crate::store::location::PgUrl;

const T: Type = Type::TEXT;
const I: Type = Type::INT8;

/// Every work table, for forgetting what earlier runs left.
const TABLES: &str = "work_runs, work_parts, work_items, work_texts, work_outcomes";

/// The run's side, on a connection of its own (each statement commits).
pub struct Queue {
    client: Client,
    url: PgUrl,
}

impl Queue {
    /// Connects.
    pub fn open(url: &PgUrl) -> Result<Queue> {
        Ok(Queue {
            client: connect(url)?,
            url: url.clone(),
        })
    }

    fn err(&self) -> impl Fn(postgres::Error) -> Error + '_ {
        |e| db_err(&self.url, &e)
    }
}

impl WorkQueue for Queue {
    /// Only one run works at a time (the run lock), so whatever is here was left by a run that
    /// ended without finishing.
    fn start(&mut self, work: i64, setup: &[u8]) -> Result<()> {
        let created = chrono::Utc::now().to_rfc3339();
        self.client
            .batch_execute(&format!(
                "TRUNCATE {TABLES}; DROP INDEX IF EXISTS work_items_part;
                 DROP INDEX IF EXISTS work_outcomes_id;"
            ))
            .map_err(self.err())?;
        self.client
            .execute(
                "INSERT INTO work_runs (work_id, created_at, setup) VALUES ($1, $2, $3)",
                &[&work, &created, &setup],
            )
            .map_err(self.err())?;
        Ok(())
    }

    fn add_items(&mut self, work: i64, items: &[(u32, &ItemRow)]) -> Result<()> {
        let mut rows = item_rows();
        for (part, item) in items {
            let part = i32::try_from(*part).unwrap_or(i32::MAX);
            let text: Vec<Option<&str>> = item
                .text
                .iter()
                .chain(&item.dates)
                .map(|v| v.as_deref())
                .collect();
            let mut values: Vec<&dyn postgres_types::ToSql> = vec![
                &work,
                &part,
                &item.id,
                &item.account_id,
                &item.source_row,
                &item.stored.days_since_eol,
                &item.stored.days_since_expiry,
                &item.stored.risk_level,
                &item.stored.product_family,
            ];
            values.extend(text.iter().map(|v| v as &dyn postgres_types::ToSql));
            values.push(&item.asset_key);
            rows.push(&values)?;
        }
        rows.flush(&mut self.client)?;
        Ok(())
    }

    fn publish(&mut self, work: i64, sizes: &[u64]) -> Result<()> {
        let parts: Vec<i32> = (0..sizes.len())
            .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
            .collect();
        let sizes: Vec<i64> = sizes
            .iter()
            .map(|n| i64::try_from(*n).unwrap_or(i64::MAX))
            .collect();
        self.client
            .batch_execute(
                "CREATE INDEX IF NOT EXISTS work_items_part ON work_items (work_id, part, id);
                 ANALYZE work_items",
            )
            .map_err(self.err())?;
        self.client
            .execute(
                "INSERT INTO work_parts (work_id, part, items)
                 SELECT $1, p, n FROM unnest($2::int[], $3::bigint[]) AS u(p, n)",
                &[&work, &parts, &sizes],
            )
            .map_err(self.err())?;
        Ok(())
    }

    fn done(&mut self, work: i64) -> Result<WorkDone> {
        let r = self
            .client
            .query_one(
                "SELECT count(*), coalesce(sum(items), 0)::bigint FROM work_parts
                 WHERE work_id = $1 AND done",
                &[&work],
            )
            .map_err(self.err())?;
        Ok(WorkDone {
            parts: usize::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0),
            items: u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
        })
    }

    fn outcomes(
        &mut self,
        work: i64,
        visit: &mut dyn FnMut(ItemOutcome) -> Result<()>,
    ) -> Result<()> {
        self.client
            .batch_execute(
                "CREATE INDEX IF NOT EXISTS work_outcomes_id ON work_outcomes (work_id, id)",
            )
            .map_err(self.err())?;
        let mut decoder = Decoder::read(&mut self.client, work)?;
        let mut rows = self.client.query_raw(
            "SELECT part, id, days_since_eol, days_since_expiry, risk_level, product_family,
               changed, error, leads, asset FROM work_outcomes WHERE work_id = $1 ORDER BY id",
            [work],
        )?;
        while let Some(r) = rows.next()? {
            visit(decoder.outcome(&r)?)?;
        }
        Ok(())
    }

    fn clear(&mut self, _work: i64) -> Result<()> {
        self.client
            .batch_execute(&format!("TRUNCATE {TABLES}"))
            .map_err(self.err())
    }
}

/// `work_items` rows, in [`item_columns`]' order after the work and partition.
fn item_rows() -> CopyRows {
    let mut cols: Vec<(&str, Type)> = vec![
        ("work_id", I),
        ("part", Type::INT4),
        ("id", I),
        ("account_id", T),
        ("source_row", I),
        ("days_since_eol", I),
        ("days_since_expiry", I),
        ("risk_level", T),
        ("product_family", T),
    ];
    cols.extend(TEXT_FIELDS.iter().chain(DATE_FIELDS).map(|f| (*f, T)));
    cols.push(("asset_key", T));
    CopyRows::new("work_items", &cols)
}

/// A partition a worker holds, in the transaction that holds its row lock.
pub struct PgClaim<'c> {
    tx: Transaction<'c>,
    work: i64,
    part: i32,
}

impl Db {
    /// See [`crate::store::api::Backend::claim`].
    pub fn claim(&mut self, work: Option<i64>) -> Result<Option<PgClaim<'_>>> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(|e| db_err(&url, &e))?;
        let row = tx.query_opt(
            "SELECT work_id, part FROM work_parts
             WHERE NOT done AND ($1::bigint IS NULL OR work_id = $1)
             ORDER BY work_id, items DESC, part LIMIT 1 FOR UPDATE SKIP LOCKED",
            &[&work],
        )?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PgClaim {
            work: row.try_get(0)?,
            part: row.try_get(1)?,
            tx,
        }))
    }

    /// See [`crate::store::api::Backend::open_parts`].
    pub fn open_parts(&mut self, work: Option<i64>) -> Result<usize> {
        let n: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM work_parts
                 WHERE NOT done AND ($1::bigint IS NULL OR work_id = $1)",
                &[&work],
            )?
            .try_get(0)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// See [`crate::store::api::Backend::work_queue`].
    pub fn work_queue(&self) -> Result<Queue> {
        Queue::open(&self.url)
    }
}

impl Claim for PgClaim<'_> {
    fn work(&self) -> i64 {
        self.work
    }

    fn part(&self) -> u32 {
        u32::try_from(self.part).unwrap_or(0)
    }

    fn setup(&mut self) -> Result<Vec<u8>> {
        Ok(self
            .tx
            .query_one(
                "SELECT setup FROM work_runs WHERE work_id = $1",
                &[&self.work],
            )?
            .try_get(0)?)
    }

    fn items(&mut self, strings: &mut Interner) -> Result<Vec<ItemRow>> {
        let sql = format!(
            "SELECT {} FROM work_items WHERE work_id = $1 AND part = $2 ORDER BY id",
            item_columns()
        );
        self.tx
            .query(&sql, &[&self.work, &self.part])?
            .iter()
            .map(|r| item_row(r, strings))
            .collect()
    }

    fn finish(mut self: Box<Self>, outcomes: &[ItemOutcome], worker: &str) -> Result<()> {
        let (work, part) = (self.work, self.part);
        let mut encoder = Encoder::default();
        let mut rows = CopyRows::new(
            "work_outcomes",
            &[
                ("work_id", I),
                ("part", Type::INT4),
                ("id", I),
                ("days_since_eol", I),
                ("days_since_expiry", I),
                ("risk_level", T),
                ("product_family", T),
                ("changed", Type::BOOL),
                ("error", T),
                ("leads", T),
                ("asset", T),
            ],
        );
        for o in outcomes {
            let leads = encoder.leads(&o.leads);
            let d = &o.derived;
            rows.push(&[
                &work,
                &part,
                &o.id,
                &d.days_since_eol,
                &d.days_since_expiry,
                &d.risk_level,
                &d.product_family,
                &o.changed,
                &o.error,
                &leads,
                &o.asset,
            ])?;
        }
        rows.flush(&mut self.tx)?;
        encoder.flush(&mut self.tx, work, part)?;
        self.tx.execute(
            "UPDATE work_parts SET done = true, worker = $3 WHERE work_id = $1 AND part = $2",
            &[&work, &part, &worker],
        )?;
        self.tx.commit()?;
        Ok(())
    }
}

/// Numbers a partition's texts as its leads are staged.
#[derive(Default)]
struct Encoder {
    texts: HashMap<String, u32>,
    order: Vec<String>,
}

impl Encoder {
    fn no(&mut self, text: &str) -> u32 {
        if let Some(&n) = self.texts.get(text) {
            return n;
        }
        let n = u32::try_from(self.order.len()).unwrap_or(u32::MAX);
        self.texts.insert(text.to_string(), n);
        self.order.push(text.to_string());
        n
    }

    fn opt(&mut self, text: Option<&str>) -> Value {
        text.map_or(Value::Null, |t| self.no(t).into())
    }

    /// An item's leads as a JSON array of [`LEAD`]-ordered arrays.
    fn leads(&mut self, leads: &[(Lead, i64)]) -> String {
        let arrays: Vec<Value> = leads.iter().map(|(l, fp)| self.lead(l, *fp)).collect();
        Value::Array(arrays).to_string()
    }

    fn lead(&mut self, l: &Lead, fingerprint: i64) -> Value {
        let factors: Vec<Value> = l
            .factors
            .iter()
            .map(|(name, f)| json!([self.no(name), self.no(&to_json(f, 160))]))
            .collect();
        json!([
            l.lead_id,
            l.description,
            l.serial_number,
            l.score,
            l.days_since_eol,
            fingerprint,
            self.no(&l.lead_type),
            self.no(&l.rule),
            self.no(&l.priority),
            self.no(&l.title),
            self.no(&l.recommended_action),
            self.no(&to_json(&l.reasons, 128)),
            self.opt(l.account_id.as_deref()),
            self.opt(l.account_name.as_deref()),
            self.opt(l.territory_id.as_deref()),
            self.opt(l.product_name.as_deref()),
            self.opt(l.product_family.as_deref()),
            self.no(&to_json(&l.recommended_services, 256)),
            self.no(&to_json(&l.recommended_skus, 64)),
            self.no(&to_json(&l.extra, 16)),
            factors,
        ])
    }

    fn flush(self, tx: &mut Transaction<'_>, work: i64, part: i32) -> Result<()> {
        let mut rows = CopyRows::new(
            "work_texts",
            &[
                ("work_id", I),
                ("part", Type::INT4),
                ("no", Type::INT4),
                ("body", T),
            ],
        );
        for (n, body) in self.order.iter().enumerate() {
            let n = i32::try_from(n).unwrap_or(i32::MAX);
            rows.push(&[&work, &part, &n, body])?;
        }
        rows.flush(tx)?;
        Ok(())
    }
}

/// Turns staged outcomes back into what the workers evaluated, parsing each shared text once.
struct Decoder {
    texts: HashMap<(i32, i32), Arc<str>>,
    factors: HashMap<(i32, i32), Factor>,
    services: HashMap<(i32, i32), Services>,
    skus: HashMap<(i32, i32), Arc<[String]>>,
}

impl Decoder {
    fn read(client: &mut Client, work: i64) -> Result<Decoder> {
        let mut texts = HashMap::new();
        let mut rows = client.query_raw(
            "SELECT part, no, body FROM work_texts WHERE work_id = $1",
            [work],
        )?;
        while let Some(r) = rows.next()? {
            let body: &str = r.try_get(2)?;
            texts.insert((r.try_get(0)?, r.try_get(1)?), Arc::from(body));
        }
        Ok(Decoder {
            texts,
            factors: HashMap::new(),
            services: HashMap::new(),
            skus: HashMap::new(),
        })
    }

    fn outcome(&mut self, r: &postgres::Row) -> Result<ItemOutcome> {
        let part: i32 = r.try_get(0)?;
        let leads: Vec<Vec<Value>> = serde_json::from_str(r.try_get(8)?).map_err(bad)?;
        Ok(ItemOutcome {
            id: r.try_get(1)?,
            derived: StoredDerived {
                days_since_eol: r.try_get(2)?,
                days_since_expiry: r.try_get(3)?,
                risk_level: r.try_get(4)?,
                product_family: r.try_get(5)?,
            },
            changed: r.try_get(6)?,
            error: r.try_get(7)?,
            asset: r.try_get(9)?,
            leads: leads
                .iter()
                .map(|l| self.lead(part, r.try_get(1)?, l))
                .collect::<Result<_>>()?,
        })
    }

    fn text(&self, part: i32, v: &Value) -> Result<Arc<str>> {
        let no = v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| bad(format!("not a text number: {v}")))?;
        self.texts
            .get(&(part, no))
            .cloned()
            .ok_or_else(|| bad(format!("no text {no} in partition {part}")))
    }

    fn string(&self, part: i32, v: &Value) -> Result<String> {
        Ok(self.text(part, v)?.to_string())
    }

    fn opt(&self, part: i32, v: &Value) -> Result<Option<String>> {
        if v.is_null() {
            return Ok(None);
        }
        self.string(part, v).map(Some)
    }

    /// A staged lead, as the worker evaluated it for item `id`, and its fingerprint.
    fn lead(&mut self, part: i32, id: i64, a: &[Value]) -> Result<(Lead, i64)> {
        let at = |i: usize| {
            a.get(i)
                .ok_or_else(|| bad(format!("a staged lead of {} fields", a.len())))
        };
        let mut factors = std::collections::BTreeMap::new();
        for f in at(20)?.as_array().into_iter().flatten() {
            let name = f.get(0).unwrap_or(&Value::Null);
            let outcome = f.get(1).unwrap_or(&Value::Null);
            let factor = parsed(&self.texts, &mut self.factors, part, outcome)?;
            factors.insert(self.string(part, name)?, factor);
        }
        let lead = Lead {
            lead_id: at(0)?.as_str().unwrap_or_default().to_string(),
            description: at(1)?.as_str().unwrap_or_default().to_string(),
            serial_number: at(2)?.as_str().map(str::to_string),
            score: at(3)?.as_f64().unwrap_or_default(),
            days_since_eol: at(4)?.as_i64(),
            lead_type: self.string(part, at(6)?)?,
            rule: self.string(part, at(7)?)?,
            priority: self.string(part, at(8)?)?,
            title: self.string(part, at(9)?)?,
            recommended_action: self.string(part, at(10)?)?,
            reasons: serde_json::from_str(&self.text(part, at(11)?)?).map_err(bad)?,
            account_id: self.opt(part, at(12)?)?,
            account_name: self.opt(part, at(13)?)?,
            territory_id: self.opt(part, at(14)?)?,
            product_name: self.opt(part, at(15)?)?,
            product_family: self.opt(part, at(16)?)?,
            recommended_services: parsed(&self.texts, &mut self.services, part, at(17)?)?,
            recommended_skus: parsed(&self.texts, &mut self.skus, part, at(18)?)?,
            extra: serde_json::from_str(&self.text(part, at(19)?)?).map_err(bad)?,
            factors,
            install_base_id: id,
            status: "new".into(),
            active: true,
            owner: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let fingerprint = at(5)?
            .as_i64()
            .ok_or_else(|| bad("a staged lead without its fingerprint"))?;
        Ok((lead, fingerprint))
    }
}

/// The shared text `v` numbers, parsed once into `T` and kept in `cache`.
fn parsed<T: serde::de::DeserializeOwned + Clone>(
    texts: &HashMap<(i32, i32), Arc<str>>,
    cache: &mut HashMap<(i32, i32), T>,
    part: i32,
    v: &Value,
) -> Result<T> {
    let no = v
        .as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| bad(format!("not a text number: {v}")))?;
    if let Some(t) = cache.get(&(part, no)) {
        return Ok(t.clone());
    }
    let text = texts
        .get(&(part, no))
        .ok_or_else(|| bad(format!("no text {no} in partition {part}")))?;
    let t: T = serde_json::from_str(text).map_err(bad)?;
    cache.insert((part, no), t.clone());
    Ok(t)
}

fn bad(e: impl std::fmt::Display) -> Error {
    Error::Postgres(format!("a staged outcome does not read back: {e}"))
}
