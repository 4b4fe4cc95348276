//! OneLead turns a hardware vendor's install-base exports into scored, explained sales leads.
//!
//! Data flows one way: [`ingest`] (xlsx/CSV → typed records) → [`store`] (the database, behind
//! one storage API; one transaction per run) → [`derive`] (risk fields, accounts) → [`rules`]
//! (Rhai triggers, factors, boosts) → [`score`] / [`recommend`] → [`views`] (what each view
//! shows, as data) → [`report`] (table, CSV, JSON, HTML). [`pipeline`] runs the main job as
//! stages; [`model`] holds the plain types both sides of the store name. `cmd` holds one module
//! per subcommand; only `cmd` and `report` write to stdout or stderr.

pub mod assign;
pub mod auth;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod crm;
pub mod derive;
pub mod diagnostic;
pub mod error;
pub mod fxhash;
pub mod ingest;
pub mod lifecycle;
pub mod log;
pub mod mail;
pub mod model;
pub mod pipeline;
pub mod recommend;
pub mod report;
pub mod rules;
pub mod sample;
pub mod score;
pub mod serve;
pub mod store;
pub mod verify;
pub mod views;

use std::ffi::OsString;
use std::process::ExitCode;

pub use error::{Error, Result};

/// Parses `args`, runs the subcommand and turns the outcome into an exit code. Errors are printed
/// once, here; a closed stdout (`onelead leads | head -1`) exits 0 quietly.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match cli::Cli::try_parse_from_args(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    log::init();
    match cmd::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
