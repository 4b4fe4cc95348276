//! Workflow changes made while a `run` may be writing: status changes and notes, recorded in
//! the desk database at once and folded into the lead database when it is free.
//!
//! SQLite lets one connection write a file at a time, and a `run` writes the lead database in one
//! transaction that lasts tens of seconds at a million rows. A rep's change must neither fail
//! ("database is locked") nor wait that long, and must not be lost. So a change is validated
//! against the lead database's last commit plus the journal entries it has not taken yet, and
//! appended to the journal ([`record_status`]); [`apply`] then writes the entries, in order, into
//! the lead database through the storage API's `Workflow` concern, in one transaction that also
//! remembers the last one taken (`meta` `journal_applied`), so each is applied exactly once. The
//! server applies as soon as the lead database is free, and every `run` applies what is pending
//! at its start. A run never writes a status: it only inserts new leads and closes or reopens
//! others, so nothing a rep did is overwritten from a stale read. On PostgreSQL the journal can
//! be a table of the same database; the applier's row locks then wait for the run's instead of
//! the file's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::api::{OwnerRecord, StatusRecord, WriteTx};
use super::desk::{Desk, DeskSql, DeskValue};
use super::read::{Overlaid, Overlay, Reader};
use super::{Location, Store};
use crate::error::Result;
use crate::lifecycle::{self, Applied, StatusChange};

/// One journal entry's change, stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    /// A status change (the same status again records a note).
    Status {
        /// The new status.
        status: String,
        /// Free text kept with the event.
        note: Option<String>,
        /// The CRM opportunity.
        opportunity: Option<String>,
    },
    /// A new owner (`None`: nobody), set by a manager.
    Owner {
        /// The user who will work the lead.
        owner: Option<String>,
        /// Free text kept with the event.
        note: Option<String>,
    },
}

impl Change {
    /// The status this change sets, if it is a status change.
    pub fn status(&self) -> Option<&str> {
        match self {
            Change::Status { status, .. } => Some(status),
            Change::Owner { .. } => None,
        }
    }
}

/// A change recorded but not yet in the lead database, as a lead's history shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pending {
    /// Journal position.
    pub seq: i64,
    /// When it was made (UTC).
    pub at: String,
    /// Who made it.
    pub by: String,
    /// The lead.
    pub lead_id: String,
    /// Its status (or owner) when the change was made.
    pub from_status: Option<String>,
    /// The change.
    pub change: Change,
}

/// The key in the lead database's `meta` that holds the last journal entry it took.
const APPLIED_KEY: &str = "journal_applied";

/// What the lead database took from a desk: that desk's epoch and the last `seq`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Taken {
    epoch: String,
    seq: i64,
}

/// The last entry of `desk`'s journal that the lead database's mark (`meta` value) covers. A
/// desk made again at the same path has another epoch and starts from nothing.
fn applied(mark: Option<&str>, desk: &Desk) -> Result<i64> {
    let taken: Taken = mark
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    Ok(if taken.epoch == desk.epoch()? {
        taken.seq
    } else {
        0
    })
}

/// Records `change` on every lead of `ids` (case-insensitive) under its `by`, or on none:
/// unknown ids and moves the transition table does not allow are refused all at once, judged
/// on the lead database's last commit (read by `reader`) and the changes still pending.
pub fn record_status(
    desk: &Desk,
    reader: &mut Reader,
    ids: &[String],
    change: &StatusChange<'_>,
    now: &str,
) -> Result<Vec<Applied>> {
    // The journal held first: no entry can be applied and forgotten between reading the lead
    // database and reading the journal.
    desk.exclusive(|tx| record_status_in(tx, desk, reader, ids, change, now))
}

fn record_status_in(
    tx: &dyn DeskSql,
    desk: &Desk,
    reader: &mut Reader,
    ids: &[String],
    change: &StatusChange<'_>,
    now: &str,
) -> Result<Vec<Applied>> {
    let canonical: Vec<String> = ids.iter().map(|i| i.trim().to_uppercase()).collect();
    let snap = reader.workflow_of(&canonical, APPLIED_KEY)?;
    let after = applied(snap.mark.as_deref(), desk)?;
    let mut found: Vec<(String, String)> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for (id, state) in canonical.iter().zip(snap.leads) {
        match state {
            Some(s) if !found.iter().any(|f| f.0 == s.lead_id) => found.push((s.lead_id, s.status)),
            None if !unknown.contains(id) => unknown.push(id.clone()),
            Some(_) | None => {}
        }
    }
    if !unknown.is_empty() {
        return Err(lifecycle::unknown_ids(&unknown));
    }
    // The status each lead will have once the entries before this one are applied.
    for (id, status) in &mut found {
        let pending = pending_for(tx, id, after)?;
        if let Some(s) = pending.iter().rev().find_map(|p| p.change.status()) {
            *status = s.to_string();
        }
    }
    lifecycle::check_moves(&found, change)?;
    let entry = Change::Status {
        status: change.status.as_str().into(),
        note: change.note.map(str::to_string),
        opportunity: change.opportunity.map(str::to_string),
    };
    append(tx, now, change.by.unwrap_or(""), &entry, &found)?;
    Ok(found
        .into_iter()
        .map(|(lead_id, from)| Applied {
            lead_id,
            from,
            to: change.status,
        })
        .collect())
}

/// Records a new owner for every lead of `ids` (all must exist) under the name `by`, as one
/// journal entry: a manager's reassignment of every lead matching a filter is applied in one
/// transaction. Returns each lead's owner before.
pub fn record_owner(
    desk: &Desk,
    reader: &mut Reader,
    ids: &[String],
    change: &Change,
    by: &str,
    now: &str,
) -> Result<Vec<(String, Option<String>)>> {
    desk.exclusive(|tx| record_owner_in(tx, reader, ids, change, by, now))
}

fn record_owner_in(
    tx: &dyn DeskSql,
    reader: &mut Reader,
    ids: &[String],
    change: &Change,
    by: &str,
    now: &str,
) -> Result<Vec<(String, Option<String>)>> {
    let canonical: Vec<String> = ids.iter().map(|i| i.trim().to_uppercase()).collect();
    let snap = reader.workflow_of(&canonical, APPLIED_KEY)?;
    let mut found: Vec<(String, Option<String>)> = Vec::with_capacity(ids.len());
    let mut unknown: Vec<String> = Vec::new();
    for (id, state) in canonical.iter().zip(snap.leads) {
        match state {
            Some(s) => found.push((s.lead_id, s.owner)),
            None => unknown.push(id.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(lifecycle::unknown_ids(&unknown));
    }
    let before: Vec<(String, String)> = found
        .iter()
        .map(|(id, o)| (id.clone(), o.clone().unwrap_or_default()))
        .collect();
    append(tx, now, by, change, &before)?;
    Ok(found)
}

/// Appends one entry naming `leads` (`(id, value before)`); returns its `seq`.
fn append<F: ToString>(
    tx: &dyn DeskSql,
    now: &str,
    by: &str,
    change: &Change,
    leads: &[(String, F)],
) -> Result<i64> {
    let change = serde_json::to_string(change).unwrap_or_default();
    let seq = tx
        .query(
            "INSERT INTO journal (at, by, change) VALUES ($1, $2, $3) RETURNING seq",
            &[now.into(), by.into(), change.as_str().into()],
        )?
        .first()
        .and_then(|r| r.first())
        .map_or(0, DeskValue::int);
    for (id, from) in leads {
        tx.execute(
            "INSERT INTO journal_leads (seq, lead_id, from_value) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[
                seq.into(),
                id.as_str().into(),
                from.to_string().as_str().into(),
            ],
        )?;
    }
    Ok(seq)
}

const PENDING_SQL: &str = "SELECT j.seq, j.at, j.by, jl.lead_id, jl.from_value, j.change
     FROM journal_leads jl JOIN journal j ON j.seq = jl.seq";

/// The journal entries after `after` that touch `lead_id`, oldest first.
fn pending_for(desk: &dyn DeskSql, lead_id: &str, after: i64) -> Result<Vec<Pending>> {
    let rows = desk.query(
        &format!("{PENDING_SQL} WHERE jl.lead_id = $1 AND jl.seq > $2 ORDER BY jl.seq"),
        &[lead_id.into(), after.into()],
    )?;
    Ok(rows.iter().filter_map(|r| pending_from_row(r)).collect())
}

/// Every journal entry after `after`, oldest first.
fn pending_after(desk: &dyn DeskSql, after: i64) -> Result<Vec<Pending>> {
    let rows = desk.query(
        &format!("{PENDING_SQL} WHERE jl.seq > $1 ORDER BY jl.seq, jl.lead_id"),
        &[after.into()],
    )?;
    Ok(rows.iter().filter_map(|r| pending_from_row(r)).collect())
}

fn pending_from_row(r: &[DeskValue]) -> Option<Pending> {
    let get = |i: usize| r.get(i).unwrap_or(&DeskValue::Null);
    // An entry this onelead cannot read (written by a newer one) is not shown.
    let change = serde_json::from_str(&get(5).text()).ok()?;
    Some(Pending {
        seq: get(0).int(),
        at: get(1).text(),
        by: get(2).text(),
        lead_id: get(3).text(),
        from_status: get(4).opt_text(),
        change,
    })
}

/// A lead's changes still waiting for the lead database, oldest first. The journal is read
/// before the lead database, so an entry applied meanwhile is found in one or the other.
pub fn pending(desk: &Desk, reader: &mut Reader, lead_id: &str) -> Result<Vec<Pending>> {
    let all = pending_for(&*desk.sql, lead_id, 0)?;
    if all.is_empty() {
        return Ok(all);
    }
    let after = applied(reader.meta(APPLIED_KEY)?.as_deref(), desk)?;
    Ok(all.into_iter().filter(|p| p.seq > after).collect())
}

/// What a kept overlay was read from: the desk's epoch, the lead database's mark, the
/// journal's last entry.
type KeptKey = (String, i64, i64);

/// The state every lead with a pending change will have (its status, its owner), to lay over
/// reads of the lead database's last commit (`LeadFilter::overlay`). Read in the same order as
/// [`pending`]: the journal (its last entry) first, then the lead database's mark.
///
/// Every read of the server asks for it, and while a run holds the lead database the journal
/// grows by every change made meanwhile (hundreds in a minute of a busy desk): reading and
/// parsing all of them for each page cost more than the page's own query. The entries after
/// the mark up to the last one never change (`seq` is never reused, an entry is removed only
/// once the mark covers it), so the overlay of the last `(desk, mark, last entry)` is kept.
pub fn overlay(desk: &Desk, reader: &mut Reader) -> Result<Overlay> {
    static LAST: Mutex<Option<(KeptKey, Overlay)>> = Mutex::new(None);
    let last = desk
        .sql
        .query("SELECT max(seq) FROM journal", &[])?
        .first()
        .and_then(|r| r.first())
        .map_or(0, DeskValue::int);
    if last == 0 {
        return Ok(Overlay::default());
    }
    let after = applied(reader.meta(APPLIED_KEY)?.as_deref(), desk)?;
    if after >= last {
        return Ok(Overlay::default());
    }
    let epoch = desk.epoch()?;
    if let Ok(kept) = LAST.lock() {
        if let Some((_, o)) = kept
            .as_ref()
            .filter(|(k, _)| *k == (epoch.clone(), after, last))
        {
            return Ok(o.clone());
        }
    }
    // Not kept: read as [`pending`] does, the whole journal before the mark.
    let all = pending_after(&*desk.sql, 0)?;
    let after = applied(reader.meta(APPLIED_KEY)?.as_deref(), desk)?;
    let last = all.iter().map(|p| p.seq).max().unwrap_or(0);
    let mut leads: HashMap<String, Overlaid> = HashMap::new();
    for p in all.into_iter().filter(|p| p.seq > after) {
        let state = leads.entry(p.lead_id).or_default();
        match p.change {
            Change::Status { status, .. } => state.status = Some(status),
            Change::Owner { owner, .. } => state.owner = Some(owner),
        }
    }
    let key = (epoch, after, last);
    let overlay = Overlay::new(leads);
    if let Ok(mut kept) = LAST.lock() {
        *kept = Some((key, overlay.clone()));
    }
    Ok(overlay)
}

/// [`overlay`] for the lead database at `db`: nothing when it has no desk database.
pub fn overlay_at(db: &Location, reader: &mut Reader) -> Result<Overlay> {
    match Desk::open_if_exists(db)? {
        Some(desk) => overlay(&desk, reader),
        None => Ok(Overlay::default()),
    }
}

/// How many journal entries the lead database has not taken yet.
pub fn backlog(desk: &Desk, reader: &mut Reader) -> Result<i64> {
    let after = applied(reader.meta(APPLIED_KEY)?.as_deref(), desk)?;
    let rows = desk.sql.query(
        "SELECT count(*) FROM journal WHERE seq > $1",
        &[after.into()],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .map_or(0, DeskValue::int))
}

/// Writes every pending journal entry into the lead database inside `tx` (its write
/// transaction): the changes, their events and the new mark commit together or not at all.
/// Entries the lead database took before are first forgotten from the journal. Returns how
/// many entries were applied.
pub fn apply(tx: &mut dyn WriteTx, desk: &Desk) -> Result<usize> {
    let after = applied(tx.meta(APPLIED_KEY)?.as_deref(), desk)?;
    desk.sql
        .execute("DELETE FROM journal WHERE seq <= $1", &[after.into()])?;
    let entries = pending_after(&*desk.sql, after)?;
    let last: Option<i64> = desk
        .sql
        .query("SELECT max(seq) FROM journal", &[])?
        .first()
        .and_then(|r| r.first())
        .and_then(|v| match v {
            DeskValue::Int(i) => Some(*i),
            _ => None,
        });
    let Some(last) = last.filter(|l| *l > after) else {
        return Ok(0);
    };
    for p in &entries {
        apply_one(tx, p)?;
    }
    let taken = Taken {
        epoch: desk.epoch()?,
        seq: last,
    };
    tx.set_meta(
        APPLIED_KEY,
        &serde_json::to_string(&taken).unwrap_or_default(),
    )?;
    Ok(entries
        .iter()
        .map(|p| p.seq)
        .collect::<std::collections::BTreeSet<_>>()
        .len())
}

/// Writes one lead's part of a journal entry, at the time and under the name it was made
/// with. A lead deleted since (by a user's own SQL) is passed over.
fn apply_one(tx: &mut dyn WriteTx, p: &Pending) -> Result<()> {
    let Some((id, from)) = tx.lead_status(&p.lead_id)? else {
        return Ok(());
    };
    match &p.change {
        Change::Owner { owner, note } => {
            let before = tx.lead_owner(&id)?.flatten();
            tx.record_owner(&OwnerRecord {
                lead_id: &id,
                from: before.as_deref(),
                to: owner.as_deref(),
                note: note.as_deref(),
                by: Some(&p.by),
                at: &p.at,
            })
        }
        Change::Status {
            status,
            note,
            opportunity,
        } => tx.record_status(&StatusRecord {
            lead_id: &id,
            from: &from,
            to: status,
            note: note.as_deref(),
            by: Some(&p.by),
            opportunity: opportunity.as_deref(),
            at: &p.at,
        }),
    }
}

/// Applies what is pending in its own transaction, waiting at most `wait` for the lead
/// database. `None` when a run still holds it: the entries stay in the journal for the next
/// try, and are not lost.
pub fn try_apply(store: &mut Store, desk: &Desk, wait: Duration) -> Result<Option<usize>> {
    let Some(mut tx) = store.begin_within(wait)? else {
        return Ok(None);
    };
    let n = apply(&mut *tx, desk)?;
    tx.commit()?;
    Ok(Some(n))
}

/// Applies the journal of the lead database at `db` inside a run's transaction, if it has a
/// desk database at all.
pub fn apply_in_run(tx: &mut dyn WriteTx, db: &Location) -> Result<usize> {
    match Desk::open_if_exists(db)? {
        Some(desk) => apply(tx, &desk),
        None => Ok(0),
    }
}

/// One lead's status change of a batch (a CRM import), as the journal records it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEntry {
    /// The lead, as stored.
    pub lead_id: String,
    /// Its status when the change was decided.
    pub from: String,
    /// The new status.
    pub status: String,
    /// Free text kept with the event.
    pub note: Option<String>,
}

/// Finds a lead by id (any case): its stored id and the status it will have once the journal
/// is applied.
pub type Lookup<'a> = dyn FnMut(&str) -> Result<Option<(String, String)>> + 'a;

/// Records a batch of status changes, each lead its own (`onelead status --import`): `decide`
/// chooses them from each lead's status as the lead database's last commit and the entries
/// still pending make it (`ids`: every id it may look up), and they are appended in one
/// transaction of the desk — all or none — then applied in one transaction of the lead
/// database when it is free within `wait` (false when a run holds it: they wait in the
/// journal, as [`set_status`]'s do).
pub fn record_statuses(
    store: &mut Store,
    ids: &[String],
    by: Option<&str>,
    now: &str,
    wait: Duration,
    decide: &mut dyn FnMut(&mut Lookup<'_>) -> Result<Vec<StatusEntry>>,
) -> Result<(Vec<StatusEntry>, bool)> {
    let desk = Desk::open(store.location())?;
    // As in `record_status`: the journal held before reading the lead database.
    let entries = desk.exclusive(|tx| {
        let mut canonical: Vec<String> = ids.iter().map(|i| i.trim().to_uppercase()).collect();
        canonical.sort();
        canonical.dedup();
        let snap = store.reader()?.workflow_of(&canonical, APPLIED_KEY)?;
        let after = applied(snap.mark.as_deref(), &desk)?;
        let known: HashMap<String, (String, String)> = canonical
            .into_iter()
            .zip(snap.leads)
            .filter_map(|(id, s)| s.map(|s| (id, (s.lead_id, s.status))))
            .collect();
        let entries = decide(&mut |id: &str| {
            let Some((lead_id, status)) = known.get(&id.trim().to_uppercase()).cloned() else {
                return Ok(None);
            };
            let pending = pending_for(tx, &lead_id, after)?;
            let status = pending
                .iter()
                .rev()
                .find_map(|p| p.change.status())
                .map_or(status, str::to_string);
            Ok(Some((lead_id, status)))
        })?;
        for e in &entries {
            let change = Change::Status {
                status: e.status.clone(),
                note: e.note.clone(),
                opportunity: None,
            };
            append(
                tx,
                now,
                by.unwrap_or(""),
                &change,
                &[(e.lead_id.clone(), e.from.clone())],
            )?;
        }
        Ok(entries)
    })?;
    let done = try_apply(store, &desk, wait)?.is_some();
    Ok((entries, done))
}

/// Records `change` and applies it at once when the lead database is free within `wait` (the
/// command-line path). True when it is already in the lead database; false when a run holds it
/// and the change waits in the journal (the server, the run's successor or the next run
/// applies it).
pub fn set_status(
    store: &mut Store,
    ids: &[String],
    change: &StatusChange<'_>,
    now: &str,
    wait: Duration,
) -> Result<(Vec<Applied>, bool)> {
    let desk = Desk::open(store.location())?;
    let applied = record_status(&desk, &mut store.reader()?, ids, change, now)?;
    let done = try_apply(store, &desk, wait)?.is_some();
    Ok((applied, done))
}

#[cfg(test)]
mod tests;
