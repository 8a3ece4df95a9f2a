//! Time to serve (`just bench catch-up`): a new replica started on an empty data directory,
//! beside a stream that already holds N events (default 1 000 000; `COVENANT_BENCH_EVENTS`),
//! derives the log from the stream and its query projections from the log, as `covenant
//! serve` does (the ledger and the projections' follower, each on its own threads). The
//! figure is the time until `/readyz` answers 200 with the default limits, judged by the same
//! function the route calls; the times until the log holds every event and until the
//! projections have applied all of it print beside it, and then the disk the log store, the
//! projections and the stream take. Figures go to target/bench/catch_up.json.
//!
//! While the replica catches up, a reader asks 20 times a second, in turn, for an actor's
//! scorecard, a commitment's history and an actor's page over HTTP: their p50 and p99 are reads
//! while ingest runs at its fastest. Once it has caught up, the same reader asks again for
//! [`STEADY_SECONDS`] while publishers send [`STEADY_EVENTS_PER_S`] more events a second, which
//! the replica follows as a live server does: reads while a caught-up server follows ingest.
//!
//! Last, the replica is stopped and started again over its data directory twice, timed until
//! it is ready: first with its files dropped from the page cache (as after a reboot; how much
//! the cache held before and after prints beside it), then warm.
//!
//! The broker runs as production does (`sync_interval: always`);
//! `COVENANT_BENCH_BROKER_SYNC=default` gives NATS's default fsync.
//!
//! The events: by default each commitment is followed by eight actions and its outcome (one
//! event in ten a commitment); `COVENANT_BENCH_MIX=commitments` makes every event a new
//! commitment, the heaviest case for the projections.

#[path = "../../ledger/tests/support/mod.rs"]
mod support;

use async_nats::jetstream::{self, message::PublishMessage};
use covenant_http::AppState;
use covenant_http::health::readiness;
use covenant_ledger::{
    Ingest, Ledger, LedgerMetrics, LedgerOptions, RunningLedger, StreamSettings,
};
use covenant_query::{Follower, Projections};
use covenant_store::{LogReader, LogStore, SledStore};
use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::World;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Actors the events are spread over, by default: about as many public bodies as publish
/// (`COVENANT_BENCH_ACTORS`). With a handful of actors, each holding hundreds of thousands of
/// commitments, the projections slow down batch after batch (BENCHMARKS.md).
const DEFAULT_ACTORS: usize = 1000;

fn main() {
    // `cargo bench` passes --bench; without it this is a quick smoke run that records nothing.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let events: usize = std::env::var("COVENANT_BENCH_EVENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(if measuring { 1_000_000 } else { 2_000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the runtime");
    runtime.block_on(run(events, measuring));
}

async fn run(events: usize, measuring: bool) {
    let (server, broker_sync) = covenant_testkit::bench::broker();
    println!("broker: nats-server -js, sync_interval {broker_sync}");
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = jetstream::new(client.clone());
    covenant_ledger::ensure_stream(&js, &StreamSettings::default())
        .await
        .expect("create the stream");
    let mut world = World::new();
    let actors: Vec<String> = (0..std::env::var("COVENANT_BENCH_ACTORS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_ACTORS))
        .map(|i| format!("GB-BODY-{i:04}"))
        .collect();
    let started = Instant::now();
    let mut envelopes = Vec::with_capacity(events + 2 * actors.len());
    for (i, actor) in actors.iter().enumerate() {
        // Key material repeats every 250 actors; each actor still has a key id of its own.
        envelopes.extend(world.onboard(actor, &format!("key-{i}"), 2 + (i % 250) as u8));
    }
    let only_commitments =
        std::env::var("COVENANT_BENCH_MIX").is_ok_and(|mix| mix == "commitments");
    for i in 0..events {
        let actor = i % actors.len();
        let (owner, key) = (&actors[actor], format!("key-{actor}"));
        let kind = if only_commitments {
            // Named as in the default mix, so that the reader's histories find them.
            support::in_prose(
                support::commitment(&format!("c-{actor}-{}", i / actors.len())),
                i as u64,
            )
        } else {
            lifecycle_event(actor, i / actors.len())
        };
        envelopes.push(world.emit(owner, &key, kind));
    }
    let steady: Vec<Vec<u8>> = (events..events + STEADY_EVENTS_PER_S * STEADY_SECONDS)
        .map(|i| {
            let actor = i % actors.len();
            let kind = lifecycle_event(actor, i / actors.len());
            world.emit(&actors[actor], &format!("key-{actor}"), kind)
        })
        .collect();
    println!(
        "signed {} events by {} actors ({}) in {:.1} s",
        envelopes.len(),
        actors.len(),
        if only_commitments {
            "every event a new commitment"
        } else {
            "each commitment followed by 8 actions and an outcome"
        },
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    publish_all(&js, &envelopes).await;
    println!("published them in {:.1} s", started.elapsed().as_secs_f64());
    let total = envelopes.len() as u64 + 1;
    drop(envelopes);

    let work = tempfile::Builder::new()
        .prefix("covenant-catch-up-bench")
        .tempdir_in(covenant_testkit::bench::dir())
        .expect("make a scratch directory under target/bench");
    let started = Instant::now();
    let replica = Replica::start(work.path(), &world, client, StateRead::AheadOfTheEngine).await;
    let (store, projections, state) = (&replica.store, &replica.projections, &replica.state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let http =
        tokio::spawn(axum::serve(listener, covenant_http::router(state.clone())).into_future());
    let reading = Arc::new(AtomicBool::new(true));
    let readers = {
        let (reading, commitments) = (reading.clone(), events / actors.len() / 10);
        let (actors, base) = (actors.len(), base.clone());
        std::thread::spawn(move || read_while(&base, actors, commitments.max(1), &reading))
    };

    let (mut ready_at, mut log_at, mut projected_at) = (None, None, None);
    let mut reported = Instant::now();
    let (mut last_applied, mut moved_at) = (0, Instant::now());
    while projected_at.is_none() || ready_at.is_none() {
        let applied = projections.applied();
        if applied != last_applied {
            (last_applied, moved_at) = (applied, Instant::now());
        } else if moved_at.elapsed() > STALLED {
            stalled(projections, &**store, applied);
        }
        let now = started.elapsed().as_secs_f64();
        let judged = readiness(state);
        if judged.ready {
            ready_at.get_or_insert(now);
        }
        if store.head().size >= total {
            log_at.get_or_insert(now);
        }
        if projections.applied() >= total {
            projected_at.get_or_insert(now);
        }
        if reported.elapsed() >= Duration::from_secs(10) {
            println!(
                "  {now:.0} s: log {} of {total} entries, projections {}; {}",
                judged.log_size,
                projections.applied(),
                judged.reasons.join("; ")
            );
            reported = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ready_s, log_s, projected_s) = (
        ready_at.unwrap_or_default(),
        log_at.unwrap_or_default(),
        projected_at.unwrap_or_default(),
    );
    println!(
        "a new replica over {total} entries: /readyz 200 after {ready_s:.1} s; the log complete after {log_s:.1} s ({:.0} entries/s); the projections complete after {projected_s:.1} s ({:.0} entries/s)",
        total as f64 / log_s,
        total as f64 / projected_s
    );
    let bound = what_bounds_the_projections(projections, projected_s);
    reading.store(false, Ordering::Relaxed);
    let reads = readers.join().expect("the readers");
    print_reads("while catching up", &reads);
    let following = follow_steady_ingest(
        &js,
        &steady,
        projections,
        &**store,
        &base,
        actors.len(),
        events,
    )
    .await;
    // Refreshes reopen each engine so that a restart reads back only the tail; the readers
    // (and, for the store, the writer) wait while one runs.
    let refreshes = serde_json::json!({
        "store": store.refreshes().count(),
        "store_longest_ms": store.refreshes().longest().as_millis() as u64,
        "projections": projections.refreshes().count(),
        "projections_longest_ms": projections.refreshes().longest().as_millis() as u64,
    });
    println!("engine refreshes: {refreshes}");
    // The router holds the store too; the restarts need it closed.
    http.abort();
    let _ = http.await;
    replica.stop().await;
    let disk = |path: &std::path::Path| covenant_testkit::bench::disk_usage(path);
    let (log_bytes, projection_bytes, stream_bytes) = (
        disk(&work.path().join("log")),
        disk(&work.path().join("query")),
        disk(server.store_dir()),
    );
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    println!(
        "disk at {total} entries: the log store {:.0} MiB, the projections {:.0} MiB, the stream {:.0} MiB ({:.0}, {:.0} and {:.0} bytes per entry)",
        mib(log_bytes),
        mib(projection_bytes),
        mib(stream_bytes),
        log_bytes as f64 / total as f64,
        projection_bytes as f64 / total as f64,
        stream_bytes as f64 / total as f64,
    );
    let url = server.url();
    let restarts = [
        restart(
            work.path(),
            &world,
            &url,
            Cache::Evicted,
            StateRead::AheadOfTheEngine,
        )
        .await,
        restart(
            work.path(),
            &world,
            &url,
            Cache::Warm,
            StateRead::AheadOfTheEngine,
        )
        .await,
    ];
    // The first restart replays what the engines wrote since they last opened; these two
    // find them freshly opened, so they compare the two ways of reading the state alone.
    println!("two more restarts with the page cache dropped, to compare like with like:");
    let mut compared = Vec::new();
    for state_read in [StateRead::AfterTheStore, StateRead::AheadOfTheEngine] {
        compared.push(restart(work.path(), &world, &url, Cache::Evicted, state_read).await);
    }
    let worst = worst_case_restart(work.path(), &world, &restarts[0]);
    if !measuring {
        println!("smoke run (no --bench): nothing recorded");
        return;
    }
    let json = serde_json::json!({
        "entries": total,
        "actors": actors.len(),
        "mix": if only_commitments { "commitments" } else { "lifecycle" },
        "ready_s": (ready_s * 10.0).round() / 10.0,
        "log_complete_s": (log_s * 10.0).round() / 10.0,
        "projections_complete_s": (projected_s * 10.0).round() / 10.0,
        "ledger_entries_per_s": (total as f64 / log_s).round(),
        "projection_entries_per_s": (total as f64 / projected_s).round(),
        "engine_refreshes": refreshes,
        "projection_engine_writes_per_entry": bound.writes_per_entry,
        "projection_engine_writes_per_entry_by_kind": bound.writes_by_kind,
        "projection_engine_write_share": bound.write_share,
        "broker_sync_interval": broker_sync,
        "disk_log_bytes": log_bytes,
        "disk_projection_bytes": projection_bytes,
        "disk_stream_bytes": stream_bytes,
        "memory": covenant_testkit::bench::Memory::of_self().json(),
        "reads_per_s_while_catching_up": READS_PER_S,
        "reads_while_catching_up": reads
            .iter()
            .map(|(kind, figures)| (kind.to_string(), figures.json()))
            .collect::<serde_json::Map<_, _>>(),
        "steady_events_per_s": STEADY_EVENTS_PER_S,
        "steady_seconds": STEADY_SECONDS,
        "reads_while_following": following
            .iter()
            .map(|(kind, figures)| (kind.to_string(), figures.json()))
            .collect::<serde_json::Map<_, _>>(),
        "restart_cold": restarts[0].json(),
        "restart_warm": restarts[1].json(),
        "restart_cold_state_after_store": compared[0].json(),
        "restart_cold_state_ahead": compared[1].json(),
        "restart_worst_case": worst,
    });
    covenant_testkit::bench::write_json("catch_up", &json);
}

/// What bounded the projections' catch-up, measured over it: sled's writing (the time the
/// batches held the readers' gate) as a share of the time to project the log, and the engine
/// writes per entry, in all and by kind of key.
struct Bound {
    writes_per_entry: f64,
    writes_by_kind: serde_json::Value,
    write_share: f64,
}

/// Print and return [`Bound`] for projections that took `projected_s` to project the log.
fn what_bounds_the_projections(projections: &Projections, projected_s: f64) -> Bound {
    let applied = projections.applied();
    let writes_per_entry = projections.engine_writes() as f64 / applied.max(1) as f64;
    let writing_s = projections.total_gate_hold().as_secs_f64();
    let write_share = writing_s / projected_s.max(f64::MIN_POSITIVE);
    println!(
        "  the projections: {writes_per_entry:.2} engine writes per entry; sled writing {writing_s:.1} of their {projected_s:.1} s ({:.0}%)",
        100.0 * write_share
    );
    let writes_by_kind = covenant_testkit::bench::writes_by_kind(
        &projections.engine_writes_per_entry_by_kind(applied),
    );
    Bound {
        writes_per_entry: (writes_per_entry * 100.0).round() / 100.0,
        writes_by_kind,
        write_share: (write_share * 1000.0).round() / 1000.0,
    }
}

/// The ledger's part of a cold restart just before the next snapshot, when the most entries
/// follow the newest one: the cold restart's store and ledger, with the records it applied
/// after its snapshot replaced by a whole interval's, applied cold
/// (`covenant_testkit::bench::apply_last_sealed_records_cold`) on the state before them.
fn worst_case_restart(dir: &std::path::Path, world: &World, cold: &Restart) -> serde_json::Value {
    let log = dir.join("log");
    let size = SledStore::open(&log).expect("reopen the store").head().size;
    let interval = covenant_ledger::sequencer::snapshot_interval(
        size,
        covenant_ledger::sequencer::SNAPSHOT_EVERY_ENTRIES,
    );
    let tail = covenant_testkit::bench::apply_last_sealed_records_cold(
        &log,
        &world.log_signer().snapshot_key(),
        interval,
    );
    let check = cold.opened.state_check;
    let ledger_s =
        cold.opened.store_s + cold.opened.ledger_s - check.apply.as_secs_f64() + tail.walk_s;
    let per_entry = |seconds: f64| seconds * 1e6 / tail.entries.max(1) as f64;
    println!(
        "the ledger's cold restart just before the next snapshot ({interval} entries after one): {ledger_s:.2} s (the store and the ledger as above, with {} entries' sealed state records applied cold in {:.2} s, {:.2} us each, instead of {}; read one at a time, {:.2} s, {:.2} us each)",
        tail.entries,
        tail.walk_s,
        per_entry(tail.walk_s),
        check.applied,
        tail.one_at_a_time_s,
        per_entry(tail.one_at_a_time_s),
    );
    let round = |value: f64| (value * 100.0).round() / 100.0;
    serde_json::json!({
        "interval_entries": interval,
        "tail_entries": tail.entries,
        "tail_apply_cold_s": round(tail.walk_s),
        "tail_apply_us_per_entry": round(per_entry(tail.walk_s)),
        "tail_one_at_a_time_s": round(tail.one_at_a_time_s),
        "store_and_ledger_s": round(ledger_s),
    })
}

/// A replica as `covenant serve` runs one over a data directory: the ledger reading the stream
/// into the log store, the projections' follower, and the state the HTTP routes answer from.
struct Replica {
    store: Arc<SledStore>,
    projections: Arc<Projections>,
    state: AppState,
    ingest: Ingest,
    running: RunningLedger,
    follower: Follower,
    opened: Opened,
}

/// Seconds opening each part took: the store, the ledger (its check of the stored validation
/// state) and the projections.
#[derive(Debug, Clone, Copy)]
struct Opened {
    store_s: f64,
    /// The store's part in two: the engine's recovery, then finishing the event index.
    store_engine_s: f64,
    store_index_s: f64,
    ledger_s: f64,
    /// The ledger's part in two: the sealed snapshot's state, and the entries after it.
    state_check: covenant_ledger::StateCheck,
    projections_s: f64,
}

impl Replica {
    async fn start(
        dir: &std::path::Path,
        world: &World,
        client: async_nats::Client,
        state_read: StateRead,
    ) -> Self {
        let started = Instant::now();
        let path = dir.join("log");
        let store = Arc::new(
            match state_read {
                StateRead::AheadOfTheEngine => {
                    SledStore::create_or_open_for_ledger(path, world.log_signer().snapshot_key())
                }
                StateRead::AfterTheStore => SledStore::create_or_open(path),
            }
            .expect("open the store"),
        );
        let store_s = started.elapsed().as_secs_f64();
        let recovery = store.recovery();
        let (store_engine_s, store_index_s) = (
            recovery.engine_open.as_secs_f64(),
            recovery.index_load.as_secs_f64(),
        );
        let ledger = Ledger::open(
            store.clone(),
            &world.genesis(),
            Some(world.log_signer()),
            LedgerOptions::default(),
            LedgerMetrics::default(),
        )
        .expect("open the ledger");
        let ledger_s = started.elapsed().as_secs_f64() - store_s;
        let state_check = ledger.state_check();
        let (health, verifier_key) = (ledger.health(), ledger.verifier_key().expect("a log key"));
        let (ingest, running) = ledger
            .run_stream(client, &StreamSettings::default())
            .await
            .expect("run the ledger");
        let opening = Instant::now();
        let projections =
            Arc::new(Projections::open(dir.join("query")).expect("open the projections"));
        let projections_s = opening.elapsed().as_secs_f64();
        let follower = Follower::start(projections.clone(), store.clone()).expect("follow the log");
        let state = AppState {
            ledger_health: Some(health),
            ..AppState::new(store.clone(), verifier_key)
        }
        .with_query(projections.clone());
        Self {
            store,
            projections,
            state,
            ingest,
            running,
            follower,
            opened: Opened {
                store_s,
                store_engine_s,
                store_index_s,
                ledger_s,
                state_check,
                projections_s,
            },
        }
    }

    /// Stop the follower and the ledger and close everything, so the directory can be opened
    /// again.
    async fn stop(self) {
        let Self {
            store,
            projections,
            state,
            ingest,
            running,
            follower,
            ..
        } = self;
        tokio::task::spawn_blocking(move || follower.stop())
            .await
            .expect("stop the follower");
        running.stop().await.expect("stop the ledger");
        drop((state, projections, store, ingest));
    }
}

/// Whether a restart finds the replica's files in the page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    /// Dropped first (`covenant_testkit::bench::evict_page_cache`): as after a reboot.
    Evicted,
    /// As the previous run left it.
    Warm,
}

/// When a restarting replica reads its snapshot's sealed validation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateRead {
    /// While the store's engine opens, as `covenant serve` does
    /// (`SledStore::create_or_open_for_ledger`).
    AheadOfTheEngine,
    /// After the store has opened, when the ledger asks for it: the same run's baseline for
    /// the read-ahead.
    AfterTheStore,
}

/// A replica's restart over its data directory: how long until `/readyz` would answer 200,
/// and its parts.
struct Restart {
    cache: Cache,
    state_read: StateRead,
    eviction: covenant_testkit::bench::Eviction,
    opened: Opened,
    ready_s: f64,
}

impl Restart {
    fn json(&self) -> serde_json::Value {
        let ms = |seconds: f64| (seconds * 1000.0).round();
        serde_json::json!({
            "page_cache_held_before_mb": self.eviction.cached_before >> 20,
            "page_cache_held_after_mb": self.eviction.cached_after >> 20,
            "store_open_ms": ms(self.opened.store_s),
            "store_engine_open_ms": ms(self.opened.store_engine_s),
            "store_index_load_ms": ms(self.opened.store_index_s),
            "ledger_open_ms": ms(self.opened.ledger_s),
            "ledger_state_load_ms": ms(self.opened.state_check.snapshot_load.as_secs_f64()),
            "ledger_applied_entries": self.opened.state_check.applied,
            "ledger_apply_ms": ms(self.opened.state_check.apply.as_secs_f64()),
            "ledger_rederived_entries": self.opened.state_check.rederived,
            "ledger_rederive_ms": ms(self.opened.state_check.rederive.as_secs_f64()),
            "projections_open_ms": ms(self.opened.projections_s),
            "ready_ms": ms(self.ready_s),
        })
    }
}

/// Start the replica again over `dir`, as `covenant serve` does after a stop: the store, the
/// ledger (which checks the stored validation state against the log after its last sealed
/// snapshot), the stream from where the log ends, the projections and their follower, until
/// the readiness judgement passes.
async fn restart(
    dir: &std::path::Path,
    world: &World,
    nats_url: &str,
    cache: Cache,
    state_read: StateRead,
) -> Restart {
    let eviction = match cache {
        Cache::Evicted => covenant_testkit::bench::evict_page_cache(dir),
        Cache::Warm => Default::default(),
    };
    let started = Instant::now();
    let client = async_nats::connect(nats_url).await.expect("connect");
    let replica = Replica::start(dir, world, client, state_read).await;
    while !readiness(&replica.state).ready {
        assert!(
            started.elapsed() < STALLED,
            "not ready {STALLED:?} after a restart: {}",
            readiness(&replica.state).reasons.join("; ")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready_s = started.elapsed().as_secs_f64();
    let opened = replica.opened;
    replica.stop().await;
    let restart = Restart {
        cache,
        state_read,
        eviction,
        opened,
        ready_s,
    };
    println!(
        "restart, page cache {}{}: ready in {:.2} s (the store {:.2} s: its engine {:.2} s, then the event index {:.2} s; the ledger's state check {:.2} s: the sealed snapshot's state {:.2} s, {} entries' sealed records applied {:.2} s, {} entries re-derived {:.2} s; the projections {:.2} s){}",
        match restart.cache {
            Cache::Evicted => "dropped",
            Cache::Warm => "warm",
        },
        match restart.state_read {
            StateRead::AheadOfTheEngine => "",
            StateRead::AfterTheStore => ", the sealed state read after the store opened",
        },
        restart.ready_s,
        restart.opened.store_s,
        restart.opened.store_engine_s,
        restart.opened.store_index_s,
        restart.opened.ledger_s,
        restart.opened.state_check.snapshot_load.as_secs_f64(),
        restart.opened.state_check.applied,
        restart.opened.state_check.apply.as_secs_f64(),
        restart.opened.state_check.rederived,
        restart.opened.state_check.rederive.as_secs_f64(),
        restart.opened.projections_s,
        match restart.cache {
            Cache::Evicted => format!(
                "; the cache held {} of the replica's {} MiB of files before, {} MiB after",
                eviction.cached_before >> 20,
                eviction.file_bytes >> 20,
                eviction.cached_after >> 20
            ),
            Cache::Warm => String::new(),
        }
    );
    restart
}

/// The `nth` event of an actor in the default mix: each of its commitments is made, gets
/// eight actions, then its outcome, so one event in ten is a commitment (about the share in
/// the query benchmark's log). `COVENANT_BENCH_MIX=commitments` makes every event a new
/// commitment instead: the heaviest event for the projections (about 14 keys each).
fn lifecycle_event(actor: usize, nth: usize) -> covenant_core::proto::event_body::Kind {
    let commitment = format!("c-{actor}-{}", nth / 10);
    let kind = match nth % 10 {
        0 => support::commitment(&commitment),
        9 => support::outcome(&commitment),
        step => support::action(&format!("{commitment}-a{step}"), &[&commitment]),
    };
    // Worded in prose, as real events are: the store compresses it and the search index
    // takes its words as it would theirs.
    support::in_prose(kind, (actor as u64) << 32 | nth as u64)
}

/// The live ingest a caught-up replica follows while it is read: far above what a government's
/// bodies publish, well under the broker's durable publish rate on this machine.
const STEADY_EVENTS_PER_S: usize = 500;

/// How long the live ingest runs.
const STEADY_SECONDS: usize = 30;

/// After catching up: publish `steady` at [`STEADY_EVENTS_PER_S`] while the reader reads, and
/// return its figures once the projections have applied all of it.
async fn follow_steady_ingest(
    js: &jetstream::Context,
    steady: &[Vec<u8>],
    projections: &Projections,
    store: &dyn LogStore,
    base: &str,
    actors: usize,
    events: usize,
) -> Vec<(&'static str, ReadFigures)> {
    let reading = Arc::new(AtomicBool::new(true));
    let readers = {
        let (reading, base) = (reading.clone(), base.to_owned());
        let commitments = (events / actors / 10).max(1);
        std::thread::spawn(move || read_while(&base, actors, commitments, &reading))
    };
    let started = Instant::now();
    let tenth = (STEADY_EVENTS_PER_S / 10).max(1);
    for (n, chunk) in steady.chunks(tenth).enumerate() {
        publish_all(js, chunk).await;
        let due = Duration::from_millis(100 * (n as u64 + 1));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let published_s = started.elapsed().as_secs_f64();
    // Done when the log has stopped growing (the ledger has taken every published event) and
    // the projections hold all of it.
    let (mut last_size, mut still_since) = (store.head().size, Instant::now());
    while still_since.elapsed() < Duration::from_millis(500) || projections.applied() < last_size {
        if started.elapsed() > STALLED {
            panic!("the projections did not follow the steady ingest within {STALLED:?}");
        }
        let size = store.head().size;
        if size != last_size {
            (last_size, still_since) = (size, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reading.store(false, Ordering::Relaxed);
    let reads = tokio::task::spawn_blocking(move || readers.join().expect("the readers"))
        .await
        .expect("join the readers");
    println!(
        "a steady ingest of {} events at {STEADY_EVENTS_PER_S}/s: published in {published_s:.1} s, projected {:.1} s after the first",
        steady.len(),
        started.elapsed().as_secs_f64()
    );
    print_reads("while following the steady ingest", &reads);
    reads
}

fn print_reads(when: &str, reads: &[(&'static str, ReadFigures)]) {
    for (kind, figures) in reads {
        println!(
            "read {when}, {kind}: {} answered, p50 {:.2} ms, p99 {:.2} ms; {} not there yet",
            figures.answered.len(),
            figures.percentile(0.5),
            figures.percentile(0.99),
            figures.not_yet
        );
    }
}

/// How often a newsroom asks while the replica catches up: light enough not to slow it much.
const READS_PER_S: u64 = 20;

/// The latencies of one kind of read, in milliseconds, and how often the answer was 404 or 503
/// because the projections had not reached the actor, the commitment or a checkpoint yet.
#[derive(Default)]
struct ReadFigures {
    answered: Vec<f64>,
    not_yet: usize,
}

impl ReadFigures {
    fn percentile(&self, fraction: f64) -> f64 {
        let mut sorted = self.answered.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * fraction).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    }

    fn json(&self) -> serde_json::Value {
        let round = |ms: f64| (ms * 1000.0).round() / 1000.0;
        serde_json::json!({
            "answered": self.answered.len(),
            "not_found_yet": self.not_yet,
            "p50_ms": round(self.percentile(0.5)),
            "p99_ms": round(self.percentile(0.99)),
        })
    }
}

/// Until `reading` turns false, [`READS_PER_S`] requests a second at the latest point, in
/// turn: an actor's scorecard, a commitment's history and an actor's page.
fn read_while(
    base: &str,
    actors: usize,
    commitments_per_actor: usize,
    reading: &AtomicBool,
) -> Vec<(&'static str, ReadFigures)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut figures: Vec<(&'static str, ReadFigures)> = ["scorecard", "history", "actor page"]
        .into_iter()
        .map(|kind| (kind, ReadFigures::default()))
        .collect();
    let mut turn = 0usize;
    while reading.load(Ordering::Relaxed) {
        let actor = (turn * 7_919) % actors;
        let commitment = (turn * 31) % commitments_per_actor;
        let path = match turn % 3 {
            0 => format!("/v1/actors/GB-BODY-{actor:04}"),
            1 => format!("/v1/commitments/c-{actor}-{commitment}/history"),
            _ => format!("/actors/GB-BODY-{actor:04}"),
        };
        let started = Instant::now();
        let mut response = agent
            .get(&format!("{base}{path}"))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let _ = response.body_mut().read_to_vec();
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let slot = &mut figures[turn % 3].1;
        match response.status().as_u16() {
            200 => slot.answered.push(millis),
            404 | 503 => slot.not_yet += 1,
            status => panic!("GET {path}: {status}"),
        }
        turn += 1;
        std::thread::sleep(Duration::from_millis(1000 / READS_PER_S));
    }
    figures
}

/// How long the projections may go without applying anything before the run stops.
const STALLED: Duration = Duration::from_secs(120);

/// The follower logs its errors where nobody reads them here: apply the next entry directly so
/// the run ends with the reason.
fn stalled(projections: &Projections, store: &dyn LogStore, applied: u64) -> ! {
    let next = projections.catch_up_to(store, applied + 1, 1);
    panic!(
        "the projections applied nothing for {STALLED:?} at {applied} of {} entries; applying the next one directly: {next:?}",
        store.head().size
    );
}

/// Publish with a window of outstanding acks, as a busy emitter fleet would.
async fn publish_all(js: &jetstream::Context, envelopes: &[Vec<u8>]) {
    for chunk in envelopes.chunks(2000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for envelope in chunk {
            let (id, actor) = support::id_and_actor(envelope);
            let message = PublishMessage::build()
                .payload(envelope.clone().into())
                .message_id(id);
            let subject = covenant_core::subject::event_subject(&actor);
            acks.push(js.send_publish(subject, message).await.expect("publish"));
        }
        for ack in acks {
            ack.await.expect("stored");
        }
    }
}
