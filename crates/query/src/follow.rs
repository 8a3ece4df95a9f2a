//! Following the log in the background: a [`Follower`] thread applies new entries as soon as
//! the store's head moves, so that no request ever applies entries itself. Requests answer
//! from what is projected and say as of which size.
//!
//! `covenant serve` starts one with the server. It looks at the store's head every
//! [`POLL_INTERVAL`] (an atomic read) and applies whatever is new, a few batches at a time, so
//! it stays a few milliseconds behind the ledger and a stop request (on shutdown, after the
//! ledger's last batch) waits for a few batches at most; the server then flushes what was
//! applied.
//!
//! Batches are sized so that applying one holds the engine for about [`HOLD_TARGET`] at most
//! while the log grows, [`AT_REST_HOLD_TARGET`] while it rests (`next_batch_entries`). sled
//! applies a batch under a lock that every read and write of every sled database in the
//! process waits for (its concurrency control is process-wide), and the projections' own gate
//! keeps queries off for the same time: so while a replica's ledger drains the stream, a batch
//! of `crate::DEFAULT_BATCH_ENTRIES` (some 45,000 keys) would make the queries, the log
//! store's reads and the ledger's appends wait for it, for up to a second on a loaded machine.
//! Larger batches write each aggregate fewer times, so the size grows again while batches are
//! quick, and while the log rests a batch may hold them longer.
//!
//! A fresh projection (after an upgrade or a `covenant query rebuild`) answers at once, at a
//! smaller `as_of.size`, while it catches up. A failed catch-up is logged and tried again
//! after `RETRY_AFTER`.

use crate::{DEFAULT_BATCH_ENTRIES, Overlap, Projections, QueryError};
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

/// The longest a follower's batch should hold the engine and the readers' gate while the log
/// grows by a batch or more a round: a ledger in the process is appending, and waits for sled's
/// lock as long as the batch holds it.
pub const HOLD_TARGET: Duration = Duration::from_millis(50);

/// The same while the log is at rest (it grew by less than a batch since the last round: a
/// projection catching up after an upgrade, or a new replica's once its log is complete). Long
/// enough for a batch of `crate::DEFAULT_BATCH_ENTRIES`, which writes each touched aggregate
/// and record once per 8,192 entries rather than once per 1,000 to 2,000: over a new
/// replica's catch-up, 4.59 engine writes an entry instead of 5.69 at ten million (1.39 times
/// as fast once its log was complete; BENCHMARKS.md). Queries wait that long at most while
/// the projection is behind; a follower within a batch of the head applies small batches
/// anyway.
pub const AT_REST_HOLD_TARGET: Duration = Duration::from_millis(200);

/// The hold a follower's batches aim for under `overlap` (`overlap_for`).
fn hold_target(overlap: Overlap) -> Duration {
    match overlap {
        Overlap::Writes => AT_REST_HOLD_TARGET,
        Overlap::None => HOLD_TARGET,
    }
}

/// Batches a follower hands to one catch-up: each is prepared while sled writes the one before
/// (`Projections::catch_up_to`), so a call of one batch would leave the second core idle; and a
/// stop request waits for this many batches at most.
const BATCHES_PER_ROUND: u64 = 4;

/// Whether a round may prepare a batch while sled writes the one before: only while the log
/// grew by less than a batch since the last round. A log still growing faster than that has a
/// ledger draining into it in this process (a new replica), which needs the second core and
/// sled's process-wide lock more than the projections do; a log at rest (after an upgrade
/// re-projects it, or once a new replica's log is complete) gives the projections both.
fn overlap_for(grown: u64, batch_entries: u64) -> Overlap {
    if grown < batch_entries {
        Overlap::Writes
    } else {
        Overlap::None
    }
}

/// The smallest batch a follower applies, however slow the engine: below it, every batch
/// rewriting the same aggregates costs more than the shorter waits save.
const MIN_BATCH_ENTRIES: u64 = 128;

/// The batch to apply after one of `entries` that held the gate for `held`: half as large if
/// it held it longer than `target`, twice as large if for under a quarter of it, within
/// [`MIN_BATCH_ENTRIES`] and `crate::DEFAULT_BATCH_ENTRIES`.
fn next_batch_entries(entries: u64, held: Duration, target: Duration) -> u64 {
    if held > target {
        (entries / 2).max(MIN_BATCH_ENTRIES)
    } else if held < target / 4 {
        entries.saturating_mul(2).min(DEFAULT_BATCH_ENTRIES)
    } else {
        entries
    }
}

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
    let mut batch_entries = MIN_BATCH_ENTRIES;
    let mut last_head = store.head().size;
    loop {
        let head = store.head().size;
        let overlap = overlap_for(head.saturating_sub(last_head), batch_entries);
        last_head = head;
        let applied = projections.applied();
        let pause = if head > applied {
            // A few batches at a time, so that a stop request waits for a few batches at most
            // even when a fresh projection has millions of entries ahead of it.
            let round = batch_entries.saturating_mul(BATCHES_PER_ROUND);
            let end = head.min(applied.saturating_add(round));
            match projections.catch_up_overlapping(store, end, batch_entries, overlap) {
                Ok(_) => {
                    // A short round (the ledger's latest few entries) says nothing about
                    // whether a full batch would be quick, only when it was slow.
                    let (held, target) = (projections.last_gate_hold(), hold_target(overlap));
                    if end - applied == round || held > target {
                        batch_entries = next_batch_entries(batch_entries, held, target);
                    }
                    None
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_slow_batch_halves_the_next_down_to_the_minimum() {
        assert_eq!(
            next_batch_entries(4_096, HOLD_TARGET + MS, HOLD_TARGET),
            2_048
        );
        assert_eq!(
            next_batch_entries(200, HOLD_TARGET * 10, HOLD_TARGET),
            MIN_BATCH_ENTRIES
        );
    }

    #[test]
    fn a_quick_batch_doubles_the_next_up_to_the_default() {
        assert_eq!(
            next_batch_entries(1_024, HOLD_TARGET / 4 - MS, HOLD_TARGET),
            2_048
        );
        assert_eq!(
            next_batch_entries(6_000, Duration::ZERO, HOLD_TARGET),
            DEFAULT_BATCH_ENTRIES
        );
    }

    #[test]
    fn batches_overlap_only_while_the_log_grows_by_less_than_a_batch_a_round() {
        assert_eq!(overlap_for(0, 512), Overlap::Writes);
        assert_eq!(overlap_for(511, 512), Overlap::Writes);
        assert_eq!(overlap_for(512, 512), Overlap::None);
        assert_eq!(overlap_for(40_000, 8_192), Overlap::None);
    }

    #[test]
    fn batches_hold_longer_while_the_log_is_at_rest() {
        assert_eq!(hold_target(Overlap::None), HOLD_TARGET);
        assert_eq!(hold_target(Overlap::Writes), AT_REST_HOLD_TARGET);
        let next = |held, overlap| next_batch_entries(2_048, held, hold_target(overlap));
        // A hold that halves a batch while the ledger appends keeps it while the log rests,
        // and one that keeps it then doubles it now.
        assert_eq!(next(HOLD_TARGET + MS, Overlap::None), 1_024);
        assert_eq!(next(HOLD_TARGET + MS, Overlap::Writes), 2_048);
        assert_eq!(next(HOLD_TARGET / 2, Overlap::None), 2_048);
        assert_eq!(next(HOLD_TARGET / 2, Overlap::Writes), 4_096);
    }

    #[test]
    fn a_batch_within_the_target_keeps_its_size() {
        assert_eq!(next_batch_entries(1_024, HOLD_TARGET, HOLD_TARGET), 1_024);
        assert_eq!(
            next_batch_entries(1_024, HOLD_TARGET / 4, HOLD_TARGET),
            1_024
        );
    }
}
