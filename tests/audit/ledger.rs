//! The whole watchdog story against a real ledger: events go in through a real nats-server,
//! then `verify`, `prove` and `check-proof`, a witness over HTTP, and `verify --store` on the
//! stopped ledger's data.

use super::served::world::World;
use super::served::{Served, covenant, get, post_envelope, wait_for_decision, write_config};
use covenant_core::cosignature::{CosignatureVerifier, cosigned_by};
use covenant_testkit::NatsServer;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROTOBUF: &str = "application/x-protobuf";
const DCMS: &str = "GB-GOV-DCMS";
const COMMITMENTS: usize = 300;

/// The size of the checkpoint the server publishes.
fn checkpoint_size(url: &str) -> Option<u64> {
    let (status, text) = get(&format!("{url}/log/checkpoint"))?;
    (status == 200)
        .then(|| text.lines().nth(1)?.parse().ok())
        .flatten()
}

fn wait_for_checkpoint(url: &str, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while checkpoint_size(url) != Some(size) {
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size {size}: {:?}",
            checkpoint_size(url)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `covenant audit witness serve`, killed on drop.
struct WitnessProcess {
    child: Child,
    url: String,
}

impl WitnessProcess {
    fn start(dir: &std::path::Path, log_key: &str) -> (Self, String) {
        let key_file = dir.join("witness.key");
        let (code, stdout, stderr) = covenant(&[
            "audit",
            "witness",
            "keygen",
            "--name",
            "witness.example/w1",
            "--key-file",
            key_file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        let witness_key = stdout.trim().to_owned();
        let mut child = Command::new(env!("CARGO_BIN_EXE_covenant"))
            .args([
                "audit",
                "witness",
                "serve",
                "--name",
                "witness.example/w1",
                "--key-file",
            ])
            .arg(&key_file)
            .args(["--log-key", log_key, "--state"])
            .arg(dir.join("witness-state.json"))
            // A port the system picks, read from what the witness says: one chosen beforehand
            // could be taken by another program and mistaken for the witness.
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the witness");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let (_, url) = line.split_once("serving POST /add-checkpoint on ")?;
                Some(url.trim().to_owned())
            })
            .expect("the witness says where it listens before anything else");
        std::thread::spawn(move || lines.for_each(drop));
        (Self { child, url }, witness_key)
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_ledger_fed_through_nats_passes_every_watchdog_check() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    // 300 events as fast as one client can send them: above the default per-address rate.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[http]\ningest_per_second = 100000.0\ningest_burst = 100000\n");
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, Some(&nats.url()));
    let url = served.base_url.clone();

    let mut last_id = String::new();
    let mut proved_id = String::new();
    // HTTPS ingest checks keys against the registry as the log holds it: the grant must be
    // in the log before the key's events are taken.
    let onboarding = world.onboard(DCMS, "dcms-1", 2);
    let grant_id = super::served::world::id_and_actor(&onboarding[1]).0;
    for envelope in onboarding {
        let (status, json) = post_envelope(&url, envelope, PROTOBUF);
        assert_eq!(status, 202, "{json}");
    }
    assert_eq!(wait_for_decision(&url, &grant_id)["status"], "accepted");
    let mut envelopes = Vec::new();
    for i in 0..COMMITMENTS {
        envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    for (i, envelope) in envelopes.into_iter().enumerate() {
        last_id = super::served::world::id_and_actor(&envelope).0;
        if i == 98 {
            proved_id = last_id.clone();
        }
        let (status, json) = post_envelope(&url, envelope, PROTOBUF);
        assert_eq!(status, 202, "{json}");
    }
    assert_eq!(wait_for_decision(&url, &last_id)["status"], "accepted");
    let size = 1 + 2 + COMMITMENTS as u64;
    wait_for_checkpoint(&url, size);
    let (_, key) = get(&format!("{url}/log/verifier-key")).unwrap();
    let key = key.trim().to_owned();
    let key_file = dir.path().join("ledger.vkey");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let key_path = key_file.to_str().unwrap();

    // verify over HTTP, with the pinned key from a file.
    let (code, stdout, stderr) = covenant(&["audit", "verify", &url, "--key", key_path, "--quiet"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("ok: verified all {size} entries")),
        "{stdout}"
    );
    // Trust on first use works, and says so.
    let (code, _, stderr) = covenant(&["audit", "verify", &url, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: trusting the verifier key"),
        "{stderr}"
    );
    // A key that is not the log's fails the checkpoint check.
    let stranger =
        covenant_core::checkpoint::LogSigner::new("test.covenant.example/log", [9; 32]).unwrap();
    let (code, _, stderr) = covenant(&[
        "audit",
        "verify",
        &url,
        "--key",
        &stranger.verifier_key(),
        "--quiet",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAILED: checkpoint"), "{stderr}");

    // prove and check-proof.
    let bundle = dir.path().join("proof.json");
    let bundle_path = bundle.to_str().unwrap();
    let (code, stdout, stderr) = covenant(&[
        "audit",
        "prove",
        &proved_id,
        "--server",
        &url,
        "--key",
        key_path,
        "--out",
        bundle_path,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) =
        covenant(&["audit", "check-proof", bundle_path, "--key", key_path]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "valid: event {proved_id} (commitment_made, by {DCMS}"
        )),
        "{stdout}"
    );
    // A person can read what the proven event says, not only where it sits.
    for line in [
        "what it says:",
        "made on            2025-07-17",
        "title              Joint council with civil society",
        "text               We will set up a joint council",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    let mut tampered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let seq = tampered["seq"].as_u64().unwrap();
    tampered["seq"] = serde_json::json!(seq + 1);
    std::fs::write(&bundle, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let (code, _, stderr) = covenant(&["audit", "check-proof", bundle_path, "--key", key_path]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAILED"), "{stderr}");

    // A witness cosigns the ledger's checkpoint.
    let (witness, witness_key) = WitnessProcess::start(dir.path(), &key);
    let (code, stdout, stderr) = covenant(&[
        "audit",
        "witness",
        "submit",
        &url,
        "--log-key",
        key_path,
        "--witness",
        &witness.url,
        "--witness-key",
        &witness_key,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let verifiers = [CosignatureVerifier::new(&witness_key).unwrap()];
    assert_eq!(
        cosigned_by(stdout.as_bytes(), &verifiers).unwrap().len(),
        1,
        "{stdout}"
    );
    drop(witness);

    // The stopped ledger's store: its deep self-check, then the same verification.
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
    let store = data.join("log");
    let verify_store = || {
        covenant(&[
            "audit",
            "verify",
            "--store",
            store.to_str().unwrap(),
            "--key",
            key_path,
            "--quiet",
        ])
    };
    let (code, stdout, stderr) = verify_store();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok: store self-check"), "{stdout}");
    assert!(stdout.contains("ok: verified all"), "{stdout}");
    let (code, _, stderr) = covenant(&[
        "audit",
        "verify",
        "--store",
        store.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 2, "--store without --key is a bad argument: {stderr}");
    assert!(stderr.contains("--store needs --key"), "{stderr}");

    // A store whose contents were altered fails its check: exit 1, not 2.
    crate::ledger::seed::damage_entry(&store, 5);
    let (code, stdout, stderr) = verify_store();
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("FAILED: deep check of store {}", store.display())),
        "{stderr}"
    );
}
