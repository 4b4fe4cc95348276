//! Command-line surface ("low args"): clap derive structs only. Validation into working objects
//! happens in `cmd::*` via [`crate::config::Config`].

use std::ffi::OsString;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn install-base exports into scored, explained sales leads.
#[derive(Debug, Parser)]
#[command(name = "onelead", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses arguments, returning clap's error (help and version are "errors" with exit 0).
    pub fn try_parse_from_args(
        args: impl IntoIterator<Item = OsString>,
    ) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(args)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load exports (xlsx, csv) into the database, replacing earlier loads of the same files.
    Load(LoadArgs),
    /// Load, evaluate the rules and write scored leads (the main job).
    Run(RunArgs),
    /// List the scored leads, best first.
    Leads(LeadsArgs),
    /// Run, then rerun whenever a rule, the config or an input file changes; print what changed.
    Watch(WatchArgs),
    /// Evaluate other rules or config against the current database without writing; print what would change.
    Whatif(WhatifArgs),
    /// Work with rule scripts.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write a synthetic export (same sheets, headers and mess as a real one).
    Sample(SampleArgs),
}

/// Rule subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile every rule and validate the config; report all problems at once.
    Check(RulesCheckArgs),
}

/// Options every command that touches the database shares.
#[derive(Debug, Clone, Args, Default)]
pub struct DbArgs {
    /// SQLite database [default: `database` in the config, `data/onelead.db`].
    #[arg(long, env = "ONELEAD_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Configuration file.
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// Output formats of the views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A table fitted to the terminal.
    #[default]
    Table,
    /// CSV for spreadsheets.
    Csv,
    /// Stable JSON (documented in the README).
    Json,
}

/// Output format flag with a `--json` short form.
#[derive(Debug, Clone, Args, Default)]
pub struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Short for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl FormatArgs {
    /// The effective format.
    pub fn get(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// `onelead load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Input file or folder (every .xlsx and .csv in it); repeatable [default: `data` in the config].
    #[arg(long, value_name = "PATH")]
    pub data: Vec<PathBuf>,
    /// Rules folder (its `classify/` rules derive family and risk) [default: `rules_dir` in the config].
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Date the day counts are measured from [default: today].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Report format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Everything `load` takes.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `onelead watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Everything `run` takes.
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `onelead whatif`.
#[derive(Debug, Clone, Args)]
pub struct WhatifArgs {
    /// The alternative rules folder [default: `rules_dir` in the config].
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// The alternative configuration.
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// SQLite database [default: `database` in `config/onelead.yaml`].
    #[arg(long, env = "ONELEAD_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Date the day counts are measured from [default: the as-of date of the last run].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Output format (table prints the change report as text).
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead leads`.
#[derive(Debug, Clone, Args)]
pub struct LeadsArgs {
    /// Show at most N leads.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead rules check`.
#[derive(Debug, Clone, Args)]
pub struct RulesCheckArgs {
    /// Rules folder [default: `rules_dir` in the config].
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Configuration file.
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// File format of `onelead sample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleFormat {
    /// One workbook with all sheets, plus the SKU workbook.
    Xlsx,
    /// One CSV per sheet, plus the SKU workbook (its pivot layout only exists as xlsx).
    Csv,
}

/// `onelead sample`.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// Folder to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Install-base rows; the other sheets scale in proportion.
    #[arg(long, default_value_t = 200)]
    pub rows: usize,
    /// Random seed: the same seed gives byte-identical data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// File format.
    #[arg(long, value_enum, default_value_t = SampleFormat::Xlsx)]
    pub format: SampleFormat,
}
