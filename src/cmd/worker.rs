//! `onelead worker`: evaluates partitions of the install base for runs started with
//! `--workers` (see `score::distribute`), one at a time, until told to stop; and the crew of
//! workers `run --workers N` starts on this machine.
//!
//! A worker claims a partition, evaluates it on every core and stages its outcomes, all in the
//! transaction that holds the partition: killed at any point, it gives the partition back
//! whole. It names itself (host and process) in the work tables and, unless `--quiet`, says
//! what it claims and finishes on stderr.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cli::WorkerArgs;
use crate::error::{Error, Result};
use crate::model::item::Interner;
use crate::pipeline::Settings;
use crate::score::distribute::{self, Prepared, Setup};
use crate::store::api::WorkDone;
use crate::store::{Location, Store};

/// How long an idle worker waits before it looks for work again.
const IDLE: Duration = Duration::from_millis(250);

/// Runs `onelead worker`.
pub fn run(args: &WorkerArgs) -> Result<()> {
    let settings = Settings::resolve(&args.db.config, args.db.db.as_deref(), &[], None, None)?;
    if let Some(n) = args.threads {
        // Only fails when a pool already exists, which then serves as well.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    let mut store = Store::open_existing(&settings.db)?;
    let name = format!("{}:{}", host(), std::process::id());
    let say = |text: String| {
        if !args.quiet {
            eprintln!("worker {name}: {text}");
        }
    };
    say(format!("waiting for work on {}", settings.db));
    let mut prepared: Option<(i64, Prepared)> = None;
    loop {
        let Some(mut claim) = store.claim(args.work)? else {
            let open = store.open_parts(args.work)?;
            if (args.exit_when_done || args.work.is_some()) && open == 0 {
                return Ok(());
            }
            std::thread::sleep(IDLE);
            continue;
        };
        let (work, part) = (claim.work(), claim.part());
        say(format!("claimed partition {part} of run {work}"));
        let started = Instant::now();
        if prepared.as_ref().is_none_or(|(w, _)| *w != work) {
            drop(prepared.take());
            let setup = Setup::from_bytes(&claim.setup()?)?;
            prepared = Some((work, distribute::prepare(setup)?));
        }
        let Some((_, p)) = &prepared else { continue };
        let rows = claim.items(&mut Interner::default())?;
        let outcomes = distribute::evaluate(p, &rows);
        claim.finish(&outcomes, &name)?;
        say(format!(
            "partition {part} of run {work} done: {} items in {:.1} s",
            rows.len(),
            started.elapsed().as_secs_f64()
        ));
    }
}

/// This machine's name, for the work tables.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The workers `run --workers N` starts here: started once the run has published its work,
/// started again when one dies (up to three times as many as asked for in all), and killed
/// when the run ends, whichever way it ends.
pub struct Crew {
    wanted: usize,
    db: Location,
    config: std::path::PathBuf,
    state: Mutex<CrewState>,
}

#[derive(Default)]
struct CrewState {
    children: Vec<Child>,
    started: usize,
    told: bool,
}

impl Crew {
    /// A crew of `wanted` workers for the run on `db` (none: the run waits for workers
    /// started elsewhere).
    pub fn new(wanted: usize, db: &Location, config: &std::path::Path) -> Crew {
        Crew {
            wanted,
            db: db.clone(),
            config: config.to_path_buf(),
            state: Mutex::new(CrewState::default()),
        }
    }

    /// Called while the run waits: starts and restarts the workers, or says what it waits for.
    pub fn supervise(&self, work: i64, done: WorkDone) -> Result<()> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| Error::Usage("the worker crew was poisoned (a onelead bug)".into()))?;
        if self.wanted == 0 {
            if !st.told {
                st.told = true;
                eprintln!(
                    "run {work}: waiting for workers (start `onelead worker --db {}` where the \
                     rules may run; {} partitions done so far)",
                    self.db, done.parts
                );
            }
            return Ok(());
        }
        st.children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        while st.children.len() < self.wanted {
            if st.started >= 3 * self.wanted {
                if st.children.is_empty() {
                    return Err(Error::Usage(format!(
                        "the worker processes of run {work} keep failing; their errors are above"
                    )));
                }
                break;
            }
            let child = self.start(work)?;
            st.children.push(child);
            st.started += 1;
        }
        Ok(())
    }

    fn start(&self, work: i64) -> Result<Child> {
        let exe = std::env::current_exe().map_err(|e| Error::io("onelead", e))?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let threads = (cores / self.wanted).max(1);
        let mut cmd = Command::new(exe);
        cmd.args(["worker", "--exit-when-done", "--quiet"])
            .args([
                "--work",
                &work.to_string(),
                "--threads",
                &threads.to_string(),
            ])
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // The URL with its password goes by the environment, not the command line others see.
        match &self.db {
            Location::Postgres(url) => cmd.env("ONELEAD_DB", url.secret()),
            Location::Sqlite(path) => cmd.env("ONELEAD_DB", path),
        };
        cmd.spawn().map_err(|e| Error::io("onelead worker", e))
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        if let Ok(st) = self.state.get_mut() {
            for c in &mut st.children {
                // A worker that already ended cannot be killed; nothing else can go wrong.
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
