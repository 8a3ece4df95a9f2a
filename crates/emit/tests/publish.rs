//! Publishing to a real nats-server: ids, subjects, acks, duplicates, broker faults.

mod common;

use common::{commitments, create_event_stream, quick_config, stream_messages};
use covenant_emit::EmitError;
use covenant_emit::emitter::{Emitter, EmitterConfig};
use covenant_emit::publish::Publisher;
use covenant_testkit::NatsServer;
use std::time::Duration;

#[tokio::test]
async fn published_events_land_in_the_stream_with_their_id_and_subject() {
    let server = NatsServer::start();
    create_event_stream(&server.url()).await;
    let publisher = Publisher::connect(quick_config(&server.url()))
        .await
        .unwrap();
    let events = commitments(3);
    let mut seen = vec![];
    let receipts = publisher
        .publish_all(&events, |receipt| seen.push(receipt.event_id.clone()))
        .await
        .unwrap();
    assert_eq!(
        receipts
            .iter()
            .map(|r| r.stream_sequence)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(receipts.iter().all(|r| !r.duplicate));
    assert_eq!(
        seen,
        events
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>()
    );

    let messages = stream_messages(&server.url()).await;
    assert_eq!(messages.len(), 3);
    for (event, (subject, message_id, payload)) in events.iter().zip(&messages) {
        // The actor "GB-GOV.23" holds a '.', which cannot appear inside a subject token.
        assert_eq!(subject, "acct.events.GB-GOV_23");
        assert_eq!(
            message_id,
            &covenant_core::subject::message_id(&event.bytes),
            "the message id is the digest of the bytes, not the event id"
        );
        assert_eq!(payload, &event.bytes.to_vec());
    }
}

#[tokio::test]
async fn a_re_sent_event_is_stored_once() {
    let server = NatsServer::start();
    create_event_stream(&server.url()).await;
    let publisher = Publisher::connect(quick_config(&server.url()))
        .await
        .unwrap();
    let event = commitments(1).remove(0);
    let first = publisher.publish(&event).await.unwrap();
    let again = publisher.publish(&event).await.unwrap();
    assert!(!first.duplicate);
    assert!(
        again.duplicate,
        "JetStream reports the second copy as a duplicate"
    );
    assert_eq!(again.stream_sequence, first.stream_sequence);
    assert_eq!(stream_messages(&server.url()).await.len(), 1);
}

#[tokio::test]
async fn publishing_waits_out_a_broker_restart() {
    let server = NatsServer::start();
    let url = server.url();
    let port = server.port();
    create_event_stream(&url).await;
    let publisher = Publisher::connect(quick_config(&url)).await.unwrap();
    let events = commitments(2);
    publisher.publish(&events[0]).await.unwrap();

    let store = server.stop();
    let pending = tokio::spawn({
        let publisher = publisher.clone();
        let event = events[1].clone();
        async move { publisher.publish(&event).await }
    });
    // Let at least one attempt fail against the stopped broker before it comes back.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !pending.is_finished(),
        "cannot be acknowledged while the broker is down"
    );
    let _server = NatsServer::start_on(port, store);

    let receipt = tokio::time::timeout(Duration::from_secs(30), pending)
        .await
        .expect("the retry delivers once the broker is back")
        .unwrap()
        .unwrap();
    assert_eq!(receipt.stream_sequence, 2);
    let ids: Vec<String> = stream_messages(&url)
        .await
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(
        ids,
        [
            covenant_core::subject::message_id(&events[0].bytes),
            covenant_core::subject::message_id(&events[1].bytes)
        ]
    );
}

#[tokio::test]
async fn publishing_waits_for_the_stream_to_exist() {
    let server = NatsServer::start();
    let publisher = Publisher::connect(quick_config(&server.url()))
        .await
        .unwrap();
    let event = commitments(1).remove(0);
    let pending = tokio::spawn({
        let publisher = publisher.clone();
        async move { publisher.publish(&event).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !pending.is_finished(),
        "no stream, no responders: still retrying"
    );
    create_event_stream(&server.url()).await;
    let receipt = pending.await.unwrap().unwrap();
    assert_eq!(receipt.stream_sequence, 1);
}

#[tokio::test]
async fn a_broker_that_never_answers_is_given_up_on_with_the_event_named() {
    let server = NatsServer::start();
    let mut config = quick_config(&server.url());
    config.retry.give_up_after = Duration::from_secs(2);
    let publisher = Publisher::connect(config).await.unwrap();
    let event = commitments(1).remove(0);
    let error = publisher.publish(&event).await.unwrap_err();
    let EmitError::RetriesExhausted {
        event_id, attempts, ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(event_id, &event.event_id);
    assert!(*attempts >= 2, "{error}");
}

#[tokio::test]
async fn an_unreachable_broker_is_a_clear_connect_error() {
    let nothing_listening = covenant_testkit::ReservedPort::new();
    let mut config = quick_config(&format!("nats://127.0.0.1:{}", nothing_listening.port()));
    config.retry.give_up_after = Duration::from_millis(600);
    let error = Publisher::connect(config).await.unwrap_err().to_string();
    assert!(error.starts_with("connect to nats://127.0.0.1:"), "{error}");
    assert!(error.contains("gave up after"), "{error}");
}

#[tokio::test]
async fn the_emitter_empties_its_outbox_as_acks_arrive() {
    let server = NatsServer::start();
    create_event_stream(&server.url()).await;
    let outbox = tempfile::tempdir().unwrap();
    let config = EmitterConfig {
        publisher: quick_config(&server.url()),
        outbox_dir: outbox.path().to_owned(),
    };
    let emitter = Emitter::open(config).await.unwrap();
    assert!(emitter.recovered().is_empty());
    let events = commitments(5);
    let receipts = emitter.emit_all(&events).await.unwrap();
    assert_eq!(receipts.len(), 5);
    assert_eq!(emitter.pending(), 0);
    assert_eq!(std::fs::read_dir(outbox.path()).unwrap().count(), 0);
    let receipt = emitter.emit(commitments(6).remove(5)).await.unwrap();
    assert_eq!(receipt.stream_sequence, 6);
    assert_eq!(stream_messages(&server.url()).await.len(), 6);
}

#[tokio::test]
async fn an_event_that_cannot_be_published_stays_in_the_outbox() {
    let server = NatsServer::start();
    // No stream: every attempt gets "no responders".
    let outbox = tempfile::tempdir().unwrap();
    let mut publisher = quick_config(&server.url());
    publisher.retry.give_up_after = Duration::from_millis(700);
    let config = EmitterConfig {
        publisher,
        outbox_dir: outbox.path().to_owned(),
    };
    let emitter = Emitter::open(config.clone()).await.unwrap();
    let event = commitments(1).remove(0);
    assert!(emitter.emit(event.clone()).await.is_err());
    assert_eq!(emitter.pending(), 1);
    drop(emitter);

    create_event_stream(&server.url()).await;
    let reopened = Emitter::open(config).await.unwrap();
    assert_eq!(reopened.recovered().len(), 1);
    assert_eq!(reopened.recovered()[0].event_id, event.event_id);
    assert_eq!(reopened.pending(), 0);
    let messages = stream_messages(&server.url()).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].2, event.bytes.to_vec());
}
