//! `onelead load`: ingest exports into the database and derive accounts, family and risk.

use std::io::{IsTerminal, Write};

use crate::cli::LoadArgs;
use crate::error::Result;
use crate::pipeline::{self, RunReport, Settings};
use crate::report::{self, Format, Style};
use crate::store::Store;

/// Runs `onelead load`.
pub fn run(args: &LoadArgs) -> Result<()> {
    let (settings, _store, report) = load_and_evaluate(args, "load", false)?;
    let out = &mut std::io::stdout().lock();
    match args.format.get() {
        Format::Json => report::json::write(out, &report)?,
        Format::Csv => {
            if let Some(ingest) = &report.ingest {
                report::ingest::write_csv(out, ingest, &account_rows(&report))?;
            }
        }
        Format::Table => write_load_report(out, &report, &settings)?,
    }
    // On stderr, so CSV and JSON stay clean; a terminal shows it all the same.
    let data: Vec<String> = args
        .data
        .iter()
        .map(|d| format!(" --data {}", d.display()))
        .collect();
    eprintln!(
        "note: `load` does not evaluate the rules, so the leads are still those of the last \
         `run`; `onelead run{}` loads and evaluates in one go",
        data.concat()
    );
    Ok(())
}

/// The derived tables `load` reports beside the loaded ones.
fn account_rows(r: &RunReport) -> [(&'static str, usize); 2] {
    [
        ("accounts", r.accounts.accounts),
        ("account_aliases", r.accounts.aliases),
    ]
}

/// The job `load` and `run` share: resolve settings, compile the rules before touching the
/// database (a broken rule changes nothing), then ingest and evaluate in one transaction with
/// a progress bar on a terminal.
pub fn load_and_evaluate(
    args: &LoadArgs,
    command: &str,
    make_leads: bool,
) -> Result<(Settings, Store, RunReport)> {
    let settings = settings(args)?;
    let rules = pipeline::load_rules(&settings)?;
    let mut store = Store::open(&settings.db)?;
    let progress = Progress::new();
    let report = pipeline::execute(
        &mut store,
        &settings,
        &rules,
        pipeline::Mode {
            command,
            ingest: true,
            make_leads,
            commit: true,
            changes: crate::score::diff::Changes::Off,
            indexes_later: false,
        },
        &|s, n| progress.tick(s, n),
        None,
    )?;
    progress.finish();
    Ok((settings, store, report))
}

/// Resolves the settings shared by `load`, `run` and `watch`.
pub fn settings(args: &LoadArgs) -> Result<Settings> {
    Settings::resolve(
        &args.db.config,
        args.db.db.as_deref(),
        &args.data,
        args.rules.as_deref(),
        args.as_of,
    )
}

/// Prints the load report (see [`report::ingest::write_table`]), fitted to the terminal.
pub fn write_load_report(out: &mut dyn Write, r: &RunReport, s: &Settings) -> Result<()> {
    let Some(ingest) = &r.ingest else {
        return Ok(());
    };
    let into = s.db.display().to_string();
    report::ingest::write_table(out, ingest, &account_rows(r), &into, Style::detect())?;
    Ok(())
}

/// A progress bar on stderr when it is a terminal; silent otherwise. With the timings on
/// (`ONELEAD_TIMINGS`, see `crate::log`), it also reports how long each stage took
/// (`timing: load 1.234s 1000000`), which is what `benches/scale.sh` reads: wall-clock totals
/// alone cannot say where a run spends its time.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    timings: Option<std::sync::Mutex<Stage>>,
}

/// The stage being timed: its name, when it began and the last count it reported.
struct Stage {
    name: String,
    started: std::time::Instant,
    count: u64,
}

impl Stage {
    fn report(&self) {
        tracing::info!(
            target: "timing",
            "{} {:.3}s {}",
            self.name,
            self.started.elapsed().as_secs_f64(),
            self.count
        );
    }
}

impl Progress {
    /// Starts a spinner if stderr is a terminal.
    pub fn new() -> Progress {
        let timings = tracing::enabled!(target: "timing", tracing::Level::INFO).then(|| {
            std::sync::Mutex::new(Stage {
                name: String::new(),
                started: std::time::Instant::now(),
                count: 0,
            })
        });
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None, timings };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress {
            bar: Some(bar),
            timings,
        }
    }

    /// Shows `n` rows done in `stage`.
    pub fn tick(&self, stage: &str, n: u64) {
        if let Some(Ok(mut t)) = self.timings.as_ref().map(std::sync::Mutex::lock) {
            if t.name != stage {
                if !t.name.is_empty() {
                    t.report();
                }
                t.name = stage.to_string();
                t.started = std::time::Instant::now();
            }
            t.count = n;
        }
        if let Some(b) = &self.bar {
            b.set_message(format!("{stage}: {n} rows"));
        }
    }

    /// Removes the bar (and reports the last stage's time).
    pub fn finish(&self) {
        if let Some(Ok(t)) = self.timings.as_ref().map(std::sync::Mutex::lock) {
            if !t.name.is_empty() {
                t.report();
            }
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}
