//! `onelead explain LEAD_ID|SERIAL`: why a lead scored what it did; or, for an asset's serial
//! number, what each trigger decides for it now and why (`verify::asset`).

use crate::cli::ExplainArgs;
use crate::error::{Error, Result};
use crate::pipeline::Settings;
use crate::report::Format;
use crate::report::{self, Style, explain};
use crate::store::{Reader, Store, journal};
use crate::verify::asset;
use crate::views;

/// Runs `onelead explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    let (settings, mut reader) = super::open_view(&args.db)?;
    // A change accepted while a run holds the database shows at once (see `store::journal`).
    let overlay = journal::overlay_at(&settings.db, &mut reader)?;
    let (mut lead, events) = match views::lead(&mut reader, &args.lead_id)? {
        views::LeadLookup::Found(lead, events) => (*lead, events),
        views::LeadLookup::Missing(similar) => {
            let rows = explain_asset(args, &settings, &mut reader)?;
            if rows.is_empty() {
                return Err(not_found(&args.lead_id, &similar));
            }
            return write_asset(args, &rows);
        }
    };
    overlay.apply(&mut lead);
    let e = explain::explain(lead, events);
    let out = &mut std::io::stdout().lock();
    let style = Style::detect();
    match args.format.get() {
        Format::Json => Ok(report::json::write(out, &e)?),
        Format::Csv => Ok(report::csv::write(out, &explain::factors_table(&e, false))?),
        Format::Table => Ok(explain::write_text(out, &e, style)?),
    }
}

/// Every row with the serial number `args.lead_id`, run through the rules of the config as of
/// the last run (or `--as-of`); empty when no row has it. The rows are read in a transaction
/// that is rolled back: nothing is written.
fn explain_asset(
    args: &ExplainArgs,
    settings: &Settings,
    reader: &mut Reader,
) -> Result<Vec<asset::AssetRow>> {
    let last = reader.last_as_of()?;
    let as_of = args
        .as_of
        .or_else(|| last.as_deref().and_then(crate::derive::days::parse))
        .unwrap_or(settings.as_of);
    let mut rules = crate::rules::RuleSet::load(&settings.rules_dir, &settings.cfg)?;
    rules.set_as_of(as_of);
    let mut store = Store::open_existing(&settings.db)?;
    let mut tx = store.begin()?;
    let mut stored = |id: &str| reader.lead_by_id(id);
    asset::explain(
        &rules,
        &settings.cfg,
        &mut *tx,
        &args.lead_id,
        as_of,
        &mut stored,
    )
}

fn write_asset(args: &ExplainArgs, rows: &[asset::AssetRow]) -> Result<()> {
    let out = &mut std::io::stdout().lock();
    match args.format.get() {
        Format::Json => Ok(report::json::write(out, &rows)?),
        Format::Csv => Ok(report::csv::write(out, &report::asset::table(rows))?),
        Format::Table => report::asset::write_text(out, rows),
    }
}

/// "no lead or asset `X`" with the ids the user may have meant.
fn not_found(id: &str, similar: &[String]) -> Error {
    let mut msg = format!("no lead or asset `{id}`");
    if !similar.is_empty() {
        let list: Vec<String> = similar.iter().map(|s| format!("`{s}`")).collect();
        msg = format!("{msg}\nhelp: did you mean {}?", or_list(&list));
    }
    Error::NotFound(msg)
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
