//! `onelead watch`: run once, then rerun on every saved change and print what changed.
//! Rules or config changed → recompile and re-evaluate from the database (no re-ingest);
//! an input file changed → reload, then evaluate. A change that does not compile or validate
//! prints its diagnostics and keeps the last good rules, config and results.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, new_debouncer};

use crate::cli::WatchArgs;
use crate::cmd::load::settings;
use crate::error::{Error, Result};
use crate::pipeline::{self, Mode, Settings};
use crate::report::{self, Style};
use crate::rules::RuleSet;
use crate::score::Carry;
use crate::store::{Pending, Store};
use crate::views::{self, LeadFilter};

/// How long a burst of file events may last and still count as one save. Editors write a
/// save (temp file, write, rename) within a few milliseconds; every millisecond here is added
/// to each save's round trip. A save split by a longer pause costs at most a second rerun,
/// which finds nothing changed. 50 ms is also watchexec's default.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// What a batch of file events touched.
#[derive(Debug, Default, PartialEq, Eq)]
struct Touched {
    rules: bool,
    config: bool,
    data: bool,
    paths: Vec<PathBuf>,
}

/// Runs `onelead watch`.
pub fn run(args: &WatchArgs) -> Result<()> {
    let settings = settings(&args.load)?;
    // Watching starts before anything is read: a save made during the first run (a minute at
    // a million rows, when rules are being tuned) is rerun after it, not lost.
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(DEBOUNCE, tx)
        .map_err(|e| Error::Usage(format!("cannot watch files: {e}")))?;
    for (path, mode) in watch_list(&settings, &args.load.db.config) {
        debouncer
            .watcher()
            .watch(&path, mode)
            .map_err(|e| Error::Usage(format!("cannot watch `{}`: {e}", path.display())))?;
    }
    let mut stamps = Stamps::default();
    stamps.record_tree(&settings.rules_dir);
    stamps.record_tree(&args.load.db.config);
    for input in &settings.inputs {
        stamps.record_tree(input);
    }
    let out = &mut std::io::stdout();
    let (mut session, first) = Session::start(args, settings, out, &rx)?;
    let mut next = session.after(first, out);
    if !matches!(next, Next::Stop) {
        writeln!(
            out,
            "watching {}, {} and the input files; Ctrl-C to stop",
            session.settings.rules_dir.display(),
            args.load.db.config.display()
        )?;
    }
    loop {
        let batch = match next {
            Next::Stop => return Ok(()),
            Next::Handle(batch) => batch,
            Next::Wait => match rx.recv() {
                Ok(batch) => batch,
                Err(_) => return Ok(()),
            },
        };
        next = session.handle(batch, &mut stamps, out, &rx)?;
    }
}

/// What `watch` does after a batch of file events.
enum Next {
    /// Wait for the next save.
    Wait,
    /// Handle this save, which came in meanwhile.
    Handle(DebounceEventResult),
    /// Stop: standard output is gone.
    Stop,
}

/// A `watch` session: the last good settings and rules, the database, and what each
/// evaluation keeps for the next.
struct Session<'a> {
    args: &'a WatchArgs,
    settings: Settings,
    rules: RuleSet,
    store: Store,
    /// What each evaluation keeps for the next save (lead states, account maps).
    carry: Carry,
    /// The lead indexes the evaluations left to build after their reports (see [`tidy`]).
    pending: Vec<Pending>,
    /// Results the `--report` HTML does not show yet: it is written once `tidy` has finished.
    html_due: bool,
}

impl<'a> Session<'a> {
    /// Opens the database and runs the first evaluation; returns the session and a save that
    /// came in while `tidy` built indexes after it.
    fn start(
        args: &'a WatchArgs,
        settings: Settings,
        out: &mut dyn Write,
        saves: &mpsc::Receiver<DebounceEventResult>,
    ) -> Result<(Session<'a>, Option<DebounceEventResult>)> {
        let rules = pipeline::load_rules(&settings)?;
        rules.retain_caches();
        let mut store = Store::open(&settings.db)?;
        store.defer_housekeeping()?;
        let mut s = Session {
            args,
            settings,
            rules,
            store,
            carry: Carry::default(),
            pending: Vec::new(),
            html_due: true,
        };
        let first = rerun(
            &mut s.store,
            &s.settings,
            &s.rules,
            true,
            out,
            &mut s.carry,
            &mut s.pending,
        );
        // A save that came in while `tidy` built indexes, to handle before waiting for the next.
        let queued = tidy(&mut s.store, &mut s.pending, saves);
        first?;
        Ok((s, queued))
    }

    /// Handles one batch of file events: reruns when a rule, the config or an input changed.
    fn handle(
        &mut self,
        batch: DebounceEventResult,
        stamps: &mut Stamps,
        out: &mut dyn Write,
        saves: &mpsc::Receiver<DebounceEventResult>,
    ) -> Result<Next> {
        let events = match batch {
            Ok(events) => events,
            Err(e) => {
                eprintln!("error: file watcher: {e}");
                return Ok(Next::Wait);
            }
        };
        // Reading a file raises events too (inotify reports opens); only real changes count.
        let changed: Vec<&Path> = events
            .iter()
            .map(|e| e.path.as_path())
            .filter(|p| stamps.changed(p))
            .collect();
        let touched = classify(
            changed.into_iter(),
            &self.settings,
            &self.args.load.db.config,
        );
        if touched.paths.is_empty() {
            // What `tidy` stopped for was nothing (a file read raises events too): go on.
            return Ok(self.catch_up(saves, out));
        }
        let names: Vec<String> = touched
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        writeln!(out, "\n── {} changed ──", names.join(", "))?;
        let Some((next_settings, next_rules)) = self.prepare(&touched) else {
            // Refused (its diagnostics are printed): the indexes an earlier save left, and the
            // report they hold up, are still done now, not after the next good save.
            return Ok(self.catch_up(saves, out));
        };
        let candidate = next_rules.as_ref().unwrap_or(&self.rules);
        let result = rerun(
            &mut self.store,
            &next_settings,
            candidate,
            touched.data,
            out,
            &mut self.carry,
            &mut self.pending,
        );
        let queued = tidy(&mut self.store, &mut self.pending, saves);
        match result {
            Ok(()) => {
                self.settings = next_settings;
                if let Some(r) = next_rules {
                    self.rules = r;
                }
                self.html_due = true;
            }
            Err(e) if e.is_broken_pipe() => return Ok(Next::Stop),
            Err(e) => eprintln!("{}\nkeeping the last good rules and results", e.render()),
        }
        Ok(self.after(queued, out))
    }

    /// Builds the new config and rules aside, for swapping them in only when both are good;
    /// `None` (the diagnostics printed) when either is not.
    fn prepare(&self, touched: &Touched) -> Option<(Settings, Option<RuleSet>)> {
        let keep = |e: Error| {
            eprintln!("{}\nkeeping the last good rules and results", e.render());
            None
        };
        let mut next_settings = self.settings.clone();
        if touched.config {
            match settings_again(self.args, &self.settings) {
                Ok(s) => next_settings = s,
                Err(e) => return keep(e),
            }
        }
        if !(touched.rules || touched.config) {
            return Some((next_settings, None));
        }
        match pipeline::load_rules(&next_settings) {
            Ok(mut r) => {
                r.retain_caches();
                r.adopt_caches(&self.rules);
                Some((next_settings, Some(r)))
            }
            Err(e) => keep(e),
        }
    }

    /// When no rerun is due: builds the indexes earlier evaluations left, unless a save comes in
    /// meanwhile, then goes on as [`Session::after`].
    fn catch_up(
        &mut self,
        saves: &mpsc::Receiver<DebounceEventResult>,
        out: &mut dyn Write,
    ) -> Next {
        let queued = if self.pending.is_empty() {
            None
        } else {
            tidy(&mut self.store, &mut self.pending, saves)
        };
        self.after(queued, out)
    }

    /// After a rerun or a batch of events: the save that came in meanwhile, if any, is handled
    /// next (its rerun writes the report, once every index is back); otherwise the `--report`
    /// HTML is written if it is due.
    fn after(&mut self, queued: Option<DebounceEventResult>, out: &mut dyn Write) -> Next {
        if let Some(batch) = queued {
            return Next::Handle(batch);
        }
        match html_when_due(&self.store, self.args, out, &mut self.html_due) {
            Ok(()) => Next::Wait,
            Err(_) => Next::Stop,
        }
    }
}

/// Size and modification time of the files seen so far: a rerun happens only when one differs.
#[derive(Default)]
struct Stamps(std::collections::HashMap<PathBuf, Option<(std::time::SystemTime, u64)>>);

impl Stamps {
    fn stamp(p: &Path) -> Option<(std::time::SystemTime, u64)> {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    /// Records `p` and, for a folder, every file below it.
    fn record_tree(&mut self, p: &Path) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                self.record_tree(&e.path());
            }
        } else {
            self.0.insert(abs(p), Self::stamp(p));
        }
    }

    /// True when `p` is new, gone or different since it was last seen.
    fn changed(&mut self, p: &Path) -> bool {
        if p.is_dir() {
            return false;
        }
        let now = Self::stamp(p);
        self.0.insert(abs(p), now) != Some(now)
    }
}

/// Re-reads the config, keeping the as-of date of the session so only the edit changes results.
fn settings_again(args: &WatchArgs, current: &Settings) -> Result<Settings> {
    let mut s = settings(&args.load)?;
    s.as_of = current.as_of;
    Ok(s)
}

/// One evaluation with its change report and summary. The lead indexes it leaves to build
/// are added to `pending` as soon as it has committed, before anything is printed.
fn rerun(
    store: &mut Store,
    settings: &Settings,
    rules: &RuleSet,
    ingest: bool,
    out: &mut dyn Write,
    carry: &mut Carry,
    pending: &mut Vec<Pending>,
) -> Result<()> {
    // A spinner while a large install base re-evaluates (stderr terminals only).
    let progress = crate::cmd::load::Progress::new();
    let report = pipeline::execute(
        store,
        settings,
        rules,
        Mode {
            command: "watch",
            ingest,
            make_leads: true,
            commit: true,
            changes: crate::score::diff::Changes::Biggest(report::diff::LEADS_SHOWN),
            indexes_later: true,
        },
        &|s, n| progress.tick(s, n),
        Some(carry),
    );
    progress.finish();
    let mut report = report?;
    pending.append(&mut report.evaluation.pending);
    let style = Style::detect();
    let changes = report.evaluation.changes.clone().unwrap_or_default();
    report::diff::write(out, &changes, style)?;
    report::snapshots::write(out, &report.snapshots)?;
    let e = &report.evaluation;
    writeln!(
        out,
        "{} from {} as of {} (rules {})",
        report::plural(e.leads as u64, "lead", "leads"),
        report::plural(e.items as u64, "item", "items"),
        report.as_of,
        &report.rules_hash[..12.min(report.rules_hash.len())]
    )?;
    let counts = store.reader()?.counts_by_type_priority()?;
    report::table::write(out, &report::leads::summary_table(&counts), style)?;
    out.flush()?;
    Ok(())
}

/// Rewrites the `--report` HTML after a rerun, once the indexes it reads are back (see
/// [`tidy`]). The results are committed: a report that cannot be written is worth a message.
fn write_html(store: &Store, args: &WatchArgs, out: &mut dyn Write) -> Result<()> {
    if let Some(path) = &args.report {
        let written = store.reader().and_then(|mut reader| {
            let report = views::report(&mut reader, &LeadFilter::default(), vec![])?;
            report::html::write_file(path, &report)
        });
        match written {
            Ok(()) => writeln!(out, "report: {}", path.display())?,
            Err(e) => eprintln!("{}", e.render()),
        }
        out.flush()?;
    }
    Ok(())
}

/// [`write_html`] when `due`, which it resets. A failure is told, and `Err` means only that
/// stdout is gone: the caller stops.
fn html_when_due(
    store: &Store,
    args: &WatchArgs,
    out: &mut dyn Write,
    due: &mut bool,
) -> Result<()> {
    if !std::mem::take(due) {
        return Ok(());
    }
    match write_html(store, args, out) {
        Err(e) if !e.is_broken_pipe() => {
            eprintln!("{}", e.render());
            Ok(())
        }
        done => done,
    }
}

/// After a report: builds the lead indexes the evaluations left (`pending`), sweeps the texts
/// no lead names any more and copies the log into the database. None of it changes a result,
/// and the results are committed already: a failure is told, and the indexes are tried again
/// after the next save (a missing one makes views slower, not wrong).
///
/// At a million leads this takes seconds, so it looks for a save in `saves` after each index
/// and stops if one came in, so that save's rerun starts within one index build instead of
/// waiting for all of them; the rest are built after that rerun. Each call builds at least one
/// index, so events that change nothing cannot keep it from finishing. Returns the file events
/// it stopped for, if it did; `pending` then holds the indexes still to build.
fn tidy(
    store: &mut Store,
    pending: &mut Vec<Pending>,
    saves: &mpsc::Receiver<DebounceEventResult>,
) -> Option<DebounceEventResult> {
    let t = std::time::Instant::now();
    let built = pending.len();
    let done = (|| {
        while let Some(first) = pending.first() {
            store.finish(first)?;
            pending.remove(0);
            if pending.is_empty() {
                break;
            }
            if let Ok(batch) = saves.try_recv() {
                return Ok(Some(batch));
            }
        }
        store.compact()?;
        Ok(None)
    })();
    match done {
        Ok(stopped_for) => {
            let secs = t.elapsed().as_secs_f64();
            let left = pending.len();
            tracing::info!(target: "timing", "after-report {secs:.3}s {}", built - left);
            stopped_for
        }
        Err::<_, Error>(e) => {
            eprintln!("{}\n(the results above are saved)", e.render());
            None
        }
    }
}

/// Folders to watch. Files are watched through their folder, because editors save by writing a
/// new file and renaming it over the old one, which a watch on the file itself would lose.
fn watch_list(settings: &Settings, config: &Path) -> Vec<(PathBuf, RecursiveMode)> {
    let mut list = vec![(settings.rules_dir.clone(), RecursiveMode::Recursive)];
    let parent = |p: &Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    list.push((parent(config), RecursiveMode::NonRecursive));
    for input in &settings.inputs {
        if input.is_dir() {
            list.push((input.clone(), RecursiveMode::NonRecursive));
        } else {
            list.push((parent(input), RecursiveMode::NonRecursive));
        }
    }
    list.sort();
    list.dedup();
    list
}

/// An absolute form that survives the file being replaced: the canonical folder plus the name.
fn abs(p: &Path) -> PathBuf {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    p.file_name().map_or(dir.clone(), |n| dir.join(n))
}

fn is_input(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    !name.starts_with("~$")
        && !name.starts_with('.')
        && matches!(ext.as_deref(), Some("xlsx" | "csv"))
}

/// Sorts event paths into rules, config and data; everything else (the database itself, editor
/// swap files) is ignored, so our own writes never trigger a rerun.
fn classify<'a>(
    paths: impl Iterator<Item = &'a Path>,
    settings: &Settings,
    config: &Path,
) -> Touched {
    let mut t = Touched::default();
    let rules_dir = settings
        .rules_dir
        .canonicalize()
        .unwrap_or_else(|_| settings.rules_dir.clone());
    let config = abs(config);
    let inputs: Vec<(PathBuf, bool)> = settings
        .inputs
        .iter()
        .map(|i| (i.canonicalize().unwrap_or_else(|_| abs(i)), i.is_dir()))
        .collect();
    for p in paths {
        let p_abs = abs(p);
        if p.extension().is_some_and(|e| e == "rhai") && p_abs.starts_with(&rules_dir) {
            t.rules = true;
        } else if p_abs == config {
            t.config = true;
        } else if is_input(p)
            && inputs.iter().any(|(i, dir)| {
                if *dir {
                    p_abs.parent() == Some(i.as_path())
                } else {
                    p_abs == *i
                }
            })
        {
            t.data = true;
        } else {
            continue;
        }
        if !t.paths.iter().any(|q| q == p) {
            t.paths.push(p.to_path_buf());
        }
    }
    t
}

#[cfg(test)]
mod tests;
