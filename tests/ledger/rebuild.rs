//! `covenant ledger rebuild` re-derives the live store from the stream: byte-identical
//! entries, the same rejections, and the roots every live checkpoint signed.

use super::support::world::{self, action, jetstream, publish, publish_raw};
use super::support::*;
use covenant_core::checkpoint::{LogSigner, verify_checkpoint};
use covenant_core::merkle::tree_root;
use covenant_emit::keys::KeyFile;
use covenant_store::{LogReader, SledStore};
use covenant_testkit::NatsServer;
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";

#[test]
fn a_rebuild_from_the_stream_matches_the_live_store() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let live = dir.path().join("live");
    let served = Served::start(&config, &live, Some(&server.url()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let last_seq = runtime.block_on(async {
        let js = jetstream(&server.url()).await;
        let mut envelopes = world.onboard(DCMS, "dcms-1", 2);
        for i in 0..600 {
            envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
        }
        envelopes.push(world.emit(DCMS, "dcms-1", action("a-1", &["c-missing"])));
        let mut last = 0;
        for envelope in envelopes.iter().cloned() {
            last = publish(&js, envelope).await;
        }
        // A replay after the duplicate window: the ledger's own index catches it.
        publish_raw(&js, DCMS, None, envelopes[7].clone())
            .await
            .max(last)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while served.metric("covenant_ledger_stream_sequence") != Some(last_seq as f64) {
        assert!(
            Instant::now() < deadline,
            "the live ledger did not catch up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");

    let rebuilt = dir.path().join("rebuilt");
    let (code, stdout, stderr) = covenant(&[
        "ledger",
        "rebuild",
        "--config",
        config.to_str().unwrap(),
        "--nats",
        &server.url(),
        "--data",
        rebuilt.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("through sequence {last_seq}")),
        "{stdout}"
    );
    assert!(stdout.contains("entries 603"), "{stdout}");

    let live_store = SledStore::open(live.join("log")).unwrap();
    let rebuilt_store = SledStore::open(rebuilt.join("log")).unwrap();
    assert_eq!(
        world::all_entries(&live_store),
        world::all_entries(&rebuilt_store)
    );
    assert_eq!(live_store.head().root, rebuilt_store.head().root);
    assert_eq!(
        live_store.head().stream_seq,
        rebuilt_store.head().stream_seq
    );
    assert_eq!(
        live_store.rejections_since(0, 100).unwrap(),
        rebuilt_store.rejections_since(0, 100).unwrap()
    );
    world::verify_log(&rebuilt_store);

    let key = KeyFile::read(&live.join("log.key")).unwrap();
    let verifier_key = LogSigner::new(world::ORIGIN, key.seed)
        .unwrap()
        .verifier_key();
    let sizes = live_store.checkpoint_sizes().unwrap();
    assert!(!sizes.is_empty());
    for size in sizes {
        let note = live_store.checkpoint(size).unwrap().unwrap();
        let checkpoint = verify_checkpoint(&note, &verifier_key).unwrap();
        assert_eq!(
            checkpoint.root,
            tree_root(size, &rebuilt_store).unwrap(),
            "size {size}"
        );
    }
    let root_line = format!(
        "root {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            live_store.head().root.0
        )
    );
    assert!(stdout.contains(&root_line), "{stdout}");

    // Rebuilding into a directory that already holds a store is refused.
    let (code, _, stderr) = covenant(&[
        "ledger",
        "rebuild",
        "--config",
        config.to_str().unwrap(),
        "--nats",
        &server.url(),
        "--data",
        rebuilt.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("already exists; rebuild into a new data directory"),
        "{stderr}"
    );
}
