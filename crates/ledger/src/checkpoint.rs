//! When to sign checkpoints: after a batch moves the head, but at most once per
//! `checkpoint_interval` under load; and when nothing moves, the latest checkpoint is published
//! again once per `idle_checkpoint_interval`, so watchers can tell a quiet log from a dead one.
//!
//! The local clock only schedules signing; nothing it reads goes into the log or the note.
//!
//! With a witness policy the checkpointer hands each checkpoint to the witnessing thread. When
//! publication waits for the witnesses (the default) it only signs, and the witnessing thread
//! stores and publishes the checkpoint once a quorum has cosigned it; with publication at
//! once it also stores and publishes as it would without witnesses.

use crate::LedgerError;
use crate::metrics::LedgerMetrics;
use crate::witnessing::{PublishCheckpoints, ToWitness};
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
    /// With a witness policy, where checkpoints go to be cosigned.
    witnessing: Option<mpsc::Sender<ToWitness>>,
    /// Whether the witnessing thread stores and publishes them (instead of this).
    publication_waits: bool,
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
            publication_waits: false,
            metrics,
        })
    }

    /// From now on, hand checkpoints to the witnessing thread behind `requests`; unless they
    /// are published at once, instead of storing them and returning them for publishing.
    pub(crate) fn witnessed_by(
        self,
        requests: mpsc::Sender<ToWitness>,
        publication: PublishCheckpoints,
    ) -> Self {
        Self {
            witnessing: Some(requests),
            publication_waits: publication == PublishCheckpoints::WhenCosigned,
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
                (Some(latest), true) => Some(ToWitness::Cosign(latest.clone())),
                _ if self.publication_waits => Some(ToWitness::Republish),
                _ => None,
            };
            if let Some(request) = request {
                // A witnessing thread that is gone has logged why; the commit path goes on.
                let _ = witnessing.send(request);
            }
            if self.publication_waits {
                return Ok(None);
            }
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
            if self.publication_waits {
                return Ok(None);
            }
        }
        Ok(self.latest.clone())
    }

    /// Sign the head; unless publication waits for witnesses, also store it (when it waits,
    /// the witnessing thread stores the cosigned note).
    fn sign(&mut self, head: &Head, store: &dyn LogStore, now: Instant) -> Result<(), LedgerError> {
        let note = self.signer.sign(head.size, head.root);
        self.metrics.record_signed_checkpoint();
        if !self.publication_waits {
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
