//! Shared by the emitter's integration tests: the event stream as the ledger creates it, and
//! reading it back.

#![allow(dead_code)]

use async_nats::jetstream::{self, stream};
use covenant_core::event::Date;
use covenant_core::signing::EventSigner;
use covenant_core::subject::{DUPLICATE_WINDOW_SECS, EVENT_STREAM, EVENT_SUBJECTS};
use covenant_emit::build::{Commitment, SealedEvent, Speaker, derived_event_id};
use covenant_emit::publish::{PublisherConfig, RetryPolicy};
use std::time::Duration;

/// Create the event stream with the ledger's settings.
pub async fn create_event_stream(nats_url: &str) -> stream::Stream {
    let client = async_nats::connect(nats_url)
        .await
        .expect("connect to nats");
    jetstream::new(client)
        .create_stream(stream::Config {
            name: EVENT_STREAM.to_owned(),
            subjects: vec![EVENT_SUBJECTS.to_owned()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            max_age: Duration::ZERO,
            duplicate_window: Duration::from_secs(DUPLICATE_WINDOW_SECS),
            ..Default::default()
        })
        .await
        .expect("create the event stream")
}

/// Every message in the stream, in order: (subject, Nats-Msg-Id, payload).
pub async fn stream_messages(nats_url: &str) -> Vec<(String, String, Vec<u8>)> {
    let client = async_nats::connect(nats_url)
        .await
        .expect("connect to nats");
    let mut stream = jetstream::new(client)
        .get_stream(EVENT_STREAM)
        .await
        .expect("the event stream exists");
    let count = stream.info().await.expect("stream info").state.messages;
    let mut messages = vec![];
    for sequence in 1..=count {
        let message = stream
            .get_raw_message(sequence)
            .await
            .expect("read a stream message");
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|value| value.as_str().to_owned())
            .unwrap_or_default();
        messages.push((message.subject.to_string(), id, message.payload.to_vec()));
    }
    messages
}

/// Publisher settings that notice faults quickly, so tests stay short.
pub fn quick_config(nats_url: &str) -> PublisherConfig {
    let mut config = PublisherConfig::new(nats_url);
    config.ack_timeout = Duration::from_millis(800);
    config.retry = RetryPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        give_up_after: Duration::from_secs(30),
    };
    config
}

pub fn speaker() -> Speaker {
    Speaker::new("GB-GOV.23", "dcms-1", EventSigner::from_seed([11; 32])).unwrap()
}

/// `count` distinct commitments, sealed under the same ids every time.
pub fn commitments(count: usize) -> Vec<SealedEvent> {
    let made_on = Date::parse("2025-07-17").unwrap();
    let speaker = speaker();
    (0..count)
        .map(|i| {
            let commitment = Commitment::new(
                format!("c-{i}"),
                format!("Commitment {i}"),
                "A promise made for a test.",
                made_on,
            );
            let occurred_at_ms = 1_752_710_400_000 + i as i64;
            let event_id =
                derived_event_id(occurred_at_ms, format!("test commitment {i}").as_bytes());
            speaker
                .seal_with_id(&event_id, commitment, occurred_at_ms)
                .unwrap()
        })
        .collect()
}
