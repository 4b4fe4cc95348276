//! One account per customer. Install base and opportunities share the sales-territory id, so a
//! territory is an account; its name comes from `accounts.territory_mapping` or the opportunity
//! names filed under it. Projects and credits carry only names: they join by normalised name,
//! then by fuzzy similarity (≥ `accounts.fuzzy_threshold`). Every merge is kept in
//! `account_aliases` with its method and similarity, so it can be audited.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::AccountsConfig;
use crate::fxhash::{FastMap, FastSet};
use crate::model::Record;
use crate::model::account::{
    AccountPlan, NameRows, PlannedAccount, PlannedAlias, ProjectName, TerritoryRows,
};

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

/// The [`similarity`] of two names at edit distance `d` whose longer one has `longest` chars,
/// with the same arithmetic as `strsim::normalized_levenshtein` (so the two always agree).
fn similarity_at(d: usize, longest: usize) -> f64 {
    ((1.0 - d as f64 / longest as f64) * 100.0).round()
}

/// The largest edit distance at which two names whose longer one has `longest` chars still
/// reach `threshold`.
fn max_distance(longest: usize, threshold: f64) -> usize {
    let mut d = 0;
    while d < longest && similarity_at(d + 1, longest) >= threshold {
        d += 1;
    }
    d
}

/// Levenshtein distance in chars, or `None` once it is certain to exceed `limit`. Equal to
/// `strsim::levenshtein` whenever that is at most `limit`.
fn bounded_levenshtein(
    a: &[char],
    b: &[char],
    limit: usize,
    row: &mut Vec<usize>,
) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    row.clear();
    row.extend(0..=b.len());
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            let v = if ca == cb {
                diag
            } else {
                1 + diag.min(up).min(row[j])
            };
            diag = up;
            row[j + 1] = v;
            best = best.min(v);
        }
        // Every later cell is at least the smallest of this row.
        if best > limit {
            return None;
        }
    }
    Some(row[b.len()]).filter(|d| *d <= limit)
}

/// A `Hasher` for keys that are already well-mixed `u64`s.
#[derive(Default, Clone, Copy)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type SegmentMap = HashMap<u64, Vec<u32>, std::hash::BuildHasherDefault<PassThrough>>;

/// The key of one segment: first char of the name, name length, segment number and its chars.
fn segment_hash(first: char, len: usize, seg: usize, chars: &[char]) -> u64 {
    let mut h = (u64::from(first) << 40) ^ ((len as u64) << 20) ^ seg as u64;
    for c in chars {
        h = (h.rotate_left(21) ^ u64::from(*c)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    // splitmix64's finaliser: the table uses both the low and the high bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Start and length of each of the `parts` segments that cut `len` chars as evenly as possible.
fn segments(len: usize, parts: usize) -> impl Iterator<Item = (usize, usize)> {
    let short = len / parts;
    let long_from = parts - len % parts;
    (0..parts).map(move |i| {
        let start = i * short + i.saturating_sub(long_from);
        (start, if i < long_from { short } else { short + 1 })
    })
}

/// Name lookup for name-only sources. A fuzzy match must share the normalised name's first
/// character (blocking, as before) and reach the threshold; among the best, the name added last
/// wins.
///
/// Finding it does not scan the block: at a million rows a block holds thousands of names and
/// the scans made the rebuild quadratic. Each name is cut into `k + 1` segments, `k` being the
/// largest edit distance any name can be from it and still match; `k` edits leave at least one
/// segment untouched, so a match contains one of its segments verbatim, shifted by at most `k`.
/// A lookup lists the names that share such a segment and runs Levenshtein only on those; the
/// answer is the same as a full scan's.
struct NameIndex {
    threshold: f64,
    exact: HashMap<String, String>,
    /// Every fuzzy candidate in insertion order: (chars of the key, account).
    names: Vec<(Vec<char>, String)>,
    /// `segment_hash` → indices into `names`.
    segments: SegmentMap,
    /// NameRows too short to cut into enough segments (only with a very low threshold): always
    /// checked, by first character.
    unsegmented: HashMap<char, Vec<u32>>,
    longest: usize,
    /// Per name, the last lookup that listed it (so each is checked once per lookup).
    seen: Vec<u32>,
    lookups: u32,
    row: Vec<usize>,
}

impl NameIndex {
    fn new(threshold: f64) -> Self {
        NameIndex {
            threshold,
            exact: HashMap::new(),
            names: Vec::new(),
            segments: SegmentMap::default(),
            unsegmented: HashMap::new(),
            longest: 0,
            seen: Vec::new(),
            lookups: 0,
            row: Vec::new(),
        }
    }

    /// The largest edit distance between a name of `len` chars and any name that can match it.
    fn reach(&self, len: usize) -> usize {
        let mut k = max_distance(len, self.threshold);
        // A longer name may differ by more edits; it needs at least `other - len` of them.
        let mut other = len + 1;
        while k < len && other - len <= max_distance(other, self.threshold) {
            k = k.max(max_distance(other, self.threshold));
            other += 1;
        }
        k
    }

    fn add(&mut self, key: &str, account: &str) {
        if key.is_empty() || self.exact.contains_key(key) {
            return;
        }
        self.exact.insert(key.to_string(), account.to_string());
        let chars: Vec<char> = key.chars().collect();
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let len = chars.len();
        let parts = self.reach(len) + 1;
        if parts > len {
            self.unsegmented.entry(chars[0]).or_default().push(id);
        } else {
            for (seg, (start, n)) in segments(len, parts).enumerate() {
                let h = segment_hash(chars[0], len, seg, &chars[start..start + n]);
                self.segments.entry(h).or_default().push(id);
            }
        }
        self.longest = self.longest.max(len);
        self.names.push((chars, account.to_string()));
        self.seen.push(0);
    }

    /// `(account, method, similarity)` of the best match at or above the threshold.
    fn find(&mut self, key: &str) -> Option<(String, &'static str, f64)> {
        if let Some(a) = self.exact.get(key) {
            return Some((a.clone(), "normalised", 100.0));
        }
        let chars: Vec<char> = key.chars().collect();
        let first = *chars.first()?;
        let len = chars.len();
        self.lookups = self.lookups.wrapping_add(1);
        if self.lookups == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.lookups = 1;
        }
        let mut candidates: Vec<u32> = Vec::new();
        if let Some(ids) = self.unsegmented.get(&first) {
            candidates.extend(ids);
        }
        let shortest = len - max_distance(len, self.threshold).min(len);
        for other in shortest.max(1)..=self.longest {
            let limit = max_distance(len.max(other), self.threshold);
            if other.abs_diff(len) > limit {
                if other > len {
                    break;
                }
                continue;
            }
            let parts = self.reach(other) + 1;
            if parts > other {
                continue; // those are in `unsegmented`
            }
            for (seg, (start, n)) in segments(other, parts).enumerate() {
                let from = start.saturating_sub(limit);
                let to = (start + limit).min(len.saturating_sub(n));
                for at in from..=to {
                    if at + n > len {
                        break;
                    }
                    let h = segment_hash(first, other, seg, &chars[at..at + n]);
                    if let Some(ids) = self.segments.get(&h) {
                        candidates.extend(ids);
                    }
                }
            }
        }
        let mut best: Option<(f64, u32)> = None;
        for id in candidates {
            let seen = &mut self.seen[id as usize];
            if *seen == self.lookups {
                continue;
            }
            *seen = self.lookups;
            let (name, _) = &self.names[id as usize];
            if name.first() != Some(&first) {
                continue; // a hash collision from another block
            }
            let longest = len.max(name.len());
            let limit = max_distance(longest, self.threshold);
            let Some(d) = bounded_levenshtein(&chars, name, limit, &mut self.row) else {
                continue;
            };
            let sim = similarity_at(d, longest);
            if sim >= self.threshold && best.is_none_or(|(s, i)| sim > s || (sim == s && id > i)) {
                best = Some((sim, id));
            }
        }
        best.map(|(s, id)| (self.names[id as usize].1.clone(), "fuzzy", s))
    }
}

/// Rows per name under one territory.
#[derive(Debug, Default)]
struct TerritoryNames {
    /// Rows without a name.
    unnamed: i64,
    named: FastMap<String, i64>,
}

/// Territory → names.
type PairCounts = FastMap<String, TerritoryNames>;

fn count(map: &mut FastMap<String, i64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The names the account rebuild reads from the data tables, counted while a load reads the
/// records instead of by grouping the tables afterwards (each GROUP BY sorted every row of its
/// table). Only valid when the tables hold exactly the counted records: see [`NameRows`].
#[derive(Debug, Default)]
pub struct NameTally {
    install_base: PairCounts,
    opportunities: PairCounts,
    projects: PairCounts,
    /// Projects without a territory: (customer, Account ST Name) → (max customer id, rows).
    project_names: FastMap<(String, Option<String>), (Option<String>, i64)>,
    /// Opportunities without a territory: account name → rows.
    opportunity_names: FastMap<String, i64>,
    credit_customers: FastSet<String>,
}

impl NameTally {
    /// Counts one record as it is written.
    pub fn add(&mut self, rec: &Record) {
        let pair = |counts: &mut PairCounts, t: &Option<String>, name: &Option<String>| {
            let Some(t) = t else { return };
            let names = match counts.get_mut(t.as_str()) {
                Some(names) => names,
                None => counts.entry(t.clone()).or_default(),
            };
            match name {
                Some(name) => count(&mut names.named, name),
                None => names.unnamed += 1,
            }
        };
        match rec {
            Record::InstallBase(r) => {
                pair(&mut self.install_base, &r.territory_id, &r.account_name);
            }
            Record::Opportunity(r) => {
                pair(&mut self.opportunities, &r.territory_id, &r.account_name);
                if let (None, Some(name)) = (&r.territory_id, &r.account_name) {
                    count(&mut self.opportunity_names, name);
                }
            }
            Record::Project(r) => {
                pair(&mut self.projects, &r.territory_id, &r.customer);
                if let (None, Some(customer)) = (&r.territory_id, &r.customer) {
                    let group = self
                        .project_names
                        .entry((customer.clone(), r.st_name.clone()))
                        .or_default();
                    // `max(customer_id)`: NULLs are skipped, text compares by bytes.
                    if r.customer_id > group.0 {
                        group.0.clone_from(&r.customer_id);
                    }
                    group.1 += 1;
                }
            }
            Record::ServiceCredit(r) => {
                if let Some(c) = &r.customer {
                    if !self.credit_customers.contains(c) {
                        self.credit_customers.insert(c.clone());
                    }
                }
            }
            Record::Service(_) | Record::Catalog(_) => {}
        }
    }
}

/// `(territory, name, rows)` in the order `GROUP BY territory, name` returns them: by territory,
/// then name, a missing name first (SQLite's BINARY order is Rust's byte order).
fn sorted_pairs(counts: PairCounts) -> TerritoryRows {
    let mut territories: Vec<(String, TerritoryNames)> = counts.into_iter().collect();
    territories.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rows = Vec::new();
    for (t, names) in territories {
        if names.unnamed > 0 {
            rows.push((t.clone(), None, names.unnamed));
        }
        let mut named: Vec<(String, i64)> = names.named.into_iter().collect();
        named.sort_unstable();
        rows.extend(named.into_iter().map(|(n, c)| (t.clone(), Some(n), c)));
    }
    rows
}

impl NameTally {
    /// The names counted, in the order the store's [`Accounts::account_names`] would return
    /// them from tables that hold exactly the counted records. SQLite's sorter keeps rows that
    /// tie on the ORDER BY in the order the GROUP BY produced them, so project names that tie on
    /// rows and customer come by Account ST Name (a test checks this against the store).
    ///
    /// [`Accounts::account_names`]: crate::store::api::Accounts::account_names
    pub fn into_names(self) -> NameRows {
        let tally = self;
        let mut project_names: Vec<ProjectName> = tally
            .project_names
            .into_iter()
            .map(|((customer, st), (id, n))| (customer, id, st, n))
            .collect();
        project_names
            .sort_unstable_by(|a, b| b.3.cmp(&a.3).then_with(|| (&a.0, &a.2).cmp(&(&b.0, &b.2))));
        let mut opportunity_names: Vec<(String, i64)> =
            tally.opportunity_names.into_iter().collect();
        opportunity_names.sort_unstable();
        let mut credit_customers: Vec<String> = tally.credit_customers.into_iter().collect();
        credit_customers.sort_unstable();
        NameRows {
            territories: [
                ("install_base", sorted_pairs(tally.install_base)),
                ("opportunities", sorted_pairs(tally.opportunities)),
                ("projects", sorted_pairs(tally.projects)),
            ],
            project_names,
            opportunity_names,
            credit_customers,
        }
    }
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

    #[test]
    fn bounded_levenshtein_agrees_with_strsim_within_its_limit() {
        let words = [
            "",
            "a",
            "ab",
            "apple",
            "apples",
            "applied",
            "kelul",
            "kelul health",
            "東京海上",
            "東京海上日動",
            "quinbri media",
            "quinros media",
            "quinbri medai",
            "abcdefgh",
        ];
        let mut row = Vec::new();
        for a in words {
            for b in words {
                let want = strsim::levenshtein(a, b);
                let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for limit in 0..8 {
                    let got = bounded_levenshtein(&ca, &cb, limit, &mut row);
                    assert_eq!(got, (want <= limit).then_some(want), "{a:?} {b:?} {limit}");
                }
            }
        }
    }

    /// The block scan the index replaced: the reference its answers must equal.
    fn scan(
        names: &[(String, String)],
        key: &str,
        threshold: f64,
    ) -> Option<(String, &'static str, f64)> {
        if let Some((_, a)) = names.iter().find(|(k, _)| k == key) {
            return Some((a.clone(), "normalised", 100.0));
        }
        let first = key.chars().next()?;
        names
            .iter()
            .filter(|(k, _)| k.starts_with(first))
            .map(|(k, a)| (similarity(key, k), a))
            .filter(|(s, _)| *s >= threshold)
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(s, a)| (a.clone(), "fuzzy", s))
    }

    #[test]
    fn index_finds_what_a_full_scan_finds() {
        // A splitmix64 stream: names from syllables, then typo'd variants of earlier names.
        let mut state = 7_u64;
        let mut next = move |n: u64| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n) as usize
        };
        let syllables = [
            "ar", "bel", "cor", "quin", "ros", "bri", "ul", "x", "東京", "é",
        ];
        let words = ["media", "bank", "steel", "", "a", "health care systems"];
        for threshold in [85.0, 95.0, 70.0, 50.0, 20.0, 0.0, 100.0] {
            let mut ix = NameIndex::new(threshold);
            let mut names: Vec<(String, String)> = Vec::new();
            let mut fuzzy = 0;
            for i in 0..600 {
                let key = if names.is_empty() || next(3) == 0 {
                    let mut k: String = (0..=next(3)).map(|_| syllables[next(10)]).collect();
                    let w = words[next(6)];
                    if !w.is_empty() {
                        k = format!("{k} {w}");
                    }
                    k
                } else {
                    let mut c: Vec<char> = names[next(names.len() as u64)].0.chars().collect();
                    for _ in 0..=next(3) {
                        let at = next(c.len() as u64 + 1);
                        match next(3) {
                            0 if at < c.len() => {
                                c.remove(at);
                            }
                            1 if at < c.len() => c[at] = 'z',
                            _ => c.insert(at, 'e'),
                        }
                    }
                    c.into_iter().collect()
                };
                let got = ix.find(&key);
                assert_eq!(got, scan(&names, &key, threshold), "{key:?} at {threshold}");
                fuzzy += usize::from(got.is_some_and(|g| g.1 == "fuzzy"));
                if next(2) == 0 && !key.is_empty() && !names.iter().any(|(k, _)| *k == key) {
                    let account = format!("A{i}");
                    ix.add(&key, &account);
                    names.push((key, account));
                }
            }
            // The comparison must have exercised fuzzy matches, not only misses.
            assert!(fuzzy > 10 || threshold == 100.0, "{fuzzy} at {threshold}");
        }
    }

    #[test]
    fn a_tally_gives_the_names_the_tables_give() {
        use crate::model::{
            InstallBaseRecord, OpportunityRecord, ProjectRecord, ServiceCreditRecord,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        let mut tx = store.begin().unwrap();
        let mut writer = tx.start_load().unwrap();
        let mut tally = NameTally::default();
        let s = |x: &str| Some(x.to_string());
        let texts = [None, s("b"), s("a"), s("B"), s("é"), s(""), s("a b")];
        let mut records = Vec::new();
        for i in 0..400_usize {
            let pick = |k: usize| texts[(i * k + i / 7) % texts.len()].clone();
            let territory = if i % 3 == 0 { None } else { pick(5) };
            records.push(Record::InstallBase(InstallBaseRecord {
                territory_id: territory.clone(),
                account_name: pick(3),
                ..Default::default()
            }));
            records.push(Record::Opportunity(OpportunityRecord {
                territory_id: territory.clone(),
                account_name: pick(2),
                ..Default::default()
            }));
            records.push(Record::Project(ProjectRecord {
                territory_id: territory,
                customer: pick(11),
                // Ties on rows and customer with different ST names, and ids to take the max of.
                st_name: pick(13),
                customer_id: pick(17),
                ..Default::default()
            }));
            records.push(Record::ServiceCredit(ServiceCreditRecord {
                customer: pick(19),
                ..Default::default()
            }));
        }
        for rec in &records {
            tally.add(rec);
            writer.write(rec).unwrap();
        }
        drop(writer);
        let counted = tally.into_names();
        assert!(
            counted
                .project_names
                .windows(2)
                .any(|w| w[0].3 == w[1].3 && w[0].0 == w[1].0)
        );
        assert_eq!(counted, tx.account_names().unwrap());
    }

    #[test]
    fn index_blocks_by_first_letter_and_prefers_exact() {
        let mut ix = NameIndex::new(85.0);
        ix.add("analog devices", "ST-1");
        ix.add("apple", "ST-2");
        assert_eq!(ix.find("apple").unwrap().1, "normalised");
        let (a, m, s) = ix.find("analog device").unwrap();
        assert_eq!((a.as_str(), m), ("ST-1", "fuzzy"));
        assert!(s >= 85.0);
        assert!(ix.find("zebra").is_none());
        // Same letters, another first character: not in the block.
        assert!(ix.find("bnalog devices").is_none());
    }
}
