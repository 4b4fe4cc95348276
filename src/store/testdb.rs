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

/// The user tables of the database of `store`, by name: every table it holds but the
/// backend's own bookkeeping.
///
/// # Panics
/// When the database cannot be read: a test bug.
pub fn tables(store: &Store) -> Vec<String> {
    rows(
        store,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY name",
    )
    .into_iter()
    .map(|r| r[0].clone().unwrap())
    .collect()
}

/// The column names of `table` but `except`, and every row of it with those columns, sorted
/// by them (so two databases filled alike compare equal whatever order a scan gives).
///
/// # Panics
/// When `table` does not exist: a test bug.
pub fn table(
    store: &Store,
    table: &str,
    except: &[&str],
) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let columns: Vec<String> = rows(
        store,
        &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
    )
    .into_iter()
    .filter_map(|r| r[0].clone())
    .filter(|c| !except.contains(&c.as_str()))
    .collect();
    assert!(!columns.is_empty(), "no columns of `{table}` to compare");
    let list = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let order = (1..=columns.len())
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let all = rows(
        store,
        &format!("SELECT {list} FROM \"{table}\" ORDER BY {order}"),
    );
    (columns, all)
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
