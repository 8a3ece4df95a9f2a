//! `covenant serve` with a witness policy in its configuration file, fed through a real
//! nats-server: the checkpoint it serves at /log/checkpoint carries a quorum of cosignatures
//! by real witnesses over HTTP, and `covenant audit verify` and `monitor` accept it and can
//! require them.

use super::served::world::{ORIGIN, World, id_and_actor};
use super::served::{Served, covenant, get, post_envelope, wait_for_decision, write_config};
use super::tile_server::WitnessServer;
use covenant_core::cosignature::{CosignatureVerifier, Cosigner, cosigned_by};
use covenant_testkit::NatsServer;
use std::path::Path;
use std::time::{Duration, Instant};

const PROTOBUF: &str = "application/x-protobuf";
const DCMS: &str = "GB-GOV-DCMS";

fn witness_section(witnesses: &[(&str, &str)], quorum: usize) -> String {
    let mut text =
        format!("\n[witnessing]\nquorum = {quorum}\nretry_seconds = 1\ninterval_seconds = 1\n");
    for (key, url) in witnesses {
        text.push_str(&format!(
            "\n[[witnessing.witnesses]]\nkey = \"{key}\"\nurl = \"{url}\"\n"
        ));
    }
    text
}

fn append(path: &Path, text: &str) {
    let mut contents = std::fs::read_to_string(path).unwrap();
    contents.push_str(text);
    std::fs::write(path, contents).unwrap();
}

/// Generate the ledger's log key in its data directory; returns the verifier key.
fn log_key_in(data: &Path) -> String {
    std::fs::create_dir_all(data).unwrap();
    let key_file = data.join("log.key");
    let (code, stdout, stderr) = covenant(&[
        "keys",
        "generate",
        "--kind",
        "log",
        "--origin",
        ORIGIN,
        "--out",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("verifier key: "))
        .expect("the verifier key is printed")
        .to_owned()
}

/// The checkpoint note served at /log/checkpoint once it covers `size` entries.
fn served_checkpoint(url: &str, size: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, note)) = get(&format!("{url}/log/checkpoint"))
            && note.lines().nth(1) == Some(size.to_string().as_str())
        {
            return note;
        }
        assert!(Instant::now() < deadline, "no checkpoint of size {size}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_served_checkpoint_carries_a_quorum_that_audit_verify_can_require() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log_key = log_key_in(&data);
    let key_file = dir.path().join("ledger.vkey");
    std::fs::write(&key_file, format!("{log_key}\n")).unwrap();
    let key_file = key_file.to_str().unwrap();
    let follows = [log_key.clone()];
    let w1 = WitnessServer::start("w1.example/witness", 1, &follows, &dir.path().join("w1"));
    let w2 = WitnessServer::start("w2.example/witness", 2, &follows, &dir.path().join("w2"));
    // The third witness is down: nothing listens at its address.
    let w3_key = Cosigner::new("w3.example/witness", [3; 32])
        .unwrap()
        .verifier_key();
    let w3_port = covenant_testkit::ReservedPort::new();
    let w3_url = format!("http://127.0.0.1:{}", w3_port.port());

    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    append(
        &config,
        &witness_section(
            &[
                (&w1.verifier_key, &w1.url),
                (&w2.verifier_key, &w2.url),
                (&w3_key, &w3_url),
            ],
            2,
        ),
    );
    let served = Served::start(&config, &data, Some(&nats.url()));
    let url = served.base_url.clone();
    // HTTPS ingest takes a key's events once its grant is in the log.
    let onboarding = world.onboard(DCMS, "dcms-1", 2);
    let grant_id = id_and_actor(&onboarding[1]).0;
    for envelope in onboarding {
        let (status, json) = post_envelope(&url, envelope, PROTOBUF);
        assert_eq!(status, 202, "{json}");
    }
    assert_eq!(wait_for_decision(&url, &grant_id)["status"], "accepted");
    let mut envelopes = Vec::new();
    for i in 0..30 {
        envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    let size = 3 + envelopes.len() as u64;
    let mut last_id = String::new();
    for envelope in envelopes {
        last_id = id_and_actor(&envelope).0;
        let (status, json) = post_envelope(&url, envelope, PROTOBUF);
        assert_eq!(status, 202, "{json}");
    }
    assert_eq!(wait_for_decision(&url, &last_id)["status"], "accepted");

    // /log/checkpoint serves the cosigned note: the log's signature and two witnesses'.
    let note = served_checkpoint(&url, size);
    covenant_core::checkpoint::verify_checkpoint(note.as_bytes(), &log_key).unwrap();
    let verifiers: Vec<_> = [&w1.verifier_key, &w2.verifier_key, &w3_key]
        .iter()
        .map(|key| CosignatureVerifier::new(key).unwrap())
        .collect();
    let cosigners: Vec<_> = cosigned_by(note.as_bytes(), &verifiers)
        .unwrap()
        .iter()
        .map(|w| w.name().to_owned())
        .collect();
    assert_eq!(cosigners, ["w1.example/witness", "w2.example/witness"]);
    let failures = served
        .metric("covenant_ledger_witness_failures_total{witness=\"w3.example/witness\"}")
        .expect("the failures of the witness that is down are counted");
    assert!(failures >= 1.0, "{failures}");

    // verify accepts the extra signatures, and checks the cosignatures it is asked for.
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", &url, "--key", key_file, "--quiet"];
        args.extend_from_slice(extra);
        covenant(&args)
    };
    let (code, stdout, stderr) = verify(&[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let pinned = [
        "--witness",
        &w1.verifier_key,
        "--witness",
        &w2.verifier_key,
        "--witness",
        &w3_key,
    ];
    let (code, stdout, stderr) = verify(&[&pinned[..], &["--quorum", "2"]].concat());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "ok: the checkpoint is cosigned by 2 of the 3 pinned witnesses (w1.example/witness, w2.example/witness); quorum 2"
        ),
        "{stdout}"
    );
    let (code, _, stderr) = verify(&pinned);
    assert_eq!(code, 1, "all three are required by default: {stderr}");
    assert!(
        stderr.contains("fewer than the quorum of 3; no valid cosignature by w3.example/witness"),
        "{stderr}"
    );

    // A monitor can require the same cosignatures on every checkpoint it follows.
    let state = dir.path().join("monitor.json");
    let monitor = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "monitor",
            &url,
            "--state",
            state.to_str().unwrap(),
            "--key",
            key_file,
            "--once",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        covenant(&args)
    };
    let (code, stdout, stderr) = monitor(&pinned);
    assert_eq!(
        code, 1,
        "all three are required by default: {stdout}{stderr}"
    );
    assert!(stderr.contains("ALARM (unwitnessed)"), "{stderr}");
    assert!(
        !state.exists(),
        "an unwitnessed checkpoint is not taken as verified"
    );
    let (code, stdout, stderr) = monitor(&[&pinned[..], &["--quorum", "2"]].concat());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("verified the whole log ({size} entries)")),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok: the checkpoint is cosigned by 2 of the 3 pinned witnesses"),
        "{stdout}"
    );

    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("checkpoints are published once 2 of these witnesses cosign them"),
        "{stderr}"
    );
    // The stopped ledger's store holds only cosigned checkpoints, which its deep check and the
    // offline verification accept.
    let store = data.join("log");
    let (code, stdout, stderr) = covenant(
        &[
            &["audit", "verify", "--store", store.to_str().unwrap()],
            &["--key", key_file, "--quiet", "--quorum", "2"][..],
            &pinned[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok: store self-check"), "{stdout}");
    assert!(
        stdout.contains("cosigned by 2 of the 3 pinned witnesses"),
        "{stdout}"
    );
}

#[test]
fn serve_refuses_a_bad_witness_policy_and_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::new();
    let witness = Cosigner::new("w1.example/witness", [1; 32])
        .unwrap()
        .verifier_key();
    let config = write_config(dir.path(), &world);
    append(
        &config,
        &witness_section(&[(&witness, "http://127.0.0.1:1")], 2),
    );
    let data = dir.path().join("data");
    let (code, _, stderr) = covenant(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(
            "[witnessing] quorum: witness policy: witness quorum 2 is more than the 1 witnesses configured"
        ),
        "{stderr}"
    );
    assert!(!data.join("log").exists(), "nothing was created");
}
