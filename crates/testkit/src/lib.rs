//! Test support: start a real `nats-server -js` on a free loopback port with its own storage
//! directory, and stop it when dropped. There is no mock broker anywhere in Covenant's tests.
//!
//! The server binary is found in this order: `$NATS_SERVER`, the project's `.tools/bin`
//! (where `just test` installs it), then `PATH`. A missing server is a clear failure that says
//! how to install one, never a skipped test.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `nats-server -js`, killed on drop.
pub struct NatsServer {
    child: Child,
    port: u16,
    store_dir: tempfile::TempDir,
}

impl NatsServer {
    /// Start a JetStream-enabled server on a free port.
    pub fn start() -> Self {
        Self::start_with_store(tempfile::tempdir().expect("create a temporary directory"))
    }

    /// Start a server that keeps its JetStream data in `store_dir` (so a test can restart the
    /// broker on the same data).
    pub fn start_with_store(store_dir: tempfile::TempDir) -> Self {
        Self::start_on(free_port(), store_dir)
    }

    /// Start a server on `port` with its JetStream data in `store_dir`: a broker that comes
    /// back where clients last saw it, for tests of reconnection.
    pub fn start_on(port: u16, store_dir: tempfile::TempDir) -> Self {
        let binary = nats_server_binary();
        let mut child = Command::new(&binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        // Drain the server's log so it never blocks on a full pipe; keep it for failures.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("COVENANT_TEST_NATS_LOG").is_some() {
                    eprintln!("nats-server: {line}");
                }
            }
        });
        wait_for_port(port, &mut child);
        Self {
            child,
            port,
            store_dir,
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store_dir(&self) -> &Path {
        self.store_dir.path()
    }

    /// Stop the server and hand back its storage directory, for a restart on the same data.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("create a temporary directory");
        std::mem::replace(&mut self.store_dir, dir)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the nats-server binary is, or a panic that says how to get one.
pub fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let project_tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/bin/nats-server");
    if project_tools.exists() {
        return project_tools;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("nats-server");
            if candidate.exists() {
                return candidate;
            }
        }
    }
    panic!(
        "nats-server 2.10 or newer is required for this test and was not found \
         ($NATS_SERVER, .tools/bin, PATH). Run the tests with `just test`, which installs it, \
         or run scripts/ensure-nats-server.sh"
    );
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind an ephemeral port")
}

fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("nats-server exited before listening on port {port}: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nats-server did not listen on port {port} within 15 s");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_listens_and_stops() {
        let server = NatsServer::start();
        assert!(TcpStream::connect(("127.0.0.1", server.port())).is_ok());
        let port = server.port();
        let _dir = server.stop();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn restarts_on_the_same_port_and_store() {
        let server = NatsServer::start();
        let port = server.port();
        let marker = server.store_dir().join("marker");
        std::fs::write(&marker, b"kept").unwrap();
        let store = server.stop();
        let restarted = NatsServer::start_on(port, store);
        assert_eq!(restarted.port(), port);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert_eq!(
            std::fs::read(restarted.store_dir().join("marker")).unwrap(),
            b"kept"
        );
    }
}
