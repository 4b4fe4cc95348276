//! One module per subcommand (xsv style): each parses nothing itself, takes its clap `Args`,
//! builds working objects, calls the library and prints.

mod account;
mod analytics;
mod changes;
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
mod serve;
mod status;
mod territories;
mod user;
mod watch;
mod whatif;
mod worker;

use crate::cli::{Cli, Command, DbArgs, RulesCommand, UserCommand};
use crate::error::Result;
use crate::pipeline::Settings;
use crate::store::{Location, Reader, Store};

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
        Command::Rules(RulesCommand::Test(a)) => rules::test(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Watch(a) => watch::run(&a),
        Command::Whatif(a) => whatif::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Status(a) => status::run(&a),
        Command::Funnel(a) => funnel::run(&a),
        Command::Digest(a) => digest::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Changes(a) => changes::run(&a),
        Command::Worker(a) => worker::run(&a),
        Command::Serve(a) => serve::run(&a),
        Command::User(UserCommand::Add(a)) => user::add(&a),
        Command::User(UserCommand::List(a)) => user::list(&a),
        Command::User(UserCommand::Remove(a)) => user::remove(&a),
        Command::User(UserCommand::RotateToken(a)) => user::rotate_token(&a),
    }
}

/// Buffered standard output, as [`print`] hands it out.
type Stdout = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Runs `write` on buffered standard output and flushes it. Standard output on its own makes
/// one write call per line, and a view of a million-row database prints tens of thousands.
fn print(write: impl FnOnce(&mut Stdout) -> Result<()>) -> Result<()> {
    print_to(std::io::stdout().lock(), write)
}

/// [`print`] to any writer. The flush is explicit because dropping a `BufWriter` discards its
/// error: a full disk or a closed pipe must still be reported (the pipe then exits quietly).
fn print_to<W: std::io::Write>(
    w: W,
    write: impl FnOnce(&mut std::io::BufWriter<W>) -> Result<()>,
) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    let written = write(&mut out);
    let flushed = out.flush();
    written?;
    Ok(flushed?)
}

/// Opens the existing database a view reads (a missing one says to run `onelead run` first).
fn open_view(db: &DbArgs) -> Result<(Settings, Reader)> {
    let settings = Settings::resolve(&db.config, db.db.as_deref(), &[], None, None)?;
    let reader = open_reader(&settings.db)?;
    Ok((settings, reader))
}

/// Opens an existing database for reading. A database an older onelead made, or one a stopped
/// `watch` left without some indexes, is brought up to date first: the one write a view
/// command may cause, done here rather than by the views, which only read.
fn open_reader(db: &Location) -> Result<Reader> {
    Store::open_existing(db)?.reader()
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};

    use super::*;

    /// Accepts nothing: every write fails with `kind`.
    struct Refuses(io::ErrorKind);

    impl Write for Refuses {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn buffered_output_reports_a_write_that_fails_only_at_the_flush() {
        // The text fits the buffer, so only the flush reaches the writer.
        let e = print_to(Refuses(io::ErrorKind::StorageFull), |out| {
            Ok(writeln!(out, "one line")?)
        })
        .unwrap_err();
        assert!(
            matches!(&e, crate::error::Error::Output(io) if io.kind() == io::ErrorKind::StorageFull)
        );
        let e = print_to(Refuses(io::ErrorKind::BrokenPipe), |out| {
            Ok(writeln!(out, "one line")?)
        })
        .unwrap_err();
        assert!(e.is_broken_pipe());
        let mut got = Vec::new();
        print_to(&mut got, |out| Ok(writeln!(out, "all of it")?)).unwrap();
        assert_eq!(got, b"all of it\n");
    }
}
