//! Checking rules before they go live, downstream of scoring so that what is checked is what a
//! run computes: `rules check`'s dry run over real and generated rows ([`dry_run`]), `rules
//! test`'s scenario files ([`scenario`]), and what each trigger decided for one asset
//! (`explain SERIAL`, [`simulate`]).

pub mod asset;
pub mod dry_run;
mod edge;
pub mod scenario;
pub mod simulate;

/// The evaluation context of an install-base row, for diagnostics naming it.
fn row_context(row: &crate::model::item::ItemRow) -> crate::rules::EvalContext<'_> {
    crate::rules::EvalContext {
        table: "install_base",
        row: row.source_row,
        key: row.text("serial_number").unwrap_or(""),
    }
}
