//! The integration tests on PostgreSQL: the modules of `tests/cli`, run against a database of
//! a throwaway server per test (`tests/support/pg.rs`) instead of a file, and the tests only
//! PostgreSQL has (several processes at once, workers). Without PostgreSQL they skip, except
//! under `CI=true`, where that fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    missing_docs
)]

#[path = "../support/pg.rs"]
mod pg;
// Shared with tests/cli: each binary uses only some of the helpers.
#[allow(dead_code)]
#[path = "../cli/util.rs"]
mod util;

/// The backend these tests run on.
const BACKEND: util::Backend = util::Backend::Postgres;

#[path = "../cli/asset.rs"]
mod asset;
#[path = "../cli/crash.rs"]
mod crash;
#[path = "../cli/crm.rs"]
mod crm;
#[path = "../cli/cycle.rs"]
mod cycle;
#[path = "../cli/hostile.rs"]
mod hostile;
#[path = "../cli/http.rs"]
mod http;
#[path = "../cli/ingest.rs"]
mod ingest;
#[path = "../cli/lifecycle.rs"]
mod lifecycle;
#[path = "../cli/mail.rs"]
mod mail;
#[path = "../cli/monthly.rs"]
mod monthly;
#[path = "../cli/queue.rs"]
mod queue;
#[path = "../cli/rank.rs"]
mod rank;
#[path = "../cli/reading.rs"]
mod reading;
#[path = "../cli/reliability.rs"]
mod reliability;
#[path = "../cli/report.rs"]
mod report;
#[path = "../cli/rules.rs"]
mod rules;
#[path = "../cli/serve.rs"]
mod serve;
#[path = "../cli/serve_util.rs"]
mod serve_util;
#[path = "../cli/views.rs"]
mod views;
#[path = "../cli/watch.rs"]
mod watch;

mod postgres;
