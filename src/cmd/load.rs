//! `onelead load`: ingest exports into the database and derive accounts, family and risk.

use std::io::{IsTerminal, Write};

use crate::cli::LoadArgs;
use crate::error::Result;
use crate::pipeline::{self, RunReport, Settings};
use crate::report::{self, Format, Style};
use crate::score::distribute::Distribution;
use crate::store::Store;
use crate::store::api::WorkDone;

use super::worker::Crew;

/// Runs `onelead load`.
pub fn run(args: &LoadArgs) -> Result<()> {
    let (settings, _store, report) = load_and_evaluate(args, "load", false, None)?;
    let out = &mut std::io::stdout().lock();
    match args.format.get() {
        Format::Json => report::json::write(out, &report)?,
        Format::Csv => {
            if let Some(ingest) = &report.ingest {
                report::ingest::write_csv(out, ingest, &account_rows(&report))?;
            }
        }
        Format::Table => {
            write_load_report(out, &report, &settings)?;
            report::snapshots::write(out, &report.snapshots)?;
        }
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
/// a progress bar on a terminal. With `workers`, the rules are evaluated by that many worker
/// processes started here (none: started elsewhere), see [`super::worker::Crew`].
pub fn load_and_evaluate(
    args: &LoadArgs,
    command: &str,
    make_leads: bool,
    workers: Option<usize>,
) -> Result<(Settings, Store, RunReport)> {
    let settings = settings(args)?;
    let rules = pipeline::load_rules(&settings)?;
    // A failed first run must leave no database behind: "as it was" is "not there".
    // (A PostgreSQL database exists before any run: its server made it.)
    let existed = settings.db.as_path().is_none_or(std::path::Path::exists);
    let mut store = Store::open(&settings.db)?;
    let progress = Progress::new();
    let crew = workers.map(|n| Crew::new(n, &settings.db, &args.db.config));
    let supervise =
        |work: i64, done: WorkDone| crew.as_ref().map_or(Ok(()), |c| c.supervise(work, done));
    let distribution = match &crew {
        Some(_) => Some(Distribution {
            queue: std::sync::Mutex::new(store.work_queue()?),
            rules_dir: &settings.rules_dir,
            supervise: &supervise,
        }),
        None => None,
    };
    let report = pipeline::execute_with(
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
        distribution.as_ref(),
    );
    progress.finish();
    drop(distribution);
    match report {
        Ok(report) => Ok((settings, store, report)),
        Err(e) => {
            drop(store);
            if let (false, Some(path)) = (existed, settings.db.as_path()) {
                remove_database(path);
            }
            Err(e)
        }
    }
}

/// Removes a database file this process created, with SQLite's side files. Best effort: the
/// error being reported matters more than a leftover file.
fn remove_database(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
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
    let into = s.db.to_string();
    report::ingest::write_table(out, ingest, &account_rows(r), &into, Style::detect())?;
    Ok(())
}

/// A progress bar on stderr when it is a terminal; silent otherwise. While a workbook sheet is
/// read it is a bar of the rows stored out of the rows the sheet declares; otherwise a spinner
/// with the stage and its count. With the timings on (`ONELEAD_TIMINGS`, see `crate::log`), it
/// also reports how long each stage took (`timing: load 1.234s 1000000`), which is what
/// `benches/scale.sh` reads: wall-clock totals alone cannot say where a run spends its time.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    timings: Option<std::sync::Mutex<Stage>>,
    /// The `load` count when the current sheet started, and whether a sheet bar is shown.
    sheet: std::sync::Mutex<(u64, u64, bool)>,
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

const SHEET_BAR: &str = "{msg} [{bar:30}] {pos}/{len} rows";

impl Progress {
    /// Starts a spinner if stderr is a terminal.
    pub fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress::with_bar(bar)
    }

    fn with_bar(bar: Option<indicatif::ProgressBar>) -> Progress {
        let timings = tracing::enabled!(target: "timing", tracing::Level::INFO).then(|| {
            std::sync::Mutex::new(Stage {
                name: String::new(),
                started: std::time::Instant::now(),
                count: 0,
            })
        });
        Progress {
            bar,
            timings,
            sheet: std::sync::Mutex::new((0, 0, false)),
        }
    }

    /// Shows `n` rows done in `stage`. `sheet:<label>` with the sheet's declared rows (0 when
    /// unknown) starts a sheet; the `load` counts that follow fill its bar.
    pub fn tick(&self, stage: &str, n: u64) {
        let mut sheet = self
            .sheet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(label) = stage.strip_prefix("sheet:") {
            *sheet = (sheet.1, sheet.1, n > 0);
            if let Some(b) = &self.bar {
                Progress::show_sheet(b, label, n);
            }
            return;
        }
        if stage == "load" {
            sheet.1 = n;
        }
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
        let Some(b) = &self.bar else { return };
        if stage == "load" && sheet.2 {
            b.set_position(n - sheet.0);
        } else {
            if sheet.2 {
                sheet.2 = false;
                b.set_style(indicatif::ProgressStyle::default_spinner());
            }
            b.set_message(format!("{stage}: {n} rows"));
        }
    }

    fn show_sheet(b: &indicatif::ProgressBar, label: &str, rows: u64) {
        if rows == 0 {
            b.set_style(indicatif::ProgressStyle::default_spinner());
            b.set_message(format!("load {label}"));
            return;
        }
        if let Ok(style) = indicatif::ProgressStyle::with_template(SHEET_BAR) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_length(rows);
        b.set_position(0);
        b.set_message(format!("load {label}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_gets_a_bar_of_its_declared_rows() {
        let bar = indicatif::ProgressBar::hidden();
        let p = Progress::with_bar(Some(bar.clone()));
        p.tick("begin", 0);
        p.tick("load", 20_000);
        p.tick("sheet:big.xlsx [Projects]", 1_048_576);
        assert_eq!((bar.length(), bar.position()), (Some(1_048_576), 0));
        p.tick("load", 50_000);
        assert_eq!(bar.position(), 30_000, "rows of this sheet only");
        assert_eq!(bar.message(), "load big.xlsx [Projects]");
        // A CSV file declares nothing: a spinner with the count.
        p.tick("sheet:ib.csv", 0);
        p.tick("load", 60_000);
        assert_eq!(bar.message(), "load: 60000 rows");
        p.tick("accounts", 0);
        assert_eq!(bar.message(), "accounts: 0 rows");
    }
}
