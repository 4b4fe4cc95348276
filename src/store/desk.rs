//! The desk: the people who use `onelead serve` (users, API tokens, browser sessions), their
//! saved views, and the journal of workflow changes (status, notes, owners) on their way into
//! the lead database.
//!
//! Beside an SQLite lead database it is a second SQLite file (`onelead.db` →
//! `onelead.desk.db`), because SQLite has one write lock per file and a `run` holds the lead
//! database's for its whole transaction — tens of seconds at a million rows. What is written
//! here (a login, a status change) never waits for a run; `store::journal` folds the changes
//! into the lead database as soon as the run lets go. On PostgreSQL the desk's tables are in
//! the lead database itself: row locks do not make a login wait for a run, and the journal's
//! semantics (each change applied exactly once, none lost to a rerun) are the same.
//!
//! The desk's statements ([`DeskSql`]) are written once for both: `$1`, `$2`, … numbered in
//! the order they first appear, no collation (names compare by `lower`), no
//! backend-specific functions.

use std::path::{Path, PathBuf};

use super::Location;
use crate::error::{Error, Result};

/// A value of a desk table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskValue {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl DeskValue {
    /// The integer, or 0.
    pub fn int(&self) -> i64 {
        match self {
            DeskValue::Int(i) => *i,
            _ => 0,
        }
    }

    /// The text, or nothing.
    pub fn opt_text(&self) -> Option<String> {
        match self {
            DeskValue::Text(s) => Some(s.clone()),
            DeskValue::Int(i) => Some(i.to_string()),
            DeskValue::Null => None,
        }
    }

    /// The text, or the empty text.
    pub fn text(&self) -> String {
        self.opt_text().unwrap_or_default()
    }
}

impl From<&str> for DeskValue {
    fn from(s: &str) -> DeskValue {
        DeskValue::Text(s.to_string())
    }
}

impl From<i64> for DeskValue {
    fn from(i: i64) -> DeskValue {
        DeskValue::Int(i)
    }
}

impl From<Option<&str>> for DeskValue {
    fn from(s: Option<&str>) -> DeskValue {
        s.map_or(DeskValue::Null, DeskValue::from)
    }
}

/// A desk database's connection, as a backend keeps it.
pub trait DeskSql: Send {
    /// Runs a statement; returns how many rows it changed.
    fn execute(&self, sql: &str, args: &[DeskValue]) -> Result<u64>;
    /// The rows of a query.
    fn query(&self, sql: &str, args: &[DeskValue]) -> Result<Vec<Vec<DeskValue>>>;
    /// Starts a transaction that holds the journal against every other writer of it until
    /// [`DeskSql::end`].
    fn begin_exclusive(&self) -> Result<()>;
    /// Commits (`true`) or rolls back the transaction [`DeskSql::begin_exclusive`] started.
    fn end(&self, commit: bool) -> Result<()>;
    /// This desk's epoch: tells its journal apart from a desk made again at the same place,
    /// whose `seq` starts over (see `journal::applied`).
    fn epoch(&self) -> Result<String>;
}

/// Where the desk database of the SQLite lead database `db` lives.
pub fn desk_path(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map_or_else(|| "onelead".into(), |s| s.to_string_lossy().into_owned());
    db.with_file_name(format!("{stem}.desk.db"))
}

/// An open desk database.
pub struct Desk {
    pub(crate) sql: Box<dyn DeskSql>,
    label: String,
}

impl Desk {
    /// Opens (creating if needed) the desk of the lead database at `db`.
    pub fn open(db: &Location) -> Result<Desk> {
        match db {
            Location::Sqlite(path) => {
                let path = desk_path(path);
                Ok(Desk {
                    label: path.display().to_string(),
                    sql: super::sqlite::open_desk(&path)?,
                })
            }
            Location::Postgres(url) => Ok(Desk {
                label: url.to_string(),
                sql: super::postgres::open_desk(url, true)?.ok_or_else(|| Error::Database {
                    db: url.to_string(),
                    message: "the desk tables could not be made".into(),
                })?,
            }),
        }
    }

    /// Opens the desk of `db` only if it exists (a lead database nobody served yet has none,
    /// and reading it must not make one).
    pub fn open_if_exists(db: &Location) -> Result<Option<Desk>> {
        match db {
            Location::Sqlite(path) if !desk_path(path).exists() => Ok(None),
            Location::Sqlite(_) => Desk::open(db).map(Some),
            Location::Postgres(url) => {
                Ok(super::postgres::open_desk(url, false)?.map(|sql| Desk {
                    label: url.to_string(),
                    sql,
                }))
            }
        }
    }

    /// Where it is, for messages (a URL without its password).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// This desk's epoch (see [`DeskSql::epoch`]).
    pub(crate) fn epoch(&self) -> Result<String> {
        self.sql.epoch()
    }

    /// Runs `f` in a transaction that holds the journal (see [`DeskSql::begin_exclusive`]):
    /// committed when it returns `Ok`, rolled back otherwise.
    pub(crate) fn exclusive<T>(&self, f: impl FnOnce(&dyn DeskSql) -> Result<T>) -> Result<T> {
        self.sql.begin_exclusive()?;
        match f(&*self.sql) {
            Ok(v) => {
                self.sql.end(true)?;
                Ok(v)
            }
            Err(e) => {
                // The error that ended it is the one to report.
                let _ = self.sql.end(false);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_sits_beside_the_lead_database() {
        assert_eq!(
            desk_path(Path::new("data/onelead.db")),
            Path::new("data/onelead.desk.db")
        );
        assert_eq!(desk_path(Path::new("leads")), Path::new("leads.desk.db"));
    }

    #[test]
    fn opening_twice_keeps_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let db = Location::from(dir.path().join("x.db"));
        assert!(Desk::open_if_exists(&db).unwrap().is_none());
        let a = Desk::open(&db).unwrap().epoch().unwrap();
        let b = Desk::open_if_exists(&db).unwrap().unwrap().epoch().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }
}
