//! Writing evaluated leads, a batch at a time: the batch's new texts inserted in one
//! statement, new leads by binary `COPY`, rewritten ones staged by `COPY` and applied by one
//! `UPDATE … FROM`, and their events by `COPY`. Per-row statements would cost a round trip
//! each: a million of them is minutes. The ledger (`score::ledger`) decides what to write.

use std::collections::HashMap;

use fallible_iterator::FallibleIterator;
use postgres::Transaction;
use postgres_types::{ToSql, Type};

use super::PgTx;
use super::copy::CopyRows;
use super::lead_columns;
use super::load::{analyze, build_indexes};
use super::schema::LEAD_INDEXES;
use crate::error::{Error, Result};
use crate::fxhash::FastMap;
use crate::model::lead::{Lead, LeadState};
use crate::store::api::{EndedWrites, IndexTiming, LeadRun, LeadWrite, Leads, StoredState};
use crate::store::columns::Encoded;
use crate::store::texts::{TextStore, Texts};

/// New texts met in a batch: provisional ids (negative) until [`NewTexts::insert`] stores
/// them, and the real id of every provisional one since.
#[derive(Default)]
pub struct NewTexts {
    pending: Vec<String>,
    real: Vec<i64>,
}

impl TextStore for NewTexts {
    fn add(&mut self, body: &str) -> Result<i64> {
        self.pending.push(body.to_string());
        Ok(-i64::try_from(self.real.len() + self.pending.len()).unwrap_or(i64::MAX))
    }
}

impl NewTexts {
    /// Inserts the pending texts in one statement and learns their ids.
    pub fn insert(&mut self, tx: &mut Transaction<'_>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(pending.len());
        for r in tx.query(
            "INSERT INTO lead_texts (body) SELECT b FROM unnest($1::text[]) b
             ON CONFLICT ((md5(body))) DO NOTHING RETURNING body, text_id",
            &[&pending],
        )? {
            ids.insert(r.try_get(0)?, r.try_get(1)?);
        }
        if ids.len() < pending.len() {
            // Texts another session stored meanwhile (a user's own SQL through `leads`).
            for r in tx.query(
                "SELECT body, text_id FROM lead_texts
                 WHERE md5(body) IN (SELECT md5(b) FROM unnest($1::text[]) b)",
                &[&pending],
            )? {
                ids.insert(r.try_get(0)?, r.try_get(1)?);
            }
        }
        for body in &pending {
            let id = ids.get(body).copied().ok_or_else(|| {
                Error::Postgres(format!("a lead text was not stored: {body:.40}…"))
            })?;
            self.real.push(id);
        }
        Ok(())
    }

    /// The real id of `id`.
    pub fn resolve(&self, id: i64) -> Result<i64> {
        if id >= 0 {
            return Ok(id);
        }
        let at = usize::try_from(-id - 1).unwrap_or(usize::MAX);
        self.real
            .get(at)
            .copied()
            .ok_or_else(|| Error::Postgres(format!("text {id} was never stored (a onelead bug)")))
    }
}

/// The writer of one evaluation's leads.
pub struct Writer {
    pub texts: Texts,
    pub new_texts: NewTexts,
    pub run_id: i64,
    pub now: String,
    /// Leads stored when the evaluation began.
    stored: usize,
    /// The lead indexes dropped for a first, bulk write (see [`LeadRun::bulk`]).
    deferred: Vec<String>,
    inserts: CopyRows,
    updates: CopyRows,
    pub events: CopyRows,
    /// The staging table for rewrites exists in this transaction.
    staging: bool,
}

/// A lead's rows in `lead_events` as the writer buffers them.
pub fn event_rows() -> CopyRows {
    CopyRows::new(
        "lead_events",
        &[
            ("lead_id", Type::TEXT),
            ("at", Type::TEXT),
            ("kind", Type::TEXT),
            ("from_status", Type::TEXT),
            ("to_status", Type::TEXT),
            ("note", Type::TEXT),
            ("run_id", Type::INT8),
        ],
    )
}

impl Writer {
    /// Buffers an event of this run.
    pub fn event(&mut self, id: &str, kind: &str, from_to: Option<(&str, &str)>) -> Result<()> {
        let (from, to) = from_to.unzip();
        self.events.push(&[
            &id,
            &self.now.as_str(),
            &kind,
            &from,
            &to,
            &None::<&str>,
            &self.run_id,
        ])
    }

    /// Writes a batch: texts, then rows, rewrites and events.
    fn write(&mut self, tx: &mut Transaction<'_>, batch: &[LeadWrite<'_>]) -> Result<()> {
        let mut rows = Vec::with_capacity(batch.len());
        for w in batch {
            let parts = parts(w);
            rows.push(lead_columns::row(
                &mut self.texts,
                &mut self.new_texts,
                parts,
                self.run_id,
                &self.now,
            )?);
        }
        self.new_texts.insert(tx)?;
        for (w, mut values) in batch.iter().zip(rows) {
            lead_columns::resolve(&mut values, &self.new_texts)?;
            let values: Vec<&dyn ToSql> = values.iter().map(|v| v as &dyn ToSql).collect();
            let lead = parts(w).0;
            match *w {
                LeadWrite::Insert { log, .. } => {
                    self.inserts.push(&values)?;
                    if log {
                        self.event(&lead.lead_id, "created", None)?;
                    }
                }
                LeadWrite::Reopen { .. } => {
                    self.updates.push(&values)?;
                    self.event(&lead.lead_id, "reopened", None)?;
                }
                LeadWrite::Update { priority_from, .. } => {
                    self.updates.push(&values)?;
                    if priority_from != lead.priority {
                        self.event(
                            &lead.lead_id,
                            "priority",
                            Some((priority_from, &lead.priority)),
                        )?;
                    }
                }
            }
        }
        self.inserts.flush(tx)?;
        self.apply_updates(tx)?;
        self.events.flush(tx)?;
        Ok(())
    }

    /// Stages the buffered rewrites and applies them in one statement.
    fn apply_updates(&mut self, tx: &mut Transaction<'_>) -> Result<()> {
        if self.updates.len() == 0 {
            return Ok(());
        }
        if !self.staging {
            tx.batch_execute(
                "CREATE TEMP TABLE IF NOT EXISTS lead_updates (LIKE lead_rows) ON COMMIT DROP",
            )?;
            self.staging = true;
        }
        self.updates.flush(tx)?;
        tx.batch_execute(&lead_columns::APPLY_UPDATES)?;
        Ok(())
    }
}

fn parts<'a>(w: &LeadWrite<'a>) -> (&'a Lead, &'a Encoded) {
    match *w {
        LeadWrite::Insert { lead, enc, .. }
        | LeadWrite::Reopen { lead, enc }
        | LeadWrite::Update { lead, enc, .. } => (lead, enc),
    }
}

/// True when the install base holds the asset of lead `l`: an asset keyed by the lead's serial
/// number, or, where the serial collides, one keyed `serial|…` with the lead's product. A lead
/// without a serial number is keyed by its row (as on SQLite).
const ASSET_PRESENT: &str = "CASE WHEN l.serial_number IS NULL
    THEN EXISTS (SELECT 1 FROM install_base i
                 WHERE i.id = l.install_base_id AND i.serial_number IS NULL)
    ELSE EXISTS (SELECT 1 FROM install_base i WHERE i.asset_key = l.serial_number)
      OR EXISTS (SELECT 1 FROM install_base i
                 WHERE i.asset_key >= l.serial_number || '|'
                   AND i.asset_key < l.serial_number || '}'
                   AND i.product_name IS NOT DISTINCT FROM l.product_name) END";

/// Reads every stored text.
fn read_texts(tx: &mut Transaction<'_>) -> Result<Texts> {
    let mut ids = FastMap::default();
    let mut rows = tx.query_raw(
        "SELECT body, text_id FROM lead_texts",
        std::iter::empty::<i64>(),
    )?;
    while let Some(r) = rows.next()? {
        let body: &str = r.try_get(0)?;
        ids.insert(body.into(), r.try_get(1)?);
    }
    Ok(Texts::new(ids))
}

/// Reads every lead's state, as the ledger compares it, streamed.
fn each_state(tx: &mut Transaction<'_>, visit: &mut dyn FnMut(StoredState<'_>)) -> Result<()> {
    let mut rows = tx.query_raw(
        &format!("SELECT {} FROM lead_rows", *lead_columns::STATE_COLUMNS),
        std::iter::empty::<i64>(),
    )?;
    while let Some(r) = rows.next()? {
        visit(StoredState {
            lead_id: r.try_get(0)?,
            active: r.try_get::<_, i32>(1)? != 0,
            priority: r.try_get(2)?,
            score: r.try_get(3)?,
            fingerprint: r.try_get(4)?,
            rule: r.try_get(5)?,
            placement: lead_columns::placement_key(&r)?,
        });
    }
    Ok(())
}

/// The scheme of the stored fingerprints, in `meta`.
const FINGERPRINTS: &str = "fingerprints";

/// See [`Leads::adopt_fingerprints`].
fn adopt_fingerprints(tx: &mut Transaction<'_>, scheme: &str) -> Result<bool> {
    let stored: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&FINGERPRINTS])?
        .map(|r| r.try_get(0))
        .transpose()?;
    if stored.as_deref() == Some(scheme) {
        return Ok(false);
    }
    let forgot = tx.execute(
        "UPDATE lead_rows SET fingerprint = NULL WHERE fingerprint IS NOT NULL",
        &[],
    )?;
    set_meta(tx, FINGERPRINTS, scheme)?;
    Ok(forgot > 0)
}

/// Sets a stored fact.
pub fn set_meta(tx: &mut Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )?;
    Ok(())
}

/// Drops the lead indexes for a first, bulk write; returns the statements that build them.
fn defer_indexes(tx: &mut Transaction<'_>) -> Result<Vec<String>> {
    let rows = tx.query(
        "SELECT indexname, indexdef FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename = 'lead_rows'
           AND indexname = ANY($1)",
        &[&LEAD_INDEXES],
    )?;
    let mut dropped = Vec::with_capacity(rows.len());
    for r in rows {
        let name: &str = r.try_get(0)?;
        tx.batch_execute(&format!("DROP INDEX {name}"))?;
        dropped.push(r.try_get(1)?);
    }
    Ok(dropped)
}

/// How many texts more than twice what the last sweep left make [`sweep_texts`] sweep.
pub const SWEEP_SLACK: i64 = 10_000;

/// Deletes the texts no lead names any more, once the table holds `slack` more than twice
/// what the last sweep left (as on SQLite). Returns how many it deleted.
pub fn sweep_texts(tx: &mut Transaction<'_>, slack: i64) -> Result<usize> {
    let count: i64 = tx
        .query_one("SELECT count(*) FROM lead_texts", &[])?
        .try_get(0)?;
    let left: Option<i64> = tx
        .query_opt(
            "SELECT value::bigint FROM meta WHERE key = 'lead_texts_swept'",
            &[],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    // The first evaluation sets the mark: nothing it wrote can be unnamed yet.
    let Some(left) = left else {
        set_meta(tx, "lead_texts_swept", &count.to_string())?;
        return Ok(0);
    };
    if count <= 2 * left + slack {
        return Ok(0);
    }
    let deleted = tx.execute(
        "DELETE FROM lead_texts t WHERE NOT EXISTS (
           SELECT 1 FROM (
             SELECT title_id AS id FROM lead_rows UNION ALL SELECT action_id FROM lead_rows
             UNION ALL SELECT reasons_id FROM lead_rows UNION ALL SELECT services_id FROM lead_rows
             UNION ALL SELECT f.value::bigint FROM lead_rows,
               json_each_text(lead_rows.factor_ids::json) f) used
           WHERE used.id = t.text_id)",
        &[],
    )?;
    let deleted = i64::try_from(deleted).unwrap_or(i64::MAX);
    set_meta(tx, "lead_texts_swept", &(count - deleted).to_string())?;
    Ok(usize::try_from(deleted).unwrap_or(0))
}

impl Leads for PgTx<'_> {
    fn count_leads(&mut self) -> Result<usize> {
        let n: i64 = self
            .tx
            .query_one("SELECT count(*) FROM lead_rows", &[])?
            .try_get(0)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn each_lead_state(&mut self, visit: &mut dyn FnMut(StoredState<'_>)) -> Result<()> {
        each_state(&mut self.tx, visit)
    }

    fn adopt_fingerprints(&mut self, scheme: &str) -> Result<bool> {
        adopt_fingerprints(&mut self.tx, scheme)
    }

    fn start_lead_writes(&mut self, run: &LeadRun<'_>) -> Result<()> {
        let deferred = if run.bulk {
            defer_indexes(&mut self.tx)?
        } else {
            Vec::new()
        };
        let cols = lead_columns::copy_columns(&mut self.tx)?;
        self.leads = Some(Writer {
            texts: read_texts(&mut self.tx)?,
            new_texts: NewTexts::default(),
            run_id: run.run_id,
            now: run.now.to_string(),
            stored: run.stored,
            deferred,
            inserts: CopyRows::new("lead_rows", &cols),
            updates: CopyRows::new("lead_updates", &cols),
            events: event_rows(),
            staging: false,
        });
        Ok(())
    }

    fn lead_exists(&mut self, id: &str) -> Result<bool> {
        Ok(self
            .tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM lead_rows WHERE lead_id = $1)",
                &[&id],
            )?
            .try_get(0)?)
    }

    fn write_leads(&mut self, batch: &[LeadWrite<'_>]) -> Result<()> {
        let writer = self.leads.as_mut().ok_or_else(not_started)?;
        writer.write(&mut self.tx, batch)
    }

    /// Nothing to suspend: dropping an index would lock the views out of the lead table
    /// until the commit, where SQLite's readers keep the last committed state.
    fn expect_moves(&mut self, _n: usize) -> Result<()> {
        Ok(())
    }

    fn lead_state(&mut self, id: &str) -> Result<LeadState> {
        let r = self.tx.query_one(
            "SELECT l.lead_id, l.lead_type, l.priority, l.score, a.name, l.product_name,
             l.serial_number FROM lead_rows l LEFT JOIN accounts a ON a.account_id = l.account_id
             WHERE l.lead_id = $1",
            &[&id],
        )?;
        Ok(LeadState {
            lead_id: r.try_get(0)?,
            lead_type: r.try_get(1)?,
            priority: r.try_get(2)?,
            score: r.try_get(3)?,
            account: r.try_get(4)?,
            product: r.try_get(5)?,
            serial: r.try_get(6)?,
        })
    }

    fn close_leads(&mut self, ids: &[String]) -> Result<()> {
        let w = self.leads.as_mut().ok_or_else(not_started)?;
        if w.stored == 0 {
            self.tx.execute(
                "INSERT INTO lead_events (lead_id, at, kind, run_id)
                 SELECT lead_id, $1, 'created', $2 FROM lead_rows ORDER BY lead_id",
                &[&w.now, &w.run_id],
            )?;
        }
        if ids.is_empty() {
            return Ok(());
        }
        // The reason and its event in one statement, the events in the order of `ids`.
        self.tx.execute(
            &format!(
                "WITH ids AS (SELECT id, n FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)),
                 closed AS (
                   UPDATE lead_rows l SET active = 0, run_id = $2,
                     closed_reason = 'closed: ' || CASE WHEN {ASSET_PRESENT}
                       THEN 'no longer triggered' ELSE 'no longer in the install base' END
                   FROM ids WHERE l.lead_id = ids.id
                   RETURNING l.lead_id, l.closed_reason, ids.n)
                 INSERT INTO lead_events (lead_id, at, kind, note, run_id)
                 SELECT lead_id, $3, 'closed', substr(closed_reason, 9), $2 FROM closed
                 ORDER BY n"
            ),
            &[&ids, &w.run_id, &w.now],
        )?;
        Ok(())
    }

    fn end_lead_writes(&mut self, _timing: IndexTiming, compact: bool) -> Result<EndedWrites> {
        self.settle_items()?;
        if compact {
            sweep_texts(&mut self.tx, SWEEP_SLACK)?;
        }
        let deferred = self.leads.take().map(|w| w.deferred).unwrap_or_default();
        let rebuilt = deferred.len();
        build_indexes(&mut self.tx, deferred.iter().map(String::as_str))?;
        if rebuilt > 0 {
            analyze(&mut self.tx, &["lead_rows", "lead_events"])?;
        }
        Ok(EndedWrites {
            rebuilt,
            pending: Vec::new(),
        })
    }

    fn count_active(&mut self) -> Result<usize> {
        super::rescore::count_active(&mut self.tx)
    }

    fn factor_outcomes(&mut self, titles: bool) -> Result<crate::store::api::Outcomes> {
        super::rescore::outcomes(&mut self.tx, titles)
    }

    fn read_scored(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<crate::store::api::StoredScore>> {
        self.types.read(&mut self.tx, after, limit)
    }

    fn write_scored(&mut self, batch: &[crate::store::api::ScoredWrite<'_>]) -> Result<()> {
        let writer = self.leads.as_mut().ok_or_else(not_started)?;
        super::rescore::write(&mut self.tx, writer, batch)
    }
}

fn not_started() -> Error {
    Error::Usage("lead writes were not started (a onelead bug)".into())
}
