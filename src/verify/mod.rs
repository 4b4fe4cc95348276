//! Checking rules before they go live, downstream of scoring so that what is checked is what a
//! run computes: `rules check`'s dry run over real and generated rows ([`dry_run`]), `rules
//! test`'s scenario files ([`scenario`]), and what each trigger decided for one asset
//! (`explain SERIAL`, [`simulate`]).

pub mod asset;
pub mod dry_run;
mod edge;
pub mod scenario;
pub mod simulate;
