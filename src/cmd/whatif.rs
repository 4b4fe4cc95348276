//! `onelead whatif`: the "simulation" rule users ask for before a change goes live. Evaluates
//! another rule set or config against the current database inside a transaction that is rolled
//! back, and prints what would change.

use std::path::Path;

use crate::cli::WhatifArgs;
use crate::config::{Config, DEFAULT_CONFIG};
use crate::error::Result;
use crate::pipeline::{self, Mode, Settings};
use crate::report::Format;
use crate::report::{self, Style};
use crate::store::{Location, Store};

/// Runs `onelead whatif`.
pub fn run(args: &WhatifArgs) -> Result<()> {
    // The database is the live one: `--db`, else the one the default config names.
    let db = if let Some(db) = &args.db {
        db.clone()
    } else {
        let live = Config::load(Path::new(DEFAULT_CONFIG), false)?;
        match Location::parse(live.database.as_os_str())? {
            Location::Sqlite(path) => live.resolve(&path),
            Location::Postgres(_) => live.database.clone(),
        }
    };
    let mut store = Store::open_existing(Location::parse(db.as_os_str())?)?;
    let as_of = match args.as_of {
        Some(d) => Some(d),
        None => last_as_of(&store)?,
    };
    let mut settings =
        Settings::resolve(&args.config, Some(&db), &[], args.rules.as_deref(), as_of)?;
    if let Some(m) = args.priority_mode {
        settings.cfg.priority_mode = m.mode();
    }
    let rules = pipeline::load_rules(&settings)?;
    let progress = crate::cmd::load::Progress::new();
    let report = pipeline::execute(
        &mut store,
        &settings,
        &rules,
        Mode {
            command: "whatif",
            ingest: false,
            make_leads: true,
            commit: false,
            changes: crate::score::diff::Changes::All,
            indexes_later: false,
        },
        &|s, n| progress.tick(s, n),
        None,
    )?;
    progress.finish();
    let changes = report.evaluation.changes.unwrap_or_default();
    let out = &mut std::io::stdout().lock();
    match args.format.get() {
        Format::Json => report::json::write(out, &changes)?,
        Format::Csv => report::csv::write(out, &report::diff::csv_table(&changes))?,
        Format::Table => report::diff::write(out, &changes, Style::detect())?,
    }
    Ok(())
}

/// The as-of date of the last run that wrote leads, so a what-if changes only the rules.
pub fn last_as_of(store: &Store) -> Result<Option<chrono::NaiveDate>> {
    let s = store.reader()?.last_as_of()?;
    Ok(s.and_then(|s| crate::derive::days::parse(&s)))
}
