//! The emitter: publishing with an on-disk outbox.
//!
//! The write path for each event, in order:
//! 1. the envelope bytes are written to the outbox (file fsynced, renamed, directory fsynced);
//! 2. they are published: to JetStream with `Nats-Msg-Id` = the digest of the bytes, or by
//!    `POST /v1/events` to a ledger without a broker ([`crate::publish::Transport`]);
//! 3. the receipt arrives, JetStream's ack or the ledger's answer (faults are retried with
//!    backoff until it does);
//! 4. the outbox file is removed.
//!
//! A crash before 1 completes loses nothing the caller was told was sent. A crash anywhere
//! after it leaves the file, and [`Emitter::open`] re-sends every pending file, with the same
//! bytes under the same event id, before anything new. If the broker had already stored it,
//! JetStream drops the copy (duplicate window) and the ledger's event-id index drops it after
//! that (over HTTPS, the index alone), so an event is never lost and never doubled.
//!
//! Crash tests stop an emitter at a chosen point with the environment variable
//! `COVENANT_EMIT_HALT_AT` (`before-publish` or `after-publish`): the emitter prints
//! `covenant-emit halted ...` on stderr and waits to be killed.

use crate::EmitError;
use crate::build::SealedEvent;
use crate::outbox::Outbox;
use crate::publish::{HaltPoint, PublisherConfig, Receipt, Transport, halt};
use std::path::PathBuf;

/// The environment variable crash tests use to stop an emitter at a chosen point.
pub const HALT_AT_ENV: &str = "COVENANT_EMIT_HALT_AT";

/// Where to publish and where to keep the outbox.
#[derive(Debug, Clone)]
pub struct EmitterConfig {
    pub publisher: PublisherConfig,
    /// The outbox directory: one emitter process per directory.
    pub outbox_dir: PathBuf,
}

impl EmitterConfig {
    pub fn new(nats_url: impl Into<String>, outbox_dir: impl Into<PathBuf>) -> Self {
        Self {
            publisher: PublisherConfig::new(nats_url),
            outbox_dir: outbox_dir.into(),
        }
    }
}

/// Publishes events durably: see the module documentation for the guarantees.
#[derive(Debug)]
pub struct Emitter {
    transport: Transport,
    outbox: Outbox,
    halt_at: Option<HaltPoint>,
    recovered: Vec<Receipt>,
}

impl Emitter {
    /// Connect, then re-send everything left in the outbox by an earlier run.
    pub async fn open(config: EmitterConfig) -> Result<Self, EmitError> {
        let halt_at = halt_point_from_env()?;
        let outbox = Outbox::open(&config.outbox_dir)?;
        let mut transport = Transport::connect(config.publisher).await?;
        if let Transport::Nats(publisher) = &mut transport {
            publisher.halt_at = halt_at;
        }
        let mut emitter = Self {
            transport,
            outbox,
            halt_at,
            recovered: vec![],
        };
        emitter.recovered = emitter.resend_outbox().await?;
        Ok(emitter)
    }

    /// Receipts of the events [`Emitter::open`] found in the outbox and re-sent.
    pub fn recovered(&self) -> &[Receipt] {
        &self.recovered
    }

    /// Events in the outbox not yet acknowledged.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// Where events go: NATS or a ledger's HTTPS ingest.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Publish every event left in the outbox, in the order it was queued.
    pub async fn resend_outbox(&self) -> Result<Vec<Receipt>, EmitError> {
        let events = self.outbox.pending()?;
        if !events.is_empty() {
            tracing::info!(count = events.len(), "re-sending events left in the outbox");
        }
        self.send_queued(&events).await
    }

    /// Publish one event durably and return JetStream's receipt.
    pub async fn emit(&self, event: SealedEvent) -> Result<Receipt, EmitError> {
        let mut receipts = self.emit_all(std::slice::from_ref(&event)).await?;
        Ok(receipts.remove(0))
    }

    /// Publish events durably, in order: all are written to the outbox first, then published
    /// with pipelined acks.
    pub async fn emit_all(&self, events: &[SealedEvent]) -> Result<Vec<Receipt>, EmitError> {
        self.outbox.put_all(events)?;
        if self.halt_at == Some(HaltPoint::BeforePublish)
            && let Some(first) = events.first()
        {
            halt(HaltPoint::BeforePublish, &first.event_id);
        }
        self.send_queued(events).await
    }

    async fn send_queued(&self, events: &[SealedEvent]) -> Result<Vec<Receipt>, EmitError> {
        if self.halt_at == Some(HaltPoint::AfterPublish) {
            // One at a time, so the halt falls after a publish whose ack is still unread.
            let mut receipts = vec![];
            for event in events {
                receipts.push(self.transport.publish(event).await?);
                if matches!(self.transport, Transport::Ledger(_)) {
                    // Over HTTPS the answer is the acknowledgement: stop before it counts.
                    halt(HaltPoint::AfterPublish, &event.event_id);
                }
                self.outbox.remove(&event.event_id)?;
            }
            return Ok(receipts);
        }
        let mut removal_error = None;
        let receipts = self
            .transport
            .publish_all(events, |receipt| {
                if let Err(error) = self.outbox.remove(&receipt.event_id) {
                    removal_error.get_or_insert(error);
                }
            })
            .await?;
        match removal_error {
            Some(error) => Err(error),
            None => Ok(receipts),
        }
    }
}

/// Where a crash test asked the emitter to stop. Only builds with the `crash-hooks` feature
/// (which the test suites turn on) read [`HALT_AT_ENV`]; any other build ignores it, so what
/// the environment says never changes how a deployed emitter sends.
#[cfg(not(feature = "crash-hooks"))]
fn halt_point_from_env() -> Result<Option<HaltPoint>, EmitError> {
    Ok(None)
}

#[cfg(feature = "crash-hooks")]
fn halt_point_from_env() -> Result<Option<HaltPoint>, EmitError> {
    match std::env::var(HALT_AT_ENV).ok().as_deref() {
        None | Some("") => Ok(None),
        Some("before-publish") => Ok(Some(HaltPoint::BeforePublish)),
        Some("after-publish") => Ok(Some(HaltPoint::AfterPublish)),
        Some(other) => Err(EmitError::invalid(
            HALT_AT_ENV,
            format!("{other:?} is not a halt point (before-publish or after-publish)"),
        )),
    }
}
