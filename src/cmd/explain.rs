//! `onelead explain LEAD_ID`: why a lead scored what it did.

use crate::cli::ExplainArgs;
use crate::error::{Error, Result};
use crate::report::Format;
use crate::report::{self, Style, explain};
use crate::views;

/// Runs `onelead explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    let (_, mut reader) = super::open_view(&args.db)?;
    let (lead, events) = match views::lead(&mut reader, &args.lead_id)? {
        views::LeadLookup::Found(lead, events) => (*lead, events),
        views::LeadLookup::Missing(similar) => return Err(not_found(&args.lead_id, &similar)),
    };
    let e = explain::explain(lead, events);
    let out = &mut std::io::stdout().lock();
    let style = Style::detect();
    match args.format.get() {
        Format::Json => Ok(report::json::write(out, &e)?),
        Format::Csv => Ok(report::csv::write(out, &explain::factors_table(&e, false))?),
        Format::Table => Ok(explain::write_text(out, &e, style)?),
    }
}

/// "no lead `X`" with the ids the user may have meant.
fn not_found(id: &str, similar: &[String]) -> Error {
    let mut msg = format!("no lead `{id}`");
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
