//! The desk database on SQLite: a file of its own beside the lead database (see
//! `store::desk`).

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};

use crate::error::{Error, Result};
use crate::store::desk::{DeskSql, DeskValue};

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

/// An open desk file.
struct SqliteDesk {
    conn: Connection,
    path: PathBuf,
}

/// Opens (creating if needed) the desk file at `path`.
pub fn open_desk(path: &Path) -> Result<Box<dyn DeskSql>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let conn = Connection::open(path).map_err(|e| desk_err(path, &e))?;
    let desk = SqliteDesk {
        conn,
        path: path.to_path_buf(),
    };
    desk.configure()?;
    Ok(Box::new(desk))
}

impl SqliteDesk {
    fn configure(&self) -> Result<()> {
        let err = |e: rusqlite::Error| self.err(&e);
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
                db: self.path.display().to_string(),
                message: format!(
                    "desk schema version {version} is newer than this onelead understands \
                     ({DESK_VERSION})"
                ),
            });
        }
        if version < DESK_VERSION {
            let epoch = crate::auth::new_secret()?;
            let tx = self.conn.unchecked_transaction().map_err(err)?;
            tx.execute_batch(CREATE).map_err(err)?;
            tx.execute(
                "INSERT OR IGNORE INTO desk_meta (key, value) VALUES ('epoch', ?1)",
                [epoch],
            )
            .map_err(err)?;
            tx.pragma_update(None, "user_version", DESK_VERSION)
                .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    fn err(&self, e: &rusqlite::Error) -> Error {
        desk_err(&self.path, e)
    }
}

fn bind(args: &[DeskValue]) -> Vec<Value> {
    args.iter()
        .map(|a| match a {
            DeskValue::Null => Value::Null,
            DeskValue::Int(i) => Value::Integer(*i),
            DeskValue::Text(s) => Value::Text(s.clone()),
        })
        .collect()
}

fn value(v: ValueRef<'_>) -> DeskValue {
    match v {
        ValueRef::Null | ValueRef::Blob(_) | ValueRef::Real(_) => DeskValue::Null,
        ValueRef::Integer(i) => DeskValue::Int(i),
        ValueRef::Text(t) => DeskValue::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

impl DeskSql for SqliteDesk {
    fn execute(&self, sql: &str, args: &[DeskValue]) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(bind(args))))
            .map_err(|e| self.err(&e))?;
        Ok(n as u64)
    }

    fn query(&self, sql: &str, args: &[DeskValue]) -> Result<Vec<Vec<DeskValue>>> {
        let run = || -> rusqlite::Result<Vec<Vec<DeskValue>>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let n = stmt.column_count();
            let mut rows = stmt.query(rusqlite::params_from_iter(bind(args)))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(
                    (0..n)
                        .map(|i| r.get_ref(i).map(value))
                        .collect::<rusqlite::Result<_>>()?,
                );
            }
            Ok(out)
        };
        run().map_err(|e| self.err(&e))
    }

    fn begin_exclusive(&self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(&e))
    }

    fn end(&self, commit: bool) -> Result<()> {
        self.conn
            .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })
            .map_err(|e| self.err(&e))
    }

    fn epoch(&self) -> Result<String> {
        self.conn
            .query_row("SELECT value FROM desk_meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(&e))
    }
}

fn desk_err(path: &Path, e: &rusqlite::Error) -> Error {
    Error::Database {
        db: path.display().to_string(),
        message: e.to_string(),
    }
}
