//! The views' queries on SQLite: the [`Reads`] of a read-only [`super::Reader`]. Every
//! aggregate is a `GROUP BY` that walks an index; the lead queue filters in SQL with bound
//! parameters.

mod account;
mod analytics;
mod lead;
mod lifecycle;
pub mod query;
mod rollups;
mod snapshots;

use super::Reader;
use crate::error::Result;
use crate::model::lead::Lead;
use crate::model::snapshot::{AssetChange, Change, SnapshotInfo};
use crate::store::read::{
    Account360, Coverage, DigestRows, DigestWindow, Event, FamilyMix, FunnelBy, Identity,
    LeadFilter, LeadMix, Lookup, Reads, Territory, TerritorySort, WorkflowSnapshot,
};

impl Reads for Reader {
    fn has_leads(&mut self) -> Result<bool> {
        rollups::has_leads(&self.conn)
    }

    fn lead_totals(&mut self) -> Result<(i64, i64)> {
        rollups::lead_totals(&self.conn)
    }

    fn lead_mix(&mut self) -> Result<LeadMix> {
        rollups::lead_mix(&self.conn)
    }

    fn counts_by_type_priority(&mut self) -> Result<Vec<(String, String, i64)>> {
        query::counts_by_type_priority(&self.conn)
    }

    fn each_lead(
        &mut self,
        filter: &LeadFilter,
        visit: &mut dyn FnMut(Lead) -> Result<()>,
    ) -> Result<()> {
        query::each_lead(&self.conn, filter, visit)
    }

    fn lead_by_id(&mut self, id: &str) -> Result<Option<Lead>> {
        lead::lead_by_id(&self.conn, id)
    }

    fn similar_ids(&mut self, id: &str) -> Result<Vec<String>> {
        lead::similar_ids(&self.conn, id)
    }

    fn events(&mut self, lead_id: &str) -> Result<Vec<Event>> {
        lead::events(&self.conn, lead_id)
    }

    fn territories(&mut self, sort: TerritorySort) -> Result<Vec<Territory>> {
        rollups::territories(&self.conn, sort)
    }

    fn leaderboard(&mut self, n: usize) -> Result<Vec<Territory>> {
        rollups::leaderboard(&self.conn, n)
    }

    fn family_mix(&mut self, mix: &LeadMix) -> Result<Vec<FamilyMix>> {
        analytics::family_mix(&self.conn, mix)
    }

    fn coverage(&mut self) -> Result<Vec<Coverage>> {
        analytics::coverage(&self.conn)
    }

    fn find_account(&mut self, query: &str, normalized: &str) -> Result<Lookup> {
        account::find_account(&self.conn, query, normalized)
    }

    fn account_360(&mut self, account: Identity, limit: Option<usize>) -> Result<Account360> {
        account::account_360(&self.conn, account, limit)
    }

    fn count_capped(&mut self, filter: &LeadFilter, cap: usize) -> Result<usize> {
        query::count_capped(&self.conn, filter, cap)
    }

    fn lead_ids(&mut self, filter: &LeadFilter) -> Result<Vec<String>> {
        query::lead_ids(&self.conn, filter)
    }

    fn leads_of_assets(&mut self, assets: &[(Option<String>, i64)]) -> Result<Vec<Lead>> {
        query::leads_of_assets(&self.conn, assets)
    }

    fn workflow_of(&mut self, ids: &[String], mark: &str) -> Result<WorkflowSnapshot> {
        query::workflow_of(&self.conn, ids, mark)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn last_as_of(&mut self) -> Result<Option<String>> {
        lifecycle::last_as_of(&self.conn)
    }

    fn last_evaluation(&mut self) -> Result<Option<(i64, String)>> {
        lifecycle::last_evaluation(&self.conn)
    }

    fn digest_rows(&mut self, window: &DigestWindow) -> Result<DigestRows> {
        lifecycle::digest_rows(&self.conn, window)
    }

    fn status_changes(&mut self, window: &DigestWindow) -> Result<Vec<(String, String, i64)>> {
        lifecycle::status_changes(&self.conn, window)
    }

    fn funnel_counts(&mut self, by: FunnelBy) -> Result<Vec<(String, String, i64)>> {
        lifecycle::funnel_counts(&self.conn, by)
    }

    fn snapshots(&mut self, kind: &str) -> Result<Vec<SnapshotInfo>> {
        snapshots::snapshots(&self.conn, kind)
    }

    fn asset_changes(
        &mut self,
        snapshot: i64,
        kinds: &[Change],
        limit: Option<usize>,
    ) -> Result<Vec<AssetChange>> {
        snapshots::asset_changes(&self.conn, snapshot, kinds, limit)
    }
}
