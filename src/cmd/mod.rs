//! One module per subcommand (xsv style): each parses nothing itself, takes its clap `Args`,
//! builds working objects, calls the library and prints.

mod account;
mod analytics;
mod dashboard;
mod digest;
mod explain;
mod export;
mod funnel;
mod leads;
mod load;
mod report;
mod rules;
mod run;
mod sample;
mod status;
mod territories;
mod watch;
mod whatif;

use crate::cli::{Cli, Command, DbArgs, RulesCommand};
use crate::error::Result;
use crate::pipeline::Settings;
use crate::store::Store;

/// What the views print when the database holds no leads at all.
const NO_LEADS: &str = "no leads yet; run `onelead run`";

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Load(a) => load::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Leads(a) => leads::run(&a),
        Command::Dashboard(a) => dashboard::run(&a),
        Command::Account(a) => account::run(&a),
        Command::Territories(a) => territories::run(&a),
        Command::Analytics(a) => analytics::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Rules(RulesCommand::Check(a)) => rules::check(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Watch(a) => watch::run(&a),
        Command::Whatif(a) => whatif::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Status(a) => status::run(&a),
        Command::Funnel(a) => funnel::run(&a),
        Command::Digest(a) => digest::run(&a),
        Command::Export(a) => export::run(&a),
    }
}

/// Opens the existing database a view reads (a missing one says to run `onelead run` first).
fn open_view(db: &DbArgs) -> Result<(Settings, Store)> {
    let settings = Settings::resolve(&db.config, db.db.as_deref(), &[], None, None)?;
    let store = Store::open_existing(&settings.db)?;
    Ok((settings, store))
}
