//! A witness policy on a ledger fed through a real nats-server: checkpoints are stored and
//! published only with a quorum of cosignatures from real C2SP witnesses (covenant-audit's,
//! served over HTTP on 127.0.0.1), never without one.

use crate::support::*;
use covenant_audit::witness::{AddCheckpoint, Witness, router};
use covenant_core::checkpoint::verify_checkpoint;
use covenant_core::cosignature::{CosignatureVerifier, Cosigner, cosigned_by};
use covenant_core::merkle::Hash;
use covenant_ledger::{
    LedgerOptions, PolicyWitness, PublishCheckpoints, WitnessPolicy, WitnessTiming,
};
use covenant_testkit::{NatsServer, ReservedPort};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const DCMS: &str = "GB-GOV-DCMS";

/// A witness on a port of its own: not listening until [`TestWitness::serve`], so that a
/// witness that is down refuses connections, and one that comes back does so at its address.
struct TestWitness {
    name: String,
    seed: u8,
    port: u16,
    reserved: std::sync::Mutex<Option<ReservedPort>>,
    state: PathBuf,
    log_key: String,
    server: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Requests the witness has received.
    requests: Arc<AtomicUsize>,
}

impl TestWitness {
    fn new(dir: &Path, name: &str, seed: u8, world: &World) -> Self {
        let reserved = ReservedPort::new();
        Self {
            name: name.to_owned(),
            seed,
            port: reserved.port(),
            reserved: std::sync::Mutex::new(Some(reserved)),
            state: dir.join(format!("{seed}.json")),
            log_key: world.log_signer().verifier_key(),
            server: Default::default(),
            requests: Default::default(),
        }
    }

    fn open(&self) -> Witness {
        let cosigner = Cosigner::new(&self.name, [self.seed; 32]).unwrap();
        Witness::open(cosigner, std::slice::from_ref(&self.log_key), &self.state).unwrap()
    }

    async fn serve(&self) {
        let reserved = self.reserved.lock().unwrap().take();
        let listener = reserved.expect("a witness is served once").listen();
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("hand the listener to tokio");
        let requests = self.requests.clone();
        let app = router(Arc::new(self.open())).layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                requests.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        *self.server.lock().unwrap() = Some(server);
    }

    fn verifier_key(&self) -> String {
        Cosigner::new(&self.name, [self.seed; 32])
            .unwrap()
            .verifier_key()
    }

    fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier::new(&self.verifier_key()).unwrap()
    }

    fn in_policy(&self) -> PolicyWitness {
        PolicyWitness::new(
            &self.verifier_key(),
            &format!("http://127.0.0.1:{}", self.port),
        )
        .unwrap()
    }
}

impl Drop for TestWitness {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }
}

fn witnessed(witnesses: &[&TestWitness], quorum: usize) -> LedgerOptions {
    witnessed_every(witnesses, quorum, Duration::ZERO)
}

/// [`witnessed`], with witnessing rounds at most once per `interval`.
fn witnessed_every(witnesses: &[&TestWitness], quorum: usize, interval: Duration) -> LedgerOptions {
    let policy = WitnessPolicy::new(
        witnesses.iter().map(|w| w.in_policy()).collect(),
        quorum,
        WitnessTiming {
            timeout: Duration::from_secs(5),
            retry_interval: Duration::from_millis(200),
            interval,
        },
    )
    .unwrap();
    LedgerOptions {
        witnesses: Some(policy),
        ..LedgerOptions::default()
    }
}

/// Publish an onboarding and `commitments` commitments; returns the log size they make.
async fn feed(world: &mut World, url: &str, commitments: usize) -> u64 {
    let js = jetstream(url).await;
    let mut envelopes = world.onboard(DCMS, "dcms-1", 2);
    for i in 0..commitments {
        envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    let size = 1 + envelopes.len() as u64;
    for envelope in envelopes {
        publish(&js, envelope).await;
    }
    size
}

/// The names of the witnesses whose valid cosignatures `note` carries.
fn cosigners(note: &[u8], witnesses: &[&TestWitness]) -> Vec<String> {
    let verifiers: Vec<_> = witnesses.iter().map(|w| w.verifier()).collect();
    cosigned_by(note, &verifiers)
        .expect("every cosignature line by a listed witness verifies")
        .iter()
        .map(|v| v.name().to_owned())
        .collect()
}

async fn wait_for_checkpoint(node: &Node, size: u64) -> Vec<u8> {
    let store = node.store.clone();
    wait_until(
        &format!("a stored checkpoint of size {size}"),
        || matches!(store.latest_checkpoint(), Ok(Some((stored, _))) if stored == size),
    )
    .await;
    node.store.latest_checkpoint().unwrap().unwrap().1
}

/// Witnesses `w1.example/witness` to `w3.example/witness` (seeds 1 to 3), none serving yet.
fn three_witnesses(dir: &Path, world: &World) -> [TestWitness; 3] {
    [1, 2, 3].map(|n| TestWitness::new(dir, &format!("w{n}.example/witness"), n, world))
}

/// A client subscribed to `acct.checkpoints` (the client must live as long as the
/// subscription).
async fn checkpoint_subscription(url: &str) -> (async_nats::Client, async_nats::Subscriber) {
    let client = async_nats::connect(url).await.unwrap();
    let checkpoints = client.subscribe("acct.checkpoints").await.unwrap();
    client.flush().await.unwrap();
    (client, checkpoints)
}

/// The next checkpoint published on `acct.checkpoints`.
async fn next_publication(checkpoints: &mut async_nats::Subscriber) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(20), checkpoints.next())
        .await
        .expect("a checkpoint is published")
        .expect("the subscription is open")
        .payload
        .to_vec()
}

/// `w1.example/witness`, serving.
async fn serving_witness(dir: &Path, world: &World) -> TestWitness {
    let witness = TestWitness::new(dir, "w1.example/witness", 1, world);
    witness.serve().await;
    witness
}

/// An onboarding, then a commitment every 20 ms or so until 2.5 s after `started`: a new head
/// every few tens of milliseconds, so the ledger signs a checkpoint nearly every 50 ms. Returns
/// the log size it makes.
async fn steady_load(world: &mut World, url: &str, started: std::time::Instant) -> u64 {
    let js = jetstream(url).await;
    let mut size = 1;
    for envelope in world.onboard(DCMS, "dcms-1", 2) {
        publish(&js, envelope).await;
        size += 1;
    }
    let mut n = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        publish(&js, world.commitment(DCMS, "dcms-1", &format!("c-{n}"))).await;
        size += 1;
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_of_three_witnesses_down_a_quorum_of_two_cosigns_every_checkpoint() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let [w1, w2, down] = three_witnesses(dir.path(), &world);
    w1.serve().await;
    w2.serve().await;
    let all = [&w1, &w2, &down];
    let (_client, mut checkpoints) = checkpoint_subscription(&server.url()).await;

    let mut node = Node::start(&world, &server.url(), witnessed(&all, 2)).await;
    let size = feed(&mut world, &server.url(), 300).await;
    node.wait_for_size(size).await;
    let stored = wait_for_checkpoint(&node, size).await;

    // The stored note is the log's checkpoint, still valid for the log's key alone, carrying
    // cosignatures by the two witnesses that are up.
    let checkpoint = verify_checkpoint(&stored, &node.verifier_key).unwrap();
    assert_eq!(checkpoint.root, node.store.head().root);
    assert_eq!(
        cosigners(&stored, &all),
        ["w1.example/witness", "w2.example/witness"]
    );
    // Every checkpoint ever stored, and every one published, had its quorum.
    for stored_size in node.store.checkpoint_sizes().unwrap() {
        let note = node.store.checkpoint(stored_size).unwrap().unwrap();
        assert!(cosigners(&note, &all).len() >= 2, "size {stored_size}");
    }
    loop {
        let note = next_publication(&mut checkpoints).await;
        assert_eq!(cosigners(&note, &all).len(), 2);
        if verify_checkpoint(&note, &node.verifier_key).unwrap().size == size {
            assert_eq!(note, stored);
            break;
        }
    }
    assert!(node.metrics.witness_failures("w3.example/witness") > 0);
    assert_eq!(node.metrics.witness_failures("w1.example/witness"), 0);
    assert!(node.metrics.witness_cosignatures("w2.example/witness") > 0);
    assert_eq!(node.metrics.checkpoints_without_quorum(), 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_nothing_is_stored_or_published_until_a_witness_comes_back() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let [w1, w2, w3] = three_witnesses(dir.path(), &world);
    w1.serve().await;
    let all = [&w1, &w2, &w3];
    let (_client, mut checkpoints) = checkpoint_subscription(&server.url()).await;

    let mut node = Node::start(&world, &server.url(), witnessed(&all, 2)).await;
    let size = feed(&mut world, &server.url(), 50).await;
    node.wait_for_size(size).await;
    // Several rounds for the current head fail for lack of a quorum: nothing is stored.
    let metrics = node.metrics.clone();
    let rounds_before = metrics.checkpoints_without_quorum();
    wait_until("two failed rounds for the full log", || {
        metrics.checkpoints_without_quorum() >= rounds_before + 2
    })
    .await;
    assert_eq!(node.store.latest_checkpoint().unwrap(), None);
    assert!(node.store.checkpoint_sizes().unwrap().is_empty());
    assert!(metrics.witness_failures("w2.example/witness") >= 2);
    assert!(metrics.witness_cosignatures("w1.example/witness") >= 2);

    // One witness comes back: the checkpoint for the current head is cosigned and published.
    w2.serve().await;
    let stored = wait_for_checkpoint(&node, size).await;
    assert_eq!(
        cosigners(&stored, &all),
        ["w1.example/witness", "w2.example/witness"]
    );
    assert_eq!(node.store.checkpoint_sizes().unwrap(), [size]);
    // The first publication is that checkpoint: nothing went out while the quorum was missing.
    assert_eq!(next_publication(&mut checkpoints).await, stored);

    // Later checkpoints prove consistency from what each witness cosigned last.
    let grown = feed_more(&mut world, &server.url(), 20).await + size;
    node.wait_for_size(grown).await;
    let stored = wait_for_checkpoint(&node, grown).await;
    assert_eq!(cosigners(&stored, &all).len(), 2);
    node.stop().await;
}

/// More commitments from the department already onboarded; returns how many.
async fn feed_more(world: &mut World, url: &str, commitments: usize) -> u64 {
    let js = jetstream(url).await;
    for i in 0..commitments {
        publish(&js, world.commitment(DCMS, "dcms-1", &format!("more-{i}"))).await;
    }
    commitments as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_that_cosigned_a_fork_refuses_and_does_not_count() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let [forked, w2, w3] = three_witnesses(dir.path(), &world);
    // Someone with the log's key showed the first witness another tree of size 3.
    let fork = world.log_signer().sign(3, Hash([7; 32]));
    forked
        .open()
        .add_checkpoint(&AddCheckpoint::encode(0, &[], &fork), 1_767_225_600)
        .expect("the witness cosigns the first checkpoint it sees");
    forked.serve().await;
    w2.serve().await;
    let all = [&forked, &w2, &w3];

    let mut node = Node::start(&world, &server.url(), witnessed(&all, 2)).await;
    let size = feed(&mut world, &server.url(), 20).await;
    node.wait_for_size(size).await;
    let metrics = node.metrics.clone();
    let rounds_before = metrics.checkpoints_without_quorum();
    wait_until("two failed rounds for the full log", || {
        metrics.checkpoints_without_quorum() >= rounds_before + 2
    })
    .await;
    assert_eq!(node.store.latest_checkpoint().unwrap(), None);
    assert!(metrics.witness_failures("w1.example/witness") >= 2);
    assert_eq!(metrics.witness_cosignatures("w1.example/witness"), 0);

    // With a third honest witness back there is a quorum, still without the forked one.
    w3.serve().await;
    let stored = wait_for_checkpoint(&node, size).await;
    assert_eq!(
        cosigners(&stored, &all),
        ["w2.example/witness", "w3.example/witness"]
    );
    assert_eq!(metrics.witness_cosignatures("w1.example/witness"), 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_witnesses_carry_on_from_what_they_cosigned() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let w1 = TestWitness::new(dir.path(), "w1.example/witness", 1, &world);
    let w2 = TestWitness::new(dir.path(), "w2.example/witness", 2, &world);
    w1.serve().await;
    w2.serve().await;
    let all = [&w1, &w2];
    let (store, store_dir) = temp_store();
    let mut node = Node::start_on(
        &world,
        &server.url(),
        witnessed(&all, 2),
        store.clone(),
        tempfile::tempdir().unwrap(),
    )
    .await;
    let size = feed(&mut world, &server.url(), 10).await;
    node.wait_for_size(size).await;
    wait_for_checkpoint(&node, size).await;
    node.stop().await;

    let mut node =
        Node::start_on(&world, &server.url(), witnessed(&all, 2), store, store_dir).await;
    let grown = size + feed_more(&mut world, &server.url(), 10).await;
    node.wait_for_size(grown).await;
    let stored = wait_for_checkpoint(&node, grown).await;
    // Both witnesses accept the consistency proofs from the size they cosigned before the
    // restart, and never refused anything.
    assert_eq!(cosigners(&stored, &all).len(), 2);
    assert_eq!(node.metrics.witness_failures("w1.example/witness"), 0);
    assert_eq!(node.metrics.witness_failures("w2.example/witness"), 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_are_asked_at_most_once_per_interval_however_often_the_ledger_signs() {
    let server = NatsServer::start();
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let witness = serving_witness(dir.path(), &world).await;
    let interval = Duration::from_secs(1);
    let started = std::time::Instant::now();
    let mut node = Node::start(
        &world,
        &server.url(),
        witnessed_every(&[&witness], 1, interval),
    )
    .await;
    let size = steady_load(&mut world, &server.url(), started).await;
    // The newest checkpoint is still cosigned and stored, at the next round.
    let note = wait_for_checkpoint(&node, size).await;
    assert_eq!(cosigners(&note, &[&witness]), vec!["w1.example/witness"]);
    let elapsed = started.elapsed();
    let requests = witness.requests.load(Ordering::SeqCst) as u64;
    let signed = node.metrics.checkpoints_signed();
    node.stop().await;
    // One round at start, then at most one per interval; a round is one request (two when the
    // witness answers 409 first).
    let rounds_allowed = elapsed.as_secs() + 1;
    assert!(
        requests <= rounds_allowed + 1,
        "{requests} requests to the witness in {elapsed:?} with a {interval:?} interval"
    );
    assert!(requests >= 2, "the witness was asked only {requests} times");
    assert!(
        signed >= 5 * requests,
        "the ledger signed {signed} checkpoints; the witness saw {requests} requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_at_once_readers_keep_the_ledgers_pace_and_witnesses_cosign_the_newest_once_per_interval()
 {
    let server = NatsServer::start();
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let witness = serving_witness(dir.path(), &world).await;
    let interval = Duration::from_secs(1);
    let gated = witnessed_every(&[&witness], 1, interval);
    let options = LedgerOptions {
        witnesses: gated
            .witnesses
            .map(|policy| policy.publishing(PublishCheckpoints::AtOnce)),
        ..LedgerOptions::default()
    };
    let (_client, mut published) = checkpoint_subscription(&server.url()).await;
    let (store, store_dir) = temp_store();
    let started = std::time::Instant::now();
    let mut node = Node::start_on(
        &world,
        &server.url(),
        options.clone(),
        store.clone(),
        store_dir,
    )
    .await;
    let size = steady_load(&mut world, &server.url(), started).await;
    // The newest checkpoint reaches readers signed by the log alone, and a later round has
    // the witness cosign it, in place.
    wait_for_checkpoint(&node, size).await;
    let health = node.health.clone();
    wait_until("the newest checkpoint to be witnessed", || {
        health.read().witnessed_size == Some(size)
    })
    .await;
    let elapsed = started.elapsed();
    let requests = witness.requests.load(Ordering::SeqCst) as u64;
    let witnessed = node.store.checkpoint(size).unwrap().unwrap();
    assert_eq!(
        cosigners(&witnessed, &[&witness]),
        vec!["w1.example/witness"]
    );
    assert_eq!(
        node.store.latest_checkpoint().unwrap().unwrap().1,
        witnessed
    );

    // Readers saw many checkpoints, nearly all signed by the log alone; the witness saw one
    // request per round, at most one round per interval.
    let sizes = node.store.checkpoint_sizes().unwrap();
    let cosigned_sizes = sizes
        .iter()
        .filter(|&&s| {
            !cosigners(&node.store.checkpoint(s).unwrap().unwrap(), &[&witness]).is_empty()
        })
        .count() as u64;
    assert!(
        sizes.len() as u64 >= 5 * requests,
        "{} checkpoints stored; the witness saw {requests} requests",
        sizes.len()
    );
    assert!(cosigned_sizes >= 1 && cosigned_sizes <= requests);
    assert!(
        requests <= elapsed.as_secs() + 2,
        "{requests} requests to the witness in {elapsed:?} with a {interval:?} interval"
    );
    // What is published on the stream only grows: a cosigned note of an older size is not
    // sent again.
    let mut last_published = 0;
    let mut publications = 0;
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(200), published.next()).await
    {
        let note = verify_checkpoint(&message.payload, &node.verifier_key).unwrap();
        assert!(
            note.size >= last_published,
            "{} published after {last_published}",
            note.size
        );
        (last_published, publications) = (note.size, publications + 1);
    }
    assert_eq!(last_published, size);
    assert!(
        publications as u64 >= 5 * requests,
        "{publications} published"
    );
    node.stop().await;

    // After a restart the newest witnessed checkpoint is found again in the store.
    let node = Node::start_on(
        &world,
        &server.url(),
        options,
        store,
        tempfile::tempdir().unwrap(),
    )
    .await;
    let health = node.health.clone();
    wait_until("the witnessed checkpoint to be recalled", || {
        health.read().witnessed_size == Some(size)
    })
    .await;
}
