//! Checkpoints published at once beside a witness, as an operator configures it: `covenant
//! serve --witness-publish at-once` serves the log's own checkpoints at `/log/checkpoint` as
//! the log grows, the newest one the witness (a `covenant audit witness serve` process)
//! cosigned at `/log/checkpoint/witnessed`, and `covenant audit verify --witness` checks the
//! latter.

use super::support::world::{World, jetstream, publish};
use super::support::{Served, covenant, serve_command, write_config};
use covenant_core::cosignature::{CosignatureVerifier, Cosigner, cosigned_by};
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_testkit::NatsServer;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const DCMS: &str = "GB-GOV-DCMS";
const WITNESS: &str = "witness.test/w1";

/// A witness process, killed when dropped.
struct WitnessProcess(Child);

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The size line of a checkpoint note.
fn size_of(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

#[test]
fn published_at_once_the_log_grows_for_readers_and_auditors_check_the_witnessed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let mut log_key = KeyFile::generate(KeyKind::Log);
    log_key.origin = Some(world.genesis().origin);
    let log_key_file = dir.path().join("log.key");
    log_key.write_new(&log_key_file).unwrap();
    let (status, shown, _) = covenant(&["keys", "show", log_key_file.to_str().unwrap()]);
    assert_eq!(status, 0);
    let log_verifier_key = shown
        .lines()
        .find_map(|line| line.strip_prefix("verifier key: "))
        .expect("keys show prints the verifier key")
        .to_owned();

    let witness_seed = dir.path().join("witness.key");
    std::fs::write(&witness_seed, format!("{}\n", hex::encode([7u8; 32]))).unwrap();
    let witness_key = Cosigner::new(WITNESS, [7; 32]).unwrap().verifier_key();
    let witness_port = covenant_testkit::free_port();
    let witness = WitnessProcess(
        Command::new(env!("CARGO_BIN_EXE_covenant"))
            .args(["audit", "witness", "serve", "--name", WITNESS, "--key-file"])
            .arg(&witness_seed)
            .args(["--log-key", &log_verifier_key, "--state"])
            .arg(dir.path().join("witness-state.json"))
            .args(["--listen", &format!("127.0.0.1:{witness_port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the witness"),
    );

    let nats = NatsServer::start();
    let mut command = serve_command(&write_config(dir.path(), &world), &dir.path().join("data"));
    command
        .arg("--log-key")
        .arg(&log_key_file)
        .args(["--nats", &nats.url()])
        .args([
            "--witness",
            &format!("{witness_key} http://127.0.0.1:{witness_port}"),
        ])
        .args(["--witness-quorum", "1", "--witness-interval", "2"])
        .args(["--witness-publish", "at-once"]);
    let served = Served::spawn(command);

    // Events arrive over about four seconds: the log's own checkpoints follow them, while the
    // witness is asked at most once per two seconds.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut envelopes = world.onboard(DCMS, "dcms-1", 2);
    for i in 0..40 {
        envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    let size = 1 + envelopes.len() as u64;
    let mut sizes_seen = std::collections::BTreeSet::new();
    runtime.block_on(async {
        let js = jetstream(&nats.url()).await;
        for envelope in envelopes {
            publish(&js, envelope).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some((200, _, note)) = served.try_get("/log/checkpoint") {
                sizes_seen.extend(size_of(&note));
            }
        }
    });
    let witness_verifier = CosignatureVerifier::new(&witness_key).unwrap();
    served.wait_for("the log's checkpoint of every entry", |served| {
        matches!(served.try_get("/log/checkpoint"), Some((200, _, note)) if size_of(&note) == Some(size))
    });
    assert!(
        sizes_seen.len() >= 10,
        "readers saw the log grow in {} steps: {sizes_seen:?}",
        sizes_seen.len()
    );
    served.wait_for("the witnessed checkpoint of every entry", |served| {
        matches!(served.try_get("/log/checkpoint/witnessed"), Some((200, _, note)) if size_of(&note) == Some(size))
    });
    let (_, _, witnessed) = served.get("/log/checkpoint/witnessed");
    let cosigned = cosigned_by(
        witnessed.as_bytes(),
        std::slice::from_ref(&witness_verifier),
    );
    assert_eq!(cosigned.unwrap().len(), 1, "{witnessed}");
    let cosigned_requests = served
        .metric(&format!(
            "covenant_ledger_witness_cosignatures_total{{witness=\"{WITNESS}\"}}"
        ))
        .unwrap_or_default();
    assert!(
        cosigned_requests >= 1.0 && cosigned_requests * 3.0 <= sizes_seen.len() as f64,
        "{cosigned_requests} witnessing rounds against {} checkpoints seen",
        sizes_seen.len()
    );

    // With the witness gone, readers still see the log grow; the witnessed checkpoint stays.
    drop(witness);
    runtime.block_on(async {
        let js = jetstream(&nats.url()).await;
        for i in 0..5 {
            publish(&js, world.commitment(DCMS, "dcms-1", &format!("late-{i}"))).await;
        }
    });
    served.wait_for("the log's checkpoint of the later entries", |served| {
        matches!(served.try_get("/log/checkpoint"), Some((200, _, note)) if size_of(&note) == Some(size + 5))
    });
    let (_, _, latest) = served.get("/log/checkpoint");
    let cosigned = cosigned_by(latest.as_bytes(), std::slice::from_ref(&witness_verifier));
    assert_eq!(cosigned.unwrap().len(), 0, "{latest}");
    let (_, _, still) = served.get("/log/checkpoint/witnessed");
    assert_eq!(still, witnessed);

    // The auditor who requires the witness checks the witnessed checkpoint and passes.
    let witness_file = dir.path().join("witness.vkey");
    std::fs::write(&witness_file, format!("{witness_key}\n")).unwrap();
    let (status, report, errors) = covenant(&[
        "audit",
        "verify",
        &served.base_url,
        "--quiet",
        "--witness",
        witness_file.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{report}{errors}");
    assert!(
        report.contains("cosigned by 1 of the 1 pinned witnesses"),
        "{report}"
    );
    assert!(
        report.contains(&format!("for size {size}")),
        "the witnessed size: {report}"
    );
}
