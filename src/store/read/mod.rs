//! Reading for the views: a read-only [`Reader`] and the questions it answers ([`Reads`]), with
//! the types they answer in. `crate::views` composes these into what the CLI, the report and
//! the server show.

pub(super) mod account;
pub(super) mod leads;
pub(super) mod rollups;

pub use account::{
    Account360, Alias, Asset, Count, Credits, ExpiringCredit, Identity, Lookup, Opportunity,
    Projects,
};
pub use leads::{
    DigestLead, DigestRows, DigestWindow, Event, FunnelBy, LeadFilter, LeadSort, Overlaid, Overlay,
    Statuses,
};
pub(crate) use leads::{funnel_sql, status_changes_sql};
pub use rollups::{
    Coverage, FamilyMix, LeadMix, PRIORITIES, Pipeline, PriorityCounts, Territory, TerritorySort,
};

use crate::error::Result;
use crate::model::lead::Lead;
use crate::model::snapshot::{AssetChange, Change, SnapshotInfo};

/// The views' questions, answered from the last committed state. Never writes.
pub trait Reads: Send {
    /// Whether the database holds any lead, active or not (to tell "empty" from "nothing
    /// matched") without counting them.
    fn has_leads(&mut self) -> Result<bool>;
    /// Lead counts: all rows and active ones.
    fn lead_totals(&mut self) -> Result<(i64, i64)>;
    /// The rollups of active leads that do not depend on territory, in one pass.
    fn lead_mix(&mut self) -> Result<LeadMix>;
    /// Active lead counts per (lead type, priority), by type then priority.
    fn counts_by_type_priority(&mut self) -> Result<Vec<(String, String, i64)>>;
    /// The leads matching `filter`, in its order, one at a time (a million leads held at once
    /// took gigabytes); stops at the first error `visit` returns.
    fn each_lead(
        &mut self,
        filter: &LeadFilter,
        visit: &mut dyn FnMut(Lead) -> Result<()>,
    ) -> Result<()>;
    /// The lead with this id (any case), active or not.
    fn lead_by_id(&mut self, id: &str) -> Result<Option<Lead>>;
    /// Up to five ids the user may have meant: ids starting with what was typed (a truncated
    /// id), otherwise the three closest by edit distance.
    fn similar_ids(&mut self, id: &str) -> Result<Vec<String>>;
    /// A lead's history, oldest first.
    fn events(&mut self, lead_id: &str) -> Result<Vec<Event>>;
    /// Every territory seen in accounts, install base or active leads, in `sort` order.
    fn territories(&mut self, sort: TerritorySort) -> Result<Vec<Territory>>;
    /// The `n` territories with the most active leads (then highest average score), as
    /// [`Reads::territories`] sorted by leads and cut to those with leads gives them.
    fn leaderboard(&mut self, n: usize) -> Result<Vec<Territory>>;
    /// Install base and active leads per product family (the leads from `mix`), most install
    /// base first.
    fn family_mix(&mut self, mix: &LeadMix) -> Result<Vec<FamilyMix>>;
    /// The install base in its four support-coverage classes, always in the order covered,
    /// expired, uncovered, unknown.
    fn coverage(&mut self) -> Result<Vec<Coverage>>;
    /// Finds `query`: exact id, then exact name, normalised name or alias (case-insensitive),
    /// then a substring of any of them. `normalized` is `query` normalised the way accounts were.
    fn find_account(&mut self, query: &str, normalized: &str) -> Result<Lookup>;
    /// Everything known about `account`, each list cut to `limit` rows (`None`: all).
    fn account_360(&mut self, account: Identity, limit: Option<usize>) -> Result<Account360>;
    /// The as-of date of the last run that wrote leads (`run`, `watch`).
    fn last_as_of(&mut self) -> Result<Option<String>>;
    /// The last run that evaluated leads (not `load`): its id and start time.
    fn last_evaluation(&mut self) -> Result<Option<(i64, String)>>;
    /// The rows the digest of `window` is folded from.
    fn digest_rows(&mut self, window: &DigestWindow) -> Result<DigestRows>;
    /// Status changes people made in `window` (not closings by a run), per (territory id or
    /// `(none)`, lower-case new status), by territory then status.
    fn status_changes(&mut self, window: &DigestWindow) -> Result<Vec<(String, String, i64)>>;
    /// Leads per (group, lower-case status) under `by`, groups in `by`'s order.
    fn funnel_counts(&mut self, by: FunnelBy) -> Result<Vec<(String, String, i64)>>;
    /// How many leads match `filter` (its limit and cursor aside), counting no further than
    /// `cap`: a count of a million matches would cost a walk of a million rows on every page.
    fn count_capped(&mut self, filter: &LeadFilter, cap: usize) -> Result<usize>;
    /// The ids of the leads matching `filter` (its limit and cursor aside), without the rest.
    fn lead_ids(&mut self, filter: &LeadFilter) -> Result<Vec<String>>;
    /// The active leads of these assets (`(account_id, install_base_id)`), best first.
    fn leads_of_assets(&mut self, assets: &[(Option<String>, i64)]) -> Result<Vec<Lead>>;
    /// The workflow state of these leads (`None` for an unknown id) and the `meta` value
    /// `mark`, read in one snapshot (see `store::journal`).
    fn workflow_of(&mut self, ids: &[String], mark: &str) -> Result<WorkflowSnapshot>;
    /// A `meta` value.
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    /// The recorded snapshots of the kind with this key (`install_base`, …), newest first.
    fn snapshots(&mut self, kind: &str) -> Result<Vec<SnapshotInfo>>;
    /// The changes install-base snapshot `snapshot` recorded, of these kinds (all when empty),
    /// by kind then asset key; at most `limit`.
    fn asset_changes(
        &mut self,
        snapshot: i64,
        kinds: &[Change],
        limit: Option<usize>,
    ) -> Result<Vec<AssetChange>>;
}

/// Leads' workflow state as one snapshot of the lead database saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkflowSnapshot {
    /// Per id asked, in order: the stored id, status and owner, or `None` when unknown.
    pub leads: Vec<Option<WorkflowState>>,
    /// The `meta` value asked for.
    pub mark: Option<String>,
}

/// One lead's workflow state.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowState {
    /// The id as stored.
    pub lead_id: String,
    /// Its status.
    pub status: String,
    /// Its owner.
    pub owner: Option<String>,
}

/// A read-only handle on a database: cheap to open, `Send`, one per thread or request.
pub struct Reader(Box<dyn Reads>);

impl Reader {
    /// Opens the database for reading. It must exist and have the current schema (a writing
    /// command, such as `onelead run`, creates or upgrades it).
    pub fn open(db: impl Into<super::Location>) -> Result<Reader> {
        Ok(match db.into() {
            super::Location::Sqlite(path) => Reader(Box::new(super::sqlite::Reader::open(&path)?)),
            super::Location::Postgres(url) => {
                Reader(Box::new(super::postgres::Reader::open(&url)?))
            }
        })
    }

    /// A reader for a server's pool: the same, with a small page cache (a server keeps several
    /// open for hours; the operating system caches the file anyway).
    /// A PostgreSQL reader is a connection like any other.
    pub fn open_pooled(db: &super::Location) -> Result<Reader> {
        match db {
            super::Location::Sqlite(path) => Ok(Reader(Box::new(
                super::sqlite::Reader::open_with_cache(path, 8192)?,
            ))),
            db @ super::Location::Postgres(_) => Reader::open(db.clone()),
        }
    }

    /// A reader over a backend's own read handle.
    pub(super) fn new(reads: Box<dyn Reads>) -> Reader {
        Reader(reads)
    }
}

impl std::ops::Deref for Reader {
    type Target = dyn Reads;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::ops::DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut *self.0
    }
}
