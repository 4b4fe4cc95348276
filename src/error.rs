//! The crate's one error type. Library code returns `Error`; `lib::run` renders it once on stderr
//! and maps it to an exit code (0 ok, 1 data/rule/runtime error, 2 usage).

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, named by what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A workbook or CSV file is unreadable as a whole (corrupt, encrypted, wrong format).
    #[error("cannot open `{path}`: {message}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
    /// A sheet or CSV file has content we cannot load (wrong columns, nothing recognisable).
    #[error("{location}: {message}")]
    BadInput {
        /// `file`, `file [sheet]`, or `file [sheet] row N, column C`.
        location: String,
        /// What is wrong, lowercase.
        message: String,
    },
    /// The YAML configuration is invalid; the message already carries `file:line:col`.
    #[error("{0}")]
    Config(String),
    /// One or more rule scripts failed to compile or validate; each string is a rendered
    /// diagnostic, shown with a blank line between them.
    #[error("{}", .0.join("\n\n"))]
    Rules(Vec<String>),
    /// A rule failed while being evaluated; the message is a rendered diagnostic.
    #[error("{0}")]
    RuleRuntime(String),
    /// The database is missing, locked, unreachable or malformed.
    #[error("database `{db}`: {message}")]
    Database {
        /// The database file, or its URL without the password.
        db: String,
        /// What went wrong.
        message: String,
    },
    /// A database error the store has no more specific words for (SQLite's message).
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// A PostgreSQL error the store has no more specific words for (the server's message).
    #[error("postgres: {0}")]
    Postgres(String),
    /// A user asked for something that does not exist (lead id, account, ...).
    #[error("{0}")]
    NotFound(String),
    /// Bad command-line usage detected after parsing (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An output file could not be written (the report, ...).
    #[error("cannot write `{path}`: {source}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An e-mail could not be built or sent; the message names the server and the recipient.
    #[error("{0}")]
    Mail(String),
    /// Writing output failed (a closed pipe is handled before this).
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

impl Error {
    /// The process exit code for this error: 2 for usage, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// True when the error is only a closed stdout (e.g. `onelead leads | head -1`): exit quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// Shorthand for an I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Renders the error for stderr. Diagnostics that already start with `error:` are kept as is.
    pub fn render(&self) -> String {
        let text = self.to_string();
        if text.starts_with("error:") {
            text
        } else {
            format!("error: {text}")
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Output(e)
    }
}
