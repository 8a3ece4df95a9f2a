//! Faults on a running cluster under load: three NATS nodes holding the event stream at 3
//! replicas and two `covenant serve` replicas, while one emitter publishes over NATS and
//! another posts over HTTP. In turn a NATS node is killed with SIGKILL and restarted, a replica
//! is killed and restarted on its data directory, a NATS node is frozen with SIGSTOP for longer
//! than its election timeout, and every replica is restarted one after another. Afterwards
//! every acknowledged event is in every replica's log exactly once, the replicas agree on size
//! and root, and no checkpoint seen at any time showed another root for the same size.
//!
//! `COVENANT_CHAOS_ROUNDS` repeats the faults (default 1); `just chaos` runs 5 rounds in
//! release mode and prints the figures docs/OPERATING.md quotes.

use super::support::world::{self, World};
use super::support::*;
use covenant_store::{LogReader, SledStore};
use prost::Message;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";
const KEY: &str = "dcms-1";
const SEED: u8 = 2;
const NODES: usize = 3;
const REPLICAS: usize = 2;
const STREAM: &str = "COVENANT_EVENTS";
/// Long enough for the other two nodes to give up on a frozen stream leader and elect
/// another (5 to 10 s with nats-server 2.15), and then some.
const FREEZE: Duration = Duration::from_secs(15);
/// Generous: a debug build on a busy machine is slow, and a deadline is there to name what
/// never happened, not to measure.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(120);
/// Time between two events of one emitter: at most 100 events a second from each.
const PACE: Duration = Duration::from_millis(10);
const POLL: Duration = Duration::from_millis(50);

/// One nats-server of the cluster, run from the configuration deploy/local-cluster.sh writes.
struct NatsNode {
    index: usize,
    config: PathBuf,
    log: PathBuf,
    client_port: u16,
    monitor_port: u16,
    child: Option<Child>,
}

impl NatsNode {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(covenant_testkit::nats_server_binary())
            .arg("-c")
            .arg(&self.config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    fn name(&self) -> String {
        format!("covenant-nats-{}", self.index + 1)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// JetStream's health check: the node is up and its streams have caught up.
    fn healthy(&self) -> bool {
        get(&format!("http://127.0.0.1:{}/healthz", self.monitor_port))
            .is_some_and(|(status, body)| status == 200 && body.contains("ok"))
    }

    fn wait_healthy(&self) -> Duration {
        let started = Instant::now();
        while !self.healthy() {
            assert!(
                started.elapsed() < RECOVERY_DEADLINE,
                "{} is not healthy: {}",
                self.name(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(POLL);
        }
        started.elapsed()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        self.kill();
    }
}

/// A ledger replica: its data directory outlives each `covenant serve` run on it.
struct Replica {
    data: PathBuf,
    served: Option<Served>,
}

impl Replica {
    fn start(&mut self, config: &Path, nats_urls: &str) -> String {
        let mut command = serve_command(config, &self.data);
        command.args(["--nats", nats_urls, "--stream-replicas", "3"]);
        let served = Served::spawn(command);
        let url = served.base_url.clone();
        self.served = Some(served);
        url
    }

    fn url(&self) -> &str {
        &self.served.as_ref().expect("running").base_url
    }
}

/// What the checkpoint monitor saw.
#[derive(Default)]
struct Seen {
    /// The root first seen for each size, and by which replica.
    roots: HashMap<u64, (String, usize)>,
    /// Two roots for one size, or a replica whose checkpoint went back: each a sentence.
    violations: Vec<String>,
    /// Each replica's newest checkpoint size.
    latest: Vec<u64>,
    /// When a replica's checkpoint size changed: (when, replica, new size).
    changes: Vec<(Instant, usize, u64)>,
    polls: u64,
}

struct Shared {
    /// Each replica's base URL while it runs.
    replicas: Mutex<Vec<Option<String>>>,
    seen: Mutex<Seen>,
    stop_load: AtomicBool,
    stop_monitor: AtomicBool,
}

impl Shared {
    fn replica_url(&self, replica: usize) -> Option<String> {
        self.replicas.lock().unwrap()[replica].clone()
    }

    fn set_replica_url(&self, replica: usize, url: Option<String>) {
        self.replicas.lock().unwrap()[replica] = url;
    }

    fn latest(&self) -> Vec<u64> {
        self.seen.lock().unwrap().latest.clone()
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// A C2SP checkpoint note's size and base64 root (its second and third lines).
fn checkpoint(agent: &ureq::Agent, base_url: &str) -> Option<(u64, String)> {
    let mut response = agent
        .get(format!("{base_url}/log/checkpoint"))
        .call()
        .ok()?;
    if response.status().as_u16() != 200 {
        return None;
    }
    let note = response.body_mut().read_to_string().ok()?;
    let mut lines = note.lines().skip(1);
    let size = lines.next()?.parse().ok()?;
    let root = lines.next()?.to_owned();
    Some((size, root))
}

/// Poll every running replica's checkpoint until told to stop.
fn monitor(shared: &Shared) {
    let agent = agent(Duration::from_secs(3));
    while !shared.stop_monitor.load(Ordering::Relaxed) {
        for replica in 0..REPLICAS {
            let Some(url) = shared.replica_url(replica) else {
                continue;
            };
            let Some((size, root)) = checkpoint(&agent, &url) else {
                continue;
            };
            let now = Instant::now();
            let mut seen = shared.seen.lock().unwrap();
            seen.polls += 1;
            match seen.roots.get(&size) {
                Some((first, by)) if *first != root => {
                    let sentence = format!(
                        "size {size}: replica {} showed root {first}, replica {} root {root}",
                        by + 1,
                        replica + 1
                    );
                    seen.violations.push(sentence);
                }
                Some(_) => {}
                None => {
                    seen.roots.insert(size, (root, replica));
                }
            }
            let before = seen.latest[replica];
            if size < before {
                let sentence = format!(
                    "replica {} went back from checkpoint size {before} to {size}",
                    replica + 1
                );
                seen.violations.push(sentence);
            }
            if size != before {
                seen.latest[replica] = size;
                seen.changes.push((now, replica, size));
            }
        }
        std::thread::sleep(POLL);
    }
}

/// What an emitter got through.
struct Tally {
    /// Event ids, with when their acknowledgement came.
    acknowledged: Vec<(String, Instant)>,
    /// Sends that failed or went unanswered and were tried again.
    failures: u64,
}

impl Tally {
    fn times(&self) -> impl Iterator<Item = Instant> + '_ {
        self.acknowledged.iter().map(|(_, when)| *when)
    }
}

/// Publish over NATS as an emitter does, with the digest of the bytes as the message id, until
/// told to stop; an event counts once JetStream's acknowledgement says it is stored. A publish
/// that fails or goes unanswered is sent again, identical: JetStream or the ledger drops the
/// second copy if the first was stored after all.
async fn nats_emitter(urls: Vec<String>, shared: Arc<Shared>) -> Tally {
    let mut world = World::with_id_prefix(1);
    world.add_ungranted_key(KEY, SEED);
    let client = async_nats::connect(urls).await.expect("connect to nats");
    let js = async_nats::jetstream::new(client);
    let mut acknowledged = vec![];
    let mut failures = 0;
    'events: for i in 0.. {
        if shared.stop_load.load(Ordering::Relaxed) {
            break;
        }
        let envelope = world.commitment(DCMS, KEY, &format!("c-nats-{i}"));
        let (id, actor) = world::id_and_actor(&envelope);
        let message_id = covenant_core::subject::message_id(&envelope);
        loop {
            let message = async_nats::jetstream::message::PublishMessage::build()
                .payload(envelope.clone().into())
                .message_id(&message_id);
            let publish = async {
                js.send_publish(covenant_core::subject::event_subject(&actor), message)
                    .await
                    .map_err(|error| error.to_string())?
                    .await
                    .map_err(|error| error.to_string())
            };
            match tokio::time::timeout(Duration::from_secs(10), publish).await {
                Ok(Ok(_stored)) => {
                    acknowledged.push((id, Instant::now()));
                    break;
                }
                Ok(Err(_)) | Err(_) => {
                    failures += 1;
                    if shared.stop_load.load(Ordering::Relaxed) {
                        break 'events;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        tokio::time::sleep(PACE).await;
    }
    Tally {
        acknowledged,
        failures,
    }
}

/// POST to the replicas as an emitter behind a load balancer does: the next replica on a
/// refused connection, a timeout, 408, 429 or a 5xx, with the same bytes. An event counts once a
/// replica answers 2xx (queued on the stream).
fn http_emitter(shared: &Shared) -> Tally {
    let mut world = World::with_id_prefix(2);
    world.add_ungranted_key(KEY, SEED);
    let agent = agent(Duration::from_secs(10));
    let mut acknowledged = vec![];
    let mut failures = 0;
    let mut attempt = 0usize;
    'events: for i in 0.. {
        if shared.stop_load.load(Ordering::Relaxed) {
            break;
        }
        let envelope = world.commitment(DCMS, KEY, &format!("c-http-{i}"));
        let (id, _) = world::id_and_actor(&envelope);
        loop {
            attempt += 1;
            let answer = shared.replica_url(attempt % REPLICAS).and_then(|url| {
                let mut response = agent
                    .post(format!("{url}/v1/events"))
                    .header("Content-Type", "application/x-protobuf")
                    .send(&envelope[..])
                    .ok()?;
                let body = response.body_mut().read_to_string().unwrap_or_default();
                Some((response.status().as_u16(), body))
            });
            match answer {
                Some((200..=299, _)) => {
                    acknowledged.push((id, Instant::now()));
                    break;
                }
                Some((status, body)) if ![408, 429].contains(&status) && status < 500 => {
                    panic!("a replica refused a valid event with {status}: {body}")
                }
                _ => {
                    failures += 1;
                    if shared.stop_load.load(Ordering::Relaxed) {
                        break 'events;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        std::thread::sleep(PACE);
    }
    Tally {
        acknowledged,
        failures,
    }
}

/// The index of the node that leads the event stream now, if one does.
async fn stream_leader(js: &async_nats::jetstream::Context, nodes: &[NatsNode]) -> Option<usize> {
    let mut stream = js.get_stream(STREAM).await.ok()?;
    let info = stream.info().await.ok()?;
    let leader = info.cluster.as_ref()?.leader.as_ref()?;
    nodes.iter().position(|node| node.name() == *leader)
}

/// One fault: when it began, when it was repaired (the process started again, or SIGCONT),
/// and when every replica had published a checkpoint larger than its newest at the repair.
struct Fault {
    what: String,
    began: Instant,
    repaired: Instant,
    recovered: Instant,
}

impl Fault {
    /// Wait for every replica's checkpoint to grow past its size at the repair.
    fn recover(shared: &Shared, what: String, began: Instant, repaired: Instant) -> Self {
        let before = shared.latest();
        let deadline = Instant::now() + RECOVERY_DEADLINE;
        while shared
            .latest()
            .iter()
            .zip(&before)
            .any(|(now, then)| now <= then)
        {
            assert!(
                Instant::now() < deadline,
                "after {what} the checkpoints did not grow past {before:?}: {:?}",
                shared.latest()
            );
            std::thread::sleep(POLL);
        }
        let seen = shared.seen.lock().unwrap();
        let recovered = (0..REPLICAS)
            .filter_map(|replica| {
                seen.changes
                    .iter()
                    .find(|(when, r, size)| {
                        *r == replica && *when >= repaired && *size > before[replica]
                    })
                    .map(|(when, _, _)| *when)
            })
            .max()
            .unwrap_or_else(Instant::now);
        Self {
            what,
            began,
            repaired,
            recovered,
        }
    }
}

/// The longest time between two of `changes` (in time order), or from `from` to the first or
/// the last to `to`, within `from..to`.
fn longest_gap(changes: impl Iterator<Item = Instant>, from: Instant, to: Instant) -> Duration {
    let mut longest = Duration::ZERO;
    let mut previous = from;
    for when in changes
        .filter(|when| *when <= to)
        .chain(std::iter::once(to))
    {
        longest = longest.max(when.saturating_duration_since(previous));
        previous = previous.max(when);
    }
    longest
}

fn rounds() -> usize {
    std::env::var("COVENANT_CHAOS_ROUNDS")
        .ok()
        .map(|rounds| rounds.parse().expect("COVENANT_CHAOS_ROUNDS is a number"))
        .unwrap_or(1)
}

#[test]
fn faults_under_load_lose_nothing_duplicate_nothing_and_fork_nothing() {
    let rounds = rounds();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    // The HTTP emitter sends about 100 events a second from one address.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[http]\ningest_per_second = 1000\ningest_burst = 2000\n");
    std::fs::write(&config, text).unwrap();

    // The nodes' configuration comes from deploy/nats/cluster through the script, which knows
    // which lines to point at loopback; this test runs each node itself to kill it.
    let workdir = dir.path().join("cluster");
    let base = free_port_block(32);
    let written = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/local-cluster.sh"
        ))
        .arg("--nats-configs")
        .arg(&workdir)
        .env("BASE_PORT", base.to_string())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(written.success(), "deploy/local-cluster.sh --nats-configs");
    let mut nodes: Vec<NatsNode> = (0..NODES)
        .map(|index| NatsNode {
            index,
            config: workdir.join(format!("nats-{}.conf", index + 1)),
            log: workdir.join(format!("nats-{}.log", index + 1)),
            client_port: base + index as u16,
            monitor_port: base + 20 + index as u16,
            child: None,
        })
        .collect();
    for node in &mut nodes {
        node.start();
    }
    for node in &nodes {
        node.wait_healthy();
    }
    let urls: Vec<String> = nodes.iter().map(NatsNode::url).collect();
    let nats_urls = urls.join(",");

    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|r| Replica {
            data: workdir.join(format!("ledger-{}", r + 1)),
            served: None,
        })
        .collect();
    let shared = Arc::new(Shared {
        replicas: Mutex::new(vec![None; REPLICAS]),
        seen: Mutex::new(Seen {
            latest: vec![0; REPLICAS],
            ..Seen::default()
        }),
        stop_load: AtomicBool::new(false),
        stop_monitor: AtomicBool::new(false),
    });
    for (r, replica) in replicas.iter_mut().enumerate() {
        let url = replica.start(&config, &nats_urls);
        shared.set_replica_url(r, Some(url));
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let js = runtime.block_on(async {
        let client = async_nats::connect(urls.clone()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        wait_for_stream_leader(&js).await;
        js
    });
    let onboarding = world.onboard(DCMS, KEY, SEED);
    let grant_id = world::id_and_actor(&onboarding[1]).0;
    runtime.block_on(async {
        for envelope in onboarding {
            world::publish(&js, envelope).await;
        }
    });
    for replica in &replicas {
        assert_eq!(
            wait_for_decision(replica.url(), &grant_id)["status"],
            "accepted"
        );
    }

    let monitor_thread = std::thread::spawn({
        let shared = shared.clone();
        move || monitor(&shared)
    });
    let load_started = Instant::now();
    let nats_load = runtime.spawn(nats_emitter(urls.clone(), shared.clone()));
    let http_load = std::thread::spawn({
        let shared = shared.clone();
        move || http_emitter(&shared)
    });
    let settle = || std::thread::sleep(Duration::from_secs(2));
    settle();
    let now = Instant::now();
    Fault::recover(&shared, "the load started".into(), now, now);

    let mut faults: Vec<Fault> = vec![];
    let (mut node_kills, mut replica_kills, mut freezes, mut restarts) = (0, 0, 0, 0);
    for round in 0..rounds {
        // (1) kill -9 the node that leads the stream, and start it again on its store.
        let victim = runtime
            .block_on(stream_leader(&js, &nodes))
            .unwrap_or(round % NODES);
        let began = Instant::now();
        nodes[victim].kill();
        node_kills += 1;
        settle();
        let repaired = Instant::now();
        nodes[victim].start();
        nodes[victim].wait_healthy();
        let what = format!("kill -9 of NATS node {} (the stream leader)", victim + 1);
        faults.push(Fault::recover(&shared, what, began, repaired));
        runtime.block_on(wait_for_stream_leader(&js));
        settle();

        // (2) kill -9 a replica and start it again on the same data directory.
        let victim = round % REPLICAS;
        let began = Instant::now();
        shared.set_replica_url(victim, None);
        replicas[victim].served.take().expect("running").kill();
        replica_kills += 1;
        settle();
        let repaired = Instant::now();
        let url = replicas[victim].start(&config, &nats_urls);
        shared.set_replica_url(victim, Some(url));
        let what = format!("kill -9 of replica {}", victim + 1);
        faults.push(Fault::recover(&shared, what, began, repaired));
        settle();

        // (3) freeze the stream leader past its election timeout: the others elect a new
        // one, and the old leader, thawed, must give up whatever it had not replicated.
        let victim = runtime
            .block_on(stream_leader(&js, &nodes))
            .unwrap_or((round + 1) % NODES);
        let began = Instant::now();
        covenant_testkit::send_signal(nodes[victim].pid(), covenant_testkit::SIGSTOP, false);
        freezes += 1;
        std::thread::sleep(FREEZE);
        let repaired = Instant::now();
        covenant_testkit::send_signal(nodes[victim].pid(), covenant_testkit::SIGCONT, false);
        nodes[victim].wait_healthy();
        let what = format!(
            "SIGSTOP of NATS node {} (the stream leader) for {} s",
            victim + 1,
            FREEZE.as_secs()
        );
        faults.push(Fault::recover(&shared, what, began, repaired));
        runtime.block_on(wait_for_stream_leader(&js));
        settle();

        // (4) a rolling upgrade: SIGTERM each replica, wait for it, start it again.
        for (victim, replica) in replicas.iter_mut().enumerate() {
            let began = Instant::now();
            shared.set_replica_url(victim, None);
            let (status, stderr) = replica.served.take().expect("running").terminate();
            assert!(
                status.success(),
                "replica {} on SIGTERM: {stderr}",
                victim + 1
            );
            restarts += 1;
            let repaired = Instant::now();
            let url = replica.start(&config, &nats_urls);
            shared.set_replica_url(victim, Some(url));
            let what = format!("rolling restart of replica {}", victim + 1);
            faults.push(Fault::recover(&shared, what, began, repaired));
        }
        settle();
    }

    shared.stop_load.store(true, Ordering::Relaxed);
    let load_stopped = Instant::now();
    let nats_tally = runtime.block_on(nats_load).unwrap();
    let http_tally = http_load.join().unwrap();

    // Every acknowledged event is on the stream: wait until each replica has consumed all of
    // it and signed a checkpoint of its whole log.
    let last_seq = runtime.block_on(async {
        let mut stream = js.get_stream(STREAM).await.unwrap();
        stream.info().await.unwrap().state.last_sequence
    });
    for (r, replica) in replicas.iter().enumerate() {
        let served = replica.served.as_ref().unwrap();
        let deadline = Instant::now() + RECOVERY_DEADLINE;
        loop {
            let consumed = served.metric("covenant_ledger_stream_sequence");
            let size = served.metric("covenant_ledger_log_size");
            let signed = served.metric("covenant_ledger_checkpoint_size");
            if consumed.is_some_and(|seq| seq >= last_seq as f64)
                && size.is_some()
                && size == signed
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "replica {} did not catch up with stream sequence {last_seq}: {consumed:?}, \
                 size {size:?}, checkpoint {signed:?}",
                r + 1
            );
            std::thread::sleep(POLL);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    shared.stop_monitor.store(true, Ordering::Relaxed);
    monitor_thread.join().unwrap();

    // `covenant audit verify` on each replica, against its own pinned key.
    for (r, replica) in replicas.iter().enumerate() {
        let url = replica.url().to_owned();
        let (_, key) = get(&format!("{url}/log/verifier-key")).unwrap();
        let key_file = dir.path().join(format!("ledger-{}.vkey", r + 1));
        std::fs::write(&key_file, format!("{}\n", key.trim())).unwrap();
        let (code, stdout, stderr) = covenant(&[
            "audit",
            "verify",
            &url,
            "--key",
            key_file.to_str().unwrap(),
            "--quiet",
        ]);
        assert_eq!(
            code,
            0,
            "audit verify of replica {}: {stdout}{stderr}",
            r + 1
        );
    }
    for (r, replica) in replicas.iter_mut().enumerate() {
        let (status, stderr) = replica.served.take().unwrap().terminate();
        assert!(status.success(), "replica {} on SIGTERM: {stderr}", r + 1);
    }

    let stores: Vec<SledStore> = replicas
        .iter()
        .map(|replica| SledStore::open(replica.data.join("log")).unwrap())
        .collect();
    let entries = world::all_entries(&stores[0]);
    for (r, store) in stores.iter().enumerate().skip(1) {
        assert_eq!(
            store.head().size,
            stores[0].head().size,
            "replica {}",
            r + 1
        );
        assert_eq!(
            store.head().root,
            stores[0].head().root,
            "replica {}",
            r + 1
        );
        assert!(
            world::all_entries(store) == entries,
            "replica {} holds other entries than replica 1",
            r + 1
        );
    }
    world::verify_log(&stores[0]);
    let mut copies: HashMap<String, usize> = HashMap::new();
    for entry in &entries {
        let envelope = covenant_core::entry::envelope_of(entry);
        if let Ok(envelope) = covenant_core::proto::Envelope::decode(envelope) {
            *copies.entry(envelope.event_id).or_default() += 1;
        }
    }
    let twice: Vec<_> = copies.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        twice.is_empty(),
        "events in the log more than once: {twice:?}"
    );
    let missing: Vec<_> = nats_tally
        .acknowledged
        .iter()
        .chain(&http_tally.acknowledged)
        .map(|(id, _)| id)
        .filter(|id| !copies.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events are not in the log: {:?}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );

    let seen = shared.seen.lock().unwrap();
    assert!(
        seen.violations.is_empty(),
        "the checkpoints disagree: {:#?}",
        seen.violations
    );
    assert!(
        seen.roots.contains_key(&stores[0].head().size),
        "the monitor saw the final checkpoint"
    );

    let checkpoint_times = || seen.changes.iter().map(|(when, _, _)| *when);
    let load = (load_stopped - load_started).as_secs_f64();
    println!("chaos: {rounds} round(s) of faults under load for {load:.1} s");
    for (door, tally) in [("NATS", &nats_tally), ("HTTP", &http_tally)] {
        println!(
            "chaos: {door}: {} events acknowledged ({:.0} a second), {} sends failed or went unanswered and were tried again",
            tally.acknowledged.len(),
            tally.acknowledged.len() as f64 / load,
            tally.failures
        );
    }
    println!(
        "chaos: {node_kills} NATS node kill(s), {replica_kills} replica kill(s), {freezes} NATS node freeze(s), {restarts} replica restart(s)"
    );
    for fault in &faults {
        let stall = |times: &mut dyn Iterator<Item = Instant>| {
            longest_gap(times, fault.began, fault.recovered).as_secs_f64()
        };
        println!(
            "chaos: {}: repaired after {:.2} s; every replica's checkpoint grew {:.2} s after the repair; \
             longest stretch without a new checkpoint on any replica {:.2} s, without a NATS ack {:.2} s, without an HTTP 202 {:.2} s",
            fault.what,
            (fault.repaired - fault.began).as_secs_f64(),
            (fault.recovered - fault.repaired).as_secs_f64(),
            stall(&mut checkpoint_times()),
            stall(&mut nats_tally.times()),
            stall(&mut http_tally.times()),
        );
    }
    let replica_gaps: Vec<String> = (0..REPLICAS)
        .map(|replica| {
            let gap = longest_gap(
                seen.changes
                    .iter()
                    .filter(|(_, r, _)| *r == replica)
                    .map(|(when, _, _)| *when),
                load_started,
                load_stopped,
            );
            format!("replica {} {:.2} s", replica + 1, gap.as_secs_f64())
        })
        .collect();
    println!(
        "chaos: longest gap between checkpoint changes on any replica {:.2} s; on each replica, its own restarts included: {}",
        longest_gap(checkpoint_times(), load_started, load_stopped).as_secs_f64(),
        replica_gaps.join(", ")
    );
    println!(
        "chaos: final log {} entries on both replicas with one root; {} checkpoint sizes seen in {} polls, none with two roots; {:.1} s in all",
        stores[0].head().size,
        seen.roots.len(),
        seen.polls,
        started.elapsed().as_secs_f64()
    );
}
