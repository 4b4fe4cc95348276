//! The change report of `watch` and `whatif`: which leads a rule or config edit added, removed,
//! re-prioritised or moved in score, and the counts per priority before → after.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;

/// One active lead as the change report compares it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadState {
    /// Stable id.
    pub lead_id: String,
    /// Lead type.
    pub lead_type: String,
    /// Priority.
    pub priority: String,
    /// Score.
    pub score: f64,
    /// Account name.
    pub account: Option<String>,
    /// Product name.
    pub product: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
}

/// Every active lead, by id.
pub type Snapshot = BTreeMap<String, LeadState>;

/// The columns [`lead_state`] reads; callers add the `WHERE`.
pub(crate) const LEAD_STATE_SQL: &str =
    "SELECT l.lead_id, l.lead_type, l.priority, l.score, a.name, l.product_name,
     l.serial_number FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id";

/// One row of [`LEAD_STATE_SQL`].
pub(crate) fn lead_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<LeadState> {
    Ok(LeadState {
        lead_id: r.get(0)?,
        lead_type: r.get(1)?,
        priority: r.get(2)?,
        score: r.get(3)?,
        account: r.get(4)?,
        product: r.get(5)?,
        serial: r.get(6)?,
    })
}

/// Reads the active leads.
pub fn snapshot(conn: &Connection) -> Result<Snapshot> {
    let mut stmt = conn.prepare(&format!("{LEAD_STATE_SQL} WHERE l.active = 1"))?;
    let mut out = Snapshot::new();
    for r in stmt.query_map([], lead_state)? {
        let r = r?;
        out.insert(r.lead_id.clone(), r);
    }
    Ok(out)
}

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
}

impl ChangeReport {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.reprioritised.is_empty()
            && self.score_movers.is_empty()
    }
}

fn by_score(a: &LeadState, b: &LeadState) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.lead_id.cmp(&b.lead_id))
}

/// Builds a [`ChangeReport`] one lead at a time (the evaluator feeds it as it writes).
#[derive(Debug, Default)]
pub struct ChangeBuilder {
    report: ChangeReport,
}

impl ChangeBuilder {
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

    /// A lead active on both sides; recorded only if its score or priority moved.
    pub fn moved(&mut self, new: LeadState, priority_before: &str, score_before: f64) {
        if new.priority == priority_before && new.score == score_before {
            return;
        }
        let m = Move {
            delta: ((new.score - score_before) * 1e6).round() / 1e6,
            priority_before: priority_before.to_string(),
            score_before,
            lead: new,
        };
        if m.lead.priority == m.priority_before {
            self.report.score_movers.push(m);
        } else {
            self.report.reprioritised.push(m);
        }
    }

    /// The report, each list in display order.
    pub fn finish(self) -> ChangeReport {
        let mut r = self.report;
        r.added.sort_by(by_score);
        r.removed.sort_by(by_score);
        let biggest = |a: &Move, b: &Move| {
            b.delta
                .abs()
                .total_cmp(&a.delta.abs())
                .then_with(|| a.lead.lead_id.cmp(&b.lead.lead_id))
        };
        r.reprioritised.sort_by(biggest);
        r.score_movers.sort_by(biggest);
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
            Some(old) => b.moved(new.clone(), &old.priority, old.score),
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
}
