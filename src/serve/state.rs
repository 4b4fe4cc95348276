//! The state every handler shares: pooled connections, the configuration, and the applier that
//! folds recorded workflow changes into the lead database (`store::journal`).
//!
//! SQLite calls block, so every one runs on tokio's blocking pool; a semaphore bounds how many
//! run at once, which bounds the open connections and their page caches (the server's memory)
//! whatever the number of clients.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use super::AppError;
use crate::config::Config;
use crate::error::Result;
use crate::store::Store;
use crate::store::desk::Desk;
use crate::store::journal;
use crate::store::pool::Pools;
use crate::store::read::Reader;

/// Database work running at once; also the idle connections kept per database.
const WORKERS: usize = 6;

/// How long the applier waits for a run to let go of the lead database before trying later:
/// short, because a status change is answered only after this attempt, and a run holds the
/// database for many seconds (the change is kept in the journal and applied after it).
const APPLY_WAIT: Duration = Duration::from_millis(50);

/// How often the applier retries while changes are pending: how long after a run lets go its
/// changes may still wait (each retry only sleeps on the applier's thread).
const APPLY_RETRY: Duration = Duration::from_millis(250);

/// What handlers share (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    pools: Pools,
    permits: Arc<Semaphore>,
    cfg: Config,
    applier: Mutex<mpsc::Sender<Wake>>,
    /// Set while the applier's last attempt found a run holding the lead database.
    held: Arc<AtomicBool>,
}

/// A request to the applier: apply now, and say whether everything recorded so far is in.
type Wake = Option<oneshot::Sender<bool>>;

impl Inner {
    async fn permits_owned(
        self: Arc<Self>,
    ) -> std::result::Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::AcquireError> {
        Arc::clone(&self.permits).acquire_owned().await
    }
}

impl AppState {
    /// Opens the pools for the lead database at `db` and starts the applier.
    pub fn open(db: &crate::store::Location, cfg: Config) -> Result<AppState> {
        let pools = Pools::open(db, WORKERS)?;
        let mut writer = Store::open_existing(db)?;
        let desk = Desk::open(db)?;
        let (tx, rx) = mpsc::channel();
        let held = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&held);
        std::thread::Builder::new()
            .name("onelead-applier".into())
            .spawn(move || applier(&mut writer, &desk, &rx, &flag))
            .map_err(crate::error::Error::Output)?;
        Ok(AppState(Arc::new(Inner {
            pools,
            permits: Arc::new(Semaphore::new(WORKERS)),
            cfg,
            applier: Mutex::new(tx),
            held,
        })))
    }

    /// The configuration.
    pub fn cfg(&self) -> &Config {
        &self.0.cfg
    }

    /// Runs `f` with a lead database reader and a desk connection, off the async threads.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Reader, &Desk) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .0
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("the server is stopping".into()))?;
        let inner = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let mut reader = inner.pools.leads.get()?;
            let desk = inner.pools.desk.get()?;
            f(&mut reader, &desk)
        })
        .await
        .map_err(|e| AppError::Internal(format!("a request task failed: {e}")))?
        .map_err(AppError::from)
    }

    /// Starts `f` with a lead database reader and a desk connection, off the async threads, and
    /// returns at once: for answers written as they are read (`f` sends them on a channel).
    pub async fn spawn_db<F>(&self, f: F) -> Result<(), AppError>
    where
        F: FnOnce(&mut Reader, &Desk) -> Result<()> + Send + 'static,
    {
        let permit = Arc::clone(&self.0)
            .permits_owned()
            .await
            .map_err(|_| AppError::Internal("the server is stopping".into()))?;
        let inner = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let run = || -> Result<()> {
                let mut reader = inner.pools.leads.get()?;
                let desk = inner.pools.desk.get()?;
                f(&mut reader, &desk)
            };
            // The client has the status line already; a failure now can only cut the answer
            // short (the sender is dropped), and the log says why.
            if let Err(e) = run() {
                if !e.is_broken_pipe() {
                    eprintln!("{}", e.render());
                }
            }
        });
        Ok(())
    }

    /// Asks the applier to apply what is recorded and waits (briefly) for the answer: true when
    /// the lead database holds every change recorded so far; false when a run holds it (the
    /// changes are kept and applied when it ends).
    ///
    /// While the applier's last attempt found a run holding the database, the answer is false
    /// at once: the applier is retrying anyway, and another wait of [`APPLY_WAIT`] (behind the
    /// attempt in progress) only delayed the answer of every change made during a run.
    pub async fn apply_now(&self) -> bool {
        if self.0.held.load(Ordering::Acquire) {
            return false;
        }
        let (tx, rx) = oneshot::channel();
        let sent = self
            .0
            .applier
            .lock()
            .is_ok_and(|a| a.send(Some(tx)).is_ok());
        if !sent {
            return false;
        }
        tokio::time::timeout(Duration::from_secs(1), rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false)
    }

    /// How many users exist (the listen-address check).
    pub fn user_count(&self) -> Result<i64> {
        self.0.pools.desk.get()?.user_count()
    }

    /// Stops the applier after one last attempt, waiting for a running `run` for a while.
    pub fn finish(&self) {
        if let Ok(a) = self.0.applier.lock() {
            let _ = a.send(None);
        }
    }
}

/// The applier thread: applies the journal whenever woken, and every [`APPLY_RETRY`] while
/// something is pending; `held` says whether its last attempt found a run holding the lead
/// database. A request with no reply channel is the last one.
fn applier(writer: &mut Store, desk: &Desk, wake: &mpsc::Receiver<Wake>, held: &AtomicBool) {
    let mut pending = true;
    loop {
        let msg = if pending {
            match wake.recv_timeout(APPLY_RETRY) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match wake.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            }
        };
        let mut last = matches!(msg, Some(None));
        // Every request queued meanwhile shares this one attempt: while a run holds the
        // database, each waited its own turn of `APPLY_WAIT` behind the others.
        let mut replies: Vec<oneshot::Sender<bool>> = Vec::new();
        if let Some(Some(reply)) = msg {
            replies.push(reply);
        }
        while let Ok(more) = wake.try_recv() {
            match more {
                Some(reply) => replies.push(reply),
                None => last = true,
            }
        }
        let wait = if last {
            Duration::from_secs(5)
        } else {
            APPLY_WAIT
        };
        let done = match journal::try_apply(writer, desk, wait) {
            Ok(Some(_)) => true,
            Ok(None) => {
                held.store(true, Ordering::Release);
                false
            }
            Err(e) => {
                eprintln!("{}", e.render());
                false
            }
        };
        if done {
            held.store(false, Ordering::Release);
        }
        pending = !done;
        for reply in replies {
            let _ = reply.send(done);
        }
        if last {
            if !done {
                eprintln!(
                    "note: some status changes are still waiting for a run to finish; the next \
                     `onelead run` or `serve` applies them"
                );
            }
            return;
        }
    }
}
