//! The load the ledger benchmarks publish: signers as many as a government has, events
//! signed ahead of time, and the latency from publish to a checkpoint that includes each one.

use async_nats::jetstream::{self, message::PublishMessage};
use covenant_core::proto::event_body::Kind;
use covenant_core::signing::{EventSigner, seal};
use futures::StreamExt;
use prost::Message;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Signers by default: about as many bodies and MPs as emit to a government's log.
pub const DEFAULT_ACTORS: usize = 1_650;

/// An actor of the bench with its one key.
pub struct Emitter {
    pub actor: String,
    pub key_id: String,
    pub signer: EventSigner,
}

/// `count` actors, each with a key from its own seed.
pub fn emitters(count: usize) -> Vec<Emitter> {
    (0..count)
        .map(|i| {
            let mut seed = [0x5a; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Emitter {
                actor: format!("GB-BENCH-{i:04}"),
                key_id: format!("key-{i}"),
                signer: EventSigner::from_seed(seed),
            }
        })
        .collect()
}

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Events `first..first + count`, round robin over `signers`: commitments, and every tenth
/// event of an actor an action on that actor's commitment four of its events before. About
/// 400 bytes each.
pub fn sign_all(first: usize, count: usize, signers: &[Emitter]) -> Vec<Vec<u8>> {
    let actors = signers.len();
    let event = |i: usize| {
        let emitter = &signers[i % actors];
        let id = format!("01JDS{i:021}");
        let kind: Kind = if (i / actors) % 10 == 9 && i >= first + 4 * actors {
            crate::support::action(&format!("a-{i}"), &[&format!("c-{}", i - 4 * actors)])
        } else {
            crate::support::in_prose(crate::support::commitment(&format!("c-{i}")), i as u64)
        };
        seal(
            crate::support::header(&id, &emitter.actor, &emitter.key_id),
            kind,
            &emitter.signer,
        )
        .encode_to_vec()
    };
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let per_thread = count.div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (first + t * per_thread..first + ((t + 1) * per_thread).min(count))
                        .map(event)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("signing thread"))
            .collect()
    })
}

pub fn publish_message(envelope: &[u8]) -> (String, PublishMessage) {
    let (id, actor) = crate::support::id_and_actor(envelope);
    let message = PublishMessage::build()
        .payload(envelope.to_vec().into())
        .message_id(id);
    (covenant_core::subject::event_subject(&actor), message)
}

/// Publish at `rate` events/s and measure, for each event, the time from just before its
/// publish to the arrival of the first checkpoint that includes it, and the rate the broker
/// acknowledged them at (below `rate` when it could not keep up).
pub async fn checkpoint_latency(
    js: &jetstream::Context,
    checkpoints: &mut async_nats::Subscriber,
    envelopes: &[Vec<u8>],
    rate: f64,
    base_seq: u64,
) -> Latencies {
    let sent_at: Arc<Mutex<Vec<Instant>>> =
        Arc::new(Mutex::new(Vec::with_capacity(envelopes.len())));
    let publisher = {
        let js = js.clone();
        let envelopes = envelopes.to_vec();
        let sent_at = sent_at.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
            let drain = tokio::spawn(async move {
                while let Some(ack) = ack_rx.recv().await {
                    let ack: jetstream::context::PublishAckFuture = ack;
                    ack.await.expect("stored");
                }
            });
            for (k, envelope) in envelopes.iter().enumerate() {
                let due = started + Duration::from_secs_f64(k as f64 / rate);
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep(due - now).await;
                }
                let (subject, message) = publish_message(envelope);
                sent_at.lock().expect("lock").push(Instant::now());
                let ack = js.send_publish(subject, message).await.expect("publish");
                let _ = ack_tx.send(ack);
            }
            drop(ack_tx);
            drain.await.expect("acks");
            // Acknowledged, not sent: a broker that cannot store as fast as it is sent to
            // takes the messages in and falls behind, which only its acknowledgements show.
            envelopes.len() as f64 / started.elapsed().as_secs_f64()
        })
    };
    let total = envelopes.len();
    let mut latencies = Vec::with_capacity(total);
    while latencies.len() < total {
        let note = tokio::time::timeout(Duration::from_secs(30), checkpoints.next())
            .await
            .expect("checkpoints keep coming")
            .expect("subscription open");
        let arrived = Instant::now();
        let size = checkpoint_size(&note.payload);
        let included = (size.saturating_sub(base_seq) as usize).min(total);
        let sent_at = sent_at.lock().expect("lock");
        while latencies.len() < included && latencies.len() < sent_at.len() {
            latencies.push(
                arrived
                    .duration_since(sent_at[latencies.len()])
                    .as_secs_f64()
                    * 1000.0,
            );
        }
    }
    let acknowledged_per_s = publisher.await.expect("publisher");
    latencies.sort_by(f64::total_cmp);
    Latencies {
        ms: latencies,
        acknowledged_per_s,
    }
}

/// Milliseconds from publish to a signed checkpoint, ascending, and the rate the broker
/// acknowledged the events at.
pub struct Latencies {
    ms: Vec<f64>,
    pub acknowledged_per_s: f64,
}

impl Latencies {
    pub fn percentile(&self, p: f64) -> f64 {
        percentile(&self.ms, p)
    }
}

/// The `p` quantile (0 to 1) of `ascending`, which holds at least one value.
pub fn percentile(ascending: &[f64], p: f64) -> f64 {
    ascending[((ascending.len() - 1) as f64 * p) as usize]
}

/// The tree size on the second line of a checkpoint note.
pub fn checkpoint_size(note: &[u8]) -> u64 {
    std::str::from_utf8(note)
        .ok()
        .and_then(|text| text.lines().nth(1))
        .and_then(|line| line.parse().ok())
        .expect("a checkpoint note")
}
