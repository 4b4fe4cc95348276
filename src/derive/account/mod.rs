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

    /// One territory's accounts (design §7.2: a territory can hold several named accounts, and
    /// an account keeps both its name and its territory). The main account, `ST-<territory>`,
    /// holds the install base; it is named by the config, else by the dominant customer filed
    /// under the territory, else by the territory id. Every other name filed under it joins the
    /// main account, or an account of the territory it matches (normalised, or fuzzy at the
    /// threshold or above), or becomes an account of its own there.
    fn territory(&mut self, territory: &str, names: &[(String, i64, &'static str)]) {
        let main = format!("ST-{territory}");
        // Rows per canonical key, most first (then by key), so each account is named by its
        // biggest group of spellings.
        let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
        for (name, n, _) in names {
            *by_key.entry(self.canon(self.norm(name))).or_default() += n;
        }
        let mut keys: Vec<(String, i64)> = by_key.into_iter().collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let norm = |s: &str| self.norm(s);
        let canon = |k: String| self.canon(k);
        let (name, source) = if let Some(n) = self.cfg.territory_mapping.get(territory) {
            (n.clone(), "config")
        } else if let Some((k, _)) = keys.first() {
            (display_name(names, k, &canon, &norm), "data")
        } else {
            (format!("Territory {territory}"), "territory")
        };
        let main_key = self.canon(self.norm(&name));
        // Views name the territory by its main account.
        let territory_name = name.clone();
        let mut local = NameIndex::new(self.cfg.fuzzy_threshold);
        local.add(&main_key, &main);
        self.index.add(&main_key, &main);
        let place = Some((territory, territory_name.as_str()));
        self.account(main.clone(), name.clone(), main_key.clone(), place, source);
        // Each key's account and how it joined it, and the names of the territory's accounts.
        let mut joined: HashMap<String, (String, &'static str, f64)> = HashMap::new();
        let mut account_names: HashMap<String, String> =
            HashMap::from([(main.clone(), name.clone())]);
        for (key, _) in &keys {
            let found = local.find(key).unwrap_or_else(|| {
                let id = self.unique_id(format!("{main}-{}", slug(key)));
                let own = display_name(names, key, &|k| self.canon(k), &|s| self.norm(s));
                account_names.insert(id.clone(), own.clone());
                self.account(id.clone(), own, key.clone(), place, "data");
                local.add(key, &id);
                (id, "exact", 100.0)
            });
            if found.1 == "fuzzy" {
                self.plan.stats.fuzzy_merges += 1;
            }
            self.index.add(key, &found.0);
            joined.insert(key.clone(), found);
        }
        self.territory_aliases(territory, names, &joined, &account_names);
    }

    /// Records how each name filed under `territory` joined its account (`joined`, by key),
    /// and links the names of the territory's other accounts to them by territory and name.
    fn territory_aliases(
        &mut self,
        territory: &str,
        names: &[(String, i64, &'static str)],
        joined: &HashMap<String, (String, &'static str, f64)>,
        account_names: &HashMap<String, String>,
    ) {
        let main = format!("ST-{territory}");
        for (alias, n, table) in names {
            let raw_key = self.norm(alias);
            let key = self.canon(raw_key.clone());
            let Some((account, how, sim)) = joined.get(&key).cloned() else {
                continue;
            };
            let method = if account_names.get(&account) == Some(alias) {
                "exact"
            } else if raw_key != key {
                "config"
            } else if how == "fuzzy" {
                "fuzzy"
            } else {
                "normalised"
            };
            self.alias(alias, key, &account, (method, sim), (table, *n));
            if account != main && *table != "install_base" {
                self.plan
                    .territory_links
                    .push((territory.to_string(), alias.clone(), account));
            }
        }
    }

    /// `id`, or `id-2`, `id-3`, … when an account holds it already (two names whose slugs
    /// are cut to the same 40 characters).
    fn unique_id(&self, id: String) -> String {
        if !self.known_ids.contains(&id) {
            return id;
        }
        // One more candidate than there are accounts: one of them is free.
        (2..=self.known_ids.len() + 2)
            .map(|n| format!("{id}-{n}"))
            .find(|c| !self.known_ids.contains(c))
            .unwrap_or(id)
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
        territory: Option<(&str, &str)>,
        source: &'static str,
    ) {
        self.known_ids.insert(id.clone());
        let (territory, territory_name) = territory.map_or((None, None), |(t, name)| {
            (Some(t.to_string()), Some(name.to_string()))
        });
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

    fn names_in(rows: &[(&str, &str, i64)]) -> TerritoryRows {
        rows.iter()
            .map(|(t, n, k)| ((*t).to_string(), Some((*n).to_string()), *k))
            .collect()
    }

    // See: issue 20 (design §7.2): a territory holds several named accounts; the install base
    // goes to its main account; no name joins another below the fuzzy threshold.
    #[test]
    fn issue_20_a_territory_holds_several_named_accounts() {
        let names = NameRows {
            territories: [
                (
                    "install_base",
                    vec![("100".into(), None, 5), ("200".into(), None, 1)],
                ),
                (
                    "opportunities",
                    names_in(&[
                        ("100", "Baltimore City Public Schools", 5),
                        ("100", "Baltimore City Public School", 1),
                        ("100", "Jebi", 2),
                        ("100", "JEBI Inc.", 1),
                        ("200", "Beta Holdings Ltd", 1),
                        ("200", "Gamma", 3),
                    ]),
                ),
                ("projects", Vec::new()),
            ],
            project_names: vec![("Jebi".into(), None, None, 4)],
            opportunity_names: Vec::new(),
            credit_customers: Vec::new(),
        };
        let mut cfg = AccountsConfig::default();
        cfg.territory_mapping
            .insert("200".into(), "Beta Holdings".into());
        let plan = plan(names, &cfg);
        let accounts: Vec<String> = plan
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "{} {} [{}, {}] {}",
                    a.id,
                    a.name,
                    a.territory.as_deref().unwrap_or("-"),
                    a.territory_name.as_deref().unwrap_or("-"),
                    a.source
                )
            })
            .collect();
        assert_eq!(
            accounts,
            [
                "ST-100 Baltimore City Public Schools [100, Baltimore City Public Schools] data",
                "ST-100-jebi Jebi [100, Baltimore City Public Schools] data",
                "ST-200 Beta Holdings [200, Beta Holdings] config",
                "ST-200-gamma Gamma [200, Beta Holdings] data",
            ]
        );
        let alias = |text: &str| -> (String, &str, f64) {
            let a = plan.aliases.iter().find(|a| a.text == text).unwrap();
            (a.account.clone(), a.method, a.similarity)
        };
        assert_eq!(alias("Baltimore City Public School").0, "ST-100");
        assert_eq!(alias("Baltimore City Public School").1, "fuzzy");
        assert!(alias("Baltimore City Public School").2 >= cfg.fuzzy_threshold);
        assert_eq!(alias("JEBI Inc.").0, "ST-100-jebi");
        assert_eq!(alias("Beta Holdings Ltd").0, "ST-200");
        assert_eq!(
            plan.territory_links,
            [
                ("100".into(), "Jebi".into(), "ST-100-jebi".into()),
                ("100".into(), "JEBI Inc.".into(), "ST-100-jebi".into()),
                ("200".into(), "Gamma".into(), "ST-200-gamma".into()),
            ]
        );
        // A name-only source finds the territory's other customer by name.
        assert_eq!(
            plan.project_links,
            [("Jebi".to_string(), "ST-100-jebi".to_string())]
        );
    }

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
