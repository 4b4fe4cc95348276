//! The storage API: what the rest of OneLead asks of a database, per concern, in domain terms.
//!
//! A backend implements [`Backend`] (opening, transactions, housekeeping), [`WriteTx`] (the
//! concerns a run writes: [`Loads`], [`Snapshots`], [`Items`], [`Accounts`], [`Leads`],
//! [`Runs`], [`Workflow`], and the digest e-mails sent, [`Mail`])
//! and [`Reads`](super::read::Reads) (the views' queries). Each call is at the granularity of a
//! batch or a question ("write these leads", "the items after this one"), never of a column or
//! a statement, so each backend keeps its own bulk paths and tricks (SQLite's row ids, index
//! suspension and journal switch; PostgreSQL's `COPY`) behind it.

use std::collections::BTreeMap;
use std::sync::Arc;

use rhai::Identifier;

use super::columns::Encoded;
use super::read::Reader;
use crate::error::Result;
use crate::fxhash::FastMap;
use crate::model::account::{AccountFacts, AccountPlan, CatalogEntry, NameRows};
use crate::model::item::{Interner, ItemOutcome, ItemRow, StoredDerived};
use crate::model::lead::{Factor, Lead, LeadState};
use crate::model::snapshot::{SettledInstallBase, SnapshotRecord};
use crate::model::{Record, SheetKind};

/// Whether the database changed since a token was taken: equal tokens, no other writer
/// committed in between. Opaque: SQLite's is its `data_version`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeToken(pub(super) i64);

/// A piece of work a run left to do after its commit (building a lead index it suspended);
/// [`super::Store::finish`] does it. Opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending(pub(super) String);

impl Pending {
    /// What the work is, in the backend's terms (SQLite: the `CREATE INDEX` statement).
    pub fn describe(&self) -> &str {
        &self.0
    }
}

/// What a write transaction is for: a backend whose writers can work side by side keeps runs
/// apart from one another but lets reps' changes through while a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// A run (`load`, `run`, `watch`, `whatif`): one at a time.
    Run,
    /// A rep's change to a few leads (`status`): waits for no run.
    Change,
}

/// An opened database: transactions and the housekeeping between them.
pub trait Backend: Send {
    /// A write transaction for a small change (the journal's), waiting at most `wait` for the
    /// database; `None` when a run still holds it.
    fn begin_within(&mut self, wait: std::time::Duration) -> Result<Option<Box<dyn WriteTx + '_>>>;
    /// Starts a write transaction; dropping it uncommitted rolls back.
    fn begin(&mut self, kind: TxKind) -> Result<Box<dyn WriteTx + '_>>;
    /// A read-only handle on the same database, for the views.
    fn reader(&self) -> Result<Reader>;
    /// Leaves the work a commit would do for durability or space (SQLite: WAL checkpoints) to
    /// [`Backend::compact`], which `watch` calls after printing its report.
    fn defer_housekeeping(&mut self) -> Result<()>;
    /// Does one piece of work a run left (see [`Pending`]), in its own transaction; nothing to
    /// do when another command did it already.
    fn finish(&mut self, pending: &Pending) -> Result<()>;
    /// Reclaims what the leads no longer use and does deferred housekeeping.
    fn compact(&mut self) -> Result<()>;
    /// A run's side of evaluation by worker processes, on a connection of its own.
    fn work_queue(&self) -> Result<Box<dyn WorkQueue + Send>>;
    /// A worker's side: claims a partition of `work` (any work when `None`) nobody holds, or
    /// says there is none now.
    fn claim(&mut self, work: Option<i64>) -> Result<Option<Box<dyn Claim + '_>>>;
    /// How many partitions of `work` (of any work when `None`) are not done yet, held by a
    /// worker or not.
    fn open_parts(&mut self, work: Option<i64>) -> Result<usize>;
    /// The connection, for the store's own tests.
    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The write transaction of a run or a command: every concern a run writes, and its end.
pub trait WriteTx: Loads + Snapshots + Items + Accounts + Leads + Runs + Workflow + Mail {
    /// The database's [`ChangeToken`] when this transaction began (no one else can commit
    /// while it holds the write lock).
    fn token(&self) -> ChangeToken;
    /// Makes everything written durable; returns the token the database has now, which a
    /// later transaction of this same handle finds unchanged unless another writer committed.
    fn commit(self: Box<Self>) -> Result<ChangeToken>;
}

/// Which loaded tables [`Loads::index_loaded`] builds the suspended indexes of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// The install base (rows the account rebuild never rewrites).
    InstallBase,
    /// Every other loaded table.
    Rest,
}

/// Loading records from the exports.
pub trait Loads {
    /// The kinds of sheet whose tables hold rows.
    fn stored_kinds(&mut self) -> Result<Vec<SheetKind>>;
    /// Starts a load: a backend may suspend indexes of empty tables (and of the tables
    /// [`RecordSink::replace`] empties) until [`Loads::index_loaded`]. The sink writes records
    /// in file order.
    fn start_load(&mut self) -> Result<Box<dyn RecordSink + '_>>;
    /// Builds what the load suspended for `part`.
    fn index_loaded(&mut self, part: Loaded) -> Result<()>;
}

/// Where loaded records go.
pub trait RecordSink {
    /// Removes every row of `kind`'s tables, the snapshot the records that follow replace;
    /// returns how many rows it held (for the SKU sheet, its offerings).
    fn replace(&mut self, kind: SheetKind) -> Result<u64>;
    /// Writes one record. Rows with a sales territory are filed under its account
    /// (`ST-<territory>`) as they are written, as the account rebuild would file them; an
    /// install-base row's asset key is its serial number until
    /// [`Snapshots::settle_install_base`] tells colliding serials apart.
    fn write(&mut self, rec: &Record) -> Result<()>;
    /// Ends the load: a backend that buffers rows writes the rest.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// The snapshots runs form, and the asset register the install-base snapshots are compared
/// through.
pub trait Snapshots {
    /// Records a snapshot a run formed; returns its id (increasing).
    fn record_snapshot(&mut self, snapshot: &SnapshotRecord<'_>) -> Result<i64>;
    /// Settles the install base this run loaded as snapshot `snapshot`. An asset is identified
    /// by its serial number, or by `serial|product id` where one serial belongs to several
    /// products in the snapshot; keys on several rows are reported, all rows kept. The
    /// snapshot is then compared with the asset register (what the previous install-base
    /// snapshot held): which assets arrived, which left, and whose support status or coverage
    /// class changed; each change is recorded under `snapshot` and the register brought up to
    /// date. The coverage class of a support status: containing "uncovered" → `uncovered`;
    /// else "expired" or "inactive" → `expired`; else "active" or "warranty" → `covered`;
    /// else `unknown` (case-insensitive). With an empty register there is nothing to compare
    /// with: the snapshot becomes the register and `changes` is `None`.
    fn settle_install_base(&mut self, snapshot: i64) -> Result<SettledInstallBase>;
}

/// The install base as evaluation reads and classifies it.
pub trait Items {
    /// Up to `limit` items with `id > after`, in id order; repeated values shared through
    /// `strings` (kept across calls).
    fn read_items(
        &mut self,
        after: i64,
        limit: usize,
        strings: &mut Interner,
    ) -> Result<Vec<ItemRow>>;
    /// The items with this serial number (any case when none matches exactly), in id order:
    /// what `explain SERIAL` evaluates.
    fn items_by_serial(&mut self, serial: &str) -> Result<Vec<ItemRow>>;
    /// Stores the derived fields of items whose classification changed.
    fn write_derived(&mut self, changed: &[(i64, &StoredDerived)]) -> Result<()>;
    /// How many items there are.
    fn count_items(&mut self) -> Result<usize>;
    /// The SKU sheet's product rows (`service_catalog` rows with a product), in load order.
    fn service_catalog(&mut self) -> Result<Vec<CatalogEntry>>;
}

/// Accounts: the names they are derived from, the derived accounts, and what rules see.
pub trait Accounts {
    /// True when none of the tables accounts are derived from holds a row.
    fn account_sources_empty(&mut self) -> Result<bool>;
    /// The names the account rebuild reads, grouped and ordered as [`NameRows`] says.
    fn account_names(&mut self) -> Result<NameRows>;
    /// Replaces the accounts and aliases with the plan's and files every data row under its
    /// account. `fresh`: every data row was written by this transaction's load, which filed
    /// territory rows already. Returns how many alias rows were written (repeats count once).
    fn write_accounts(&mut self, plan: &AccountPlan, fresh: bool) -> Result<usize>;
    /// Every account with the aggregates rules see.
    fn account_facts(&mut self) -> Result<Vec<AccountFacts>>;
}

/// The state of a stored lead as the ledger compares it ([`Leads::each_lead_state`]).
#[derive(Debug, Clone, Copy)]
pub struct StoredState<'a> {
    /// Stable id.
    pub lead_id: &'a str,
    /// Triggered by the last evaluation.
    pub active: bool,
    /// Priority.
    pub priority: &'a str,
    /// Score.
    pub score: f64,
    /// Fingerprint (`None`: unknown, e.g. cleared when the hash changed).
    pub fingerprint: Option<i64>,
    /// The trigger rule's file stem.
    pub rule: &'a str,
    /// The [`super::columns::placement_key`] of its placement columns.
    pub placement: u64,
}

/// What a run writes leads as.
#[derive(Debug, Clone, Copy)]
pub struct LeadRun<'a> {
    /// The `runs` row.
    pub run_id: i64,
    /// `created_at`/`updated_at` and event times of this run.
    pub now: &'a str,
    /// Leads stored before the run.
    pub stored: usize,
    /// No lead is stored and leads are to be written: a backend may suspend the lead indexes
    /// until [`Leads::end_lead_writes`] and build them once.
    pub bulk: bool,
}

/// What [`Leads::end_lead_writes`] did and left.
#[derive(Debug, Default)]
pub struct EndedWrites {
    /// Suspended indexes built again.
    pub rebuilt: usize,
    /// The work left for after the commit.
    pub pending: Vec<Pending>,
}

/// Which columns of an active lead an update rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Neither the placement nor the score or priority moved: the content alone.
    Content,
    /// The content, the score and the priority; the placement stands.
    Scored,
    /// Every evaluated column.
    Everything,
}

/// One lead write of an evaluation, in the order the ledger decided them.
#[derive(Debug, Clone, Copy)]
pub enum LeadWrite<'a> {
    /// A lead never stored. `log`: record its `created` event now (into an empty table every
    /// lead is new, and [`Leads::close_leads`] logs them all at once).
    Insert {
        /// The lead.
        lead: &'a Lead,
        /// Its encoded columns.
        enc: &'a Encoded,
        /// Record the `created` event now.
        log: bool,
    },
    /// An inactive lead that fired again (`reopened` event).
    Reopen {
        /// The lead.
        lead: &'a Lead,
        /// Its encoded columns.
        enc: &'a Encoded,
    },
    /// An active lead that changed; a `priority` event when its priority moved.
    Update {
        /// The lead.
        lead: &'a Lead,
        /// Its encoded columns.
        enc: &'a Encoded,
        /// Which columns.
        changed: Changed,
        /// The stored priority.
        priority_from: &'a str,
    },
}

/// A stored active lead as re-scoring reads it ([`Leads::read_scored`]). The short texts are
/// kept inline and the lead type shared: allocating a string per column was a third of
/// reading a chunk.
#[derive(Debug, Clone)]
pub struct StoredScore {
    /// Where the lead is: the next read starts after it, and its write finds it directly.
    /// Backend-defined (SQLite: the row id).
    pub at: i64,
    /// The install-base row.
    pub install_base_id: Option<i64>,
    /// The trigger rule.
    pub rule: Identifier,
    /// The title's text id (see [`Outcomes::titles`]).
    pub title_id: i64,
    /// Stable id.
    pub lead_id: Identifier,
    /// `{"factor": outcome id, …}` as stored; parsed by [`StoredScore::factor_refs`].
    pub factor_ids: String,
    /// Score.
    pub score: f64,
    /// Priority.
    pub priority: Identifier,
    /// Fingerprint.
    pub fingerprint: Option<i64>,
    /// Lead type.
    pub lead_type: Arc<str>,
}

impl StoredScore {
    /// The factor outcomes by name, or `None` when they cannot be read back.
    pub fn factor_refs(&self) -> Option<BTreeMap<String, i64>> {
        serde_json::from_str(&self.factor_ids).ok()
    }
}

/// Every stored factor outcome, parsed, by id; with the titles when asked for.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Factor outcomes (value, weight, contribution, reasons) by id.
    pub factors: FastMap<i64, Factor>,
    /// Every other stored text by id (titles among them), when asked for.
    pub titles: FastMap<i64, String>,
}

/// A re-scored lead's write ([`Leads::write_scored`]).
#[derive(Debug, Clone, Copy)]
pub struct ScoredWrite<'a> {
    /// [`StoredScore::at`].
    pub at: i64,
    /// Stable id.
    pub lead_id: &'a str,
    /// The new score.
    pub score: f64,
    /// The new priority.
    pub priority: &'a str,
    /// The stored priority.
    pub priority_from: &'a str,
    /// The score or priority moved (else only the factors and fingerprint are rewritten).
    pub moved: bool,
    /// The factors with their new weights and contributions.
    pub factors: &'a BTreeMap<String, Factor>,
    /// The new fingerprint.
    pub fingerprint: i64,
}

/// When the indexes suspended for many lead writes are built again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTiming {
    /// Before the transaction ends.
    Now,
    /// The one the run's summary reads now; the rest after the commit, returned as
    /// [`Pending`] work.
    AfterSummary,
}

/// Leads and their events, as evaluation writes them.
pub trait Leads {
    /// How many leads are stored.
    fn count_leads(&mut self) -> Result<usize>;
    /// Calls `visit` with every stored lead's state.
    fn each_lead_state(&mut self, visit: &mut dyn FnMut(StoredState<'_>)) -> Result<()>;
    /// The scheme stored fingerprints were made with; when it is not `scheme`, forgets them
    /// (they read as unknown, not as changed) and records `scheme`. True when it forgot.
    fn adopt_fingerprints(&mut self, scheme: &str) -> Result<bool>;
    /// Starts an evaluation's writes (see [`LeadRun::bulk`]).
    fn start_lead_writes(&mut self, run: &LeadRun<'_>) -> Result<()>;
    /// True when a lead with this id is stored (also one written by this transaction).
    fn lead_exists(&mut self, id: &str) -> Result<bool>;
    /// Writes a batch of leads in order.
    fn write_leads(&mut self, batch: &[LeadWrite<'_>]) -> Result<()>;
    /// Says that about `n` stored leads' scores or priorities are about to move (a backend may
    /// then suspend the indexes over them, once, as it does when many have moved).
    fn expect_moves(&mut self, n: usize) -> Result<()>;
    /// The names of a stored lead for the change report.
    fn lead_state(&mut self, id: &str) -> Result<LeadState>;
    /// Marks these active leads inactive with their events, and logs the `created` events a
    /// fresh table's inserts left for now. The reason is `no longer in the install base` when
    /// the install base holds no asset of the lead's serial number (and product, where the
    /// serial collides), else `no longer triggered`; stored as `closed: <reason>`.
    fn close_leads(&mut self, ids: &[String]) -> Result<()>;
    /// Ends the evaluation's writes: builds what was suspended as `timing` says and returns
    /// the rest; with `compact`, reclaims what the leads no longer use when it has piled up.
    fn end_lead_writes(&mut self, timing: IndexTiming, compact: bool) -> Result<EndedWrites>;
    /// How many leads are active.
    fn count_active(&mut self) -> Result<usize>;
    /// Every stored factor outcome (and every other text, when `titles`).
    fn factor_outcomes(&mut self, titles: bool) -> Result<Outcomes>;
    /// Up to `limit` active leads after `after` ([`StoredScore::at`]; 0 for the first), in
    /// storage order.
    fn read_scored(&mut self, after: i64, limit: usize) -> Result<Vec<StoredScore>>;
    /// Writes a batch of re-scored leads.
    fn write_scored(&mut self, batch: &[ScoredWrite<'_>]) -> Result<()>;
}

/// What a run records about itself.
#[derive(Debug, Clone, Copy)]
pub struct RunStart<'a> {
    /// When it started (RFC 3339).
    pub started_at: &'a str,
    /// `run`, `load`, `watch`, `whatif`.
    pub command: &'a str,
    /// The as-of date.
    pub as_of: &'a str,
    /// The input files, as JSON.
    pub inputs: &'a str,
    /// The rules' and config's hash.
    pub rules_hash: &'a str,
}

/// Runs and small facts about the database.
pub trait Runs {
    /// Records a run's start; returns its id.
    fn start_run(&mut self, run: &RunStart<'_>) -> Result<i64>;
    /// Records a run's end with its counts (JSON).
    fn finish_run(&mut self, run_id: i64, counts: &str) -> Result<()>;
    /// A stored fact (`meta`), if set.
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    /// Sets a stored fact.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;
}

/// One status change as it is recorded.
#[derive(Debug, Clone, Copy)]
pub struct StatusRecord<'a> {
    /// The lead, as stored.
    pub lead_id: &'a str,
    /// Its status before.
    pub from: &'a str,
    /// Its status now.
    pub to: &'a str,
    /// Free text.
    pub note: Option<&'a str>,
    /// Who.
    pub by: Option<&'a str>,
    /// The CRM opportunity.
    pub opportunity: Option<&'a str>,
    /// When.
    pub at: &'a str,
}

/// A change of owner, as the journal applies it.
#[derive(Debug, Clone, Copy)]
pub struct OwnerRecord<'a> {
    /// The lead (as stored).
    pub lead_id: &'a str,
    /// Its owner before.
    pub from: Option<&'a str>,
    /// Its owner now (`None`: nobody).
    pub to: Option<&'a str>,
    /// Free text.
    pub note: Option<&'a str>,
    /// Who made the change.
    pub by: Option<&'a str>,
    /// When (UTC).
    pub at: &'a str,
}

/// An active lead nobody owns, as the assignment rules see it (`crate::assign`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnownedLead {
    /// Its id (as stored).
    pub lead_id: String,
    /// Its type.
    pub lead_type: String,
    /// The trigger rule that made it.
    pub rule: String,
    /// Its title.
    pub title: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM` or `LOW`.
    pub priority: String,
    /// Its score.
    pub score: f64,
    /// Its territory.
    pub territory_id: Option<String>,
    /// Its account.
    pub account_id: Option<String>,
    /// The account's name.
    pub account_name: Option<String>,
    /// The install-base row it came from.
    pub install_base_id: i64,
    /// The product's family.
    pub product_family: Option<String>,
    /// The product.
    pub product_name: Option<String>,
    /// The serial number.
    pub serial_number: Option<String>,
    /// Days since end of life.
    pub days_since_eol: Option<i64>,
    /// The trigger's estimate of its value.
    pub estimated_value: Option<f64>,
}

/// The reps' workflow: lead statuses, owners and their history.
pub trait Workflow {
    /// A lead's owner: `None` for an unknown lead, `Some(None)` for a lead nobody owns.
    fn lead_owner(&mut self, id: &str) -> Result<Option<Option<String>>>;
    /// Records a change of owner and its event (`owner`, from/to in the status columns).
    fn record_owner(&mut self, change: &OwnerRecord<'_>) -> Result<()>;
    /// Gives every active lead without an owner the owner of the first rule it matches;
    /// returns how many were placed.
    fn assign_owners(&mut self, rules: &[crate::assign::AssignRule]) -> Result<usize>;
    /// Up to `limit` active leads nobody owns, by id, after the lead `after` (keyset paging).
    fn unowned_leads(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<UnownedLead>>;
    /// Gives each lead of `owners` (`(lead id, owner)`) its owner: what the assignment rules
    /// chose, recorded as the config's rules are (no event).
    fn set_owners(&mut self, owners: &[(String, String)]) -> Result<()>;
    /// The stored id and status of the lead with this id, in any case.
    fn lead_status(&mut self, id: &str) -> Result<Option<(String, String)>>;
    /// Sets a lead's status and records the change in its history.
    fn record_status(&mut self, change: &StatusRecord<'_>) -> Result<()>;
}

/// A digest e-mail that went out, as it is recorded.
#[derive(Debug, Clone, Copy)]
pub struct MailSent<'a> {
    /// What was sent: the digest kind, its window and its scope
    /// (`daily:run-3:territory-56088`).
    pub key: &'a str,
    /// The address it went to.
    pub recipient: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Its `Message-ID`.
    pub message_id: &'a str,
    /// The lead ids it listed, space-separated.
    pub lead_ids: &'a str,
    /// When the server accepted it (UTC).
    pub at: &'a str,
}

/// The digest e-mails sent, so that a retry sends only what did not go.
pub trait Mail {
    /// When the message `key` went to `recipient`, if it did.
    fn mail_sent(&mut self, key: &str, recipient: &str) -> Result<Option<String>>;
    /// Records that a message went (again, for a resend: the latest send is kept).
    fn record_mail(&mut self, sent: &MailSent<'_>) -> Result<()>;
}

/// Evaluation spread over worker processes (`onelead worker`), on a backend that processes on
/// other machines can reach: a run publishes its install base in partitions, each worker
/// claims one at a time, evaluates it and stages the outcomes, and the run merges them in its
/// own transaction. Everything here is committed as it is written, outside the run's
/// transaction, and is scratch: the next run forgets it.
pub trait WorkQueue {
    /// Starts a run's work `work`: forgets what earlier runs left, and keeps `setup` (what a
    /// worker needs besides the items; opaque to the store).
    fn start(&mut self, work: i64, setup: &[u8]) -> Result<()>;
    /// Adds items, each to its partition.
    fn add_items(&mut self, work: i64, items: &[(u32, &ItemRow)]) -> Result<()>;
    /// Makes the partitions claimable: `sizes[p]` items in partition `p`.
    fn publish(&mut self, work: i64, sizes: &[u64]) -> Result<()>;
    /// The partitions done so far.
    fn done(&mut self, work: i64) -> Result<WorkDone>;
    /// Every staged outcome, in item order; stops at the first error `visit` returns.
    fn outcomes(
        &mut self,
        work: i64,
        visit: &mut dyn FnMut(ItemOutcome) -> Result<()>,
    ) -> Result<()>;
    /// Forgets the work.
    fn clear(&mut self, work: i64) -> Result<()>;
}

/// How far the workers are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkDone {
    /// Partitions done.
    pub parts: usize,
    /// The items in them.
    pub items: u64,
}

/// A partition a worker holds: nobody else can claim it until the worker stages its
/// outcomes, or dies, which gives it back whole.
pub trait Claim {
    /// The run's work.
    fn work(&self) -> i64;
    /// The partition.
    fn part(&self) -> u32;
    /// What [`WorkQueue::start`] kept.
    fn setup(&mut self) -> Result<Vec<u8>>;
    /// The partition's items, in id order.
    fn items(&mut self, strings: &mut Interner) -> Result<Vec<ItemRow>>;
    /// Stages the outcomes and marks the partition done, `worker` naming who did it.
    fn finish(self: Box<Self>, outcomes: &[ItemOutcome], worker: &str) -> Result<()>;
}
