//! `config/onelead.yaml` → a validated [`Config`] ("high args"). Unknown keys are errors with a
//! "did you mean"; every error names `file:line:col`, and validation reports every problem at
//! once ([`Config::check_text`]). Paths in the file are relative to the project root (the parent
//! of the `config/` folder holding the file).

mod check;
pub(crate) mod locate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Loc};
use crate::error::{Error, Result};
pub use crate::ingest::settings::IngestConfig;
pub use check::Checked;
use check::{Located, yaml_error};
use locate::Locations;

/// The default config location, relative to the working directory.
pub const DEFAULT_CONFIG: &str = "config/onelead.yaml";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database file, or a `postgres://` URL (`ONELEAD_DB` and `--db` override it).
    #[serde(default = "default_db")]
    pub database: PathBuf,
    /// Input files or folders loaded when `--data` is not given.
    #[serde(default)]
    pub data: Vec<PathBuf>,
    /// The rules folder when `--rules` is not given.
    #[serde(default = "default_rules")]
    pub rules_dir: PathBuf,
    /// Weight of each scoring factor; the names are the `rules/scoring/*.rhai` file stems.
    #[serde(default = "default_weights")]
    pub scoring_weights: BTreeMap<String, f64>,
    /// Score cut-offs for priorities (in `thresholds` mode).
    #[serde(default)]
    pub priority_thresholds: PriorityThresholds,
    /// How leads get their priority: by score thresholds (the default) or by rank.
    #[serde(default)]
    pub priority_mode: PriorityMode,
    /// Shares of the active leads by rank (in `rank` mode).
    #[serde(default)]
    pub priority_ranks: PriorityRanks,
    /// Named numbers and strings passed to every rule as `cfg` (e.g. `critical_days_past_eol`).
    #[serde(default = "default_thresholds")]
    pub thresholds: BTreeMap<String, serde_yaml::Value>,
    /// Install-base product family → product rows of the SKU sheet whose services apply.
    #[serde(default)]
    pub family_services: BTreeMap<String, Vec<String>>,
    /// How many recommended services a lead keeps.
    #[serde(default = "default_top_services")]
    pub top_services: usize,
    /// Account matching.
    #[serde(default)]
    pub accounts: AccountsConfig,
    /// Explicit sheet and column names for exports that detection cannot read.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Sandbox limits for rule scripts.
    #[serde(default)]
    pub limits: Limits,
    /// Days without a status change after which a lead is flagged as aging.
    #[serde(default = "default_aging_days")]
    pub aging_days: i64,
    /// Who new leads go to: ordered first-match rules (see `crate::assign`).
    #[serde(default)]
    pub assignment: Vec<crate::assign::AssignRule>,
    /// CRM import files and CRM exports read back (`export --to`, `status --import`).
    #[serde(default)]
    pub crm: crate::crm::CrmConfig,
    /// Sending the digests by e-mail (`digest --send`).
    #[serde(default)]
    pub mail: crate::mail::MailConfig,
    /// Where this config was read from (not a YAML key).
    #[serde(skip)]
    pub path: PathBuf,
    /// The folder relative paths resolve against (not a YAML key).
    #[serde(skip)]
    pub root: PathBuf,
}

/// Score cut-offs: a score ≥ `critical` is CRITICAL, ≥ `high` HIGH, ≥ `medium` MEDIUM, else LOW.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityThresholds {
    /// CRITICAL from this score.
    pub critical: f64,
    /// HIGH from this score.
    pub high: f64,
    /// MEDIUM from this score.
    pub medium: f64,
}

impl Default for PriorityThresholds {
    fn default() -> Self {
        PriorityThresholds {
            critical: 75.0,
            high: 60.0,
            medium: 40.0,
        }
    }
}

impl PriorityThresholds {
    /// The priority name of a score.
    pub fn priority(&self, score: f64) -> &'static str {
        if score >= self.critical {
            "CRITICAL"
        } else if score >= self.high {
            "HIGH"
        } else if score >= self.medium {
            "MEDIUM"
        } else {
            "LOW"
        }
    }
}

/// How a lead's priority is decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorityMode {
    /// By fixed score cut-offs ([`PriorityThresholds`]): a lead's priority is its own.
    #[default]
    Thresholds,
    /// By rank among the run's active leads ([`PriorityRanks`]): priority sorts the work
    /// whatever the scores are, as the design document gives it ("CRITICAL: top 10%").
    Rank,
}

/// In `rank` mode, the top `critical` percent of the active leads by score are CRITICAL, the
/// top `high` percent (the CRITICAL ones excepted) HIGH, the top `medium` percent MEDIUM, the
/// rest LOW. Leads with equal scores share a priority.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityRanks {
    /// Percent of active leads that are CRITICAL.
    pub critical: f64,
    /// Percent that are CRITICAL or HIGH.
    pub high: f64,
    /// Percent that are CRITICAL, HIGH or MEDIUM.
    pub medium: f64,
}

impl Default for PriorityRanks {
    fn default() -> Self {
        PriorityRanks {
            critical: 10.0,
            high: 25.0,
            medium: 50.0,
        }
    }
}

/// Account unification settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    /// Names at or above this similarity (0–100) are merged.
    #[serde(default = "default_fuzzy")]
    pub fuzzy_threshold: f64,
    /// Territory id → account name; wins over names found in the data.
    #[serde(default)]
    pub territory_mapping: BTreeMap<String, String>,
    /// Groups of names that are one customer; the first of each group is the canonical name.
    #[serde(default)]
    pub aliases: Vec<Vec<String>>,
    /// Extra legal suffixes stripped when normalising names (on top of the built-in list).
    #[serde(default)]
    pub legal_suffixes: Vec<String>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            fuzzy_threshold: default_fuzzy(),
            territory_mapping: BTreeMap::new(),
            aliases: Vec::new(),
            legal_suffixes: Vec::new(),
        }
    }
}

/// Rhai sandbox limits. The same in debug and release builds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Operations one rule call may run before it is stopped.
    pub max_operations: u64,
    /// Function call nesting.
    pub max_call_levels: usize,
    /// Expression nesting depth.
    pub max_expr_depth: usize,
    /// Largest string a script may build, in bytes.
    pub max_string_size: usize,
    /// Largest array.
    pub max_array_size: usize,
    /// Largest object map.
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 100_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 10_000,
        }
    }
}

fn default_db() -> PathBuf {
    PathBuf::from("data/onelead.db")
}
fn default_rules() -> PathBuf {
    PathBuf::from("rules")
}
fn default_fuzzy() -> f64 {
    85.0
}
fn default_top_services() -> usize {
    3
}
fn default_aging_days() -> i64 {
    30
}
fn default_weights() -> BTreeMap<String, f64> {
    [
        ("urgency", 0.35),
        ("value", 0.30),
        ("propensity", 0.20),
        ("strategic_fit", 0.15),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
fn default_thresholds() -> BTreeMap<String, serde_yaml::Value> {
    BTreeMap::from([(
        "critical_days_past_eol".to_string(),
        serde_yaml::Value::from(1825),
    )])
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: default_db(),
            data: Vec::new(),
            rules_dir: default_rules(),
            scoring_weights: default_weights(),
            priority_thresholds: PriorityThresholds::default(),
            priority_mode: PriorityMode::default(),
            priority_ranks: PriorityRanks::default(),
            thresholds: default_thresholds(),
            family_services: BTreeMap::new(),
            top_services: default_top_services(),
            accounts: AccountsConfig::default(),
            ingest: IngestConfig::default(),
            limits: Limits::default(),
            aging_days: default_aging_days(),
            assignment: Vec::new(),
            crm: crate::crm::CrmConfig::default(),
            mail: crate::mail::MailConfig::default(),
            path: PathBuf::new(),
            root: PathBuf::from("."),
        }
    }
}

/// Every top-level and nested key the config accepts, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "database",
    "data",
    "rules_dir",
    "scoring_weights",
    "priority_thresholds",
    "priority_mode",
    "priority_ranks",
    "thresholds",
    "family_services",
    "top_services",
    "accounts",
    "ingest",
    "limits",
    "aging_days",
    "assignment",
    "owner",
    "lead_type",
    "min_score",
    "critical",
    "high",
    "medium",
    "fuzzy_threshold",
    "territory_mapping",
    "aliases",
    "legal_suffixes",
    "sheets",
    "columns",
    "encoding",
    "date_order",
    "files",
    "match",
    "max_operations",
    "max_call_levels",
    "max_expr_depth",
    "max_string_size",
    "max_array_size",
    "max_map_size",
    "crm",
    "mail",
    "last_name",
    "company",
    "lead_source",
    "status_map",
    "id_column",
    "status_column",
    "from",
    "to",
    "territories",
    "smtp",
    "host",
    "port",
    "tls",
    "username",
    "password_env",
    "timeout_secs",
];

/// A problem with one key's value, found by a section's own check (`crm`, `mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// The key, dotted (`crm.last_name`).
    pub key: String,
    /// What is wrong, lowercase.
    pub message: String,
    /// A hint (`did you mean …?`).
    pub help: Option<String>,
}

impl Config {
    /// Reads and validates a config file. A missing file at the default location yields the
    /// defaults; a missing file named explicitly is an error.
    pub fn load(path: &Path, explicit: bool) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Config::default());
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let mut cfg = Config::parse(&text, path)?;
        cfg.path = path.to_path_buf();
        cfg.root = project_root(path);
        Ok(cfg)
    }

    /// Parses and validates config text; `path` is used in messages only. Every problem is
    /// reported, sorted by line.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let checked = Config::check_text(text, path);
        if checked.problems.is_empty() {
            return Ok(checked.config);
        }
        let texts: Vec<String> = checked.problems.into_iter().map(|d| d.text).collect();
        Err(Error::Config(texts.join("\n")))
    }

    /// [`Config::load`] that never stops at a problem: the config as far as it could be read
    /// (the defaults when it could not be parsed at all) with every problem found. For
    /// `rules check`, which reports the config's problems with the rules'.
    pub fn check_file(path: &Path, explicit: bool) -> Checked {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Checked::clean(Config::default());
            }
            Err(e) => {
                let shown = path.display().to_string();
                let msg = format!("cannot read `{shown}`: {e}");
                return Checked {
                    config: Config::default(),
                    parsed: false,
                    problems: vec![Diagnostic::new(&msg, &Loc::file(&shown), None, None)],
                };
            }
        };
        let mut checked = Config::check_text(&text, path);
        checked.config.path = path.to_path_buf();
        checked.config.root = project_root(path);
        checked
    }

    /// Parses `text` and finds every problem in it (see [`Config::check_file`]). A config with
    /// problems is still usable for checking rules: a quoted number among the thresholds is
    /// read as the number, so the rules are not blamed for the config's mistake.
    pub fn check_text(text: &str, path: &Path) -> Checked {
        let parsed: std::result::Result<Config, _> = if text.trim().is_empty() {
            Ok(Config::default())
        } else {
            serde_yaml::from_str(text)
        };
        match parsed {
            Err(e) => Checked {
                config: Config::default(),
                parsed: false,
                problems: vec![yaml_error(&e, path, text)],
            },
            Ok(mut config) => {
                let shown = path.display().to_string();
                let at = Located {
                    path: &shown,
                    text,
                    keys: Locations::new(text),
                };
                let problems = config.validate(&at);
                Checked {
                    config,
                    parsed: true,
                    problems,
                }
            }
        }
    }

    /// Resolves a config-relative path against the project root.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() || self.root == Path::new(".") {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// A number from `thresholds`, or `default` when absent.
    pub fn threshold(&self, key: &str, default: f64) -> f64 {
        self.thresholds
            .get(key)
            .and_then(serde_yaml::Value::as_f64)
            .unwrap_or(default)
    }
}

/// `.../config/onelead.yaml` → `...`; a file elsewhere resolves against its own folder.
fn project_root(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if dir.file_name().is_some_and(|n| n == "config") {
        dir.parent().map_or_else(
            || PathBuf::from("."),
            |p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            },
        )
    } else {
        dir.to_path_buf()
    }
}

/// The closest candidate to `word` other than `word` itself, if any is close enough to be a
/// plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // The word itself is never a suggestion: "did you mean `x`?" after typing `x` only confuses.
    candidates
        .iter()
        .filter(|c| **c != word)
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests;
