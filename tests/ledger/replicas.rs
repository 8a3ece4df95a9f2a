//! Replicas that check each other: two `covenant serve` replicas share the log key, each
//! cosigns the other's checkpoints only when its own log has the same root, and each publishes
//! a checkpoint only with the other's cosignature. Then one replica is fed a different stream:
//! the divergence is caught before anything is published, and the replica that caught it names
//! the first entry that differs, stops signing, fails `/readyz` and calls the alarm webhook.

use super::support::world::{World, jetstream, publish};
use super::support::{Served, write_config};
use covenant_core::cosignature::{CosignatureVerifier, Cosigner, cosigned_by};
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_testkit::NatsServer;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";

/// One replica's identity: its cosigning key and the address it will listen on.
struct Replica {
    name: &'static str,
    cosigner: Cosigner,
    key_file: PathBuf,
    port: u16,
}

impl Replica {
    fn new(dir: &Path, name: &'static str, seed: u8) -> Self {
        let key_file = dir.join(format!("{name}.key"));
        std::fs::write(&key_file, format!("{}\n", hex::encode([seed; 32]))).unwrap();
        Self {
            name,
            cosigner: Cosigner::new(name, [seed; 32]).unwrap(),
            key_file,
            port: covenant_testkit::free_port(),
        }
    }

    fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier::new(&self.cosigner.verifier_key()).unwrap()
    }
}

/// What every replica shares: the configuration, the log key and where alarms go.
struct Setup {
    config: PathBuf,
    log_key: PathBuf,
    webhook: String,
    dir: PathBuf,
}

impl Setup {
    /// `covenant serve` as `replica`, consuming `nats`, requiring `peer`'s cosignature.
    fn serve(&self, replica: &Replica, peer: &Replica, nats: &str) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_covenant"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--data")
            .arg(self.dir.join(replica.name))
            .arg("--log-key")
            .arg(&self.log_key)
            .args(["--nats", nats])
            .args(["--replica-name", replica.name])
            .arg("--replica-key")
            .arg(&replica.key_file)
            .arg("--replica-peer")
            .arg(format!(
                "{} http://127.0.0.1:{}",
                peer.cosigner.verifier_key(),
                peer.port
            ))
            .args(["--alarm-webhook", &self.webhook]);
        Served::spawn_at(command, &format!("127.0.0.1:{}", replica.port))
    }
}

/// The published checkpoint's size and note.
fn checkpoint(served: &Served) -> Option<(u64, String)> {
    let (status, _, note) = served.try_get("/log/checkpoint")?;
    let size = note.lines().nth(1)?.parse().ok()?;
    (status == 200).then_some((size, note))
}

/// A webhook receiver: every JSON body POSTed to the returned URL arrives on the channel.
fn alarm_receiver() -> (String, mpsc::Receiver<serde_json::Value>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alarm", listener.local_addr().unwrap());
    let (alarms, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && !line.trim_end().is_empty() {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            if let Ok(alarm) = serde_json::from_slice(&body) {
                let _ = alarms.send(alarm);
            }
        }
    });
    (url, received)
}

#[test]
fn replicas_cosign_each_other_and_a_diverging_log_is_caught_before_publication() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let mut log_key = KeyFile::generate(KeyKind::Log);
    log_key.origin = Some(world.genesis().origin);
    log_key.write_new(&dir.path().join("log.key")).unwrap();
    let (webhook, alarms) = alarm_receiver();
    let setup = Setup {
        config: write_config(dir.path(), &world),
        log_key: dir.path().join("log.key"),
        webhook,
        dir: dir.path().to_owned(),
    };
    let (a, b) = (
        Replica::new(dir.path(), "replica-a.test", 11),
        Replica::new(dir.path(), "replica-b.test", 12),
    );
    let (nats, other_nats) = (NatsServer::start(), NatsServer::start());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = setup.serve(&a, &b, &nats.url());
    let second = setup.serve(&b, &a, &nats.url());

    // One stream, one log: each replica's published checkpoint carries the other's cosignature.
    let mut shared = world.onboard(DCMS, "dcms-1", 2);
    for i in 0..20 {
        shared.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    let size = 1 + shared.len() as u64;
    runtime.block_on(async {
        let js = jetstream(&nats.url()).await;
        for envelope in shared.clone() {
            publish(&js, envelope).await;
        }
    });
    for (served, peer) in [(&first, &b), (&second, &a)] {
        served.wait_for("a checkpoint of the whole log", |served| {
            checkpoint(served).is_some_and(|(published, _)| published == size)
        });
        let (_, note) = checkpoint(served).unwrap();
        let verifiers = [peer.verifier()];
        let cosigners = cosigned_by(note.as_bytes(), &verifiers).unwrap();
        assert_eq!(cosigners.len(), 1, "cosigned by {}: {note}", peer.name);
        assert!(
            served
                .metric("covenant_ledger_replica_cosigned_total")
                .unwrap()
                >= 1.0
        );
    }
    let root = |served: &Served| {
        checkpoint(served)
            .unwrap()
            .1
            .lines()
            .nth(2)
            .unwrap()
            .to_owned()
    };
    assert_eq!(root(&first), root(&second));

    // The second replica moves to another broker, whose stream holds the same messages and
    // then one the first broker never saw; the first broker gets a different one.
    let (status, stderr) = second.terminate();
    assert!(status.success(), "{stderr}");
    runtime.block_on(async {
        let js = jetstream(&other_nats.url()).await;
        covenant_ledger::ensure_stream(&js, &covenant_ledger::StreamSettings::default())
            .await
            .unwrap();
        for envelope in shared.clone() {
            publish(&js, envelope).await;
        }
        publish(&js, world.commitment(DCMS, "dcms-1", "only-on-the-other")).await;
        let js = jetstream(&nats.url()).await;
        publish(&js, world.commitment(DCMS, "dcms-1", "only-on-the-first")).await;
    });
    let second = setup.serve(&b, &a, &other_nats.url());

    // Whoever is asked first finds its own root differs, names the entry, and raises the alarm.
    let alarm = alarms
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("no alarm; {}\n{}", first.stderr(), second.stderr()));
    assert_eq!(alarm["alarm"], "replica_diverged");
    assert_eq!(alarm["size"], size + 1);
    assert_eq!(
        alarm["first_differing_entry"], size,
        "the entries after the shared ones differ: {alarm}"
    );
    assert_ne!(alarm["own_root"], alarm["checkpoint_root"]);
    let caught_by = if alarm["replica"] == a.name {
        &first
    } else {
        &second
    };
    let (status, _, body) = caught_by.get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(&format!("the first differing entry is {size}")),
        "{body}"
    );
    assert_eq!(
        caught_by.metric("covenant_ledger_replica_diverged"),
        Some(1.0)
    );

    // Nothing past the shared entries is published, though both logs hold their new entry.
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        for served in [&first, &second] {
            assert_eq!(
                checkpoint(served).map(|(published, _)| published),
                Some(size),
                "a checkpoint over a diverged log was published: {}",
                served.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for served in [&first, &second] {
        let (_, _, body) = served.get("/readyz");
        let readiness: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(readiness["log_size"], size + 1, "{readiness}");
    }
}
