//! Checkpoint latency benchmark (`just bench checkpoint`): the time from publishing an event
//! to the first checkpoint that includes it, with publishers and the ledger running at once,
//! in each deployment docs/NATS.md allows and with a witness quorum.
//!
//! 1. **One server** fsyncing every message (`sync_interval: always`): a rate search. One
//!    window of 30 s per rate, doubling from 250 events/s while the p99 stays under 100 ms
//!    and the broker acknowledges at the pace, then halving the gap between the highest rate that
//!    met the goal and the lowest that missed it twice. The highest rate that met it (the
//!    steady rate) is then run for five more windows, reported as median and worst.
//! 2. **Three nodes** in one JetStream cluster, the stream at three replicas (the node
//!    configurations of deploy/nats/cluster, through deploy/local-cluster.sh): the same.
//! 3. **A witness quorum**: one server as in 1, and three witnesses (covenant-audit's, over
//!    HTTP on loopback) of which two must cosign before a checkpoint is published, at half
//!    the steady rate of 1: once with a round as soon as one is due, once with the ledger's
//!    default of a round every 10 s.
//!
//! Every deployment has 1,650 signers with a key each. `COVENANT_BENCH_LATENCY_SECONDS=N`
//! sets the window length (default 30), `COVENANT_BENCH_ACTORS=N` the signers. Figures print
//! and go to target/bench/checkpoint.json.

#![recursion_limit = "256"]

mod load;
#[path = "../tests/support/mod.rs"]
mod support;

use async_nats::jetstream;
use covenant_audit::witness::{Witness, router};
use covenant_core::cosignature::Cosigner;
use covenant_ledger::{
    DEFAULT_WITNESS_INTERVAL, Ledger, LedgerMetrics, LedgerOptions, PolicyWitness, RunningLedger,
    StreamSettings, WitnessPolicy, WitnessTiming,
};
use covenant_store::LogStore;
use covenant_testkit::{NatsCluster, NatsServer};
use load::{DEFAULT_ACTORS, Emitter, checkpoint_latency, emitters, env_number, sign_all};
use std::sync::Arc;
use std::time::Duration;
use support::World;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The latency goal: p99 from publish to checkpoint.
const GOAL_P99_MS: f64 = 100.0;
/// The search's first rate.
const FIRST_RATE: f64 = 250.0;
/// Windows at the steady rate once the search has found it.
const CONFIRMING_WINDOWS: usize = 5;
/// Rounds of halving the gap between met and missed.
const REFINEMENTS: usize = 2;
/// A broker acknowledging below this share of the rate fell behind.
const KEPT_PACE: f64 = 0.95;

fn main() {
    // `cargo bench` passes --bench; without it (clippy's and test builds) a short smoke run.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the runtime");
    runtime.block_on(run(measuring));
}

async fn run(measuring: bool) {
    let window_seconds = env_number(
        "COVENANT_BENCH_LATENCY_SECONDS",
        if measuring { 30 } else { 2 },
    )
    .max(1);
    let mut world = World::new();
    let signers = emitters(env_number("COVENANT_BENCH_ACTORS", DEFAULT_ACTORS).max(1));
    let mut onboarding = vec![];
    for emitter in &signers {
        onboarding.extend(world.onboard_signer(&emitter.actor, &emitter.key_id, &emitter.signer));
    }
    let load = Load {
        world,
        onboarding,
        signers,
        window: Duration::from_secs(window_seconds as u64),
    };
    println!(
        "{} signers, windows of {window_seconds} s, goal p99 <= {GOAL_P99_MS} ms",
        load.signers.len()
    );

    let single = {
        let server = NatsServer::start_durable();
        let mut deployment = Deployment::start(&load, &server.url(), 1, None).await;
        println!("one nats-server, sync_interval always:");
        let found = deployment.search(&load, measuring).await;
        deployment.stop().await;
        found
    };
    let cluster = {
        let nodes = NatsCluster::start();
        let mut deployment = Deployment::start(&load, &nodes.urls(), 3, None).await;
        println!("three nats-server nodes, the stream at 3 replicas:");
        let found = deployment.search(&load, measuring).await;
        deployment.stop().await;
        found
    };
    let witness_rate = (single.steady_rate / 2.0).max(FIRST_RATE / 2.0);
    let mut witnessed = vec![];
    for interval in [Duration::ZERO, DEFAULT_WITNESS_INTERVAL] {
        let server = NatsServer::start_durable();
        let witnesses = Witnesses::serve(&load.world, 3).await;
        let policy = witnesses.policy(2, interval);
        let mut deployment = Deployment::start(&load, &server.url(), 1, Some(policy)).await;
        println!(
            "one nats-server and 2 of 3 witnesses, a round {}:",
            if interval.is_zero() {
                "as soon as one is due".to_owned()
            } else {
                format!("every {} s at most", interval.as_secs())
            }
        );
        let figures = deployment.window(&load, witness_rate).await;
        deployment.stop().await;
        witnessed.push(serde_json::json!({
            "round_interval_s": interval.as_secs(),
            "rate_events_per_s": witness_rate.round(),
            "window": figures.json(),
        }));
    }

    if measuring {
        covenant_testkit::bench::write_json(
            "checkpoint",
            &serde_json::json!({
                "signers": load.signers.len(),
                "window_seconds": window_seconds,
                "load_averages": covenant_testkit::bench::load_averages(),
                "goal_p99_ms": GOAL_P99_MS,
                "single_server": single.json(),
                "cluster_r3": cluster.json(),
                "witness_quorum_2_of_3": witnessed,
            }),
        );
    }
}

/// What every deployment is sent: the signers, their onboarding events and the window length.
struct Load {
    world: World,
    onboarding: Vec<Vec<u8>>,
    signers: Vec<Emitter>,
    window: Duration,
}

/// A ledger reading one broker's (or cluster's) stream into a fresh store, and a subscriber
/// to the checkpoints it publishes.
struct Deployment {
    js: jetstream::Context,
    checkpoints: async_nats::Subscriber,
    store: Arc<dyn LogStore>,
    running: RunningLedger,
    /// Events signed so far, so each window's ids are new.
    signed: usize,
    _dir: tempfile::TempDir,
}

impl Deployment {
    async fn start(
        load: &Load,
        urls: &str,
        replicas: usize,
        witnesses: Option<WitnessPolicy>,
    ) -> Self {
        let addresses: Vec<async_nats::ServerAddr> = urls
            .split(',')
            .map(|url| url.parse().expect("a NATS URL"))
            .collect();
        let client = async_nats::connect(addresses).await.expect("connect");
        let js = jetstream::new(client.clone());
        let settings = StreamSettings {
            replicas,
            ..StreamSettings::default()
        };
        covenant_ledger::ensure_stream(&js, &settings)
            .await
            .expect("create the stream");
        if replicas > 1 {
            support::wait_for_stream_leader(&js).await;
        }
        for envelope in &load.onboarding {
            support::publish(&js, envelope.clone()).await;
        }
        let dir = tempfile::Builder::new()
            .prefix("covenant-checkpoint-bench")
            .tempdir_in(covenant_testkit::bench::dir())
            .expect("make a scratch directory under target/bench");
        let store: Arc<dyn LogStore> = Arc::new(
            covenant_store::SledStore::create_or_open(dir.path().join("log"))
                .expect("create the store"),
        );
        let options = LedgerOptions {
            witnesses,
            ..LedgerOptions::default()
        };
        let ledger = Ledger::open(
            store.clone(),
            &load.world.genesis(),
            Some(load.world.log_signer()),
            options,
            LedgerMetrics::default(),
        )
        .expect("open the ledger");
        let checkpoints = client
            .subscribe("acct.checkpoints")
            .await
            .expect("subscribe");
        client.flush().await.expect("flush");
        let (_, running) = ledger
            .run_stream(client, &settings)
            .await
            .expect("run the ledger");
        // Onboarding is in the log before any window starts.
        let onboarded = load.onboarding.len() as u64 + 1;
        while store.head().size < onboarded {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self {
            js,
            checkpoints,
            store,
            running,
            signed: 0,
            _dir: dir,
        }
    }

    /// One window of paced publishing at `rate`.
    async fn window(&mut self, load: &Load, rate: f64) -> Window {
        let count = ((rate * load.window.as_secs_f64()) as usize).max(100);
        let envelopes = sign_all(self.signed, count, &load.signers);
        self.signed += count;
        // Checkpoints of earlier windows still in flight are not this window's.
        while let Ok(Some(_)) = tokio::time::timeout(
            Duration::from_millis(200),
            futures::StreamExt::next(&mut self.checkpoints),
        )
        .await
        {}
        let base_seq = self.store.head().size;
        let latencies =
            checkpoint_latency(&self.js, &mut self.checkpoints, &envelopes, rate, base_seq).await;
        let window = Window {
            rate,
            acknowledged_per_s: latencies.acknowledged_per_s,
            p50: latencies.percentile(0.50),
            p99: latencies.percentile(0.99),
            max: latencies.percentile(1.0),
        };
        println!("  {window}");
        window
    }

    /// The rate search, then the steady rate confirmed over more windows.
    async fn search(&mut self, load: &Load, measuring: bool) -> Search {
        let mut windows = vec![];
        let (mut met, mut missed): (Option<f64>, Option<f64>) = (None, None);
        let mut refinements = 0;
        let mut rate = FIRST_RATE;
        loop {
            let window = self.window(load, rate).await;
            if window.met() {
                met = Some(rate);
            } else {
                missed = Some(rate);
            }
            windows.push(window);
            if !measuring {
                break;
            }
            rate = match (met, missed) {
                (Some(met), None) => met * 2.0,
                (None, Some(missed)) if missed > FIRST_RATE / 8.0 => missed / 2.0,
                (Some(met), Some(missed)) if refinements < REFINEMENTS => {
                    refinements += 1;
                    (met + missed) / 2.0
                }
                _ => break,
            };
        }
        let steady_rate = met.unwrap_or(0.0);
        let mut confirming = vec![];
        if measuring && steady_rate > 0.0 {
            println!(
                "  the steady rate, {steady_rate:.0} events/s, {CONFIRMING_WINDOWS} more windows:"
            );
            for _ in 0..CONFIRMING_WINDOWS {
                confirming.push(self.window(load, steady_rate).await);
            }
        }
        let search = Search {
            windows,
            steady_rate,
            confirming,
        };
        println!("  {}", search.summary());
        search
    }

    async fn stop(self) {
        self.running.stop().await.expect("stop the ledger");
    }
}

/// One window's figures, in milliseconds from publish to checkpoint.
struct Window {
    rate: f64,
    acknowledged_per_s: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Window {
    /// Under the goal, with the broker keeping the pace (one that falls behind measures
    /// itself, not the ledger).
    fn met(&self) -> bool {
        self.p99 <= GOAL_P99_MS && self.kept_pace()
    }

    fn kept_pace(&self) -> bool {
        self.acknowledged_per_s >= KEPT_PACE * self.rate
    }

    fn json(&self) -> serde_json::Value {
        let tenth = |ms: f64| (ms * 10.0).round() / 10.0;
        serde_json::json!({
            "rate_events_per_s": self.rate.round(),
            "acknowledged_events_per_s": self.acknowledged_per_s.round(),
            "p50_ms": tenth(self.p50),
            "p99_ms": tenth(self.p99),
            "max_ms": tenth(self.max),
            "met": self.met(),
        })
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} events/s (acknowledged at {:.0}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms: {}",
            self.rate,
            self.acknowledged_per_s,
            self.p50,
            self.p99,
            self.max,
            match (self.p99 <= GOAL_P99_MS, self.kept_pace()) {
                (_, false) => "the broker fell behind",
                (true, true) => "met",
                (false, true) => "NOT met",
            }
        )
    }
}

/// A rate search: every window run, the highest rate that met the goal, and the windows
/// that confirm it.
struct Search {
    windows: Vec<Window>,
    steady_rate: f64,
    confirming: Vec<Window>,
}

impl Search {
    /// The confirming windows' median and worst p99 (None without any).
    fn median_and_worst_p99(&self) -> Option<(f64, f64)> {
        let mut p99s: Vec<f64> = self.confirming.iter().map(|w| w.p99).collect();
        p99s.sort_by(f64::total_cmp);
        Some((*p99s.get((p99s.len().max(1) - 1) / 2)?, *p99s.last()?))
    }

    fn summary(&self) -> String {
        match self.median_and_worst_p99() {
            Some((median, worst)) => format!(
                "steady rate {:.0} events/s: p99 median {median:.1} ms, worst {worst:.1} ms over {} windows, {} of them met",
                self.steady_rate,
                self.confirming.len(),
                self.confirming.iter().filter(|w| w.met()).count()
            ),
            None => format!(
                "steady rate {:.0} events/s (not confirmed)",
                self.steady_rate
            ),
        }
    }

    fn json(&self) -> serde_json::Value {
        let (median, worst) = self.median_and_worst_p99().unzip();
        serde_json::json!({
            "steady_rate_events_per_s": self.steady_rate.round(),
            "steady_p99_median_ms": median.map(|ms| (ms * 10.0).round() / 10.0),
            "steady_p99_worst_ms": worst.map(|ms| (ms * 10.0).round() / 10.0),
            "steady_windows_met": self.confirming.iter().filter(|w| w.met()).count(),
            "search": self.windows.iter().map(Window::json).collect::<Vec<_>>(),
            "confirming": self.confirming.iter().map(Window::json).collect::<Vec<_>>(),
        })
    }
}

/// Witnesses serving C2SP tlog-witness over HTTP on loopback, each with its own key and state.
struct Witnesses {
    members: Vec<PolicyWitness>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    _state: tempfile::TempDir,
}

impl Witnesses {
    async fn serve(world: &World, count: u8) -> Self {
        let state = tempfile::tempdir().expect("make the witnesses' directory");
        let log_key = world.log_signer().verifier_key();
        let mut members = vec![];
        let mut servers = vec![];
        for seed in 1..=count {
            let cosigner = Cosigner::new(&format!("witness-{seed}.example"), [seed; 32])
                .expect("a witness key");
            let verifier_key = cosigner.verifier_key();
            let witness = Witness::open(
                cosigner,
                std::slice::from_ref(&log_key),
                &state.path().join(format!("{seed}.json")),
            )
            .expect("open the witness");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the witness");
            let address = listener.local_addr().expect("the witness's address");
            servers.push(tokio::spawn(async move {
                axum::serve(listener, router(Arc::new(witness)))
                    .await
                    .expect("serve the witness");
            }));
            members.push(
                PolicyWitness::new(&verifier_key, &format!("http://{address}"))
                    .expect("a policy witness"),
            );
        }
        Self {
            members,
            servers,
            _state: state,
        }
    }

    fn policy(&self, quorum: usize, interval: Duration) -> WitnessPolicy {
        WitnessPolicy::new(
            self.members.clone(),
            quorum,
            WitnessTiming {
                interval,
                ..WitnessTiming::default()
            },
        )
        .expect("a witness policy")
    }
}

impl Drop for Witnesses {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}
