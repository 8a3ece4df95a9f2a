//! kill -9 at any moment: 100 000 signed events are published while `covenant serve` is
//! killed with SIGKILL again and again; afterwards the log holds every event exactly once and
//! its chain, tree and checkpoints verify.

use super::support::world::{self, header, jetstream, publish_raw};
use super::support::*;
use covenant_core::checkpoint::{LogSigner, verify_checkpoint};
use covenant_core::proto::event_body::Kind;
use covenant_core::signing::{EventSigner, seal};
use covenant_emit::keys::KeyFile;
use covenant_store::{LogReader, SledStore};
use covenant_testkit::NatsServer;
use prost::Message;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const EVENTS: usize = 100_000;
const ACTORS: [&str; 4] = ["GB-GOV-DCMS", "GB-GOV-DHSC", "GB-GOV-DFE", "GB-GOV-DEFRA"];
const KILLS: usize = 10;
/// Events published again under another message id, so JetStream cannot drop them as
/// duplicates and the ledger's own index must.
const REPLAYS: usize = 2_000;

/// Event `i`: mostly commitments; every tenth an action on a commitment of the same actor
/// published four events earlier. Ids are unique ULID-shaped strings.
fn event(i: usize, signers: &[EventSigner]) -> Vec<u8> {
    let actor_index = i % ACTORS.len();
    let id = format!("01JDR{i:021}");
    let key_id = format!("key-{actor_index}");
    let kind: Kind = if i % 10 == 9 {
        world::action(&format!("a-{i}"), &[&format!("c-{}", i - 4)])
    } else {
        world::commitment(&format!("c-{i}"))
    };
    seal(
        header(&id, ACTORS[actor_index], &key_id),
        kind,
        &signers[actor_index],
    )
    .encode_to_vec()
}

/// Sign every event on all cores.
fn sign_all(signers: &[EventSigner]) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let per_thread = EVENTS.div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t * per_thread..((t + 1) * per_thread).min(EVENTS))
                        .map(|i| event(i, signers))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap())
            .collect()
    })
}

#[test]
fn kill_9_loses_nothing_and_duplicates_nothing() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let data = dir.path().join("data");
    let signers: Vec<EventSigner> = (0..ACTORS.len())
        .map(|i| EventSigner::from_seed([10 + i as u8; 32]))
        .collect();
    let mut onboarding = vec![];
    for (i, actor) in ACTORS.iter().enumerate() {
        onboarding.extend(world.onboard(actor, &format!("key-{i}"), 10 + i as u8));
    }
    let events = sign_all(&signers);
    let expected_ids: HashSet<String> = onboarding
        .iter()
        .chain(&events)
        .map(|envelope| world::id_and_actor(envelope).0)
        .collect();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = server.url();
    let publisher = runtime.spawn(async move {
        let js = jetstream(&url).await;
        covenant_ledger::ensure_stream(&js, &covenant_ledger::StreamSettings::default())
            .await
            .expect("create the event stream");
        let mut last_seq = 0;
        for envelope in &onboarding {
            last_seq = world::publish(&js, envelope.clone()).await;
        }
        for (chunk_index, chunk) in events.chunks(1000).enumerate() {
            let mut acks = Vec::with_capacity(chunk.len());
            for envelope in chunk {
                let (id, actor) = world::id_and_actor(envelope);
                let message = async_nats::jetstream::message::PublishMessage::build()
                    .payload(envelope.clone().into())
                    .message_id(id);
                let ack = js
                    .send_publish(covenant_core::subject::event_subject(&actor), message)
                    .await
                    .expect("publish");
                acks.push(ack);
            }
            for ack in acks {
                last_seq = last_seq.max(ack.await.expect("stored").sequence);
            }
            if chunk_index % 5 == 4 {
                // Replays of already published events, outside JetStream's dedupe.
                for replay in 0..(REPLAYS / 20) {
                    let envelope =
                        &events[(chunk_index * 997 + replay * 31) % ((chunk_index + 1) * 1000)];
                    let actor = world::id_and_actor(envelope).1;
                    let seq = publish_raw(
                        &js,
                        &actor,
                        Some(&format!("replay-{chunk_index}-{replay}")),
                        envelope.clone(),
                    )
                    .await;
                    last_seq = last_seq.max(seq);
                }
            }
        }
        last_seq
    });

    let mut kills = 0;
    let mut killed_at = vec![];
    let mut pause = 137u64;
    while kills < KILLS || !publisher.is_finished() {
        let served = Served::start(&config, &data, Some(&server.url()));
        // A spread of moments: early in start-up, mid-batch, between batches.
        pause = (pause * 7919 + 311) % 700;
        std::thread::sleep(Duration::from_millis(50 + pause));
        killed_at.push(
            served
                .metric("covenant_ledger_stream_sequence")
                .unwrap_or(0.0) as u64,
        );
        served.kill();
        kills += 1;
    }
    let last_seq = runtime.block_on(publisher).unwrap();
    assert!(kills >= KILLS);
    // The kills must have landed while the ledger was working through the stream.
    let mid_stream = killed_at
        .iter()
        .filter(|&&seq| seq > 0 && seq < last_seq)
        .count();
    assert!(
        mid_stream >= KILLS / 2,
        "killed at stream sequences {killed_at:?} of {last_seq}"
    );

    let served = Served::start(&config, &data, Some(&server.url()));
    let deadline = Instant::now() + Duration::from_secs(90);
    while served.metric("covenant_ledger_stream_sequence") != Some(last_seq as f64) {
        assert!(
            Instant::now() < deadline,
            "the ledger did not catch up to {last_seq}: {}",
            served.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");

    let store = SledStore::open(data.join("log")).unwrap();
    let envelopes = world::verify_log(&store);
    assert_eq!(
        envelopes.len(),
        1 + expected_ids.len(),
        "every event once, nothing more"
    );
    let mut seen = HashSet::new();
    for envelope in &envelopes[1..] {
        let id = world::id_and_actor(envelope).0;
        assert!(expected_ids.contains(&id), "{id} was never published");
        assert!(seen.insert(id.clone()), "{id} is in the log twice");
    }
    assert_eq!(store.head().stream_seq, last_seq);
    assert!(
        store.rejections_since(0, 10).unwrap().is_empty(),
        "nothing valid was rejected"
    );
    let key = KeyFile::read(&data.join("log.key")).unwrap();
    let verifier_key = LogSigner::new(world::ORIGIN, key.seed)
        .unwrap()
        .verifier_key();
    let (size, note) = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(
        size,
        store.head().size,
        "the clean stop signed the final head"
    );
    let checkpoint = verify_checkpoint(&note, &verifier_key).unwrap();
    assert_eq!(checkpoint.root, store.head().root);
}
