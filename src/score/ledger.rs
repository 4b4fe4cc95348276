//! Deciding which evaluated leads to write. Every existing lead's state is read once up front
//! (id → active, priority, score, fingerprint), so each lead is written only when it is new,
//! reopened or different: a re-evaluation after a rule edit rewrites the leads the edit
//! changed, not all of them, and the change report falls out of the same comparison instead of
//! two snapshots of the whole table. The store writes what is decided here, a batch at a time.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::atomic::Ordering;

use rhai::Identifier;

use super::Outcome;
use super::diff::{ChangeBuilder, Changes};
use super::states::Written;
pub use super::states::{LeadStates, Prior, read_states, rule_key};
use crate::error::Result;
use crate::fxhash::{FastSet, Fx};
use crate::model::lead::{Factor, Lead, LeadState};
use crate::store::api::{Changed, LeadWrite, ScoredWrite, WriteTx};
use crate::store::columns::Encoded;

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

/// A lead write the ledger decided, holding what the store needs besides the lead.
pub struct Decision {
    enc: Encoded,
    kind: Kind,
}

enum Kind {
    Insert { log: bool },
    Reopen,
    Update { changed: Changed, from: Identifier },
}

impl Decision {
    /// The store's write of `lead` as decided.
    pub fn write<'a>(&'a self, lead: &'a Lead) -> LeadWrite<'a> {
        let enc = &self.enc;
        match &self.kind {
            Kind::Insert { log } => LeadWrite::Insert {
                lead,
                enc,
                log: *log,
            },
            Kind::Reopen => LeadWrite::Reopen { lead, enc },
            Kind::Update { changed, from } => LeadWrite::Update {
                lead,
                enc,
                changed: *changed,
                priority_from: from,
            },
        }
    }
}

/// A re-scored lead's write, as [`Ledger::decide_scored`] decided it.
pub struct ScoredDecision {
    at: i64,
    from: Identifier,
    moved: bool,
}

impl ScoredDecision {
    /// The store's write of `new`, the lead `id` re-scored.
    pub fn write<'a>(&'a self, id: &'a str, new: &'a Rescored) -> ScoredWrite<'a> {
        ScoredWrite {
            at: self.at,
            lead_id: id,
            score: new.score,
            priority: new.priority,
            priority_from: &self.from,
            moved: self.moved,
            factors: &new.factors,
            fingerprint: new.fingerprint,
        }
    }
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
    fresh: Vec<(Identifier, Written)>,
    /// Hashes of the ids this evaluation inserted (ids already stored are marked in `prior`):
    /// 8 bytes a lead instead of a copy of every id, 60 MB at a million leads.
    inserted: FastSet<u64>,
    /// The ids claimed new since the last [`Ledger::written`], with their hashes: the store
    /// cannot tell a repeat of one of these (two rows of one asset in one chunk) yet.
    unwritten: Vec<(u64, Identifier)>,
    /// A partial evaluation re-runs only these triggers ([`rule_key`]s): every other stored
    /// lead stands as it is.
    scope: Option<FastSet<u64>>,
    changes: Option<ChangeBuilder>,
    /// Leads inserted, updated and left alone, for the timings.
    pub writes: [u64; 3],
}

impl<'s> Ledger<'s> {
    /// Starts from the stored leads' `prior` states; `track` also builds the change report,
    /// `keep` collects the states for the next evaluation. With `scope`, only the leads of those
    /// triggers are evaluated (see [`Claim::Foreign`]).
    pub fn new(
        prior: &'s LeadStates,
        keep: bool,
        track: Changes,
        scope: Option<FastSet<u64>>,
    ) -> Ledger<'s> {
        let changes = ChangeBuilder::new(track).map(|mut c| {
            for p in prior.values().filter(|p| p.active) {
                c.count_before(prior.priority(p));
            }
            c
        });
        Ledger {
            was_empty: prior.is_empty(),
            prior,
            keep,
            fresh: Vec::new(),
            inserted: FastSet::default(),
            unwritten: Vec::new(),
            scope,
            changes,
            writes: [0; 3],
        }
    }

    /// Claims `id` for this evaluation, and says whether it was stored, new or taken already
    /// (two assets whose ids collide).
    pub fn claim(&mut self, tx: &mut dyn WriteTx, id: &str) -> Result<Claim> {
        if let Some(p) = self.prior.get(id) {
            // In a partial evaluation, an id stored for a trigger outside the scope: which of
            // the two would hold it in a full evaluation depends on the order they are met in.
            if self.scope.as_ref().is_some_and(|s| !s.contains(&p.rule)) {
                return Ok(Claim::Foreign);
            }
            let taken = p.seen.swap(true, Ordering::Relaxed);
            return Ok(if taken { Claim::Taken } else { Claim::Stored });
        }
        let hash = Fx::default().hash_one(id);
        if self.inserted.insert(hash) {
            self.unwritten.push((hash, id.into()));
            return Ok(Claim::New);
        }
        // Equal hashes: rare enough to look further. An id not in `prior` that this evaluation
        // inserted is either not written yet or in the store.
        let repeat = self
            .unwritten
            .iter()
            .any(|(h, u)| *h == hash && u.as_str() == id);
        Ok(if repeat || tx.lead_exists(id)? {
            Claim::Taken
        } else {
            self.unwritten.push((hash, id.into()));
            Claim::New
        })
    }

    /// Says that every lead claimed so far has been written (see [`Ledger::claim`]).
    pub fn written(&mut self) {
        self.unwritten.clear();
    }

    /// True when the states of the leads written are collected for the next evaluation.
    pub fn keeps(&self) -> bool {
        self.keep
    }

    /// True when only some triggers are evaluated.
    pub fn is_partial(&self) -> bool {
        self.scope.is_some()
    }

    /// Decides whether a triggered lead is written, and how: if it is new, reopened or changed.
    /// `enc` is `None` when the worker found the lead unchanged under the id it evaluated; it
    /// is encoded here if the lead needs writing after all.
    pub fn decide(
        &mut self,
        lead: &Lead,
        fingerprint: i64,
        enc: Option<Encoded>,
        out: &mut Outcome,
    ) -> Result<Option<Decision>> {
        let prior = self.prior.get(lead.lead_id.as_str());
        self.track(lead, prior, fingerprint)?;
        if prior.is_some_and(|p| p.unchanged(fingerprint)) {
            self.writes[2] += 1;
            return Ok(None);
        }
        let enc = enc.unwrap_or_else(|| Encoded::of(lead, fingerprint));
        let kind = match prior {
            None => {
                self.writes[0] += 1;
                out.new_leads += 1;
                // Into an empty table every lead is new: the store logs them all at the end.
                Kind::Insert {
                    log: !self.was_empty,
                }
            }
            Some(p) if !p.active => {
                self.writes[1] += 1;
                out.reopened += 1;
                Kind::Reopen
            }
            Some(p) => {
                self.writes[1] += 1;
                let from = self.prior.priority(p);
                let changed =
                    if from == lead.priority && p.score == lead.score && p.keys == enc.keys {
                        Changed::Content
                    } else if p.keys == enc.keys {
                        Changed::Scored
                    } else {
                        Changed::Everything
                    };
                Kind::Update {
                    changed,
                    from: from.into(),
                }
            }
        };
        self.keep_state(
            &lead.lead_id,
            &lead.priority,
            lead.score,
            enc.fingerprint,
            (enc.keys, rule_key(&lead.rule)),
        );
        Ok(Some(Decision { enc, kind }))
    }

    /// Feeds a triggered lead to the change report, when one is built.
    fn track(&mut self, lead: &Lead, prior: Option<&Prior>, fingerprint: i64) -> Result<()> {
        let Some(c) = &mut self.changes else {
            return Ok(());
        };
        c.count_after(&lead.priority);
        match prior {
            // Most leads do not move: their state is built only when reported.
            Some(p)
                if p.active
                    && (self.prior.priority(p) != lead.priority || p.score != lead.score) =>
            {
                c.moved(
                    &lead.lead_id,
                    (self.prior.priority(p), p.score),
                    (&lead.priority, lead.score),
                    || Ok::<_, crate::error::Error>(LeadState::of(lead)),
                )?;
            }
            Some(p) if p.active => {
                if p.reworded(fingerprint) {
                    c.reworded();
                }
            }
            _ => c.added(LeadState::of(lead)),
        }
        Ok(())
    }

    /// Collects a written lead's state for the next evaluation, when kept. `index` is its
    /// placement key and [`rule_key`].
    fn keep_state(
        &mut self,
        id: &str,
        priority: &str,
        score: f64,
        fingerprint: i64,
        index: (u64, u64),
    ) {
        if self.keep {
            let w = Written {
                priority: priority.into(),
                score,
                fingerprint,
                index,
            };
            self.fresh.push((id.into(), w));
        }
    }

    /// Decides the write of a stored active lead whose score, priority and factor weights alone
    /// may have changed (see `score::rescore`): what [`Ledger::decide`] would write for it,
    /// without the rest of the lead. `at` is where the store keeps it; `state` names the lead
    /// in the change report, if it moved.
    pub fn decide_scored(
        &mut self,
        (at, id): (i64, &str),
        new: &Rescored,
        state: impl FnOnce() -> Result<LeadState>,
    ) -> Result<Option<ScoredDecision>> {
        let Some(p) = self.prior.get(id).filter(|p| p.active) else {
            return Ok(None);
        };
        p.seen.store(true, Ordering::Relaxed);
        let from = self.prior.priority(p);
        let moved = from != new.priority || p.score != new.score;
        if let Some(c) = &mut self.changes {
            c.count_after(new.priority);
            if moved {
                c.moved(id, (from, p.score), (new.priority, new.score), state)?;
            } else if p.reworded(new.fingerprint) {
                c.reworded();
            }
        }
        if p.unchanged(new.fingerprint) {
            self.writes[2] += 1;
            return Ok(None);
        }
        self.writes[1] += 1;
        let decision = ScoredDecision {
            at,
            from: from.into(),
            moved,
        };
        self.keep_state(
            id,
            new.priority,
            new.score,
            new.fingerprint,
            (p.keys, p.rule),
        );
        Ok(Some(decision))
    }

    /// Marks active leads this evaluation did not trigger as inactive (they keep their status and
    /// history) and returns how many, with the change report if one was asked for and, when
    /// kept, what changed in the states. In a partial evaluation, the active leads of the
    /// triggers outside the scope stand: they count as triggered.
    pub fn close_untriggered(self, tx: &mut dyn WriteTx) -> Result<Settled> {
        let Ledger {
            prior,
            keep,
            fresh,
            mut changes,
            scope,
            writes,
            ..
        } = self;
        let [inserted, updated, unchanged] = writes;
        tracing::info!(target: "leads", "{inserted} inserted, {updated} updated, {unchanged} unchanged");
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
                    c.count_after(prior.priority(p));
                }
            }
        }
        gone.sort();
        if let Some(c) = &mut changes {
            for id in &gone {
                c.removed(tx.lead_state(id)?);
            }
        }
        tx.close_leads(&gone)?;
        Ok(Settled {
            closed: gone.len(),
            kept,
            changes: changes.map(ChangeBuilder::finish),
            update: keep.then_some(StateUpdate { fresh, gone }),
        })
    }
}

/// A stored lead re-weighed: what [`Ledger::decide_scored`] decides on.
pub struct Rescored {
    pub score: f64,
    pub priority: &'static str,
    /// The stored factors with the new weights and contributions.
    pub factors: BTreeMap<String, Factor>,
    pub fingerprint: i64,
}

/// What [`Ledger::close_untriggered`] returns.
pub struct Settled {
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
    fresh: Vec<(Identifier, Written)>,
    gone: Vec<String>,
}

impl Settled {
    /// Brings `states` up to date with what the evaluation wrote; `None` unless the ledger kept
    /// its changes.
    pub fn apply(&mut self, mut states: LeadStates) -> Option<LeadStates> {
        let StateUpdate { fresh, gone } = self.update.take()?;
        states.update(fresh, &gone);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lead::test_lead as lead;
    use crate::store::api::LeadRun;
    use crate::store::columns::fingerprint;
    use crate::store::{Store, testdb};

    fn lead_row(store: &Store, id: &str, active: bool) {
        testdb::execute(
            store,
            &format!(
                "INSERT INTO leads (lead_id, lead_type, rule, install_base_id, title, description,
                   recommended_action, score, priority, factors, reasons, recommended_services,
                   recommended_skus, extra, active, created_at, updated_at, run_id)
                 VALUES ('{id}', 'T', 'r', 1, 't', 'd', 'a', 50, 'HIGH', '{{}}', '[]', '[]', '',
                   '{{}}', {}, 'x', 'x', 1)",
                i32::from(active)
            ),
        );
    }

    fn run(run_id: i64, stored: usize) -> LeadRun<'static> {
        LeadRun {
            run_id,
            now: "now",
            stored,
            bulk: false,
        }
    }

    #[test]
    fn an_id_is_claimed_once_whether_stored_before_or_inserted_now() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("l.db")).unwrap();
        lead_row(&store, "OLD1", true);
        lead_row(&store, "OLD2", true);
        let mut tx = store.begin().unwrap();
        let states = read_states(&mut *tx).unwrap();
        tx.start_lead_writes(&run(2, states.len())).unwrap();
        let mut ledger = Ledger::new(&states, false, Changes::Off, None);
        // Stored before: marked in `prior`.
        assert_eq!(ledger.claim(&mut *tx, "OLD1").unwrap(), Claim::Stored);
        assert_eq!(ledger.claim(&mut *tx, "OLD1").unwrap(), Claim::Taken);
        // New: the hash answers first, the store confirms a repeat.
        assert_eq!(ledger.claim(&mut *tx, "NEW1").unwrap(), Claim::New);
        let mut new = lead("t", 50.0);
        new.lead_id = "NEW1".into();
        let enc = Encoded::of(&new, fingerprint(&new));
        let insert = LeadWrite::Insert {
            lead: &new,
            enc: &enc,
            log: false,
        };
        tx.write_leads(&[insert]).unwrap();
        assert_eq!(ledger.claim(&mut *tx, "NEW1").unwrap(), Claim::Taken);
        // The one stored lead not claimed is closed.
        assert_eq!(ledger.close_untriggered(&mut *tx).unwrap().closed, 1);
        tx.commit().unwrap();
        let active = testdb::rows(
            &store,
            "SELECT group_concat(lead_id) FROM
               (SELECT lead_id FROM leads WHERE active = 1 ORDER BY lead_id)",
        );
        assert_eq!(active, [[Some("NEW1,OLD1".to_string())]]);
    }

    // See: issue 20. Two rows of one asset in one chunk: the second claim of the same id, made
    // before the chunk is written, is taken (it was claimed new, and the write failed on the
    // duplicate id); after the write the store answers.
    #[test]
    fn an_id_claimed_twice_before_it_is_written_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("l.db")).unwrap();
        let mut tx = store.begin().unwrap();
        let states = read_states(&mut *tx).unwrap();
        tx.start_lead_writes(&run(1, 0)).unwrap();
        let mut ledger = Ledger::new(&states, false, Changes::Off, None);
        assert_eq!(ledger.claim(&mut *tx, "DUP1").unwrap(), Claim::New);
        assert_eq!(ledger.claim(&mut *tx, "DUP1").unwrap(), Claim::Taken);
        assert_eq!(ledger.claim(&mut *tx, "DUP2").unwrap(), Claim::New);
        ledger.written();
        // After `written` the store answers for them; this test wrote nothing, so it says new.
        assert_eq!(ledger.claim(&mut *tx, "DUP1").unwrap(), Claim::New);
    }

    /// Writes `l` as evaluation `run` would; returns [inserted, updated, unchanged].
    fn write(store: &mut Store, run_id: i64, l: &Lead) -> [u64; 3] {
        let mut tx = store.begin().unwrap();
        let states = read_states(&mut *tx).unwrap();
        tx.start_lead_writes(&run(run_id, states.len())).unwrap();
        let mut ledger = Ledger::new(&states, false, Changes::Off, None);
        assert_ne!(ledger.claim(&mut *tx, &l.lead_id).unwrap(), Claim::Taken);
        let fp = fingerprint(l);
        let decided = ledger
            .decide(l, fp, Some(Encoded::of(l, fp)), &mut Outcome::default())
            .unwrap();
        if let Some(d) = &decided {
            tx.write_leads(&[d.write(l)]).unwrap();
        }
        let writes = ledger.writes;
        tx.commit().unwrap();
        writes
    }

    fn stored(store: &Store) -> Vec<Vec<Option<String>>> {
        testdb::rows(store, "SELECT title, score, run_id FROM leads")
    }

    fn row(title: &str, score: f64, run_id: i64) -> Vec<Vec<Option<String>>> {
        vec![vec![
            Some(title.into()),
            Some(score.to_string()),
            Some(run_id.to_string()),
        ]]
    }

    #[test]
    fn a_changed_lead_is_rewritten_whether_or_not_its_indexed_columns_moved() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("l.db")).unwrap();
        assert_eq!(write(&mut store, 1, &lead("first", 50.0)), [1, 0, 0]);
        assert_eq!(write(&mut store, 2, &lead("first", 50.0)), [0, 0, 1]);
        assert_eq!(stored(&store), row("first", 50.0, 1));
        // Text only: the content update.
        assert_eq!(write(&mut store, 3, &lead("second", 50.0)), [0, 1, 0]);
        assert_eq!(stored(&store), row("second", 50.0, 3));
        // Score too: the full update.
        assert_eq!(write(&mut store, 4, &lead("third", 55.0)), [0, 1, 0]);
        assert_eq!(stored(&store), row("third", 55.0, 4));
        let mut moved = lead("third", 55.0);
        moved.territory_id = Some("T2".into());
        assert_eq!(write(&mut store, 5, &moved), [0, 1, 0]);
        let territory = testdb::rows(&store, "SELECT territory_id FROM leads");
        assert_eq!(territory, [[Some("T2".to_string())]]);
        // The store's placement key of the row is the lead's: an unmoved lead's update then
        // leaves the indexes alone.
        let mut tx = store.begin().unwrap();
        let states = read_states(&mut *tx).unwrap();
        let key = |l: &Lead| Encoded::of(l, fingerprint(l)).keys;
        assert_eq!(states.get("L1").unwrap().keys, key(&moved));
        assert_ne!(states.get("L1").unwrap().keys, key(&lead("third", 55.0)));
    }
}
