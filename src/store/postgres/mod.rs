//! The PostgreSQL backend: a team's shared database, reached with the sync `postgres` crate.
//!
//! Everything PostgreSQL-specific lives here and below: the schema and its version table, the
//! bulk paths (binary `COPY` for loads and new leads, a staged `UPDATE … FROM` for rewritten
//! ones), the change counter that stands in for SQLite's `data_version`, and the locks that let
//! several processes write at once. Runs take an advisory lock, so two runs follow one
//! another as on SQLite; status changes take only their leads' row locks, so they neither wait
//! for a run nor get lost. The types here implement the traits of [`super::api`] and
//! [`super::read`].

mod accounts;
mod copy;
mod desk;
mod items;
pub(super) mod lead_columns;
mod leads;
mod load;
mod owners;
mod rescore;
mod runs;
mod schema;
mod snapshots;
#[cfg(test)]
pub mod testdb;
#[cfg(test)]
#[path = "../../../tests/support/pg.rs"]
pub mod testpg;
#[cfg(test)]
mod tests;
mod views;
mod work;

use std::time::Duration;

use postgres::{Client, NoTls, Transaction};

use super::api::{self, ChangeToken, Pending, TxKind};
use super::location::PgUrl;
use crate::error::{Error, Result};
pub use desk::open_desk;

/// The advisory lock a run holds for its whole transaction: runs follow one another.
const RUN_LOCK: i64 = 0x6f6e_656c_6561_6401;
/// The advisory lock writers hold shared until they commit, and a run takes exclusively for an
/// instant as it begins: it then knows every change counted before it is committed.
const CHANGE_LOCK: i64 = 0x6f6e_656c_6561_6402;
/// The advisory lock schema creation and upgrades hold: processes opening a new database at
/// the same moment create it once.
const SCHEMA_LOCK: i64 = 0x6f6e_656c_6561_6403;

/// An open database with the schema in place.
pub struct Db {
    client: Client,
    url: PgUrl,
}

impl Db {
    /// Connects and creates or upgrades the schema.
    pub fn open(url: &PgUrl) -> Result<Db> {
        let mut db = Db {
            client: connect(url)?,
            url: url.clone(),
        };
        let version = schema_version(&mut db.client).map_err(|e| db_err(url, &e))?;
        newer_check(url, version)?;
        if version != Some(schema::SCHEMA_VERSION) {
            db.ensure_schema()?;
        }
        Ok(db)
    }

    /// Connects to a database onelead has written before; one without onelead's tables says
    /// to run `onelead run` first. An older schema is brought up to date; a current one is not
    /// written to.
    pub fn open_existing(url: &PgUrl) -> Result<Db> {
        let mut db = Db {
            client: connect(url)?,
            url: url.clone(),
        };
        let version = schema_version(&mut db.client).map_err(|e| db_err(url, &e))?;
        newer_check(url, version)?;
        match version {
            None => Err(missing(url)),
            Some(v) if v == schema::SCHEMA_VERSION => Ok(db),
            Some(_) => {
                db.ensure_schema()?;
                Ok(db)
            }
        }
    }

    /// Runs the migrations the database needs and the `CREATE … IF NOT EXISTS` batch, in one
    /// transaction under the schema lock. Only for a new or older schema: the batch replaces
    /// the view and the triggers, which locks out readers for that instant.
    fn ensure_schema(&mut self) -> Result<()> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(|e| db_err(&url, &e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(|e| db_err(&url, &e))?;
        // Another process may have done it while this one waited for the lock.
        let version = schema_version_in(&mut tx).map_err(|e| db_err(&url, &e))?;
        newer_check(&url, version)?;
        if version == Some(schema::SCHEMA_VERSION) {
            return Ok(());
        }
        if let Some(v) = version {
            for (from, sql) in schema::MIGRATIONS {
                if v <= *from {
                    tx.batch_execute(sql).map_err(|e| db_err(&url, &e))?;
                }
            }
        }
        tx.batch_execute(&schema::create())
            .map_err(|e| db_err(&url, &e))?;
        tx.batch_execute(&format!(
            "DELETE FROM onelead_schema; INSERT INTO onelead_schema VALUES ({})",
            schema::SCHEMA_VERSION
        ))
        .map_err(|e| db_err(&url, &e))?;
        tx.commit().map_err(|e| db_err(&url, &e))
    }

    /// Starts a write transaction (see [`TxKind`]).
    ///
    /// The change token: a run waits an instant for every writer that counted a change before
    /// it to commit (the change lock, taken and given back), then reads the counter. Its commit
    /// moves the counter once and returns that value when nobody else moved it meanwhile,
    /// otherwise a value no later read can equal. A later transaction that reads the same
    /// value knows that nothing was written since.
    pub fn begin(&mut self, kind: TxKind) -> Result<PgTx<'_>> {
        let tx = self.begin_waiting(kind, None)?;
        tx.ok_or_else(|| Error::Postgres("a transaction that waits gave up (a onelead bug)".into()))
    }

    /// [`Db::begin`] of a run's kind (see [`api::Backend::begin_within`]), waiting at most
    /// `wait` for the run that holds the database; `None` when it still does.
    pub fn begin_within(&mut self, wait: Duration) -> Result<Option<PgTx<'_>>> {
        self.begin_waiting(TxKind::Run, Some(wait))
    }

    fn begin_waiting(&mut self, kind: TxKind, wait: Option<Duration>) -> Result<Option<PgTx<'_>>> {
        let url = self.url.clone();
        let err = |e: postgres::Error| db_err(&url, &e);
        let mut tx = self.client.transaction().map_err(err)?;
        tx.batch_execute("SELECT set_config('onelead.writer', 'on', true)")
            .map_err(err)?;
        match kind {
            TxKind::Run => {
                if let Some(wait) = wait {
                    let ms = wait.as_millis().clamp(1, i32::MAX as u128);
                    tx.batch_execute(&format!("SET LOCAL lock_timeout = {ms}"))
                        .map_err(err)?;
                }
                match tx.execute("SELECT pg_advisory_xact_lock($1)", &[&RUN_LOCK]) {
                    Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                        return Ok(None);
                    }
                    r => r.map_err(err)?,
                };
                tx.batch_execute("SET LOCAL lock_timeout = 0")
                    .map_err(err)?;
                tx.execute(
                    "SELECT pg_advisory_lock($1), pg_advisory_unlock($1)",
                    &[&CHANGE_LOCK],
                )
                .map_err(err)?;
            }
            TxKind::Change => {
                tx.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&CHANGE_LOCK])
                    .map_err(err)?;
            }
        }
        let token = counter(&mut tx).map_err(err)?;
        Ok(Some(PgTx {
            tx,
            url,
            token,
            loaded: Vec::new(),
            leads: None,
            types: rescore::Scored::default(),
            derived: None,
        }))
    }
}

impl api::Backend for Db {
    fn begin(&mut self, kind: TxKind) -> Result<Box<dyn api::WriteTx + '_>> {
        Ok(Box::new(Db::begin(self, kind)?))
    }

    fn begin_within(&mut self, wait: Duration) -> Result<Option<Box<dyn api::WriteTx + '_>>> {
        Ok(Db::begin_within(self, wait)?.map(|t| Box::new(t) as Box<dyn api::WriteTx + '_>))
    }

    fn reader(&self) -> Result<super::Reader> {
        Ok(super::Reader::new(Box::new(Reader::open(&self.url)?)))
    }

    /// Nothing to defer: PostgreSQL's checkpoints run in the server, not in the commit.
    fn defer_housekeeping(&mut self) -> Result<()> {
        Ok(())
    }

    /// Every suspended index is built before the commit (see `leads::end_writes`), so no
    /// work is ever left.
    fn finish(&mut self, _pending: &Pending) -> Result<()> {
        Ok(())
    }

    fn work_queue(&self) -> Result<Box<dyn api::WorkQueue + Send>> {
        Ok(Box::new(Db::work_queue(self)?))
    }

    fn claim(&mut self, work: Option<i64>) -> Result<Option<Box<dyn api::Claim + '_>>> {
        Ok(Db::claim(self, work)?.map(|c| Box::new(c) as Box<dyn api::Claim + '_>))
    }

    fn open_parts(&mut self, work: Option<i64>) -> Result<usize> {
        Db::open_parts(self, work)
    }

    fn compact(&mut self) -> Result<()> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(|e| db_err(&url, &e))?;
        leads::sweep_texts(&mut tx, leads::SWEEP_SLACK)?;
        tx.commit().map_err(|e| db_err(&url, &e))
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A write transaction. Dropped without [`PgTx::commit`], it rolls back.
pub struct PgTx<'c> {
    tx: Transaction<'c>,
    url: PgUrl,
    /// The change counter when it began (see [`Db::begin`]).
    token: i64,
    /// The indexes a load suspended, with their tables.
    loaded: Vec<(&'static str, String)>,
    /// The lead writer of the evaluation under way.
    leads: Option<leads::Writer>,
    /// The lead types re-scoring has read so far.
    types: rescore::Scored,
    /// Derived fields staged for [`PgTx::settle_items`].
    derived: Option<copy::CopyRows>,
}

impl PgTx<'_> {
    /// Makes everything written durable; returns the change token after it.
    pub fn commit(mut self) -> Result<ChangeToken> {
        // Whatever a caller left staged or suspended (an evaluation ends with it done).
        self.settle_items()?;
        let url = self.url.clone();
        let err = |e: postgres::Error| db_err(&url, &e);
        let now = counter(&mut self.tx).map_err(err)?;
        let mine: i64 = self
            .tx
            .query_one("SELECT nextval('onelead_changes')", &[])
            .and_then(|r| r.try_get(0))
            .map_err(err)?;
        self.tx.commit().map_err(err)?;
        Ok(ChangeToken(if now == self.token { mine } else { -mine }))
    }
}

impl api::WriteTx for PgTx<'_> {
    fn token(&self) -> ChangeToken {
        ChangeToken(self.token)
    }

    fn commit(self: Box<Self>) -> Result<ChangeToken> {
        PgTx::commit(*self)
    }
}

/// A read-only connection for the views.
pub struct Reader {
    client: Client,
}

impl Reader {
    /// Connects to a database with the current schema, read-only.
    pub fn open(url: &PgUrl) -> Result<Reader> {
        let mut client = connect(url)?;
        let version = schema_version(&mut client).map_err(|e| db_err(url, &e))?;
        newer_check(url, version)?;
        match version {
            None => return Err(missing(url)),
            Some(v) if v < schema::SCHEMA_VERSION => {
                return Err(Error::Database {
                    db: url.to_string(),
                    message: format!(
                        "schema version {v} is older than this onelead's ({}); \
                         run `onelead run` to bring it up to date",
                        schema::SCHEMA_VERSION
                    ),
                });
            }
            Some(_) => {}
        }
        client
            .batch_execute("SET default_transaction_read_only = on")
            .map_err(|e| db_err(url, &e))?;
        Ok(Reader { client })
    }
}

/// Connects, as `onelead`, with UTC as the session's time zone and notices off.
fn connect(url: &PgUrl) -> Result<Client> {
    let mut config: postgres::Config = url.secret().parse().map_err(|e| Error::Database {
        db: url.to_string(),
        message: format!("not a valid PostgreSQL URL: {e}"),
    })?;
    if config.get_application_name().is_none() {
        config.application_name("onelead");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let mut client = config.connect(NoTls).map_err(|e| Error::Database {
        db: url.to_string(),
        message: format!("cannot connect to `{}`: {}", url.host(), message(&e)),
    })?;
    client
        .batch_execute("SET client_min_messages = warning; SET TIME ZONE 'UTC'")
        .map_err(|e| db_err(url, &e))?;
    Ok(client)
}

/// The schema version, or `None` when onelead's tables are not there.
fn schema_version(client: &mut Client) -> std::result::Result<Option<i32>, postgres::Error> {
    let mut tx = client.transaction()?;
    let v = schema_version_in(&mut tx)?;
    tx.commit()?;
    Ok(v)
}

fn schema_version_in(
    tx: &mut Transaction<'_>,
) -> std::result::Result<Option<i32>, postgres::Error> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('onelead_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    let row = tx.query_opt("SELECT max(version) FROM onelead_schema", &[])?;
    Ok(row.and_then(|r| r.try_get::<_, Option<i32>>(0).ok().flatten()))
}

/// The change counter's current value.
fn counter(tx: &mut Transaction<'_>) -> std::result::Result<i64, postgres::Error> {
    tx.query_one("SELECT last_value FROM onelead_changes", &[])?
        .try_get(0)
}

/// An error when a newer onelead made the schema.
fn newer_check(url: &PgUrl, version: Option<i32>) -> Result<()> {
    match version {
        Some(v) if v > schema::SCHEMA_VERSION => Err(Error::Database {
            db: url.to_string(),
            message: format!(
                "schema version {v} is newer than this onelead understands ({})",
                schema::SCHEMA_VERSION
            ),
        }),
        _ => Ok(()),
    }
}

fn missing(url: &PgUrl) -> Error {
    Error::Database {
        db: url.to_string(),
        message: "no onelead tables in this database; run `onelead run` first".into(),
    }
}

/// What went wrong, in the server's words when it gave any.
fn message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = db.message().to_string();
        if let Some(detail) = db.detail() {
            m = format!("{m} ({detail})");
        }
        return m;
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !m.contains(&text) {
            m = format!("{m}: {text}");
        }
        source = s.source();
    }
    m
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Postgres(message(&e))
    }
}

fn db_err(url: &PgUrl, e: &postgres::Error) -> Error {
    Error::Database {
        db: url.to_string(),
        message: message(e),
    }
}
