//! Flags that take lists of workflow statuses or of asset changes, and `onelead changes`.

use clap::{Args, ValueEnum};

use super::{DbArgs, FormatArgs};
use crate::model::snapshot::Change;
use crate::store::read::Statuses;

/// A status filter on the command line: a status, `open` work or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilterArg {
    /// New, contacted and qualified.
    Open,
    /// Every status.
    All,
    /// Nobody has acted on it yet.
    New,
    /// The account was contacted.
    Contacted,
    /// The need and budget are confirmed.
    Qualified,
    /// It became an opportunity or order.
    Converted,
    /// Not worth pursuing.
    Rejected,
}

impl StatusFilterArg {
    /// The lead lists' status filter these flags ask for (none given: open work).
    pub fn statuses(args: &[StatusFilterArg]) -> Statuses {
        if args.is_empty() || args == [StatusFilterArg::Open] {
            return Statuses::Open;
        }
        if args.contains(&StatusFilterArg::All) {
            return Statuses::Any;
        }
        let mut names: Vec<String> = Vec::new();
        for a in args {
            let add: &[&str] = match a {
                StatusFilterArg::Open => &Statuses::OPEN,
                StatusFilterArg::All => &[],
                StatusFilterArg::New => &["new"],
                StatusFilterArg::Contacted => &["contacted"],
                StatusFilterArg::Qualified => &["qualified"],
                StatusFilterArg::Converted => &["converted"],
                StatusFilterArg::Rejected => &["rejected"],
            };
            for s in add {
                if !names.iter().any(|n| n == s) {
                    names.push((*s).to_string());
                }
            }
        }
        Statuses::Only(names)
    }
}

/// A kind of asset change on the command line (mapped to [`Change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangeArg {
    /// New in the install base (or back).
    Arrived,
    /// No longer in the install base.
    Left,
    /// Another support status.
    SupportStatus,
    /// Another coverage class (covered, expired, uncovered, unknown).
    Coverage,
}

impl From<ChangeArg> for Change {
    fn from(c: ChangeArg) -> Change {
        match c {
            ChangeArg::Arrived => Change::Arrived,
            ChangeArg::Left => Change::Left,
            ChangeArg::SupportStatus => Change::SupportStatus,
            ChangeArg::Coverage => Change::Coverage,
        }
    }
}

/// `onelead changes`.
#[derive(Debug, Clone, Args)]
pub struct ChangesArgs {
    /// The install-base snapshot to list [default: the latest].
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<i64>,
    /// Only these changes; repeat the flag or give a comma list (`arrived,left`).
    #[arg(long, value_enum, value_delimiter = ',', ignore_case = true)]
    pub change: Vec<ChangeArg>,
    /// At most N changes.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Database and config.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[command(flatten)]
    pub format: FormatArgs,
}
