//! A replica's cosigner over a real ledger's store: it cosigns exactly the checkpoints whose
//! root its own log has at that size, and every other request gets the refusal (and status)
//! that tells the asking replica what to do. Peers and HTTP are in the workspace's
//! tests/ledger/replicas.rs.

use crate::support::*;
use covenant_core::cosignature::{CosignatureVerifier, Cosigner};
use covenant_core::merkle::Hash;
use covenant_core::tlog_witness::AddCheckpoint;
use covenant_ledger::replica::{CATCH_UP_WAIT, ReplicaCosigner, ReplicaRefusal};
use covenant_ledger::{Divergence, LedgerHealth, LedgerMetrics, LedgerOptions};
use covenant_testkit::NatsServer;
use std::time::Instant;

const DCMS: &str = "GB-GOV-DCMS";
const NOW: u64 = 1_790_000_000;

fn request(note: &[u8]) -> Vec<u8> {
    AddCheckpoint::encode(0, &[], note)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_cosigns_only_the_roots_of_its_own_log() {
    let nats = NatsServer::start();
    let mut world = World::new();
    let mut node = Node::start(&world, &nats.url(), LedgerOptions::default()).await;
    let js = jetstream(&nats.url()).await;
    for envelope in world.onboard(DCMS, "dcms-1", 2) {
        publish(&js, envelope).await;
    }
    for i in 0..5 {
        publish(&js, world.commitment(DCMS, "dcms-1", &format!("c-{i}"))).await;
    }
    node.wait_for_size(8).await;
    node.stop().await;

    let health = LedgerHealth::default();
    let metrics = LedgerMetrics::default();
    let cosigner = Cosigner::new("replica.test", [5; 32]).unwrap();
    let replica = ReplicaCosigner::new(
        cosigner,
        node.verifier_key.clone(),
        node.store.clone(),
        health.clone(),
        metrics.clone(),
        &[],
        None,
    );
    let verifier = CosignatureVerifier::new(&replica.verifier_key()).unwrap();
    let log = world.log_signer();
    let head = node.store.head();

    // The head, and an earlier size of the same tree.
    for size in [head.size, 3] {
        let root = replica.root_at(size).unwrap().unwrap();
        let note = log.sign(size, root);
        let line = replica.add_checkpoint(&request(&note), NOW).unwrap();
        let checkpoint =
            covenant_core::checkpoint::verify_checkpoint(&note, &node.verifier_key).unwrap();
        assert_eq!(
            verifier
                .verify_line(&checkpoint.body, line.trim_end())
                .unwrap(),
            NOW
        );
    }
    assert_eq!(replica.root_at(head.size).unwrap(), Some(head.root));
    assert_eq!(replica.root_at(head.size + 1).unwrap(), None);

    let status = |refusal: ReplicaRefusal| (refusal.status(), refusal.to_string());
    let (code, message) = status(replica.add_checkpoint(b"not a request", NOW).unwrap_err());
    assert_eq!(code, 400, "{message}");
    let stranger = covenant_core::checkpoint::LogSigner::new(&world.genesis().origin, [3; 32])
        .unwrap()
        .sign(head.size, head.root);
    let (code, message) = status(
        replica
            .add_checkpoint(&request(&stranger), NOW)
            .unwrap_err(),
    );
    assert_eq!(code, 403, "another key signed it: {message}");

    // Ahead of this replica's log: it waits for its log, then says it is behind.
    let started = Instant::now();
    let ahead = log.sign(head.size + 1, Hash([1; 32]));
    let (code, message) = status(replica.add_checkpoint(&request(&ahead), NOW).unwrap_err());
    assert_eq!(code, 503, "{message}");
    assert!(
        message.contains(&format!(
            "holds {} entries, fewer than the checkpoint's {}",
            head.size,
            head.size + 1
        )),
        "{message}"
    );
    assert!(started.elapsed() >= CATCH_UP_WAIT);
    assert_eq!(
        health.divergence(),
        None,
        "being behind is not a divergence"
    );

    // Another root at a size it has: refused, remembered, and every later request refused.
    let other = log.sign(4, Hash([2; 32]));
    let (code, message) = status(replica.add_checkpoint(&request(&other), NOW).unwrap_err());
    assert_eq!(code, 409, "{message}");
    assert!(
        message.contains("differs from a peer's checkpoint of size 4"),
        "{message}"
    );
    assert!(
        message.contains("not known (no peer answered)"),
        "{message}"
    );
    assert_eq!(
        health.divergence(),
        Some(Divergence {
            size: 4,
            first_differing_entry: None
        })
    );
    let good = log.sign(head.size, head.root);
    let (code, message) = status(replica.add_checkpoint(&request(&good), NOW).unwrap_err());
    assert_eq!(
        code, 409,
        "a diverged replica cosigns nothing more: {message}"
    );
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("covenant_ledger_replica_diverged 1\n"),
        "{text}"
    );
    assert!(
        text.contains("covenant_ledger_replica_cosigned_total 2\n"),
        "{text}"
    );
}
