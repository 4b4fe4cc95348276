//! `onelead status`: record a status change on one or more leads, all or nothing, then say what
//! changed; or, with `--import FILE`, the changes a CRM's export asks for (`crm::import`),
//! likewise all or nothing. Both go through the journal (`store::journal`) like the server's
//! changes, so a change made while a run writes is kept and applied when the run ends.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::cli::StatusArgs;
use crate::crm::CrmConfig;
use crate::crm::import::{self, Plan};
use crate::error::Result;
use crate::lifecycle::{self, StatusChange};
use crate::pipeline::Settings;
use crate::store::Store;
use crate::store::journal::{self, StatusEntry};

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
    let by = args.by.as_deref().or(user.as_deref());
    let out = &mut std::io::stdout().lock();
    let done = if let Some(file) = &args.import {
        import_file(out, &mut store, file, &settings.cfg.crm, by, args.force)?
    } else {
        let (ids, status) = args.change()?;
        let change = StatusChange {
            status,
            note: args.note.as_deref(),
            by,
            opportunity: args.opportunity.as_deref(),
            force: args.force,
        };
        let (applied, done) =
            journal::set_status(&mut store, ids, &change, &lifecycle::now_utc(), WAIT)?;
        for a in &applied {
            writeln!(out, "{}: {} → {}", a.lead_id, a.from, a.to.as_str())?;
        }
        done
    };
    if !done {
        writeln!(
            out,
            "note: a run is writing the database; the change is kept and applied when it ends"
        )?;
    }
    Ok(())
}

/// Records every change `file` asks for, each with a note naming the file, the row and the
/// CRM's value; or, when any row is wrong, none. True when they are in the lead database.
fn import_file(
    out: &mut dyn Write,
    store: &mut Store,
    file: &Path,
    cfg: &CrmConfig,
    by: Option<&str>,
    force: bool,
) -> Result<bool> {
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let table = import::read_table(file)?;
    let ids = import::ids(&table, cfg, file)?;
    let mut plan = Plan::default();
    let (_, done) = journal::record_statuses(
        store,
        &ids,
        by,
        &lifecycle::now_utc(),
        WAIT,
        &mut |lookup| {
            plan = import::plan(&table, file, cfg, force, lookup)?;
            Ok(plan
                .changes
                .iter()
                .map(|c| StatusEntry {
                    lead_id: c.lead_id.clone(),
                    from: c.from.clone(),
                    status: c.to.as_str().to_string(),
                    note: Some(format!(
                        "imported from {name} row {} (`{}`)",
                        c.row, c.value
                    )),
                })
                .collect())
        },
    )?;
    print_plan(out, &plan, &name)?;
    Ok(done)
}

fn print_plan(out: &mut dyn Write, plan: &Plan, name: &str) -> Result<()> {
    for c in &plan.changes {
        writeln!(
            out,
            "{}: {} → {} (row {})",
            c.lead_id,
            c.from,
            c.to.as_str(),
            c.row
        )?;
    }
    writeln!(
        out,
        "{name}: {} recorded, {} already so, {} skipped (no OneLead id or no status)",
        plural(plan.changes.len(), "change"),
        plan.unchanged,
        plural(plan.skipped, "row"),
    )?;
    Ok(())
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
