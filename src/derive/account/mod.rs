//! One account per customer. Install base and opportunities share the sales-territory id, so a
//! territory is an account; its name comes from `accounts.territory_mapping` or the opportunity
//! names filed under it. Projects and credits carry only names: they join by normalised name,
//! then by fuzzy similarity (≥ `accounts.fuzzy_threshold`). Every merge is kept in
//! `account_aliases` with its method and similarity, so it can be audited.

mod index;
mod tally;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::AccountsConfig;
use crate::model::account::{
    AccountPlan, NameRows, PlannedAccount, PlannedAlias, ProjectName, TerritoryRows,
};
use index::NameIndex;
pub use tally::NameTally;

/// Legal-form words dropped when normalising (whole words only).
const LEGAL_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "llc",
    "ltd",
    "limited",
    "gmbh",
    "ag",
    "sa",
    "plc",
    "bv",
    "nv",
    "kk",
    "pty",
    "srl",
    "spa",
    "oy",
    "ab",
    "as",
    "sas",
    "sarl",
];

/// Lower-cases, drops punctuation and legal suffixes, and collapses spaces:
/// `APPLE INC.` and `Apple Inc` both become `apple`. Non-Latin scripts are kept as they are.
pub fn normalize(name: &str, extra_suffixes: &[String]) -> String {
    let lowered = name.to_lowercase().replace('&', " and ");
    // `(株)` and `株式会社` are the Japanese "Inc."
    let lowered = lowered.replace("(株)", " ").replace("株式会社", " ");
    let cleaned: String = lowered
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .filter(|w| !LEGAL_SUFFIXES.contains(w) && !extra_suffixes.iter().any(|s| s == w))
        .collect();
    if words.is_empty() {
        cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        words.join(" ")
    }
}

/// Similarity of two normalised names on a 0–100 scale (normalised Levenshtein).
pub fn similarity(a: &str, b: &str) -> f64 {
    (strsim::normalized_levenshtein(a, b) * 100.0).round()
}

/// Derives the accounts from the names: no database access, so it can run beside other work.
pub fn plan(names: NameRows, cfg: &AccountsConfig) -> AccountPlan {
    let mut p = Planner::new(cfg);
    for (territory, names) in &territory_names(names.territories) {
        p.territory(territory, names);
    }
    p.projects(names.project_names);
    p.opportunities(names.opportunity_names);
    p.credits(names.credit_customers);
    p.plan
}

/// Territories seen anywhere, with the names filed under them: (name, rows, table).
fn territory_names(
    tables: [(&'static str, TerritoryRows); 3],
) -> BTreeMap<String, Vec<(String, i64, &'static str)>> {
    let mut territories: BTreeMap<String, Vec<(String, i64, &'static str)>> = BTreeMap::new();
    for (table, rows) in tables {
        for (t, name, n) in rows {
            let names = territories.entry(t).or_default();
            if let Some(name) = name {
                names.push((name, n, table));
            }
        }
    }
    territories
}

/// The plan as it is built, with the name lookup it is built with.
struct Planner<'c> {
    cfg: &'c AccountsConfig,
    /// Config alias groups: variant key → canonical key (first of the group).
    canonical: HashMap<String, String>,
    index: NameIndex,
    /// A set, not a scan of the accounts: with thousands of name-only customers the scan was
    /// quadratic.
    known_ids: HashSet<String>,
    plan: AccountPlan,
}

impl<'c> Planner<'c> {
    fn new(cfg: &'c AccountsConfig) -> Planner<'c> {
        let mut canonical: HashMap<String, String> = HashMap::new();
        for group in &cfg.aliases {
            if let Some(first) = group.first() {
                for v in group {
                    canonical.insert(
                        normalize(v, &cfg.legal_suffixes),
                        normalize(first, &cfg.legal_suffixes),
                    );
                }
            }
        }
        Planner {
            cfg,
            canonical,
            index: NameIndex::new(cfg.fuzzy_threshold),
            known_ids: HashSet::new(),
            plan: AccountPlan::default(),
        }
    }

    fn norm(&self, s: &str) -> String {
        normalize(s, &self.cfg.legal_suffixes)
    }

    fn canon(&self, k: String) -> String {
        self.canonical.get(&k).cloned().unwrap_or(k)
    }

    /// One territory's account, named by the config, the dominant customer filed under it, or
    /// the territory id; every name filed under it becomes an alias.
    fn territory(&mut self, territory: &str, names: &[(String, i64, &'static str)]) {
        let id = format!("ST-{territory}");
        // The dominant customer: the canonical key with the most rows.
        let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
        for (name, n, _) in names {
            *by_key.entry(self.canon(self.norm(name))).or_default() += n;
        }
        let top_key = by_key
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, _)| k.clone());
        let (name, source) = if let Some(n) = self.cfg.territory_mapping.get(territory) {
            (n.clone(), "config")
        } else if let Some(k) = &top_key {
            let norm = |s: &str| self.norm(s);
            (display_name(names, k, &|k| self.canon(k), &norm), "data")
        } else {
            (format!("Territory {territory}"), "territory")
        };
        let key = self.norm(&name);
        self.index.add(&key, &id);
        for (alias, n, table) in names {
            let raw_key = self.norm(alias);
            let akey = self.canon(raw_key.clone());
            let sim = similarity(&akey, top_key.as_deref().unwrap_or(&key));
            let method = if *alias == name {
                "exact"
            } else if raw_key != akey && Some(&akey) == top_key.as_ref() {
                "config"
            } else if Some(&akey) == top_key.as_ref() {
                "normalised"
            } else if sim >= self.cfg.fuzzy_threshold {
                self.plan.stats.fuzzy_merges += 1;
                "fuzzy"
            } else {
                // A different name filed under the same sales territory (a subsidiary or a
                // site): linked by the territory id, not by its name.
                "territory"
            };
            self.index.add(&akey, &id);
            self.alias(alias, akey, &id, (method, sim), (table, *n));
        }
        let territory_name = self
            .cfg
            .territory_mapping
            .get(territory)
            .cloned()
            .unwrap_or_else(|| format!("Territory {territory}"));
        self.account(id, name, key, Some((territory, territory_name)), source);
    }

    /// Name-only project customers (customer, then Account ST Name), linked to the account
    /// they match, or to a new one.
    fn projects(&mut self, names: Vec<ProjectName>) {
        for (customer, customer_id, st_name, n) in names {
            let key = self.canon(self.norm(&customer));
            let st_key = st_name.as_deref().map(|s| self.canon(self.norm(s)));
            let found = self
                .index
                .find(&key)
                .or_else(|| st_key.as_deref().and_then(|k| self.index.find(k)));
            let (account, method, sim) = if let Some(f) = found {
                f
            } else {
                let id = customer_id
                    .as_deref()
                    .map_or_else(|| format!("N-{}", slug(&key)), |c| format!("C-{c}"));
                if !self.known_ids.contains(&id) {
                    self.account(id.clone(), customer.clone(), key.clone(), None, "projects");
                }
                (id, "exact", 100.0)
            };
            if method == "fuzzy" {
                self.plan.stats.fuzzy_merges += 1;
            }
            self.index.add(&key, &account);
            self.alias(
                &customer,
                key.clone(),
                &account,
                (method, sim),
                ("projects", n),
            );
            if let (Some(st), Some(k)) = (st_name, st_key) {
                self.index.add(&k, &account);
                let s = similarity(&k, &key);
                self.alias(&st, k, &account, ("st_name", s), ("projects", n));
            }
            self.plan.project_links.push((customer, account));
        }
    }

    /// Opportunities without a territory, linked by name, or to a new account.
    fn opportunities(&mut self, names: Vec<(String, i64)>) {
        for (name, n) in names {
            let key = self.canon(self.norm(&name));
            let (account, method, sim) = if let Some(found) = self.index.find(&key) {
                found
            } else {
                let id = format!("N-{}", slug(&key));
                self.account(id.clone(), name.clone(), key.clone(), None, "opportunities");
                (id, "exact", 100.0)
            };
            self.index.add(&key, &account);
            self.alias(&name, key, &account, (method, sim), ("opportunities", n));
            self.plan.opportunity_links.push((name, account));
        }
    }

    /// Service-credit customers, linked when they match an account.
    fn credits(&mut self, customers: Vec<String>) {
        for c in customers {
            match self.index.find(&self.canon(self.norm(&c))) {
                Some((account, _, _)) => self.plan.credit_links.push((c, account)),
                None => self.plan.stats.unmatched_credit_customers += 1,
            }
        }
    }

    fn account(
        &mut self,
        id: String,
        name: String,
        key: String,
        territory: Option<(&str, String)>,
        source: &'static str,
    ) {
        self.known_ids.insert(id.clone());
        let (territory, territory_name) =
            territory.map_or((None, None), |(t, name)| (Some(t.to_string()), Some(name)));
        self.plan.accounts.push(PlannedAccount {
            id,
            name,
            key,
            territory,
            territory_name,
            source,
        });
    }

    /// One alias row: `(method, similarity)` of the match, `(table, rows)` it came from.
    fn alias(
        &mut self,
        text: &str,
        key: String,
        account: &str,
        (method, similarity): (&'static str, f64),
        (table, occurrences): (&'static str, i64),
    ) {
        self.plan.aliases.push(PlannedAlias {
            text: text.to_string(),
            key,
            account: account.to_string(),
            method,
            similarity,
            table,
            occurrences,
        });
    }
}

/// The spelling users will recognise: the most frequent raw name of the winning key, preferring
/// one that is not all capitals (`Apple Inc.` over `APPLE INC.`).
fn display_name(
    names: &[(String, i64, &'static str)],
    key: &str,
    canon: &dyn Fn(String) -> String,
    norm: &dyn Fn(&str) -> String,
) -> String {
    let mut spellings: BTreeMap<&str, i64> = BTreeMap::new();
    for (name, n, _) in names {
        if canon(norm(name)) == key {
            *spellings.entry(name.as_str()).or_default() += n;
        }
    }
    let shouty = |s: &str| s.chars().any(char::is_lowercase) && s.chars().any(char::is_uppercase);
    spellings
        .iter()
        .max_by(|a, b| {
            (shouty(a.0), a.1)
                .cmp(&(shouty(b.0), b.1))
                .then_with(|| b.0.cmp(a.0))
        })
        .map_or_else(|| key.to_string(), |(s, _)| (*s).to_string())
}

fn slug(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_punctuation_and_legal_suffixes() {
        let n = |s| normalize(s, &[]);
        assert_eq!(n("APPLE INC."), "apple");
        assert_eq!(n("Apple Inc"), "apple");
        assert_eq!(n("Applied Materials, Inc."), "applied materials");
        assert_eq!(n("Analog Devices Global LLC"), "analog devices global");
        assert_eq!(n("Vodafone GmbH"), "vodafone");
        assert_eq!(n("TAIWAN MOBILE CO., LTD."), "taiwan mobile");
        assert_eq!(n("東京海上日動火災保険(株)"), "東京海上日動火災保険");
        // A name made only of a legal word is kept rather than emptied.
        assert_eq!(n("Inc."), "inc");
    }

    #[test]
    fn extra_suffixes_come_from_config() {
        assert_eq!(normalize("Acme Holdings", &["holdings".into()]), "acme");
    }

    #[test]
    fn similarity_is_on_a_0_to_100_scale() {
        assert_eq!(similarity("apple", "apple"), 100.0);
        assert!(similarity("bharti airtel", "bharti airtel ltd") >= 75.0);
        assert!(similarity("apple", "applied materials") < 85.0);
    }
}
