//! Writing evaluated leads: the statements, the table of distinct texts a lead row names, the
//! lead indexes suspended for a bulk write, and the events each write logs. The ledger
//! (`score::ledger`) decides what to write; this writes it the way SQLite writes fastest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::SqliteTx;
use super::load::build_indexes;
use super::schema::SUMMARY_INDEX;
use crate::error::Result;
use crate::fxhash::FastMap;
use crate::model::lead::{Factor, Lead, LeadState, Services};
use crate::store::api::{
    Changed, EndedWrites, IndexTiming, LeadRun, LeadWrite, Leads, Pending, Placement, StoredState,
};
use crate::store::columns::{Encoded, json};

/// The writer of one evaluation's leads: what it writes as, the texts it knows, and the lead
/// indexes it suspended.
pub struct Writer {
    texts: Texts,
    run_id: i64,
    now: String,
    /// Leads stored when the evaluation began.
    stored: usize,
    /// Updates so far that moved a score or priority (see [`Writer::moving`]).
    moved: usize,
    deferred: Vec<DroppedIndex>,
}

impl Writer {
    /// Counts an update that moves a lead's score or priority. Once a quarter of the stored leads
    /// have moved (a weight change moves nearly all), the `lead_rows` indexes over the score are
    /// dropped, to be built again when the evaluation ends: at 100k leads, keeping the four
    /// indexes that hold the score in step took 0.9 s, building all five afresh 0.4 s.
    pub(super) fn moving(&mut self, conn: &Connection) -> Result<()> {
        self.moved += 1;
        if self.moved == self.stored / 4 + 1 && self.deferred.is_empty() {
            self.deferred = defer_indexes(conn, MOVING)?;
        }
        Ok(())
    }

    /// The run the writes belong to.
    pub(super) fn run_id(&self) -> i64 {
        self.run_id
    }

    /// A lead's `factor_ids` object for these factors (see [`Texts::factor_ids`]).
    pub(super) fn factor_ids(
        &mut self,
        conn: &Connection,
        factors: &BTreeMap<String, Factor>,
    ) -> Result<String> {
        self.texts.factor_ids(conn, factors)
    }

    /// Writes one lead as the ledger decided.
    fn write(&mut self, conn: &Connection, w: &LeadWrite<'_>) -> Result<()> {
        let (lead, enc) = match w {
            LeadWrite::Insert { lead, enc, .. }
            | LeadWrite::Reopen { lead, enc }
            | LeadWrite::Update { lead, enc, .. } => (*lead, *enc),
        };
        let ids = self.texts.of(conn, lead, enc)?;
        let run_id = self.run_id;
        let values = columns(lead, enc, &ids, &run_id);
        match *w {
            LeadWrite::Insert { log, .. } => {
                insert(conn, &values, &self.now)?;
                if log {
                    event(conn, &lead.lead_id, &self.now, "created", run_id)?;
                }
            }
            LeadWrite::Reopen { .. } => {
                update_with(conn, UPDATE, &values)?;
                event(conn, &lead.lead_id, &self.now, "reopened", run_id)?;
            }
            LeadWrite::Update {
                changed: Changed::Content,
                ..
            } => update_with(conn, UPDATE_CONTENT, &values)?,
            LeadWrite::Update {
                changed,
                priority_from,
                ..
            } => {
                self.moving(conn)?;
                let sql = if changed == Changed::Scored {
                    UPDATE_SCORED
                } else {
                    UPDATE
                };
                update_with(conn, sql, &values)?;
                self.priority_event(conn, &lead.lead_id, priority_from, &lead.priority)?;
            }
        }
        Ok(())
    }

    /// Logs a priority move (the digest reports them; the event reuses the from/to columns).
    pub(super) fn priority_event(
        &self,
        conn: &Connection,
        id: &str,
        from: &str,
        to: &str,
    ) -> Result<()> {
        if from != to {
            conn.prepare_cached(
                "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, run_id)
                 VALUES (?1, ?2, 'priority', ?3, ?4, ?5)",
            )?
            .execute(params![id, self.now, from, to, self.run_id])?;
        }
        Ok(())
    }
}

/// Reads every lead's state, as the ledger compares it.
fn each_state(conn: &Connection, visit: &mut dyn FnMut(StoredState<'_>)) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT lead_id, active, priority, score, fingerprint, lead_type, account_id,
         territory_id, product_family, estimated_value, rule FROM lead_rows",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        visit(state_of(r)?);
    }
    Ok(())
}

/// One row of [`each_state`]'s query, borrowing its text.
fn state_of<'r>(r: &'r rusqlite::Row<'_>) -> rusqlite::Result<StoredState<'r>> {
    Ok(StoredState {
        lead_id: r.get_ref(0)?.as_str()?,
        active: r.get(1)?,
        priority: r.get_ref(2)?.as_str()?,
        score: r.get(3)?,
        fingerprint: r.get(4)?,
        placement: Placement {
            lead_type: r.get_ref(5)?.as_str()?,
            account_id: r.get_ref(6)?.as_str_or_null()?,
            territory_id: r.get_ref(7)?.as_str_or_null()?,
            product_family: r.get_ref(8)?.as_str_or_null()?,
            estimated_value: r.get(9)?,
        },
        rule: r.get_ref(10)?.as_str()?,
    })
}

/// The scheme of the stored fingerprints, in `meta`.
const FINGERPRINTS: &str = "fingerprints";

/// See [`Leads::adopt_fingerprints`]. A database without the mark was written before
/// fingerprints had one: those are forgotten too.
fn adopt_fingerprints(conn: &Connection, scheme: &str) -> Result<bool> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [FINGERPRINTS],
            |r| r.get(0),
        )
        .optional()?;
    if stored.as_deref() == Some(scheme) {
        return Ok(false);
    }
    let forgot = conn.execute(
        "UPDATE lead_rows SET fingerprint = NULL WHERE fingerprint IS NOT NULL",
        [],
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        [FINGERPRINTS, scheme],
    )?;
    Ok(forgot > 0)
}

/// Builds the lead indexes an evaluation left to its caller ([`Pending`]). Each is built only
/// if it is missing: another command that opened the database in between may have built the
/// schema's own already.
pub fn finish_indexes(conn: &Connection, sqls: &[String]) -> Result<()> {
    let sqls: Vec<String> = sqls.iter().map(|s| if_not_exists(s)).collect();
    build_indexes(conn, sqls.iter().map(String::as_str))
}

/// `CREATE [UNIQUE] INDEX name …` as `sqlite_master` keeps it (its `IF NOT EXISTS`, if it had
/// one, removed) with `IF NOT EXISTS` put back.
fn if_not_exists(sql: &str) -> String {
    match sql.find("INDEX ") {
        Some(at) => format!("{}INDEX IF NOT EXISTS {}", &sql[..at], &sql[at + 6..]),
        None => sql.to_string(),
    }
}

impl SqliteTx<'_> {
    /// The writer [`Leads::start_lead_writes`] made.
    fn writer(&mut self) -> Result<&mut Writer> {
        self.leads.as_mut().ok_or_else(|| {
            crate::error::Error::Usage("lead writes were not started (a onelead bug)".into())
        })
    }
}

impl Leads for SqliteTx<'_> {
    fn count_leads(&mut self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM lead_rows", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn each_lead_state(&mut self, visit: &mut dyn FnMut(StoredState<'_>)) -> Result<()> {
        each_state(self.conn, visit)
    }

    fn adopt_fingerprints(&mut self, scheme: &str) -> Result<bool> {
        adopt_fingerprints(self.conn, scheme)
    }

    fn start_lead_writes(&mut self, run: &LeadRun<'_>) -> Result<()> {
        let deferred = if run.bulk {
            defer_indexes(self.conn, &[])?
        } else {
            Vec::new()
        };
        self.leads = Some(Writer {
            texts: Texts::read(self.conn)?,
            run_id: run.run_id,
            now: run.now.to_string(),
            stored: run.stored,
            moved: 0,
            deferred,
        });
        Ok(())
    }

    fn lead_exists(&mut self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM lead_rows WHERE lead_id = ?1)")?
            .query_row([id], |r| r.get(0))?)
    }

    fn write_leads(&mut self, batch: &[LeadWrite<'_>]) -> Result<()> {
        let conn = self.conn;
        let writer = self.writer()?;
        batch.iter().try_for_each(|w| writer.write(conn, w))
    }

    fn expect_moves(&mut self, n: usize) -> Result<()> {
        let conn = self.conn;
        let writer = self.writer()?;
        if n > writer.stored / 4 && writer.deferred.is_empty() {
            writer.deferred = defer_indexes(conn, MOVING)?;
        }
        Ok(())
    }

    fn lead_state(&mut self, id: &str) -> Result<LeadState> {
        read_state(self.conn, id)
    }

    fn close_leads(&mut self, ids: &[String]) -> Result<()> {
        let conn = self.conn;
        let w = self.writer()?;
        if w.stored == 0 {
            // In id order: read from the id index alone, not the wide rows, and appended to the
            // events' own id index instead of inserted at random (3.1 s → 0.5 s at 1.2M leads).
            conn.execute(
                "INSERT INTO lead_events (lead_id, at, kind, run_id)
                 SELECT lead_id, ?1, 'created', ?2 FROM lead_rows ORDER BY lead_id",
                params![w.now, w.run_id],
            )?;
        }
        for id in ids {
            conn.prepare_cached(
                "UPDATE lead_rows SET active = 0, closed_reason = 'closed: no longer triggered',
                 run_id = ?2 WHERE lead_id = ?1",
            )?
            .execute(params![id, w.run_id])?;
            conn.prepare_cached(
                "INSERT INTO lead_events (lead_id, at, kind, note, run_id)
                 VALUES (?1, ?2, 'closed', 'no longer triggered', ?3)",
            )?
            .execute(params![id, w.now, w.run_id])?;
        }
        Ok(())
    }

    fn end_lead_writes(&mut self, timing: IndexTiming, compact: bool) -> Result<EndedWrites> {
        if compact {
            sweep_texts(self.conn, SWEEP_SLACK)?;
        }
        let deferred = self.leads.take().map(|w| w.deferred).unwrap_or_default();
        // The summary printed after a run counts leads per type and priority off its index;
        // the rest can wait for the caller's report, if it said so.
        let (now, later): (Vec<_>, Vec<_>) = deferred
            .into_iter()
            .partition(|d| timing == IndexTiming::Now || d.name == SUMMARY_INDEX);
        if !now.is_empty() {
            build_indexes(self.conn, now.iter().map(|d| d.sql.as_str()))?;
        }
        Ok(EndedWrites {
            rebuilt: now.len(),
            pending: later.into_iter().map(|d| Pending(d.sql)).collect(),
        })
    }

    fn count_active(&mut self) -> Result<usize> {
        super::rescore::count_active(self.conn)
    }

    fn factor_outcomes(&mut self, titles: bool) -> Result<crate::store::api::Outcomes> {
        super::rescore::outcomes(self.conn, titles)
    }

    fn read_scored(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::api::StoredScore>> {
        self.types.read(self.conn, after, limit)
    }

    fn write_scored(&mut self, batch: &[crate::store::api::ScoredWrite<'_>]) -> Result<()> {
        let conn = self.conn;
        let writer = self.writer()?;
        batch
            .iter()
            .try_for_each(|w| super::rescore::write(conn, writer, w))
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

/// The indexes dropped once many leads move: those over the score, which a weight change moves
/// for nearly every lead. The others are left alone, since SQLite updates only the indexes over
/// a column it changes: those over the priority (and not the score) are kept in step for the
/// fewer leads whose priority moves.
const MOVING: &[&str] = &["score"];

/// A `lead_rows` index dropped for a bulk write: its name and the statement that builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedIndex {
    name: String,
    sql: String,
}

/// Drops the secondary indexes of `lead_rows` that hold any of `columns` (every one, if
/// `columns` is empty) and returns them: filling or rewriting the table and then sorting once
/// per index is much cheaper than a B-tree insert per row per index. Inside the run's
/// transaction, so a failed run restores them.
pub fn defer_indexes(conn: &Connection, columns: &[&str]) -> Result<Vec<DroppedIndex>> {
    let mut stmt = conn.prepare(
        "SELECT m.name, m.sql FROM sqlite_master m
         WHERE m.type = 'index' AND m.tbl_name = 'lead_rows' AND m.sql IS NOT NULL
           AND (?1 = '[]' OR EXISTS (SELECT 1 FROM pragma_index_info(m.name) i
                                     WHERE i.name IN (SELECT value FROM json_each(?1))))",
    )?;
    let columns = serde_json::to_string(columns).unwrap_or_else(|_| "[]".into());
    let indexes = stmt
        .query_map([columns], |r| {
            Ok(DroppedIndex {
                name: r.get(0)?,
                sql: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for index in &indexes {
        conn.execute_batch(&format!(
            "DROP INDEX \"{}\"",
            index.name.replace('"', "\"\"")
        ))?;
    }
    Ok(indexes)
}

fn read_state(conn: &Connection, id: &str) -> Result<LeadState> {
    Ok(conn
        .prepare_cached(
            "SELECT l.lead_id, l.lead_type, l.priority, l.score, a.name, l.product_name,
             l.serial_number FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id
             WHERE l.lead_id = ?1",
        )?
        .query_row([id], |r| {
            Ok(LeadState {
                lead_id: r.get(0)?,
                lead_type: r.get(1)?,
                priority: r.get(2)?,
                score: r.get(3)?,
                account: r.get(4)?,
                product: r.get(5)?,
                serial: r.get(6)?,
            })
        })?)
}

fn event(conn: &Connection, id: &str, now: &str, kind: &str, run_id: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO lead_events (lead_id, at, kind, run_id) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, now, kind, run_id])?;
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

    /// The text ids of one lead, and its `factor_ids` object.
    fn of(&mut self, conn: &Connection, lead: &Lead, enc: &Encoded) -> Result<TextIds> {
        let factors = self.factor_ids(conn, &lead.factors)?;
        Ok(TextIds {
            title: self.id(conn, &lead.title)?,
            action: self.id(conn, &lead.recommended_action)?,
            reasons: self.id(conn, &enc.reasons)?,
            services: self.services(conn, &lead.recommended_services)?,
            factors,
        })
    }

    /// A lead's `factor_ids`: `{"name": text_id, …}`.
    fn factor_ids(
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

/// What [`Texts::of`] gives.
struct TextIds {
    title: i64,
    action: i64,
    reasons: i64,
    services: i64,
    factors: String,
}

/// The evaluated columns of a lead, as `?1`–`?23` of [`insert`] and the updates.
fn columns<'a>(
    lead: &'a Lead,
    enc: &'a Encoded,
    ids: &'a TextIds,
    run_id: &'a i64,
) -> [&'a dyn ToSql; 23] {
    [
        &lead.lead_id,
        &lead.lead_type,
        &lead.rule,
        &lead.install_base_id,
        &lead.serial_number,
        &lead.product_name,
        &lead.product_family,
        &lead.account_id,
        &lead.territory_id,
        &ids.title,
        &lead.description,
        &ids.action,
        &lead.score,
        &lead.priority,
        &ids.factors,
        &ids.reasons,
        &ids.services,
        &enc.skus,
        &lead.days_since_eol,
        &enc.extra,
        &enc.estimated_value,
        &enc.fingerprint,
        run_id,
    ]
}

fn insert(conn: &Connection, values: &[&dyn ToSql; 23], now: &str) -> Result<()> {
    let mut values = values.to_vec();
    values.push(&now);
    conn.prepare_cached(
        "INSERT INTO lead_rows (lead_id, lead_type, rule, install_base_id, serial_number,
           product_name, product_family, account_id, territory_id, title_id, description,
           action_id, score, priority, factor_ids, reasons_id, services_id, recommended_skus,
           days_since_eol, extra, estimated_value, fingerprint, run_id, status, active,
           closed_reason, created_at, updated_at)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,
           ?23,'new',1,NULL,?24,?24)",
    )?
    .execute(values.as_slice())?;
    Ok(())
}

/// Refreshes an existing lead's evaluated columns, keeping its status, notes and history.
const UPDATE: &str = "UPDATE lead_rows SET lead_type = ?2, rule = ?3, install_base_id = ?4,
    serial_number = ?5, product_name = ?6, product_family = ?7, account_id = ?8,
    territory_id = ?9, title_id = ?10, description = ?11, action_id = ?12, score = ?13,
    priority = ?14, factor_ids = ?15, reasons_id = ?16, services_id = ?17,
    recommended_skus = ?18, days_since_eol = ?19, extra = ?20, estimated_value = ?21,
    fingerprint = ?22, active = 1, closed_reason = NULL, run_id = ?23
  WHERE lead_id = ?1";

/// [`UPDATE`] for an active lead whose indexed columns are all unchanged: it names no indexed
/// column, so SQLite rewrites the row and leaves every index alone.
const UPDATE_CONTENT: &str = "UPDATE lead_rows SET rule = ?3, install_base_id = ?4,
    serial_number = ?5, product_name = ?6, title_id = ?10, description = ?11, action_id = ?12,
    factor_ids = ?15, reasons_id = ?16, services_id = ?17, recommended_skus = ?18,
    days_since_eol = ?19, extra = ?20, fingerprint = ?22, closed_reason = NULL, run_id = ?23
  WHERE lead_id = ?1";

/// [`UPDATE_CONTENT`] plus the score and priority, for an active lead whose other indexed
/// columns are unchanged (a weight change moves every score): SQLite then updates only the
/// indexes that hold the score, a quarter less work than naming every indexed column.
const UPDATE_SCORED: &str = "UPDATE lead_rows SET rule = ?3, install_base_id = ?4,
    serial_number = ?5, product_name = ?6, title_id = ?10, description = ?11, action_id = ?12,
    score = ?13, priority = ?14, factor_ids = ?15, reasons_id = ?16, services_id = ?17,
    recommended_skus = ?18, days_since_eol = ?19, extra = ?20, fingerprint = ?22,
    closed_reason = NULL, run_id = ?23
  WHERE lead_id = ?1";

/// Runs one of the `UPDATE` statements above with a lead's [`columns`].
fn update_with(conn: &Connection, sql: &str, values: &[&dyn ToSql; 23]) -> Result<()> {
    conn.prepare_cached(sql)?.execute(values.as_slice())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Db;
    use super::*;
    use crate::store::columns::fingerprint;

    fn lead(title: &str) -> Lead {
        Lead {
            lead_id: "L1".into(),
            lead_type: "T".into(),
            rule: "r".into(),
            priority: "HIGH".into(),
            score: 50.0,
            factors: BTreeMap::new(),
            reasons: vec!["why".into()],
            title: title.into(),
            description: "d".into(),
            recommended_action: "a".into(),
            account_id: Some("A1".into()),
            account_name: None,
            territory_id: Some("T1".into()),
            install_base_id: 1,
            serial_number: Some("SN".into()),
            product_name: Some("P".into()),
            product_family: Some("F".into()),
            days_since_eol: Some(3),
            recommended_services: Vec::new().into(),
            recommended_skus: Vec::new().into(),
            extra: serde_json::Map::new(),
            status: "new".into(),
            active: true,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    /// Writes `l` as run `run_id`: inserted when new, else its content rewritten.
    fn write(db: &Db, run_id: i64, l: &Lead) {
        let mut tx = db.begin().unwrap();
        let stored = tx.count_leads().unwrap();
        tx.start_lead_writes(&LeadRun {
            run_id,
            now: "now",
            stored,
            bulk: false,
        })
        .unwrap();
        let enc = Encoded::of(l, fingerprint(l));
        let w = if stored == 0 {
            LeadWrite::Insert {
                lead: l,
                enc: &enc,
                log: false,
            }
        } else {
            LeadWrite::Update {
                lead: l,
                enc: &enc,
                changed: Changed::Content,
                priority_from: "HIGH",
            }
        };
        tx.write_leads(&[w]).unwrap();
        tx.commit().unwrap();
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_lead_names_each_text_once_and_a_sweep_drops_the_texts_no_lead_names() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("l.db")).unwrap();
        let conn = &db.conn;
        let mut l = lead("first");
        l.factors.insert(
            "urgency".into(),
            Factor {
                value: 80.0,
                weight: 0.5,
                contribution: 40.0,
                reasons: vec!["EOL \"soon\"".to_string()].into(),
            },
        );
        write(&db, 1, &l);
        // Title, action, reasons, services and the one factor outcome.
        assert_eq!(count(conn, "SELECT count(*) FROM lead_texts"), 5);
        let factors: String = conn
            .query_row("SELECT factors FROM leads", [], |r| r.get(0))
            .unwrap();
        let read: BTreeMap<String, Factor> = serde_json::from_str(&factors).unwrap();
        assert_eq!(read, l.factors);
        // The first sweep marks what is there (5); the next sweeps when there are more than
        // twice as many (with no slack), and deletes every text no lead names.
        assert_eq!(sweep_texts(conn, 0).unwrap(), 0);
        for n in 0..5 {
            l.title = format!("title {n}");
            write(&db, 2 + n, &l);
        }
        assert_eq!(count(conn, "SELECT count(*) FROM lead_texts"), 10);
        assert_eq!(sweep_texts(conn, 0).unwrap(), 0);
        assert_eq!(sweep_texts(conn, -1).unwrap(), 5);
        let titles: String = conn
            .query_row("SELECT group_concat(title) FROM leads", [], |r| r.get(0))
            .unwrap();
        assert_eq!(titles, "title 4");
        assert_eq!(count(conn, "SELECT count(*) FROM lead_texts"), 5);
        l.title = "last".into();
        write(&db, 20, &l);
        assert_eq!(sweep_texts(conn, 100).unwrap(), 0);
    }
}
