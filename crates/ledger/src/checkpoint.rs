//! When to sign checkpoints: after a batch moves the head, but at most once per
//! `checkpoint_interval` under load; and when nothing moves, the latest checkpoint is published
//! again once per `idle_checkpoint_interval`, so watchers can tell a quiet log from a dead one.
//!
//! The local clock only schedules signing; nothing it reads goes into the log or the note.
//!
//! With a witness policy the checkpointer only signs: it hands each checkpoint to the
//! witnessing thread, which stores and publishes it once a quorum has cosigned it.

use crate::LedgerError;
use crate::metrics::LedgerMetrics;
use crate::witnessing::ToWitness;
use covenant_core::checkpoint::LogSigner;
use covenant_store::{Head, LogStore};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A signed, stored checkpoint note for a tree of `size` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub note: Vec<u8>,
}

pub(crate) struct Checkpointer {
    signer: LogSigner,
    min_interval: Duration,
    idle_interval: Duration,
    latest: Option<SignedCheckpoint>,
    /// When a new checkpoint was last signed.
    signed_at: Option<Instant>,
    /// When a checkpoint was last handed out for publishing.
    published_at: Option<Instant>,
    /// With a witness policy, where checkpoints go instead of the store and the publisher.
    witnessing: Option<mpsc::Sender<ToWitness>>,
    metrics: LedgerMetrics,
}

impl Checkpointer {
    pub(crate) fn new(
        signer: LogSigner,
        min_interval: Duration,
        idle_interval: Duration,
        store: &dyn LogStore,
        metrics: LedgerMetrics,
    ) -> Result<Self, LedgerError> {
        let latest = store
            .latest_checkpoint()?
            .map(|(size, note)| SignedCheckpoint { size, note });
        Ok(Self {
            signer,
            min_interval,
            idle_interval,
            latest,
            signed_at: None,
            published_at: None,
            witnessing: None,
            metrics,
        })
    }

    /// From now on, hand checkpoints to the witnessing thread behind `requests` instead of
    /// storing them and returning them for publishing.
    pub(crate) fn witnessed_by(self, requests: mpsc::Sender<ToWitness>) -> Self {
        Self {
            witnessing: Some(requests),
            ..self
        }
    }

    pub(crate) fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    fn covers(&self, head: &Head) -> bool {
        self.latest
            .as_ref()
            .is_some_and(|latest| latest.size == head.size)
    }

    /// How long until something is due for `head` (zero when it is due now).
    pub(crate) fn due_in(&self, head: &Head, now: Instant) -> Duration {
        let (since, interval) = if self.covers(head) {
            (self.published_at, self.idle_interval)
        } else {
            (self.signed_at, self.min_interval)
        };
        since.map_or(Duration::ZERO, |since| {
            (since + interval).saturating_duration_since(now)
        })
    }

    /// The checkpoint to publish now, if one is due, and whether it was newly signed (and
    /// stored) because the head moved, or is the latest one again because the log was idle.
    pub(crate) fn poll(
        &mut self,
        head: &Head,
        store: &dyn LogStore,
        now: Instant,
    ) -> Result<Option<(SignedCheckpoint, bool)>, LedgerError> {
        if !self.due_in(head, now).is_zero() {
            return Ok(None);
        }
        let newly_signed = !self.covers(head);
        if newly_signed {
            self.sign(head, store, now)?;
        }
        self.published_at = Some(now);
        if let Some(witnessing) = &self.witnessing {
            let request = match (&self.latest, newly_signed) {
                (Some(latest), true) => ToWitness::Cosign(latest.clone()),
                _ => ToWitness::Republish,
            };
            // A witnessing thread that is gone has logged why; the commit path goes on.
            let _ = witnessing.send(request);
            return Ok(None);
        }
        Ok(self.latest.clone().map(|latest| (latest, newly_signed)))
    }

    /// On shutdown: sign the head if no checkpoint covers it yet.
    pub(crate) fn finish(
        &mut self,
        head: &Head,
        store: &dyn LogStore,
        now: Instant,
    ) -> Result<Option<SignedCheckpoint>, LedgerError> {
        if self.covers(head) {
            return Ok(None);
        }
        self.sign(head, store, now)?;
        if let (Some(witnessing), Some(latest)) = (&self.witnessing, &self.latest) {
            let _ = witnessing.send(ToWitness::Cosign(latest.clone()));
            return Ok(None);
        }
        Ok(self.latest.clone())
    }

    /// Sign the head; without witnesses, also store it (with witnesses, the witnessing thread
    /// stores the cosigned note).
    fn sign(&mut self, head: &Head, store: &dyn LogStore, now: Instant) -> Result<(), LedgerError> {
        let note = self.signer.sign(head.size, head.root);
        self.metrics.record_signed_checkpoint();
        if self.witnessing.is_none() {
            store.put_checkpoint(head.size, &note)?;
        }
        self.latest = Some(SignedCheckpoint {
            size: head.size,
            note,
        });
        self.signed_at = Some(now);
        Ok(())
    }
}
