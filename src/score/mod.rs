//! Evaluation: every install-base item runs through the classify rules, the triggers, the factor
//! rules and the service boosts; results are written back in the caller's transaction. Items
//! are processed in chunks (bounded memory) and each chunk in parallel (rayon), then written in
//! row order so the output never depends on thread timing.

pub mod context;
pub mod diff;
pub mod lead;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use rayon::prelude::*;
use rhai::Map;
use rusqlite::{Connection, params};

use crate::config::Config;
use crate::error::Result;
use crate::recommend::{self, Catalog};
use crate::rules::{EvalContext, RuleSet};
use context::{Accounts, ItemRow, int_field, str_field};
use lead::{Factor, Lead};

/// Items read and evaluated per chunk.
const CHUNK: usize = 8192;

/// Most distinct (lead, family) recommendation results kept; past this, new ones are computed
/// every time rather than cached, so a trigger that puts a serial number in its title cannot
/// make the cache grow with the install base.
const RECOMMEND_CACHE_LIMIT: usize = 65_536;

/// What a recommendation depends on: the `lead` map the services rules see (type, title, rule)
/// and the product family that picks the candidate services.
type RecommendKey = (String, String, String, String);

/// Recommendations already computed in this evaluation, shared by the worker threads.
///
/// The services rules are functions of `(lead, service, cfg)` only — the `lead` map holds
/// nothing but type, title and rule — so equal keys give equal results. A million items
/// produce only a few thousand distinct keys; without the cache every lead re-ran every boost
/// rule for every candidate service (tens of script calls per lead).
type RecommendCache = std::sync::RwLock<HashMap<RecommendKey, Vec<lead::Recommendation>>>;

/// What an evaluation did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    /// Install-base items evaluated.
    pub items: usize,
    /// Leads triggered in this evaluation.
    pub leads: usize,
    /// Leads seen for the first time.
    pub new_leads: usize,
    /// Leads whose trigger stopped firing (kept, inactive).
    pub closed: usize,
    /// Inactive leads that fired again.
    pub reopened: usize,
}

/// Derived fields of one item, written back to `install_base`.
struct Derived {
    id: i64,
    days_since_eol: Option<i64>,
    days_since_expiry: Option<i64>,
    risk_level: Option<String>,
    product_family: Option<String>,
}

/// One evaluated item: its derived fields and leads, or the rule error it hit.
type ItemResult = Result<(Derived, Vec<Lead>)>;

/// Rounds to 6 decimals so contributions add up to the total whatever the summation order.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Everything evaluation needs besides the connection.
pub struct Evaluator<'a> {
    /// Compiled rules.
    pub rules: &'a RuleSet,
    /// Validated config.
    pub cfg: &'a Config,
    /// Day counts are measured from this date.
    pub as_of: NaiveDate,
    /// False for `load`: classify only, no leads.
    pub make_leads: bool,
}

impl Evaluator<'_> {
    /// Evaluates every item; `progress` is told how many items are done so far.
    pub fn run(&self, conn: &Connection, run_id: i64, progress: &dyn Fn(u64)) -> Result<Outcome> {
        let accounts = context::read_accounts(conn)?;
        let catalog = Catalog::read(conn, self.cfg)?;
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut out = Outcome::default();
        let mut ids = HashSet::new();
        let mut after = 0;
        let cache = RecommendCache::default();
        let mut pending: Option<Vec<ItemResult>> = None;
        // Evaluating chunk k+1 (both cores, through rayon) overlaps writing chunk k (this
        // thread, which owns the connection): writing is a third of the work and otherwise
        // left the workers idle. Chunks are still written in row order, so the first error
        // in row order is the one reported and the output never depends on thread timing.
        loop {
            let rows = context::read_items(conn, after, CHUNK)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let (written, results) = std::thread::scope(|s| {
                let worker = s.spawn(|| {
                    rows.par_iter()
                        .map(|row| self.evaluate_item(row, &accounts, &catalog, &cache))
                        .collect::<Vec<_>>()
                });
                let written = pending.take().map_or(Ok(()), |p| {
                    write_chunk(conn, p, &mut ids, run_id, &now, &mut out)
                });
                (written, worker.join())
            });
            written?;
            pending = Some(results.unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            out.items += rows.len();
            progress(out.items as u64);
        }
        if let Some(p) = pending {
            write_chunk(conn, p, &mut ids, run_id, &now, &mut out)?;
        }
        if self.make_leads {
            out.closed = close_untriggered(conn, run_id, &now)?;
        }
        Ok(out)
    }

    fn evaluate_item(
        &self,
        row: &ItemRow,
        accounts: &Accounts,
        catalog: &Catalog,
        cache: &RecommendCache,
    ) -> Result<(Derived, Vec<Lead>)> {
        let serial = row.text("serial_number").unwrap_or("");
        let ctx = EvalContext {
            table: "install_base",
            row: row.source_row,
            key: serial,
        };
        let mut item = context::item_map(row, self.as_of);
        self.rules.classify(&mut item, &ctx)?;
        let derived = Derived {
            id: row.id,
            days_since_eol: int_field(&item, "days_since_eol"),
            days_since_expiry: int_field(&item, "days_since_expiry"),
            risk_level: str_field(&item, "risk_level"),
            product_family: str_field(&item, "product_family"),
        };
        if !self.make_leads {
            return Ok((derived, Vec::new()));
        }
        let account = accounts.shared(row.account_id.as_deref());
        // Shared once per item: the ~10 rule calls below each copy a pointer, not the map.
        let item = crate::rules::share(item);
        let mut leads = Vec::new();
        for hit in self.rules.triggers_shared(&item, account, &ctx)? {
            let mut lead_map = Map::new();
            lead_map.insert("lead_type".into(), hit.lead_type.clone().into());
            lead_map.insert("title".into(), hit.title.clone().into());
            lead_map.insert("rule".into(), hit.rule.clone().into());
            let mut factors = BTreeMap::new();
            let mut reasons = hit.reasons.clone();
            let mut total = 0.0;
            let lead_shared = crate::rules::share(lead_map.clone());
            for f in self
                .rules
                .score_shared(&item, account, &lead_shared, &ctx)?
            {
                let weight = self
                    .cfg
                    .scoring_weights
                    .get(&f.name)
                    .copied()
                    .unwrap_or(0.0);
                let contribution = round6(f.value * weight);
                total += contribution;
                reasons.extend(f.reasons.iter().map(|r| format!("{}: {r}", f.name)));
                factors.insert(
                    f.name,
                    Factor {
                        value: f.value,
                        weight,
                        contribution,
                        reasons: f.reasons,
                    },
                );
            }
            let score = round6(total);
            let family = derived.product_family.clone().unwrap_or_default();
            let key = (
                hit.lead_type.clone(),
                hit.title.clone(),
                hit.rule.clone(),
                family,
            );
            let cached = cache.read().ok().and_then(|c| c.get(&key).cloned());
            let recs = if let Some(recs) = cached {
                recs
            } else {
                let recs = recommend::recommend(
                    catalog,
                    self.rules,
                    &key.3,
                    &lead_map,
                    self.cfg.top_services,
                    &ctx,
                )?;
                // A poisoned lock only means another thread panicked; skipping the cache is safe.
                if let Ok(mut c) = cache.write() {
                    if c.len() < RECOMMEND_CACHE_LIMIT {
                        c.insert(key, recs.clone());
                    }
                }
                recs
            };
            let key = asset_key(row.text("serial_number"), row.id);
            leads.push(Lead {
                lead_id: lead::lead_id(&key, &hit.lead_type, 8),
                priority: self.cfg.priority_thresholds.priority(score).to_string(),
                score,
                factors,
                reasons,
                title: hit.title,
                description: hit.description,
                recommended_action: hit.action,
                account_id: row.account_id.clone(),
                account_name: accounts.name(row.account_id.as_deref()),
                territory_id: row.text("territory_id").map(str::to_string),
                install_base_id: row.id,
                serial_number: row.text("serial_number").map(str::to_string),
                product_name: row.text("product_name").map(str::to_string),
                product_family: derived.product_family.clone(),
                days_since_eol: derived.days_since_eol,
                recommended_skus: recommend::flatten_skus(&recs),
                recommended_services: recs,
                extra: map_to_json(&hit.extra),
                lead_type: hit.lead_type,
                rule: hit.rule,
                status: "new".into(),
                active: true,
                created_at: String::new(),
                updated_at: String::new(),
            });
        }
        Ok((derived, leads))
    }
}

/// Writes one evaluated chunk in row order: derived fields, then each lead.
fn write_chunk(
    conn: &Connection,
    results: Vec<ItemResult>,
    ids: &mut HashSet<String>,
    run_id: i64,
    now: &str,
    out: &mut Outcome,
) -> Result<()> {
    for r in results {
        let (derived, leads) = r?;
        write_derived(conn, &derived)?;
        for mut lead in leads {
            if !ids.insert(lead.lead_id.clone()) {
                // Two assets hashed to the same short id: the later one gets a longer id.
                let key = asset_key(lead.serial_number.as_deref(), lead.install_base_id);
                lead.lead_id = lead::lead_id(&key, &lead.lead_type, 13);
                ids.insert(lead.lead_id.clone());
            }
            upsert_lead(conn, &lead, run_id, now, out)?;
            out.leads += 1;
        }
    }
    Ok(())
}

/// The identity of an asset across runs: its serial number, or its row when it has none.
fn asset_key(serial: Option<&str>, id: i64) -> String {
    serial.map_or_else(|| format!("row:{id}"), str::to_string)
}

fn map_to_json(m: &Map) -> serde_json::Map<String, serde_json::Value> {
    m.iter()
        .filter_map(|(k, v)| {
            let json = serde_json::to_value(v).ok()?;
            Some((k.to_string(), json))
        })
        .collect()
}

fn write_derived(conn: &Connection, d: &Derived) -> Result<()> {
    conn.prepare_cached(
        "UPDATE install_base SET days_since_eol = ?1, days_since_expiry = ?2, risk_level = ?3,
         product_family = ?4 WHERE id = ?5",
    )?
    .execute(params![
        d.days_since_eol,
        d.days_since_expiry,
        d.risk_level,
        d.product_family,
        d.id
    ])?;
    Ok(())
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Inserts a new lead or refreshes an existing one, keeping its status, notes and history.
fn upsert_lead(
    conn: &Connection,
    lead: &Lead,
    run_id: i64,
    now: &str,
    out: &mut Outcome,
) -> Result<()> {
    let previous: Option<(bool, String)> = conn
        .prepare_cached("SELECT active, priority FROM leads WHERE lead_id = ?1")?
        .query_row([&lead.lead_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    conn.prepare_cached(
        "INSERT INTO leads (lead_id, lead_type, rule, install_base_id, serial_number, product_name,
           product_family, account_id, territory_id, title, description, recommended_action, score,
           priority, factors, reasons, recommended_services, recommended_skus, days_since_eol,
           extra, estimated_value, status, active, closed_reason, created_at, updated_at, run_id)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?23,
           'new',1,NULL,?21,?21,?22)
         ON CONFLICT(lead_id) DO UPDATE SET lead_type = excluded.lead_type, rule = excluded.rule,
           install_base_id = excluded.install_base_id, serial_number = excluded.serial_number,
           product_name = excluded.product_name, product_family = excluded.product_family,
           account_id = excluded.account_id, territory_id = excluded.territory_id,
           title = excluded.title, description = excluded.description,
           recommended_action = excluded.recommended_action, score = excluded.score,
           priority = excluded.priority, factors = excluded.factors, reasons = excluded.reasons,
           recommended_services = excluded.recommended_services,
           recommended_skus = excluded.recommended_skus, days_since_eol = excluded.days_since_eol,
           extra = excluded.extra, estimated_value = excluded.estimated_value, active = 1,
           closed_reason = NULL, run_id = excluded.run_id",
    )?
    .execute(params![
        lead.lead_id,
        lead.lead_type,
        lead.rule,
        lead.install_base_id,
        lead.serial_number,
        lead.product_name,
        lead.product_family,
        lead.account_id,
        lead.territory_id,
        lead.title,
        lead.description,
        lead.recommended_action,
        lead.score,
        lead.priority,
        json(&lead.factors),
        json(&lead.reasons),
        json(&lead.recommended_services),
        lead.recommended_skus.join(","),
        lead.days_since_eol,
        json(&lead.extra),
        now,
        run_id,
        // A column of its own, so pipeline sums read an index instead of parsing JSON.
        lead.extra
            .get("estimated_value")
            .and_then(serde_json::Value::as_f64)
    ])?;
    let event = match &previous {
        None => {
            out.new_leads += 1;
            Some("created")
        }
        Some((false, _)) => {
            out.reopened += 1;
            Some("reopened")
        }
        Some((true, _)) => None,
    };
    if let Some(kind) = event {
        conn.prepare_cached(
            "INSERT INTO lead_events (lead_id, at, kind, run_id) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![lead.lead_id, now, kind, run_id])?;
    }
    // The digest reports priority moves; the event reuses the from/to columns for priorities.
    if let Some((_, old)) = previous.filter(|(_, old)| *old != lead.priority) {
        conn.prepare_cached(
            "INSERT INTO lead_events (lead_id, at, kind, from_status, to_status, run_id)
             VALUES (?1, ?2, 'priority', ?3, ?4, ?5)",
        )?
        .execute(params![lead.lead_id, now, old, lead.priority, run_id])?;
    }
    Ok(())
}

/// Marks active leads this run did not trigger as inactive; they keep their status and history.
fn close_untriggered(conn: &Connection, run_id: i64, now: &str) -> Result<usize> {
    conn.execute(
        "INSERT INTO lead_events (lead_id, at, kind, note, run_id)
         SELECT lead_id, ?1, 'closed', 'no longer triggered', ?2 FROM leads
         WHERE active = 1 AND run_id != ?2",
        params![now, run_id],
    )?;
    Ok(conn.execute(
        "UPDATE leads SET active = 0, closed_reason = 'closed: no longer triggered'
         WHERE active = 1 AND run_id != ?1",
        [run_id],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_makes_reference_scores_exact() {
        // 80·0.35 + 50·0.30 + 40·0.20 + 60·0.15 is 60.0 in the reference; any order must agree.
        let parts = [80.0 * 0.35, 50.0 * 0.30, 40.0 * 0.20, 60.0 * 0.15].map(round6);
        let fwd = round6(parts.iter().sum());
        let rev = round6(parts.iter().rev().sum());
        assert_eq!(fwd, 60.0);
        assert_eq!(rev, 60.0);
    }

    #[test]
    fn asset_key_falls_back_to_the_row() {
        assert_eq!(asset_key(Some("SN1"), 4), "SN1");
        assert_eq!(asset_key(None, 4), "row:4");
    }
}
