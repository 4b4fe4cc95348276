//! `onelead load`: ingest exports into the database and derive accounts, family and risk.

use std::io::{IsTerminal, Write};

use crate::cli::LoadArgs;
use crate::error::Result;
use crate::pipeline::{self, RunReport, Settings};
use crate::report::Format;
use crate::report::{self, Style, Table};
use crate::store::Store;

/// Runs `onelead load`.
pub fn run(args: &LoadArgs) -> Result<()> {
    let (settings, _store, report) = load_and_evaluate(args, "load", false)?;
    let out = &mut std::io::stdout().lock();
    if args.format.get() == Format::Json {
        return Ok(report::json::write(out, &report)?);
    }
    write_load_report(out, &report, &settings)
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

/// Prints rows per table and the values coerced to NULL, with examples.
pub fn write_load_report(out: &mut dyn Write, r: &RunReport, s: &Settings) -> Result<()> {
    let Some(ingest) = &r.ingest else {
        return Ok(());
    };
    let files: Vec<&str> = ingest.files.iter().map(|f| f.file.as_str()).collect();
    writeln!(out, "loaded {} into {}", files.join(", "), s.db.display())?;
    let mut t = Table::new(&["table", "rows"]);
    for (table, n) in &ingest.rows {
        t.push(vec![table.clone(), n.to_string()]);
    }
    t.push(vec!["accounts".into(), r.accounts.accounts.to_string()]);
    t.push(vec![
        "account_aliases".into(),
        r.accounts.aliases.to_string(),
    ]);
    report::table::write(out, &t, Style::detect())?;
    if !ingest.coerced.is_empty() {
        writeln!(
            out,
            "values that could not be read and were stored as NULL:"
        )?;
        let mut t = Table::new(&[
            "table",
            "column",
            "count",
            "examples (file [sheet] row: value)",
        ]);
        for c in &ingest.coerced {
            let ex: Vec<String> = c
                .examples
                .iter()
                .map(|e| format!("{} [{}] row {}: {:?}", e.file, e.sheet, e.row, e.raw))
                .collect();
            t.push(vec![
                c.table.clone(),
                c.column.clone(),
                c.count.to_string(),
                ex.join("; "),
            ]);
        }
        report::table::write(out, &t, Style::detect())?;
    }
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
