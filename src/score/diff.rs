//! The change report of `watch` and `whatif`: which leads a rule or config edit added, removed,
//! re-prioritised or moved in score, and the counts per priority before → after.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::lead::LeadState;

/// Every active lead, by id.
pub type Snapshot = BTreeMap<String, LeadState>;

/// A lead present on both sides whose score or priority changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    /// The lead after the change.
    pub lead: LeadState,
    /// Priority before.
    pub priority_before: String,
    /// Score before.
    pub score_before: f64,
    /// `score − score_before`.
    pub delta: f64,
}

/// What changed between two snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChangeReport {
    /// Leads only in the new snapshot, best first.
    pub added: Vec<LeadState>,
    /// Leads only in the old snapshot, best first.
    pub removed: Vec<LeadState>,
    /// Leads whose priority changed, biggest score move first.
    pub reprioritised: Vec<Move>,
    /// Leads whose score changed but not their priority, biggest move first.
    pub score_movers: Vec<Move>,
    /// Active leads per priority before.
    pub before: BTreeMap<String, usize>,
    /// Active leads per priority after.
    pub after: BTreeMap<String, usize>,
    /// Leads active on both sides, with the same score and priority, whose other columns
    /// changed (title, description, action, reasons, services, the asset's details): what an
    /// edit to a rule's wording did.
    #[serde(default)]
    pub reworded: usize,
    /// Moves counted but not listed, per kind (score movers, re-prioritised): see
    /// [`Changes::Biggest`].
    #[serde(default, skip_serializing_if = "none_more")]
    pub more: [usize; 2],
}

fn none_more(more: &[usize; 2]) -> bool {
    *more == [0, 0]
}

impl ChangeReport {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.reprioritised.is_empty()
            && self.score_movers.is_empty()
    }

    /// Leads whose priority changed, listed or not.
    pub fn reprioritised_count(&self) -> usize {
        self.reprioritised.len() + self.more[1]
    }

    /// Leads whose score changed but not their priority, listed or not.
    pub fn score_movers_count(&self) -> usize {
        self.score_movers.len() + self.more[0]
    }
}

fn by_score(a: &LeadState, b: &LeadState) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.lead_id.cmp(&b.lead_id))
}

/// Which change report an evaluation builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// None.
    Off,
    /// Every lead that changed.
    All,
    /// Every count, but only this many of the biggest moves of each kind (what a text report
    /// shows): a weight change moves every lead, and each move kept costs its lead's names.
    Biggest(usize),
}

/// Builds a [`ChangeReport`] one lead at a time (the evaluator feeds it as it writes).
#[derive(Debug, Default)]
pub struct ChangeBuilder {
    report: ChangeReport,
    /// Keep only this many of the biggest moves of each kind.
    kept: Option<usize>,
    /// Per kind (score movers, re-prioritised), once its list was cut: the last move kept.
    /// A move that does not rank before it is only counted.
    floor: [Option<(f64, String)>; 2],
}

/// Biggest move first, then by lead id.
fn rank(a: (f64, &str), b: (f64, &str)) -> std::cmp::Ordering {
    b.0.abs().total_cmp(&a.0.abs()).then_with(|| a.1.cmp(b.1))
}

fn biggest(a: &Move, b: &Move) -> std::cmp::Ordering {
    rank((a.delta, &a.lead.lead_id), (b.delta, &b.lead.lead_id))
}

impl ChangeBuilder {
    /// A builder for `changes` (`None` for [`Changes::Off`]).
    pub fn new(changes: Changes) -> Option<ChangeBuilder> {
        let kept = match changes {
            Changes::Off => return None,
            Changes::All => None,
            Changes::Biggest(n) => Some(n.max(1)),
        };
        Some(ChangeBuilder {
            kept,
            ..ChangeBuilder::default()
        })
    }

    /// Counts an active lead before the change.
    pub fn count_before(&mut self, priority: &str) {
        *self.report.before.entry(priority.to_string()).or_default() += 1;
    }

    /// Counts an active lead after the change.
    pub fn count_after(&mut self, priority: &str) {
        // Called once per lead: look up before allocating a key.
        if let Some(n) = self.report.after.get_mut(priority) {
            *n += 1;
        } else {
            self.report.after.insert(priority.to_string(), 1);
        }
    }

    /// A lead active on both sides, same score and priority, whose text changed.
    pub fn reworded(&mut self) {
        self.report.reworded += 1;
    }

    /// A lead active after but not before.
    pub fn added(&mut self, lead: LeadState) {
        self.report.added.push(lead);
    }

    /// A lead active before but not after.
    pub fn removed(&mut self, lead: LeadState) {
        self.report.removed.push(lead);
    }

    /// Lead `id`, active on both sides, went from `before` to `after` (priority, score);
    /// recorded only if it moved. `state` (the lead after) is called only if the move is kept.
    pub fn moved<E>(
        &mut self,
        id: &str,
        (priority_before, score_before): (&str, f64),
        (priority, score): (&str, f64),
        state: impl FnOnce() -> Result<LeadState, E>,
    ) -> Result<(), E> {
        if priority == priority_before && score == score_before {
            return Ok(());
        }
        let delta = ((score - score_before) * 1e6).round() / 1e6;
        let kind = usize::from(priority != priority_before);
        if let Some((d, last)) = &self.floor[kind] {
            if rank((delta, id), (*d, last)).is_ge() {
                self.report.more[kind] += 1;
                return Ok(());
            }
        }
        let list = if kind == 1 {
            &mut self.report.reprioritised
        } else {
            &mut self.report.score_movers
        };
        list.push(Move {
            delta,
            priority_before: priority_before.to_string(),
            score_before,
            lead: state()?,
        });
        // Cut back to the biggest `kept` whenever twice as many have gathered.
        if let Some(kept) = self.kept.filter(|k| list.len() >= 2 * k) {
            list.sort_by(biggest);
            self.report.more[kind] += list.len() - kept;
            list.truncate(kept);
            self.floor[kind] = list.last().map(|m| (m.delta, m.lead.lead_id.clone()));
        }
        Ok(())
    }

    /// The report, each list in display order.
    pub fn finish(self) -> ChangeReport {
        let mut r = self.report;
        r.added.sort_by(by_score);
        r.removed.sort_by(by_score);
        r.reprioritised.sort_by(biggest);
        r.score_movers.sort_by(biggest);
        if let Some(kept) = self.kept {
            for (kind, list) in [&mut r.score_movers, &mut r.reprioritised]
                .into_iter()
                .enumerate()
            {
                r.more[kind] += list.len().saturating_sub(kept);
                list.truncate(kept);
            }
        }
        r
    }
}

/// Compares two snapshots.
pub fn compare(before: &Snapshot, after: &Snapshot) -> ChangeReport {
    let mut b = ChangeBuilder::default();
    for old in before.values() {
        b.count_before(&old.priority);
        if !after.contains_key(&old.lead_id) {
            b.removed(old.clone());
        }
    }
    for (id, new) in after {
        b.count_after(&new.priority);
        match before.get(id) {
            None => b.added(new.clone()),
            Some(old) => b
                .moved(
                    id,
                    (&old.priority, old.score),
                    (&new.priority, new.score),
                    || Ok(new.clone()),
                )
                .unwrap_or_else(|never: std::convert::Infallible| match never {}),
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: &str, priority: &str, score: f64) -> LeadState {
        LeadState {
            lead_id: id.into(),
            lead_type: "T".into(),
            priority: priority.into(),
            score,
            account: None,
            product: None,
            serial: None,
        }
    }

    fn snap(leads: &[LeadState]) -> Snapshot {
        leads
            .iter()
            .map(|l| (l.lead_id.clone(), l.clone()))
            .collect()
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let before = snap(&[
            lead("A", "HIGH", 64.5),
            lead("B", "MEDIUM", 59.25),
            lead("C", "HIGH", 61.0),
            lead("D", "LOW", 10.0),
        ]);
        let after = snap(&[
            lead("A", "HIGH", 64.5),
            lead("B", "HIGH", 60.75),
            lead("C", "HIGH", 70.0),
            lead("E", "CRITICAL", 80.0),
        ]);
        let r = compare(&before, &after);
        assert_eq!(
            r.added.iter().map(|l| &l.lead_id).collect::<Vec<_>>(),
            ["E"]
        );
        assert_eq!(
            r.removed.iter().map(|l| &l.lead_id).collect::<Vec<_>>(),
            ["D"]
        );
        assert_eq!(r.reprioritised.len(), 1);
        assert_eq!(r.reprioritised[0].priority_before, "MEDIUM");
        assert_eq!(r.reprioritised[0].delta, 1.5);
        assert_eq!(r.score_movers[0].lead.lead_id, "C");
        assert_eq!(r.before["HIGH"], 2);
        assert_eq!(r.after["HIGH"], 3);
        assert!(!r.is_empty());
        assert!(compare(&after, &after).is_empty());
    }

    proptest::proptest! {
        /// Keeping only the biggest moves gives the full report's first ones, in the same
        /// order, and counts the rest; whatever order the leads come in, ties included. The
        /// names of a lead are built only for moves that are kept for a while.
        #[test]
        fn keeping_the_biggest_moves_lists_the_full_reports_first_ones(
            moves in proptest::collection::vec((0..6_u8, 0..3_u8, proptest::bool::ANY), 0..300),
            kept in 1..12_usize,
        ) {
            let feed = |b: &mut ChangeBuilder, built: &mut usize| {
                for (i, (d, p, down)) in moves.iter().enumerate() {
                    let id = format!("L{:03}", (i * 7919) % 1000);
                    let delta = f64::from(*d) * if *down { -0.5 } else { 0.5 };
                    let before = if *p == 0 { "LOW" } else { "HIGH" };
                    let after = if *p == 2 { "LOW" } else { "HIGH" };
                    let kept: Result<(), ()> = b.moved(&id, (before, 50.0), (after, 50.0 + delta), || {
                        *built += 1;
                        Ok(lead(&id, after, 50.0 + delta))
                    });
                    kept.unwrap();
                }
            };
            let (mut all_built, mut some_built) = (0, 0);
            let mut all = ChangeBuilder::new(Changes::All).unwrap();
            feed(&mut all, &mut all_built);
            let mut some = ChangeBuilder::new(Changes::Biggest(kept)).unwrap();
            feed(&mut some, &mut some_built);
            let (all, some) = (all.finish(), some.finish());
            for (full, cut) in [(&all.score_movers, &some.score_movers), (&all.reprioritised, &some.reprioritised)] {
                proptest::prop_assert_eq!(&full[..full.len().min(kept)], &cut[..]);
            }
            proptest::prop_assert_eq!(all.score_movers_count(), some.score_movers_count());
            proptest::prop_assert_eq!(all.reprioritised_count(), some.reprioritised_count());
            proptest::prop_assert_eq!(all.more, [0, 0]);
            proptest::prop_assert!(some_built <= all_built);
        }
    }
}
