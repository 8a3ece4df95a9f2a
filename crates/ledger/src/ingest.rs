//! The second door into the ledger: submitting one signed envelope (HTTPS ingest).
//!
//! Nothing goes further than this door unless it could be accepted as far as the door can
//! tell: the envelope decodes, every field (the header of every kind included) is valid, it is
//! not a genesis entry, and its key is live, granted for its actor and kind in the registry as
//! of the last durable batch, and verifies the signature. Anything else is answered at once
//! and nothing of it is published or appended; a refusal of an envelope whose event id could be
//! read is remembered in the store's bounded table of door refusals
//! (`LogStore::remember_door_refusal`), so that asking about that event id later gives the
//! refusal. Then:
//! - embedded (no broker): the envelope goes straight into the sequencer and the answer is the
//!   sequencer's decision, accepted with its entry number or rejected with the reason;
//! - with NATS: the envelope is published to the stream on `acct.events.<actor>` with
//!   `Nats-Msg-Id` set to the digest of its bytes (`covenant_core::subject::message_id`), and
//!   the answer comes once JetStream has stored it. The ledger decides later, in stream order;
//!   the emitter polls the event's status for it.
//!
//! Embedded mode is the one place the local clock gives an entry's time (there is no broker
//! whose time replicas could share); the sequencer keeps it non-decreasing with the same clamp
//! as stream times. The HTTP side of this door (status codes, rate limit, body limit) is
//! `covenant_http::ingest`.

use crate::LedgerError;
use crate::metrics::LedgerMetrics;
use crate::sequencer::{Disposition, KeyDirectory};
use async_nats::jetstream::{self, message::PublishMessage};
use bytes::Bytes;
use covenant_core::event;
use covenant_core::subject::{event_subject, message_id};
use covenant_core::validate::Rejection;
use covenant_store::LogStore;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A request to the embedded sequencer.
pub(crate) struct EmbeddedRequest {
    pub(crate) envelope: Bytes,
    pub(crate) reply: oneshot::Sender<Disposition>,
}

/// What happened to a submitted envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestReply {
    /// Embedded mode: appended as entry `seq`.
    Accepted { event_id: String, seq: u64 },
    /// Embedded mode: the same bytes are already entry `seq`; nothing was appended.
    Duplicate { event_id: String, seq: u64 },
    /// NATS mode: stored by JetStream at `stream_seq` (or already stored, when `duplicate`);
    /// the ledger's decision follows in stream order.
    Queued {
        event_id: String,
        stream_seq: u64,
        duplicate: bool,
    },
    /// Refused at the door (decoding, fields, genesis, key, grant, signature: nothing was
    /// stored), or rejected by the embedded sequencer. `event_id` is absent when the envelope did not decode far enough.
    Rejected {
        event_id: Option<String>,
        rejection: Rejection,
    },
}

#[derive(Clone)]
enum Route {
    Embedded(mpsc::Sender<EmbeddedRequest>),
    Stream(Box<jetstream::Context>),
}

/// A handle to submit envelopes; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    route: Route,
    keys: KeyDirectory,
    metrics: LedgerMetrics,
    /// Where refusals at the door are remembered.
    store: Arc<dyn LogStore>,
}

impl Ingest {
    pub(crate) fn embedded(
        requests: mpsc::Sender<EmbeddedRequest>,
        keys: KeyDirectory,
        metrics: LedgerMetrics,
        store: Arc<dyn LogStore>,
    ) -> Self {
        Self {
            route: Route::Embedded(requests),
            keys,
            metrics,
            store,
        }
    }

    pub(crate) fn stream(
        jetstream: jetstream::Context,
        keys: KeyDirectory,
        metrics: LedgerMetrics,
        store: Arc<dyn LogStore>,
    ) -> Self {
        Self {
            route: Route::Stream(Box::new(jetstream)),
            keys,
            metrics,
            store,
        }
    }

    /// Whether envelopes go to a broker (true) or straight into the sequencer (false).
    pub fn is_stream(&self) -> bool {
        matches!(self.route, Route::Stream(_))
    }

    /// Count an envelope refused before [`Ingest::submit`] (for example a body too large to
    /// read), so that `/metrics` shows every refusal.
    pub fn count_refused(&self, code: covenant_core::validate::RejectCode) {
        self.metrics.record_refused(code);
    }

    /// Remember a refusal at the door so that `GET /v1/events/{event_id}` can tell it later.
    /// Only a well-formed event id that is not in the log is remembered: a refusal never
    /// hides an accepted event, and the store bounds how many are kept. A failure to remember
    /// is logged and does not change the answer.
    async fn remember_refusal(&self, event_id: &str, rejection: &Rejection, envelope: &Bytes) {
        if !event::is_valid_event_id(event_id) {
            return;
        }
        let record = crate::sequencer::rejection_record(
            event_id.to_owned(),
            0,
            crate::service::now_ns(),
            rejection.clone(),
            envelope,
        );
        let store = self.store.clone();
        let remembered = tokio::task::spawn_blocking(move || {
            if store.event(&record.event_id)?.is_some() {
                return Ok(false);
            }
            store.remember_door_refusal(record)
        })
        .await;
        match remembered {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, event_id, "remembering a refusal"),
            Err(error) => tracing::warn!(%error, event_id, "remembering a refusal"),
        }
    }

    /// Submit one envelope. Errors mean the ledger could not take it now (shutting down, the
    /// broker unreachable); try again later.
    pub async fn submit(&self, envelope: Bytes) -> Result<IngestReply, LedgerError> {
        let decoded = match event::decode(&envelope) {
            Ok(decoded) => decoded,
            Err(error) => {
                let rejection = Rejection::from(error);
                self.metrics.record_refused(rejection.code);
                let event_id = crate::sequencer::undecodable_event_id(&envelope, None, 0);
                let event_id = (event_id != "unidentified").then_some(event_id);
                if let Some(event_id) = &event_id {
                    self.remember_refusal(event_id, &rejection, &envelope).await;
                }
                return Ok(IngestReply::Rejected {
                    event_id,
                    rejection,
                });
            }
        };
        let event_id = decoded.event_id().to_owned();
        if let Err(rejection) = self.keys.authorise(&decoded) {
            self.metrics.record_refused(rejection.code);
            self.remember_refusal(&event_id, &rejection, &envelope)
                .await;
            return Ok(IngestReply::Rejected {
                event_id: Some(event_id),
                rejection,
            });
        }
        match &self.route {
            Route::Embedded(requests) => {
                let (reply, answer) = oneshot::channel();
                requests
                    .send(EmbeddedRequest { envelope, reply })
                    .await
                    .map_err(|_| LedgerError::ShuttingDown)?;
                let outcome = answer.await.map_err(|_| LedgerError::ShuttingDown)?;
                Ok(match outcome {
                    Disposition::Accepted { seq } => IngestReply::Accepted { event_id, seq },
                    Disposition::Duplicate { seq } => IngestReply::Duplicate { event_id, seq },
                    Disposition::Rejected(record) => IngestReply::Rejected {
                        event_id: Some(event_id),
                        rejection: Rejection::new(record.code, record.message),
                    },
                    Disposition::AlreadyConsumed => {
                        unreachable!("direct input has no stream position")
                    }
                })
            }
            Route::Stream(jetstream) => {
                let subject = event_subject(decoded.actor());
                let message_id = message_id(&envelope);
                let message = PublishMessage::build()
                    .payload(envelope)
                    .message_id(message_id);
                let ack = jetstream
                    .send_publish(subject, message)
                    .await
                    .map_err(|e| LedgerError::nats("publish the event", e))?
                    .await
                    .map_err(|e| LedgerError::nats("store the event in the stream", e))?;
                Ok(IngestReply::Queued {
                    event_id,
                    stream_seq: ack.sequence,
                    duplicate: ack.duplicate,
                })
            }
        }
    }
}
