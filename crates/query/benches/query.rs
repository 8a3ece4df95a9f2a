//! Query benchmark: a synthetic log of about a million events (100k commitments across 650 MPs
//! and 400 public bodies, with actions, amendments, outcomes, withdrawals, assessments and
//! retractions), signed and validated like the ledger's, in a real SledStore; projections
//! caught up from it; the HTTP router served on loopback. Measures scorecard, history and
//! search latency over HTTP (p50/p99) and requests/s, and the same scorecard answered by
//! SQLite (rusqlite, bundled, indexed as a careful engineer would) loaded from the same log.
//!
//! `QUERY_BENCH_EVENTS=100000 just bench query` runs a smaller log. Figures print and go to
//! target/bench/query.json.

use covenant_core::entry::ENTRY_HEADER_BYTES;
use covenant_core::event::{self, Date};
use covenant_core::proto::{self, event_body::Kind};
use covenant_http::{AppState, router};
use covenant_query::{AsOf, Projections};
use covenant_store::{LogStore, SledStore};
use covenant_testkit::log::LogWriter;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

// The same allocator as the `covenant` binary that serves and rebuilds the projections: sled
// copies a node on every insert, and under the system allocator those copies cost about as
// much as the rest of catching up.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MPS: u32 = 650;
const BODIES: u32 = 400;
const DAY_NS: u64 = 86_400_000_000_000;
/// 2023-01-01T00:00:00Z: the log ends about a year before the date queries are judged on, so
/// `as_of` that date is the latest point.
const START_NS: u64 = 1_672_531_200_000_000_000;
/// The date every query is judged on.
const JUDGED_ON: &str = "2026-10-01";
const THEMES: [&str; 7] = [
    "sustainability",
    "safety",
    "equity",
    "dignity",
    "opportunity",
    "community",
    "love",
];
const COMMON_WORDS: [&str; 40] = [
    "build",
    "new",
    "homes",
    "schools",
    "hospitals",
    "fund",
    "every",
    "local",
    "more",
    "support",
    "families",
    "children",
    "jobs",
    "transport",
    "roads",
    "rail",
    "clean",
    "energy",
    "water",
    "police",
    "nurses",
    "teachers",
    "care",
    "housing",
    "parks",
    "libraries",
    "youth",
    "health",
    "waiting",
    "lists",
    "carers",
    "broadband",
    "rural",
    "towns",
    "cities",
    "climate",
    "safety",
    "skills",
    "apprenticeships",
    "bus",
];

/// A small, fast, deterministic random source (splitmix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn actor_id(index: u32) -> String {
    if index < MPS {
        format!("uk-mp:{}", 1000 + index)
    } else {
        format!("GB-GOV-{}", index - MPS + 1)
    }
}

fn commitment_id(index: u32) -> String {
    format!("c{index:06}")
}

fn day(ns: u64) -> String {
    Date::from_unix_ms((ns / 1_000_000) as i64).to_string()
}

/// One event waiting for its time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at_ns: u64,
    order: u64,
    commitment: u32,
    what: What,
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum What {
    Action,
    Amend,
    Outcome,
    Withdraw,
    Assess,
    RetractAction,
}

struct Generated {
    events: u64,
    commitments: u32,
    words: Vec<String>,
}

/// Write the synthetic log into `store` through the fixture writer (sign, validate, append).
fn generate(store: &SledStore, target_events: u64) -> Generated {
    let commitments = (target_events / 10).max(100) as u32;
    let mut random = Random(7);
    let mut log = LogWriter::genesis(store, START_NS).expect("genesis");
    log.batch_entries = 2_000;
    for index in 0..MPS + BODIES {
        let kind = if index < MPS {
            proto::ActorKind::Mp
        } else {
            [
                proto::ActorKind::Department,
                proto::ActorKind::Agency,
                proto::ActorKind::Council,
                proto::ActorKind::NhsBody,
            ][(index % 4) as usize]
        };
        let id = actor_id(index);
        log.register(&id, &format!("Actor {id}"), kind)
            .expect("register");
    }
    let topics: Vec<String> = (0..1_000).map(|i| format!("topic{i}")).collect();
    // Actions per commitment that land the total near the target.
    let per_commitment = target_events as f64 / f64::from(commitments);
    let mean_actions = (per_commitment - 1.8).max(1.0);
    let span_days = 500;
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut order = 0;
    let mut owners: Vec<String> = Vec::with_capacity(commitments as usize);
    let mut last_action: HashMap<u32, String> = HashMap::new();
    let mut outcomes: HashMap<u32, String> = HashMap::new();
    let mut emitted = 0u64;
    let mut emit_due = |log: &mut LogWriter,
                        heap: &mut BinaryHeap<Reverse<Pending>>,
                        until: u64,
                        random: &mut Random,
                        owners: &Vec<String>,
                        emitted: &mut u64| {
        while heap.peek().is_some_and(|Reverse(p)| p.at_ns <= until) {
            let Reverse(pending) = heap.pop().expect("peeked");
            log.advance_to(pending.at_ns);
            let owner = &owners[pending.commitment as usize];
            let id = commitment_id(pending.commitment);
            let result = match pending.what {
                What::Action => {
                    let money = random.chance(30).then(|| {
                        let stage = [
                            proto::MoneyStage::Pledged,
                            proto::MoneyStage::Committed,
                            proto::MoneyStage::Spent,
                        ][random.below(3) as usize];
                        (random.below(50_000_000) as i64 + 100, "GBP", stage)
                    });
                    let done = log.action(owner, &[&id], money);
                    if let Ok(event_id) = &done {
                        last_action.insert(pending.commitment, event_id.clone());
                    }
                    done
                }
                What::Amend => {
                    let due = day(pending.at_ns + (200 + random.below(400)) * DAY_NS);
                    log.amend(
                        owner,
                        &id,
                        proto::AmendmentClass::DeadlineChange,
                        &[(proto::AmendedField::DueBy, &due)],
                    )
                }
                What::Outcome => {
                    let verdict = match random.below(4) {
                        0 | 1 => proto::Verdict::Delivered,
                        2 => proto::Verdict::PartlyDelivered,
                        _ => proto::Verdict::NotDelivered,
                    };
                    let done = log.outcome(owner, &id, verdict, &day(pending.at_ns));
                    if let Ok(event_id) = &done {
                        outcomes.insert(pending.commitment, event_id.clone());
                    }
                    done
                }
                What::Withdraw => log.withdraw(owner, &id),
                What::Assess => {
                    let assessor = actor_id(MPS + random.below(u64::from(BODIES)) as u32);
                    let outcome = outcomes[&pending.commitment].clone();
                    let stance = if random.chance(30) {
                        proto::Stance::Disputes
                    } else {
                        proto::Stance::Agrees
                    };
                    log.assess(&assessor, &id, &outcome, stance)
                }
                What::RetractAction => match last_action.get(&pending.commitment) {
                    Some(action) => {
                        let action = action.clone();
                        log.retract(owner, &action)
                    }
                    None => continue,
                },
            };
            result.unwrap_or_else(|e| panic!("synthetic event for {id}: {e}"));
            *emitted += 1;
        }
    };
    for index in 0..commitments {
        let made_ns = START_NS + u64::from(index) * (span_days * DAY_NS / u64::from(commitments));
        emit_due(
            &mut log,
            &mut heap,
            made_ns,
            &mut random,
            &owners,
            &mut emitted,
        );
        log.advance_to(made_ns);
        let owner = actor_id(random.below(u64::from(MPS + BODIES)) as u32);
        let themes: Vec<&str> = (0..1 + random.below(2))
            .map(|_| THEMES[random.below(7) as usize])
            .collect();
        let mut text: Vec<&str> = (0..8)
            .map(|_| COMMON_WORDS[(random.below(40) * random.below(40) / 40) as usize])
            .collect();
        text.extend((0..3).map(|_| topics[random.below(1_000) as usize].as_str()));
        let title = text[..4].join(" ");
        let made_on = day(made_ns);
        let due_by = day(made_ns + (120 + random.below(700)) * DAY_NS);
        log.commitment(
            &owner,
            &commitment_id(index),
            &title,
            &text.join(" "),
            &made_on,
            &due_by,
            &themes,
        )
        .expect("commitment");
        emitted += 1;
        owners.push(owner);
        let end_ns = made_ns + (30 + random.below(600)) * DAY_NS;
        let mut schedule = |what: What, at_ns: u64| {
            order += 1;
            heap.push(Reverse(Pending {
                at_ns,
                order,
                commitment: index,
                what,
            }));
        };
        let actions = random.below((mean_actions * 2.0) as u64 + 1);
        for _ in 0..actions {
            schedule(
                What::Action,
                made_ns + 1 + random.below(end_ns - made_ns - 2),
            );
        }
        if actions > 0 && random.chance(2) {
            schedule(What::RetractAction, end_ns - 1);
        }
        if random.chance(10) {
            schedule(
                What::Amend,
                made_ns + 1 + random.below(end_ns - made_ns - 2),
            );
        }
        if random.chance(3) {
            schedule(What::Withdraw, end_ns);
        } else if random.chance(55) {
            schedule(What::Outcome, end_ns);
            if random.chance(10) {
                schedule(What::Assess, end_ns + (1 + random.below(30)) * DAY_NS);
            }
        }
    }
    emit_due(
        &mut log,
        &mut heap,
        u64::MAX,
        &mut random,
        &owners,
        &mut emitted,
    );
    let head = log.flush().expect("flush");
    let mut words: Vec<String> = COMMON_WORDS.iter().map(|w| w.to_string()).collect();
    words.extend(topics);
    Generated {
        events: head.size,
        commitments,
        words,
    }
}

/// Latencies in microseconds, sorted.
struct Latencies(Vec<f64>);

impl Latencies {
    fn measure(mut run: impl FnMut(usize)) -> Self {
        let count = 2_000;
        for warmup in 0..200 {
            run(warmup);
        }
        let mut out = Vec::with_capacity(count);
        for index in 0..count {
            let start = Instant::now();
            run(index);
            out.push(start.elapsed().as_secs_f64() * 1e6);
        }
        out.sort_by(f64::total_cmp);
        Self(out)
    }

    fn percentile(&self, p: f64) -> f64 {
        let index = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[index]
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "p50_us": self.percentile(0.5),
            "p99_us": self.percentile(0.99),
            "max_us": self.percentile(1.0),
        })
    }
}

fn get(agent: &ureq::Agent, url: &str) -> String {
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), 200, "GET {url}");
    response.body_mut().read_to_string().expect("body")
}

fn main() {
    let target_events: u64 = std::env::var("QUERY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(SledStore::create_or_open(dir.path().join("log")).expect("open store"));

    let start = Instant::now();
    let generated = generate(&store, target_events);
    let load_s = start.elapsed().as_secs_f64();
    println!(
        "log: {} entries, {} commitments, signed, validated and appended in {load_s:.1} s",
        generated.events, generated.commitments
    );

    let projections =
        Arc::new(Projections::open(dir.path().join("query")).expect("open projections"));
    let start = Instant::now();
    let applied = projections.catch_up(&*store).expect("catch up");
    let project_s = start.elapsed().as_secs_f64();
    let catch_up_per_s = applied as f64 / project_s;
    let writes_per_entry = projections.engine_writes() as f64 / applied.max(1) as f64;
    println!(
        "projections: caught up {applied} entries in {project_s:.1} s ({catch_up_per_s:.0} entries/s, {writes_per_entry:.2} engine writes per entry)"
    );

    let judged = Date::parse(JUDGED_ON).expect("date");
    let point = projections.resolve(AsOf::LATEST, judged).expect("point");
    let actors: Vec<String> = (0..MPS + BODIES).map(actor_id).collect();
    let mut random = Random(11);
    let picks: Vec<usize> = (0..4_096)
        .map(|_| random.below(actors.len() as u64) as usize)
        .collect();
    let in_process = Latencies::measure(|i| {
        let actor = &actors[picks[i % picks.len()]];
        projections
            .actor_scorecard(actor, &point, 50)
            .expect("scorecard")
            .expect("actor exists");
    });

    // SQLite, loaded from the same log.
    let start = Instant::now();
    let sqlite = load_sqlite(&*store, &dir.path().join("newsroom.sqlite"));
    let sqlite_load_s = start.elapsed().as_secs_f64();
    let sql_latency = Latencies::measure(|i| {
        sql_scorecard(&sqlite, &actors[picks[i % picks.len()]], JUDGED_ON);
    });
    // The two must agree before their speeds are compared.
    for actor in actors.iter().take(50) {
        let ours = projections
            .actor_scorecard(actor, &point, 50)
            .expect("scorecard")
            .expect("actor");
        let theirs = sql_scorecard(&sqlite, actor, JUDGED_ON);
        let counts = &ours.counts;
        assert_eq!(
            theirs,
            [
                counts.not_started,
                counts.in_progress,
                counts.overdue,
                counts.delivered,
                counts.partly_delivered,
                counts.not_delivered,
                counts.withdrawn,
            ],
            "SQLite and the projection disagree on {actor}"
        );
    }

    // HTTP on loopback.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let state = AppState::new(store.clone(), String::new()).with_query(projections.clone());
    runtime.spawn(async move { axum::serve(listener, router(state)).await });
    let base = format!("http://{address}");
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let as_of = format!("as_of={JUDGED_ON}");
    let scorecard = Latencies::measure(|i| {
        let actor = &actors[picks[i % picks.len()]];
        get(&agent, &format!("{base}/v1/actors/{actor}?{as_of}"));
    });
    let history = Latencies::measure(|i| {
        let commitment =
            commitment_id((picks[i % picks.len()] as u32 * 97) % generated.commitments);
        get(
            &agent,
            &format!("{base}/v1/commitments/{commitment}/history?{as_of}"),
        );
    });
    let search = Latencies::measure(|i| {
        let common = &generated.words[i % 40];
        let topic = &generated.words[40 + (i * 7919) % 1_000];
        get(
            &agent,
            &format!("{base}/v1/commitments?q={common}+{topic}&limit=20&{as_of}"),
        );
    });
    let throughput = requests_per_second(&base, &actors, &as_of);

    assert_eq!(
        projections
            .resolve(AsOf::recorded_on(judged), judged)
            .expect("point")
            .size,
        applied,
        "the log must end before {JUDGED_ON} so that every query sees all of it"
    );
    let ratio = sql_latency.percentile(0.5) / in_process.percentile(0.5);
    let http_ratio = sql_latency.percentile(0.5) / scorecard.percentile(0.5);
    println!();
    println!("{:<34} {:>10} {:>10}", "latency (µs)", "p50", "p99");
    for (name, latencies) in [
        ("scorecard, in process", &in_process),
        ("scorecard, SQLite (same run)", &sql_latency),
        ("scorecard over HTTP", &scorecard),
        ("history over HTTP", &history),
        ("search over HTTP (2 words)", &search),
    ] {
        println!(
            "{name:<34} {:>10.0} {:>10.0}",
            latencies.percentile(0.5),
            latencies.percentile(0.99)
        );
    }
    println!("scorecard requests/s over HTTP (4 clients): {throughput:.0}");
    println!("SQLite scorecard p50 / projection scorecard p50 (both in process): {ratio:.1}x");
    println!("SQLite scorecard p50 (in process) / scorecard p50 over HTTP: {http_ratio:.1}x");
    println!("SQLite loaded in {sqlite_load_s:.1} s");
    let goal = |name: &str, p99: f64, limit_us: f64| {
        let verdict = if p99 < limit_us { "met" } else { "MISSED" };
        println!(
            "goal {name} p99 < {:.0} ms: {verdict} ({:.2} ms)",
            limit_us / 1e3,
            p99 / 1e3
        );
    };
    goal("scorecard", scorecard.percentile(0.99), 5_000.0);
    goal("history", history.percentile(0.99), 2_000.0);

    let json = serde_json::json!({
        "bench": "query",
        "entries": generated.events,
        "commitments": generated.commitments,
        "actors": MPS + BODIES,
        "judged_on": JUDGED_ON,
        "log_write_s": load_s,
        "projection_catch_up_s": project_s,
        "projection_entries_per_s": catch_up_per_s,
        "projection_catch_up_events_per_s": catch_up_per_s,
        "projection_engine_writes_per_event": writes_per_entry,
        "sqlite_load_s": sqlite_load_s,
        "scorecard_in_process": in_process.json(),
        "scorecard_sqlite": sql_latency.json(),
        "sqlite_over_projection_p50": ratio,
        "sqlite_in_process_over_http_p50": http_ratio,
        "scorecard_http": scorecard.json(),
        "history_http": history.json(),
        "search_http": search.json(),
        "scorecard_http_requests_per_s": throughput,
        "goals": {"scorecard_http_p99_us": 5_000, "history_http_p99_us": 2_000},
    });
    covenant_testkit::bench::write_json("query", &json);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

fn requests_per_second(base: &str, actors: &[String], as_of: &str) -> f64 {
    let clients = 4;
    let run_for = Duration::from_secs(5);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
                    let mut done = 0u64;
                    let mut random = Random(100 + client as u64);
                    while start.elapsed() < run_for {
                        let actor = &actors[random.below(actors.len() as u64) as usize];
                        get(&agent, &format!("{base}/v1/actors/{actor}?{as_of}"));
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client")).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// What a newsroom developer would build: commitments and events in SQLite, with the current
/// due date and retraction flags settled at load time, and indexes on owner and on
/// (commitment, kind, seq).
fn load_sqlite(store: &dyn LogStore, path: &Path) -> rusqlite::Connection {
    let mut db = rusqlite::Connection::open(path).expect("open sqlite");
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE commitments (id TEXT PRIMARY KEY, owner TEXT NOT NULL, made_on TEXT NOT NULL,
             due_by TEXT, title TEXT, body TEXT, retracted INTEGER NOT NULL DEFAULT 0);
         CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,
             commitment_id TEXT, kind TEXT NOT NULL, verdict TEXT, reported_on TEXT,
             amount INTEGER, currency TEXT, stage TEXT, retracted INTEGER NOT NULL DEFAULT 0);",
    )
    .expect("schema");
    let size = store.head().size;
    let transaction = db.transaction().expect("transaction");
    {
        let mut insert_commitment = transaction
            .prepare("INSERT INTO commitments (id, owner, made_on, due_by, title, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .expect("prepare");
        let mut insert_event = transaction
            .prepare("INSERT INTO events (seq, event_id, commitment_id, kind, verdict, reported_on, amount, currency, stage) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .expect("prepare");
        let mut amend = transaction
            .prepare("UPDATE commitments SET due_by = ?2 WHERE id = ?1")
            .expect("prepare");
        let mut retract_event = transaction
            .prepare("UPDATE events SET retracted = 1 WHERE event_id = ?1")
            .expect("prepare");
        let mut start = 0;
        while start < size {
            let end = (start + 10_000).min(size);
            for entry in store.entries(start, end).expect("entries") {
                let seq = u64::from_be_bytes(entry[1..9].try_into().expect("seq")) as i64;
                let decoded = event::decode(&entry[ENTRY_HEADER_BYTES..]).expect("decode");
                let event_id = decoded.event_id().to_owned();
                let none: Option<String> = None;
                match decoded.kind {
                    Kind::CommitmentMade(made) => {
                        insert_commitment
                            .execute(rusqlite::params![
                                made.commitment_id,
                                decoded.envelope.actor,
                                made.made_on,
                                made.due_by,
                                made.title,
                                made.text
                            ])
                            .expect("insert");
                    }
                    Kind::ActionRecorded(action) => {
                        let money = action.money.as_ref();
                        let stage = money.map(|m| m.stage.to_string());
                        insert_event
                            .execute(rusqlite::params![
                                seq,
                                event_id,
                                action.commitment_ids[0],
                                "action",
                                none,
                                none,
                                money.map(|m| m.amount_minor),
                                money.map(|m| m.currency.clone()),
                                stage
                            ])
                            .expect("insert");
                    }
                    Kind::OutcomeReported(outcome) => {
                        let verdict = match outcome.verdict {
                            1 => "delivered",
                            2 => "partly_delivered",
                            _ => "not_delivered",
                        };
                        insert_event
                            .execute(rusqlite::params![
                                seq,
                                event_id,
                                outcome.commitment_id,
                                "outcome",
                                verdict,
                                outcome.reported_on,
                                none,
                                none,
                                none
                            ])
                            .expect("insert");
                    }
                    Kind::CommitmentWithdrawn(withdrawn) => {
                        insert_event
                            .execute(rusqlite::params![
                                seq,
                                event_id,
                                withdrawn.commitment_id,
                                "withdrawn",
                                none,
                                none,
                                none,
                                none,
                                none
                            ])
                            .expect("insert");
                    }
                    Kind::CommitmentAmended(amended) => {
                        for change in &amended.changes {
                            if change.field == proto::AmendedField::DueBy as i32 {
                                amend
                                    .execute(rusqlite::params![
                                        amended.commitment_id,
                                        change.new_value
                                    ])
                                    .expect("amend");
                            }
                        }
                    }
                    Kind::Retraction(retraction) => {
                        retract_event
                            .execute(rusqlite::params![retraction.event_id])
                            .expect("retract");
                    }
                    _ => {}
                }
            }
            start = end;
        }
    }
    transaction.commit().expect("commit");
    db.execute_batch(
        "CREATE INDEX commitments_by_owner ON commitments (owner, retracted);
         CREATE INDEX events_by_commitment ON events (commitment_id, kind, retracted, seq);
         ANALYZE;",
    )
    .expect("indexes");
    db
}

/// The scorecard's counts in SQL: status per commitment from its latest outcome, withdrawal,
/// actions and due date; plus money, median days and the overdue list, as the projection
/// answers them.
fn sql_scorecard(db: &rusqlite::Connection, actor: &str, judged_on: &str) -> [i64; 7] {
    let mut statement = db
        .prepare_cached(
            "WITH s AS (
               SELECT c.id, c.due_by, c.made_on,
                 (SELECT e.verdict FROM events e WHERE e.commitment_id = c.id AND e.kind = 'outcome'
                    AND e.retracted = 0 ORDER BY e.seq DESC LIMIT 1) AS verdict,
                 (SELECT e.reported_on FROM events e WHERE e.commitment_id = c.id AND e.kind = 'outcome'
                    AND e.retracted = 0 ORDER BY e.seq DESC LIMIT 1) AS reported_on,
                 EXISTS (SELECT 1 FROM events e WHERE e.commitment_id = c.id AND e.kind = 'withdrawn'
                    AND e.retracted = 0) AS withdrawn,
                 EXISTS (SELECT 1 FROM events e WHERE e.commitment_id = c.id AND e.kind = 'action'
                    AND e.retracted = 0) AS acted
               FROM commitments c WHERE c.owner = ?1 AND c.retracted = 0)
             SELECT id, due_by, julianday(reported_on) - julianday(made_on),
               CASE WHEN withdrawn THEN 'withdrawn'
                    WHEN verdict IS NOT NULL THEN verdict
                    WHEN due_by < ?2 THEN 'overdue'
                    WHEN acted THEN 'in_progress'
                    ELSE 'not_started' END
             FROM s",
        )
        .expect("prepare");
    let mut counts = [0i64; 7];
    let mut days: Vec<f64> = vec![];
    let mut overdue: Vec<(String, String)> = vec![];
    let rows = statement
        .query_map(rusqlite::params![actor, judged_on], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<f64>>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .expect("query");
    for row in rows {
        let (id, due_by, to_outcome, status) = row.expect("row");
        let slot = match status.as_str() {
            "not_started" => 0,
            "in_progress" => 1,
            "overdue" => {
                overdue.push((due_by.unwrap_or_default(), id));
                2
            }
            "delivered" => 3,
            "partly_delivered" => 4,
            "not_delivered" => 5,
            _ => 6,
        };
        counts[slot] += 1;
        if (3..=5).contains(&slot) {
            days.extend(to_outcome);
        }
    }
    overdue.sort();
    overdue.truncate(50);
    days.sort_by(f64::total_cmp);
    std::hint::black_box((&days, &overdue));
    let mut money = db
        .prepare_cached(
            "SELECT e.currency, e.stage, SUM(e.amount) FROM events e
               JOIN commitments c ON c.id = e.commitment_id
             WHERE c.owner = ?1 AND c.retracted = 0 AND e.kind = 'action' AND e.retracted = 0
               AND e.amount IS NOT NULL
             GROUP BY e.currency, e.stage",
        )
        .expect("prepare");
    let totals: Vec<(String, String, i64)> = money
        .query_map(rusqlite::params![actor], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .expect("query")
        .map(|row| row.expect("row"))
        .collect();
    std::hint::black_box(totals);
    counts
}
