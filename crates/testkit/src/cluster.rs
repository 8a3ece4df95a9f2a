//! A three-node JetStream cluster on loopback, run from the node configurations that
//! deploy/local-cluster.sh writes (deploy/nats/cluster, pointed at loopback ports and a
//! scratch directory), so that a benchmark measures the replicated deployment docs/NATS.md
//! describes and not a configuration of its own.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the three nodes may take to form a cluster with a JetStream leader.
const HEALTHY_WAIT: Duration = Duration::from_secs(60);

/// Three `nats-server` nodes in one JetStream cluster, killed on drop.
pub struct NatsCluster {
    nodes: Vec<Child>,
    client_ports: Vec<u16>,
    dir: tempfile::TempDir,
}

impl NatsCluster {
    /// Start the three nodes and wait until each says JetStream is healthy.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        // Clients on base..base+2, routes on base+10.., monitoring on base+20.. (the script's).
        let base = free_port_block(23);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local-cluster.sh");
        let written = Command::new("bash")
            .arg(&script)
            .arg("--nats-configs")
            .arg(dir.path())
            .env("BASE_PORT", base.to_string())
            .stderr(Stdio::inherit())
            .status()
            .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
        assert!(written.success(), "{} --nats-configs", script.display());
        let binary = crate::nats_server_binary();
        let nodes = (1..=3)
            .map(|i| {
                let log = std::fs::File::create(dir.path().join(format!("nats-{i}.log")))
                    .expect("create the node's log");
                Command::new(&binary)
                    .arg("-c")
                    .arg(dir.path().join(format!("nats-{i}.conf")))
                    .stdout(log.try_clone().expect("share the log file"))
                    .stderr(log)
                    .spawn()
                    .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
            })
            .collect();
        let cluster = Self {
            nodes,
            client_ports: (base..base + 3).collect(),
            dir,
        };
        let started = Instant::now();
        for monitor in base + 20..base + 23 {
            while !healthy(monitor) {
                assert!(
                    started.elapsed() < HEALTHY_WAIT,
                    "the cluster's node monitored on port {monitor} is not healthy after {HEALTHY_WAIT:?}; logs in {}",
                    cluster.dir.path().display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    /// Every node's client URL, comma-separated, as `covenant serve --nats` takes them.
    pub fn urls(&self) -> String {
        self.client_ports
            .iter()
            .map(|port| format!("nats://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The nodes' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(Child::id).collect()
    }

    /// Where the nodes keep their configuration, logs and JetStream data.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

/// JetStream's health check on a node's monitoring port: up, with a meta leader.
fn healthy(monitor_port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", monitor_port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reply = String::new();
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .and_then(|()| stream.read_to_string(&mut reply))
        .is_ok()
        && reply.contains("\"status\":\"ok\"")
}

/// The first of `count` consecutive loopback ports that were all free a moment ago.
pub fn free_port_block(count: u16) -> u16 {
    for _ in 0..50 {
        let base = crate::free_port().clamp(20_000, 60_000);
        if (base..base + count).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        {
            return base;
        }
    }
    panic!("no block of {count} free ports");
}
