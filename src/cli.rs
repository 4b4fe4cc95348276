//! Command-line surface ("low args"): clap derive structs only. Validation into working objects
//! happens in `cmd::*` via [`crate::config::Config`].

use std::ffi::OsString;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::lifecycle::Status;
use crate::report::Format;
use crate::store::read::{LeadSort, TerritorySort};

mod filters;
pub use filters::{ChangeArg, ChangesArgs, StatusFilterArg};

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
    /// Load, evaluate the rules and write scored leads (the main job).
    Run(RunArgs),
    /// Load exports (xlsx, csv) into the database, replacing earlier loads of the same files.
    Load(LoadArgs),
    /// List the scored leads, best first, with filters.
    Leads(LeadsArgs),
    /// Totals, leads by priority and type, the pipeline estimate and the top 10.
    Dashboard(ViewArgs),
    /// Everything about one account: aliases, install base, leads, projects, credits.
    Account(AccountArgs),
    /// Per territory: accounts, install base, leads by priority, average score, pipeline.
    Territories(TerritoriesArgs),
    /// Score histogram, type × priority, territory leaderboard, family mix, coverage.
    Analytics(ViewArgs),
    /// Why a lead scored what it did (factors, trigger, services, history), or for an asset's
    /// serial number, what each trigger decides and why, including those that do not fire.
    Explain(ExplainArgs),
    /// Run, then rerun whenever a rule, the config or an input file changes; print what changed.
    Watch(WatchArgs),
    /// Evaluate other rules or config against the current database without writing; print what would change.
    Whatif(WhatifArgs),
    /// Write the views as one self-contained HTML file to share (no network needed to open it).
    Report(ReportArgs),
    /// Work with rule scripts.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write a synthetic export (same sheets, headers and mess as a real one).
    Sample(SampleArgs),
    /// Record a status change on leads (kept in their history; reruns keep it).
    Status(StatusArgs),
    /// Leads per status and conversion rates by lead type, territory and priority.
    Funnel(FunnelArgs),
    /// What a manager reads in the morning: new CRITICAL/HIGH leads, priority changes, aging.
    Digest(DigestArgs),
    /// The lead list for a CRM import, with status, top SKUs and services as columns.
    Export(ExportArgs),
    /// What the latest install base changed: assets that arrived, left, or changed support
    /// status or coverage since the snapshot before it.
    Changes(ChangesArgs),
    /// Evaluate partitions of the install base for runs started with `--workers` (PostgreSQL).
    Worker(WorkerArgs),
    /// The team's lead desk in the browser, and its JSON API.
    Serve(ServeArgs),
    /// Manage the people who may use `serve`.
    #[command(subcommand)]
    User(UserCommand),
}

/// Rule subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile every rule, validate the config, then run every rule over the install base
    /// (the database's, else the bundled sample) and generated edge rows without writing;
    /// report all problems at once.
    Check(RulesCheckArgs),
    /// Run the scenario tests (`rules/tests/*.yaml`, or the files given) against the rules and
    /// config; show what each failing scenario expected against what came out.
    Test(RulesTestArgs),
}

/// Options every command that touches the database shares.
#[derive(Debug, Clone, Args, Default)]
pub struct DbArgs {
    /// SQLite file or PostgreSQL URL (`postgres://user:pass@host:port/db`) [default:
    /// `database` in the config, `data/onelead.db`].
    #[arg(
        long,
        env = "ONELEAD_DB",
        value_name = "FILE|URL",
        hide_env_values = true
    )]
    pub db: Option<PathBuf>,
    /// Configuration file.
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
}

/// Output formats of the views (mapped to [`crate::report::Format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FormatArg {
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
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Short for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl FormatArgs {
    /// The effective format.
    pub fn get(&self) -> Format {
        match (self.json, self.format) {
            (true, _) | (false, FormatArg::Json) => Format::Json,
            (false, FormatArg::Table) => Format::Table,
            (false, FormatArg::Csv) => Format::Csv,
        }
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
    /// Evaluate by worker processes, in partitions by account (PostgreSQL only): start N here;
    /// with 0, wait for `onelead worker` processes started elsewhere.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

/// `onelead worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Only this run's work (a run passes it to the workers it starts).
    #[arg(long, value_name = "ID")]
    pub work: Option<i64>,
    /// Exit once no partition is left to do, instead of waiting for the next run's.
    #[arg(long)]
    pub exit_when_done: bool,
    /// Threads evaluating a partition [default: every core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `onelead watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Everything `run` takes.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Also rewrite this HTML report (as `onelead report --out FILE`) after each successful rerun.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
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
    /// SQLite file or PostgreSQL URL [default: `database` in `config/onelead.yaml`].
    #[arg(
        long,
        env = "ONELEAD_DB",
        value_name = "FILE|URL",
        hide_env_values = true
    )]
    pub db: Option<PathBuf>,
    /// Date the day counts are measured from [default: the as-of date of the last run].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Decide priorities this way instead of as the config says: `rank` shows what switching
    /// to priority by rank (`priority_ranks`) would change.
    #[arg(long, value_enum, value_name = "MODE")]
    pub priority_mode: Option<PriorityModeArg>,
    /// Output format (table prints the change report as text).
    #[command(flatten)]
    pub format: FormatArgs,
}

/// How priorities are decided, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityModeArg {
    /// By the score cut-offs of `priority_thresholds`.
    Thresholds,
    /// By rank among the active leads (`priority_ranks`).
    Rank,
}

impl PriorityModeArg {
    /// The library's mode.
    pub fn mode(self) -> crate::config::PriorityMode {
        match self {
            PriorityModeArg::Thresholds => crate::config::PriorityMode::Thresholds,
            PriorityModeArg::Rank => crate::config::PriorityMode::Rank,
        }
    }
}

/// A lead priority on the command line (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "lower")]
pub enum PriorityArg {
    /// Score at or above the critical threshold.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

impl PriorityArg {
    /// The stored, upper-case form.
    pub fn as_str(self) -> &'static str {
        match self {
            PriorityArg::Critical => "CRITICAL",
            PriorityArg::High => "HIGH",
            PriorityArg::Medium => "MEDIUM",
            PriorityArg::Low => "LOW",
        }
    }
}

/// The lead filters `leads` and `report` share.
#[derive(Debug, Clone, Args, Default)]
pub struct LeadFilterArgs {
    /// Lead type contains TEXT (case-insensitive).
    #[arg(long = "type", value_name = "TEXT")]
    pub lead_type: Option<String>,
    /// Only these priorities; repeat the flag or give a comma list (`high,critical`).
    #[arg(long, value_enum, value_delimiter = ',', ignore_case = true)]
    pub priority: Vec<PriorityArg>,
    /// Score at least N.
    #[arg(long, value_name = "N")]
    pub min_score: Option<f64>,
    /// Territory id.
    #[arg(long, value_name = "ID")]
    pub territory: Option<String>,
    /// Account id, or part of its name, normalised name or any alias.
    #[arg(long, value_name = "TEXT")]
    pub account: Option<String>,
    /// Product family (case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub family: Option<String>,
    /// Workflow statuses; repeat the flag or give a comma list (`new,contacted`)
    /// [default: open, i.e. new, contacted and qualified; `all` for every status].
    #[arg(long, value_enum, value_delimiter = ',', ignore_case = true)]
    pub status: Vec<StatusFilterArg>,
    /// Owned by this user.
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
}

/// `onelead leads`.
#[derive(Debug, Clone, Args)]
pub struct LeadsArgs {
    /// Which leads.
    #[command(flatten)]
    pub filter: LeadFilterArgs,
    /// Order of the list.
    #[arg(long, value_enum, default_value_t = SortArg::Score)]
    pub sort: SortArg,
    /// Show at most N leads.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
    /// Status and age filters.
    #[command(flatten)]
    pub lifecycle: LifecycleFilterArgs,
}

/// Views that take only the database and a format (`dashboard`, `analytics`).
#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead account`.
#[derive(Debug, Clone, Args)]
pub struct AccountArgs {
    /// Account id, name, alias, or part of a name.
    #[arg(value_name = "NAME|ID")]
    pub account: String,
    /// Show at most N rows of each list: install base, leads, opportunities, expiring credits
    /// (the table shows 50 unless told; JSON and CSV list all unless told).
    #[arg(long, value_name = "N", conflicts_with = "all")]
    pub limit: Option<usize>,
    /// Show every row of each list in the table too.
    #[arg(long)]
    pub all: bool,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead territories`.
#[derive(Debug, Clone, Args)]
pub struct TerritoriesArgs {
    /// Order of the rows.
    #[arg(long, value_enum, default_value_t = TerritorySortArg::Leads)]
    pub sort: TerritorySortArg,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// A lead id, or an asset's serial number: what each trigger decides for it and why,
    /// including the triggers that do not fire (any case).
    #[arg(value_name = "LEAD_ID|SERIAL")]
    pub lead_id: String,
    /// For a serial number: the date day counts are measured from [default: the last run's].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The HTML file to write (replaced atomically).
    #[arg(long, value_name = "FILE", default_value = "onelead-report.html")]
    pub out: PathBuf,
    /// Which leads the queue and the account pages show (overview and charts cover all leads).
    #[command(flatten)]
    pub filter: LeadFilterArgs,
    /// The queue shows the best N leads (the file says how many more match; `onelead leads` and
    /// `onelead serve` show them all).
    #[arg(long, value_name = "N", default_value_t = crate::views::REPORT_LIMIT)]
    pub limit: usize,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
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
    /// Database whose install base the rules run over [default: `database` in the config; the
    /// bundled sample when it does not exist].
    #[arg(long, env = "ONELEAD_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Date the day counts are measured from [default: the database's last run, else today].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
}

/// `onelead rules test`.
#[derive(Debug, Clone, Args)]
pub struct RulesTestArgs {
    /// Scenario files to run [default: every `*.yaml` in the rules folder's `tests/`].
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
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
    /// Opportunity rows [default: 1.5 per 6 install-base rows].
    #[arg(long, value_name = "N")]
    pub opportunities: Option<usize>,
    /// Project rows [default: 2 per 6 install-base rows].
    #[arg(long, value_name = "N")]
    pub projects: Option<usize>,
    /// Random seed: the same seed gives byte-identical data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// File format.
    #[arg(long, value_enum, default_value_t = SampleFormat::Xlsx)]
    pub format: SampleFormat,
}

/// Lead filters on the lifecycle (age), shared by `leads` and `export`.
#[derive(Debug, Clone, Args, Default)]
pub struct LifecycleFilterArgs {
    /// Only leads first seen on or after this day (UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub new_since: Option<NaiveDate>,
    /// Only leads without a status change for more than DAYS days.
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u32>,
}

/// `onelead status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Lead ids (case-insensitive), then the new status: new, contacted, qualified, converted
    /// or rejected. (One list, read by [`StatusArgs::change`]: clap cannot make the ids and the
    /// status both optional, as `--import` needs.)
    #[arg(required_unless_present = "import", num_args = 1.., value_name = "LEAD_ID... STATUS")]
    pub words: Vec<String>,
    /// Take the statuses from a CRM's export (CSV or xlsx) instead: the OneLead id column is
    /// found by its header, values are mapped through `crm.status_map`; all rows or none.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["words", "note", "opportunity"])]
    pub import: Option<PathBuf>,
    /// A note kept with the change.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Who made the change [default: `$USER`].
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// The CRM opportunity the lead became or belongs to.
    #[arg(long, value_name = "ID")]
    pub opportunity: Option<String>,
    /// Record a move the transition table does not allow (e.g. out of `converted`).
    #[arg(long)]
    pub force: bool,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
}

impl StatusArgs {
    /// The lead ids and the status of `words`; a usage error when they are not that.
    pub fn change(&self) -> crate::error::Result<(&[String], Status)> {
        let usage = |m: String| crate::error::Error::Usage(m);
        let Some((last, ids)) = self.words.split_last().filter(|(_, ids)| !ids.is_empty()) else {
            return Err(usage(
                "give one or more lead ids, then the new status (or `--import FILE`)".into(),
            ));
        };
        let status = StatusArg::from_str(last, true).map_err(|_| {
            usage(format!(
                "invalid status `{last}`: expected one of `new`, `contacted`, `qualified`, \
                 `converted`, `rejected`"
            ))
        })?;
        Ok((ids, status.into()))
    }
}

/// `onelead funnel`.
#[derive(Debug, Clone, Args)]
pub struct FunnelArgs {
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Output formats of `onelead digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DigestFormat {
    /// Headings, bullet lists and a small table; pastes into an e-mail or chat as is.
    #[default]
    Markdown,
    /// One table row per listed lead.
    Table,
    /// The table's rows as CSV.
    Csv,
    /// Stable JSON.
    Json,
}

/// The digests `onelead digest` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DigestKind {
    /// New CRITICAL/HIGH leads, priority changes and aging leads since `--since`.
    #[default]
    Daily,
    /// Per territory: where it stands, the last seven days, its best leads (`--since` unused).
    Weekly,
    /// Open leads without a status change for more than `aging_days`.
    Aging,
}

/// `onelead digest`.
#[derive(Debug, Clone, Args)]
pub struct DigestArgs {
    /// Which digest.
    #[arg(long, value_enum, default_value_t = DigestKind::Daily)]
    pub kind: DigestKind,
    /// Report events since this day (`YYYY-MM-DD`) or since the last run (`last-run`).
    #[arg(long, default_value = "last-run", value_name = "DATE|last-run")]
    pub since: crate::lifecycle::digest::Since,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DigestFormat::Markdown)]
    pub format: DigestFormat,
    /// E-mail the digest (text and HTML parts) instead of printing it; what was sent before is
    /// not sent again.
    #[arg(long)]
    pub send: bool,
    /// Who gets the whole digest (repeat or separate with commas) [default: `mail.to` whole,
    /// and each of `mail.territories` its territory's part].
    #[arg(long, value_delimiter = ',', value_name = "ADDRESS", requires = "send")]
    pub to: Vec<String>,
    /// The SMTP server instead of `mail.smtp.host` and `mail.smtp.port`.
    #[arg(long, value_name = "HOST:PORT", requires = "send")]
    pub smtp: Option<String>,
    /// Write the messages as `.eml` files instead of sending them (nothing is recorded).
    #[arg(long, requires = "send")]
    pub dry_run: bool,
    /// The folder `--dry-run` writes to.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "outbox",
        requires = "dry_run"
    )]
    pub out: PathBuf,
    /// Send again what was sent before.
    #[arg(long, requires = "send")]
    pub resend: bool,
    /// Short for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
}

impl DigestArgs {
    /// The effective format.
    pub fn format(&self) -> DigestFormat {
        if self.json {
            DigestFormat::Json
        } else {
            self.format
        }
    }
}

/// Output formats of `onelead export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ExportFormat {
    /// CSV with one column per field.
    #[default]
    Csv,
    /// A JSON array of flat objects with the same fields as the CSV.
    Json,
}

/// The CRMs `onelead export --to` writes an import file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrmArg {
    /// Salesforce's Lead import (Data Import Wizard field labels).
    Salesforce,
    /// HubSpot's contact import.
    Hubspot,
}

impl From<CrmArg> for crate::crm::Crm {
    fn from(c: CrmArg) -> Self {
        match c {
            CrmArg::Salesforce => crate::crm::Crm::Salesforce,
            CrmArg::Hubspot => crate::crm::Crm::Hubspot,
        }
    }
}

/// `onelead export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// File format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// A CSV that this CRM's import maps by itself (its own field labels, the OneLead id as an
    /// external id) instead of OneLead's columns.
    #[arg(long, value_enum, value_name = "CRM", conflicts_with = "format")]
    pub to: Option<CrmArg>,
    /// Short for `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Which leads (the same filters as `leads`).
    #[command(flatten)]
    pub filter: LeadFilterArgs,
    /// Include leads whose trigger no longer fires.
    #[arg(long)]
    pub include_inactive: bool,
    /// At most N leads.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Status and age filters.
    #[command(flatten)]
    pub lifecycle: LifecycleFilterArgs,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
}

/// A workflow status on the command line (mapped to [`Status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Nobody has acted on it yet (every lead starts here).
    New,
    /// The account was contacted.
    Contacted,
    /// The need and budget are confirmed.
    Qualified,
    /// It became an opportunity or order (final).
    Converted,
    /// Not worth pursuing.
    Rejected,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Status {
        match s {
            StatusArg::New => Status::New,
            StatusArg::Contacted => Status::Contacted,
            StatusArg::Qualified => Status::Qualified,
            StatusArg::Converted => Status::Converted,
            StatusArg::Rejected => Status::Rejected,
        }
    }
}

/// Sort orders of the lead queue on the command line (mapped to [`LeadSort`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SortArg {
    /// Highest score first.
    #[default]
    Score,
    /// CRITICAL first, then by score.
    Priority,
    /// Account name A–Z, then by score.
    Account,
    /// Lead type A–Z, then by score.
    Type,
    /// Longest past end of life first.
    DaysPastEol,
}

impl From<SortArg> for LeadSort {
    fn from(s: SortArg) -> LeadSort {
        match s {
            SortArg::Score => LeadSort::Score,
            SortArg::Priority => LeadSort::Priority,
            SortArg::Account => LeadSort::Account,
            SortArg::Type => LeadSort::Type,
            SortArg::DaysPastEol => LeadSort::DaysPastEol,
        }
    }
}

/// Territory orders on the command line (mapped to [`TerritorySort`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum TerritorySortArg {
    /// Territory id A–Z.
    Territory,
    /// Most active leads first (then average score).
    #[default]
    Leads,
    /// Highest average score first.
    Score,
    /// Largest pipeline estimate first.
    Pipeline,
}

impl From<TerritorySortArg> for TerritorySort {
    fn from(s: TerritorySortArg) -> TerritorySort {
        match s {
            TerritorySortArg::Territory => TerritorySort::Territory,
            TerritorySortArg::Leads => TerritorySort::Leads,
            TerritorySortArg::Score => TerritorySort::Score,
            TerritorySortArg::Pipeline => TerritorySort::Pipeline,
        }
    }
}

/// `onelead serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback requires at least one user.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `onelead user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user: asks for a browser password (or reads the first line of stdin when it is not
    /// a terminal) and prints an API token once, as the last line.
    Add(UserAddArgs),
    /// List the users and their roles.
    List(UserListArgs),
    /// Remove a user (their sessions end at once).
    Remove(UserNameArgs),
    /// Issue a new API token (the old one stops working); printed once, as the last line.
    RotateToken(UserNameArgs),
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "lower")]
pub enum RoleArg {
    /// Reads every page and the API.
    Viewer,
    /// Also changes a lead's status and adds notes.
    Rep,
    /// Also assigns owners.
    Manager,
    /// Also manages users.
    Admin,
}

impl From<RoleArg> for crate::auth::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => crate::auth::Role::Viewer,
            RoleArg::Rep => crate::auth::Role::Rep,
            RoleArg::Manager => crate::auth::Role::Manager,
            RoleArg::Admin => crate::auth::Role::Admin,
        }
    }
}

/// `onelead user add`.
#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    /// Login name, also the name the lead history records.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What the user may do: viewers read; reps change status and notes; managers also assign
    /// owners; admins also manage users.
    #[arg(long, value_enum, ignore_case = true)]
    pub role: RoleArg,
    /// Database and config (users live beside the database).
    #[command(flatten)]
    pub db: DbArgs,
}

/// `onelead user list`.
#[derive(Debug, Clone, Args)]
pub struct UserListArgs {
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `onelead user remove` and `rotate-token`.
#[derive(Debug, Clone, Args)]
pub struct UserNameArgs {
    /// The user (any case).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
}
