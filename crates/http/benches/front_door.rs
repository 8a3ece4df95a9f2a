//! Front door (`just bench front-door`): accepted events per second and the latency of each
//! `POST /v1/events`, with C concurrent clients over loopback, against a baseline of the same
//! HTTP work without the ledger, measured in the same run.
//!
//! The server is the one the pages benchmark and the browser tests start (the demo data loaded
//! through `POST /v1/events`, the query projections following the log), run twice: with the
//! embedded ledger (no broker: a 202 means the event is in the log, fsynced), then with the
//! ledger on a real `nats-server -js` started with `sync_interval: always` (a 202 means the
//! broker has stored and fsynced it; the ledger decides in stream order, and the run waits until
//! the log holds every event). The per-address rate limit of `covenant serve` is off, since
//! every client comes from 127.0.0.1.
//!
//! Before anything is measured, 1 000 actors are registered, each is granted a key of its own
//! and makes one commitment, all through the same door. Then, for each number of clients
//! (1, 8, 32), N fresh signed envelopes (`COVENANT_BENCH_EVENTS`, default 6 000; nine in ten a
//! new commitment, one in ten an action on its actor's first commitment, spread over all
//! actors) are sent by that many clients, each with its own keep-alive connection, taking the
//! next envelope as soon as the previous one is answered. Every answer must be 202; any other is
//! a failure that stops the run. The baseline sends as many bodies of the same length that do not
//! decode, with the same clients: the server reads each body and refuses it (400) before any
//! signature check or store work.
//!
//! Figures print and go to target/bench/front_door.json. Without `--bench` (as `cargo test
//! --all-targets` runs it) this is a quick smoke run over few actors that records nothing.

// Shared with the browser tests, which use more of it.
#[allow(dead_code)]
#[path = "../tests/browser/server.rs"]
mod server;

use covenant_core::event::Date;
use covenant_core::proto::{ActionType, ActorKind, KeyRole};
use covenant_core::signing::EventSigner;
use covenant_emit::build::{Action, ActorRegistration, Commitment, KeyGrant, Speaker, now_ms};
use covenant_store::LogReader;
use covenant_testkit::NatsServer;
use server::{LedgerInput, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// The `covenant` binary's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CLIENTS: [usize; 3] = [1, 8, 32];
/// Clients that send the onboarding events (registrations, grants, first commitments).
const ONBOARDING_CLIENTS: usize = 8;
const DEFAULT_EVENTS: usize = 6_000;
const ACTORS: usize = 1_000;
/// How long a ledger on a stream may take to append what the door queued.
const LOG_WAIT: Duration = Duration::from_secs(120);

fn main() {
    // `cargo bench` passes --bench; without it this is a quick smoke run that records nothing.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let events: usize = std::env::var("COVENANT_BENCH_EVENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(if measuring { DEFAULT_EVENTS } else { 40 });
    let actors = if measuring { ACTORS } else { 20 };
    let load_before = covenant_testkit::bench::load_averages();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the runtime");
    let mut population = Population::new(actors);
    println!(
        "front door: {actors} actors, {events} events per number of clients ({CLIENTS:?}), {} cores, load average {load_before}",
        std::thread::available_parallelism().map_or(0, |cores| cores.get())
    );

    println!("\nembedded ledger (no broker)");
    let server = runtime.block_on(Server::with_demo());
    let embedded = measure_mode(&server, &mut population, events, false);
    drop(server);

    let broker = NatsServer::start_durable();
    println!("\nledger on nats-server -js, sync_interval: always");
    let server = runtime.block_on(Server::with_demo_from(LedgerInput::Stream {
        nats_url: broker.url(),
    }));
    let stream = measure_mode(&server, &mut Population::new(actors), events, true);
    drop(server);
    drop(broker);

    if !measuring {
        println!("smoke run (no --bench): nothing recorded");
        return;
    }
    let json = serde_json::json!({
        "actors": actors,
        "events_per_clients": events,
        "average_envelope_bytes": population.average_bytes(),
        "cores": std::thread::available_parallelism().map_or(0, |cores| cores.get()),
        "load_average_before": load_before,
        "load_average_after": covenant_testkit::bench::load_averages(),
        "embedded": embedded,
        "stream": {
            "broker": "nats-server -js, sync_interval: always, stream with 1 replica",
            "runs": stream,
        },
    });
    println!();
    covenant_testkit::bench::write_json("front_door", &json);
}

/// The actors, their keys and the events they sign.
struct Population {
    registrar: Speaker,
    actors: Vec<Speaker>,
    /// Events signed so far, for fresh commitment and action ids.
    signed: usize,
    bytes_signed: usize,
}

fn date(text: &str) -> Date {
    Date::parse(text).expect("a valid date")
}

impl Population {
    fn new(count: usize) -> Self {
        let registrar = Speaker::new(
            covenant_demo::REGISTRAR_ACTOR,
            covenant_demo::REGISTRAR_KEY_ID,
            EventSigner::from_seed(covenant_demo::registrar_seed()),
        )
        .expect("the demo registrar");
        let actors = (0..count)
            .map(|index| {
                let seed = blake3::hash(format!("front-door bench actor {index}").as_bytes());
                Speaker::new(
                    format!("GB-BENCH-{index:04}"),
                    format!("bench-{index:04}-emitter-1"),
                    EventSigner::from_seed(*seed.as_bytes()),
                )
                .expect("valid ids")
            })
            .collect();
        Self {
            registrar,
            actors,
            signed: 0,
            bytes_signed: 0,
        }
    }

    fn average_bytes(&self) -> usize {
        self.bytes_signed / self.signed.max(1)
    }

    fn keep(&mut self, event: covenant_emit::build::SealedEvent) -> Vec<u8> {
        self.signed += 1;
        self.bytes_signed += event.bytes.len();
        event.bytes.to_vec()
    }

    /// Registrations, then grants, then one commitment per actor: three rounds, each of which
    /// may be sent in any order once the one before is in the log.
    fn onboarding(&mut self) -> [Vec<Vec<u8>>; 3] {
        let mut rounds: [Vec<Vec<u8>>; 3] = Default::default();
        for index in 0..self.actors.len() {
            let actor = self.actors[index].clone();
            let registration = ActorRegistration::new(
                actor.actor(),
                format!("Benchmark body {index}"),
                ActorKind::Agency,
            );
            let grant = KeyGrant::new(
                actor.key_id(),
                actor.public_key(),
                actor.actor(),
                &[KeyRole::Emitter],
            );
            let sealed = [
                self.registrar.seal(registration, now_ms()),
                self.registrar.seal(grant, now_ms()),
                actor.seal(first_commitment(index), now_ms()),
            ];
            for (round, event) in rounds.iter_mut().zip(sealed) {
                let event = event.expect("seal an onboarding event");
                round.push(self.keep(event));
            }
        }
        rounds
    }

    /// `count` fresh events spread over all actors, each independent of the others: nine in
    /// ten a new commitment, one in ten an action on the actor's first commitment.
    fn workload(&mut self, count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|_| {
                let number = self.signed;
                let index = number % self.actors.len();
                let actor = self.actors[index].clone();
                let sealed = if number % 10 == 9 {
                    actor.seal(
                        Action::new(
                            format!("bench-action-{number}"),
                            [first_commitment_id(index)],
                            ActionType::Funding,
                            date("2026-11-02"),
                            "Grant to the council secretariat for the next quarter",
                        ),
                        now_ms(),
                    )
                } else {
                    actor.seal(commitment(&format!("bench-c-{number}")), now_ms())
                };
                self.keep(sealed.expect("seal a workload event"))
            })
            .collect()
    }
}

fn first_commitment_id(index: usize) -> String {
    format!("bench-first-{index}")
}

fn first_commitment(index: usize) -> Commitment {
    commitment(&first_commitment_id(index))
}

/// A commitment of about 400 bytes once sealed, like the ingest benchmark's.
fn commitment(id: &str) -> Commitment {
    Commitment::new(
        id,
        "Joint council with civil society",
        "We will set up a joint council with civil society organisations, meeting quarterly, \
         to agree priorities for the covenant and report publicly on progress against each.",
        date("2026-11-01"),
    )
    .due_by(date("2027-11-01"))
    .themes(["community", "dignity"])
}

/// What one set of clients saw.
struct Run {
    elapsed: Duration,
    /// Round trips of the answers with the expected status.
    latencies: Vec<Duration>,
    unexpected: usize,
    first_unexpected: Option<String>,
}

/// POST every body to `url` from `clients` threads, each with its own connection, taking the
/// next body as soon as its previous one is answered.
fn post_concurrently(url: &str, bodies: &[Vec<u8>], clients: usize, expected: u16) -> Run {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let per_client: Vec<(Vec<Duration>, usize, Option<String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let (mut latencies, mut unexpected, mut first) = (Vec::new(), 0, None);
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(index) else {
                            break;
                        };
                        let sent = Instant::now();
                        let answer = agent
                            .post(url)
                            .header("content-type", "application/x-protobuf")
                            .send(body.as_slice())
                            .and_then(|mut response| {
                                let text = response.body_mut().read_to_string()?;
                                Ok((response.status().as_u16(), text))
                            });
                        let round_trip = sent.elapsed();
                        match answer {
                            Ok((status, _)) if status == expected => latencies.push(round_trip),
                            Ok((status, text)) => {
                                unexpected += 1;
                                first.get_or_insert(format!("{status}: {text}"));
                            }
                            Err(error) => {
                                unexpected += 1;
                                first.get_or_insert(format!("no answer: {error}"));
                            }
                        }
                    }
                    (latencies, unexpected, first)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a client thread"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut run = Run {
        elapsed,
        latencies: Vec::with_capacity(bodies.len()),
        unexpected: 0,
        first_unexpected: None,
    };
    for (latencies, unexpected, first) in per_client {
        run.latencies.extend(latencies);
        run.unexpected += unexpected;
        if run.first_unexpected.is_none() {
            run.first_unexpected = first;
        }
    }
    run.latencies.sort();
    run
}

fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn rounded(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Stop the run, loudly, unless every answer was `expected`.
fn insist_all(run: &Run, expected: u16, what: &str) {
    assert!(
        run.unexpected == 0,
        "{what}: {} of {} answers were not {expected} (the first: {})",
        run.unexpected,
        run.unexpected + run.latencies.len(),
        run.first_unexpected.as_deref().unwrap_or("")
    );
}

/// Wait until the log holds `size` entries; the time it took.
fn wait_for_log(server: &Server, size: u64) -> Duration {
    let started = Instant::now();
    while server.store.head().size < size {
        assert!(
            started.elapsed() < LOG_WAIT,
            "the log holds {} entries, not {size}, after {LOG_WAIT:?}: the ledger rejected events or stalled",
            server.store.head().size
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed()
}

/// Onboard the actors, then measure every number of clients against its baseline.
fn measure_mode(
    server: &Server,
    population: &mut Population,
    events: usize,
    on_stream: bool,
) -> Vec<serde_json::Value> {
    let url = server.url("/v1/events");
    let started = Instant::now();
    let mut size = server.store.head().size;
    for (round, bodies) in ["registrations", "grants", "first commitments"]
        .iter()
        .zip(population.onboarding())
    {
        let run = post_concurrently(&url, &bodies, ONBOARDING_CLIENTS, 202);
        insist_all(&run, 202, &format!("onboarding: {round}"));
        size += bodies.len() as u64;
        wait_for_log(server, size);
    }
    println!(
        "  onboarded {} actors (registration, key, first commitment) in {:.1} s; the log holds {size} entries",
        population.actors.len(),
        started.elapsed().as_secs_f64()
    );

    let mut figures = Vec::new();
    for clients in CLIENTS {
        let bodies = population.workload(events);
        let average = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len().max(1);
        // Bodies the door reads whole and refuses before any signature or store work.
        let junk = vec![vec![0xff_u8; average]; bodies.len()];
        let baseline = post_concurrently(&url, &junk, clients, 400);
        insist_all(&baseline, 400, &format!("baseline, {clients} clients"));
        let run = post_concurrently(&url, &bodies, clients, 202);
        insist_all(&run, 202, &format!("{clients} clients"));
        size += bodies.len() as u64;
        let log_behind = wait_for_log(server, size);

        let events_per_s = bodies.len() as f64 / run.elapsed.as_secs_f64();
        let baseline_per_s = junk.len() as f64 / baseline.elapsed.as_secs_f64();
        let (p50, p99, max) = (
            percentile_ms(&run.latencies, 0.5),
            percentile_ms(&run.latencies, 0.99),
            percentile_ms(&run.latencies, 1.0),
        );
        let mut figure = serde_json::json!({
            "clients": clients,
            "events": bodies.len(),
            "events_per_s": events_per_s.round(),
            "p50_ms": rounded(p50, 2),
            "p99_ms": rounded(p99, 2),
            "max_ms": rounded(max, 2),
            "non_202": run.unexpected,
            "baseline_requests_per_s": baseline_per_s.round(),
            "baseline_p50_ms": rounded(percentile_ms(&baseline.latencies, 0.5), 3),
            "ratio_to_baseline": rounded(events_per_s / baseline_per_s, 3),
        });
        let mut line = format!(
            "  {clients:>2} clients: {events_per_s:>6.0} accepted events/s, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms, non-202: {}; baseline {baseline_per_s:.0} requests/s (p50 {:.3} ms); ratio {:.3}",
            run.unexpected,
            percentile_ms(&baseline.latencies, 0.5),
            events_per_s / baseline_per_s
        );
        if on_stream {
            // The time from the first POST until the log held every event of the run.
            let in_log = run.elapsed + log_behind;
            let appended_per_s = bodies.len() as f64 / in_log.as_secs_f64();
            figure["in_log_events_per_s"] = appended_per_s.round().into();
            figure["log_behind_last_202_ms"] = rounded(log_behind.as_secs_f64() * 1000.0, 1).into();
            line.push_str(&format!(
                "; in the log: {appended_per_s:.0} events/s ({:.0} ms after the last 202)",
                log_behind.as_secs_f64() * 1000.0
            ));
        }
        println!("{line}");
        figures.push(figure);
    }
    figures
}
