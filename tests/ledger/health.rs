//! `/healthz` and `/readyz` as a load balancer sees them: `covenant serve` as a child process
//! for liveness and the checkpoint-age rule, and an in-process ledger on a real nats-server,
//! paused by not driving its runtime, for the stream-lag and projection rules.

use super::support::world::{World, jetstream, publish, temp_store};
use super::support::{Served, write_config};
use covenant_http::health::{Readiness, ReadinessLimits};
use covenant_http::{AppState, router};
use covenant_ledger::{Ledger, LedgerHealth, LedgerMetrics, LedgerOptions, StreamSettings};
use covenant_query::{Follower, Projections};
use covenant_store::LogStore;
use covenant_testkit::NatsServer;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";

/// GET `path`: status, `Retry-After` and body.
fn get(base_url: &str, path: &str) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(format!("{base_url}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), retry_after, body)
}

fn readiness(base_url: &str) -> (u16, Option<String>, Readiness) {
    let (status, retry_after, body) = get(base_url, "/readyz");
    let readiness =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/readyz is not JSON ({e}): {body}"));
    (status, retry_after, readiness)
}

/// Poll `/readyz` until `done` holds, for up to 30 s; the last answer.
fn wait_for_readiness(
    base_url: &str,
    what: &str,
    done: impl Fn(u16, &Readiness) -> bool,
) -> (u16, Option<String>, Readiness) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = readiness(base_url);
        if done(answer.0, &answer.2) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn serve_embedded(extra_args: &[&str]) -> (Served, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &World::new());
    let mut command = Command::new(env!("CARGO_BIN_EXE_covenant"));
    command
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(extra_args);
    (Served::spawn(command), dir)
}

#[test]
fn a_caught_up_replica_is_alive_and_ready() {
    let (served, _dir) = serve_embedded(&[]);
    let (status, _, body) = get(&served.base_url, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (_, retry_after, ready) =
        wait_for_readiness(&served.base_url, "a ready replica", |status, _| {
            status == 200
        });
    assert!(ready.ready && ready.reasons.is_empty(), "{ready:?}");
    assert_eq!(retry_after, None, "Retry-After only when not ready");
    assert_eq!(ready.source, "ledger");
    assert_eq!(ready.stream_pending, Some(0), "embedded: no stream, no lag");
    assert_eq!(ready.checkpoint_size, Some(1), "the genesis checkpoint");
    assert!(
        ready.checkpoint_age_s.is_some_and(|age| age < 60.0),
        "{ready:?}"
    );
    assert!(
        ready.projected.is_some_and(|projected| projected >= 1),
        "{ready:?}"
    );
}

#[test]
fn a_replica_whose_newest_checkpoint_is_too_old_is_not_ready() {
    // The ledger republishes its checkpoint once a minute when idle; one second is too long.
    let (served, _dir) = serve_embedded(&["--ready-max-checkpoint-age", "1"]);
    let (status, retry_after, ready) =
        wait_for_readiness(&served.base_url, "an old checkpoint", |_, ready| {
            ready.checkpoint_age_s.is_some_and(|age| age > 1.2)
        });
    assert_eq!(status, 503, "{ready:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert!(!ready.ready);
    assert_eq!(ready.reasons.len(), 1, "only the age fails: {ready:?}");
    assert!(
        ready.reasons[0].starts_with("newest checkpoint is ")
            && ready.reasons[0].ends_with(" s old > 1 s allowed"),
        "{ready:?}"
    );
    // Still alive: liveness checks nothing of this.
    assert_eq!(get(&served.base_url, "/healthz").0, 200);
}

/// A ledger on a real stream whose runtime only runs while the test drives it: between
/// `block_on` calls its input task is frozen, which pauses consumption exactly where it is.
struct PausedLedger {
    runtime: tokio::runtime::Runtime,
    running: Option<covenant_ledger::RunningLedger>,
    health: LedgerHealth,
    store: Arc<dyn LogStore>,
    verifier_key: String,
    _nats: NatsServer,
    _dir: tempfile::TempDir,
}

impl PausedLedger {
    /// `backlog` events published before the ledger starts, and the ledger started (paused).
    fn with_backlog(backlog: usize) -> (Self, u64) {
        let nats = NatsServer::start();
        let mut world = World::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut envelopes = world.onboard(DCMS, "dcms-1", 2);
        while envelopes.len() < backlog {
            let id = format!("c-{}", envelopes.len());
            envelopes.push(world.commitment(DCMS, "dcms-1", &id));
        }
        let published = envelopes.len() as u64;
        runtime.block_on(async {
            let js = jetstream(&nats.url()).await;
            covenant_ledger::ensure_stream(&js, &StreamSettings::default())
                .await
                .unwrap();
            for envelope in envelopes {
                publish(&js, envelope).await;
            }
        });
        let (store, dir) = temp_store();
        let ledger = Ledger::open(
            store.clone(),
            &world.genesis(),
            Some(world.log_signer()),
            LedgerOptions::default(),
            LedgerMetrics::default(),
        )
        .unwrap();
        let (health, verifier_key) = (ledger.health(), ledger.verifier_key().unwrap());
        let (_ingest, running) = runtime.block_on(async {
            let client = async_nats::connect(nats.url()).await.unwrap();
            ledger
                .run_stream(client, &StreamSettings::default())
                .await
                .unwrap()
        });
        let paused = Self {
            runtime,
            running: Some(running),
            health,
            store,
            verifier_key,
            _nats: nats,
            _dir: dir,
        };
        (paused, published)
    }

    /// Let the ledger run until it has consumed the whole stream, then pause it again.
    fn catch_up(&self, stream_size: u64) {
        let health = self.health.clone();
        self.runtime.block_on(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while health.read().log_size < stream_size + 1 || health.read().stream_pending > 0 {
                assert!(Instant::now() < deadline, "the ledger did not catch up");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
}

impl Drop for PausedLedger {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = self.runtime.block_on(running.stop());
        }
    }
}

/// Serve `state` on its own multi-threaded runtime (so it answers while the ledger's runtime
/// is paused); returns the base URL and the runtime that keeps it running.
fn serve_state(state: AppState) -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(covenant_http::server::serve(
        listener,
        router(state),
        covenant_http::server::ServerLimits::default(),
        std::future::pending(),
    ));
    (base_url, runtime)
}

fn limits(max_stream_lag: u64) -> ReadinessLimits {
    ReadinessLimits {
        max_stream_lag,
        max_checkpoint_age: Duration::from_secs(600),
    }
}

#[test]
fn a_replica_behind_its_stream_is_not_ready_until_it_catches_up() {
    let (ledger, backlog) = PausedLedger::with_backlog(40);
    let state = AppState {
        ledger_health: Some(ledger.health.clone()),
        readiness: limits(5),
        ..AppState::new(ledger.store.clone(), ledger.verifier_key.clone())
    };
    let (base_url, _http) = serve_state(state);
    // The commit thread signs the genesis checkpoint by itself; the stream input stays frozen.
    let (status, retry_after, behind) =
        wait_for_readiness(&base_url, "the first checkpoint", |_, ready| {
            ready.checkpoint_size.is_some()
        });
    assert_eq!(
        (status, retry_after.as_deref()),
        (503, Some("1")),
        "{behind:?}"
    );
    assert_eq!(behind.stream_pending, Some(backlog), "{behind:?}");
    assert_eq!(
        behind.reasons,
        vec![format!("stream lag {backlog} messages > 5 allowed")]
    );
    assert_eq!(behind.log_size, 1, "nothing consumed while paused");
    ledger.catch_up(backlog);
    let (status, _, caught_up) = readiness(&base_url);
    assert_eq!(status, 200, "{caught_up:?}");
    assert_eq!(caught_up.stream_pending, Some(0));
    assert_eq!(caught_up.log_size, backlog + 1);
}

#[test]
fn a_replica_whose_projections_lag_is_not_ready_until_they_apply_the_checkpoint() {
    let (ledger, backlog) = PausedLedger::with_backlog(12);
    ledger.catch_up(backlog);
    let checkpoint = backlog + 1;
    let dir = tempfile::tempdir().unwrap();
    let projections = Arc::new(Projections::open(dir.path().join("query")).unwrap());
    // Nothing applies entries yet: the projections stand at 0. Both with the ledger's figures
    // and, read-only, with the store's.
    let with_ledger = AppState {
        ledger_health: Some(ledger.health.clone()),
        readiness: limits(1000),
        ..AppState::new(ledger.store.clone(), ledger.verifier_key.clone())
    }
    .with_query(projections.clone());
    let read_only = AppState::new(ledger.store.clone(), ledger.verifier_key.clone())
        .with_query(projections.clone());
    let (ledger_url, _http) = serve_state(with_ledger);
    let (read_only_url, _http2) = serve_state(read_only);
    let expected = vec![format!(
        "projections applied 0 entries < checkpoint size {checkpoint}"
    )];
    let (status, _, behind) = wait_for_readiness(&ledger_url, "the checkpoint", |_, ready| {
        ready.checkpoint_size == Some(checkpoint)
    });
    assert_eq!((status, &behind.reasons), (503, &expected), "{behind:?}");
    let (status, _, behind) = readiness(&read_only_url);
    assert_eq!((status, &behind.reasons), (503, &expected), "{behind:?}");
    assert_eq!(behind.source, "store");
    assert_eq!(
        (behind.stream_pending, behind.checkpoint_age_s),
        (None, None)
    );
    // Once the projections follow the log, both are ready.
    let _follower = Follower::start(projections.clone(), ledger.store.clone()).unwrap();
    assert!(projections.wait_until_applied(checkpoint, Duration::from_secs(30)));
    for base_url in [&ledger_url, &read_only_url] {
        let (status, _, ready) = readiness(base_url);
        assert_eq!(status, 200, "{ready:?}");
        assert_eq!(ready.projected, Some(checkpoint));
    }
}
