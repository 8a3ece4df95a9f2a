//! `just bench verify`: how fast `covenant audit verify` checks a log, against what the machine
//! can do at best on the same entries in the same run.
//!
//! Builds a valid log of `VERIFY_BENCH_ENTRIES` entries (default 100 000: genesis, 1,650
//! departments and their keys, as many signers as a government has, then signed commitments
//! round robin over them) and its C2SP tiles in memory, then measures:
//! - verify: the whole `verify_log` (chain links, leaf hashes against tiles, envelope decoding,
//!   batch signature checks, the validation replay from genesis, every hash tile, the root and
//!   the checkpoint signature), in entries per second;
//! - baseline: on every core, only Ed25519 batch verification of the entries' signatures (in
//!   batches of 64) plus the blake3 chain hash and the SHA-256 leaf hash of every entry.
//!
//! The ratio verify / baseline is the figure of merit (goal: at least 0.9 with many signers).
//! Each figure is the best of three runs. It also times one verification of the same log
//! served over loopback HTTP, and both figures again over a log signed by four keys only
//! (batch verification folds the signatures of one key together, so few keys flatter it).
//! `VERIFY_BENCH_SIGNERS` changes the number of signers. Writes target/bench/verify.json.

use covenant_audit::publish::StaticLog;
use covenant_audit::{HttpSource, Silent, verify_log};
use covenant_core::checkpoint::LogSigner;
use covenant_core::entry::{chain_hash, envelope_of};
use covenant_core::merkle::leaf_hash;
use covenant_core::proto::Envelope;
use covenant_core::signing::{self, BatchItem, PublicKey};
use covenant_testkit::sample;
use prost::Message;
use rayon::prelude::*;
use std::collections::HashMap;
use std::time::Instant;

// The same allocator as the `covenant` binary: verification allocates and frees many small
// decoded fields across threads, where the system allocator spends a fifth of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The tests' static tile server, to time the same verification over loopback HTTP.
#[allow(dead_code)]
#[path = "../tests/audit/support.rs"]
mod tile_server;

/// Signers by default: about as many bodies and MPs as emit to a government's log.
const SIGNERS: usize = 1_650;
/// The few signers the same figures are measured with beside.
const FEW_SIGNERS: usize = 4;
const RUNS: usize = 3;
const GOAL: f64 = 0.9;

fn main() {
    let size: u64 = env_number("VERIFY_BENCH_ENTRIES", 100_000);
    let signers = env_number("VERIFY_BENCH_SIGNERS", SIGNERS as u64) as usize;
    let threads = rayon::current_num_threads();
    let few = measure(size, FEW_SIGNERS, false);
    let many = measure(size, signers, true);
    println!(
        "with {signers} signers verify runs at {:.2} of its rate with {FEW_SIGNERS}, the baseline at {:.2}",
        many.verify_rate / few.verify_rate,
        many.baseline_rate / few.baseline_rate
    );
    let json = serde_json::json!({
        "bench": "verify",
        "entries": size,
        "signers": signers,
        "threads": threads,
        "verify_entries_per_sec": many.verify_rate,
        "verify_over_http_entries_per_sec": many.over_http_rate,
        "baseline_entries_per_sec": many.baseline_rate,
        "baseline": "Ed25519 batch verify (64 per batch) + blake3 chain hash + sha256 leaf hash of the same entries on every core, same run",
        "ratio": many.ratio,
        "goal": GOAL,
        "goal_met": many.ratio >= GOAL,
        "cpu_time_ratio": many.cpu_ratio,
        "mean_entry_bytes": many.mean_entry_bytes,
        "few_signers": {
            "signers": FEW_SIGNERS,
            "verify_entries_per_sec": few.verify_rate,
            "baseline_entries_per_sec": few.baseline_rate,
            "ratio": few.ratio,
            "cpu_time_ratio": few.cpu_ratio,
        },
        "ratio_verify_many_to_few_signers": many.verify_rate / few.verify_rate,
        "runs": RUNS,
    });
    covenant_testkit::bench::write_json("verify", &json);
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The figures over one log.
struct Figures {
    verify_rate: f64,
    baseline_rate: f64,
    over_http_rate: f64,
    ratio: f64,
    cpu_ratio: f64,
    mean_entry_bytes: u64,
}

/// Build a log of `size` entries signed by `signers` departments and time verify and the
/// baseline over it (and verify over HTTP when `over_http`).
fn measure(size: u64, signers: usize, over_http: bool) -> Figures {
    let threads = rayon::current_num_threads();
    println!(
        "audit verify: building a signed log of {size} entries from {signers} signers ({threads} threads)"
    );
    let entries = sample::entries(size, signers);
    let signer = LogSigner::new(sample::ORIGIN, sample::LOG_SEED).expect("log key");
    let log = StaticLog::publish(&entries, &signer);
    let key = signer.verifier_key();
    let entry_bytes: u64 = entries.iter().map(|e| e.len() as u64).sum();

    // The verifier's state is dropped after the clock stops: `covenant audit verify` exits
    // without freeing it.
    let mut verified = Vec::new();
    let verify = best_of(RUNS, || {
        let (verifier, report) = verify_log(&log, &key, &Silent).expect("the sample log verifies");
        assert_eq!(report.entries_checked, size);
        verified.push(verifier);
    });
    drop(verified);

    // The same log over HTTP on loopback: what `covenant audit verify URL` adds for downloads.
    let over_http = over_http.then(|| {
        let server = tile_server::TileServer::serve(&log);
        let source = HttpSource::new(&server.url()).expect("a loopback URL");
        best_of(1, || {
            let (verifier, report) =
                verify_log(&source, &key, &Silent).expect("the sample log verifies over HTTP");
            assert_eq!(report.entries_checked, size);
            std::mem::forget(verifier);
        })
    });

    let inputs = signature_inputs(&entries, signers);
    let baseline = best_of(RUNS, || baseline(&entries, &inputs));

    let verify_rate = size as f64 / verify.wall;
    let baseline_rate = size as f64 / baseline.wall;
    let ratio = verify_rate / baseline_rate;
    let cpu_ratio = baseline.cpu / verify.cpu;
    println!(
        "  verify:   {verify_rate:>10.0} entries/s ({:.3} s, {:.1} MB/s, {:.2} cores busy)",
        verify.wall,
        entry_bytes as f64 / verify.wall / 1e6,
        verify.cpu / verify.wall
    );
    println!(
        "  baseline: {baseline_rate:>10.0} entries/s ({:.3} s, {:.2} cores busy): batch signature verify + blake3 + sha256 on {threads} threads",
        baseline.wall,
        baseline.cpu / baseline.wall
    );
    if let Some(over_http) = over_http {
        println!(
            "  over HTTP: {:>9.0} entries/s ({:.3} s, tiles and bundles from a loopback server)",
            size as f64 / over_http.wall,
            over_http.wall
        );
    }
    println!(
        "  ratio:    {ratio:.2} (goal >= {GOAL} with many signers: {})",
        if ratio >= GOAL { "met" } else { "NOT met" }
    );
    println!(
        "  CPU-time ratio: {cpu_ratio:.2} (baseline CPU seconds / verify CPU seconds; steadier than the wall-clock ratio when other work shares the machine)"
    );
    Figures {
        verify_rate,
        baseline_rate,
        over_http_rate: over_http.map_or(f64::NAN, |timing| size as f64 / timing.wall),
        ratio,
        cpu_ratio,
        mean_entry_bytes: entry_bytes / size.max(1),
    }
}

/// The signature checks the log holds, prepared outside the timed part: public key, signing
/// input and signature of every signed entry.
fn signature_inputs(entries: &[Vec<u8>], signers: usize) -> Vec<(PublicKey, Vec<u8>, Vec<u8>)> {
    let mut keys: HashMap<String, PublicKey> = HashMap::new();
    keys.insert(
        sample::REGISTRAR_KEY.to_owned(),
        sample::registrar().public_key(),
    );
    for department in sample::departments(signers) {
        keys.insert(department.key_id, department.signer.public_key());
    }
    entries
        .iter()
        .skip(1) // genesis is unsigned
        .map(|entry| {
            let envelope = Envelope::decode(envelope_of(entry)).expect("sample envelopes decode");
            let key = keys[&envelope.key_id];
            let input = signing::envelope_signing_input(&envelope);
            (key, input, envelope.signature)
        })
        .collect()
}

/// What the machine can do at best: batch signature checks and both hashes, on every core.
fn baseline(entries: &[Vec<u8>], inputs: &[(PublicKey, Vec<u8>, Vec<u8>)]) {
    let (signatures_ok, _hashes) = rayon::join(
        || {
            inputs.par_chunks(64).all(|chunk| {
                let items: Vec<BatchItem<'_>> = chunk
                    .iter()
                    .map(|(key, input, signature)| BatchItem {
                        public_key: *key,
                        message: input,
                        signature,
                    })
                    .collect();
                signing::verify_batch(&items, rand::thread_rng())
                    .iter()
                    .all(|&ok| ok)
            })
        },
        || {
            entries
                .par_iter()
                .map(|entry| {
                    let chain = chain_hash(entry);
                    let leaf = leaf_hash(entry);
                    chain[0] ^ leaf.0[0]
                })
                .reduce(|| 0, |a, b| a ^ b)
        },
    );
    assert!(signatures_ok);
}

/// Wall-clock and CPU seconds of the fastest of `runs` runs.
fn best_of(runs: usize, mut work: impl FnMut()) -> Timing {
    (0..runs)
        .map(|_| {
            let (start, cpu_start) = (Instant::now(), cpu_seconds());
            work();
            Timing {
                wall: start.elapsed().as_secs_f64(),
                cpu: cpu_seconds() - cpu_start,
            }
        })
        .fold(
            Timing {
                wall: f64::INFINITY,
                cpu: 0.0,
            },
            |best, t| if t.wall < best.wall { t } else { best },
        )
}

#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: f64,
}

/// CPU time of this process (user + system), from /proc: on a busy machine, wall-clock rates
/// fall with the share of the cores this process gets, CPU time does not.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}
