//! When a sled engine is due to be reopened, and what its reopenings have cost: the
//! bookkeeping the log store and the query projections share (each reopens its own engine so
//! that a restart replays only the newest part of sled's log; see `sled_store::engine`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The refresh schedule and record of one engine.
#[derive(Debug)]
pub struct Refreshes {
    /// Entries between refreshes, at least.
    every: AtomicU64,
    /// The entry count when the engine was last opened.
    opened_at: AtomicU64,
    count: AtomicU64,
    longest_ns: AtomicU64,
}

impl Refreshes {
    /// A schedule of a refresh every `every` entries, for an engine opened at `opened_at`.
    pub fn new(every: u64, opened_at: u64) -> Self {
        Self {
            every: AtomicU64::new(every.max(1)),
            opened_at: AtomicU64::new(opened_at),
            count: AtomicU64::new(0),
            longest_ns: AtomicU64::new(0),
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

    /// Whether `interval` entries or more have been written since the engine was opened, now
    /// that there are `size`.
    pub fn is_due(&self, size: u64, interval: u64) -> bool {
        size.saturating_sub(self.opened_at.load(Ordering::Relaxed)) >= interval
    }

    /// The engine was opened again when there were `size` entries.
    pub fn opened(&self, size: u64) {
        self.opened_at.store(size, Ordering::Relaxed);
    }

    /// A refresh took `held`, whether or not it succeeded; `reopened` if it did.
    pub fn record(&self, held: Duration, reopened: Option<u64>) {
        let held = u64::try_from(held.as_nanos()).unwrap_or(u64::MAX);
        self.longest_ns.fetch_max(held, Ordering::Relaxed);
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
        Duration::from_nanos(self.longest_ns.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_the_interval_is_written_since_the_last_open() {
        let refreshes = Refreshes::new(10, 100);
        assert!(!refreshes.is_due(109, refreshes.every()));
        assert!(refreshes.is_due(110, refreshes.every()));
        assert!(
            !refreshes.is_due(50, 10),
            "a size below the open is never due"
        );
        refreshes.record(Duration::from_millis(3), None);
        assert_eq!(refreshes.count(), 0, "a failed refresh opens nothing");
        assert!(refreshes.is_due(110, 10));
        refreshes.record(Duration::from_millis(2), Some(110));
        assert_eq!(refreshes.count(), 1);
        assert_eq!(refreshes.longest(), Duration::from_millis(3));
        assert!(!refreshes.is_due(119, 10));
        assert!(refreshes.is_due(120, 10));
        refreshes.set_every(0);
        assert_eq!(refreshes.every(), 1);
    }
}
