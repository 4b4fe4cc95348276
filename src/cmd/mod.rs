//! One module per subcommand (xsv style): each parses nothing itself, takes its clap `Args`,
//! builds working objects, calls the library and prints.

mod digest;
mod export;
mod funnel;
mod leads;
mod load;
mod rules;
mod run;
mod sample;
mod status;
mod watch;
mod whatif;

use crate::cli::{Cli, Command, RulesCommand};
use crate::error::Result;

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Load(a) => load::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Leads(a) => leads::run(&a),
        Command::Rules(RulesCommand::Check(a)) => rules::check(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Watch(a) => watch::run(&a),
        Command::Whatif(a) => whatif::run(&a),
        Command::Status(a) => status::run(&a),
        Command::Funnel(a) => funnel::run(&a),
        Command::Digest(a) => digest::run(&a),
        Command::Export(a) => export::run(&a),
    }
}
