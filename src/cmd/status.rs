//! `onelead status`: record a status change on one or more leads, all or nothing (one
//! transaction), then say what changed.

use std::io::Write;

use crate::cli::StatusArgs;
use crate::error::Result;
use crate::lifecycle::{self, StatusChange};
use crate::pipeline::Settings;
use crate::store::Store;

/// Runs `onelead status`.
pub fn run(args: &StatusArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    let mut store = Store::open_existing(&settings.db)?;
    // Who made the change is part of the history; the login name is the honest default.
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty());
    let change = StatusChange {
        status: args.status.into(),
        note: args.note.as_deref(),
        by: args.by.as_deref().or(user.as_deref()),
        opportunity: args.opportunity.as_deref(),
        force: args.force,
    };
    let mut tx = store.begin()?;
    let applied = lifecycle::set_status(&mut *tx, &args.ids, &change, &lifecycle::now_utc())?;
    tx.commit()?;
    let out = &mut std::io::stdout().lock();
    for a in &applied {
        writeln!(out, "{}: {} → {}", a.lead_id, a.from, a.to.as_str())?;
    }
    Ok(())
}
