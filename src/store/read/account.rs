//! The account 360° view as every backend returns it: who the account is, the names merged into
//! it, and everything known about it. The `account` command's JSON.

use serde::Serialize;

use crate::model::lead::Lead;

/// An account's identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// Unified account id.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// Normalised name the merge compared.
    pub normalized_name: String,
    /// Territory id.
    pub territory_id: Option<String>,
    /// Territory name.
    pub territory_name: Option<String>,
    /// Which table the display name came from.
    pub name_source: String,
}

/// How an account was found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Exactly one account.
    Found(Identity),
    /// Several accounts match equally well.
    Ambiguous(Vec<Identity>),
    /// Nothing matched; the closest account names (best first).
    Missing(Vec<String>),
}

/// A name merged into the account, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alias {
    /// The name as the source wrote it.
    pub alias: String,
    /// How it was matched (`exact`, `normalized`, `fuzzy`, ...).
    pub method: String,
    /// Similarity to the account's name, 0–100.
    pub similarity: f64,
    /// Table the name came from.
    pub source_table: String,
    /// Rows carrying it.
    pub occurrences: i64,
}

/// One install-base row of the account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    /// Serial number.
    pub serial_number: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Product family.
    pub product_family: Option<String>,
    /// Risk level.
    pub risk_level: Option<String>,
    /// End-of-life date (YYYY-MM-DD).
    pub eol_date: Option<String>,
    /// Support status as exported.
    pub support_status: Option<String>,
}

/// A count of rows sharing one value (`null`: not set).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    /// The value.
    pub value: Option<String>,
    /// Rows with it.
    pub count: i64,
}

/// An opportunity of the account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opportunity {
    /// Opportunity id.
    pub opportunity_id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Product line.
    pub product_line: Option<String>,
}

/// Project history in numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Projects {
    /// Projects linked to the account.
    pub count: i64,
    /// Most common `size_category` (ties: alphabetical first).
    pub typical_size: Option<String>,
    /// Latest `end_date`.
    pub last_end_date: Option<String>,
    /// Projects with `system_status` = `CLSD`.
    pub closed: i64,
}

/// A service-credit row about to expire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiringCredit {
    /// Project id.
    pub project_id: Option<String>,
    /// Project name.
    pub project_name: Option<String>,
    /// Practice.
    pub practice: Option<String>,
    /// Active (unused) credits.
    pub active: Option<i64>,
    /// `0-45` or `46-90` (days).
    pub expiry_bucket: Option<String>,
    /// Contract end date.
    pub contract_end: Option<String>,
}

/// Service credits in numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Credits {
    /// Sum of active credits.
    pub active_total: i64,
    /// Rows expiring within 90 days (at most the limit asked for).
    pub expiring: Vec<ExpiringCredit>,
    /// How many rows expire within 90 days in all (not in the JSON).
    #[serde(skip)]
    pub expiring_total: usize,
}

/// Everything known about one account: the `account` command's JSON.
///
/// The four lists (install base, leads, opportunities, expiring credits) hold at most the limit
/// given to [`Reads::account_360`](super::Reads::account_360); the `*_total` fields, which the JSON leaves out, say how many rows
/// each has in all. The counts per risk level and family always cover the whole install base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account360 {
    /// Who it is.
    pub account: Identity,
    /// Names merged into it.
    pub aliases: Vec<Alias>,
    /// Install-base rows per risk level, most first.
    pub risk_levels: Vec<Count>,
    /// Install-base rows per product family, most first.
    pub product_families: Vec<Count>,
    /// Its install-base rows, earliest end of life first.
    pub install_base: Vec<Asset>,
    /// Install-base rows in all.
    #[serde(skip)]
    pub install_base_total: usize,
    /// Its active leads, best first.
    pub leads: Vec<Lead>,
    /// Active leads in all.
    #[serde(skip)]
    pub leads_total: usize,
    /// Its opportunities.
    pub opportunities: Vec<Opportunity>,
    /// Opportunities in all.
    #[serde(skip)]
    pub opportunities_total: usize,
    /// Its project history.
    pub projects: Projects,
    /// Its service credits.
    pub service_credits: Credits,
}

/// An account's install base folded in one pass over its rows (see `account_360`): the counts
/// per risk level and family, and the display order.
#[derive(Default)]
pub struct AssetFold {
    risk: std::collections::BTreeMap<Option<String>, i64>,
    family: std::collections::BTreeMap<Option<String>, i64>,
    /// (no EOL date, EOL date, serial, id): the display order; `Option` sorts `None` first as
    /// SQL sorts NULL, and `String` compares bytes as both backends' text does.
    order: Vec<(bool, Option<String>, Option<String>, i64)>,
}

/// What [`AssetFold::finish`] gives.
pub struct Assets {
    /// Rows per risk level, most first (ties by value, `None` first).
    pub risk_levels: Vec<Count>,
    /// Rows per product family, likewise.
    pub product_families: Vec<Count>,
    /// Rows in all.
    pub total: usize,
    /// The ids of the rows to show, earliest end of life first, rows without one last, then
    /// by serial number and id.
    pub ids: Vec<i64>,
}

impl AssetFold {
    /// One install-base row.
    pub fn add(
        &mut self,
        risk: Option<String>,
        family: Option<String>,
        eol: Option<String>,
        serial: Option<String>,
        id: i64,
    ) {
        *self.risk.entry(risk).or_default() += 1;
        *self.family.entry(family).or_default() += 1;
        self.order.push((eol.is_none(), eol, serial, id));
    }

    /// The counts, and the first `limit` rows' ids (`None`: all).
    pub fn finish(mut self, limit: Option<usize>) -> Assets {
        let total = self.order.len();
        self.order.sort_unstable();
        self.order.truncate(limit.unwrap_or(total));
        Assets {
            risk_levels: most_first(self.risk),
            product_families: most_first(self.family),
            total,
            ids: self.order.into_iter().map(|(_, _, _, id)| id).collect(),
        }
    }
}

fn most_first(m: std::collections::BTreeMap<Option<String>, i64>) -> Vec<Count> {
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(value, count)| Count { value, count })
        .collect();
    // Stable: equal counts keep the map's order.
    v.sort_by_key(|c| std::cmp::Reverse(c.count));
    v
}

/// The three names of `accounts` (name, normalised name) closest to `normalized`
/// (normalised Levenshtein over normalised names).
pub fn closest_names(accounts: Vec<(String, String)>, normalized: &str) -> Vec<String> {
    let mut scored: Vec<(f64, String)> = accounts
        .into_iter()
        .map(|(name, norm)| (strsim::normalized_levenshtein(normalized, &norm), name))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}
