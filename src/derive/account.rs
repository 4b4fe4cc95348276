//! One account per customer. Install base and opportunities share the sales-territory id, so a
//! territory is an account; its name comes from `accounts.territory_mapping` or the opportunity
//! names filed under it. Projects and credits carry only names: they join by normalised name,
//! then by fuzzy similarity (≥ `accounts.fuzzy_threshold`). Every merge is kept in
//! `account_aliases` with its method and similarity, so it can be audited.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{Connection, params};

use crate::config::AccountsConfig;
use crate::error::Result;

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

/// The highest [`similarity`] two names of these lengths (in chars) can have.
fn similarity_bound(a: usize, b: usize) -> f64 {
    let longest = a.max(b);
    if longest == 0 {
        return 100.0;
    }
    ((1.0 - a.abs_diff(b) as f64 / longest as f64) * 100.0).round()
}

/// What a rebuild produced, for the load report.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct AccountStats {
    /// Accounts written.
    pub accounts: usize,
    /// Alias rows written.
    pub aliases: usize,
    /// Names merged by fuzzy similarity.
    pub fuzzy_merges: usize,
    /// Service-credit customers that matched no account.
    pub unmatched_credit_customers: usize,
}

struct Account {
    id: String,
    name: String,
    key: String,
    territory: Option<String>,
    source: &'static str,
}

struct Alias {
    text: String,
    key: String,
    account: String,
    method: &'static str,
    similarity: f64,
    table: &'static str,
    occurrences: i64,
}

/// Name lookup for name-only sources. Fuzzy candidates are blocked by the first character of the
/// normalised name, so matching stays near-linear in the number of accounts.
#[derive(Default)]
struct NameIndex {
    exact: HashMap<String, String>,
    /// First character → (key, account, key length in chars), in insertion order (ties go to
    /// the last-added best match, so the order must not change).
    blocks: HashMap<char, Vec<(String, String, usize)>>,
}

impl NameIndex {
    fn add(&mut self, key: &str, account: &str) {
        if key.is_empty() || self.exact.contains_key(key) {
            return;
        }
        self.exact.insert(key.to_string(), account.to_string());
        if let Some(c) = key.chars().next() {
            self.blocks.entry(c).or_default().push((
                key.to_string(),
                account.to_string(),
                key.chars().count(),
            ));
        }
    }

    /// `(account, method, similarity)` of the best match at or above `threshold`.
    fn find(&self, key: &str, threshold: f64) -> Option<(String, &'static str, f64)> {
        if let Some(a) = self.exact.get(key) {
            return Some((a.clone(), "normalised", 100.0));
        }
        let block = self.blocks.get(&key.chars().next()?)?;
        let len = key.chars().count();
        block
            .iter()
            // The edit distance is at least the length difference, so this bound on the
            // similarity skips most of a block with an integer compare instead of a Levenshtein
            // run; it never skips a name that could reach the threshold. Blocks hold thousands
            // of names at a million rows, where the full scan dominated the account rebuild.
            .filter(|(_, _, n)| similarity_bound(len, *n) >= threshold)
            .map(|(k, a, _)| (similarity(key, k), a))
            .filter(|(s, _)| *s >= threshold)
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(s, a)| (a.clone(), "fuzzy", s))
    }
}

/// Rebuilds `accounts` and `account_aliases` and sets `account_id` on every data table.
/// Account ids are derived from the data (`ST-<territory>`, `C-<customer id>`, `N-<name>`),
/// so they are the same on every run.
pub fn rebuild(conn: &Connection, cfg: &AccountsConfig) -> Result<AccountStats> {
    conn.execute_batch("DELETE FROM account_aliases; DELETE FROM accounts;")?;
    let norm = |s: &str| normalize(s, &cfg.legal_suffixes);
    // Config alias groups: variant key → canonical key (first of the group).
    let mut canonical: HashMap<String, String> = HashMap::new();
    for group in &cfg.aliases {
        if let Some(first) = group.first() {
            for v in group {
                canonical.insert(norm(v), norm(first));
            }
        }
    }
    let canon = |k: String| canonical.get(&k).cloned().unwrap_or(k);

    let mut accounts: Vec<Account> = Vec::new();
    let mut aliases: Vec<Alias> = Vec::new();
    let mut index = NameIndex::default();
    let mut stats = AccountStats::default();

    // Territories seen anywhere, with the names filed under them.
    let mut territories: BTreeMap<String, Vec<(String, i64, &'static str)>> = BTreeMap::new();
    for (sql, table) in [
        (
            "SELECT territory_id, account_name, count(*) FROM install_base
             WHERE territory_id IS NOT NULL GROUP BY 1, 2",
            "install_base",
        ),
        (
            "SELECT territory_id, account_name, count(*) FROM opportunities
             WHERE territory_id IS NOT NULL GROUP BY 1, 2",
            "opportunities",
        ),
        (
            "SELECT territory_id, customer, count(*) FROM projects
             WHERE territory_id IS NOT NULL GROUP BY 1, 2",
            "projects",
        ),
    ] {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get(2)?,
            ))
        })?;
        for row in rows {
            let (t, name, n) = row?;
            let names = territories.entry(t).or_default();
            if let Some(name) = name {
                names.push((name, n, table));
            }
        }
    }

    for (territory, names) in &territories {
        let id = format!("ST-{territory}");
        // The dominant customer: the canonical key with the most rows.
        let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
        for (name, n, _) in names {
            *by_key.entry(canon(norm(name))).or_default() += n;
        }
        let top_key = by_key
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, _)| k.clone());
        let (name, source) = if let Some(n) = cfg.territory_mapping.get(territory) {
            (n.clone(), "config")
        } else if let Some(k) = &top_key {
            (display_name(names, k, &canon, &norm), "data")
        } else {
            (format!("Territory {territory}"), "territory")
        };
        let key = norm(&name);
        index.add(&key, &id);
        for (alias, n, table) in names {
            let raw_key = norm(alias);
            let akey = canon(raw_key.clone());
            let sim = similarity(&akey, top_key.as_deref().unwrap_or(&key));
            let method = if *alias == name {
                "exact"
            } else if raw_key != akey && Some(&akey) == top_key.as_ref() {
                "config"
            } else if Some(&akey) == top_key.as_ref() {
                "normalised"
            } else if sim >= cfg.fuzzy_threshold {
                stats.fuzzy_merges += 1;
                "fuzzy"
            } else {
                // A different name filed under the same sales territory (a subsidiary or a
                // site): linked by the territory id, not by its name.
                "territory"
            };
            index.add(&akey, &id);
            aliases.push(Alias {
                text: alias.clone(),
                key: akey,
                account: id.clone(),
                method,
                similarity: sim,
                table,
                occurrences: *n,
            });
        }
        accounts.push(Account {
            id,
            name,
            key,
            territory: Some(territory.clone()),
            source,
        });
    }

    // Name-only rows: projects (customer, then Account ST Name) and opportunities without a territory.
    let mut link_by_name: Vec<(&'static str, String, String)> = Vec::new(); // (table, raw name, account)
    // A set, not a scan of `accounts`: with thousands of name-only customers the scan was quadratic.
    let mut known_ids: HashSet<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let mut stmt = conn.prepare(
        "SELECT customer, max(customer_id), st_name, count(*) FROM projects
         WHERE territory_id IS NULL AND customer IS NOT NULL GROUP BY customer, st_name
         ORDER BY count(*) DESC, customer",
    )?;
    let rows: Vec<(String, Option<String>, Option<String>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (customer, customer_id, st_name, n) in rows {
        let key = canon(norm(&customer));
        let st_key = st_name.as_deref().map(|s| canon(norm(s)));
        let found = index.find(&key, cfg.fuzzy_threshold).or_else(|| {
            st_key
                .as_deref()
                .and_then(|k| index.find(k, cfg.fuzzy_threshold))
        });
        let (account, method, sim) = if let Some(f) = found {
            f
        } else {
            {
                let id = customer_id
                    .as_deref()
                    .map_or_else(|| format!("N-{}", slug(&key)), |c| format!("C-{c}"));
                if known_ids.insert(id.clone()) {
                    accounts.push(Account {
                        id: id.clone(),
                        name: customer.clone(),
                        key: key.clone(),
                        territory: None,
                        source: "projects",
                    });
                }
                (id, "exact", 100.0)
            }
        };
        if method == "fuzzy" {
            stats.fuzzy_merges += 1;
        }
        index.add(&key, &account);
        push_alias(
            &mut aliases,
            &customer,
            &key,
            &account,
            method,
            sim,
            "projects",
            n,
        );
        if let (Some(st), Some(k)) = (st_name, st_key) {
            index.add(&k, &account);
            let s = similarity(&k, &key);
            push_alias(&mut aliases, &st, &k, &account, "st_name", s, "projects", n);
        }
        link_by_name.push(("projects", customer, account));
    }

    let mut stmt = conn.prepare(
        "SELECT account_name, count(*) FROM opportunities
         WHERE territory_id IS NULL AND account_name IS NOT NULL GROUP BY 1",
    )?;
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, n) in rows {
        let key = canon(norm(&name));
        let (account, method, sim) = index.find(&key, cfg.fuzzy_threshold).unwrap_or_else(|| {
            let id = format!("N-{}", slug(&key));
            accounts.push(Account {
                id: id.clone(),
                name: name.clone(),
                key: key.clone(),
                territory: None,
                source: "opportunities",
            });
            (id, "exact", 100.0)
        });
        index.add(&key, &account);
        push_alias(
            &mut aliases,
            &name,
            &key,
            &account,
            method,
            sim,
            "opportunities",
            n,
        );
        link_by_name.push(("opportunities", name, account));
    }

    // Write accounts and aliases, then link the data tables.
    {
        let mut ins = conn.prepare(
            "INSERT INTO accounts (account_id, name, normalized_name, territory_id, territory_name,
             name_source) VALUES (?1,?2,?3,?4,?5,?6)",
        )?;
        for a in &accounts {
            let tname = a.territory.as_ref().map(|t| {
                cfg.territory_mapping
                    .get(t)
                    .cloned()
                    .unwrap_or_else(|| format!("Territory {t}"))
            });
            ins.execute(params![a.id, a.name, a.key, a.territory, tname, a.source])?;
        }
        let mut ins = conn.prepare(
            "INSERT OR IGNORE INTO account_aliases (alias, normalized, account_id, method,
             similarity, source_table, occurrences) VALUES (?1,?2,?3,?4,?5,?6,?7)",
        )?;
        for a in &aliases {
            stats.aliases += ins.execute(params![
                a.text,
                a.key,
                a.account,
                a.method,
                a.similarity,
                a.table,
                a.occurrences
            ])?;
        }
    }
    stats.accounts = accounts.len();

    conn.execute_batch(
        "UPDATE install_base SET account_id = CASE WHEN territory_id IS NULL THEN NULL
             ELSE 'ST-' || territory_id END;
         UPDATE opportunities SET account_id = CASE WHEN territory_id IS NULL THEN NULL
             ELSE 'ST-' || territory_id END;
         UPDATE projects SET account_id = CASE WHEN territory_id IS NULL THEN NULL
             ELSE 'ST-' || territory_id END;
         UPDATE service_credits SET account_id = NULL;",
    )?;
    // One joined UPDATE per table instead of one full-table UPDATE per name, which made the
    // rebuild quadratic (names × rows). The temp table keeps the last account given for a name,
    // as the per-name UPDATEs in order did.
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS name_links (
             source_table TEXT NOT NULL, name TEXT NOT NULL, account_id TEXT NOT NULL,
             PRIMARY KEY (source_table, name));
         DELETE FROM temp.name_links;",
    )?;
    {
        let mut ins = conn.prepare(
            "INSERT OR REPLACE INTO temp.name_links (source_table, name, account_id)
             VALUES (?1, ?2, ?3)",
        )?;
        for (table, name, account) in &link_by_name {
            ins.execute(params![table, name, account])?;
        }
        let mut stmt = conn.prepare(
            "SELECT customer FROM service_credits WHERE customer IS NOT NULL GROUP BY customer",
        )?;
        let customers: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for c in customers {
            match index.find(&canon(norm(&c)), cfg.fuzzy_threshold) {
                Some((account, _, _)) => {
                    ins.execute(params!["service_credits", c, account])?;
                }
                None => stats.unmatched_credit_customers += 1,
            }
        }
    }
    conn.execute_batch(
        "UPDATE projects SET account_id = l.account_id FROM temp.name_links AS l
           WHERE l.source_table = 'projects' AND projects.territory_id IS NULL
             AND projects.customer = l.name;
         UPDATE opportunities SET account_id = l.account_id FROM temp.name_links AS l
           WHERE l.source_table = 'opportunities' AND opportunities.territory_id IS NULL
             AND opportunities.account_name = l.name;
         UPDATE service_credits SET account_id = l.account_id FROM temp.name_links AS l
           WHERE l.source_table = 'service_credits' AND service_credits.customer = l.name;
         DELETE FROM temp.name_links;",
    )?;
    Ok(stats)
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

#[allow(clippy::too_many_arguments)] // one row of the alias table, named field by field
fn push_alias(
    aliases: &mut Vec<Alias>,
    alias: &str,
    key: &str,
    account: &str,
    method: &'static str,
    similarity: f64,
    table: &'static str,
    occurrences: i64,
) {
    aliases.push(Alias {
        text: alias.to_string(),
        key: key.to_string(),
        account: account.to_string(),
        method,
        similarity,
        table,
        occurrences,
    });
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
    fn similarity_bound_is_never_below_the_similarity() {
        for (a, b) in [
            ("apple", "apples"),
            ("abc", "abcdefgh"),
            ("kelul", "kelul health"),
            ("", ""),
        ] {
            let bound = similarity_bound(a.chars().count(), b.chars().count());
            assert!(bound >= similarity(a, b), "{a} {b}");
        }
    }

    #[test]
    fn index_blocks_by_first_letter_and_prefers_exact() {
        let mut ix = NameIndex::default();
        ix.add("analog devices", "ST-1");
        ix.add("apple", "ST-2");
        assert_eq!(ix.find("apple", 85.0).unwrap().1, "normalised");
        let (a, m, s) = ix.find("analog device", 85.0).unwrap();
        assert_eq!((a.as_str(), m), ("ST-1", "fuzzy"));
        assert!(s >= 85.0);
        assert!(ix.find("zebra", 85.0).is_none());
    }
}
