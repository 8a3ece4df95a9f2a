//! When a sled engine is due to be reopened, and what its reopenings have cost: the
//! bookkeeping the log store and the query projections share (each reopens its own engine so
//! that a restart replays only the newest part of sled's log; see `sled_store::engine`).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What one refresh cost: how long it held the engine's users out, and how much of that sled
/// spent opening the engine again (reading its page table and the log after it, writing a new
/// snapshot); the rest flushes and closes the old engine and checks the new one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshCost {
    pub held: Duration,
    pub engine_open: Duration,
}

/// The longest refresh and the latest.
#[derive(Debug, Default)]
struct Costs {
    longest: RefreshCost,
    last: Option<RefreshCost>,
}

/// The refresh schedule and record of one engine.
#[derive(Debug)]
pub struct Refreshes {
    /// Entries between refreshes, at least.
    every: AtomicU64,
    /// The entry count when the engine was last opened.
    opened_at: AtomicU64,
    /// Bytes sled has flushed to its log since the engine was last opened: what an open
    /// would replay.
    flushed_since_open: AtomicU64,
    /// Log bytes between refreshes, at most (none unless set).
    every_log_bytes: AtomicU64,
    count: AtomicU64,
    costs: Mutex<Costs>,
}

impl Refreshes {
    /// A schedule of a refresh every `every` entries, for an engine opened at `opened_at`.
    pub fn new(every: u64, opened_at: u64) -> Self {
        Self {
            every: AtomicU64::new(every.max(1)),
            opened_at: AtomicU64::new(opened_at),
            flushed_since_open: AtomicU64::new(0),
            every_log_bytes: AtomicU64::new(u64::MAX),
            count: AtomicU64::new(0),
            costs: Mutex::new(Costs::default()),
        }
    }

    /// Refresh every `entries` entries from now on (tests, to see refreshes without writing
    /// that many).
    pub fn set_every(&self, entries: u64) {
        self.every.store(entries.max(1), Ordering::Relaxed);
    }

    /// The entries between refreshes, before any growth the caller applies.
    pub fn every(&self) -> u64 {
        self.every.load(Ordering::Relaxed)
    }

    /// Refresh also once sled has flushed `bytes` to its log since the engine opened (the
    /// engine's owner reports them with [`Refreshes::flushed`]).
    pub fn set_every_log_bytes(&self, bytes: u64) {
        self.every_log_bytes.store(bytes.max(1), Ordering::Relaxed);
    }

    /// The log bytes between refreshes, at most (`u64::MAX` unless set).
    pub fn every_log_bytes(&self) -> u64 {
        self.every_log_bytes.load(Ordering::Relaxed)
    }

    /// Whether `interval` entries or more have been written since the engine was opened, now
    /// that there are `size`, or the log bytes set with [`Refreshes::set_every_log_bytes`]
    /// flushed.
    pub fn is_due(&self, size: u64, interval: u64) -> bool {
        size.saturating_sub(self.opened_at.load(Ordering::Relaxed)) >= interval
            || self.flushed_since_open() >= self.every_log_bytes()
    }

    /// The engine was opened again when there were `size` entries.
    pub fn opened(&self, size: u64) {
        self.opened_at.store(size, Ordering::Relaxed);
        self.flushed_since_open.store(0, Ordering::Relaxed);
    }

    /// sled flushed `bytes` to its log (what `sled::Db::flush` returns).
    pub fn flushed(&self, bytes: usize) {
        self.flushed_since_open
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes sled has flushed to its log since the engine was last opened.
    pub fn flushed_since_open(&self) -> u64 {
        self.flushed_since_open.load(Ordering::Relaxed)
    }

    /// A refresh cost `cost`, whether or not it succeeded; `reopened` if it did.
    pub fn record(&self, cost: RefreshCost, reopened: Option<u64>) {
        let mut costs = self.costs.lock();
        if cost.held > costs.longest.held {
            costs.longest = cost;
        }
        costs.last = Some(cost);
        drop(costs);
        if let Some(size) = reopened {
            self.opened(size);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Refreshes that reopened the engine.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The longest a refresh has taken.
    pub fn longest(&self) -> Duration {
        self.longest_cost().held
    }

    /// The longest refresh's cost, in its parts.
    pub fn longest_cost(&self) -> RefreshCost {
        self.costs.lock().longest
    }

    /// The latest refresh's cost, if there has been one.
    pub fn last_cost(&self) -> Option<RefreshCost> {
        self.costs.lock().last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(held_ms: u64, engine_open_ms: u64) -> RefreshCost {
        RefreshCost {
            held: Duration::from_millis(held_ms),
            engine_open: Duration::from_millis(engine_open_ms),
        }
    }

    #[test]
    fn due_once_the_interval_is_written_since_the_last_open() {
        let refreshes = Refreshes::new(10, 100);
        assert!(!refreshes.is_due(109, refreshes.every()));
        assert!(refreshes.is_due(110, refreshes.every()));
        assert!(
            !refreshes.is_due(50, 10),
            "a size below the open is never due"
        );
        refreshes.record(cost(3, 2), None);
        assert_eq!(refreshes.count(), 0, "a failed refresh opens nothing");
        assert!(refreshes.is_due(110, 10));
        refreshes.record(cost(2, 1), Some(110));
        assert_eq!(refreshes.count(), 1);
        assert_eq!(refreshes.longest(), Duration::from_millis(3));
        assert!(!refreshes.is_due(119, 10));
        assert!(refreshes.is_due(120, 10));
        refreshes.set_every(0);
        assert_eq!(refreshes.every(), 1);
    }

    #[test]
    fn due_once_the_log_bytes_are_flushed_since_the_last_open_if_bounded() {
        let refreshes = Refreshes::new(1_000, 100);
        refreshes.flushed(300);
        refreshes.flushed(200);
        assert_eq!(refreshes.flushed_since_open(), 500);
        assert!(
            !refreshes.is_due(101, 1_000),
            "no bound on bytes unless set"
        );
        assert_eq!(refreshes.every_log_bytes(), u64::MAX);
        refreshes.set_every_log_bytes(501);
        assert!(!refreshes.is_due(101, 1_000));
        refreshes.set_every_log_bytes(500);
        assert!(refreshes.is_due(101, 1_000));
        refreshes.record(cost(1, 1), None);
        assert_eq!(
            refreshes.flushed_since_open(),
            500,
            "a failed refresh opens nothing"
        );
        refreshes.record(cost(1, 1), Some(101));
        assert_eq!(
            refreshes.flushed_since_open(),
            0,
            "counted again from the open"
        );
        assert!(!refreshes.is_due(101, 1_000));
    }

    #[test]
    fn the_longest_refresh_keeps_its_own_parts_and_the_latest_is_kept() {
        let refreshes = Refreshes::new(10, 0);
        assert_eq!(refreshes.last_cost(), None);
        assert_eq!(refreshes.longest_cost(), RefreshCost::default());
        refreshes.record(cost(3, 2), None);
        refreshes.record(cost(2, 1), Some(10));
        assert_eq!(refreshes.longest_cost(), cost(3, 2));
        assert_eq!(refreshes.last_cost(), Some(cost(2, 1)));
        refreshes.record(cost(3, 3), Some(20));
        assert_eq!(
            refreshes.longest_cost(),
            cost(3, 2),
            "one as long is not longer"
        );
        refreshes.record(cost(4, 1), Some(30));
        assert_eq!(refreshes.longest_cost(), cost(4, 1));
        assert_eq!(refreshes.longest(), Duration::from_millis(4));
        assert_eq!(refreshes.last_cost(), Some(cost(4, 1)));
    }
}
