//! The ledger on a real JetStream stream: stream checks, resuming from the recorded
//! position, checkpoints, and two replicas agreeing byte for byte.

use crate::support::*;
use async_nats::jetstream::stream::{Config, StorageType};
use covenant_core::checkpoint::verify_checkpoint;
use covenant_ledger::{Ledger, LedgerError, LedgerMetrics, LedgerOptions, StreamSettings};
use covenant_store::{LogStore, SledStore};
use covenant_testkit::NatsServer;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";

/// Onboarding plus `commitments` commitments of one department.
fn workload(world: &mut World, commitments: usize) -> Vec<Vec<u8>> {
    let mut envelopes = world.onboard(DCMS, "dcms-1", 2);
    for i in 0..commitments {
        envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    envelopes
}

async fn run_on(world: &World, url: &str, store: Arc<dyn LogStore>) -> Result<(), LedgerError> {
    let ledger = Ledger::open(
        store,
        &world.genesis(),
        Some(world.log_signer()),
        LedgerOptions::default(),
        LedgerMetrics::default(),
    )?;
    let client = async_nats::connect(url).await.unwrap();
    let (_ingest, running) = ledger
        .run_stream(client, &StreamSettings::default())
        .await?;
    running.stop().await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_creates_a_safe_stream() {
    let server = NatsServer::start();
    let world = World::new();
    let (store, _dir) = temp_store();
    run_on(&world, &server.url(), store).await.unwrap();
    let jetstream = jetstream(&server.url()).await;
    let mut stream = jetstream.get_stream("COVENANT_EVENTS").await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.storage, StorageType::File);
    assert_eq!(config.subjects, vec!["acct.events.>".to_owned()]);
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    assert!(config.max_age.is_zero());
    assert!(config.deny_delete && config.deny_purge);
    assert!(covenant_ledger::stream::data_loss_problems(&config).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_moved_to_a_cluster_gets_the_replicas_asked_for_and_never_fewer() {
    let cluster = covenant_testkit::NatsCluster::start();
    let urls = cluster.urls();
    let first = urls.split(',').next().unwrap_or_default();
    let jetstream = jetstream(first).await;
    let replicas_after = |replicas: usize| {
        let jetstream = jetstream.clone();
        async move {
            let settings = StreamSettings {
                replicas,
                ..StreamSettings::default()
            };
            let mut stream = covenant_ledger::ensure_stream(&jetstream, &settings)
                .await
                .unwrap();
            stream.info().await.unwrap().config.num_replicas
        }
    };
    assert_eq!(replicas_after(1).await, 1, "made as on one server");
    assert_eq!(replicas_after(3).await, 3, "raised in place");
    assert_eq!(replicas_after(1).await, 3, "the default never lowers them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_refuses_a_stream_that_would_lose_events() {
    let server = NatsServer::start();
    let jetstream = jetstream(&server.url()).await;
    jetstream
        .create_stream(Config {
            name: "COVENANT_EVENTS".into(),
            subjects: vec!["acct.events.>".into()],
            storage: StorageType::Memory,
            max_age: Duration::from_secs(3600),
            ..Default::default()
        })
        .await
        .unwrap();
    let world = World::new();
    let (store, _dir) = temp_store();
    let error = run_on(&world, &server.url(), store).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, LedgerError::UnsafeStream { .. }),
        "{message}"
    );
    assert!(message.contains("storage is memory"), "{message}");
    assert!(message.contains("max_age"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_ahead_of_the_stream_is_refused() {
    let world = World::new();
    let (store, _dir) = temp_store();
    {
        let server = NatsServer::start();
        let node = Node::start_on(
            &world,
            &server.url(),
            LedgerOptions::default(),
            store.clone(),
            tempfile::tempdir().unwrap(),
        )
        .await;
        let js = jetstream(&server.url()).await;
        let mut world = World::new();
        for envelope in workload(&mut world, 3) {
            publish(&js, envelope).await;
        }
        node.wait_for_size(6).await;
        let mut node = node;
        node.stop().await;
    }
    // A brand-new broker: its stream starts again at sequence 1.
    let server = NatsServer::start();
    let error = run_on(&world, &server.url(), store).await.unwrap_err();
    assert!(
        error.to_string().contains(
            "consumed stream COVENANT_EVENTS through sequence 5, but the stream ends at sequence 0"
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_resumes_from_its_recorded_position_after_a_restart() {
    let server = NatsServer::start();
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let js = jetstream(&server.url()).await;
    let envelopes = workload(&mut world, 20);
    let (first_half, second_half) = envelopes.split_at(10);
    {
        let store: Arc<dyn LogStore> = Arc::new(SledStore::create_or_open(&path).unwrap());
        let mut node = Node::start_on(
            &world,
            &server.url(),
            LedgerOptions::default(),
            store,
            tempfile::tempdir().unwrap(),
        )
        .await;
        for envelope in first_half {
            publish(&js, envelope.clone()).await;
        }
        node.wait_for_size(11).await;
        node.stop().await;
    }
    // Published while the ledger is down, plus a replay of something already in the log.
    for envelope in second_half {
        publish(&js, envelope.clone()).await;
    }
    publish_raw(&js, DCMS, Some("replay"), first_half[5].clone()).await;
    let store: Arc<dyn LogStore> = Arc::new(SledStore::open(&path).unwrap());
    let mut node = Node::start_on(
        &world,
        &server.url(),
        LedgerOptions::default(),
        store.clone(),
        tempfile::tempdir().unwrap(),
    )
    .await;
    node.wait_for_stream_seq(23).await;
    node.stop().await;
    let logged = verify_log(&*store);
    assert_eq!(logged.len(), 23);
    assert_eq!(
        &logged[1..],
        &envelopes[..],
        "every event exactly once, in stream order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_stored_and_published() {
    let server = NatsServer::start();
    let mut world = World::new();
    let client = async_nats::connect(server.url()).await.unwrap();
    let mut checkpoints = client.subscribe("acct.checkpoints").await.unwrap();
    client.flush().await.unwrap();
    let options = LedgerOptions {
        idle_checkpoint_interval: Duration::from_millis(400),
        ..LedgerOptions::default()
    };
    let mut node = Node::start(&world, &server.url(), options).await;
    let js = jetstream(&server.url()).await;
    let started = Instant::now();
    let envelopes = workload(&mut world, 2000);
    let total = envelopes.len() as u64 + 1;
    let mut acks = vec![];
    for envelope in envelopes {
        let (id, actor) = id_and_actor(&envelope);
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(envelope.into())
            .message_id(id);
        acks.push(
            js.send_publish(covenant_core::subject::event_subject(&actor), message)
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        ack.await.unwrap();
    }
    // The checkpoint for the full log arrives, verifies, and matches the store.
    let mut notes = vec![];
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), checkpoints.next())
            .await
            .expect("a checkpoint is published")
            .unwrap();
        let checkpoint =
            verify_checkpoint(&message.payload, &node.verifier_key).expect("the note verifies");
        notes.push((Instant::now(), checkpoint.size, message.payload.to_vec()));
        if checkpoint.size == total {
            assert_eq!(checkpoint.root, node.store.head().root);
            assert_eq!(
                node.store.checkpoint(total).unwrap().as_deref(),
                Some(&message.payload[..])
            );
            break;
        }
    }
    let busy_for = started.elapsed();
    // Under load, new checkpoints come at most once per checkpoint interval.
    let interval = LedgerOptions::default().checkpoint_interval.as_millis() as usize;
    let signed = node.store.checkpoint_sizes().unwrap();
    let allowed = busy_for.as_millis() as usize / interval + 2;
    assert!(
        signed.len() <= allowed,
        "{} checkpoints in {busy_for:?}",
        signed.len()
    );
    // Idle, the latest is published again.
    let (_, size, note) = notes.last().unwrap().clone();
    let again = tokio::time::timeout(Duration::from_secs(5), checkpoints.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((size, note), (total, again.payload.to_vec()));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_write_byte_identical_logs() {
    let server = NatsServer::start();
    let mut world = World::new();
    let js = jetstream(&server.url()).await;
    let mut first = Node::start(&world, &server.url(), LedgerOptions::default()).await;
    let mut envelopes = workload(&mut world, 300);
    // Rejections, duplicates and key changes must come out the same on both.
    envelopes.push(world.emit(DCMS, "dcms-1", action("a-1", &["c-missing"])));
    envelopes.push(envelopes[10].clone());
    envelopes.push(world.grant("dcms-2", DCMS, 5));
    envelopes.push(world.revoke("dcms-1"));
    envelopes.push(world.commitment(DCMS, "dcms-1", "c-late"));
    envelopes.push(world.commitment(DCMS, "dcms-2", "c-rotated"));
    let half = envelopes.len() / 2;
    for envelope in &envelopes[..half] {
        publish_raw(&js, DCMS, None, envelope.clone()).await;
    }
    // The second replica starts late and with smaller batches: batching must not matter.
    let mut second = Node::start(
        &world,
        &server.url(),
        LedgerOptions {
            max_batch: 7,
            ..LedgerOptions::default()
        },
    )
    .await;
    for envelope in &envelopes[half..] {
        publish_raw(&js, DCMS, None, envelope.clone()).await;
    }
    let last = envelopes.len() as u64;
    first.wait_for_stream_seq(last).await;
    second.wait_for_stream_seq(last).await;
    let first_head = first.stop().await;
    let second_head = second.stop().await;
    assert_eq!(all_entries(&*first.store), all_entries(&*second.store));
    assert_eq!(first_head.root, second_head.root);
    assert_eq!(first_head.chain_head, second_head.chain_head);
    assert_eq!(first_head.size, 1 + 302 + 3);
    verify_log(&*first.store);
    let size = first_head.size;
    assert_eq!(
        first.store.checkpoint(size).unwrap(),
        second.store.checkpoint(size).unwrap()
    );
    assert!(first.store.checkpoint(size).unwrap().is_some());
}
