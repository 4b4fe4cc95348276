//! Service recommendations: a lead's product family names rows of the SKU sheet (through
//! `family_services` in the config, or by equal names), each service there starts at a base
//! priority, the `rules/services/` boosts are added, and the best few are kept.

use std::collections::HashMap;

use rhai::{Array, Dynamic, Map};

use crate::config::Config;
use crate::error::Result;
use crate::model::account::CatalogEntry;
use crate::model::lead::Recommendation;
use crate::rules::{EvalContext, RuleSet};
use crate::store::api::WriteTx;

/// Priority every candidate service starts from, before boosts (as in the original design).
pub const BASE_PRIORITY: i64 = 5;

/// One service of the SKU sheet, ready for the boost rules.
#[derive(Debug, Clone)]
pub struct Service {
    /// Product row label as written in the sheet.
    pub product: String,
    /// Service name.
    pub service: String,
    /// SKU codes.
    pub skus: Vec<String>,
    /// The map the boost rules see.
    pub map: Map,
}

/// The SKU sheet's services, grouped by upper-cased product row label.
pub struct Catalog {
    by_product: HashMap<String, Vec<Service>>,
    family_services: HashMap<String, Vec<String>>,
}

impl Catalog {
    /// Reads `service_catalog` (product rows only) and the family mapping from the config.
    pub fn read(tx: &mut dyn WriteTx, cfg: &Config) -> Result<Catalog> {
        Ok(Catalog::new(tx.service_catalog()?, cfg))
    }

    /// The catalog of these offerings, in this order, with the family mapping from the config.
    pub fn new(entries: Vec<CatalogEntry>, cfg: &Config) -> Catalog {
        let mut by_product: HashMap<String, Vec<Service>> = HashMap::new();
        for entry in entries {
            let CatalogEntry {
                product,
                category,
                service,
                skus,
            } = entry;
            let skus: Vec<String> = skus
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let mut map = Map::new();
            map.insert("service".into(), service.clone().into());
            map.insert("category".into(), category.into());
            map.insert("product_family".into(), product.clone().into());
            map.insert(
                "skus".into(),
                Dynamic::from(skus.iter().cloned().map(Dynamic::from).collect::<Array>()),
            );
            by_product
                .entry(product.to_uppercase())
                .or_default()
                .push(Service {
                    product,
                    service,
                    skus,
                    map,
                });
        }
        let family_services = cfg
            .family_services
            .iter()
            .map(|(k, v)| {
                (
                    k.to_uppercase(),
                    v.iter().map(|p| p.to_uppercase()).collect(),
                )
            })
            .collect();
        Catalog {
            by_product,
            family_services,
        }
    }

    /// The candidate services of a product family, in sheet order.
    pub fn candidates(&self, family: &str) -> Vec<&Service> {
        let family = family.to_uppercase();
        let products = self
            .family_services
            .get(&family)
            .cloned()
            .unwrap_or_else(|| vec![family.clone()]);
        products
            .iter()
            .filter_map(|p| self.by_product.get(p))
            .flatten()
            .collect()
    }

    /// True when the sheet has any product rows at all.
    pub fn is_empty(&self) -> bool {
        self.by_product.is_empty()
    }
}

/// The top `top` services for one lead, best first; ties keep sheet order.
pub fn recommend(
    catalog: &Catalog,
    rules: &RuleSet,
    family: &str,
    lead: &Map,
    top: usize,
    ctx: &EvalContext,
) -> Result<Vec<Recommendation>> {
    let mut scored = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in catalog.candidates(family) {
        // The same service offered under two mapped product rows is recommended once.
        if !seen.insert(s.service.to_lowercase()) {
            continue;
        }
        let priority = BASE_PRIORITY + rules.boost(lead, &s.map, ctx)?;
        scored.push(Recommendation {
            service: s.service.clone(),
            skus: s.skus.clone(),
            priority,
            product: s.product.clone(),
        });
    }
    // `sort_by_key` is stable: equal priorities keep the sheet's order.
    scored.sort_by_key(|r| std::cmp::Reverse(r.priority));
    scored.truncate(top);
    Ok(scored)
}

/// The SKU codes of some recommendations, flattened, first occurrence kept.
pub fn flatten_skus(recs: &[Recommendation]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for sku in recs.iter().flat_map(|r| &r.skus) {
        if !out.contains(sku) {
            out.push(sku.clone());
        }
    }
    out
}
