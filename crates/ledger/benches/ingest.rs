//! Ingest benchmark (`just bench ingest`): durable, verified, validated events per second
//! through the ledger, against the raw rate of JetStream consumers doing no work on the same
//! messages, measured in the same run on the same server; then the latency from publish to
//! inclusion in a signed checkpoint at half the ledger's measured maximum rate.
//!
//! A third baseline bounds what any ledger can reach on the machine: the ledger's own decode
//! and batch signature verification stage (`sequencer::prepare`, on all cores) over the same
//! envelopes with nothing else running. Every event has to pass through it, so the ledger's
//! rate can never exceed it, and when it is close to the raw consumer's rate the 0.5 goal
//! leaves the rest of the pipeline (the broker, validation, the store) almost nothing.
//!
//! Conditions are production's: the broker fsyncs every message before acknowledging it
//! (`sync_interval: always`, as docs/NATS.md requires of a single server), and the events come
//! from as many signers as a government has (1,650 actors with a key each: a thousand bodies
//! and 650 MPs), since batch verification groups signatures by key; the verification stage is
//! also timed with four keys, beside it. The latency figure is the median and the worst p99 of
//! five windows of thirty seconds of paced publishing, publishers running while the ledger works.
//!
//! `COVENANT_BENCH_EVENTS=N` changes the number of events (default 200 000),
//! `COVENANT_BENCH_ACTORS=N` the number of signers (default 1 650),
//! `COVENANT_BENCH_BROKER_SYNC=default` runs the broker with NATS's default fsync (every two
//! minutes) for comparison, `COVENANT_BENCH_LATENCY_WINDOWS=N` and
//! `COVENANT_BENCH_LATENCY_SECONDS=N` the latency windows (default 5 of 30 s), and
//! `COVENANT_BENCH_CHECKPOINT_MS=N` the shortest time between checkpoints (default: the
//! ledger's). Figures print and go to target/bench/ingest.json.

#![recursion_limit = "256"]

mod load;
#[path = "../tests/support/mod.rs"]
mod support;

use async_nats::jetstream::{self, consumer};
use covenant_ledger::sequencer::prepare;
use covenant_ledger::{
    Disposition, Incoming, Ledger, LedgerMetrics, LedgerOptions, Origin, Sequencer, StreamSettings,
};
use covenant_store::{LogReader, LogStore};
use covenant_testkit::bench::Memory;
use futures::{FutureExt, StreamExt};
use load::{
    DEFAULT_ACTORS, checkpoint_latency, emitters, env_number, percentile, publish_message, sign_all,
};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::World;

// The same allocator as the `covenant` binary that runs the ledger: envelopes are decoded on
// the verification threads and freed on the commit thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The few signers the verification stage is also timed with, to show what many cost.
const FEW_KEYS: usize = 4;

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this without it, as a quick
    // smoke run that records nothing.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let default_events = if measuring { 200_000 } else { 2_000 };
    let events: usize = std::env::var("COVENANT_BENCH_EVENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default_events);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the runtime");
    runtime.block_on(run(events, measuring));
}

async fn run(events: usize, measuring: bool) {
    let (server, broker_sync) = covenant_testkit::bench::broker();
    println!("broker: nats-server -js, sync_interval {broker_sync}");
    let mut world = World::new();
    let signers = emitters(env_number("COVENANT_BENCH_ACTORS", DEFAULT_ACTORS).max(FEW_KEYS));
    let mut onboarding = vec![];
    for emitter in &signers {
        onboarding.extend(world.onboard_signer(&emitter.actor, &emitter.key_id, &emitter.signer));
    }
    let started = Instant::now();
    let envelopes = sign_all(0, events, &signers);
    let average_bytes = envelopes.iter().map(Vec::len).sum::<usize>() / envelopes.len();
    println!(
        "signed {events} events of {average_bytes} bytes on average from {} signers in {:.1} s",
        signers.len(),
        started.elapsed().as_secs_f64()
    );

    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = jetstream::new(client.clone());
    covenant_ledger::ensure_stream(&js, &StreamSettings::default())
        .await
        .expect("create the stream");
    for envelope in &onboarding {
        support::publish(&js, envelope.clone()).await;
    }
    let started = Instant::now();
    let last_seq = publish_all(&js, &envelopes).await;
    let publish_rate = events as f64 / started.elapsed().as_secs_f64();
    println!("published at {publish_rate:.0} events/s (async acks)");

    let cpu = CpuMeter::new(server.pid());
    let mark = cpu.read();
    let raw_ack_rate = raw_pull_ack(&js, last_seq).await;
    let raw_ack_cpu = cpu.per_event_since(mark, events);
    println!(
        "raw JetStream pull consumer + ack, no work: {raw_ack_rate:.0} events/s ({raw_ack_cpu})"
    );
    let mark = cpu.read();
    let raw_ordered_rate = raw_ordered(&js, last_seq).await;
    let ordered_cpu = cpu.per_event_since(mark, events);
    println!(
        "raw JetStream ordered consumer, no work:    {raw_ordered_rate:.0} events/s ({ordered_cpu})"
    );
    let mark = cpu.read();
    let verify_rate = verify_alone(&world, &onboarding, &envelopes);
    let verify_cpu = cpu.per_event_since(mark, events);
    println!(
        "decode + batch signature verification alone, all cores, {} signers: {verify_rate:.0} events/s ({:.2} of raw pull + ack; {verify_cpu})",
        signers.len(),
        verify_rate / raw_ack_rate
    );
    let verify_few_rate = verify_alone(
        &world,
        &onboarding,
        &sign_all(0, events, &signers[..FEW_KEYS]),
    );
    println!(
        "  the same with {FEW_KEYS} signers: {verify_few_rate:.0} events/s (many signers verify at {:.2} of that)",
        verify_rate / verify_few_rate
    );
    // Every event the ledger takes in costs at least the ordered consumer's delivery and its
    // decode + verification: with the machine's cores fully busy on nothing else, that CPU
    // time per event caps the rate any ledger could reach here.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let floor_us = ordered_cpu.total_us() + verify_cpu.total_us();
    let ceiling_rate = cores as f64 * 1e6 / floor_us;
    println!(
        "ceiling for any ledger on {cores} cores: delivery + decode + verification need {floor_us:.1} us of CPU per event, so at most {ceiling_rate:.0} events/s ({:.2} of raw pull + ack)",
        ceiling_rate / raw_ack_rate
    );

    let work = tempfile::Builder::new()
        .prefix("covenant-ingest-bench")
        .tempdir_in(covenant_testkit::bench::dir())
        .expect("make a scratch directory under target/bench");
    let store_dir = tempfile::tempdir_in(work.path()).expect("make the store's directory");
    let sled_store = Arc::new(
        covenant_store::SledStore::create_or_open(store_dir.path().join("log"))
            .expect("create the store"),
    );
    let store: Arc<dyn LogStore> = sled_store.clone();
    let mut options = LedgerOptions::default();
    if let Some(ms) = std::env::var("COVENANT_BENCH_CHECKPOINT_MS")
        .ok()
        .and_then(|text| text.parse().ok())
    {
        options.checkpoint_interval = Duration::from_millis(ms);
    }
    let metrics = LedgerMetrics::default();
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let ledger = Ledger::open(
        store.clone(),
        &world.genesis(),
        Some(world.log_signer()),
        options.clone(),
        metrics,
    )
    .expect("open the ledger");
    let mut checkpoints = client
        .subscribe("acct.checkpoints")
        .await
        .expect("subscribe");
    client.flush().await.expect("flush");
    let memory_before = Memory::of_self();
    let started = Instant::now();
    let mark = cpu.read();
    let (ingest, running) = ledger
        .run_stream(client.clone(), &StreamSettings::default())
        .await
        .expect("run the ledger");
    let commit_mark = thread_cpu_seconds(COMMIT_THREAD);
    while store.head().stream_seq < last_seq {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ledger_rate = events as f64 / started.elapsed().as_secs_f64();
    let ledger_cpu = cpu.per_event_since(mark, events);
    let (memory_drained, broker_memory) =
        (Memory::of_self(), Memory::of(&server.pid().to_string()));
    // The benchmark's process holds every pre-signed envelope as well as the ledger, so the
    // ledger's share is what draining added.
    let ledger_growth_mb =
        (memory_drained.resident as f64 - memory_before.resident as f64) / 1048576.0;
    println!(
        "memory after draining: this process {} MiB resident ({ledger_growth_mb:.0} MiB more than before the ledger ran, which is the ledger's share; {} MiB at most), the broker {} MiB",
        memory_drained.resident >> 20,
        memory_drained.peak >> 20,
        broker_memory.resident >> 20
    );
    let engine_inserts_per_event = sled_store.engine_inserts() as f64 / store.head().size as f64;
    // What the ledger spends per event beyond the two things every ledger must do.
    let beyond_us = ledger_cpu.total_us() - floor_us;
    let commit_us = (thread_cpu_seconds(COMMIT_THREAD) - commit_mark) * 1e6 / events as f64;
    let (batches, commit_seconds, append_seconds) = batch_figures(&registry);
    println!(
        "  {batches} batches of {:.0} events on average; per batch: validate + append {:.2} ms, of which the store's append {:.2} ms",
        events as f64 / batches.max(1.0),
        commit_seconds * 1000.0 / batches.max(1.0),
        append_seconds * 1000.0 / batches.max(1.0)
    );
    let ratio = ledger_rate / raw_ack_rate;
    // The commit thread's work (validation, the store's append, checkpoints) has to happen
    // too: added to the floor it gives the ceiling for this ledger's design on this machine.
    let design_floor_us = floor_us + commit_us;
    let design_ceiling_rate = cores as f64 * 1e6 / design_floor_us;
    println!(
        "ledger (decode, batch-verify, validate, append + fsync, checkpoint): {ledger_rate:.0} events/s ({ledger_cpu})"
    );
    // The ledger reads the stream with an ordered consumer (no acks), so that consumer is
    // the baseline doing the same delivery work; the pull consumer with acks is the one
    // issue 16's goal was set against.
    println!(
        "ratio ledger / raw ordered consumer (the same delivery work as the ledger): {:.2}",
        ledger_rate / raw_ordered_rate
    );
    println!(
        "ratio ledger / raw pull + ack: {ratio:.2} (goal >= 0.50: {})",
        if ratio >= 0.5 { "met" } else { "NOT met" }
    );
    println!(
        "ratio ledger / verification alone: {:.2}",
        ledger_rate / verify_rate
    );
    println!(
        "  CPU per event beyond delivery and verification: {beyond_us:.1} us (goal <= 5 us: {}); engine inserts per event: {engine_inserts_per_event:.3}",
        if beyond_us <= 5.0 { "met" } else { "NOT met" }
    );
    println!(
        "  the commit thread (validate, append, checkpoints) used {commit_us:.1} us of CPU per event; with delivery and verification that is {design_floor_us:.1} us, so on {cores} cores at most {design_ceiling_rate:.0} events/s ({:.2} of raw pull + ack)",
        design_ceiling_rate / raw_ack_rate
    );
    while checkpoints.next().now_or_never().flatten().is_some() {}

    // Half the slower of the two rates: with the broker fsyncing every message, it may take
    // events durably more slowly than the ledger appends them, and a publisher held back by
    // the broker measures the broker, not the ledger.
    let latency_rate = ledger_rate.min(publish_rate) / 2.0;
    println!(
        "latency windows at {latency_rate:.0} events/s: half the slower of the ledger ({ledger_rate:.0} events/s) and the broker's durable publish rate ({publish_rate:.0} events/s)"
    );
    let (default_windows, default_seconds) = if measuring { (5, 30) } else { (1, 2) };
    let window_seconds = env_number("COVENANT_BENCH_LATENCY_SECONDS", default_seconds).max(1);
    let latency_events = ((latency_rate * window_seconds as f64) as usize).max(1000);
    // Each window is a fresh stretch of paced publishing; the headline is the median window
    // (by p99) with the worst beside it.
    let windows = env_number("COVENANT_BENCH_LATENCY_WINDOWS", default_windows).max(1);
    let mut window_p99s = Vec::with_capacity(windows);
    let mut window_figures = Vec::with_capacity(windows);
    let mut window_refreshes = Vec::with_capacity(windows);
    let mut window_refresh_holds = Vec::with_capacity(windows);
    for window in 0..windows {
        let base_seq = store.head().size;
        let refreshes_before = sled_store.refreshes().count();
        let paced = sign_all(events + window * latency_events, latency_events, &signers);
        let latency =
            checkpoint_latency(&js, &mut checkpoints, &paced, latency_rate, base_seq).await;
        let figures = (
            latency.percentile(0.50),
            latency.percentile(0.90),
            latency.percentile(0.99),
            latency.percentile(1.0),
        );
        let (p50, p90, p99, max) = figures;
        // A reopening of the store's engine holds appends (see BENCHMARKS.md): say where one fell.
        let refreshes = sled_store.refreshes().count() - refreshes_before;
        let last_hold = sled_store.refreshes().last_cost().filter(|_| refreshes > 0);
        let last_hold_text = last_hold
            .map(|cost| format!(", the last holding appends {}", refresh_cost_text(cost)))
            .unwrap_or_default();
        println!(
            "publish to signed checkpoint at {latency_rate:.0} events/s (acknowledged at {:.0}; {latency_events} events, checkpoints every {} ms at most), window {} of {windows}: p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (target p99 <= 100 ms: {}); the store reopened its engine {refreshes} times in it{last_hold_text}",
            latency.acknowledged_per_s,
            options.checkpoint_interval.as_millis(),
            window + 1,
            if p99 <= 100.0 { "met" } else { "NOT met" }
        );
        window_refreshes.push(refreshes);
        window_refresh_holds.push(last_hold.map_or(0.0, |cost| milliseconds(cost.held)));
        window_p99s.push((p99 * 10.0).round() / 10.0);
        window_figures.push(figures);
    }
    window_figures.sort_by(|a, b| a.2.total_cmp(&b.2));
    let (p50, p90, p99, max) = window_figures[(window_figures.len() - 1) / 2];
    let worst_p99 = window_figures.last().expect("at least one window").2;
    let windows_met = window_p99s.iter().filter(|&&p99| p99 <= 100.0).count();
    println!(
        "latency over {windows} windows of {window_seconds} s: median p99 {p99:.1} ms, worst p99 {worst_p99:.1} ms; windows meeting p99 <= 100 ms: {windows_met} of {windows}"
    );
    running.stop().await.expect("stop the ledger");
    let entries = store.head().size;
    let store_refreshes = sled_store.refreshes().count();
    let refresh_longest = sled_store.refreshes().longest_cost();
    println!(
        "the store reopened its engine {store_refreshes} times over {entries} entries (every {} appended or {} MiB of sled's log flushed); the longest reopening held appends {}",
        sled_store.refreshes().every(),
        covenant_store::REFRESH_EVERY_LOG_BYTES >> 20,
        refresh_cost_text(refresh_longest)
    );
    let catch_up = projection_catch_up(&*store, work.path(), ledger_rate);
    // The HTTPS door holds the store too; the restart needs it closed.
    drop((store, sled_store, ingest));
    let restart = restart(store_dir.path(), &world);
    let (restart_ms, store_open_ms) = (restart.seconds * 1000.0, restart.store_seconds * 1000.0);
    println!(
        "restart: the store and the ledger over {entries} entries open in {restart_ms:.0} ms ({store_open_ms:.0} ms reopening the store: the engine {:.0} ms, the event index {:.0} ms from a snapshot of {} entries and {} entries after it; the rest loading the validation state and checking it against the log)",
        restart.recovery.engine_open.as_secs_f64() * 1000.0,
        restart.recovery.index_load.as_secs_f64() * 1000.0,
        restart.recovery.snapshot_size.unwrap_or(0),
        restart.recovery.replayed_entries,
    );
    let check = restart.state_check;
    // Microseconds an entry; 0 when there were none.
    let per_entry = |seconds: f64, entries: u64| match entries {
        0 => 0.0,
        entries => seconds * 1e6 / entries as f64,
    };
    let rederive_us = per_entry(check.rederive.as_secs_f64(), check.rederived);
    let apply_us = per_entry(restart.apply_all_seconds, restart.apply_all_entries);
    // Records applied after the snapshot meet the largest state, so the slower of their rate
    // and the whole log's.
    let applied_us = per_entry(check.apply.as_secs_f64(), check.applied);
    // The check applies (or, without seals, re-derives) what followed the newest snapshot,
    // so a restart just before the next one covers a whole interval: the worst case at this
    // size.
    let interval = covenant_ledger::sequencer::snapshot_interval(
        entries,
        covenant_ledger::sequencer::SNAPSHOT_EVERY_ENTRIES,
    );
    let tail_us = if restart.apply_all_entries > 0 {
        apply_us.max(applied_us)
    } else {
        rederive_us
    };
    let restart_worst_ms = restart_ms
        + interval.saturating_sub(check.applied + check.rederived) as f64 * tail_us / 1000.0;
    println!(
        "  the ledger's check: the sealed snapshot's state (at {}) in {:.0} ms, then {} entries' sealed state records applied in {:.0} ms and {} entries re-derived in {:.0} ms ({rederive_us:.2} us each)",
        check.from,
        check.snapshot_load.as_secs_f64() * 1000.0,
        check.applied,
        check.apply.as_secs_f64() * 1000.0,
        check.rederived,
        check.rederive.as_secs_f64() * 1000.0,
    );
    println!(
        "  applying every sealed state record from entry 0: {} entries in {:.0} ms ({apply_us:.2} us each, {applied_us:.2} us after the snapshot); just before the next snapshot ({interval} entries after one) a restart would take about {restart_worst_ms:.0} ms",
        restart.apply_all_entries,
        restart.apply_all_seconds * 1000.0,
    );
    let [inclusion, consistency] = proof_latency(store_dir.path());
    let (snapshot_begin_s, snapshot_write_s) = snapshot_write(store_dir.path(), &world);
    let (snapshot_begin_ms, snapshot_ms) = (snapshot_begin_s * 1000.0, snapshot_write_s * 1000.0);
    println!(
        "a snapshot of the validation state and the event index over {entries} entries (a quarter of the log apart, from {} to {} entries): {snapshot_begin_ms:.1} ms on the commit thread, {snapshot_ms:.0} ms writing on its own thread",
        covenant_ledger::sequencer::SNAPSHOT_MIN_ENTRIES,
        covenant_ledger::sequencer::SNAPSHOT_EVERY_ENTRIES
    );
    let (disk_bytes, raw_bytes) = space(store_dir.path());
    let engine_bytes = covenant_testkit::bench::disk_usage(&store_dir.path().join("log/sled"));
    let space_ratio = disk_bytes as f64 / raw_bytes as f64;
    println!(
        "space: {disk_bytes} bytes on disk (engine, snapshot and all) for {raw_bytes} bytes of canonical entries: {space_ratio:.2}x (goal < 1.5x: {}); the engine {:.2}x, the rest (the snapshot) {:.2}x",
        if space_ratio < 1.5 { "met" } else { "NOT met" },
        engine_bytes as f64 / raw_bytes.max(1) as f64,
        disk_bytes.saturating_sub(engine_bytes) as f64 / raw_bytes.max(1) as f64,
    );

    let json = serde_json::json!({
        "events": events,
        "signers": signers.len(),
        "broker_sync_interval": broker_sync,
        "average_envelope_bytes": average_bytes,
        "cores": cores,
        "publish_events_per_s": publish_rate.round(),
        "raw_pull_ack_events_per_s": raw_ack_rate.round(),
        "raw_ordered_events_per_s": raw_ordered_rate.round(),
        "ledger_events_per_s": ledger_rate.round(),
        "ratio_ledger_to_raw_pull_ack": (ratio * 1000.0).round() / 1000.0,
        "ratio_goal": 0.5,
        "ratio_goal_met": ratio >= 0.5,
        "ratio_ledger_to_raw_ordered": ((ledger_rate / raw_ordered_rate) * 1000.0).round() / 1000.0,
        "verify_alone_events_per_s": verify_rate.round(),
        "verify_alone_few_keys": FEW_KEYS,
        "verify_alone_few_keys_events_per_s": verify_few_rate.round(),
        "ratio_verify_many_to_few_keys": ((verify_rate / verify_few_rate) * 1000.0).round() / 1000.0,
        "ratio_verify_alone_to_raw_pull_ack": ((verify_rate / raw_ack_rate) * 1000.0).round() / 1000.0,
        "ratio_ledger_to_verify_alone": ((ledger_rate / verify_rate) * 1000.0).round() / 1000.0,
        "cpu_us_per_event": {
            "raw_pull_ack": raw_ack_cpu.json(),
            "raw_ordered": ordered_cpu.json(),
            "verify_alone": verify_cpu.json(),
            "ledger": ledger_cpu.json(),
        },
        "commit_thread_cpu_us_per_event": (commit_us * 100.0).round() / 100.0,
        "ceiling_events_per_s": ceiling_rate.round(),
        "ratio_ceiling_to_raw_pull_ack": ((ceiling_rate / raw_ack_rate) * 1000.0).round() / 1000.0,
        "design_ceiling_events_per_s": design_ceiling_rate.round(),
        "ratio_design_ceiling_to_raw_pull_ack": ((design_ceiling_rate / raw_ack_rate) * 1000.0).round() / 1000.0,
        "latency_events_per_s": latency_rate.round(),
        "latency_events": latency_events,
        "checkpoint_interval_ms": options.checkpoint_interval.as_millis() as u64,
        "ledger_batches": batches,
        "ledger_commit_ms_per_batch": (commit_seconds * 1000.0 / batches.max(1.0) * 100.0).round() / 100.0,
        "store_append_ms_per_batch": (append_seconds * 1000.0 / batches.max(1.0) * 100.0).round() / 100.0,
        "restart_entries": entries,
        "restart_ms": restart_ms.round(),
        "restart_store_open_ms": store_open_ms.round(),
        "restart_snapshot_entries": restart.recovery.snapshot_size.unwrap_or(0),
        "restart_replayed_entries": restart.recovery.replayed_entries,
        "restart_engine_open_ms": (restart.recovery.engine_open.as_secs_f64() * 1000.0).round(),
        "restart_index_load_ms": (restart.recovery.index_load.as_secs_f64() * 1000.0).round(),
        "restart_state_load_ms": (restart.state_check.snapshot_load.as_secs_f64() * 1000.0).round(),
        "restart_applied_entries": restart.state_check.applied,
        "restart_apply_ms": (restart.state_check.apply.as_secs_f64() * 1000.0).round(),
        "restart_apply_us_per_entry": (apply_us * 100.0).round() / 100.0,
        "restart_rederived_entries": restart.state_check.rederived,
        "restart_rederive_ms": (restart.state_check.rederive.as_secs_f64() * 1000.0).round(),
        "restart_rederive_us_per_entry": (rederive_us * 100.0).round() / 100.0,
        "restart_worst_case_estimate_ms": restart_worst_ms.round(),
        "snapshot_commit_thread_ms": (snapshot_begin_ms * 10.0).round() / 10.0,
        "snapshot_write_ms": snapshot_ms.round(),
        "disk_bytes": disk_bytes,
        "raw_entry_bytes": raw_bytes,
        "space_ratio": (space_ratio * 1000.0).round() / 1000.0,
        "space_ratio_engine": (engine_bytes as f64 / raw_bytes.max(1) as f64 * 1000.0).round() / 1000.0,
        "inclusion_proof_p50_ms": (inclusion.0 * 1000.0).round() / 1000.0,
        "inclusion_proof_p99_ms": (inclusion.1 * 1000.0).round() / 1000.0,
        "consistency_proof_p50_ms": (consistency.0 * 1000.0).round() / 1000.0,
        "consistency_proof_p99_ms": (consistency.1 * 1000.0).round() / 1000.0,
        "cpu_us_per_event_beyond_delivery_and_verify": (beyond_us * 100.0).round() / 100.0,
        "cpu_us_per_event_beyond_goal": 5.0,
        "engine_inserts_per_event": (engine_inserts_per_event * 1000.0).round() / 1000.0,
        "projection_catch_up_events_per_s": catch_up.rate.round(),
        "projection_catch_up_ratio": (catch_up.ratio * 1000.0).round() / 1000.0,
        "memory_after_drain": memory_drained.json(),
        "memory_ledger_growth_mb": ledger_growth_mb.round(),
        "memory_broker": broker_memory.json(),
        "load_average_1m": covenant_testkit::bench::load_average(),
        "publish_to_checkpoint_p50_ms": (p50 * 10.0).round() / 10.0,
        "publish_to_checkpoint_p90_ms": (p90 * 10.0).round() / 10.0,
        "publish_to_checkpoint_p99_ms": (p99 * 10.0).round() / 10.0,
        "publish_to_checkpoint_p99_worst_ms": (worst_p99 * 10.0).round() / 10.0,
        "latency_window_seconds": window_seconds,
        "publish_to_checkpoint_max_ms": (max * 10.0).round() / 10.0,
        "latency_target_p99_ms": 100,
        "latency_target_met": p99 <= 100.0,
        "latency_windows_p99_ms": window_p99s,
        "latency_windows_met": windows_met,
        "latency_windows_store_refreshes": window_refreshes,
        "store_engine_refreshes": store_refreshes,
        "store_engine_refresh_longest_ms": milliseconds(refresh_longest.held),
        "store_engine_refresh_longest_engine_open_ms": milliseconds(refresh_longest.engine_open),
        "latency_windows_store_refresh_held_ms": window_refresh_holds,
        "projection_engine_writes_per_entry": (catch_up.writes * 100.0).round() / 100.0,
        "projection_engine_writes_per_entry_by_kind": catch_up.writes_by_kind,
        "projection_engine_write_share": (catch_up.engine_write_share * 1000.0).round() / 1000.0,
    });
    if !measuring {
        println!("smoke run (no --bench): nothing recorded");
        return;
    }
    covenant_testkit::bench::write_json("ingest", &json);
}

/// A reopening's hold and the part of it sled spent opening the engine again.
fn refresh_cost_text(cost: covenant_store::RefreshCost) -> String {
    format!(
        "{:.0} ms ({:.0} ms of it sled opening the engine again)",
        milliseconds(cost.held),
        milliseconds(cost.engine_open)
    )
}

/// Milliseconds to a tenth.
fn milliseconds(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1e4).round() / 10.0
}

/// Entries the projection catch-up is timed over at most (from entry 0), so that a run over
/// millions of events does not spend most of its time here.
const CATCH_UP_ENTRIES: u64 = 400_000;

/// The query projections caught up from entry 0, in their own scratch directory, over at most
/// [`CATCH_UP_ENTRIES`]: entries/s, that rate over the ledger's measured in the same run, and
/// the engine writes per entry, in all and by kind of key.
fn projection_catch_up(store: &dyn LogStore, work: &Path, ledger_rate: f64) -> CatchUp {
    let dir = tempfile::tempdir_in(work).expect("make the projections' directory");
    let projections = covenant_query::Projections::open(dir.path()).expect("open projections");
    let end = store.head().size.min(CATCH_UP_ENTRIES);
    let started = Instant::now();
    let applied = projections
        .catch_up_to(store, end, covenant_query::DEFAULT_BATCH_ENTRIES)
        .expect("catch up");
    let elapsed = started.elapsed().as_secs_f64();
    let rate = applied as f64 / elapsed;
    let ratio = rate / ledger_rate;
    let writes = projections.engine_writes() as f64 / applied.max(1) as f64;
    let writing = projections.total_gate_hold().as_secs_f64();
    println!(
        "projection catch-up from entry 0 over {applied} entries: {rate:.0} entries/s, {ratio:.2} of the ledger's rate (goal >= 1: {}); {writes:.2} engine writes per entry; sled writing {writing:.1} of the {elapsed:.1} s ({:.0}%)",
        if ratio >= 1.0 { "met" } else { "NOT met" },
        100.0 * writing / elapsed
    );
    let writes_by_kind = covenant_testkit::bench::writes_by_kind(
        &projections.engine_writes_per_entry_by_kind(applied),
    );
    CatchUp {
        rate,
        ratio,
        writes,
        writes_by_kind,
        engine_write_share: writing / elapsed,
    }
}

/// What [`projection_catch_up`] measured.
struct CatchUp {
    rate: f64,
    ratio: f64,
    writes: f64,
    writes_by_kind: serde_json::Value,
    /// The share of the catch-up's time sled spent writing batches.
    engine_write_share: f64,
}

/// A sealed snapshot of the store in `dir` at its head, as the ledger takes one every so many
/// entries: seconds the commit thread spends handing it over, and seconds its own thread
/// spends writing it.
fn snapshot_write(dir: &Path, world: &World) -> (f64, f64) {
    let store = covenant_store::SledStore::open(dir.join("log")).expect("reopen the store");
    let state = store.load_state().expect("load the state");
    let key = world.log_signer().snapshot_key();
    let started = Instant::now();
    let job = store
        .begin_snapshot(state.clone(), Some(key))
        .expect("begin a snapshot");
    let handed_over = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let written = job.write().expect("write a snapshot");
    let writing = started.elapsed().as_secs_f64();
    store.finish_snapshot(written);
    (handed_over, writing)
}

/// Bytes the store in `dir` occupies on disk, and the bytes of its canonical entries.
fn space(dir: &Path) -> (u64, u64) {
    let store = covenant_store::SledStore::open(dir.join("log")).expect("reopen the store");
    let size = store.head().size;
    let mut raw = 0;
    let mut seq = 0;
    while seq < size {
        let end = (seq + 65_536).min(size);
        raw += store
            .entries(seq, end)
            .expect("read entries")
            .iter()
            .map(|entry| entry.len() as u64)
            .sum::<u64>();
        seq = end;
    }
    drop(store);
    (covenant_testkit::bench::disk_usage(&dir.join("log")), raw)
}

/// Proof lookups timed per kind.
const PROOF_LOOKUPS: usize = 20_000;

/// Inclusion proofs for random entries and consistency proofs from random earlier sizes, both
/// to the whole log, read from the store reopened in `dir` (its stored hashes, as the HTTP
/// proof routes read them): p50 and p99 in milliseconds for each kind.
fn proof_latency(dir: &Path) -> [(f64, f64); 2] {
    let store = covenant_store::SledStore::open(dir.join("log")).expect("reopen the store");
    let size = store.head().size;
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |below: u64| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % below
    };
    let time = |prove: &mut dyn FnMut() -> usize| {
        let mut millis: Vec<f64> = (0..PROOF_LOOKUPS)
            .map(|_| {
                let started = Instant::now();
                assert!(prove() > 0 || size < 2, "an empty proof");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        millis.sort_by(f64::total_cmp);
        (percentile(&millis, 0.5), percentile(&millis, 0.99))
    };
    let inclusion = time(&mut || {
        covenant_core::merkle::prove_inclusion(size, next(size), &store)
            .expect("inclusion proof")
            .len()
    });
    let consistency = time(&mut || {
        covenant_core::merkle::prove_consistency(size, 1 + next(size - 1), &store)
            .expect("consistency proof")
            .len()
    });
    println!(
        "proof lookups over {size} entries from the store: inclusion p50 {:.3} ms, p99 {:.3} ms; consistency p50 {:.3} ms, p99 {:.3} ms (target p99 < 1 ms)",
        inclusion.0, inclusion.1, consistency.0, consistency.1
    );
    [inclusion, consistency]
}

struct Restart {
    seconds: f64,
    store_seconds: f64,
    recovery: covenant_store::Recovery,
    state_check: covenant_ledger::StateCheck,
    /// Applying every sealed state record from entry 0, alone: how far and how long.
    apply_all_entries: u64,
    apply_all_seconds: f64,
}

/// Reopen the store in `dir` (recovery, the check of its head, the event index and the
/// snapshot) and open a ledger over it (the validation state loaded and checked against the
/// log): what a restart costs before serving.
fn restart(dir: &Path, world: &World) -> Restart {
    let started = Instant::now();
    // As `covenant serve` opens it: the snapshot's sealed state read beside the engine.
    let store = covenant_store::SledStore::open_for_ledger(
        dir.join("log"),
        world.log_signer().snapshot_key(),
    )
    .expect("reopen the store");
    let store_seconds = started.elapsed().as_secs_f64();
    let recovery = store.recovery().clone();
    let store = Arc::new(store);
    let ledger = Ledger::open(
        store.clone(),
        &world.genesis(),
        Some(world.log_signer()),
        LedgerOptions::default(),
        LedgerMetrics::default(),
    )
    .expect("reopen the ledger");
    let seconds = started.elapsed().as_secs_f64();
    let state_check = ledger.state_check();
    drop(ledger);
    let (apply_all_entries, apply_all_seconds) = covenant_testkit::bench::apply_all_sealed_records(
        &*store,
        &world.log_signer().snapshot_key(),
    );
    Restart {
        seconds,
        store_seconds,
        recovery,
        state_check,
        apply_all_entries,
        apply_all_seconds,
    }
}

/// The ledger's decode + batch-verify stage over `envelopes` in batches of the ledger's size,
/// with the keys the onboarding events grant, and nothing else running: events/s.
fn verify_alone(world: &World, onboarding: &[Vec<u8>], envelopes: &[Vec<u8>]) -> f64 {
    let (store, _dir) = support::temp_store();
    let mut sequencer = Sequencer::open(store, &world.genesis()).expect("open a sequencer");
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as u64;
    let incoming = |envelope: &Vec<u8>| Incoming {
        envelope: envelope.clone().into(),
        stored_at_ns: now_ns,
        origin: Origin::Direct,
    };
    let report = sequencer
        .process(onboarding.iter().map(incoming).collect())
        .expect("register the bench's keys");
    assert!(
        report
            .outcomes
            .iter()
            .all(|outcome| matches!(outcome, Disposition::Accepted { .. })),
        "the bench's keys are granted: {:?}",
        report.outcomes
    );
    let keys = sequencer.keys();
    let batches: Vec<Vec<Incoming>> = envelopes
        .chunks(LedgerOptions::default().max_batch)
        .map(|chunk| chunk.iter().map(incoming).collect())
        .collect();
    let started = Instant::now();
    let mut verified = 0;
    for batch in batches {
        verified += prepare(batch, &keys)
            .iter()
            .filter(|item| item.verified())
            .count();
    }
    let rate = envelopes.len() as f64 / started.elapsed().as_secs_f64();
    assert_eq!(verified, envelopes.len(), "every bench envelope verifies");
    rate
}

/// Publish with a window of outstanding acks; returns the last stream sequence.
async fn publish_all(js: &jetstream::Context, envelopes: &[Vec<u8>]) -> u64 {
    let mut last_seq = 0;
    for chunk in envelopes.chunks(2000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for envelope in chunk {
            let (subject, message) = publish_message(envelope);
            acks.push(js.send_publish(subject, message).await.expect("publish"));
        }
        for ack in acks {
            last_seq = last_seq.max(ack.await.expect("stored").sequence);
        }
    }
    last_seq
}

/// A durable pull consumer acknowledging every message, doing nothing else.
async fn raw_pull_ack(js: &jetstream::Context, last_seq: u64) -> f64 {
    let stream = js.get_stream("COVENANT_EVENTS").await.expect("stream");
    let consumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("bench-raw-ack".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            max_ack_pending: 20_000,
            ..Default::default()
        })
        .await
        .expect("create the consumer");
    let started = Instant::now();
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(1000)
        .messages()
        .await
        .expect("consume");
    let mut count = 0u64;
    while let Some(message) = messages.next().await {
        let message = message.expect("a message");
        let seq = message.info().expect("metadata").stream_sequence;
        message.ack().await.expect("ack");
        count += 1;
        if seq >= last_seq {
            break;
        }
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// The ordered consumer the ledger uses, without the ledger.
async fn raw_ordered(js: &jetstream::Context, last_seq: u64) -> f64 {
    let stream = js.get_stream("COVENANT_EVENTS").await.expect("stream");
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig::default())
        .await
        .expect("create the consumer");
    let started = Instant::now();
    let mut messages = consumer.messages().await.expect("consume");
    let mut count = 0u64;
    while let Some(message) = messages.next().await {
        let seq = message
            .expect("a message")
            .info()
            .expect("metadata")
            .stream_sequence;
        count += 1;
        if seq >= last_seq {
            break;
        }
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// Committed batches, the total time spent validating and appending them, and the part of it
/// spent in the store's append.
fn batch_figures(registry: &prometheus_client::registry::Registry) -> (f64, f64, f64) {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encode metrics");
    let value = |name: &str| {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0.0)
    };
    (
        value("covenant_ledger_batches_total"),
        value("covenant_ledger_commit_seconds_sum"),
        value("covenant_ledger_append_seconds_sum"),
    )
}

/// CPU time used by this process (the bench, and the ledger when it runs) and by the broker,
/// read from /proc in clock ticks (USER_HZ, 100 per second on Linux).
struct CpuMeter {
    broker_pid: u32,
}

#[derive(Clone, Copy)]
struct CpuSeconds {
    here: f64,
    broker: f64,
}

/// Microseconds of CPU per event over a phase, split between this process and the broker.
#[derive(Clone, Copy)]
struct CpuPerEvent {
    here_us: f64,
    broker_us: f64,
}

impl CpuMeter {
    fn new(broker_pid: u32) -> Self {
        Self { broker_pid }
    }

    fn read(&self) -> CpuSeconds {
        CpuSeconds {
            here: process_cpu_seconds("self"),
            broker: process_cpu_seconds(&self.broker_pid.to_string()),
        }
    }

    fn per_event_since(&self, mark: CpuSeconds, events: usize) -> CpuPerEvent {
        let now = self.read();
        let per_event = |seconds: f64| seconds * 1e6 / events as f64;
        CpuPerEvent {
            here_us: per_event(now.here - mark.here),
            broker_us: per_event(now.broker - mark.broker),
        }
    }
}

impl CpuPerEvent {
    fn total_us(&self) -> f64 {
        self.here_us + self.broker_us
    }

    fn json(&self) -> serde_json::Value {
        let round = |us: f64| (us * 100.0).round() / 100.0;
        serde_json::json!({
            "this_process": round(self.here_us),
            "broker": round(self.broker_us),
            "total": round(self.total_us()),
        })
    }
}

impl std::fmt::Display for CpuPerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CPU per event {:.1} us: {:.1} here, {:.1} in the broker",
            self.total_us(),
            self.here_us,
            self.broker_us
        )
    }
}

/// The ledger's thread that validates and appends, one batch at a time.
const COMMIT_THREAD: &str = "covenant-commit";

/// User + system CPU seconds of this process's thread called `name`. A thread names itself
/// once it runs, so one just spawned is waited for.
fn thread_cpu_seconds(name: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let tasks = std::fs::read_dir("/proc/self/task").expect("list this process's threads");
        for task in tasks {
            let task = task.expect("a thread").path();
            let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
            if comm.trim_end() == name {
                return cpu_seconds_in(&task.join("stat"));
            }
        }
        assert!(
            Instant::now() < deadline,
            "no thread called {name} is running"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// User + system CPU seconds of a process, from fields 14 and 15 of /proc/<pid>/stat.
fn process_cpu_seconds(pid: &str) -> f64 {
    cpu_seconds_in(Path::new(&format!("/proc/{pid}/stat")))
}

fn cpu_seconds_in(path: &Path) -> f64 {
    let stat =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')').expect("a stat line") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> f64 { fields[index].parse().expect("a tick count") };
    (ticks(11) + ticks(12)) / 100.0
}
