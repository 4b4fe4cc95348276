//! One install-base item through the rules: classify (or take the stored classification), then
//! each trigger that fires becomes a lead with its factors, score, priority and services. Runs
//! on the worker threads; the writer thread writes the results in row order.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::{Dynamic, Map};

use super::Evaluator;
use super::context::{self, Accounts, AsOf, int_field, str_field};
use super::ledger::LeadStates;
use crate::config::Config;
use crate::error::Result;
use crate::fxhash::{FastMap, Fx};
use crate::model::item::{ItemRow, StoredDerived};
use crate::model::lead::{self, Factor, Lead};
use crate::recommend::{self, Catalog};
use crate::rules::{EvalContext, FactorScore, TriggerHit};
use crate::store::columns::{Encoded, fingerprint};

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
/// Hashed by [`recommend_hash`], so a lookup borrows the lead's strings instead of copying four
/// of them for every lead; equal hashes share a bucket.
pub type RecommendCache = std::sync::RwLock<FastMap<u64, Vec<(RecommendKey, Recommended)>>>;

/// Recommended services with their SKU codes flattened (see [`recommend::flatten_skus`]).
type Recommended = (lead::Services, std::sync::Arc<[String]>);

fn recommend_hash(hit: &TriggerHit, family: &str) -> u64 {
    Fx::default().hash_one((&hit.lead_type, &hit.title, &hit.rule, family))
}

/// The recommendations computed earlier for this lead's type, title, rule and family.
fn cached_recommendation(
    cache: &RecommendCache,
    hit: &TriggerHit,
    family: &str,
) -> Option<Recommended> {
    let c = cache.read().ok()?;
    let (_, recs) = c.get(&recommend_hash(hit, family))?.iter().find(|(k, _)| {
        k.0 == hit.lead_type && k.1 == hit.title && k.2 == hit.rule && k.3 == family
    })?;
    Some(recs.clone())
}

/// Derived fields of one item, written back to `install_base` when they changed.
pub struct Derived {
    pub id: i64,
    pub fields: StoredDerived,
    pub changed: bool,
}

/// One evaluated lead: its fingerprint and, unless the worker found it unchanged, its encoded
/// columns.
pub struct Evaluated {
    pub lead: Lead,
    /// The asset's key (see [`asset_key`]), for a longer id when its short one is taken.
    pub asset: String,
    pub fingerprint: i64,
    pub enc: Option<Encoded>,
}

/// One evaluated item: its derived fields and leads, or the rule error it hit.
pub type ItemResult = Result<(Derived, Vec<Evaluated>)>;

/// What every pass of one evaluation shares with the workers.
pub struct PassContext<'a> {
    pub as_of: AsOf,
    /// Take the classify results stored with each row instead of running the rules: when the
    /// data and classify rules are those the stored results came from, and those rules return
    /// only what is stored (see [`super::Carry::plain_classify`]).
    pub classified: bool,
    /// Cleared when a classify rule returns more than what is stored.
    pub plain: AtomicBool,
    pub accounts: &'a Accounts,
    pub catalog: &'a Catalog,
    pub states: &'a LeadStates,
    /// Shared by the workers.
    pub recommendations: RecommendCache,
}

/// The `lead` map scoring and services rules see for a trigger's hit.
pub fn lead_map(hit: &TriggerHit) -> Map {
    let mut m = Map::new();
    m.insert("lead_type".into(), hit.lead_type.clone().into());
    m.insert("title".into(), hit.title.clone().into());
    m.insert("rule".into(), hit.rule.clone().into());
    m
}

/// A lead's factors from the values its factor rules gave, weighted by `cfg`, and the score
/// they add up to (each contribution rounded, then summed).
pub fn weigh(cfg: &Config, values: Vec<FactorScore>) -> (BTreeMap<String, Factor>, f64) {
    let mut factors: BTreeMap<String, Factor> = values
        .into_iter()
        .map(|f| {
            let factor = Factor {
                value: f.value,
                weight: 0.0,
                contribution: 0.0,
                reasons: f.reasons,
            };
            (f.name, factor)
        })
        .collect();
    let (score, _) = super::rescore::reweigh(cfg, &mut factors);
    (factors, score)
}

/// The identity of an asset across runs: its key in the install base (its serial number, or
/// `serial|product id` where serials collide), or its row when it has no serial number.
pub fn asset_key(key: Option<&str>, id: i64) -> String {
    key.map_or_else(|| format!("row:{id}"), str::to_string)
}

impl Evaluator<'_> {
    /// Evaluates one item: its derived fields and, unless only classifying, its leads (with
    /// `only`, those of these triggers alone).
    pub(super) fn evaluate_item(
        &self,
        row: &ItemRow,
        cx: &PassContext<'_>,
        only: Option<&[String]>,
    ) -> Result<(Derived, Vec<Evaluated>)> {
        let serial = row.text("serial_number").unwrap_or("");
        let ctx = EvalContext {
            table: "install_base",
            row: row.source_row,
            key: serial,
        };
        let mut item = context::item_map_at(row, &cx.as_of, cx.classified);
        let derived = self.classify(row, &mut item, cx, &ctx)?;
        if !self.make_leads {
            return Ok((derived, Vec::new()));
        }
        // Shared once per item: the ~10 rule calls below each copy a pointer, not the map.
        let item = crate::rules::share(item);
        let account = cx.accounts.shared(row.account_id.as_deref());
        let mut leads = Vec::new();
        let asset = asset_key(row.asset_key.as_deref(), row.id);
        for hit in self.rules.triggers_shared(&item, account, &ctx, only)? {
            let lead = self.lead((row, &asset), &derived.fields, hit, &item, cx, &ctx)?;
            // Most leads of a re-evaluation are as stored: those are not encoded at all.
            let fingerprint = fingerprint(&lead);
            let enc = match cx.states.get(lead.lead_id.as_str()) {
                Some(p) if p.unchanged(fingerprint) => None,
                _ => Some(Encoded::of(&lead, fingerprint)),
            };
            leads.push(Evaluated {
                lead,
                asset: asset.clone(),
                fingerprint,
                enc,
            });
        }
        context::recycle(item);
        Ok((derived, leads))
    }

    /// The item's derived fields: the classify rules' results, or those stored with the row.
    fn classify(
        &self,
        row: &ItemRow,
        item: &mut Map,
        cx: &PassContext<'_>,
        ctx: &EvalContext<'_>,
    ) -> Result<Derived> {
        let fields = if cx.classified {
            row.stored.clone()
        } else {
            if !self.rules.classify_into(item, ctx, context::CLASSIFIED)? {
                cx.plain.store(false, Ordering::Relaxed);
            }
            StoredDerived {
                days_since_eol: int_field(item, "days_since_eol"),
                days_since_expiry: int_field(item, "days_since_expiry"),
                risk_level: str_field(item, "risk_level"),
                product_family: str_field(item, "product_family"),
            }
        };
        Ok(Derived {
            id: row.id,
            changed: fields != row.stored,
            fields,
        })
    }

    /// The lead a trigger hit makes on the item `row` of asset `key`: its factors and score,
    /// services and identity.
    fn lead(
        &self,
        (row, key): (&ItemRow, &str),
        derived: &StoredDerived,
        hit: TriggerHit,
        item: &Dynamic,
        cx: &PassContext<'_>,
        ctx: &EvalContext<'_>,
    ) -> Result<Lead> {
        let lead_shared = crate::rules::share(lead_map(&hit));
        let account = cx.accounts.shared(row.account_id.as_deref());
        let (factors, score) = self.factors(item, account, &lead_shared, ctx)?;
        let family = derived.product_family.as_deref().unwrap_or("");
        let (recs, skus) = match cached_recommendation(&cx.recommendations, &hit, family) {
            Some(recs) => recs,
            None => self.recommend(&hit, family, &lead_shared, cx, ctx)?,
        };
        Ok(Lead {
            lead_id: lead::lead_id(key, &hit.lead_type, lead::SHORT_ID),
            priority: self.cfg.priority_thresholds.priority(score).to_string(),
            score,
            factors,
            // The factors' reasons are stored once, under `factors`; reading the lead back
            // appends them.
            reasons: hit.reasons,
            title: hit.title,
            description: hit.description,
            recommended_action: hit.action,
            account_id: row.account_id.clone(),
            account_name: cx.accounts.name(row.account_id.as_deref()),
            territory_id: row.text("territory_id").map(str::to_string),
            install_base_id: row.id,
            serial_number: row.text("serial_number").map(str::to_string),
            product_name: row.text("product_name").map(str::to_string),
            product_family: derived.product_family.clone(),
            days_since_eol: derived.days_since_eol,
            recommended_skus: skus,
            recommended_services: recs,
            extra: map_to_json(&hit.extra),
            lead_type: hit.lead_type,
            rule: hit.rule,
            status: "new".into(),
            owner: None,
            active: true,
            created_at: String::new(),
            updated_at: String::new(),
        })
    }

    /// Each factor rule's value under its weight, and the score they add up to.
    fn factors(
        &self,
        item: &Dynamic,
        account: &Dynamic,
        lead: &Dynamic,
        ctx: &EvalContext<'_>,
    ) -> Result<(BTreeMap<String, Factor>, f64)> {
        let values = self.rules.score_shared(item, account, lead, ctx, None)?;
        Ok(weigh(self.cfg, values))
    }

    /// Runs the services rules for a lead not met before in this evaluation, and caches the
    /// result while the cache has room.
    fn recommend(
        &self,
        hit: &TriggerHit,
        family: &str,
        lead_shared: &Dynamic,
        cx: &PassContext<'_>,
        ctx: &EvalContext<'_>,
    ) -> Result<Recommended> {
        let lead_map = lead_shared
            .read_lock::<Map>()
            .map(|m| m.clone())
            .unwrap_or_default();
        let recs = recommend::recommend(
            cx.catalog,
            self.rules,
            family,
            &lead_map,
            self.cfg.top_services,
            ctx,
        )?;
        let skus = recommend::flatten_skus(&recs).into();
        let recs: Recommended = (recs.into(), skus);
        // A poisoned lock only means another thread panicked; skipping the cache is safe.
        if let Ok(mut c) = cx.recommendations.write() {
            if c.len() < RECOMMEND_CACHE_LIMIT {
                let key = (
                    hit.lead_type.clone(),
                    hit.title.clone(),
                    hit.rule.clone(),
                    family.to_string(),
                );
                c.entry(recommend_hash(hit, family))
                    .or_default()
                    .push((key, recs.clone()));
            }
        }
        Ok(recs)
    }
}

fn map_to_json(m: &Map) -> serde_json::Map<String, serde_json::Value> {
    m.iter()
        .filter_map(|(k, v)| {
            let json = serde_json::to_value(v).ok()?;
            Some((k.to_string(), json))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_key_falls_back_to_the_row() {
        assert_eq!(asset_key(Some("SN1"), 4), "SN1");
        assert_eq!(asset_key(None, 4), "row:4");
    }
}
