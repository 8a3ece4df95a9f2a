//! What the running ledger knows about its own progress, for readiness checks.
//!
//! [`LedgerHealth`] is a handle of atomics: the ledger's stages write it as they go (the
//! commit thread after each batch and checkpoint, the input task as the stream reports its
//! end), and the HTTP server reads it on every `/readyz` without locks, channels or parsing of
//! metrics. Cloning it is one reference count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A shared view of the ledger's progress; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LedgerHealth {
    inner: Arc<Progress>,
}

#[derive(Debug, Default)]
struct Progress {
    log_size: AtomicU64,
    /// Whether the ledger consumes a stream (false: embedded, no lag to speak of).
    follows_stream: AtomicBool,
    /// The stream sequence the log has consumed through.
    consumed_seq: AtomicU64,
    /// The highest stream sequence known to exist: from the stream's own state when the
    /// ledger starts, and from each delivered message's sequence plus what the server says is
    /// still pending after it.
    stream_end_seq: AtomicU64,
    checkpoint_size: AtomicU64,
    /// Unix milliseconds when a checkpoint was last signed or published again; 0: never.
    checkpoint_at_ms: AtomicU64,
    /// Set when a peer replica's checkpoint did not match this log: the size it was for.
    /// Never cleared while the process runs; the replica stops signing.
    diverged_at_size: AtomicU64,
    /// The index of the first entry that differs, plus one; 0: not known (yet).
    first_differing_entry: AtomicU64,
    /// Tree size of the newest checkpoint a witness policy's quorum cosigned; 0: none.
    witnessed_size: AtomicU64,
}

/// What a replica found when a peer's checkpoint did not match its own log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Divergence {
    /// The size of the checkpoint that did not match.
    pub size: u64,
    /// The index of the first entry that differs, when a peer's tree could be compared.
    pub first_differing_entry: Option<u64>,
}

/// One reading of [`LedgerHealth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthReading {
    pub log_size: u64,
    /// Messages in the stream the log has not consumed yet; 0 without a stream.
    pub stream_pending: u64,
    /// Tree size of the newest checkpoint signed or published; 0 before the first one.
    pub checkpoint_size: u64,
    /// Time since a checkpoint was last signed or published again; `None` before the first.
    pub checkpoint_age: Option<Duration>,
    /// Set once a peer replica's checkpoint did not match this log.
    pub divergence: Option<Divergence>,
    /// Tree size of the newest checkpoint stored with the witness policy's quorum of
    /// cosignatures; `None` without a policy or before the first.
    pub witnessed_size: Option<u64>,
}

impl LedgerHealth {
    /// The progress as it stands now.
    pub fn read(&self) -> HealthReading {
        let progress = &self.inner;
        let stream_pending = if progress.follows_stream.load(Ordering::Acquire) {
            let end = progress.stream_end_seq.load(Ordering::Acquire);
            end.saturating_sub(progress.consumed_seq.load(Ordering::Acquire))
        } else {
            0
        };
        let at_ms = progress.checkpoint_at_ms.load(Ordering::Acquire);
        let checkpoint_age =
            (at_ms > 0).then(|| Duration::from_millis(unix_ms().saturating_sub(at_ms)));
        HealthReading {
            log_size: progress.log_size.load(Ordering::Acquire),
            stream_pending,
            checkpoint_size: progress.checkpoint_size.load(Ordering::Acquire),
            checkpoint_age,
            witnessed_size: match progress.witnessed_size.load(Ordering::Acquire) {
                0 => None,
                size => Some(size),
            },
            divergence: self.divergence(),
        }
    }

    /// The divergence found, if any; once set, the ledger signs no more checkpoints.
    pub fn divergence(&self) -> Option<Divergence> {
        let size = self.inner.diverged_at_size.load(Ordering::Acquire);
        (size > 0).then(|| Divergence {
            size,
            first_differing_entry: self
                .inner
                .first_differing_entry
                .load(Ordering::Acquire)
                .checked_sub(1),
        })
    }

    /// A peer's checkpoint of `size` did not match this log. The first call wins: later ones
    /// may only add the entry that differs.
    pub(crate) fn record_divergence(&self, divergence: Divergence) {
        let _ = self.inner.diverged_at_size.compare_exchange(
            0,
            divergence.size.max(1),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if let Some(entry) = divergence.first_differing_entry {
            let _ = self.inner.first_differing_entry.compare_exchange(
                0,
                entry.saturating_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    pub(crate) fn set_head(&self, head: &covenant_store::Head) {
        self.inner.log_size.store(head.size, Ordering::Release);
        self.inner
            .consumed_seq
            .store(head.stream_seq, Ordering::Release);
    }

    /// From now on the lag counts: the ledger consumes a stream that ends at `end_seq`.
    pub(crate) fn follow_stream(&self, end_seq: u64) {
        self.inner
            .stream_end_seq
            .fetch_max(end_seq, Ordering::AcqRel);
        self.inner.follows_stream.store(true, Ordering::Release);
    }

    /// A message `seq` was delivered with `pending` more after it.
    pub(crate) fn saw_stream_message(&self, seq: u64, pending: u64) {
        self.inner
            .stream_end_seq
            .fetch_max(seq.saturating_add(pending), Ordering::AcqRel);
    }

    /// A quorum cosigned the checkpoint of `size`, and it is stored.
    pub(crate) fn record_witnessed(&self, size: u64) {
        self.inner.witnessed_size.fetch_max(size, Ordering::AcqRel);
    }

    /// A checkpoint of `size` was signed, or the latest published again.
    pub(crate) fn record_checkpoint(&self, size: u64) {
        self.inner.checkpoint_size.store(size, Ordering::Release);
        self.inner
            .checkpoint_at_ms
            .store(unix_ms().max(1), Ordering::Release);
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_store::Head;

    fn head(size: u64, stream_seq: u64) -> Head {
        Head {
            size,
            chain_head: Default::default(),
            root: Default::default(),
            last_stored_at_ns: 0,
            stream_seq,
        }
    }

    #[test]
    fn lag_is_what_the_stream_holds_beyond_what_the_log_consumed() {
        let health = LedgerHealth::default();
        health.set_head(&head(3, 2));
        assert_eq!(health.read().stream_pending, 0, "embedded: no lag");
        health.follow_stream(10);
        assert_eq!(health.read().stream_pending, 8);
        health.saw_stream_message(5, 20);
        assert_eq!(health.read().stream_pending, 23);
        health.set_head(&head(20, 25));
        assert_eq!(health.read().stream_pending, 0);
    }

    #[test]
    fn checkpoint_age_starts_when_one_is_recorded() {
        let health = LedgerHealth::default();
        assert_eq!(health.read().checkpoint_age, None);
        health.record_checkpoint(7);
        let reading = health.read();
        assert_eq!(reading.checkpoint_size, 7);
        assert_eq!(reading.divergence, None);
        assert!(
            reading
                .checkpoint_age
                .is_some_and(|age| age < Duration::from_secs(5))
        );
    }

    #[test]
    fn the_first_divergence_stays_and_learns_its_entry() {
        let health = LedgerHealth::default();
        assert_eq!(health.divergence(), None);
        health.record_divergence(Divergence {
            size: 9,
            first_differing_entry: None,
        });
        health.record_divergence(Divergence {
            size: 12,
            first_differing_entry: Some(0),
        });
        health.record_divergence(Divergence {
            size: 15,
            first_differing_entry: Some(4),
        });
        assert_eq!(
            health.read().divergence,
            Some(Divergence {
                size: 9,
                first_differing_entry: Some(0)
            })
        );
    }
}
