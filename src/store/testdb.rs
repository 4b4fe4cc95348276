//! Test helpers for code outside the store: the synthetic views database of the SQLite
//! backend's tests (`sqlite/testdb.rs`) behind the store's own handles, and a way for a test to
//! look at (or change) what a database holds with plain SQL.

use std::path::Path;

pub use super::sqlite::testdb::{LEADS, SUMMARY_INDEX};
use super::{Reader, Store};

/// The synthetic database, as a [`Reader`]. Keep the `TempDir` alive while using it.
///
/// # Panics
/// When the fixture SQL is wrong: a test bug.
pub fn build() -> (tempfile::TempDir, Reader) {
    let (dir, db) = super::sqlite::testdb::build();
    drop(db);
    let reader = Reader::open(dir.path().join("t.db")).unwrap();
    (dir, reader)
}

/// The synthetic database, as a [`Store`] for writing. Keep the `TempDir` alive while using it.
///
/// # Panics
/// When the fixture SQL is wrong: a test bug.
pub fn build_store() -> (tempfile::TempDir, Store) {
    let (dir, db) = super::sqlite::testdb::build();
    drop(db);
    let store = Store::open(dir.path().join("t.db")).unwrap();
    (dir, store)
}

/// The synthetic database as a [`Store`] on every backend this machine has: SQLite, and
/// PostgreSQL when its test server runs (under `CI=true` it must). Keep the guard alive.
///
/// # Panics
/// When the fixture SQL is wrong: a test bug.
pub fn build_stores() -> Vec<(Option<tempfile::TempDir>, Store)> {
    let (dir, store) = build_store();
    let mut all = vec![(Some(dir), store)];
    if let Some(url) = super::postgres::testdb::build() {
        let at = super::Location::parse(url.as_ref()).unwrap();
        all.push((None, Store::open_existing(at).unwrap()));
    }
    all
}

/// The rows `sql` selects from the database of `store`, every value as text (`None`: NULL).
///
/// # Panics
/// When the SQL is wrong: a test bug.
pub fn rows(store: &Store, sql: &str) -> Vec<Vec<Option<String>>> {
    super::sqlite::testdb::rows(conn(store), sql)
}

/// The single number `sql` selects from the database of `store`.
///
/// # Panics
/// When the SQL is wrong: a test bug.
pub fn count(store: &Store, sql: &str) -> i64 {
    conn(store).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Runs `sql` on the database of `store`.
///
/// # Panics
/// When the SQL is wrong: a test bug.
pub fn execute(store: &Store, sql: &str) {
    conn(store).execute_batch(sql).unwrap();
}

/// Runs `sql` on the database at `path` through a connection of its own, as another program
/// (a user's own SQL) would.
///
/// # Panics
/// When the SQL is wrong: a test bug.
pub fn execute_elsewhere(path: &Path, sql: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

/// Work for [`Store::finish`]: building the index `sql` creates.
pub fn pending(sql: &str) -> super::Pending {
    super::Pending(sql.to_string())
}

fn conn(store: &Store) -> &rusqlite::Connection {
    super::sqlite::testdb::conn(store.backend_any())
}
