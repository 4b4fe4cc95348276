//! `onelead status`: record a status change on one or more leads, all or nothing, then say what
//! changed. It goes through the journal (`store::journal`) like the server's changes, so a
//! change made while a run writes is kept and applied when the run ends.

use std::io::Write;
use std::time::Duration;

use crate::cli::StatusArgs;
use crate::error::Result;
use crate::lifecycle::{self, StatusChange};
use crate::pipeline::Settings;
use crate::store::{Store, journal};

/// How long the command waits for a run to let go of the lead database before leaving the
/// change in the journal.
const WAIT: Duration = Duration::from_secs(5);

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
    let (applied, done) =
        journal::set_status(&mut store, &args.ids, &change, &lifecycle::now_utc(), WAIT)?;
    let out = &mut std::io::stdout().lock();
    for a in &applied {
        writeln!(out, "{}: {} → {}", a.lead_id, a.from, a.to.as_str())?;
    }
    if !done {
        writeln!(
            out,
            "note: a run is writing the database; the change is kept and applied when it ends"
        )?;
    }
    Ok(())
}
