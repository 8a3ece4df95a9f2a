//! Following the log in the background: a [`Follower`] thread applies new entries as soon as
//! the store's head moves, so that no request ever applies entries itself. Requests answer
//! from what is projected and say as of which size.
//!
//! `covenant serve` starts one with the server. It looks at the store's head every
//! [`POLL_INTERVAL`] (an atomic read) and applies whatever is new, one batch of
//! `crate::DEFAULT_BATCH_ENTRIES` at a time, so it stays a few milliseconds behind the ledger
//! and a stop request (on shutdown, after the ledger's last batch) waits for one batch at most;
//! the server then flushes what was applied. A fresh projection (after an upgrade or a
//! `covenant query rebuild`) answers at once, at a smaller `as_of.size`, while it catches up.
//! A failed catch-up is logged and tried again after `RETRY_AFTER`.

use crate::{DEFAULT_BATCH_ENTRIES, Projections, QueryError};
use covenant_store::LogReader;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often an idle follower looks at the store's head: reading it is an atomic load under a
/// lock, so a few milliseconds cost nothing measurable while keeping the projection within a
/// few milliseconds of the log.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// How long the follower waits before trying again after a failed catch-up (a disk error, a
/// corrupt record): the error is logged, and retrying at once would only repeat it.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A thread that keeps [`Projections`] caught up with a [`LogReader`] until stopped.
pub struct Follower {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Start following `store` at once.
    pub fn start(
        projections: Arc<Projections>,
        store: Arc<dyn LogReader>,
    ) -> Result<Self, QueryError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("covenant-query-follower".to_owned())
            .spawn(move || follow(&projections, &*store, &signal))
            .map_err(|error| QueryError::Follower(error.to_string()))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stop after the batch being applied (if any) and wait for the thread to end. Everything
    /// applied so far stays applied; the next follower resumes from the stored count.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the query follower panicked");
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn follow(projections: &Projections, store: &dyn LogReader, stop: &(Mutex<bool>, Condvar)) {
    let (flag, wake) = stop;
    loop {
        let head = store.head().size;
        let applied = projections.applied();
        let pause = if head > applied {
            // One batch at a time, so that a stop request waits for one batch at most even
            // when a fresh projection has millions of entries ahead of it.
            let end = head.min(applied.saturating_add(DEFAULT_BATCH_ENTRIES));
            match projections.catch_up_to(store, end, DEFAULT_BATCH_ENTRIES) {
                Ok(_) => None,
                Err(error) => {
                    tracing::error!(%error, applied, "catch up the query projections");
                    Some(RETRY_AFTER)
                }
            }
        } else {
            Some(POLL_INTERVAL)
        };
        let stopped = flag.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stopped = match pause {
            Some(pause) if !*stopped => {
                wake.wait_timeout(stopped, pause)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0
            }
            _ => stopped,
        };
        if *stopped {
            return;
        }
    }
}
