//! The invented customers every sheet refers to: accounts with a territory id, a company name and
//! the messy spellings of it that different source systems use.
//!
//! In: the account count and a [`Rng`]. Out: a [`World`] that sheets sample from. It is the only
//! part of the sample held in memory (rows / 6 accounts), so row generation can stream.

use std::collections::HashSet;

use super::rng::Rng;

const SYLLABLES: &[&str] = &[
    "ar", "bel", "cor", "dan", "el", "fen", "gal", "hol", "is", "jor", "kel", "lum", "mar", "nor",
    "ost", "pra", "quin", "ros", "sil", "tor", "ul", "ver", "wes", "xan", "yor", "zen", "bri",
    "cal", "dor", "mon",
];

const SECTORS: &[&str] = &[
    "Logistics",
    "Bank",
    "Insurance",
    "Systems",
    "Energy",
    "Foods",
    "Telecom",
    "Health",
    "Motors",
    "Pharma",
    "Retail",
    "Airlines",
    "Chemicals",
    "Media",
    "Steel",
    "Semiconductor",
    "Foundry",
    "Holdings",
    "Networks",
    "Utilities",
    "Shipping",
    "Textiles",
    "Mining",
    "Brewing",
];

/// Legal forms that account-name normalisation strips, in their long and short spellings.
const FORMS: &[(&str, &str)] = &[
    ("Corporation", "Corp."),
    ("Incorporated", "Inc."),
    ("Limited", "Ltd"),
    ("Company", "Co."),
    ("LLC", "LLC"),
];

const SUBSIDIARIES: &[&str] = &[
    "Services",
    "Japan K.K.",
    "(UK)",
    "Europe GmbH",
    "Federal",
    "Digital",
    "Asia Pacific Pte",
];

/// Countries: `(code, name)`.
pub const COUNTRIES: &[(&str, &str)] = &[
    ("US", "United States"),
    ("JP", "Japan"),
    ("DE", "Germany"),
    ("GB", "United Kingdom"),
    ("SE", "Sweden"),
    ("IN", "India"),
    ("AU", "Australia"),
    ("PH", "Philippines"),
];

const FIRST: &[&str] = &[
    "ALEX", "BRIGID", "CHEN", "DANA", "EMIL", "FARAH", "GORAN", "HIKARU", "INGRID", "JONAS",
    "KEIKO", "LARS", "MEERA", "NIKOLAI", "OLU", "PRIYA", "QUENTIN", "RUI", "SANNA", "TOMAS",
];
const LAST: &[&str] = &[
    "ABERNETHY",
    "BALDUR",
    "CASTELLAN",
    "DRUMMOND",
    "ESKOLA",
    "FAIRWEATHER",
    "GRANHOLM",
    "HAYASE",
    "IVERSEN",
    "JANUARY",
    "KOVALENKO",
    "LINDQVIST",
    "MORIKAWA",
    "NAKASHIMA",
    "OKONKWO",
    "PELLEGRINI",
    "QUARTERMAIN",
    "RASMUSSEN",
    "SOLBERG",
    "TANIGAWA",
];

/// One customer.
#[derive(Debug, Clone)]
pub struct Account {
    /// `Account_Sales_Territory_Id` / `Account ST ID`.
    pub territory: i64,
    /// The company stem, e.g. `Belmar Logistics`.
    pub stem: String,
    /// Index into the legal forms.
    form: usize,
    /// Country code.
    pub country: &'static str,
    /// `PRJ Customer ID`.
    pub customer_id: i64,
}

impl Account {
    /// The canonical name, e.g. `Belmar Logistics Corporation`.
    pub fn canonical(&self) -> String {
        format!("{} {}", self.stem, FORMS[self.form].0)
    }

    /// One of the spellings different systems use for this customer: upper-case with the short
    /// form, canonical, lower-case without punctuation, with a comma, or a subsidiary.
    pub fn spelling(&self, rng: &mut Rng) -> String {
        let (long, short) = FORMS[self.form];
        match rng.weighted(&[30, 25, 12, 10, 8, 15]) {
            0 => format!("{} {}", self.stem, short).to_uppercase(),
            1 => self.canonical(),
            2 => format!("{} {}", self.stem, short.trim_end_matches('.')).to_lowercase(),
            3 => format!("{}, {}", self.stem, short),
            4 => format!("{} {}", self.stem, long).to_uppercase(),
            _ => format!("{} {}", self.stem, rng.pick(SUBSIDIARIES)),
        }
    }

    /// The upper-case name a contracts system prints, e.g. `BELMAR LOGISTICS, INC.`.
    pub fn upper(&self) -> String {
        format!("{}, {}", self.stem, FORMS[self.form].1).to_uppercase()
    }
}

/// All customers, plus a skewed picker so a few accounts own most of the rows.
#[derive(Debug)]
pub struct World {
    /// Accounts in rank order: the first ones are the big ones.
    pub accounts: Vec<Account>,
    /// Cumulative Zipf weights over `accounts`.
    cumulative: Vec<f64>,
    /// Territories that own opportunities but no install base (to keep linkage imperfect).
    pub stray_territories: Vec<i64>,
}

/// A made-up company stem of 2–3 syllables plus a sector, unique within `seen`.
pub fn company_stem(rng: &mut Rng, seen: &mut HashSet<String>) -> String {
    loop {
        let n = if rng.chance(0.6) { 2 } else { 3 };
        let mut word = String::new();
        for _ in 0..n {
            word.push_str(rng.pick(SYLLABLES));
        }
        let mut chars = word.chars();
        let first = chars.next().map_or('X', |c| c.to_ascii_uppercase());
        let stem = format!("{first}{} {}", chars.as_str(), rng.pick(SECTORS));
        if seen.insert(stem.clone()) {
            return stem;
        }
    }
}

/// An invented person, `FIRST LAST`.
pub fn person(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(FIRST), rng.pick(LAST))
}

impl World {
    /// Builds `n` accounts (at least one).
    pub fn generate(n: usize, rng: &mut Rng) -> World {
        let n = n.max(1);
        let mut seen = HashSet::with_capacity(n * 2);
        // Five-digit territory ids while they last (up to ~43k accounts), rising with random gaps.
        let max_step = (43_000 / n as i64).clamp(1, 60);
        let mut territory = 56_000 + rng.range(0, 99);
        let mut accounts = Vec::with_capacity(n);
        for _ in 0..n {
            territory += rng.range(1, max_step);
            accounts.push(Account {
                territory,
                stem: company_stem(rng, &mut seen),
                form: rng.weighted(&[35, 30, 15, 10, 10]),
                country: rng.pick_weighted(&[
                    ("US", 40),
                    ("JP", 15),
                    ("DE", 10),
                    ("GB", 10),
                    ("SE", 6),
                    ("IN", 8),
                    ("AU", 6),
                    ("PH", 5),
                ]),
                customer_id: 110_000_000 + rng.range(0, 899_999),
            });
        }
        // Shuffle ranks so the biggest account is not always the lowest territory id.
        for i in (1..accounts.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            accounts.swap(i, j);
        }
        let mut cumulative = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += 1.0 / ((rank + 1) as f64).powf(1.1);
            cumulative.push(total);
        }
        let stray_territories = (0..(n / 8).max(1))
            .map(|_| territory + rng.range(100, 900))
            .collect();
        World {
            accounts,
            cumulative,
            stray_territories,
        }
    }

    /// Picks an account: half the time by Zipf rank (a few big accounts), half uniformly (so every
    /// account gets some rows).
    pub fn pick_account(&self, rng: &mut Rng) -> &Account {
        if rng.chance(0.5) {
            return rng.pick_ref(&self.accounts);
        }
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.accounts[i.min(self.accounts.len() - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn territories_are_unique_five_digit_ints_for_small_worlds() {
        let w = World::generate(500, &mut Rng::new(3));
        let ids: HashSet<i64> = w.accounts.iter().map(|a| a.territory).collect();
        assert_eq!(ids.len(), 500);
        assert!(ids.iter().all(|&t| (10_000..=99_999).contains(&t)));
    }

    #[test]
    fn picker_is_skewed_but_reaches_the_tail() {
        let w = World::generate(100, &mut Rng::new(5));
        let mut rng = Rng::new(6);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..10_000 {
            *counts
                .entry(w.pick_account(&mut rng).territory)
                .or_insert(0u32) += 1;
        }
        let max = counts.values().copied().max().unwrap_or(0);
        assert!(max > 1000, "biggest account has {max} of 10000");
        assert!(counts.len() > 95, "{} accounts reached", counts.len());
    }

    #[test]
    fn spellings_vary_but_share_the_stem() {
        let w = World::generate(1, &mut Rng::new(8));
        let a = &w.accounts[0];
        let mut rng = Rng::new(9);
        let spellings: HashSet<String> = (0..50).map(|_| a.spelling(&mut rng)).collect();
        assert!(spellings.len() >= 4, "{spellings:?}");
        let stem = a.stem.to_lowercase();
        assert!(
            spellings
                .iter()
                .all(|s| s.to_lowercase().starts_with(&stem))
        );
    }
}
