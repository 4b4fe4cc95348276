//! The views' queries on PostgreSQL: the [`Reads`] of a read-only [`super::Reader`]. Every
//! aggregate is a `GROUP BY` that walks an index; the lead queue filters in SQL with bound
//! parameters.

mod account;
mod analytics;
mod lead;
mod lifecycle;
pub mod query;
mod queue;
mod rollups;
mod snapshots;

use super::Reader;
use crate::error::Result;
use crate::model::lead::Lead;
use crate::store::read::{
    Account360, Coverage, DigestRows, DigestWindow, Event, FamilyMix, FunnelBy, Identity,
    LeadFilter, LeadMix, Lookup, Reads, Territory, TerritorySort, WorkflowSnapshot,
};

impl Reads for Reader {
    fn count_capped(&mut self, filter: &LeadFilter, cap: usize) -> Result<usize> {
        queue::count_capped(&mut self.client, filter, cap)
    }

    fn lead_ids(&mut self, filter: &LeadFilter) -> Result<Vec<String>> {
        queue::lead_ids(&mut self.client, filter)
    }

    fn leads_of_assets(&mut self, assets: &[(Option<String>, i64)]) -> Result<Vec<Lead>> {
        queue::leads_of_assets(&mut self.client, assets)
    }

    fn workflow_of(&mut self, ids: &[String], mark: &str) -> Result<WorkflowSnapshot> {
        queue::workflow_of(&mut self.client, ids, mark)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        queue::meta(&mut self.client, key)
    }

    fn snapshots(&mut self, kind: &str) -> Result<Vec<crate::model::snapshot::SnapshotInfo>> {
        snapshots::snapshots(&mut self.client, kind)
    }

    fn asset_changes(
        &mut self,
        snapshot: i64,
        kinds: &[crate::model::snapshot::Change],
        limit: Option<usize>,
    ) -> Result<Vec<crate::model::snapshot::AssetChange>> {
        snapshots::asset_changes(&mut self.client, snapshot, kinds, limit)
    }

    fn has_leads(&mut self) -> Result<bool> {
        rollups::has_leads(&mut self.client)
    }

    fn lead_totals(&mut self) -> Result<(i64, i64)> {
        rollups::lead_totals(&mut self.client)
    }

    fn lead_mix(&mut self) -> Result<LeadMix> {
        rollups::lead_mix(&mut self.client)
    }

    fn counts_by_type_priority(&mut self) -> Result<Vec<(String, String, i64)>> {
        query::counts_by_type_priority(&mut self.client)
    }

    fn each_lead(
        &mut self,
        filter: &LeadFilter,
        visit: &mut dyn FnMut(Lead) -> Result<()>,
    ) -> Result<()> {
        query::each_lead(&mut self.client, filter, visit)
    }

    fn lead_by_id(&mut self, id: &str) -> Result<Option<Lead>> {
        lead::lead_by_id(&mut self.client, id)
    }

    fn similar_ids(&mut self, id: &str) -> Result<Vec<String>> {
        lead::similar_ids(&mut self.client, id)
    }

    fn events(&mut self, lead_id: &str) -> Result<Vec<Event>> {
        lead::events(&mut self.client, lead_id)
    }

    fn territories(&mut self, sort: TerritorySort) -> Result<Vec<Territory>> {
        rollups::territories(&mut self.client, sort)
    }

    fn leaderboard(&mut self, n: usize) -> Result<Vec<Territory>> {
        rollups::leaderboard(&mut self.client, n)
    }

    fn family_mix(&mut self, mix: &LeadMix) -> Result<Vec<FamilyMix>> {
        analytics::family_mix(&mut self.client, mix)
    }

    fn coverage(&mut self) -> Result<Vec<Coverage>> {
        analytics::coverage(&mut self.client)
    }

    fn find_account(&mut self, query: &str, normalized: &str) -> Result<Lookup> {
        account::find_account(&mut self.client, query, normalized)
    }

    fn account_360(&mut self, account: Identity, limit: Option<usize>) -> Result<Account360> {
        account::account_360(&mut self.client, account, limit)
    }

    fn last_as_of(&mut self) -> Result<Option<String>> {
        lifecycle::last_as_of(&mut self.client)
    }

    fn last_evaluation(&mut self) -> Result<Option<(i64, String)>> {
        lifecycle::last_evaluation(&mut self.client)
    }

    fn digest_rows(&mut self, window: &DigestWindow) -> Result<DigestRows> {
        lifecycle::digest_rows(&mut self.client, window)
    }

    fn status_changes(&mut self, window: &DigestWindow) -> Result<Vec<(String, String, i64)>> {
        lifecycle::status_changes(&mut self.client, window)
    }

    fn funnel_counts(&mut self, by: FunnelBy) -> Result<Vec<(String, String, i64)>> {
        lifecycle::funnel_counts(&mut self.client, by)
    }
}
