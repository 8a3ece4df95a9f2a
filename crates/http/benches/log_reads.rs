//! Proofs and tiles at scale, as a client gets them over HTTP.
//!
//! A store of `LOG_READS_BENCH_ENTRIES` entries (default 10,000,000; 400-byte envelopes,
//! appended in batches of 1,000 as the ledger appends them, each batch fsynced), one signed
//! checkpoint over all of it, and the HTTP router on loopback. The store is filled twice, as
//! the store runs (its engine reopened every `covenant_store::REFRESH_EVERY_LOG_BYTES` of
//! sled's log or `REFRESH_EVERY_ENTRIES` entries) and with the engine never reopened, the
//! baseline; each is closed, dropped from the page cache and
//! timed reopening, so the restart after a long run shows against the one refreshes avoid.
//! Then, one request at a time: inclusion proofs of random entries, consistency proofs from random earlier sizes, full hash
//! tiles of levels 0 to 2 and full entry bundles at random indexes, each p50 and p99; and the
//! same inclusion proofs computed in process from the store, so the cost of HTTP shows beside;
//! and the process's resident memory after serving them.
//! The goal is proofs p99 under 1 ms at 10 million entries.
//!
//! `just bench log-reads` (`LOG_READS_BENCH_ENTRIES=1000000` for a shorter run); the figures
//! print and go to target/bench/log_reads.json.

#[path = "../../store/benches/support/filler.rs"]
mod filler;

use covenant_core::checkpoint::LogSigner;
use covenant_core::merkle::{self, TILE_WIDTH};
use covenant_http::{AppState, router};
use covenant_store::{Batch, LogReader, LogStore, SledStore};
use std::sync::Arc;
use std::time::Instant;

/// Envelope size of every entry, about a real event's.
const ENVELOPE_BYTES: usize = 400;
const BATCH: u64 = 1_000;
/// Requests timed per kind, after as many to warm the connection and the caches.
const REQUESTS: usize = 5_000;
const GOAL_P99_MS: f64 = 1.0;

fn main() {
    let entries: u64 = std::env::var("LOG_READS_BENCH_ENTRIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10_000_000);
    let work = tempfile::Builder::new()
        .prefix("covenant-log-reads")
        .tempdir_in(covenant_testkit::bench::dir())
        .expect("make a scratch directory under target/bench");
    let signer = LogSigner::new("bench.covenant.example/log", [7; 32]).expect("a log key");
    // The baseline first, in the same run: the engine never reopened while the store is
    // filled, as before refreshes (`covenant_store::REFRESH_EVERY_LOG_BYTES`).
    let unrefreshed = Filled::new(&work.path().join("unrefreshed"), entries, &signer, false);
    let filled = Filled::new(&work.path().join("log"), entries, &signer, true);
    for (name, run) in [
        ("never reopened", &unrefreshed),
        ("reopened as it grows", &filled),
    ] {
        println!(
            "{entries} entries appended in {:.0} s ({:.0} entries/s, batches of {BATCH}), the engine {name} ({} times, the longest {:.2} s); \
             reopened with the page cache dropped ({} of {} MiB cached before, {} after) in {:.2} s: the engine {:.2} s, the event index {:.2} s",
            run.fill_s,
            entries as f64 / run.fill_s,
            run.refreshes,
            run.longest_refresh_s,
            run.eviction.cached_before >> 20,
            run.eviction.file_bytes >> 20,
            run.eviction.cached_after >> 20,
            run.cold.open_s,
            run.cold.engine_s,
            run.cold.index_s,
        );
    }
    std::fs::remove_dir_all(work.path().join("unrefreshed")).expect("remove the baseline store");
    // Served as a server that has run a while and just restarted: its files are in the page
    // cache again (as in the figures before the cold reopen existed), the store is reopened, so
    // nothing the appends left in memory helps, and the timed requests start once the
    // upper-level hashes are read back (the store does this in the background after every
    // open).
    let cached = covenant_testkit::bench::load_page_cache(&work.path().join("log"));
    println!(
        "the store's files read back into the page cache: {} MiB",
        cached >> 20
    );
    let reopened = Instant::now();
    let store = Arc::new(SledStore::open(work.path().join("log")).expect("reopen the store"));
    let open_s = reopened.elapsed().as_secs_f64();
    store.finish_warming();
    let warm_s = reopened.elapsed().as_secs_f64() - open_s;
    let recovery = store.recovery();
    println!(
        "reopened again, warm, in {open_s:.2} s (the engine {:.2} s, the event index {:.2} s, no snapshot); {} upper-level hashes read back in {warm_s:.2} s more",
        recovery.engine_open.as_secs_f64(),
        recovery.index_load.as_secs_f64(),
        store.upper_hashes_held()
    );
    let head = store.head();

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let state = AppState::new(store.clone(), signer.verifier_key());
    runtime.spawn(async move { axum::serve(listener, router(state)).await });
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();

    let size = head.size;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let full_tiles = |level: u32| size / TILE_WIDTH.pow(level + 1);
    let mut timed = |name: &str, path: &mut dyn FnMut(&mut Random) -> String| {
        let latency = time_gets(&agent, &base, &mut random, path);
        println!(
            "{name}: p50 {:.3} ms, p99 {:.3} ms over HTTP",
            latency.0, latency.1
        );
        latency
    };
    let inclusion = timed("inclusion proof", &mut |r| {
        format!("/v1/proof/inclusion?seq={}", r.below(size))
    });
    let consistency = timed("consistency proof", &mut |r| {
        format!("/v1/proof/consistency?from={}", 1 + r.below(size - 1))
    });
    let tiles: Vec<(f64, f64)> = (0..3u8)
        .map(|level| {
            timed(&format!("hash tile, level {level}"), &mut |r| {
                let index = r.below(full_tiles(u32::from(level)));
                let tile = merkle::hash_tile(size, level, index).expect("a full tile");
                format!("/log/{}", merkle::tile_path(&tile))
            })
        })
        .collect();
    let bundles = timed("entry bundle", &mut |r| {
        let tile = merkle::entry_tile(size, r.below(full_tiles(0))).expect("a full bundle");
        format!("/log/{}", merkle::tile_path(&tile))
    });
    let in_process = in_process_inclusion(&store, &mut random);
    println!(
        "inclusion proof computed in process: p50 {:.3} ms, p99 {:.3} ms",
        in_process.0, in_process.1
    );
    let memory = covenant_testkit::bench::Memory::of_self();
    println!(
        "memory of the serving process: {} MiB resident, {} MiB at most",
        memory.resident >> 20,
        memory.peak >> 20
    );
    let proofs_met = inclusion.1 < GOAL_P99_MS && consistency.1 < GOAL_P99_MS;
    println!(
        "goal: proofs p99 < {GOAL_P99_MS} ms at {size} entries: {}",
        if proofs_met { "met" } else { "NOT met" }
    );
    let figures = |latency: (f64, f64)| serde_json::json!({ "p50_ms": round3(latency.0), "p99_ms": round3(latency.1) });
    covenant_testkit::bench::write_json(
        "log_reads",
        &serde_json::json!({
            "entries": size,
            "fill_entries_per_s": (entries as f64 / filled.fill_s).round(),
            "engine_refreshes": filled.refreshes,
            "engine_refresh_longest_s": round3(filled.longest_refresh_s),
            "reopen_cold": filled.cold.json(&filled.eviction),
            "unrefreshed_fill_entries_per_s": (entries as f64 / unrefreshed.fill_s).round(),
            "unrefreshed_reopen_cold": unrefreshed.cold.json(&unrefreshed.eviction),
            "ratio_fill_refreshed_to_unrefreshed": round3(unrefreshed.fill_s / filled.fill_s),
            "ratio_cold_reopen_refreshed_to_unrefreshed": round3(filled.cold.open_s / unrefreshed.cold.open_s),
            "reopen_s": round3(open_s),
            "reopen_engine_s": round3(recovery.engine_open.as_secs_f64()),
            "reopen_index_s": round3(recovery.index_load.as_secs_f64()),
            "upper_hashes_warm_s": round3(warm_s),
            "upper_hashes_held": store.upper_hashes_held(),
            "requests_per_kind": REQUESTS,
            "inclusion_proof": figures(inclusion),
            "consistency_proof": figures(consistency),
            "hash_tile_level_0": figures(tiles[0]),
            "hash_tile_level_1": figures(tiles[1]),
            "hash_tile_level_2": figures(tiles[2]),
            "entry_bundle": figures(bundles),
            "inclusion_proof_in_process": figures(in_process),
            "goal_proof_p99_ms": GOAL_P99_MS,
            "goal_met": proofs_met,
            "memory": memory.json(),
            "load_average_1m": covenant_testkit::bench::load_average(),
        }),
    );
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// A store filled for the benchmark, then closed and reopened with its files out of the page
/// cache, as after a reboot.
struct Filled {
    fill_s: f64,
    refreshes: u64,
    longest_refresh_s: f64,
    eviction: covenant_testkit::bench::Eviction,
    cold: Reopen,
}

/// How long an open took, and its parts.
struct Reopen {
    open_s: f64,
    engine_s: f64,
    index_s: f64,
}

impl Reopen {
    fn json(&self, eviction: &covenant_testkit::bench::Eviction) -> serde_json::Value {
        serde_json::json!({
            "open_s": round3(self.open_s),
            "engine_s": round3(self.engine_s),
            "index_s": round3(self.index_s),
            "cached_mib_before": eviction.cached_before >> 20,
            "cached_mib_after": eviction.cached_after >> 20,
            "file_mib": eviction.file_bytes >> 20,
        })
    }
}

impl Filled {
    /// Fill a store at `dir` with `entries`, the engine reopened as the store does or, with
    /// `reopened` false, never; with a signed checkpoint at the end; close it, drop it from the
    /// page cache and time opening it again.
    fn new(dir: &std::path::Path, entries: u64, signer: &LogSigner, reopened: bool) -> Self {
        let store = SledStore::create_or_open(dir).expect("store");
        if !reopened {
            store.refreshes().set_every(u64::MAX);
            store.refreshes().set_every_log_bytes(u64::MAX);
        }
        let started = Instant::now();
        fill(&store, entries);
        let fill_s = started.elapsed().as_secs_f64();
        let refreshes = store.refreshes().count();
        let longest_refresh_s = store.refreshes().longest().as_secs_f64();
        let head = store.head();
        store
            .put_checkpoint(head.size, &signer.sign(head.size, head.root))
            .expect("store the checkpoint");
        drop(store);
        let eviction = covenant_testkit::bench::evict_page_cache(dir);
        let reopened = Instant::now();
        let store = SledStore::open(dir).expect("reopen the store");
        let open_s = reopened.elapsed().as_secs_f64();
        let recovery = store.recovery();
        let cold = Reopen {
            open_s,
            engine_s: recovery.engine_open.as_secs_f64(),
            index_s: recovery.index_load.as_secs_f64(),
        };
        Self {
            fill_s,
            refreshes,
            longest_refresh_s,
            eviction,
            cold,
        }
    }
}

/// Append `count` entries in batches of [`BATCH`], each made durable before the next.
fn fill(store: &SledStore, count: u64) {
    let mut next = 0;
    while next < count {
        let end = (next + BATCH).min(count);
        let entries = (next..end)
            .map(|n| filler::entry("01JREADS", n, ENVELOPE_BYTES))
            .collect();
        store
            .append(Batch {
                entries,
                ..Batch::default()
            })
            .expect("append");
        next = end;
    }
}

/// p50 and p99 in milliseconds of [`REQUESTS`] GETs of the paths `path` draws, after as many
/// unmeasured ones; every answer must be 200.
fn time_gets(
    agent: &ureq::Agent,
    base: &str,
    random: &mut Random,
    path: &mut dyn FnMut(&mut Random) -> String,
) -> (f64, f64) {
    let mut get = |random: &mut Random| {
        let url = format!("{base}{}", path(random));
        let started = Instant::now();
        let mut response = agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let body = response.body_mut().read_to_vec().expect("read the answer");
        assert!(!body.is_empty(), "GET {url}: an empty answer");
        started.elapsed().as_secs_f64() * 1000.0
    };
    for _ in 0..REQUESTS {
        get(random);
    }
    percentiles((0..REQUESTS).map(|_| get(random)).collect())
}

/// The inclusion proofs of random entries as `covenant_core::merkle` computes them from the
/// store, without HTTP.
fn in_process_inclusion(store: &SledStore, random: &mut Random) -> (f64, f64) {
    let size = store.head().size;
    let millis = (0..REQUESTS)
        .map(|_| {
            let started = Instant::now();
            let proof =
                merkle::prove_inclusion(size, random.below(size), store).expect("inclusion proof");
            assert!(!proof.is_empty() || size < 2, "an empty proof");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    percentiles(millis)
}

fn percentiles(mut millis: Vec<f64>) -> (f64, f64) {
    millis.sort_by(f64::total_cmp);
    let at = |fraction: f64| millis[((millis.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.99))
}

/// xorshift64: reproducible positions without a dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}
