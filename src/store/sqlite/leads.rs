//! Writing evaluated leads: the statements (made from the declared lead columns), the lead
//! indexes suspended for a bulk write, and the events each write logs. The ledger
//! (`score::ledger`) decides what to write; this writes it the way SQLite writes fastest.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::SqliteTx;
use super::load::build_indexes;
use super::schema::SUMMARY_INDEX;
use super::texts::{Param, SWEEP_SLACK, Texts, sweep_texts};
use crate::error::Result;
use crate::model::lead::{Factor, LeadState};
use crate::store::api::{
    Changed, EndedWrites, IndexTiming, LeadRun, LeadWrite, Leads, Pending, StoredState,
};
use crate::store::columns::{
    self, Cell, Hasher, Initial, LEAD_COLUMNS, LeadColumn, Moves, Written,
};

/// The statements that write a lead, made from [`LEAD_COLUMNS`]: `?n` is the n-th column of
/// [`columns::written`] (the key, evaluation's columns, the run), and the insert's last
/// parameter is the time.
struct Statements {
    insert: String,
    /// By what the update moves: its content; its score too; everything.
    update: [String; 3],
}

static STATEMENTS: LazyLock<Statements> = LazyLock::new(|| statements(LEAD_COLUMNS));

fn statements(columns: &[LeadColumn]) -> Statements {
    let bound: Vec<&str> = columns::written(columns).map(|c| c.name).collect();
    let param = |c: &LeadColumn| {
        bound
            .iter()
            .position(|b| *b == c.name)
            .map(|i| format!("?{}", i + 1))
    };
    let now = format!("?{}", bound.len() + 1);
    let inserted: Vec<String> = columns
        .iter()
        .map(|c| match c.written {
            Written::Reset(_, sql) | Written::Workflow(Initial::Const(sql)) => sql.to_string(),
            Written::Workflow(Initial::Now) => now.clone(),
            _ => param(c).unwrap_or_else(|| "NULL".into()),
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(LeadColumn::stored_name).collect();
    let insert = format!(
        "INSERT INTO lead_rows ({}) VALUES ({})",
        names.join(", "),
        inserted.join(", ")
    );
    let key = columns
        .iter()
        .find(|c| c.written == Written::Key)
        .and_then(|c| Some((c.stored_name(), param(c)?)));
    let update = |moves: Moves| {
        let sets: Vec<String> = columns
            .iter()
            .filter(|c| c.updated_by(moves))
            .map(|c| match c.written {
                Written::Reset(_, sql) => format!("{} = {sql}", c.stored_name()),
                _ => format!("{} = {}", c.stored_name(), param(c).unwrap_or_default()),
            })
            .collect();
        let (key, at) = key.clone().unwrap_or_default();
        format!(
            "UPDATE lead_rows SET {} WHERE {key} = {at}",
            sets.join(", ")
        )
    };
    Statements {
        insert,
        update: [
            update(Moves::Content),
            update(Moves::Score),
            update(Moves::Placement),
        ],
    }
}

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
        let mut values = params(
            &mut self.texts,
            conn,
            LEAD_COLUMNS,
            (lead, enc),
            self.run_id,
        )?;
        let update = |conn: &Connection, moves: usize, values: &[Param<'_>]| -> Result<()> {
            let sql = &STATEMENTS.update[moves];
            conn.prepare_cached(sql)?
                .execute(params_from_iter(values))?;
            Ok(())
        };
        let run_id = self.run_id;
        match *w {
            LeadWrite::Insert { log, .. } => {
                values.push(Param::Owned(self.now.clone()));
                conn.prepare_cached(&STATEMENTS.insert)?
                    .execute(params_from_iter(&values))?;
                if log {
                    event(conn, &lead.lead_id, &self.now, "created", run_id)?;
                }
            }
            LeadWrite::Reopen { .. } => {
                update(conn, 2, &values)?;
                event(conn, &lead.lead_id, &self.now, "reopened", run_id)?;
            }
            LeadWrite::Update {
                changed: Changed::Content,
                ..
            } => update(conn, 0, &values)?,
            LeadWrite::Update {
                changed,
                priority_from,
                ..
            } => {
                self.moving(conn)?;
                update(
                    conn,
                    if changed == Changed::Scored { 1 } else { 2 },
                    &values,
                )?;
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

/// The values a lead's statements bind (see [`Statements`]), but the time.
fn params<'a>(
    texts: &mut Texts,
    conn: &Connection,
    columns: &[LeadColumn],
    (lead, enc): (
        &'a crate::model::lead::Lead,
        &'a crate::store::columns::Encoded,
    ),
    run_id: i64,
) -> Result<Vec<Param<'a>>> {
    let mut values = Vec::with_capacity(columns.len());
    for c in columns::written(columns) {
        values.push(match (c.written, c.value) {
            (Written::Run, _) | (_, None) => Param::Int(run_id),
            (_, Some(value)) => texts.param(conn, value(lead, enc))?,
        });
    }
    Ok(values)
}

/// True when the install base holds the asset of lead `id`: an asset keyed by the lead's serial
/// number, or, where the serial collides, one keyed `serial|…` with the lead's product. A lead
/// without a serial number is keyed by its row.
fn asset_present(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT CASE WHEN l.serial_number IS NULL
               THEN EXISTS (SELECT 1 FROM install_base i
                            WHERE i.id = l.install_base_id AND i.serial_number IS NULL)
               ELSE EXISTS (SELECT 1 FROM install_base i WHERE i.asset_key = l.serial_number)
                 OR EXISTS (SELECT 1 FROM install_base i
                            WHERE i.asset_key >= l.serial_number || '|'
                              AND i.asset_key < l.serial_number || '}'
                              AND i.product_name IS l.product_name) END
             FROM lead_rows l WHERE l.lead_id = ?1",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Reads every lead's state, as the ledger compares it.
fn each_state(conn: &Connection, visit: &mut dyn FnMut(StoredState<'_>)) -> Result<()> {
    let placement: Vec<&str> = columns::placement(LEAD_COLUMNS)
        .map(LeadColumn::stored_name)
        .collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT lead_id, active, priority, score, fingerprint, rule, {} FROM lead_rows",
        placement.join(", ")
    ))?;
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
        rule: r.get_ref(5)?.as_str()?,
        placement: {
            // Hashed as read: a million stored leads, no allocation each.
            let mut h = Hasher::default();
            for (i, c) in columns::placement(LEAD_COLUMNS).enumerate() {
                h.value(columns::stored_value(c, cell(r.get_ref(6 + i)?)));
            }
            h.finish()
        },
    })
}

/// A stored value as the lead columns read it.
pub fn cell(v: rusqlite::types::ValueRef<'_>) -> Cell<'_> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null | ValueRef::Blob(_) => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(x) => Cell::Real(x),
        // Text that is not UTF-8 reads as no text (a field that needs some then fails).
        ValueRef::Text(t) => std::str::from_utf8(t).map_or(Cell::Null, Cell::Text),
    }
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
            crate::error::Error::Sqlite("lead writes were not started (a onelead bug)".into())
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
            let reason = if asset_present(conn, id)? {
                "no longer triggered"
            } else {
                "no longer in the install base"
            };
            conn.prepare_cached(
                "UPDATE lead_rows SET active = 0, closed_reason = 'closed: ' || ?3,
                 run_id = ?2 WHERE lead_id = ?1",
            )?
            .execute(params![id, w.run_id, reason])?;
            conn.prepare_cached(
                "INSERT INTO lead_events (lead_id, at, kind, note, run_id)
                 VALUES (?1, ?2, 'closed', ?4, ?3)",
            )?
            .execute(params![id, w.now, w.run_id, reason])?;
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

#[cfg(test)]
mod tests {
    use super::super::Db;
    use super::*;
    use crate::model::lead::{Lead, test_lead};
    use crate::store::columns::{Encoded, fingerprint};

    fn lead(title: &str) -> Lead {
        test_lead(title, 50.0)
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

#[cfg(test)]
mod statement_tests {
    use super::super::schema::{lead_column_tests::with_segment, lead_tables};
    use super::*;
    use crate::model::lead::Lead;
    use crate::store::columns::{Encoded, fingerprint};

    /// The insert and the updates come from the declaration: a column added there is bound and
    /// written with the rest, and an update of the content rewrites it.
    #[test]
    fn a_declared_column_is_inserted_and_updated_with_the_rest() {
        let columns = with_segment();
        let st = statements(&columns);
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&lead_tables(&columns)).unwrap();
        let mut texts = Texts::read(&conn).unwrap();
        let mut lead = Lead {
            lead_id: "L1".into(),
            title: "t".into(),
            ..Lead::default()
        };
        for segment in ["mid-market", "enterprise"] {
            lead.extra
                .insert("segment".into(), serde_json::json!(segment));
            let enc = Encoded::of(&lead, fingerprint(&lead));
            let mut values = params(&mut texts, &conn, &columns, (&lead, &enc), 7).unwrap();
            let sql = if segment == "mid-market" {
                values.push(Param::Owned("now".into()));
                &st.insert
            } else {
                &st.update[0]
            };
            conn.execute(sql, params_from_iter(&values)).unwrap();
            let stored: (String, i64) = conn
                .query_row("SELECT segment, run_id FROM lead_rows", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!(stored, (segment.to_string(), 7));
        }
    }
}
