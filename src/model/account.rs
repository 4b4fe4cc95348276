//! Accounts as the store and `derive::account` exchange them: the names the rebuild reads, the
//! accounts it plans, and the facts about each account that rules see. No behaviour here.

/// What a rebuild produced, for the load report.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct AccountStats {
    /// Accounts written.
    pub accounts: usize,
    /// Alias rows written.
    pub aliases: usize,
    /// NameRows merged by fuzzy similarity.
    pub fuzzy_merges: usize,
    /// Service-credit customers that matched no account.
    pub unmatched_credit_customers: usize,
}

/// `(territory, name, rows)`, by territory then name (a missing name first).
pub type TerritoryRows = Vec<(String, Option<String>, i64)>;

/// A project customer without a territory: (customer, max customer id, Account ST Name, rows).
pub type ProjectName = (String, Option<String>, Option<String>, i64);

/// Everything the account rebuild reads from the data tables, in the order it reads it.
#[derive(Debug, PartialEq)]
pub struct NameRows {
    /// `(territory, name, rows)` per table that has territories (`install_base`,
    /// `opportunities`, `projects`, in that order), by territory then name.
    pub territories: [(&'static str, TerritoryRows); 3],
    /// By rows (most first), then customer, then Account ST Name.
    pub project_names: Vec<ProjectName>,
    /// Opportunities without a territory: (account name, rows), by name.
    pub opportunity_names: Vec<(String, i64)>,
    /// Every service-credit customer, sorted.
    pub credit_customers: Vec<String>,
}

/// One planned account.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAccount {
    /// `ST-<territory>` (a territory's main account), `ST-<territory>-<name>` (another
    /// customer of the territory), `C-<customer id>` or `N-<name>`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Normalised name.
    pub key: String,
    /// Sales territory.
    pub territory: Option<String>,
    /// The territory's display name.
    pub territory_name: Option<String>,
    /// Where the name came from (`config`, `data`, `territory`, `projects`, …).
    pub source: &'static str,
}

/// One planned alias: a name merged into an account, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAlias {
    /// The name as the source wrote it.
    pub text: String,
    /// Its normalised form.
    pub key: String,
    /// The account.
    pub account: String,
    /// `exact`, `normalised`, `fuzzy`, `config`, `territory`, `st_name`.
    pub method: &'static str,
    /// Similarity to the account's name, 0–100.
    pub similarity: f64,
    /// The table the name came from.
    pub table: &'static str,
    /// Rows with this name.
    pub occurrences: i64,
}

/// The accounts, aliases and name links derived from [`NameRows`], ready to be written.
#[derive(Debug, Clone, Default)]
pub struct AccountPlan {
    /// Accounts.
    pub accounts: Vec<PlannedAccount>,
    /// Aliases.
    pub aliases: Vec<PlannedAlias>,
    /// Project customer → account, in the order they were decided (a later link for the same
    /// name replaces an earlier one).
    pub project_links: Vec<(String, String)>,
    /// Opportunity account name → account, likewise.
    pub opportunity_links: Vec<(String, String)>,
    /// Service-credit customer → account, likewise.
    pub credit_links: Vec<(String, String)>,
    /// (territory, name) → account, for the opportunity and project rows of a territory whose
    /// customer is not the territory's main account (`ST-<territory>`, which every other row
    /// of the territory goes to).
    pub territory_links: Vec<(String, String, String)>,
    /// What the plan found so far (`accounts` and `aliases` are counted when written).
    pub stats: AccountStats,
}

/// A value of an account aggregate, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Fact {
    /// A number.
    Int(i64),
    /// Text (a date, a size category).
    Text(String),
    /// Nothing known.
    Null,
}

/// One account and the aggregates rules see (`account` in `rules/README.md`). An account with
/// no rows in a table has zero counts and `Null` for the rest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountFacts {
    /// Account id.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// Territory.
    pub territory_id: Option<String>,
    /// Install-base rows.
    pub install_base_count: Fact,
    /// Opportunities.
    pub opportunity_count: Fact,
    /// Projects.
    pub project_count: Fact,
    /// Closed projects (`CLSD`).
    pub closed_project_count: Fact,
    /// The latest project end date.
    pub last_project_end: Fact,
    /// Active service credits.
    pub active_credits: Fact,
    /// The most common known project size (ties go to the larger size).
    pub project_size_category: Fact,
}

impl AccountFacts {
    /// An account with nothing counted yet.
    pub fn new(account_id: String, name: String, territory_id: Option<String>) -> AccountFacts {
        AccountFacts {
            account_id,
            name,
            territory_id,
            install_base_count: Fact::Int(0),
            opportunity_count: Fact::Int(0),
            project_count: Fact::Int(0),
            closed_project_count: Fact::Int(0),
            last_project_end: Fact::Null,
            active_credits: Fact::Int(0),
            project_size_category: Fact::Null,
        }
    }
}

/// One product row of the SKU sheet's service catalog (also as a scenario file writes it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The product row label as written (`3PAR`, `Servers`).
    pub product: String,
    /// Its category group (`''` when none).
    #[serde(default)]
    pub category: String,
    /// Service name.
    pub service: String,
    /// SKU codes, `/`-separated as stored (`''` when none).
    #[serde(default)]
    pub skus: String,
}
