//! The desk database: the people who use `onelead serve` (users, API tokens, browser sessions),
//! their saved views, and the journal of workflow changes (status, notes, owners) on their way
//! into the lead database.
//!
//! It is a second SQLite file beside the lead database (`onelead.db` → `onelead.desk.db`)
//! because SQLite has one write lock per file and a `run` holds the lead database's for its
//! whole transaction — tens of seconds at a million rows. What is written here (a login, a
//! status change) never waits for a run; `store::journal` folds the changes into the lead
//! database as soon as the run lets go. On PostgreSQL these are tables like any other: row
//! locks do not make a login wait for a run.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Bumped when the desk schema changes; stored in `PRAGMA user_version`.
const DESK_VERSION: i64 = 1;

const CREATE: &str = r"
CREATE TABLE IF NOT EXISTS users (
    user_id          INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role             TEXT NOT NULL CHECK (role IN ('viewer', 'rep', 'manager', 'admin')),
    -- argon2id PHC string
    password_hash    TEXT NOT NULL,
    -- SHA-256 of the API token
    token_hash       TEXT NOT NULL UNIQUE,
    created_at       TEXT NOT NULL,
    token_at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    -- SHA-256 of the cookie's session id
    id_hash          TEXT PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    csrf             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS saved_views (
    user_id          INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    query            TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
-- Workflow changes not yet in the lead database, in the order they were made. `seq` is never
-- reused (AUTOINCREMENT): the lead database remembers the last one it took.
CREATE TABLE IF NOT EXISTS journal (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    at               TEXT NOT NULL,
    by               TEXT NOT NULL,
    change           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_leads (
    seq              INTEGER NOT NULL REFERENCES journal(seq) ON DELETE CASCADE,
    lead_id          TEXT NOT NULL,
    from_value       TEXT,
    PRIMARY KEY (seq, lead_id)
);
CREATE INDEX IF NOT EXISTS journal_lead ON journal_leads(lead_id, seq);
CREATE TABLE IF NOT EXISTS desk_meta (
    key              TEXT PRIMARY KEY,
    value            TEXT NOT NULL
);
";

/// Where the desk database of the lead database `db` lives.
pub fn desk_path(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map_or_else(|| "onelead".into(), |s| s.to_string_lossy().into_owned());
    db.with_file_name(format!("{stem}.desk.db"))
}

/// An open desk database.
pub struct Desk {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl Desk {
    /// Opens (creating if needed) the desk database of the lead database `db`.
    pub fn open(db: &Path) -> Result<Desk> {
        let path = desk_path(db);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = Connection::open(&path).map_err(|e| desk_err(&path, &e))?;
        let desk = Desk { conn, path };
        desk.configure()?;
        Ok(desk)
    }

    /// Opens the desk database of `db` only if it exists (a lead database nobody served yet
    /// has none, and reading it must not create one).
    pub fn open_if_exists(db: &Path) -> Result<Option<Desk>> {
        if desk_path(db).exists() {
            Desk::open(db).map(Some)
        } else {
            Ok(None)
        }
    }

    fn configure(&self) -> Result<()> {
        let err = |e: rusqlite::Error| desk_err(&self.path, &e);
        // Every write here is a few rows; waiting a few seconds for another server's or a
        // `onelead user` command's write is far better than failing.
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(err)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if version > DESK_VERSION {
            return Err(Error::Database {
                path: self.path.clone(),
                message: format!(
                    "desk schema version {version} is newer than this onelead understands \
                     ({DESK_VERSION})"
                ),
            });
        }
        if version < DESK_VERSION {
            let tx = self.conn.unchecked_transaction().map_err(err)?;
            tx.execute_batch(CREATE).map_err(err)?;
            // Tells this desk's journal apart from a desk made again at the same path, whose
            // `seq` starts over (see `journal::applied`).
            tx.execute(
                "INSERT OR IGNORE INTO desk_meta (key, value) VALUES ('epoch', ?1)",
                [crate::auth::new_secret()?],
            )
            .map_err(err)?;
            tx.pragma_update(None, "user_version", DESK_VERSION)
                .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// The file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This desk's epoch (see [`Desk::configure`]).
    pub(crate) fn epoch(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM desk_meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })?)
    }
}

pub(crate) fn desk_err(path: &Path, e: &rusqlite::Error) -> Error {
    Error::Database {
        path: path.to_path_buf(),
        message: e.to_string(),
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
        let db = dir.path().join("x.db");
        assert!(Desk::open_if_exists(&db).unwrap().is_none());
        let a = Desk::open(&db).unwrap().epoch().unwrap();
        let b = Desk::open_if_exists(&db).unwrap().unwrap().epoch().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }
}
