//! Reading the stream: an ordered consumer from the position the log has reached, in batches
//! of what is available, reopened when it fails; and a watch on the stream's end, so a replica
//! knows how far behind it is even when its consumer stalls.
//!
//! # Acknowledgement, without a durable consumer
//!
//! The ledger reads with an ordered consumer, not a durable one, and so never acknowledges
//! messages to JetStream. With limits retention an acknowledgement deletes nothing and carries
//! no durability meaning; the position that matters is the one in the store, written
//! atomically with each batch. A durable consumer's acknowledgement floor would be a second
//! copy of that position that can disagree (ahead of a store restored from backup or rebuilt,
//! and it would skip events; behind after a lost ack, and it would redeliver out of order after
//! `ack_wait`). What "ack after durable" means here: the position advances, and the
//! emitter-visible status changes, only in the durable batch. The emitter's own
//! acknowledgement is JetStream's PubAck, which says the event is in the replicated, fsynced
//! stream (docs/NATS.md, "Server settings"). The ordered consumer recreates itself from the
//! last delivered sequence on any gap or missed heartbeat, and this module reopens it from the
//! next sequence it needs when it fails, so delivery is strictly ordered and gap-free; lag is
//! exported on `/metrics`.

use crate::LedgerError;
use crate::health::LedgerHealth;
use crate::metrics::LedgerMetrics;
use crate::migration::{MIGRATED_ENTRY_HEADER, MigratedEntry};
use crate::sequencer::{Incoming, Origin};
use crate::service::InputBatch;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use covenant_core::subject::EVENT_SUBJECTS;
use futures::{FutureExt, StreamExt};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Stream mode: consume the stream with an ordered pull consumer from `start_seq`, in
/// batches of what is available (at most `max_batch`), until shutdown or `stop_at`.
///
/// Messages keep being collected while the next stage is busy, so that batches grow when the
/// disk is the bottleneck (one fsync for more events) and stay small when the ledger keeps up
/// (low latency).
pub(crate) async fn consume_stream(
    stream: jetstream::stream::Stream,
    start_seq: u64,
    stop_at: Option<u64>,
    max_batch: usize,
    batches: mpsc::Sender<InputBatch>,
    mut shutdown: watch::Receiver<bool>,
    reporting: Reporting,
) -> Result<(), LedgerError> {
    let mut collected = Collected {
        items: Vec::with_capacity(max_batch),
        next_seq: start_seq,
        stop_at,
    };
    let mut failures = 0u32;
    loop {
        if collected.items.is_empty() && collected.reached_stop() {
            return Ok(());
        }
        let mut messages = match open_ordered(&stream, collected.next_seq).await {
            Ok(messages) => messages,
            Err(error) => {
                failures += 1;
                if failures > 30 {
                    return Err(error);
                }
                tracing::warn!(%error, "opening the stream consumer; retrying");
                if sleep_or_shutdown(&mut shutdown, Duration::from_secs(1)).await {
                    return Ok(());
                }
                continue;
            }
        };
        let mut consumer_open = true;
        while consumer_open {
            if collected.items.is_empty() {
                tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                    message = messages.next() => match message {
                        Some(Ok(message)) => collected.add(message, &reporting)?,
                        Some(Err(error)) => {
                            tracing::warn!(%error, "reading the stream; reopening the consumer");
                            break;
                        }
                        None => break,
                    },
                }
                failures = 0;
            }
            // Take what is already here, then keep collecting until the next stage has room.
            while collected.wants_more(max_batch) {
                match messages.next().now_or_never() {
                    Some(Some(Ok(message))) => collected.add(message, &reporting)?,
                    _ => break,
                }
            }
            let permit = loop {
                tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                    permit = batches.reserve() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => return Ok(()),
                    },
                    message = messages.next(), if consumer_open && collected.wants_more(max_batch) => match message {
                        Some(Ok(message)) => collected.add(message, &reporting)?,
                        Some(Err(error)) => {
                            tracing::warn!(%error, "reading the stream; reopening the consumer");
                            consumer_open = false;
                        }
                        None => consumer_open = false,
                    },
                }
            };
            if !collected.items.is_empty() {
                permit.send(InputBatch {
                    items: std::mem::replace(&mut collected.items, Vec::with_capacity(max_batch)),
                    replies: Vec::new(),
                });
            }
            if collected.reached_stop() {
                return Ok(());
            }
        }
    }
}

/// Where the input stage reports what it sees of the stream.
#[derive(Clone)]
pub(crate) struct Reporting {
    pub(crate) metrics: LedgerMetrics,
    pub(crate) health: LedgerHealth,
}

/// How often the stream's end is read while consuming: messages report what is pending
/// after them, but a consumer that stalls delivers nothing, and its replica must not look
/// caught up because the last message it saw said so.
const STREAM_END_POLL: Duration = Duration::from_secs(1);

/// Read the stream's last sequence every [`STREAM_END_POLL`] into `health`, until shutdown.
pub(crate) async fn watch_stream_end(
    mut stream: jetstream::stream::Stream,
    health: LedgerHealth,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if sleep_or_shutdown(&mut shutdown, STREAM_END_POLL).await {
            return;
        }
        match stream.info().await {
            Ok(info) => health.follow_stream(info.state.last_sequence),
            Err(error) => tracing::debug!(%error, "reading the stream's end"),
        }
    }
}

/// Stream messages gathered for the next batch, and where the stream continues.
struct Collected {
    items: Vec<Incoming>,
    next_seq: u64,
    stop_at: Option<u64>,
}

impl Collected {
    fn reached_stop(&self) -> bool {
        self.stop_at.is_some_and(|last| self.next_seq > last)
    }

    fn wants_more(&self, max_batch: usize) -> bool {
        self.items.len() < max_batch && !self.reached_stop()
    }

    fn add(
        &mut self,
        message: jetstream::Message,
        reporting: &Reporting,
    ) -> Result<(), LedgerError> {
        let (incoming, pending) = incoming_from(message)?;
        reporting.metrics.set_stream_pending(pending);
        let (Origin::Stream { seq, .. } | Origin::Migrated { seq, .. }) = incoming.origin else {
            unreachable!("stream messages have a stream origin");
        };
        reporting.health.saw_stream_message(seq, pending);
        // A recreated consumer may start earlier than asked; the sequencer skips what the
        // store already holds, and anything past a rebuild's end is left for later.
        if self.stop_at.is_some_and(|last| seq > last) {
            self.next_seq = seq;
            return Ok(());
        }
        self.next_seq = self.next_seq.max(seq + 1);
        self.items.push(incoming);
        Ok(())
    }
}

async fn open_ordered(
    stream: &jetstream::stream::Stream,
    start_seq: u64,
) -> Result<jetstream::consumer::pull::Ordered, LedgerError> {
    let consumer = stream
        .create_consumer(OrderedConfig {
            description: Some(
                "covenant ledger (ordered, position kept in the ledger's store)".into(),
            ),
            filter_subject: EVENT_SUBJECTS.to_owned(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start_seq,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| LedgerError::nats("create the ordered consumer", e))?;
    consumer
        .messages()
        .await
        .map_err(|e| LedgerError::nats("start consuming", e))
}

/// The message as sequencer input, and how many messages the server says are still pending.
fn incoming_from(message: jetstream::Message) -> Result<(Incoming, u64), LedgerError> {
    let info = message
        .info()
        .map_err(|e| LedgerError::nats("read message metadata", e))?;
    let seq = info.stream_sequence;
    let stored_at_ns = u64::try_from(info.published.unix_timestamp_nanos()).unwrap_or(0);
    let pending = info.pending;
    let headers = message.message.headers.as_ref();
    let msg_id = headers
        .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|value| value.as_str().to_owned());
    let claim = headers
        .and_then(|headers| headers.get(MIGRATED_ENTRY_HEADER))
        .and_then(|value| MigratedEntry::parse_header(value.as_str()));
    let origin = match claim {
        Some(claim) => Origin::Migrated { seq, msg_id, claim },
        None => Origin::Stream { seq, msg_id },
    };
    Ok((
        Incoming {
            envelope: message.message.payload,
            stored_at_ns,
            origin,
        },
        pending,
    ))
}

/// Sleep, unless shutdown comes first (then true).
async fn sleep_or_shutdown(shutdown: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    tokio::select! {
        _ = shutdown.wait_for(|stop| *stop) => true,
        _ = tokio::time::sleep(duration) => false,
    }
}
