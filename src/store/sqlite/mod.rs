//! The SQLite backend: one file, WAL mode, one write transaction per run.
//!
//! Everything SQLite-specific lives here and below: the schema and its migrations, the bulk
//! paths (prepared inserts, indexes suspended while a table fills, a rollback journal for the
//! first load), row ids, `NOT INDEXED` scans, `data_version` as the change token. The types
//! here implement the traits of [`super::api`] and [`super::read`].

mod accounts;
mod desk;
mod items;
mod leads;
mod load;
mod owners;
mod rescore;
mod runs;
mod schema;
mod snapshots;
#[cfg(test)]
pub mod testdb;
mod texts;
mod views;

pub use desk::open_desk;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::api::{self, ChangeToken, Pending};
use crate::error::{Error, Result};

/// An open database with the schema in place.
pub struct Db {
    /// The connection.
    conn: Connection,
    /// Where it lives, for messages.
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) the database for writing.
    pub fn open(path: &Path) -> Result<Db> {
        Db::open_with(path, true)
    }

    /// `ensure_schema` runs the `CREATE … IF NOT EXISTS` batch and stamps the version even when
    /// the version is current; without it that happens only for an older schema. Views skip it:
    /// stamping `user_version` is a write, and a write waits for a running `run` to commit.
    fn open_with(path: &Path, ensure_schema: bool) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = Connection::open(path).map_err(|e| db_err(path, &e))?;
        let db = Db {
            conn,
            path: path.to_path_buf(),
        };
        db.configure()?;
        let version = user_version(&db.conn).map_err(|e| db_err(path, &e))?;
        newer_check(path, version)?;
        if !ensure_schema && version == schema::SCHEMA_VERSION {
            // A `watch` stopped between committing a save and building the lead indexes again
            // leaves some missing, and a million-lead dashboard then reads every lead (12 s):
            // build them (a write). A database that cannot be written now is answered without.
            if db.lacks_indexes().map_err(|e| db_err(path, &e))? {
                if let Err(e) = db.ensure_schema(version) {
                    tracing::warn!("{}: some indexes are missing ({e})", path.display());
                }
            }
            return Ok(db);
        }
        db.ensure_schema(version)?;
        Ok(db)
    }

    /// True when an index the schema makes is missing.
    fn lacks_indexes(&self) -> rusqlite::Result<bool> {
        let names = serde_json::to_string(&schema::index_names().collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        let present: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master
             WHERE type = 'index' AND name IN (SELECT value FROM json_each(?1))",
            [&names],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(present).unwrap_or(0) < schema::index_names().count())
    }

    /// Migrates a database at schema `version` and runs the `CREATE … IF NOT EXISTS` batch.
    fn ensure_schema(&self, version: i64) -> Result<()> {
        let path = self.path.as_path();
        // One transaction: a migration that fails part way leaves the database as it was.
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| db_err(path, &e))?;
        // A database made by an older onelead (version 0 is a new, empty file).
        if version > 0 {
            tx.execute_batch(&schema::migrations(version))
                .map_err(|e| db_err(path, &e))?;
        }
        tx.execute_batch(schema::create())
            .map_err(|e| db_err(path, &e))?;
        tx.pragma_update(None, "user_version", schema::SCHEMA_VERSION)
            .map_err(|e| db_err(path, &e))?;
        tx.commit().map_err(|e| db_err(path, &e))
    }

    /// Opens an existing database; a missing file says to run `onelead run` first. A database
    /// with the current schema is not written to, so views answer from the last commit while a
    /// run writes (WAL) instead of waiting for it.
    pub fn open_existing(path: &Path) -> Result<Db> {
        exists(path)?;
        Db::open_with(path, false)
    }

    fn configure(&self) -> Result<()> {
        // A 32 MiB page cache (the default is 2 MiB) keeps the hot index pages of a
        // million-row load in memory; it is an upper bound, not an allocation, and changes
        // nothing about durability. Larger buys no speed (first index builds sort with their
        // own small cache, and pages re-read come from the OS's cache) but fills up during a
        // long evaluation beside everything else a run holds: 128 MiB put a second month at
        // 1M rows over the 512 MiB a run may use.
        // WAL lets views read the last committed state while a run writes; the busy timeout
        // makes a second writer wait instead of failing with "database is locked".
        // Temporary storage stays file-backed (the default): with it, SQLite's sorter packs the
        // keys of a CREATE INDEX or GROUP BY into one buffer of up to the cache size and spills
        // beyond that, instead of allocating every key separately with no bound (in memory),
        // which made building an index on a million rows about a quarter slower.
        self.conn
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| db_err(&self.path, &e))?;
        // While a first run holds the file in its rollback journal (see `begin`), the switch to
        // WAL cannot happen; this connection then waits for the run like any reader would.
        if let Err(e) = self.conn.execute_batch("PRAGMA journal_mode = WAL") {
            if !is_busy(&e) {
                return Err(db_err(&self.path, &e));
            }
        }
        self.conn
            .execute_batch(
                "PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA temp_store = FILE; \
                 PRAGMA cache_size = -32768;",
            )
            .map_err(|e| db_err(&self.path, &e))?;
        Ok(())
    }

    /// Starts the run's one write transaction.
    ///
    /// Into a database that holds no rows yet, the transaction runs with a rollback journal
    /// instead of the WAL: new pages need no undo record, so every page is written once, where
    /// the WAL writes it twice (log, then checkpoint at commit: 15 s of a million-row run).
    /// Atomicity is the same — a failed or killed run rolls back to the empty database — and
    /// nothing could be read from the database meanwhile anyway. (With `synchronous = NORMAL`,
    /// a power cut at the wrong moment can cost the file; it held nothing yet.) WAL returns after the
    /// transaction. If another connection holds the database, the switch fails and the run
    /// keeps the WAL.
    pub fn begin(&self) -> Result<SqliteTx<'_>> {
        let fresh: bool = self
            .conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM install_base) AND NOT EXISTS (SELECT 1 FROM leads)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| db_err(&self.path, &e))?;
        let bulk = fresh && set_journal(&self.conn, "TRUNCATE");
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| db_err(&self.path, &e))?;
        let mut tx = SqliteTx {
            conn: &self.conn,
            done: false,
            bulk,
            token: ChangeToken::default(),
            loaded: Vec::new(),
            leads: None,
            types: rescore::Scored::default(),
        };
        // No other connection can commit while this transaction holds the write lock, so this
        // is the version the database has until the commit; our own commits leave it alone.
        tx.token = ChangeToken(data_version(&self.conn)?);
        Ok(tx)
    }

    /// A plain write transaction, waiting at most `wait` for the write lock; `None` when
    /// another connection (a run) still holds it.
    fn begin_within(&self, wait: std::time::Duration) -> Result<Option<SqliteTx<'_>>> {
        self.conn.busy_timeout(wait)?;
        let began = self.conn.execute_batch("BEGIN IMMEDIATE");
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
        match began {
            Ok(()) => {}
            Err(e) if is_busy(&e) => return Ok(None),
            Err(e) => return Err(db_err(&self.path, &e)),
        }
        let mut tx = SqliteTx {
            conn: &self.conn,
            done: false,
            bulk: false,
            token: ChangeToken::default(),
            loaded: Vec::new(),
            leads: None,
            types: rescore::Scored::default(),
        };
        tx.token = ChangeToken(data_version(&self.conn)?);
        Ok(Some(tx))
    }

    /// Copies what the WAL holds into the database, as far as readers allow.
    fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(|e| db_err(&self.path, &e))
    }
}

impl api::Backend for Db {
    /// SQLite has one writer at a time: every kind of transaction takes the write lock.
    fn begin(&mut self, _kind: api::TxKind) -> Result<Box<dyn api::WriteTx + '_>> {
        Ok(Box::new(Db::begin(self)?))
    }

    fn begin_within(
        &mut self,
        wait: std::time::Duration,
    ) -> Result<Option<Box<dyn api::WriteTx + '_>>> {
        Ok(Db::begin_within(self, wait)?.map(|t| Box::new(t) as Box<dyn api::WriteTx + '_>))
    }

    fn reader(&self) -> Result<super::Reader> {
        Ok(super::Reader::new(Box::new(Reader::open(&self.path)?)))
    }

    /// Leaves WAL checkpoints to [`api::Backend::compact`]: `watch` copies the log into the
    /// database after printing its report instead of inside the commit (half a second of each
    /// save at 100k items).
    fn defer_housekeeping(&mut self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(|e| db_err(&self.path, &e))
    }

    fn finish(&mut self, pending: &Pending) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        leads::finish_indexes(&tx, std::slice::from_ref(&pending.0))?;
        Ok(tx.commit()?)
    }

    fn compact(&mut self) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        texts::sweep_texts(&tx, texts::SWEEP_SLACK)?;
        tx.commit()?;
        self.checkpoint()
    }

    fn work_queue(&self) -> Result<Box<dyn api::WorkQueue + Send>> {
        Err(no_workers())
    }

    fn claim(&mut self, _work: Option<i64>) -> Result<Option<Box<dyn api::Claim + '_>>> {
        Err(no_workers())
    }

    fn open_parts(&mut self, _work: Option<i64>) -> Result<usize> {
        Err(no_workers())
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Worker processes on other machines cannot reach an SQLite file.
fn no_workers() -> Error {
    Error::Usage(
        "worker processes need a database they can all reach: give `--db postgres://…`".into(),
    )
}

/// The one write transaction of a run. Dropped without [`SqliteTx::commit`], it rolls back.
pub struct SqliteTx<'c> {
    /// The connection inside the transaction.
    conn: &'c Connection,
    done: bool,
    /// Running with a rollback journal (see [`Db::begin`]): WAL returns at the end.
    bulk: bool,
    token: ChangeToken,
    /// The indexes a load suspended, with their tables (see [`load::defer_indexes`]).
    loaded: Vec<(&'static str, String)>,
    /// The lead writer of the evaluation under way.
    leads: Option<leads::Writer>,
    /// The lead types re-scoring has read so far.
    types: rescore::Scored,
}

impl SqliteTx<'_> {
    /// Makes everything written durable; returns the database's change token after it.
    pub fn commit(mut self) -> Result<ChangeToken> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        if !std::mem::take(&mut self.bulk) {
            return Ok(self.token);
        }
        // Failing here leaves the rollback journal until the next open, which sets WAL.
        set_journal(self.conn, "WAL");
        // Leaving a first load's rollback journal moves the version for this connection too.
        Ok(ChangeToken(data_version(self.conn)?))
    }
}

impl api::WriteTx for SqliteTx<'_> {
    fn token(&self) -> ChangeToken {
        self.token
    }

    fn commit(self: Box<Self>) -> Result<ChangeToken> {
        SqliteTx::commit(*self)
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing useful can be done if the rollback itself fails: SQLite discards the
            // uncommitted transaction when the connection closes anyway.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if self.bulk {
            // Failing here leaves the rollback journal until the next open, which sets WAL.
            set_journal(self.conn, "WAL");
        }
    }
}

/// A read-only connection for the views: no schema work, no journal switch, and
/// `query_only`, so nothing it runs can write.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens an existing database with the current schema for reading.
    pub fn open(path: &Path) -> Result<Reader> {
        Reader::open_with_cache(path, 131_072)
    }

    /// [`Reader::open`] with a page cache of `kib` KiB.
    pub fn open_with_cache(path: &Path, kib: i64) -> Result<Reader> {
        exists(path)?;
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| db_err(path, &e))?;
        // The busy timeout makes a view opened during a first run (which holds the file in its
        // rollback journal) wait for it instead of failing; the cache as the writer's.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| db_err(path, &e))?;
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{kib};"
        ))
        .map_err(|e| db_err(path, &e))?;
        let version = user_version(&conn).map_err(|e| db_err(path, &e))?;
        newer_check(path, version)?;
        if version < schema::SCHEMA_VERSION {
            return Err(Error::Database {
                db: path.display().to_string(),
                message: format!(
                    "schema version {version} is older than this onelead's ({}); \
                     run `onelead run` to bring it up to date",
                    schema::SCHEMA_VERSION
                ),
            });
        }
        Ok(Reader { conn })
    }
}

/// An error unless `path` exists.
fn exists(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    Err(Error::Database {
        db: path.display().to_string(),
        message: "no such database; run `onelead run` first".into(),
    })
}

/// An error when a newer onelead made the database.
fn newer_check(path: &Path, version: i64) -> Result<()> {
    if version > schema::SCHEMA_VERSION {
        return Err(Error::Database {
            db: path.display().to_string(),
            message: format!(
                "schema version {version} is newer than this onelead understands ({})",
                schema::SCHEMA_VERSION
            ),
        });
    }
    Ok(())
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// SQLite's `data_version`: it moves when another connection commits (and when this one
/// changes the journal mode).
fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// Sets the journal mode; false when SQLite kept the old one (another connection is open).
fn set_journal(conn: &Connection, mode: &str) -> bool {
    conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| {
        r.get::<_, String>(0)
    })
    .is_ok_and(|m| m.eq_ignore_ascii_case(mode))
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(e.to_string())
    }
}

fn db_err(path: &Path, e: &rusqlite::Error) -> Error {
    let message = if is_busy(e) {
        "it is locked by another onelead that is writing it (a first run into an empty \
         database holds it until it ends); try again when that has finished"
            .to_string()
    } else {
        e.to_string()
    };
    Error::Database {
        db: path.display().to_string(),
        message,
    }
}

#[cfg(test)]
mod journal_tests {
    use super::*;
    use Db as Store;

    fn mode(conn: &Connection) -> String {
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    }

    fn rows(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM install_base", [], |r| r.get(0))
            .unwrap()
    }

    const ROW: &str =
        "INSERT INTO install_base (source_file, source_sheet, source_row) VALUES ('f', 's', 1)";

    #[test]
    fn a_first_run_uses_a_rollback_journal_and_leaves_the_wal_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("j.db")).unwrap();
        assert_eq!(mode(&store.conn), "wal");
        // Failed first run: rolled back to empty, back in WAL.
        let tx = store.begin().unwrap();
        assert_eq!(mode(tx.conn), "truncate");
        tx.conn.execute_batch(ROW).unwrap();
        drop(tx);
        assert_eq!((mode(&store.conn), rows(&store.conn)), ("wal".into(), 0));
        // Committed first run.
        let tx = store.begin().unwrap();
        assert_eq!(mode(tx.conn), "truncate");
        tx.conn.execute_batch(ROW).unwrap();
        tx.commit().unwrap();
        assert_eq!((mode(&store.conn), rows(&store.conn)), ("wal".into(), 1));
        // A database with rows keeps the WAL, so views can read while a run writes.
        let tx = store.begin().unwrap();
        assert_eq!(mode(tx.conn), "wal");
    }

    #[test]
    fn a_view_opened_during_a_first_run_does_not_fail_on_the_journal_switch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let store = Store::open(&path).unwrap();
        let tx = store.begin().unwrap();
        assert_eq!(mode(tx.conn), "truncate");
        tx.conn.execute_batch(ROW).unwrap();
        // The view cannot switch the file to WAL while the run holds it; it opens anyway and
        // reads the last committed state (empty).
        let view = Store::open_existing(&path).unwrap();
        assert_eq!(rows(&view.conn), 0);
        drop(view);
        tx.commit().unwrap();
        assert_eq!(mode(&store.conn), "wal");
    }
}

#[cfg(test)]
mod migration_tests {
    use super::views::query;
    use super::*;
    use Db as Store;

    /// `watch` builds the lead indexes it dropped after printing its report; stopped before,
    /// it leaves them missing. A view's open builds them again; a current database that has
    /// them all is not written to.
    #[test]
    fn a_view_builds_the_indexes_a_stopped_watch_left_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let index_count = |s: &Store| -> i64 {
            s.conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let all = index_count(&Store::open(&path).unwrap());
        let names: Vec<&str> = schema::index_names().collect();
        assert!(
            names.contains(&"leads_kind") && names.contains(&"ib_account"),
            "{names:?}"
        );
        let changes = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA data_version", [], |r| r.get(0))
                .unwrap()
        };
        let view = Store::open_existing(&path).unwrap();
        let before = changes(&view);
        Store::open_existing(&path).unwrap();
        assert_eq!(
            changes(&view),
            before,
            "a view wrote to a complete database"
        );
        Store::open(&path)
            .unwrap()
            .conn
            .execute_batch("DROP INDEX leads_kind; DROP INDEX leads_mix")
            .unwrap();
        assert_eq!(index_count(&Store::open_existing(&path).unwrap()), all);
    }

    #[test]
    fn a_version_1_database_gains_the_columns_added_since() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            let v1 = schema::v4_create()
                .replace("    estimated_value      REAL,\n", "")
                .replace("    fingerprint          INTEGER,\n", "");
            let v1 = v1.split("-- Covering indexes").next().unwrap().to_string()
                + "CREATE INDEX IF NOT EXISTS leads_territory ON leads(territory_id);";
            conn.execute_batch(&v1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let store = Store::open_existing(&path).unwrap();
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::SCHEMA_VERSION);
        let has: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('leads')
                 WHERE name IN ('estimated_value', 'fingerprint')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has, 2);
    }

    /// The indexes a version-2 database has that version 3 replaced, and the ones it added.
    const V2_ONLY: [&str; 4] = ["opp_account", "leads_account", "leads_type", "leads_family"];
    const V3_ONLY: [&str; 4] = [
        "leads_mix",
        "leads_account_score",
        "opp_account_id",
        "accounts_territory",
    ];

    fn indexes(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_view_on_a_version_2_database_gets_the_version_3_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap();
            // Version 2 had no `fingerprint` column (version 3 adds it with the indexes).
            let v2 = schema::v4_create().replace("    fingerprint          INTEGER,\n", "");
            conn.execute_batch(&v2).unwrap();
            conn.execute_batch(
                "DROP INDEX leads_mix; DROP INDEX leads_account_score; DROP INDEX opp_account_id;
                 DROP INDEX accounts_territory;
                 CREATE INDEX opp_account ON opportunities(account_id);
                 CREATE INDEX leads_account ON leads(account_id);
                 CREATE INDEX leads_type ON leads(active, lead_type, priority);
                 CREATE INDEX leads_family ON leads(active, product_family);",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            let before = indexes(&conn);
            assert!(V2_ONLY.iter().all(|i| before.iter().any(|b| b == i)));
        }
        let store = Store::open_existing(&path).unwrap();
        let after = indexes(&store.conn);
        for i in V3_ONLY {
            assert!(after.iter().any(|a| a == i), "{i} missing: {after:?}");
        }
        for i in V2_ONLY {
            assert!(!after.iter().any(|a| a == i), "{i} left: {after:?}");
        }
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::SCHEMA_VERSION);
    }

    #[test]
    fn a_version_3_lead_keeps_only_its_triggers_reasons_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        let factors = r#"{"urgency":{"value":80.0,"weight":0.5,"contribution":40.0,
            "reasons":["base 50","EOL (+30)"]},"value":{"value":50.0,"weight":0.5,
            "contribution":25.0,"reasons":["base 50"]}}"#;
        let full = r#"["trigger one","trigger two","urgency: base 50","urgency: EOL (+30)",
            "value: base 50"]"#;
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&schema::v4_create()).unwrap();
            conn.execute(
                "INSERT INTO leads (lead_id, lead_type, rule, install_base_id, title, description,
                   recommended_action, score, priority, factors, reasons, recommended_services,
                   recommended_skus, extra, fingerprint, created_at, updated_at, run_id)
                 VALUES ('L1', 'T', 'r', 1, 't', 'd', 'a', 65, 'HIGH', ?1, ?2, '[]', '', '{}', 7,
                   'x', 'x', 1)",
                [factors, full],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 3).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let (stored, fingerprint): (String, Option<i64>) = store
            .conn
            .query_row("SELECT reasons, fingerprint FROM leads", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(stored, r#"["trigger one","trigger two"]"#);
        assert_eq!(fingerprint, None);
        let lead = store
            .conn
            .query_row(
                &format!(
                    "SELECT {} FROM leads l LEFT JOIN accounts a USING (account_id)",
                    query::lead_columns()
                ),
                [],
                query::lead_from_row,
            )
            .unwrap();
        let expected: Vec<String> = serde_json::from_str(full).unwrap();
        assert_eq!(lead.reasons, expected);
    }

    fn read_leads(conn: &Connection) -> Vec<crate::model::lead::Lead> {
        // A database older than version 6 has no `owner`.
        let has_owner: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('leads') WHERE name = 'owner')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let columns = if has_owner {
            query::lead_columns().to_string()
        } else {
            query::lead_columns().replace("l.owner", "NULL")
        };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {columns} FROM leads l LEFT JOIN accounts a USING (account_id)
                 ORDER BY l.lead_id"
            ))
            .unwrap();
        stmt.query_map([], query::lead_from_row)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    const V4_LEAD: &str = "INSERT INTO leads (lead_id, lead_type, rule, install_base_id,
        serial_number, product_name, product_family, account_id, territory_id, title, description,
        recommended_action, score, priority, factors, reasons, recommended_services,
        recommended_skus, days_since_eol, extra, estimated_value, fingerprint, status, active,
        closed_reason, created_at, updated_at, run_id)
      VALUES (?1, 'Renewal', 'renewal', 3, 'SN1', 'DL380', 'COMPUTE', 'A1', '56088', ?2, ?3,
        'Call them', 65, 'HIGH', ?4,
        '[\"support ended\"]', '[{\"service\":\"Care\",\"skus\":[\"H1\"],\"priority\":2,\"product\":\"Servers\"}]',
        'H1', 400, '{\"estimated_value\":10.5}', 10.5, ?5, 'contacted', ?6, NULL, 'c', 'u', 4)";

    #[test]
    fn a_version_4_database_splits_its_leads_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        let factors = [
            r#"{"urgency":{"value":80.0,"weight":0.5,"contribution":40.0,"reasons":["EOL (+30)"]},"value":{"value":50.0,"weight":0.5,"contribution":25.0,"reasons":["base 50"]}}"#,
            r#"{"urgency":{"value":80.0,"weight":0.5,"contribution":40.0,"reasons":["EOL (+30)"]},"value":{"value":60.0,"weight":0.5,"contribution":30.0,"reasons":["base 60"]}}"#,
        ];
        let before = {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&schema::v4_create()).unwrap();
            for (i, f) in factors.iter().enumerate() {
                conn.execute(
                    V4_LEAD,
                    rusqlite::params![
                        format!("L{i}"),
                        "Renew",
                        format!("d{i}"),
                        f,
                        7 + i as i64,
                        i == 0
                    ],
                )
                .unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            read_leads(&conn)
        };
        let store = Store::open_existing(&path).unwrap();
        let conn = &store.conn;
        assert_eq!(read_leads(conn), before);
        let kind: String = conn
            .query_row(
                "SELECT type FROM sqlite_master WHERE name = 'leads'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kind, "view");
        // Title, action, reasons and services shared; three distinct factor outcomes.
        let texts: i64 = conn
            .query_row("SELECT count(*) FROM lead_texts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(texts, 7);
        // The status stands; the fingerprint, hashed differently since, is cleared.
        let kept: (Option<i64>, String) = conn
            .query_row(
                "SELECT fingerprint, status FROM lead_rows WHERE lead_id = 'L1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(kept, (None, "contacted".into()));
        for index in [
            "leads_score_id",
            "leads_priority_score",
            "leads_mix",
            "leads_rollup",
            "leads_account_score",
        ] {
            let on: String = conn
                .query_row(
                    "SELECT tbl_name FROM sqlite_master WHERE name = ?1",
                    [index],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(on, "lead_rows", "{index}");
        }
    }

    #[test]
    fn a_version_5_database_gains_the_owner_and_its_index_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        let factors =
            r#"{"urgency":{"value":80.0,"weight":1.0,"contribution":80.0,"reasons":["EOL"]}}"#;
        let before = {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&schema::v5_create()).unwrap();
            conn.execute(
                V4_LEAD,
                rusqlite::params!["L1", "Renew", "d", factors, 1, true],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 5).unwrap();
            read_leads(&conn)
        };
        assert_eq!(before.len(), 1);
        let store = Store::open_existing(&path).unwrap();
        let conn = &store.conn;
        assert_eq!(read_leads(conn), before);
        // The view is made again with the owner, and writes through it reach `lead_rows`.
        conn.execute_batch("UPDATE leads SET owner = 'ana' WHERE lead_id = 'L1'")
            .unwrap();
        let owner: Option<String> = conn
            .query_row("SELECT owner FROM lead_rows", [], |r| r.get(0))
            .unwrap();
        assert_eq!(owner.as_deref(), Some("ana"));
        let index: String = conn
            .query_row(
                "SELECT tbl_name FROM sqlite_master WHERE name = 'leads_owner'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(index, "lead_rows");
        // And, as version 7 has it, the install base keyed by asset.
        let keyed: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'ib_asset'
                 AND sql LIKE '%install_base(asset_key, product_id)%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(keyed, 1);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::SCHEMA_VERSION);
    }

    #[test]
    fn a_users_own_writes_to_the_leads_view_reach_the_lead_tables() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.db")).unwrap();
        let conn = &store.conn;
        let factors =
            r#"{"urgency":{"value":80.0,"weight":1.0,"contribution":80.0,"reasons":["EOL"]}}"#;
        conn.execute(
            V4_LEAD,
            rusqlite::params!["L1", "Renew", "d", factors, 1, true],
        )
        .unwrap();
        let lead = read_leads(conn).remove(0);
        assert_eq!(
            (lead.title.as_str(), lead.score, lead.status.as_str()),
            ("Renew", 65.0, "contacted")
        );
        assert_eq!(
            lead.factors["urgency"].reasons.as_ref(),
            ["EOL".to_string()]
        );
        assert_eq!(lead.recommended_services[0].service, "Care");
        conn.execute_batch(
            "UPDATE leads SET title = 'Renew now', status = 'won', score = 70 WHERE lead_id = 'L1'",
        )
        .unwrap();
        let lead = read_leads(conn).remove(0);
        assert_eq!(
            (lead.title.as_str(), lead.score, lead.status.as_str()),
            ("Renew now", 70.0, "won")
        );
        assert_eq!(lead.factors["urgency"].value, 80.0);
        conn.execute_batch("DELETE FROM leads WHERE lead_id = 'L1'")
            .unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM lead_rows", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }
}
