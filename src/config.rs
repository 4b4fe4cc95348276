//! `config/onelead.yaml` → a validated [`Config`] ("high args"). Unknown keys are errors with a
//! "did you mean"; every error names `file:line:col`. Paths in the file are relative to the
//! project root (the parent of the `config/` folder holding the file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The default config location, relative to the working directory.
pub const DEFAULT_CONFIG: &str = "config/onelead.yaml";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database file (`ONELEAD_DB` and `--db` override it).
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
    /// Score cut-offs for priorities.
    #[serde(default)]
    pub priority_thresholds: PriorityThresholds,
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
    /// Where this config was read from (not a YAML key).
    #[serde(skip)]
    pub path: PathBuf,
    /// The folder relative paths resolve against (not a YAML key).
    #[serde(skip)]
    pub root: PathBuf,
}

/// Score cut-offs: a score ≥ `critical` is CRITICAL, ≥ `high` HIGH, ≥ `medium` MEDIUM, else LOW.
#[derive(Debug, Clone, Deserialize)]
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

/// Explicit sheet/column mapping, keyed by table (`install_base`, `opportunities`, ...).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Table → sheet name, for sheets whose headers detection cannot recognise.
    #[serde(default)]
    pub sheets: BTreeMap<String, String>,
    /// Table → (field → header as written in the export).
    #[serde(default)]
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
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
            thresholds: default_thresholds(),
            family_services: BTreeMap::new(),
            top_services: default_top_services(),
            accounts: AccountsConfig::default(),
            ingest: IngestConfig::default(),
            limits: Limits::default(),
            aging_days: default_aging_days(),
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
    "thresholds",
    "family_services",
    "top_services",
    "accounts",
    "ingest",
    "limits",
    "aging_days",
    "critical",
    "high",
    "medium",
    "fuzzy_threshold",
    "territory_mapping",
    "aliases",
    "legal_suffixes",
    "sheets",
    "columns",
    "max_operations",
    "max_call_levels",
    "max_expr_depth",
    "max_string_size",
    "max_array_size",
    "max_map_size",
];

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

    /// Parses and validates config text; `path` is used in messages only.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let cfg: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| yaml_error(&e, path))?
        };
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let shown = path.display();
        let sum: f64 = self.scoring_weights.values().sum();
        if (sum - 1.0).abs() > 1e-6 {
            let parts: Vec<String> = self
                .scoring_weights
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            return Err(Error::Config(format!(
                "{shown}: `scoring_weights` must sum to 1, but {} = {sum}",
                parts.join(" + ")
            )));
        }
        if let Some((k, v)) = self
            .scoring_weights
            .iter()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(Error::Config(format!(
                "{shown}: `scoring_weights.{k}` must be a number ≥ 0, not {v}"
            )));
        }
        let p = &self.priority_thresholds;
        if !(p.critical >= p.high && p.high >= p.medium) {
            return Err(Error::Config(format!(
                "{shown}: `priority_thresholds` must satisfy critical ≥ high ≥ medium"
            )));
        }
        if !(0.0..=100.0).contains(&self.accounts.fuzzy_threshold) {
            return Err(Error::Config(format!(
                "{shown}: `accounts.fuzzy_threshold` must be between 0 and 100"
            )));
        }
        Ok(())
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

fn yaml_error(e: &serde_yaml::Error, path: &Path) -> Error {
    let msg = e.to_string();
    // serde_yaml appends " at line L column C"; we show the location up front instead.
    let msg = msg
        .split(" at line ")
        .next()
        .unwrap_or(&msg)
        .trim_end()
        .to_string();
    let loc = e.location().map_or_else(
        || path.display().to_string(),
        |l| format!("{}:{}:{}", path.display(), l.line(), l.column()),
    );
    let mut out = format!("error: {msg}\n --> {loc}");
    if let Some(unknown) = msg
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
        && let Some(best) = did_you_mean(unknown, KNOWN_KEYS)
    {
        out = format!("{out}\nhelp: did you mean `{best}`?");
    }
    Error::Config(out)
}

/// The closest candidate to `word`, if any is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config> {
        Config::parse(s, Path::new("config/onelead.yaml"))
    }

    #[test]
    fn defaults_match_the_original_design() {
        let c = parse("").unwrap();
        assert_eq!(c.scoring_weights["urgency"], 0.35);
        assert_eq!(c.scoring_weights["strategic_fit"], 0.15);
        assert_eq!(c.priority_thresholds.priority(75.0), "CRITICAL");
        assert_eq!(c.priority_thresholds.priority(59.99), "MEDIUM");
        assert_eq!(c.threshold("critical_days_past_eol", 0.0), 1825.0);
        assert_eq!(c.accounts.fuzzy_threshold, 85.0);
    }

    #[test]
    fn unknown_key_names_line_column_and_suggestion() {
        let err = parse("database: x.db\nscoring_weight:\n  urgency: 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("error: unknown field `scoring_weight`"),
            "{err}"
        );
        assert!(err.contains(" --> config/onelead.yaml:2:1"), "{err}");
        assert!(
            err.contains("help: did you mean `scoring_weights`?"),
            "{err}"
        );
    }

    #[test]
    fn weights_must_sum_to_one() {
        let err = parse("scoring_weights: {urgency: 0.5, value: 0.6}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must sum to 1"), "{err}");
        assert!(err.contains("urgency 0.5 + value 0.6"), "{err}");
    }

    #[test]
    fn the_empty_document_and_default_agree() {
        let from_yaml: Config = serde_yaml::from_str("{}").unwrap();
        let d = Config::default();
        assert_eq!(from_yaml.scoring_weights, d.scoring_weights);
        assert_eq!(from_yaml.thresholds, d.thresholds);
        assert_eq!(from_yaml.top_services, d.top_services);
        assert_eq!(from_yaml.aging_days, d.aging_days);
        assert_eq!(from_yaml.database, d.database);
        assert_eq!(from_yaml.rules_dir, d.rules_dir);
    }

    #[test]
    fn shipped_config_is_valid_and_matches_defaults() {
        let shipped = parse(include_str!("../config/onelead.yaml")).unwrap();
        let defaults = parse("").unwrap();
        assert_eq!(shipped.scoring_weights, defaults.scoring_weights);
        assert_eq!(
            shipped.limits.max_operations,
            defaults.limits.max_operations
        );
        assert_eq!(
            shipped.family_services["COMPUTE"],
            vec!["Servers".to_string()]
        );
    }

    #[test]
    fn partial_sections_keep_their_other_defaults() {
        let c = parse("limits: {max_operations: 5}\npriority_thresholds: {critical: 90}").unwrap();
        assert_eq!(c.limits.max_operations, 5);
        assert_eq!(c.limits.max_call_levels, 32);
        assert_eq!(c.priority_thresholds.high, 60.0);
    }

    #[test]
    fn root_is_parent_of_config_folder() {
        assert_eq!(
            project_root(Path::new("config/onelead.yaml")),
            PathBuf::from(".")
        );
        assert_eq!(
            project_root(Path::new("/p/config/a.yaml")),
            PathBuf::from("/p")
        );
        assert_eq!(
            project_root(Path::new("/tmp/x.yaml")),
            PathBuf::from("/tmp")
        );
    }
}
