//! Storage: the one seam between OneLead and its database. Nothing outside this folder names a
//! database library or writes SQL.
//!
//! Callers speak in domain terms, per concern ([`api`]): a run writes through one [`Tx`] (load
//! records, items' derived fields, accounts, a batch of leads, the run's record), and the views
//! read through a read-only [`Reader`] ([`read`]). The SQLite backend (`sqlite/`) keeps its SQL,
//! its bulk paths and its tuning behind those; another backend implements the same traits.
//!
//! Traits rather than one type per backend with a `match` in every method (Stalwart's
//! `Store` enum): the API is some sixty domain operations, each called once per batch, so a
//! vtable costs nothing measurable, and a backend is one `impl` per concern, as Atuin's
//! `Database` trait has its SQLite and PostgreSQL crates. A run either commits completely or
//! changes nothing: dropping a [`Tx`] without committing rolls it back.

pub mod api;
pub mod columns;
pub mod desk;
pub mod journal;
pub mod keyset;
pub mod pool;
pub mod read;
mod sqlite;
#[cfg(test)]
pub mod testdb;
pub mod users;

use std::path::{Path, PathBuf};

pub use api::{ChangeToken, Pending};
pub use read::Reader;

use crate::error::Result;

// The server hands both handles to `spawn_blocking` threads: a backend that is not `Send` must
// not compile.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Store>();
    send::<Reader>();
};

/// A run's write transaction (see [`api::WriteTx`]).
pub type Tx<'s> = Box<dyn api::WriteTx + 's>;

/// An open database, for writing.
pub struct Store {
    backend: Box<dyn api::Backend>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            backend: Box::new(sqlite::Db::open(path)?),
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing database; a missing one says to run `onelead run` first. An older
    /// schema is brought up to date, and indexes a stopped `watch` left missing are built; a
    /// current, complete database is not written to.
    pub fn open_existing(path: &Path) -> Result<Store> {
        Ok(Store {
            backend: Box::new(sqlite::Db::open_existing(path)?),
            path: path.to_path_buf(),
        })
    }

    /// Where the database lives, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts the one write transaction of a run or command.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        self.backend.begin()
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

    /// The backend, for the store's own tests.
    #[cfg(test)]
    pub(crate) fn backend_any(&self) -> &dyn std::any::Any {
        self.backend.as_any()
    }
}
