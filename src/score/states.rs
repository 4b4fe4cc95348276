//! Every stored lead's state as the ledger compares it (id → active, priority, score,
//! fingerprint, placement, trigger), read once before an evaluation.
//!
//! A second month holds about as many stored leads as it evaluates, and their states sit in
//! memory beside the whole evaluation, so they are kept small: one sorted vector (no hash table
//! slack), ids inline, the priority as an index into the few names the table holds. 64 bytes
//! a lead instead of the 97 bytes a slot (and half the slots empty) of a hash map of owned
//! states: 76 MB instead of 200 MB at 1.2M leads.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::Identifier;

use crate::error::Result;
use crate::fxhash::Fx;
use crate::store::api::WriteTx;

/// What the database held for one lead before this evaluation.
#[derive(Debug)]
pub struct Prior {
    pub(super) active: bool,
    /// Index of its name in [`LeadStates::priority`]'s table.
    priority: u32,
    pub(super) score: f64,
    /// Meaningless unless `fingerprinted`.
    fingerprint: i64,
    /// False for a lead stored without a fingerprint (forgotten when the hash changed).
    fingerprinted: bool,
    /// [`crate::store::columns::placement_key`] of the stored row.
    pub(super) keys: u64,
    /// [`rule_key`] of the trigger that made it.
    pub(super) rule: u64,
    /// Triggered again by this evaluation. Atomic because the workers read the states (to skip
    /// encoding unchanged leads) while the writer marks them.
    pub(super) seen: AtomicBool,
}

impl Prior {
    /// True when a lead evaluated to `fingerprint` needs no write: it is active and the same.
    pub fn unchanged(&self, fingerprint: i64) -> bool {
        self.active && self.fingerprinted && self.fingerprint == fingerprint
    }

    /// True when an active lead evaluated to `fingerprint` reads differently from what is
    /// stored. A lead stored without a fingerprint is rewritten, but nothing says its text
    /// changed.
    pub(super) fn reworded(&self, fingerprint: i64) -> bool {
        self.active && self.fingerprinted && self.fingerprint != fingerprint
    }
}

/// How states name the trigger rule (file stem) behind a lead: 8 bytes instead of a string per
/// lead.
pub fn rule_key(rule: &str) -> u64 {
    Fx::default().hash_one(rule)
}

/// A lead's state as written by this evaluation, to bring the states up to date with
/// ([`LeadStates::update`]).
#[derive(Debug)]
pub struct Written {
    pub(super) priority: Identifier,
    pub(super) score: f64,
    pub(super) fingerprint: i64,
    /// Placement key and [`rule_key`].
    pub(super) index: (u64, u64),
}

/// Every stored lead's state, by id. `watch` keeps it from one evaluation to the next (see
/// [`super::Carry`]) instead of reading every lead again. Ids are kept inline ([`Identifier`]
/// holds up to 23 bytes without allocating; ids have 8 or 13).
#[derive(Debug, Default)]
pub struct LeadStates {
    /// Sorted by id (byte order), each id once.
    entries: Vec<(Identifier, Prior)>,
    /// The priority names the states use, each once (a handful).
    priorities: Vec<Identifier>,
}

impl LeadStates {
    /// The state of the lead `id`.
    pub fn get(&self, id: &str) -> Option<&Prior> {
        self.position(id).map(|i| &self.entries[i].1)
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()
    }

    /// How many leads are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no lead is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every lead's (id, state), by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Prior)> {
        self.entries.iter().map(|(id, p)| (id.as_str(), p))
    }

    /// Every lead's state.
    pub fn values(&self) -> impl Iterator<Item = &Prior> {
        self.entries.iter().map(|(_, p)| p)
    }

    /// The name of `p`'s priority.
    pub fn priority(&self, p: &Prior) -> &str {
        self.priorities
            .get(p.priority as usize)
            .map_or("", Identifier::as_str)
    }

    fn intern(&mut self, name: &str) -> u32 {
        let at = if let Some(i) = self.priorities.iter().position(|p| p == name) {
            i
        } else {
            self.priorities.push(name.into());
            self.priorities.len() - 1
        };
        // A lead table with four billion distinct priority names does not fit in memory.
        u32::try_from(at).unwrap_or(u32::MAX)
    }

    /// Puts the entries in id order, the last of repeated ids winning.
    fn seal(&mut self) {
        self.entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        self.entries.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
    }

    /// Brings the states up to date with what an evaluation did: the leads it `wrote` are
    /// active as written, the `closed` ones inactive, and none is marked seen.
    pub fn update(&mut self, wrote: Vec<(Identifier, Written)>, closed: &[String]) {
        for p in self.values() {
            p.seen.store(false, Ordering::Relaxed);
        }
        for id in closed {
            if let Some(i) = self.position(id) {
                self.entries[i].1.active = false;
            }
        }
        let before = self.entries.len();
        for (id, w) in wrote {
            let p = Prior {
                active: true,
                priority: self.intern(&w.priority),
                score: w.score,
                fingerprint: w.fingerprint,
                fingerprinted: true,
                keys: w.index.0,
                rule: w.index.1,
                seen: AtomicBool::new(false),
            };
            match self.entries[..before].binary_search_by(|(k, _)| k.as_str().cmp(&id)) {
                Ok(i) => self.entries[i].1 = p,
                Err(_) => self.entries.push((id, p)),
            }
        }
        if self.entries.len() > before {
            self.seal();
        }
    }
}

/// Reads every lead's state.
pub fn read_states(tx: &mut dyn WriteTx) -> Result<LeadStates> {
    // Sized up front: growing the vector copies every state read so far.
    let mut states = LeadStates {
        entries: Vec::with_capacity(tx.count_leads()?),
        priorities: Vec::new(),
    };
    tx.each_lead_state(&mut |s| {
        let priority = states.intern(s.priority);
        states.entries.push((
            Identifier::from(s.lead_id),
            Prior {
                active: s.active,
                priority,
                score: s.score,
                fingerprint: s.fingerprint.unwrap_or(0),
                fingerprinted: s.fingerprint.is_some(),
                keys: s.placement,
                rule: rule_key(s.rule),
                seen: AtomicBool::new(false),
            },
        ));
    })?;
    states.seal();
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(priority: &str, score: f64) -> Written {
        Written {
            priority: priority.into(),
            score,
            fingerprint: 7,
            index: (1, 2),
        }
    }

    #[test]
    fn updates_keep_ids_sorted_and_the_latest_state_wins() {
        let mut states = LeadStates::default();
        states.update(
            vec![
                ("B".into(), written("HIGH", 80.0)),
                ("A".into(), written("LOW", 10.0)),
            ],
            &[],
        );
        states.get("A").unwrap().seen.store(true, Ordering::Relaxed);
        states.update(
            vec![
                ("C".into(), written("HIGH", 90.0)),
                ("B".into(), written("MEDIUM", 50.0)),
                ("C".into(), written("LOW", 5.0)),
            ],
            &["A".to_string()],
        );
        let ids: Vec<&str> = states.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["A", "B", "C"]);
        let a = states.get("A").unwrap();
        assert!(!a.active && !a.seen.load(Ordering::Relaxed));
        let b = states.get("B").unwrap();
        assert_eq!((states.priority(b), b.score), ("MEDIUM", 50.0));
        let c = states.get("C").unwrap();
        assert_eq!((states.priority(c), c.score), ("LOW", 5.0));
        assert!(c.unchanged(7) && !c.reworded(7) && c.reworded(8));
        assert!(states.get("D").is_none());
        assert_eq!(states.priorities.len(), 3);
    }
}
