//! deploy/local-cluster.sh: 3 NATS nodes in a JetStream cluster and 2 ledger replicas on
//! loopback. The replicas consume the same replicated stream into separate stores and end up
//! with byte-identical logs.

use super::support::world::{self, action, jetstream, publish};
use super::support::*;
use covenant_store::{LogReader, SledStore};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";

/// The script, in its own process group so that everything it started can be stopped.
struct Cluster {
    child: Child,
    replicas: Vec<String>,
    nats_url: String,
}

impl Cluster {
    fn start(workdir: &std::path::Path, config: &std::path::Path) -> Self {
        let base = free_port_block(32);
        let mut child = Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/deploy/local-cluster.sh"
            ))
            .arg(workdir)
            .arg(config)
            .env("BASE_PORT", base.to_string())
            .env("COVENANT", env!("CARGO_BIN_EXE_covenant"))
            .env("NATS_SERVER", covenant_testkit::nats_server_binary())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start deploy/local-cluster.sh");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut cluster = Self {
            child,
            replicas: vec![],
            nats_url: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines_rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!("the cluster did not print ready; see {}", workdir.display())
            });
            if let Some(urls) = line.strip_prefix("nats ") {
                cluster.nats_url = urls.split(',').next().unwrap().to_owned();
            }
            if let Some(urls) = line.strip_prefix("replicas ") {
                cluster.replicas = urls.split(' ').map(str::to_owned).collect();
            }
            if line == "ready" {
                return cluster;
            }
        }
    }

    /// SIGTERM to the script: it stops the replicas (clean final batch) and then NATS.
    fn stop(mut self) -> std::process::ExitStatus {
        covenant_testkit::send_signal(self.child.id(), covenant_testkit::SIGTERM, false);
        self.child.wait().expect("wait for the cluster script")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The process group our child leads.
        covenant_testkit::send_signal(self.child.id(), covenant_testkit::SIGKILL, true);
        let _ = self.child.wait();
    }
}

fn metric(base_url: &str, name: &str) -> Option<f64> {
    let (_, body) = get(&format!("{base_url}/metrics"))?;
    body.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[test]
fn two_replicas_on_a_three_node_cluster_write_identical_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let workdir = dir.path().join("cluster");
    let cluster = Cluster::start(&workdir, &config);
    assert_eq!(cluster.replicas.len(), 2);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (last_seq, replicas) = runtime.block_on(async {
        let js = jetstream(&cluster.nats_url).await;
        wait_for_stream_leader(&js).await;
        let mut envelopes = world.onboard(DCMS, "dcms-1", 2);
        for i in 0..200 {
            envelopes.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
        }
        envelopes.push(world.emit(DCMS, "dcms-1", action("a-1", &["c-missing"])));
        let mut last = 0;
        for envelope in envelopes {
            last = publish(&js, envelope).await;
        }
        let mut stream = js.get_stream("COVENANT_EVENTS").await.unwrap();
        (last, stream.info().await.unwrap().config.num_replicas)
    });
    assert_eq!(replicas, 3, "the ledger created the stream with 3 replicas");
    for replica in &cluster.replicas {
        let deadline = Instant::now() + Duration::from_secs(60);
        while metric(replica, "covenant_ledger_stream_sequence") != Some(last_seq as f64) {
            assert!(Instant::now() < deadline, "{replica} did not catch up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let status = cluster.stop();
    assert!(
        status.success(),
        "the cluster script exits cleanly: {status}"
    );

    let first = SledStore::open(workdir.join("ledger-1/log")).unwrap();
    let second = SledStore::open(workdir.join("ledger-2/log")).unwrap();
    assert_eq!(first.head().size, 1 + 2 + 200);
    assert_eq!(world::all_entries(&first), world::all_entries(&second));
    assert_eq!(first.head().root, second.head().root);
    assert_eq!(
        first.rejections_since(0, 10).unwrap(),
        second.rejections_since(0, 10).unwrap()
    );
    world::verify_log(&second);
}
