//! deploy/haproxy.cfg, as shipped (only its addresses and check interval changed), in front of
//! two `covenant serve` replicas: HAProxy accepts the file, routes around a replica that is
//! behind a client's `min_size` by retrying its 503 on the other one, and keeps answering
//! when a replica stops.

use super::support::world::{World, jetstream, publish};
use super::support::{Served, write_config};
use covenant_testkit::NatsServer;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";

/// HAProxy in the foreground; killed with the test.
struct Balancer {
    child: Child,
    url: String,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy() -> String {
    ["haproxy", "/usr/sbin/haproxy"]
        .into_iter()
        .find(|candidate| {
            Command::new(candidate)
                .arg("-v")
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .expect("haproxy is not installed: run scripts/ensure-haproxy.sh")
        .to_owned()
}

/// deploy/haproxy.cfg with loopback addresses and a fast health check.
fn balancer_config(dir: &Path, port: u16, replicas: [&str; 2]) -> std::path::PathBuf {
    let shipped = include_str!("../../deploy/haproxy.cfg");
    let mut config = String::new();
    for line in shipped.lines() {
        let line = match line.trim() {
            "bind :80" => format!("    bind 127.0.0.1:{port}"),
            "server replica-1 10.0.0.11:8080 check" => {
                format!("    server replica-1 {} check", replicas[0])
            }
            "server replica-2 10.0.0.12:8080 check" => {
                format!("    server replica-2 {} check", replicas[1])
            }
            "default-server inter 2s fall 2 rise 2 maxconn 512" => {
                "    default-server inter 200ms fall 2 rise 2 maxconn 512".to_owned()
            }
            _ => line.to_owned(),
        };
        config.push_str(&line);
        config.push('\n');
    }
    assert_eq!(
        config.matches("127.0.0.1").count(),
        3,
        "deploy/haproxy.cfg changed shape; update this test:\n{config}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    path
}

fn start_balancer(config: &Path, port: u16) -> Balancer {
    let binary = haproxy();
    let checked = Command::new(&binary)
        .args(["-c", "-f"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "haproxy -c refuses the configuration: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let child = Command::new(&binary)
        .arg("-db")
        .arg("-f")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Balancer {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// GET through the balancer: status and the log size the answer is as of.
fn actors(url: &str, min_size: u64) -> (u16, Option<u64>) {
    let Some((status, body)) = super::support::get(&format!("{url}/v1/actors?min_size={min_size}"))
    else {
        return (0, None);
    };
    let size = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|answer| answer["as_of"]["size"].as_u64());
    (status, size)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_shipped_load_balancer_retries_a_replica_behind_min_size_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    // Each replica on a broker of its own, so one can be held behind the other.
    let (ahead_nats, behind_nats) = (NatsServer::start(), NatsServer::start());
    let onboarding = world.onboard(DCMS, "dcms-1", 2);
    let commitments: Vec<_> = (0..12)
        .map(|i| world.commitment(DCMS, "dcms-1", &format!("c-{i}")))
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for (nats, count) in [(&ahead_nats, 12), (&behind_nats, 4)] {
            let js = jetstream(&nats.url()).await;
            covenant_ledger::ensure_stream(&js, &covenant_ledger::StreamSettings::default())
                .await
                .unwrap();
            for envelope in onboarding.iter().chain(&commitments[..count]) {
                publish(&js, envelope.clone()).await;
            }
        }
    });
    let ahead = Served::start(&config, &dir.path().join("ahead"), Some(&ahead_nats.url()));
    let behind = Served::start(
        &config,
        &dir.path().join("behind"),
        Some(&behind_nats.url()),
    );
    let (ahead_size, behind_size) = (1 + 2 + 12, 1 + 2 + 4);
    for (served, size) in [(&ahead, ahead_size), (&behind, behind_size)] {
        wait_until("the replica to project its log", || {
            actors(&served.base_url, size).0 == 200
        });
    }
    assert_eq!(actors(&behind.base_url, ahead_size).0, 503);

    let port = covenant_testkit::free_port();
    let replicas = [
        ahead.base_url.trim_start_matches("http://"),
        behind.base_url.trim_start_matches("http://"),
    ];
    let balancer = start_balancer(&balancer_config(dir.path(), port, replicas), port);
    wait_until("the balancer to find both replicas ready", || {
        (0..4).all(|_| actors(&balancer.url, 0).0 == 200)
    });
    // The replicas' private routes are refused at the public door, before any replica.
    let private = |base: &str| {
        super::support::get(&format!("{base}/replica/root/1"))
            .expect("an answer")
            .0
    };
    assert_eq!(private(&balancer.url), 403);
    assert_eq!(
        private(&behind.base_url),
        404,
        "no replica key: not a replica"
    );
    // `leastconn` spreads these over both replicas; every one that reaches the replica behind
    // is answered 503 there and retried on the other.
    for _ in 0..20 {
        assert_eq!(actors(&balancer.url, ahead_size), (200, Some(ahead_size)));
    }
    let mut sizes = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, size) = actors(&balancer.url, 0);
        assert_eq!(status, 200);
        sizes.extend(size);
    }
    assert_eq!(
        sizes,
        [behind_size, ahead_size].into(),
        "without min_size both replicas answer"
    );

    // One replica stops: the balancer answers from the other.
    ahead.kill();
    for _ in 0..10 {
        assert_eq!(
            actors(&balancer.url, 0),
            (200, Some(behind_size)),
            "the stopped replica is routed around"
        );
    }
}
