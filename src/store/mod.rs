//! Storage: the one seam between OneLead and its database. Nothing outside this folder names a
//! database library or writes SQL.
//!
//! Callers speak in domain terms, per concern ([`api`]): a run writes through one [`Tx`] (load
//! records, items' derived fields, accounts, a batch of leads, the run's record), and the views
//! read through a read-only [`Reader`] ([`read`]). The SQLite backend (`sqlite/`) and the
//! PostgreSQL backend (`postgres/`) each keep their SQL, bulk paths and tuning behind those; a
//! [`Location`] (a file path or a `postgres://` URL) picks one.
//!
//! Traits rather than one type per backend with a `match` in every method (Stalwart's
//! `Store` enum): the API is some sixty domain operations, each called once per batch, so a
//! vtable costs nothing measurable, and a backend is one `impl` per concern, as Atuin's
//! `Database` trait has its SQLite and PostgreSQL crates. A run either commits completely or
//! changes nothing: dropping a [`Tx`] without committing rolls it back.

pub mod api;
pub mod columns;
mod dates;
pub mod desk;
pub mod journal;
pub mod keyset;
mod location;
pub mod pool;
mod postgres;
pub mod read;
mod sqlite;
#[cfg(test)]
pub mod testdb;
#[cfg(test)]
mod tests;
mod texts;
pub mod users;

pub use api::{ChangeToken, Pending, TxKind};
pub use location::{Location, PgUrl};
pub use read::Reader;

use crate::error::Result;

// The server hands both handles to `spawn_blocking` threads: a backend that is not `Send` must
// not compile.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Store>();
    send::<Reader>();
};

/// The tables accounts are derived from, on every backend.
const ACCOUNT_SOURCES: &[&str] = &[
    "install_base",
    "opportunities",
    "projects",
    "service_credits",
];

/// The tables a kind of sheet fills, on every backend: the one its rows are counted by first;
/// deleted last to first (mappings reference catalog rows).
fn kind_tables(kind: crate::model::SheetKind) -> &'static [&'static str] {
    use crate::model::SheetKind;
    match kind {
        SheetKind::InstallBase => &["install_base"],
        SheetKind::Opportunity => &["opportunities"],
        SheetKind::Project => &["projects"],
        SheetKind::Service => &["services"],
        SheetKind::ServiceCredit => &["service_credits"],
        SheetKind::SkuMatrix => &["service_catalog", "service_sku_mappings"],
    }
}

/// A run's write transaction (see [`api::WriteTx`]).
pub type Tx<'s> = Box<dyn api::WriteTx + 's>;

/// An open database, for writing.
pub struct Store {
    backend: Box<dyn api::Backend>,
    location: Location,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date. A PostgreSQL
    /// database must exist; its tables are created on first use.
    pub fn open(db: impl Into<Location>) -> Result<Store> {
        let location = db.into();
        let backend: Box<dyn api::Backend> = match &location {
            Location::Sqlite(path) => Box::new(sqlite::Db::open(path)?),
            Location::Postgres(url) => Box::new(postgres::Db::open(url)?),
        };
        Ok(Store { backend, location })
    }

    /// Opens an existing database; a missing one says to run `onelead run` first. An older
    /// schema is brought up to date, and indexes a stopped `watch` left missing are built; a
    /// current, complete database is not written to.
    pub fn open_existing(db: impl Into<Location>) -> Result<Store> {
        let location = db.into();
        let backend: Box<dyn api::Backend> = match &location {
            Location::Sqlite(path) => Box::new(sqlite::Db::open_existing(path)?),
            Location::Postgres(url) => Box::new(postgres::Db::open_existing(url)?),
        };
        Ok(Store { backend, location })
    }

    /// Where the database lives, for messages.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Starts the one write transaction of a run.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        self.backend.begin(TxKind::Run)
    }

    /// Starts the write transaction of a rep's change to a few leads (see [`TxKind::Change`]).
    pub fn begin_change(&mut self) -> Result<Tx<'_>> {
        self.backend.begin(TxKind::Change)
    }

    /// A write transaction for a small change, waiting at most `wait` for a run to let go of
    /// the database; `None` when it has not.
    pub fn begin_within(&mut self, wait: std::time::Duration) -> Result<Option<Tx<'_>>> {
        self.backend.begin_within(wait)
    }

    /// A read-only handle on the same database.
    pub fn reader(&self) -> Result<Reader> {
        self.backend.reader()
    }

    /// See [`api::Backend::defer_housekeeping`].
    pub fn defer_housekeeping(&mut self) -> Result<()> {
        self.backend.defer_housekeeping()
    }

    /// Does one piece of work a run left after its commit.
    pub fn finish(&mut self, pending: &Pending) -> Result<()> {
        self.backend.finish(pending)
    }

    /// See [`api::Backend::compact`].
    pub fn compact(&mut self) -> Result<()> {
        self.backend.compact()
    }

    /// See [`api::Backend::work_queue`].
    pub fn work_queue(&self) -> Result<Box<dyn api::WorkQueue + Send>> {
        self.backend.work_queue()
    }

    /// See [`api::Backend::claim`].
    pub fn claim(&mut self, work: Option<i64>) -> Result<Option<Box<dyn api::Claim + '_>>> {
        self.backend.claim(work)
    }

    /// See [`api::Backend::open_parts`].
    pub fn open_parts(&mut self, work: Option<i64>) -> Result<usize> {
        self.backend.open_parts(work)
    }

    /// The backend, for the store's own tests.
    #[cfg(test)]
    pub(crate) fn backend_any(&self) -> &dyn std::any::Any {
        self.backend.as_any()
    }
}
