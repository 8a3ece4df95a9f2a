//! Test support for every crate's tests and benchmarks; a dev-dependency only, never linked
//! into a release build.
//!
//! - [`log`]: [`log::LogWriter`], the one builder of valid signed logs in a real store (typed
//!   builders from covenant-emit, covenant-core's validation on every event), and [`scenario`],
//!   a small log written with it that exercises every status and flag.
//! - [`sample`]: a reproducible valid log from fixed seeds as raw entry bytes, fast and
//!   parallel, for the audit tools, the tile server tests and docs/SPEC.md's worked example.
//! - [`NatsServer`]: a real `nats-server -js` on a free loopback port with its own storage
//!   directory, stopped when dropped. There is no mock broker anywhere in Covenant's tests.
//! - [`NatsCluster`]: three of them in one JetStream cluster, from deploy/local-cluster.sh's
//!   node configurations.
//!
//! The server binary is found in this order: `$NATS_SERVER`, the project's `.tools/bin`
//! (where `just test` installs it), then `PATH`. A missing server is a clear failure that says
//! how to install one, never a skipped test.

pub mod bench;
mod cluster;
pub mod log;
pub mod sample;
pub mod scenario;
pub mod text;

pub use cluster::{NatsCluster, free_port_block};

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The configuration of [`NatsServer::start_durable`]: `sync_interval: always`.
pub const DURABLE_CONFIG: &str = "jetstream {\n  sync_interval: always\n}\n";

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
        Self::start_anywhere(store_dir, None)
    }

    /// Start a server that also reads the configuration file `config` (for authorization,
    /// say); the port and the JetStream storage given on the command line take precedence.
    pub fn start_with_config(config: &Path) -> Self {
        let store_dir = tempfile::tempdir().expect("create a temporary directory");
        Self::start_anywhere(store_dir, Some(config))
    }

    /// Start a server as docs/NATS.md requires of a single production server: JetStream
    /// fsyncs every message before acknowledging it ([`DURABLE_CONFIG`]).
    pub fn start_durable() -> Self {
        let store_dir = tempfile::tempdir().expect("create a temporary directory");
        let config = store_dir.path().join("nats-server.conf");
        std::fs::write(&config, DURABLE_CONFIG).expect("write the nats-server configuration");
        Self::start_anywhere(store_dir, Some(&config))
    }

    fn start_anywhere(store_dir: tempfile::TempDir, config: Option<&Path>) -> Self {
        // A port free a moment ago can be taken by the time the server binds it (by another
        // test's listener or an outgoing connection), so a refused port is retried elsewhere.
        let mut store_dir = store_dir;
        for _ in 0..PORT_ATTEMPTS {
            match Self::launch(free_port(), store_dir, config) {
                Ok(server) => return server,
                Err((dir, _)) => store_dir = dir,
            }
        }
        panic!("nats-server could not bind a free port in {PORT_ATTEMPTS} attempts");
    }

    /// Start a server on `port` with its JetStream data in `store_dir`: a broker that comes
    /// back where clients last saw it, for tests of reconnection.
    pub fn start_on(port: u16, store_dir: tempfile::TempDir) -> Self {
        Self::launch(port, store_dir, None).unwrap_or_else(|(_, problem)| panic!("{problem}"))
    }

    /// Run the server and wait until it says it is ready. Listening on the port is not proof:
    /// something else may hold it while the server fails to bind and exits.
    fn launch(
        port: u16,
        store_dir: tempfile::TempDir,
        config: Option<&Path>,
    ) -> Result<Self, (tempfile::TempDir, String)> {
        let binary = nats_server_binary();
        let mut command = Command::new(&binary);
        if let Some(config) = config {
            command.arg("-c").arg(config);
        }
        let mut child = command
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (ready, is_ready) = std::sync::mpsc::channel();
        // Drain the server's log so it never blocks on a full pipe, and pass on the line that
        // says it is serving.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = ready.send(());
                }
                if std::env::var_os("COVENANT_TEST_NATS_LOG").is_some() {
                    eprintln!("nats-server: {line}");
                }
            }
        });
        match is_ready.recv_timeout(READY_WAIT) {
            Ok(()) => Ok(Self {
                child,
                port,
                store_dir,
            }),
            Err(wait) => {
                let _ = child.kill();
                let status = child.wait();
                let problem = match wait {
                    std::sync::mpsc::RecvTimeoutError::Timeout => {
                        format!("nats-server was not ready on port {port} within {READY_WAIT:?}")
                    }
                    std::sync::mpsc::RecvTimeoutError::Disconnected => format!(
                        "nats-server exited before it was ready on port {port} ({status:?}); \
                         run with COVENANT_TEST_NATS_LOG=1 to see its log"
                    ),
                };
                Err((store_dir, problem))
            }
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

    /// The server's process id (for benchmarks that account for the broker's CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
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

/// A port on 127.0.0.1 held for a test: bound, so no one else gets it, but not listening, so
/// connections to it are refused until [`ReservedPort::listen`]. For a server that is down
/// at first and starts later on the same address, or for an address where nothing answers.
pub struct ReservedPort {
    socket: socket2::Socket,
    port: u16,
}

impl ReservedPort {
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("create a socket");
        let any_port: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
        socket
            .bind(&any_port.into())
            .expect("bind an ephemeral port");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|address| address.as_socket())
            .map(|address| address.port())
            .expect("the bound port");
        Self { socket, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Start listening on the port (non-blocking, ready for tokio's `TcpListener::from_std`).
    pub fn listen(self) -> TcpListener {
        self.socket
            .listen(128)
            .expect("listen on the reserved port");
        self.socket
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        self.socket.into()
    }
}

impl Default for ReservedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a server may take to say it is ready.
const READY_WAIT: Duration = Duration::from_secs(15);

/// Ports tried before giving up on finding one no one else takes first.
const PORT_ATTEMPTS: usize = 5;

/// Send `signal` (for example `libc::SIGTERM`) to process `pid`, or to the process group it
/// leads when `group` is set. The one place tests signal their children.
pub fn send_signal(pid: u32, signal: i32, group: bool) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    let target = if group { -pid } else { pid };
    // SAFETY: kill(2) touches no memory of this process; a stale pid only fails the call.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(target, signal);
    }
}

pub use libc::{SIGCONT, SIGKILL, SIGSTOP, SIGTERM};

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    /// Something else listening on the port must not pass for the server: it fails to bind,
    /// and that is reported instead of a broker no client can reach.
    #[test]
    fn a_port_held_by_another_listener_is_not_taken_for_the_server() {
        let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = squatter.local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        match NatsServer::launch(port, dir, None) {
            Ok(_) => panic!("a server was reported ready on a port it could not bind"),
            Err((_, problem)) => assert!(problem.contains("exited before"), "{problem}"),
        }
        // Starting anywhere retries on another port.
        let server = NatsServer::start();
        assert_ne!(server.port(), port);
        assert!(TcpStream::connect(("127.0.0.1", server.port())).is_ok());
    }

    #[test]
    fn a_reserved_port_refuses_connections_until_it_listens() {
        let reserved = ReservedPort::new();
        let port = reserved.port();
        let refused = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_err(),
            "no one else can take it"
        );
        let listener = reserved.listen();
        assert_eq!(listener.local_addr().unwrap().port(), port);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    }

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
