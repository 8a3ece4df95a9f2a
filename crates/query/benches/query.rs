//! Query benchmark: a synthetic log of about a million events (100k commitments across 650 MPs
//! and 400 public bodies, with actions, amendments, outcomes, withdrawals, assessments and
//! retractions), signed and validated like the ledger's, in a real SledStore; projections
//! caught up from it; the HTTP router served on loopback. Measures scorecard, history and
//! search latency over HTTP (p50/p99) and requests/s, the scorecard also at the latest point
//! and as of half the log (a historical read), and the same scorecard answered in
//! process by the projection and by two SQLite databases (rusqlite, bundled) loaded from the
//! same log:
//!
//! - the recomputing SQLite derives every commitment's status from its events on each
//!   question (correlated subqueries), with indexes that do not cover the query and SQLite's
//!   default 2 MB page cache: it compares precomputing with recomputing, not two engines;
//! - the fair SQLite keeps a status row per commitment and money totals per owner up to date
//!   as it reads the log, event by event in log order (a retraction derives its commitment's
//!   row again), with a covering index for the scorecard's query and a page cache as large
//!   as the projections' sled cache (1 GiB): both sides answer from summaries they maintain.
//!
//! Each SQLite must agree with the projection or the benchmark fails before printing a figure:
//! the recomputing one on the status counts of 50 actors (checked after its timing), the fair
//! one, before its timing, on the counts, median days to outcome, overdue list and money of
//! every actor among the picks the timings draw from. Their loads are timed separately.
//!
//! `QUERY_BENCH_EVENTS=100000 just bench query` runs a smaller log. Figures print and go to
//! target/bench/query.json.

use covenant_core::entry::ENTRY_HEADER_BYTES;
use covenant_core::event::{self, Date, SEED_THEMES};
use covenant_core::proto::{self, event_body::Kind};
use covenant_http::{AppState, router};
use covenant_query::view::Scorecard;
use covenant_query::{AsOf, LeagueRules, Projections, ResolvedAsOf, StatusCounts};
use covenant_store::{LogStore, SledStore};
use covenant_testkit::log::LogWriter;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
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
            .map(|_| SEED_THEMES[random.below(SEED_THEMES.len() as u64) as usize])
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
    fn measure(run: impl FnMut(usize)) -> Self {
        Self::measure_n(200, 2_000, run)
    }

    /// `count` timed runs after `warmups` untimed ones.
    fn measure_n(warmups: usize, count: usize, mut run: impl FnMut(usize)) -> Self {
        for warmup in 0..warmups {
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

/// Entries each batch size in [`compare_batch_sizes`] catches up.
const BATCH_COMPARISON_ENTRIES: u64 = 200_000;

/// Catch up the first [`BATCH_COMPARISON_ENTRIES`] into new projections at several batch
/// sizes: larger batches write each key fewer times, smaller ones hold readers off for less.
fn compare_batch_sizes(store: &SledStore, dir: &std::path::Path) -> serde_json::Value {
    let end = BATCH_COMPARISON_ENTRIES.min(covenant_store::LogReader::head(store).size);
    let rows: Vec<serde_json::Value> = [8_192u64, 2_048, 1_024, 512]
        .into_iter()
        .map(|batch| {
            let projections = Projections::open(dir.join(format!("query-batch-{batch}")))
                .expect("open projections");
            let start = Instant::now();
            projections
                .catch_up_to(store, end, batch)
                .expect("catch up");
            let per_s = end as f64 / start.elapsed().as_secs_f64();
            let hold_ms = projections.longest_gate_hold().as_secs_f64() * 1e3;
            let writes_per_entry = projections.engine_writes() as f64 / end.max(1) as f64;
            projections.flush().expect("flush");
            let disk_mib = covenant_testkit::bench::disk_usage(&dir.join(format!("query-batch-{batch}"))) as f64 / 1048576.0;
            println!(
                "batches of {batch}: {end} entries at {per_s:.0} entries/s, longest hold of the readers' gate {hold_ms:.1} ms, {writes_per_entry:.2} engine writes per entry, {disk_mib:.0} MiB on disk"
            );
            serde_json::json!({
                "batch_entries": batch,
                "entries": end,
                "entries_per_s": per_s.round(),
                "longest_gate_hold_ms": (hold_ms * 1e3).round() / 1e3,
                "engine_writes_per_entry": (writes_per_entry * 100.0).round() / 100.0,
                "disk_mib": disk_mib.round(),
            })
        })
        .collect();
    serde_json::Value::Array(rows)
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
    let longest_hold_ms = projections.longest_gate_hold().as_secs_f64() * 1e3;
    let writing_s = projections.total_gate_hold().as_secs_f64();
    println!(
        "projections: caught up {applied} entries in {project_s:.1} s ({catch_up_per_s:.0} entries/s, {writes_per_entry:.2} engine writes per entry; sled writing {writing_s:.1} s of it, {:.0}%); the longest batch held readers off for {longest_hold_ms:.1} ms",
        100.0 * writing_s / project_s
    );
    let writes_by_kind = covenant_testkit::bench::writes_by_kind(
        &projections.engine_writes_per_entry_by_kind(applied),
    );
    let batch_sizes = compare_batch_sizes(&store, dir.path());

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
    // Earlier points in process, each answered both ways in the same run: commitments that
    // stand there as they stand now from their latest records, and every commitment folded
    // from its facts (as every earlier point was answered before records were reused).
    let world_point = projections
        .resolve(AsOf::date(judged), judged)
        .expect("point");
    let half_point = projections
        .resolve(AsOf::size(applied / 2), judged)
        .expect("point");
    let earlier_scorecards = |point: ResolvedAsOf| {
        Latencies::measure_n(50, 500, |i| {
            let actor = &actors[picks[i % picks.len()]];
            projections
                .actor_scorecard(actor, &point, 50)
                .expect("scorecard")
                .expect("actor exists");
        })
    };
    let everyone = |point: ResolvedAsOf| {
        Latencies::measure_n(1, 3, |_| {
            projections
                .overall_scorecard(&point, 50)
                .expect("scorecard");
        })
    };
    let earlier_points = [
        (
            "actor scorecard, as_of a date (world)",
            earlier_scorecards(world_point),
            earlier_scorecards(world_point.without_fast_path()),
        ),
        (
            "actor scorecard, as_of half the log",
            earlier_scorecards(half_point),
            earlier_scorecards(half_point.without_fast_path()),
        ),
        (
            "everyone's scorecard, as_of half the log",
            everyone(half_point),
            everyone(half_point.without_fast_path()),
        ),
    ];

    // What the home page asks as of half the log, each reader folding every commitment for
    // itself against one fold shared by them all (`Projections::share_fold`), and how many
    // folds of everyone each took.
    let home_readers = |share: bool| {
        let folds = projections.folds_of_everyone();
        let latencies = Latencies::measure_n(0, 3, |_| {
            let _shared = share.then(|| projections.share_fold(&half_point).expect("fold"));
            ask_as_home_does(&projections, &half_point);
        });
        let per_page = (projections.folds_of_everyone() - folds) / 3;
        (latencies, per_page)
    };
    let (home_alone, folds_alone) = home_readers(false);
    let (home_shared, folds_shared) = home_readers(true);

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
        assert_eq!(
            theirs,
            status_counts(&ours.counts),
            "SQLite and the projection disagree on {actor}"
        );
    }

    // The fair SQLite, loaded from the same log, must give the projection's answer for every
    // actor among the picks before it is timed.
    let start = Instant::now();
    let fair = fair_sqlite::load(&*store, &dir.path().join("newsroom-fair.sqlite"));
    let sqlite_fair_load_s = start.elapsed().as_secs_f64();
    let sampled: BTreeSet<&String> = picks.iter().map(|&index| &actors[index]).collect();
    for actor in &sampled {
        let ours = projections
            .actor_scorecard(actor, &point, 50)
            .expect("scorecard")
            .expect("actor");
        assert_eq!(
            fair_sqlite::scorecard(&fair, actor, JUDGED_ON, 50),
            projection_answer(&ours),
            "the fair SQLite and the projection disagree on {actor}"
        );
    }
    println!(
        "fair SQLite: counts, median, overdue list and money equal the projection's for all {} sampled actors",
        sampled.len()
    );
    let fair_latency = Latencies::measure(|i| {
        let actor = &actors[picks[i % picks.len()]];
        std::hint::black_box(fair_sqlite::scorecard(&fair, actor, JUDGED_ON, 50));
    });

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
    // The same scorecards at the latest point (the stored summaries), and as the log stood at
    // half its length (a historical read: each commitment folded from its facts up to there).
    let scorecard_latest = Latencies::measure(|i| {
        let actor = &actors[picks[i % picks.len()]];
        get(&agent, &format!("{base}/v1/actors/{actor}"));
    });
    let half = applied / 2;
    let scorecard_historical = Latencies::measure(|i| {
        let actor = &actors[picks[i % picks.len()]];
        get(&agent, &format!("{base}/v1/actors/{actor}?as_of={half}"));
    });
    // The web pages at the latest point, as a reader opens them: fewer rounds, they are heavier.
    let page = |path: &dyn Fn(usize) -> String| {
        Latencies::measure_n(20, 300, |i| {
            get(&agent, &format!("{base}{}", path(i)));
        })
    };
    let pages = [
        ("home", page(&|_| "/".to_owned())),
        (
            "actor",
            page(&|i| format!("/actors/{}", actors[picks[i % picks.len()]])),
        ),
        (
            "commitment",
            page(&|i| {
                let index = (picks[i % picks.len()] as u32 * 97) % generated.commitments;
                format!("/commitments/{}", commitment_id(index))
            }),
        ),
        ("themes", page(&|_| "/themes".to_owned())),
        (
            "theme",
            page(&|i| format!("/themes/{}", SEED_THEMES[i % 7])),
        ),
        (
            "search",
            page(&|i| format!("/search?q={}", generated.words[40 + (i * 7919) % 1_000])),
        ),
    ];
    // Everyone's scorecard and the home page as the log stood at half its length: each
    // request folds every commitment from its facts, so only a few rounds.
    let earlier = |path: String| {
        Latencies::measure_n(1, 5, |_| {
            get(&agent, &format!("{base}{path}"));
        })
    };
    let overall_half = earlier(format!("/v1/scorecard?as_of={half}"));
    let home_half = earlier(format!("/?as_of={half}"));
    let throughput = requests_per_second(&base, &actors, &as_of);
    let memory = covenant_testkit::bench::Memory::of_self();

    assert_eq!(
        projections
            .resolve(AsOf::recorded_on(judged), judged)
            .expect("point")
            .size,
        applied,
        "the log must end before {JUDGED_ON} so that every query sees all of it"
    );
    let ratio = sql_latency.percentile(0.5) / in_process.percentile(0.5);
    let fair_ratio = fair_latency.percentile(0.5) / in_process.percentile(0.5);
    let http_ratio = sql_latency.percentile(0.5) / scorecard.percentile(0.5);
    println!();
    println!("{:<42} {:>10} {:>10}", "latency (µs)", "p50", "p99");
    for (name, latencies) in [
        ("scorecard, projection, in process", &in_process),
        ("scorecard, recomputing SQLite, in process", &sql_latency),
        ("scorecard, fair SQLite, in process", &fair_latency),
        ("scorecard over HTTP, latest", &scorecard_latest),
        ("scorecard over HTTP, as_of a date (world)", &scorecard),
        (
            "scorecard over HTTP, as_of half the log",
            &scorecard_historical,
        ),
        ("history over HTTP", &history),
        ("search over HTTP (2 words)", &search),
    ] {
        println!(
            "{name:<42} {:>10.0} {:>10.0}",
            latencies.percentile(0.5),
            latencies.percentile(0.99)
        );
    }
    for (name, latencies) in &pages {
        println!(
            "{:<42} {:>10.0} {:>10.0}",
            format!("page {name}, latest"),
            latencies.percentile(0.5),
            latencies.percentile(0.99)
        );
    }
    println!();
    println!(
        "{:<42} {:>10} {:>10} {:>10}",
        "earlier points in process, p50 (µs)", "reused", "folded", "ratio"
    );
    for (name, reused, folded) in &earlier_points {
        println!(
            "{name:<42} {:>10.0} {:>10.0} {:>9.1}x   (p99 {:.0} and {:.0})",
            reused.percentile(0.5),
            folded.percentile(0.5),
            folded.percentile(0.5) / reused.percentile(0.5),
            reused.percentile(0.99),
            folded.percentile(0.99)
        );
    }
    println!(
        "{:<42} {:>10} {:>10}",
        "as_of half the log, in process, p50 (µs)", "one fold", "each alone"
    );
    println!(
        "{:<42} {:>10.0} {:>10.0} {:>9.1}x   (folds of everyone: {folds_shared} and {folds_alone})",
        "home's readers, as_of half the log",
        home_shared.percentile(0.5),
        home_alone.percentile(0.5),
        home_alone.percentile(0.5) / home_shared.percentile(0.5),
    );
    println!();
    println!(
        "{:<42} {:>10} {:>10}",
        "over HTTP (µs)", "median", "slowest"
    );
    for (name, latencies) in [
        ("everyone's scorecard, as_of half the log", &overall_half),
        ("page home, as_of half the log", &home_half),
    ] {
        println!(
            "{name:<42} {:>10.0} {:>10.0} (of {})",
            latencies.percentile(0.5),
            latencies.percentile(1.0),
            latencies.0.len()
        );
    }
    println!(
        "scorecard requests/s over HTTP (4 clients, as_of a date): {throughput:.0}; as_of a date counts only events that happened by then, so each of the actor's commitments is folded from its facts; half the log is entry {half}"
    );
    println!(
        "memory of this process after the queries: {} MiB resident, {} MiB at most (the projections, the log store and both SQLite databases with their caches)",
        memory.resident >> 20,
        memory.peak >> 20
    );
    println!(
        "recomputing SQLite: every status derived from the events on each question, indexes that do not cover it, SQLite's default 2 MB page cache"
    );
    println!(
        "fair SQLite: one status row per commitment and money per owner kept up to date as events arrive, a covering index, a {} MiB page cache (the projections' sled cache)",
        fair_sqlite::CACHE_KIB / 1024
    );
    println!("recomputing SQLite p50 / projection p50 (both in process): {ratio:.1}x");
    println!("fair SQLite p50 / projection p50 (both in process): {fair_ratio:.1}x");
    println!("recomputing SQLite p50 (in process) / scorecard p50 over HTTP: {http_ratio:.1}x");
    println!(
        "recomputing SQLite loaded in {sqlite_load_s:.1} s ({:.0} MiB; indexes built after loading)",
        database_mib(&sqlite)
    );
    println!(
        "fair SQLite loaded in {sqlite_fair_load_s:.1} s ({:.0} MiB; status kept event by event, indexes kept as it goes)",
        database_mib(&fair)
    );
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
    for (name, latencies) in &pages {
        goal(
            &format!("page {name}"),
            latencies.percentile(0.99),
            20_000.0,
        );
    }

    let json = serde_json::json!({
        "bench": "query",
        "entries": generated.events,
        "commitments": generated.commitments,
        "actors": MPS + BODIES,
        "judged_on": JUDGED_ON,
        "log_write_s": load_s,
        "projection_catch_up_s": project_s,
        "projection_longest_gate_hold_ms": longest_hold_ms,
        "projection_batch_sizes": batch_sizes,
        "projection_entries_per_s": catch_up_per_s,
        "projection_catch_up_events_per_s": catch_up_per_s,
        "projection_engine_writes_per_event": writes_per_entry,
        "projection_engine_writes_per_entry_by_kind": writes_by_kind,
        "projection_engine_write_share": (writing_s / project_s * 1000.0).round() / 1000.0,
        "sqlite_load_s": sqlite_load_s,
        "scorecard_in_process": in_process.json(),
        "scorecard_sqlite": sql_latency.json(),
        "sqlite_over_projection_p50": ratio,
        "sqlite_in_process_over_http_p50": http_ratio,
        "sqlite_fair_load_s": sqlite_fair_load_s,
        "scorecard_sqlite_fair": fair_latency.json(),
        "sqlite_fair_over_projection_p50": fair_ratio,
        "scorecard_http": scorecard.json(),
        "scorecard_http_latest": scorecard_latest.json(),
        "scorecard_http_as_of_half_log": scorecard_historical.json(),
        "half_log_size": half,
        "memory": memory.json(),
        "pages_latest": pages
            .iter()
            .map(|(name, latencies)| (name.to_string(), latencies.json()))
            .collect::<serde_json::Map<_, _>>(),
        "goal_page_p99_us": 20_000,
        "earlier_points_in_process": earlier_points
            .iter()
            .map(|(name, reused, folded)| {
                (
                    name.to_string(),
                    serde_json::json!({
                        "records_reused": reused.json(),
                        "every_commitment_folded": folded.json(),
                        "folded_over_reused_p50": folded.percentile(0.5) / reused.percentile(0.5),
                    }),
                )
            })
            .collect::<serde_json::Map<_, _>>(),
        "home_readers_as_of_half_log_in_process": {
            "one_shared_fold": home_shared.json(),
            "each_folding_alone": home_alone.json(),
            "alone_over_shared_p50": home_alone.percentile(0.5) / home_shared.percentile(0.5),
            "folds_of_everyone_shared": folds_shared,
            "folds_of_everyone_alone": folds_alone,
        },
        "as_of_half_log": {
            "overall_scorecard_http": overall_half.json(),
            "page_home": home_half.json(),
        },
        "history_http": history.json(),
        "search_http": search.json(),
        "scorecard_http_requests_per_s": throughput,
        "goals": {"scorecard_http_p99_us": 5_000, "history_http_p99_us": 2_000},
    });
    covenant_testkit::bench::write_json("query", &json);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// The readers the home page asks at `point`: the overview, the departments' and MPs' league
/// tables, every department and MP (for those the tables leave out) and the themes.
fn ask_as_home_does(projections: &Projections, point: &ResolvedAsOf) {
    let rules = |kind| LeagueRules {
        min_resolved: 2,
        kind: Some(kind),
    };
    projections.overview(point, 6).expect("overview");
    projections
        .league_tables(
            point,
            [
                rules(proto::ActorKind::Department),
                rules(proto::ActorKind::Mp),
            ],
        )
        .expect("league tables");
    for kind in [proto::ActorKind::Department, proto::ActorKind::Mp] {
        let mut cursor: Option<String> = None;
        loop {
            let page = projections
                .actors(point, Some(kind), cursor.as_deref(), 500)
                .expect("actors");
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    projections.themes(point).expect("themes");
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

fn status_counts(counts: &StatusCounts) -> [i64; 7] {
    [
        counts.not_started,
        counts.in_progress,
        counts.overdue,
        counts.delivered,
        counts.partly_delivered,
        counts.not_delivered,
        counts.withdrawn,
    ]
}

/// The projection's scorecard in the terms the fair SQLite answers in.
fn projection_answer(scorecard: &Scorecard) -> fair_sqlite::Answer {
    fair_sqlite::Answer {
        counts: status_counts(&scorecard.counts),
        median_days_to_outcome: scorecard.median_days_to_outcome,
        overdue: scorecard
            .overdue
            .items
            .iter()
            .map(|item| item.id.clone())
            .collect(),
        money: scorecard
            .money
            .iter()
            .map(|totals| {
                let stages = [
                    totals.pledged_minor,
                    totals.committed_minor,
                    totals.spent_minor,
                ];
                (totals.currency.clone(), stages)
            })
            .collect(),
    }
}

/// The database's size in pages, to set beside the page cache.
fn database_mib(db: &rusqlite::Connection) -> f64 {
    let bytes: i64 = db
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |row| row.get(0),
        )
        .expect("database size");
    bytes as f64 / (1024.0 * 1024.0)
}

/// The recomputing SQLite, what a newsroom developer would build first: commitments and events
/// in SQLite, with the current due date and retraction flags settled at load time, and indexes
/// (built once loaded) on owner and on (commitment, kind, seq).
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

/// The recomputing SQLite's scorecard: status per commitment from its latest outcome,
/// withdrawal, actions and due date; plus money, median days and the overdue list, as the
/// projection answers them.
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

/// The fair SQLite: what a newsroom's ingest would keep if it maintained each commitment's
/// status as events arrive, so that a scorecard reads summaries as the projection does.
mod fair_sqlite {
    use super::{ENTRY_HEADER_BYTES, Kind, LogStore, Path, event, proto};
    use covenant_query::state::{distinct_commitments, money_share, verdict_status};
    use rusqlite::types::FromSql;
    use rusqlite::{Connection, Params, Row, Transaction, params};
    use std::collections::BTreeMap;

    /// SQLite's page cache: the same size as the projections' sled cache (`cache_capacity`
    /// in crates/query/src/projections.rs, 1 GiB), so that neither side is starved. A
    /// negative `cache_size` is in KiB.
    pub const CACHE_KIB: i64 = 1024 * 1024;

    /// `history` keeps every event about a commitment (an action serving two commitments
    /// has a row for each) so that a retraction can settle its commitment again; `status` is
    /// one row per commitment, brought up to date by each event; `money` holds each owner's
    /// totals per currency and stage. The indexes exist while events arrive, as an ingest
    /// that answers questions meanwhile needs them.
    const SCHEMA: &str = "
        CREATE TABLE history (event_id TEXT NOT NULL, commitment_id TEXT NOT NULL,
            seq INTEGER NOT NULL, kind TEXT NOT NULL, due_by TEXT, verdict TEXT,
            reported_on TEXT, currency TEXT, stage INTEGER, amount INTEGER,
            retracted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (event_id, commitment_id));
        CREATE INDEX history_by_commitment ON history (commitment_id, kind, retracted, seq);
        CREATE TABLE status (id TEXT PRIMARY KEY, owner TEXT NOT NULL, made_on TEXT NOT NULL,
            due_by TEXT, verdict TEXT, reported_on TEXT, days_to_outcome INTEGER,
            withdrawn INTEGER NOT NULL DEFAULT 0, acted INTEGER NOT NULL DEFAULT 0,
            retracted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        CREATE INDEX status_by_owner ON status
            (owner, retracted, withdrawn, verdict, due_by, id, acted, days_to_outcome);
        CREATE TABLE money (owner TEXT NOT NULL, currency TEXT NOT NULL, stage INTEGER NOT NULL,
            amount INTEGER NOT NULL, PRIMARY KEY (owner, currency, stage)) WITHOUT ROWID;";

    /// Each of an owner's commitments that counts, with its status as a slot in
    /// [`Answer::counts`] (the order of `Status`: not started, in progress, overdue, delivered,
    /// partly, not delivered, withdrawn). The judged-on date enters only here, as one
    /// comparison. Read in the index's order, open commitments come first by due date and
    /// id, so the overdue list is the first overdue rows.
    const STATUS: &str = "
        SELECT CASE WHEN withdrawn THEN 6
                    WHEN verdict = 'delivered' THEN 3
                    WHEN verdict = 'partly_delivered' THEN 4
                    WHEN verdict IS NOT NULL THEN 5
                    WHEN due_by < ?2 THEN 2
                    WHEN acted THEN 1
                    ELSE 0 END,
               id, days_to_outcome
        FROM status WHERE owner = ?1 AND retracted = 0
        ORDER BY withdrawn, verdict, due_by, id";
    const MONEY: &str = "SELECT currency, stage, amount FROM money WHERE owner = ?1";

    /// A scorecard's figures as both sides answer them.
    #[derive(Debug, PartialEq)]
    pub struct Answer {
        pub counts: [i64; 7],
        pub median_days_to_outcome: Option<f64>,
        /// Overdue commitment ids, most overdue first (then by id), at most the limit.
        pub overdue: Vec<String>,
        /// Per currency (in order): pledged, committed, spent, in minor units.
        pub money: Vec<(String, [i64; 3])>,
    }

    /// Read the log once, in order, maintaining the tables event by event; one transaction
    /// per 10,000 entries read, as an ingest commits what it has read.
    pub fn load(store: &dyn LogStore, path: &Path) -> Connection {
        let mut db = Connection::open(path).expect("open sqlite");
        db.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -{CACHE_KIB}; {SCHEMA}"
        ))
        .expect("fair schema");
        let size = store.head().size;
        let mut start = 0;
        while start < size {
            let end = (start + 10_000).min(size);
            let transaction = db.transaction().expect("transaction");
            for entry in store.entries(start, end).expect("entries") {
                ingest(&transaction, &entry);
            }
            transaction.commit().expect("commit");
            start = end;
        }
        db.execute_batch("ANALYZE;").expect("analyze");
        assert_covered(&db, params![super::actor_id(0), super::JUDGED_ON]);
        db
    }

    /// The scorecard from the maintained tables: one range read of a covering index, in its
    /// order, and one of the money table; counted, as the recomputing variant counts, in Rust.
    pub fn scorecard(db: &Connection, actor: &str, judged_on: &str, list_limit: usize) -> Answer {
        let mut counts = [0; 7];
        let mut days = vec![];
        let mut overdue = vec![];
        let read = |row: &Row| {
            let to_outcome: Option<i64> = row.get(2)?;
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, to_outcome))
        };
        for (slot, id, to_outcome) in rows(db, STATUS, params![actor, judged_on], read) {
            counts[slot as usize] += 1;
            if (3..=5).contains(&slot) {
                days.extend(to_outcome);
            }
            if slot == 2 && overdue.len() < list_limit {
                overdue.push(id);
            }
        }
        days.sort_unstable();
        Answer {
            counts,
            median_days_to_outcome: median(&days),
            overdue,
            money: money(db, actor),
        }
    }

    /// The mean of the middle two when the count is even, as the projection's median.
    fn median(sorted: &[i64]) -> Option<f64> {
        let count = sorted.len();
        (count > 0).then(|| (sorted[(count - 1) / 2] + sorted[count / 2]) as f64 / 2.0)
    }

    /// A currency whose totals are all zero (its money retracted) is left out, as the
    /// projection leaves it out.
    fn money(db: &Connection, actor: &str) -> Vec<(String, [i64; 3])> {
        let mut totals: BTreeMap<String, [i64; 3]> = BTreeMap::new();
        let read = |row: &Row| Ok((row.get(0)?, row.get::<_, i64>(1)?, row.get(2)?));
        for (currency, stage, amount) in rows(db, MONEY, params![actor], read) {
            totals.entry(currency).or_default()[stage as usize] = amount;
        }
        totals.retain(|_, stages| stages.iter().any(|amount| *amount != 0));
        totals.into_iter().collect()
    }

    fn rows<T>(
        db: &Connection,
        sql: &str,
        params: impl Params,
        read: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Vec<T> {
        let mut statement = db.prepare_cached(sql).expect("prepare");
        statement
            .query_map(params, read)
            .expect("query")
            .map(|row| row.expect("row"))
            .collect()
    }

    fn first<T: FromSql>(row: &Row) -> rusqlite::Result<T> {
        row.get(0)
    }

    /// Fail loudly if the status query would read the table rather than the index alone, or
    /// sort what the index already holds in order.
    fn assert_covered(db: &Connection, params: impl Params) {
        let plan = rows(db, &format!("EXPLAIN QUERY PLAN {STATUS}"), params, |row| {
            row.get::<_, String>(3)
        })
        .join("; ");
        assert!(
            plan.contains("USING COVERING INDEX status_by_owner") && !plan.contains("TEMP B-TREE"),
            "the status query is not one ordered read of status_by_owner: {plan}"
        );
    }

    // ---- ingest, event by event ---------------------------------------------------------

    /// One row of `history`.
    #[derive(Default)]
    struct Fact<'a> {
        seq: i64,
        event_id: &'a str,
        commitment: &'a str,
        kind: &'a str,
        due_by: Option<&'a str>,
        verdict: Option<&'a str>,
        reported_on: Option<&'a str>,
        /// Currency, stage (0 pledged, 1 committed, 2 spent) and this commitment's share.
        money: Option<(&'a str, i64, i64)>,
    }

    fn ingest(db: &Transaction, entry: &[u8]) {
        let seq = u64::from_be_bytes(entry[1..9].try_into().expect("seq")) as i64;
        let decoded = event::decode(&entry[ENTRY_HEADER_BYTES..]).expect("decode");
        let event_id = decoded.event_id().to_owned();
        let fact = Fact {
            seq,
            event_id: &event_id,
            ..Fact::default()
        };
        match &decoded.kind {
            Kind::CommitmentMade(made) => commitment_made(db, fact, &decoded.envelope.actor, made),
            Kind::ActionRecorded(action) => action_recorded(db, fact, action),
            Kind::OutcomeReported(outcome) => outcome_reported(db, fact, outcome),
            Kind::CommitmentWithdrawn(withdrawn) => withdrawn_by(db, fact, withdrawn),
            Kind::CommitmentAmended(amended) => amended_by(db, fact, amended),
            Kind::Retraction(retraction) => retract(db, &retraction.event_id),
            // Registrations and assessments change none of the figures compared. The log
            // has no successions, adoptions or named indicators, which neither loader follows.
            _ => {}
        }
    }

    fn commitment_made(db: &Transaction, fact: Fact, owner: &str, made: &proto::CommitmentMade) {
        let fact = Fact {
            commitment: &made.commitment_id,
            kind: "made",
            due_by: date(&made.due_by),
            ..fact
        };
        remember(db, &fact);
        execute(
            db,
            "INSERT INTO status (id, owner, made_on, due_by) VALUES (?1, ?2, ?3, ?4)",
            params![fact.commitment, owner, made.made_on, fact.due_by],
        );
    }

    /// Each commitment the action serves gets its share of the money, split as the
    /// projection splits it.
    fn action_recorded(db: &Transaction, fact: Fact, action: &proto::ActionRecorded) {
        for commitment in distinct_commitments(action) {
            let share = money_share(action, commitment);
            let fact = Fact {
                commitment,
                kind: "action",
                money: share.as_ref().map(|(currency, stage, amount)| {
                    (currency.as_str(), stage.index() as i64, *amount)
                }),
                ..fact
            };
            remember(db, &fact);
            execute(
                db,
                "UPDATE status SET acted = 1 WHERE id = ?1 AND acted = 0",
                params![commitment],
            );
            if let Some((currency, stage, amount)) = fact.money {
                add_money(db, commitment, currency, stage, amount);
            }
        }
    }

    /// The latest outcome decides, so it simply replaces the one before.
    fn outcome_reported(db: &Transaction, fact: Fact, outcome: &proto::OutcomeReported) {
        let fact = Fact {
            commitment: &outcome.commitment_id,
            kind: "outcome",
            verdict: Some(verdict_status(outcome.verdict).as_str()),
            reported_on: Some(&outcome.reported_on),
            ..fact
        };
        remember(db, &fact);
        execute(
            db,
            "UPDATE status SET verdict = ?2, reported_on = ?3,
                 days_to_outcome = CAST(julianday(?3) - julianday(made_on) AS INTEGER)
             WHERE id = ?1",
            params![fact.commitment, fact.verdict, fact.reported_on],
        );
    }

    fn withdrawn_by(db: &Transaction, fact: Fact, withdrawn: &proto::CommitmentWithdrawn) {
        let fact = Fact {
            commitment: &withdrawn.commitment_id,
            kind: "withdrawn",
            ..fact
        };
        remember(db, &fact);
        execute(
            db,
            "UPDATE status SET withdrawn = 1 WHERE id = ?1",
            params![fact.commitment],
        );
    }

    /// Only the due date matters to these figures; the last due-date change in an amendment
    /// wins.
    fn amended_by(db: &Transaction, fact: Fact, amended: &proto::CommitmentAmended) {
        let Some(change) = amended
            .changes
            .iter()
            .rfind(|change| change.field == proto::AmendedField::DueBy as i32)
        else {
            return;
        };
        let fact = Fact {
            commitment: &amended.commitment_id,
            kind: "amended",
            due_by: date(&change.new_value),
            ..fact
        };
        remember(db, &fact);
        execute(
            db,
            "UPDATE status SET due_by = ?2 WHERE id = ?1",
            params![fact.commitment, fact.due_by],
        );
    }

    /// A retracted action, outcome, withdrawal, amendment or commitment: its commitment's
    /// money leaves the owner's totals, the event is marked, the status row is derived again
    /// from what still counts (an earlier outcome can decide again), and the money returns
    /// if the commitment still counts. Retractions are rare, so this slower path is taken
    /// rarely. Retractions of retractions are not in the log and are not followed.
    fn retract(db: &Transaction, target: &str) {
        let commitments: Vec<String> = rows(
            db,
            "SELECT commitment_id FROM history WHERE event_id = ?1 AND retracted = 0",
            params![target],
            first,
        );
        for commitment in &commitments {
            move_money(db, commitment, -1);
        }
        execute(
            db,
            "UPDATE history SET retracted = 1 WHERE event_id = ?1",
            params![target],
        );
        for commitment in &commitments {
            settle(db, commitment);
            move_money(db, commitment, 1);
        }
    }

    /// Derive one status row again from the commitment's events that still count.
    fn settle(db: &Transaction, commitment: &str) {
        execute(
            db,
            "UPDATE status SET
               retracted = EXISTS (SELECT 1 FROM history h WHERE h.commitment_id = ?1
                 AND h.kind = 'made' AND h.retracted = 1),
               withdrawn = EXISTS (SELECT 1 FROM history h WHERE h.commitment_id = ?1
                 AND h.kind = 'withdrawn' AND h.retracted = 0),
               acted = EXISTS (SELECT 1 FROM history h WHERE h.commitment_id = ?1
                 AND h.kind = 'action' AND h.retracted = 0),
               due_by = (SELECT h.due_by FROM history h WHERE h.commitment_id = ?1
                 AND h.kind IN ('made', 'amended') AND h.retracted = 0 ORDER BY h.seq DESC LIMIT 1),
               (verdict, reported_on) = (SELECT h.verdict, h.reported_on FROM history h
                 WHERE h.commitment_id = ?1 AND h.kind = 'outcome' AND h.retracted = 0
                 ORDER BY h.seq DESC LIMIT 1)
             WHERE id = ?1",
            params![commitment],
        );
        execute(
            db,
            "UPDATE status
             SET days_to_outcome = CAST(julianday(reported_on) - julianday(made_on) AS INTEGER)
             WHERE id = ?1",
            params![commitment],
        );
    }

    /// Add (`sign` 1) or take away (-1) the money of a commitment's actions that still
    /// count, while the commitment itself counts.
    fn move_money(db: &Transaction, commitment: &str, sign: i64) {
        execute(
            db,
            "INSERT INTO money (owner, currency, stage, amount)
             SELECT s.owner, h.currency, h.stage, ?2 * SUM(h.amount)
             FROM history h JOIN status s ON s.id = h.commitment_id
             WHERE h.commitment_id = ?1 AND h.kind = 'action' AND h.retracted = 0
               AND h.amount IS NOT NULL AND s.retracted = 0
             GROUP BY h.currency, h.stage
             ON CONFLICT (owner, currency, stage) DO UPDATE SET amount = amount + excluded.amount",
            params![commitment, sign],
        );
    }

    fn add_money(db: &Transaction, commitment: &str, currency: &str, stage: i64, amount: i64) {
        execute(
            db,
            "INSERT INTO money (owner, currency, stage, amount)
             SELECT owner, ?2, ?3, ?4 FROM status WHERE id = ?1 AND retracted = 0
             ON CONFLICT (owner, currency, stage) DO UPDATE SET amount = amount + excluded.amount",
            params![commitment, currency, stage, amount],
        );
    }

    fn remember(db: &Transaction, fact: &Fact) {
        let currency = fact.money.map(|(currency, _, _)| currency);
        let stage = fact.money.map(|(_, stage, _)| stage);
        let amount = fact.money.map(|(_, _, amount)| amount);
        execute(
            db,
            "INSERT INTO history (event_id, commitment_id, seq, kind, due_by, verdict,
                 reported_on, currency, stage, amount)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                fact.event_id,
                fact.commitment,
                fact.seq,
                fact.kind,
                fact.due_by,
                fact.verdict,
                fact.reported_on,
                currency,
                stage,
                amount
            ],
        );
    }

    fn execute(db: &Transaction, sql: &str, params: impl Params) {
        db.prepare_cached(sql)
            .expect("prepare")
            .execute(params)
            .expect("execute");
    }

    /// An empty date is no date, as the projection reads it.
    fn date(text: &str) -> Option<&str> {
        Some(text).filter(|text| !text.is_empty())
    }
}
