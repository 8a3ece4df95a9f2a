//! The query API of `covenant serve` fed through NATS: a real nats-server, the ledger consuming
//! its stream, signed events published to JetStream, and the /v1 answers, CSV and Atom read
//! over HTTP; then a restart (the projections resume) and `covenant query rebuild`.

#[path = "../crates/ledger/tests/support/mod.rs"]
mod world;

use covenant_core::proto::event_body::Kind;
use covenant_core::proto::*;
use covenant_testkit::NatsServer;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use world::World;

const DHSC: &str = "GB-GOV-DHSC";
const KEY: &str = "dhsc-1";

fn write_config(dir: &Path, world: &World) -> PathBuf {
    let genesis = world.genesis();
    let registrar = &genesis.registrars[0];
    let text = format!(
        "[log]\norigin = \"{}\"\ndescription = \"{}\"\n\n[keys]\nregistrar_actor = \"{}\"\n\n[[keys.registrars]]\nkey_id = \"{}\"\npublic_key = \"{}\"\n",
        genesis.origin,
        genesis.description,
        genesis.registrar_actor,
        registrar.key_id,
        hex::encode(registrar.public_key)
    );
    let path = dir.join("covenant.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `covenant serve` as a child process, killed on drop.
struct Served {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    fn start(config: &Path, data: &Path, nats: &str) -> Self {
        let port = covenant_testkit::free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_covenant"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--nats", nats])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start covenant serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let served = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        served.wait_for("the server to answer", |s| s.try_get("/metrics").is_some());
        served
    }

    fn try_get(&self, path: &str) -> Option<(u16, String, String)> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(&format!("{}{path}", self.base)).call().ok()?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Some((
            response.status().as_u16(),
            content_type,
            response.body_mut().read_to_string().unwrap_or_default(),
        ))
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        self.try_get(path)
            .unwrap_or_else(|| panic!("GET {path} failed: {}", self.stderr.lock().unwrap()))
    }

    fn json(&self, path: &str) -> Value {
        let (status, _, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn wait_for(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn stop(mut self) {
        // SAFETY: signalling our own child process by its id.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn made(id: &str, title: &str, due_by: &str) -> Kind {
    Kind::CommitmentMade(CommitmentMade {
        commitment_id: id.into(),
        title: title.into(),
        text: format!("{title}, for every region"),
        made_on: "2025-09-01".into(),
        due_by: due_by.into(),
        themes: vec!["safety".into()],
        ..Default::default()
    })
}

fn publish_all(nats: &str, envelopes: Vec<Vec<u8>>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(nats).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        for envelope in envelopes {
            world::publish(&jetstream, envelope).await;
        }
    });
}

#[test]
fn the_query_api_answers_what_the_ledger_took_from_nats() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, &nats.url());

    let mut envelopes = world.onboard(DHSC, KEY, 2);
    envelopes.push(world.emit(DHSC, KEY, made("dhsc-beds", "Open more beds", "2026-01-31")));
    envelopes.push(world.emit(
        DHSC,
        KEY,
        made("dhsc-nurses", "Recruit nurses", "2099-12-31"),
    ));
    envelopes.push(world.emit(DHSC, KEY, world::action("a-1", &["dhsc-nurses"])));
    envelopes.push(world.emit(
        DHSC,
        KEY,
        made("dhsc-clinics", "Open clinics", "2099-12-31"),
    ));
    envelopes.push(world.emit(DHSC, KEY, world::outcome("dhsc-clinics")));
    publish_all(&nats.url(), envelopes);

    let card_path = format!("/v1/actors/{DHSC}");
    served.wait_for("the three commitments", |s| {
        s.try_get(&card_path)
            .and_then(|(status, _, body)| (status == 200).then_some(body))
            .and_then(|body| serde_json::from_str::<Value>(&body).ok())
            .is_some_and(|card| card["commitments"] == 3)
    });
    let card = served.json(&card_path);
    assert_eq!(card["counts"]["overdue"], 1, "dhsc-beds was due 2026-01-31");
    assert_eq!(card["counts"]["in_progress"], 1);
    assert_eq!(card["counts"]["delivered"], 1);
    assert_eq!(card["delivery_rate"], 1.0);
    assert_eq!(card["overdue"]["items"][0]["id"], "dhsc-beds");

    let search = served.json("/v1/commitments?q=nurses%20REGION");
    assert_eq!(search["items"][0]["id"], "dhsc-nurses");
    assert_eq!(search["items"].as_array().unwrap().len(), 1);
    let history = served.json("/v1/commitments/dhsc-clinics/history");
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["kind"], "outcome_reported");
    let proof = events[1]["proof"]["inclusion"].as_str().unwrap().to_owned();
    served.wait_for("a checkpoint covering the outcome", |s| {
        s.try_get(&proof)
            .is_some_and(|(status, _, _)| status == 200)
    });
    let (status, content_type, csv) = served.get("/v1/commitments.csv");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"));
    assert_eq!(csv.lines().count(), 4, "header and three rows: {csv}");
    let (status, _, atom) = served.get(&format!("/v1/actors/{DHSC}/feed.atom"));
    assert_eq!(status, 200);
    let feed: atom_syndication::Feed = atom.parse().expect("valid Atom");
    assert!(
        feed.entries
            .iter()
            .any(|e| e.title.value.starts_with("Overdue: Open more beds"))
    );
    let (status, _, body) = served.get("/v1/commitments?as_of=tomorrow");
    assert_eq!(status, 400, "{body}");

    // A restart resumes from the stored projections; a rebuild from the log gives the same.
    served.stop();
    let restarted = Served::start(&config, &data, &nats.url());
    assert_eq!(restarted.json(&card_path), card);
    restarted.stop();
    let rebuild = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(["query", "rebuild", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        rebuild.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuild.stderr)
    );
    let rebuilt = Served::start(&config, &data, &nats.url());
    assert_eq!(rebuilt.json(&card_path), card);
}

#[test]
fn query_rebuild_names_a_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(["query", "rebuild", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("open store"), "{stderr}");
}
