//! The server under test: the embedded ledger and the HTTP router on a free loopback port,
//! loaded with the demo data through `POST /v1/events`, the same door any emitter uses.

use covenant_core::checkpoint::LogSigner;
use covenant_http::AppState;
use covenant_ledger::{
    GenesisConfig, Ledger, LedgerMetrics, LedgerOptions, RegistrarKey, RunningLedger,
    StreamSettings,
};
use covenant_query::{Follower, Projections};
use covenant_store::{LogReader, SledStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Server {
    pub base: String,
    /// The log's checkpoint verifier key, as a reader would pin it.
    pub verifier_key: String,
    pub store: Arc<SledStore>,
    /// Runs until the test ends.
    _ledger: RunningLedger,
    /// Projects the log in the background, as `covenant serve` does.
    _follower: Follower,
    _dir: tempfile::TempDir,
}

fn ledger_genesis(demo: &covenant_demo::GenesisConfig) -> GenesisConfig {
    GenesisConfig {
        origin: demo.origin.clone(),
        registrar_actor: demo.registrar_actor.clone(),
        registrars: vec![RegistrarKey {
            key_id: demo.registrar_key_id.clone(),
            public_key: demo.registrar_public_key,
        }],
        description: demo.description.clone(),
    }
}

/// Where the ledger takes its events from, as `covenant serve` without and with a NATS URL.
pub enum LedgerInput {
    /// No broker: `POST /v1/events` goes straight into the sequencer, which answers with its
    /// decision.
    Embedded,
    /// The event stream of the JetStream server at `nats_url` (created with the default
    /// settings if missing): `POST /v1/events` answers once the broker has stored the envelope,
    /// and the ledger decides in stream order.
    #[allow(
        dead_code,
        reason = "only the front-door benchmark runs the ledger on a stream"
    )]
    Stream { nats_url: String },
}

/// POST every envelope, in order, and insist that each is accepted. With `settle_registry`
/// (a ledger on a stream, which decides after the answer), each registry event is waited for
/// in the log before the next envelope goes: the door checks keys against the log as it stands.
fn post_all(base: &str, events: &[Vec<u8>], settle_registry: Option<&SledStore>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}/v1/events");
    for (index, envelope) in events.iter().enumerate() {
        let mut response = agent
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .send(envelope.as_slice())
            .unwrap_or_else(|error| panic!("POST demo event {index}: {error}"));
        let status = response.status();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        assert!(
            status.is_success(),
            "demo event {index} was refused ({status}): {body}"
        );
        if let Some(store) = settle_registry {
            let decoded = covenant_core::event::decode(envelope).expect("a demo event decodes");
            if decoded.envelope.actor == covenant_demo::REGISTRAR_ACTOR {
                wait_for_event(store, &decoded.envelope.event_id);
            }
        }
    }
}

/// Wait until the log holds `event_id` (at most 20 s).
fn wait_for_event(store: &SledStore, event_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while store
        .event(event_id)
        .expect("read the event index")
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "event {event_id} is not in the log after 20 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

impl Server {
    /// A fresh server whose log holds the whole demo data set and a signed checkpoint of it.
    pub async fn with_demo() -> Server {
        Self::with_demo_from(LedgerInput::Embedded).await
    }

    /// The same with the ledger taking its events from `input`.
    pub async fn with_demo_from(input: LedgerInput) -> Server {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let store =
            Arc::new(SledStore::create_or_open(dir.path().join("log")).expect("open the store"));
        let demo = covenant_demo::demo();
        let signer =
            LogSigner::new(&demo.genesis.origin, demo.log_seed).expect("demo log signing key");
        let ledger = Ledger::open(
            store.clone(),
            &ledger_genesis(&demo.genesis),
            Some(signer),
            LedgerOptions::default(),
            LedgerMetrics::default(),
        )
        .expect("open the ledger");
        let verifier_key = ledger.verifier_key().expect("the ledger signs checkpoints");
        let (ingest, running) = match &input {
            LedgerInput::Embedded => ledger.run_embedded().expect("run the embedded ledger"),
            LedgerInput::Stream { nats_url } => {
                let client = async_nats::connect(nats_url.as_str())
                    .await
                    .unwrap_or_else(|error| panic!("connect to {nats_url}: {error}"));
                ledger
                    .run_stream(client, &StreamSettings::default())
                    .await
                    .expect("run the ledger on the event stream")
            }
        };

        let projections =
            Arc::new(Projections::open(dir.path().join("query")).expect("open the projections"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let follower =
            Follower::start(projections.clone(), store.clone()).expect("start following the log");
        let mut state = AppState::new(store.clone(), verifier_key.clone())
            .with_query(projections.clone())
            .with_public_url(&base);
        state.ingest = Some(ingest);
        // The production server: pages are tested under its Content-Security-Policy.
        tokio::spawn(async move {
            covenant_http::server::serve(
                listener,
                covenant_http::router(state),
                covenant_http::server::ServerLimits::default(),
                std::future::pending(),
            )
            .await
            .expect("serve")
        });

        let posting_base = base.clone();
        let events = demo.events.clone();
        let settle_registry = matches!(input, LedgerInput::Stream { .. }).then(|| store.clone());
        tokio::task::spawn_blocking(move || {
            post_all(&posting_base, &events, settle_registry.as_deref());
            // A ledger on a stream decides after the answers: the last event in the log means
            // every one before it was decided.
            if let Some(store) = &settle_registry {
                let last = covenant_core::event::decode(events.last().expect("demo events"))
                    .expect("a demo event decodes");
                wait_for_event(store, &last.envelope.event_id);
            }
        })
        .await
        .expect("load the demo data");
        let server = Server {
            base,
            verifier_key,
            store,
            _ledger: running,
            _follower: follower,
            _dir: dir,
        };
        server.wait_for_checkpoint_of_everything().await;
        // Pages answer from what is projected: wait until that is the whole log.
        let size = server.store.head().size;
        let projected = tokio::task::spawn_blocking(move || {
            projections.wait_until_applied(size, Duration::from_secs(60))
        })
        .await
        .expect("wait for the projections");
        assert!(
            projected,
            "the projections did not reach {size} entries within 60 s"
        );
        server
    }

    async fn wait_for_checkpoint_of_everything(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let size = self.store.head().size;
            let signed = self
                .store
                .latest_checkpoint()
                .expect("read the latest checkpoint")
                .map_or(0, |(signed_size, _)| signed_size);
            if signed == size {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no checkpoint of all {size} entries within 20 s (latest covers {signed})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The status code of GET `path`.
    pub async fn status(&self, path: &str) -> u16 {
        let url = self.url(path);
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            agent
                .get(&url)
                .call()
                .unwrap_or_else(|error| panic!("GET {url}: {error}"))
                .status()
                .as_u16()
        })
        .await
        .expect("request task")
    }

    /// GET `path` from the JSON API.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let url = self.url(path);
        tokio::task::spawn_blocking(move || {
            let mut response = ureq::get(&url)
                .call()
                .unwrap_or_else(|error| panic!("GET {url}: {error}"));
            let text = response.body_mut().read_to_string().expect("read the body");
            serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("GET {url} is not JSON: {error}: {text}"))
        })
        .await
        .expect("request task")
    }
}
