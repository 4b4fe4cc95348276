//! The integration tests on SQLite: each module drives the real `onelead` binary in a temp
//! folder (see `util::Workdir`). `tests/pg` runs the same modules on PostgreSQL. Tests on the
//! real exports in `../shared/data` fail under `CI=true` when the folder is missing, and skip
//! (saying so) elsewhere.

// Tests read better with short names for the workdir and JSON values, and fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    missing_docs
)]

#[path = "../support/pg.rs"]
mod pg;
// Shared with tests/pg: each binary uses only some of the helpers.
#[allow(dead_code)]
mod util;

/// The backend these tests run on.
const BACKEND: util::Backend = util::Backend::Sqlite;

mod http;
mod serve_util;

mod asset;
mod browser;
mod check;
mod crash;
mod crm;
mod cycle;
mod examples;
mod hostile;
mod ingest;
mod lifecycle;
mod mail;
mod monthly;
mod queue;
mod rank;
mod reading;
mod reliability;
mod report;
mod rules;
mod scenarios;
mod serve;
mod views;
mod watch;
