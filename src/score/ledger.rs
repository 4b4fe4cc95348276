//! Writing evaluated leads. Every existing lead's state is read once up front (id → active,
//! priority, score, fingerprint), so each lead is written only when it is new, reopened or
//! different: a re-evaluation after a rule edit rewrites the leads the edit changed, not all of
//! them, and the change report falls out of the same comparison instead of two snapshots of the
//! whole table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::Identifier;
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::Outcome;
use super::diff::{ChangeBuilder, Changes, LEAD_STATE_SQL, LeadState, lead_state};
use crate::error::Result;
use crate::fxhash::{FastMap, FastSet, Fx};
use crate::model::lead::{Factor, Lead, Services};

/// What the database held for one lead before this evaluation.
#[derive(Debug)]
pub struct Prior {
    pub(super) active: bool,
    /// Inline (no allocation): one of a few short names.
    pub(super) priority: Identifier,
    pub(super) score: f64,
    pub(super) fingerprint: Option<i64>,
    /// [`index_keys`] of the stored row.
    keys: u64,
    /// [`rule_key`] of the trigger that made it.
    rule: u64,
    /// Triggered again by this evaluation. Atomic because the workers read the states (to skip
    /// encoding unchanged leads) while the writer marks them.
    seen: AtomicBool,
}

impl Prior {
    /// True when a lead evaluated to `fingerprint` needs no write: it is active and the same.
    pub fn unchanged(&self, fingerprint: i64) -> bool {
        self.active && self.fingerprint == Some(fingerprint)
    }

    /// True when an active lead evaluated to `fingerprint` reads differently from what is
    /// stored. A lead stored without a fingerprint (cleared by a migration) is rewritten, but
    /// nothing says its text changed.
    fn reworded(&self, fingerprint: i64) -> bool {
        self.active && self.fingerprint.is_some_and(|f| f != fingerprint)
    }
}

/// How states name the trigger rule (file stem) behind a lead: 8 bytes instead of a string per
/// lead.
pub fn rule_key(rule: &str) -> u64 {
    Fx::default().hash_one(rule)
}

/// A lead's stored columns, encoded by the worker that evaluated it (off the writer thread).
pub struct Encoded {
    reasons: String,
    skus: String,
    extra: String,
    estimated_value: Option<f64>,
    fingerprint: i64,
    keys: u64,
}

/// A hash of the columns the `leads` indexes hold besides `active`, `priority` and `score`
/// (which the ledger compares directly). When none of them changed, an update leaves the
/// indexes alone: SQLite only touches an index whose columns the `SET` names, and rewriting
/// five index entries per lead made a re-evaluation that changed only text 3–4× slower.
fn index_keys(
    lead_type: &str,
    account_id: Option<&str>,
    territory_id: Option<&str>,
    product_family: Option<&str>,
    estimated_value: Option<f64>,
) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (
        lead_type,
        account_id,
        territory_id,
        product_family,
        estimated_value.map(f64::to_bits),
    )
        .hash(&mut h);
    h.finish()
}

/// `v` as JSON, in a buffer of `capacity` bytes to start with: sized per column, because a
/// lead's buffers wait in memory until its chunk is written.
fn json<T: serde::Serialize>(v: &T, capacity: usize) -> String {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, v) {
        Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| "null".into()),
        Err(_) => "null".into(),
    }
}

impl Encoded {
    /// Encodes the JSON columns of a lead whose [`fingerprint`] is `fingerprint`.
    pub fn of(lead: &Lead, fingerprint: i64) -> Encoded {
        let estimated_value = estimated_value(lead);
        Encoded {
            reasons: json(&lead.reasons, 128),
            skus: lead.recommended_skus.join(","),
            extra: json(&lead.extra, 16),
            estimated_value,
            fingerprint,
            keys: index_keys(
                &lead.lead_type,
                lead.account_id.as_deref(),
                lead.territory_id.as_deref(),
                lead.product_family.as_deref(),
                estimated_value,
            ),
        }
    }
}

/// `extra.estimated_value`: a column of its own, so pipeline sums read an index instead of
/// parsing JSON.
fn estimated_value(lead: &Lead) -> Option<f64> {
    lead.extra
        .get("estimated_value")
        .and_then(serde_json::Value::as_f64)
}

/// A hash of every column a re-evaluation can change, taken from the lead's fields rather than
/// its JSON: a worker finds an unchanged lead without encoding it (most leads, after an edit).
/// The XOR of independent parts: the lead's own columns ([`base_hash`]), its score and priority
/// ([`score_hash`]) and each factor ([`factor_hash`]). A re-evaluation that changes only the
/// factors and the score (see `score::rescore`) then computes the new fingerprint from the
/// stored one ([`scored_part`]), without the rest of the lead.
/// SipHash with fixed keys: stable across runs of one build. A different build may hash
/// differently, which only costs one full rewrite.
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
        h ^= factor_hash(name, f);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Everything [`fingerprint`] covers but the score, the priority and the factors.
fn base_hash(lead: &Lead) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (
        &lead.lead_type,
        &lead.rule,
        lead.install_base_id,
        &lead.serial_number,
        &lead.product_name,
        &lead.product_family,
        &lead.account_id,
        &lead.territory_id,
    )
        .hash(&mut h);
    (
        &lead.title,
        &lead.description,
        &lead.recommended_action,
        &lead.reasons,
        &lead.recommended_skus,
        lead.days_since_eol,
    )
        .hash(&mut h);
    lead.recommended_services.len().hash(&mut h);
    for r in lead.recommended_services.iter() {
        (&r.service, &r.skus, r.priority, &r.product).hash(&mut h);
    }
    // Usually empty; JSON is the one stable form of arbitrary values.
    if lead.extra.is_empty() {
        0_u8.hash(&mut h);
    } else {
        json(&lead.extra, 64).hash(&mut h);
    }
    h.finish()
}

/// The score and priority's part of [`fingerprint`].
pub fn score_hash(score: f64, priority: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (score.to_bits(), priority).hash(&mut h);
    h.finish()
}

/// One factor's part: its name is in it, so two factors never cancel out.
fn factor_hash(name: &str, f: &Factor) -> u64 {
    factor_part(name, f, reasons_digest(&f.reasons))
}

/// [`factor_hash`] with the digest of the factor's reasons given: re-scoring finds most of them
/// already made (one per stored outcome), where hashing the strings was most of its hashing.
pub fn factor_part(name: &str, f: &Factor, reasons: u64) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    let bits = [f.value, f.weight, f.contribution].map(f64::to_bits);
    (name, bits, reasons).hash(&mut h);
    h.finish()
}

/// The digest of a factor's reasons that [`factor_part`] takes.
pub fn reasons_digest(reasons: &[String]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    reasons.hash(&mut h);
    h.finish()
}

/// Every stored lead's state by id, as the ledger compares it. `watch` keeps it from one
/// evaluation to the next (see [`super::Carry`]) instead of reading every lead again.
/// Ids are kept inline ([`Identifier`] holds up to 23 bytes without allocating; ids have 8 or
/// 13): no allocation per stored lead.
pub type LeadStates = FastMap<Identifier, Prior>;

/// Reads every lead's state.
pub fn read_states(conn: &Connection) -> Result<LeadStates> {
    // Sized up front: growing the map rehashes every state read so far, several times over.
    let n: i64 = conn.query_row("SELECT count(*) FROM lead_rows", [], |r| r.get(0))?;
    let mut states = LeadStates::with_capacity_and_hasher(
        usize::try_from(n).unwrap_or(0),
        std::hash::BuildHasherDefault::default(),
    );
    let mut stmt = conn.prepare(
        "SELECT lead_id, active, priority, score, fingerprint, lead_type, account_id,
         territory_id, product_family, estimated_value, rule FROM lead_rows",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            Identifier::from(r.get_ref(0)?.as_str()?),
            Prior {
                active: r.get(1)?,
                priority: r.get_ref(2)?.as_str()?.into(),
                score: r.get(3)?,
                fingerprint: r.get(4)?,
                keys: index_keys(
                    r.get_ref(5)?.as_str()?,
                    r.get_ref(6)?.as_str_or_null()?,
                    r.get_ref(7)?.as_str_or_null()?,
                    r.get_ref(8)?.as_str_or_null()?,
                    r.get(9)?,
                ),
                rule: rule_key(r.get_ref(10)?.as_str()?),
                seen: AtomicBool::new(false),
            },
        ))
    })?;
    for row in rows {
        let (id, p) = row?;
        states.insert(id, p);
    }
    Ok(states)
}

/// What [`Ledger::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Stored before this evaluation; now this lead's.
    Stored,
    /// Not stored; now this lead's.
    New,
    /// Claimed already in this evaluation.
    Taken,
    /// Stored for a trigger outside a partial evaluation's scope: the caller must evaluate
    /// everything instead.
    Foreign,
}

/// The writer's state for one evaluation.
pub struct Ledger<'s> {
    /// Read-only for the evaluation (the workers read it too); what changes is collected in
    /// `fresh` and applied by [`Settled::apply`].
    prior: &'s LeadStates,
    /// The table held no lead when the evaluation began.
    was_empty: bool,
    /// Collect the states of the leads written, to hand them to the next evaluation.
    keep: bool,
    fresh: Vec<(Identifier, Prior)>,
    /// Hashes of the ids this evaluation inserted (ids already stored are marked in `prior`):
    /// 8 bytes a lead instead of a copy of every id, 60 MB at a million leads.
    inserted: FastSet<u64>,
    /// A partial evaluation re-runs only these triggers ([`rule_key`]s): every other stored
    /// lead stands as it is.
    scope: Option<FastSet<u64>>,
    changes: Option<ChangeBuilder>,
    texts: Texts,
    /// Updates so far that moved a score or priority, and the indexes dropped once they were
    /// many (see [`Ledger::rescored`]).
    rescored: usize,
    deferred: Vec<DroppedIndex>,
    run_id: i64,
    now: String,
    /// Leads inserted, updated and left alone, for `ONELEAD_TIMINGS`.
    pub writes: [u64; 3],
}

impl<'s> Ledger<'s> {
    /// Starts from the stored leads' `prior` states; `track` also builds the change report,
    /// `keep` collects the states for the next evaluation. With `scope`, only the leads of those
    /// triggers are evaluated (see [`Claim::Foreign`]).
    pub fn new(
        conn: &Connection,
        prior: &'s LeadStates,
        keep: bool,
        run_id: i64,
        now: &str,
        track: Changes,
        scope: Option<FastSet<u64>>,
    ) -> Result<Ledger<'s>> {
        let changes = ChangeBuilder::new(track).map(|mut c| {
            for p in prior.values().filter(|p| p.active) {
                c.count_before(&p.priority);
            }
            c
        });
        Ok(Ledger {
            was_empty: prior.is_empty(),
            prior,
            keep,
            fresh: Vec::new(),
            inserted: FastSet::default(),
            scope,
            changes,
            texts: Texts::read(conn)?,
            rescored: 0,
            deferred: Vec::new(),
            run_id,
            now: now.to_string(),
            writes: [0; 3],
        })
    }

    /// Claims `id` for this evaluation, and says whether it was stored, new or taken already
    /// (two assets whose ids collide).
    pub fn claim(&mut self, conn: &Connection, id: &str) -> Result<Claim> {
        if let Some(p) = self.prior.get(id) {
            // In a partial evaluation, an id stored for a trigger outside the scope: which of
            // the two would hold it in a full evaluation depends on the order they are met in.
            if self.scope.as_ref().is_some_and(|s| !s.contains(&p.rule)) {
                return Ok(Claim::Foreign);
            }
            let taken = p.seen.swap(true, Ordering::Relaxed);
            return Ok(if taken { Claim::Taken } else { Claim::Stored });
        }
        if self.inserted.insert(Fx::default().hash_one(id)) {
            return Ok(Claim::New);
        }
        // Equal hashes: rare enough to ask the table. An id not in `prior` that the table holds
        // was inserted by this evaluation.
        let taken: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM lead_rows WHERE lead_id = ?1)")?
            .query_row([id], |r| r.get(0))?;
        Ok(if taken { Claim::Taken } else { Claim::New })
    }

    /// True when only some triggers are evaluated.
    pub fn is_partial(&self) -> bool {
        self.scope.is_some()
    }

    /// Writes one triggered lead if it is new, reopened or changed. `enc` is `None` when the
    /// worker found the lead unchanged under the id it evaluated; it is encoded here if the lead
    /// needs writing after all.
    pub fn write(
        &mut self,
        conn: &Connection,
        lead: &Lead,
        fingerprint: i64,
        enc: Option<Encoded>,
        out: &mut Outcome,
    ) -> Result<()> {
        let prior = self.prior.get(lead.lead_id.as_str());
        if let Some(c) = &mut self.changes {
            c.count_after(&lead.priority);
            match prior {
                // Most leads do not move: their state is built only when reported.
                Some(p) if p.active && (p.priority != lead.priority || p.score != lead.score) => {
                    c.moved(
                        &lead.lead_id,
                        (&p.priority, p.score),
                        (&lead.priority, lead.score),
                        || Ok::<_, crate::error::Error>(state(lead)),
                    )?;
                }
                Some(p) if p.active => {
                    if p.reworded(fingerprint) {
                        c.reworded();
                    }
                }
                _ => c.added(state(lead)),
            }
        }
        if prior.is_some_and(|p| p.unchanged(fingerprint)) {
            self.writes[2] += 1;
            return Ok(());
        }
        let enc = enc.unwrap_or_else(|| Encoded::of(lead, fingerprint));
        let ids = self.texts.of(conn, lead, &enc)?;
        let run_id = self.run_id;
        let values = columns(lead, &enc, &ids, &run_id);
        match prior {
            None => {
                self.writes[0] += 1;
                out.new_leads += 1;
                insert(conn, &values, &self.now)?;
                // Into an empty table every lead is new: one statement logs them all at the end.
                if !self.was_empty {
                    event(conn, &lead.lead_id, &self.now, "created", self.run_id)?;
                }
            }
            Some(p) if !p.active => {
                self.writes[1] += 1;
                out.reopened += 1;
                update_with(conn, UPDATE, &values)?;
                event(conn, &lead.lead_id, &self.now, "reopened", self.run_id)?;
            }
            Some(p)
                if p.priority == lead.priority && p.score == lead.score && p.keys == enc.keys =>
            {
                self.writes[1] += 1;
                update_with(conn, UPDATE_CONTENT, &values)?;
            }
            Some(p) => {
                self.writes[1] += 1;
                self.rescored(conn)?;
                let sql = if p.keys == enc.keys {
                    UPDATE_SCORED
                } else {
                    UPDATE
                };
                update_with(conn, sql, &values)?;
                self.priority_event(conn, &lead.lead_id, &p.priority, &lead.priority)?;
            }
        }
        let rule = rule_key(&lead.rule);
        self.keep_state(
            &lead.lead_id,
            &lead.priority,
            lead.score,
            enc.fingerprint,
            (enc.keys, rule),
        );
        Ok(())
    }

    /// Logs a priority move (the digest reports them; the event reuses the from/to columns).
    fn priority_event(&self, conn: &Connection, id: &str, from: &str, to: &str) -> Result<()> {
        if from != to {
            conn.prepare_cached(
                "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, run_id)
                 VALUES (?1, ?2, 'priority', ?3, ?4, ?5)",
            )?
            .execute(params![id, self.now, from, to, self.run_id])?;
        }
        Ok(())
    }

    /// Collects a written lead's state for the next evaluation, when kept. `index` is its
    /// [`index_keys`] and [`rule_key`].
    fn keep_state(
        &mut self,
        id: &str,
        priority: &str,
        score: f64,
        fingerprint: i64,
        index: (u64, u64),
    ) {
        if self.keep {
            let p = Prior {
                active: true,
                priority: priority.into(),
                score,
                fingerprint: Some(fingerprint),
                keys: index.0,
                rule: index.1,
                seen: AtomicBool::new(false),
            };
            self.fresh.push((id.into(), p));
        }
    }

    /// Writes a stored active lead whose score, priority and factor weights alone may have
    /// changed (see `score::rescore`): what [`Ledger::write`] would write for it, without the
    /// rest of the lead, in its `lead_rows` row `rowid`. `state` names the lead in the change
    /// report, if it moved.
    pub fn write_scored(
        &mut self,
        conn: &Connection,
        (rowid, id): (i64, &str),
        new: &Rescored,
        state: impl FnOnce() -> Result<LeadState>,
    ) -> Result<()> {
        let Some(p) = self.prior.get(id).filter(|p| p.active) else {
            return Ok(());
        };
        p.seen.store(true, Ordering::Relaxed);
        let moved = p.priority != new.priority || p.score != new.score;
        if let Some(c) = &mut self.changes {
            c.count_after(new.priority);
            if moved {
                c.moved(id, (&p.priority, p.score), (new.priority, new.score), state)?;
            } else if p.reworded(new.fingerprint) {
                c.reworded();
            }
        }
        if p.unchanged(new.fingerprint) {
            self.writes[2] += 1;
            return Ok(());
        }
        self.writes[1] += 1;
        let factor_ids = self.texts.factor_ids(conn, &new.factors)?;
        if moved {
            self.rescored(conn)?;
            // SQLite updates an index over every column the statement sets, changed or not:
            // the priority is set only where it moves, so the indexes over it (and not over
            // the score) are touched only there.
            let sql = if p.priority == new.priority {
                "UPDATE lead_rows SET score = ?2, factor_ids = ?4, fingerprint = ?5, run_id = ?6
                 WHERE rowid = ?1"
            } else {
                "UPDATE lead_rows SET score = ?2, priority = ?3, factor_ids = ?4,
                 fingerprint = ?5, run_id = ?6 WHERE rowid = ?1"
            };
            conn.prepare_cached(sql)?.execute(params![
                rowid,
                new.score,
                new.priority,
                factor_ids,
                new.fingerprint,
                self.run_id
            ])?;
        } else {
            conn.prepare_cached(
                "UPDATE lead_rows SET factor_ids = ?2, fingerprint = ?3, run_id = ?4
                 WHERE rowid = ?1",
            )?
            .execute(params![rowid, factor_ids, new.fingerprint, self.run_id])?;
        }
        self.priority_event(conn, id, &p.priority, new.priority)?;
        self.keep_state(
            id,
            new.priority,
            new.score,
            new.fingerprint,
            (p.keys, p.rule),
        );
        Ok(())
    }

    /// Counts an update that moves a lead's score or priority. Once a quarter of the stored leads
    /// have moved (a weight change moves nearly all), the `lead_rows` indexes are dropped, to be
    /// built again when the evaluation closes: at 100k leads, keeping the four indexes that hold
    /// the score in step took 0.9 s, building all five afresh 0.4 s.
    fn rescored(&mut self, conn: &Connection) -> Result<()> {
        self.rescored += 1;
        if self.rescored == self.prior.len() / 4 + 1 && self.deferred.is_empty() {
            self.deferred = defer_indexes(conn, MOVING)?;
        }
        Ok(())
    }

    /// Says that `n` leads' scores or priorities are about to move: if they are as many as
    /// [`Ledger::rescored`] waits for, the indexes go now rather than after a quarter of them.
    pub fn expect_moves(&mut self, conn: &Connection, n: usize) -> Result<()> {
        if n > self.prior.len() / 4 && self.deferred.is_empty() {
            self.deferred = defer_indexes(conn, MOVING)?;
        }
        Ok(())
    }

    /// Marks active leads this evaluation did not trigger as inactive (they keep their status and
    /// history) and returns how many, with the change report if one was asked for and, when
    /// kept, what changed in the states. In a partial evaluation, the active leads of the
    /// triggers outside the scope stand: they count as triggered.
    pub fn close_untriggered(self, conn: &Connection) -> Result<Settled> {
        let Ledger {
            prior,
            was_empty,
            keep,
            fresh,
            mut changes,
            scope,
            run_id,
            now,
            writes,
            inserted: _,
            texts: _,
            rescored: _,
            deferred,
        } = self;
        if std::env::var_os("ONELEAD_TIMINGS").is_some() {
            let [inserted, updated, unchanged] = writes;
            eprintln!("leads: {inserted} inserted, {updated} updated, {unchanged} unchanged");
        }
        let mut gone = Vec::new();
        let mut kept = 0;
        for (id, p) in prior.iter().filter(|(_, p)| p.active) {
            if scope.as_ref().is_none_or(|s| s.contains(&p.rule)) {
                if !p.seen.load(Ordering::Relaxed) {
                    gone.push(id.to_string());
                }
            } else {
                kept += 1;
                if let Some(c) = &mut changes {
                    c.count_after(&p.priority);
                }
            }
        }
        gone.sort();
        if was_empty {
            // In id order: read from the id index alone, not the wide rows, and appended to the
            // events' own id index instead of inserted at random (3.1 s → 0.5 s at 1.2M leads).
            conn.execute(
                "INSERT INTO lead_events (lead_id, at, kind, run_id)
                 SELECT lead_id, ?1, 'created', ?2 FROM lead_rows ORDER BY lead_id",
                params![now, run_id],
            )?;
        }
        for id in &gone {
            if let Some(c) = &mut changes {
                c.removed(read_state(conn, id)?);
            }
            conn.prepare_cached(
                "UPDATE lead_rows SET active = 0, closed_reason = 'closed: no longer triggered',
                 run_id = ?2 WHERE lead_id = ?1",
            )?
            .execute(params![id, run_id])?;
            conn.prepare_cached(
                "INSERT INTO lead_events (lead_id, at, kind, note, run_id)
                 VALUES (?1, ?2, 'closed', 'no longer triggered', ?3)",
            )?
            .execute(params![id, now, run_id])?;
        }
        // `watch` (which keeps its states) sweeps after printing its report instead, outside
        // the round trip of a save.
        if !keep {
            sweep_texts(conn, SWEEP_SLACK)?;
        }
        Ok(Settled {
            deferred,
            closed: gone.len(),
            kept,
            changes: changes.map(ChangeBuilder::finish),
            update: keep.then_some(StateUpdate { fresh, gone }),
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

/// A stored lead re-weighed: what [`Ledger::write_scored`] writes.
pub struct Rescored {
    pub score: f64,
    pub priority: &'static str,
    /// The stored factors with the new weights and contributions.
    pub factors: BTreeMap<String, Factor>,
    pub fingerprint: i64,
}

/// What [`Ledger::close_untriggered`] returns.
pub struct Settled {
    /// The indexes this evaluation dropped, to be built again.
    pub deferred: Vec<DroppedIndex>,
    /// Leads closed.
    pub closed: usize,
    /// Active leads outside a partial evaluation's scope: triggered as before.
    pub kept: usize,
    /// The change report, when tracked.
    pub changes: Option<super::diff::ChangeReport>,
    /// What changed in the states, when kept.
    update: Option<StateUpdate>,
}

struct StateUpdate {
    fresh: Vec<(Identifier, Prior)>,
    gone: Vec<String>,
}

impl Settled {
    /// Brings `states` up to date with what the evaluation wrote; `None` unless the ledger kept
    /// its changes.
    pub fn apply(&mut self, mut states: LeadStates) -> Option<LeadStates> {
        let StateUpdate { fresh, gone } = self.update.take()?;
        unsee(&states);
        for id in &gone {
            if let Some(p) = states.get_mut(id.as_str()) {
                p.active = false;
            }
        }
        states.extend(fresh);
        Some(states)
    }
}

/// True when re-running only the triggers in `scope` can give every lead a full evaluation
/// would. Not so when a lead outside the scope holds a long id (its short one was taken when it
/// was written) and the holder of its short id is not a standing lead outside the scope: a full
/// evaluation could give the short id back, which a partial one never revisits.
pub fn settles_alone(states: &LeadStates, scope: &FastSet<u64>) -> bool {
    let standing = |p: &Prior| p.active && !scope.contains(&p.rule);
    states
        .iter()
        .filter(|(id, p)| id.len() > crate::model::lead::SHORT_ID && standing(p))
        .all(|(id, _)| {
            id.get(..crate::model::lead::SHORT_ID)
                .and_then(|short| states.get(short))
                .is_some_and(standing)
        })
}

/// Forgets which leads an abandoned evaluation marked as seen.
pub fn unsee(states: &LeadStates) {
    for p in states.values() {
        p.seen.store(false, Ordering::Relaxed);
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
    pub name: String,
    pub sql: String,
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

fn state(lead: &Lead) -> LeadState {
    LeadState {
        lead_id: lead.lead_id.clone(),
        lead_type: lead.lead_type.clone(),
        priority: lead.priority.clone(),
        score: lead.score,
        account: lead.account_name.clone(),
        product: lead.product_name.clone(),
        serial: lead.serial_number.clone(),
    }
}

pub(super) fn read_state(conn: &Connection, id: &str) -> Result<LeadState> {
    Ok(conn
        .prepare_cached(&format!("{LEAD_STATE_SQL} WHERE l.lead_id = ?1"))?
        .query_row([id], lead_state)?)
}

fn event(conn: &Connection, id: &str, now: &str, kind: &str, run_id: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO lead_events (lead_id, at, kind, run_id) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, now, kind, run_id])?;
    Ok(())
}

/// Every text the leads name, by body ([`lead_texts`](crate::store::schema)): the writer turns a
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
    use super::*;
    use crate::store::Store;

    fn lead_row(conn: &Connection, id: &str, active: bool) {
        conn.execute(
            "INSERT INTO leads (lead_id, lead_type, rule, install_base_id, title, description,
               recommended_action, score, priority, factors, reasons, recommended_services,
               recommended_skus, extra, active, created_at, updated_at, run_id)
             VALUES (?1, 'T', 'r', 1, 't', 'd', 'a', 50, 'HIGH', '{}', '[]', '[]', '', '{}', ?2,
               'x', 'x', 1)",
            params![id, active],
        )
        .unwrap();
    }

    #[test]
    fn an_id_is_claimed_once_whether_stored_before_or_inserted_now() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db")).unwrap();
        let conn = &store.conn;
        lead_row(conn, "OLD1", true);
        lead_row(conn, "OLD2", true);
        let states = read_states(conn).unwrap();
        let mut ledger = Ledger::new(conn, &states, false, 2, "now", Changes::Off, None).unwrap();
        // Stored before: marked in `prior`.
        assert_eq!(ledger.claim(conn, "OLD1").unwrap(), Claim::Stored);
        assert_eq!(ledger.claim(conn, "OLD1").unwrap(), Claim::Taken);
        // New: the hash answers first, the table confirms a repeat.
        assert_eq!(ledger.claim(conn, "NEW1").unwrap(), Claim::New);
        lead_row(conn, "NEW1", true);
        assert_eq!(ledger.claim(conn, "NEW1").unwrap(), Claim::Taken);
        // The one stored lead not claimed is closed.
        assert_eq!(ledger.close_untriggered(conn).unwrap().closed, 1);
        let active: String = conn
            .query_row(
                "SELECT group_concat(lead_id) FROM leads WHERE active = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(active, "OLD1,NEW1");
    }

    fn lead(title: &str, score: f64) -> Lead {
        Lead {
            lead_id: "L1".into(),
            lead_type: "T".into(),
            rule: "r".into(),
            priority: "HIGH".into(),
            score,
            factors: std::collections::BTreeMap::new(),
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

    /// Writes `l` as evaluation `run` would; returns [inserted, updated, unchanged].
    fn write(conn: &Connection, run: i64, l: &Lead) -> [u64; 3] {
        let states = read_states(conn).unwrap();
        let mut ledger = Ledger::new(conn, &states, false, run, "now", Changes::Off, None).unwrap();
        assert_ne!(ledger.claim(conn, &l.lead_id).unwrap(), Claim::Taken);
        let fp = fingerprint(l);
        ledger
            .write(
                conn,
                l,
                fp,
                Some(Encoded::of(l, fp)),
                &mut Outcome::default(),
            )
            .unwrap();
        ledger.writes
    }

    fn stored(conn: &Connection) -> (String, f64, i64) {
        conn.query_row("SELECT title, score, run_id FROM leads", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_lead_names_each_text_once_and_a_sweep_drops_the_texts_no_lead_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db")).unwrap();
        let conn = &store.conn;
        let mut l = lead("first", 50.0);
        l.factors.insert(
            "urgency".into(),
            Factor {
                value: 80.0,
                weight: 0.5,
                contribution: 40.0,
                reasons: vec!["EOL \"soon\"".to_string()].into(),
            },
        );
        write(conn, 1, &l);
        // Title, action, reasons, services and the one factor outcome.
        assert_eq!(count(conn, "SELECT count(*) FROM lead_texts"), 5);
        let factors: String = conn
            .query_row("SELECT factors FROM leads", [], |r| r.get(0))
            .unwrap();
        let read: std::collections::BTreeMap<String, Factor> =
            serde_json::from_str(&factors).unwrap();
        assert_eq!(read, l.factors);
        // The first sweep marks what is there (5); the next sweeps when there are more than
        // twice as many (with no slack), and deletes every text no lead names.
        assert_eq!(sweep_texts(conn, 0).unwrap(), 0);
        for n in 0..5 {
            l.title = format!("title {n}");
            write(conn, 2 + n, &l);
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
        write(conn, 20, &l);
        assert_eq!(sweep_texts(conn, 100).unwrap(), 0);
    }

    #[test]
    fn a_changed_lead_is_rewritten_whether_or_not_its_indexed_columns_moved() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db")).unwrap();
        let conn = &store.conn;
        assert_eq!(write(conn, 1, &lead("first", 50.0)), [1, 0, 0]);
        assert_eq!(write(conn, 2, &lead("first", 50.0)), [0, 0, 1]);
        assert_eq!(stored(conn), ("first".into(), 50.0, 1));
        // Text only: the content update.
        assert_eq!(write(conn, 3, &lead("second", 50.0)), [0, 1, 0]);
        assert_eq!(stored(conn), ("second".into(), 50.0, 3));
        // Score too: the full update.
        assert_eq!(write(conn, 4, &lead("third", 55.0)), [0, 1, 0]);
        assert_eq!(stored(conn), ("third".into(), 55.0, 4));
        let mut moved = lead("third", 55.0);
        moved.territory_id = Some("T2".into());
        assert_eq!(write(conn, 5, &moved), [0, 1, 0]);
        let territory: String = conn
            .query_row("SELECT territory_id FROM leads", [], |r| r.get(0))
            .unwrap();
        assert_eq!(territory, "T2");
    }
}
