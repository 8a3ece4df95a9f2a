//! Running `covenant serve` as a child process, and talking to it over HTTP.

// tests/query_api.rs loads the same file for its own events.
#[allow(clippy::duplicate_mod)]
#[path = "../../crates/ledger/tests/support/mod.rs"]
pub mod world;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
pub use world::World;

/// A configuration file for the test world's genesis, in `dir`.
pub fn write_config(dir: &Path, world: &World) -> PathBuf {
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
    std::fs::write(&path, text).expect("write the configuration");
    path
}

/// `covenant serve` running as a child process.
pub struct Served {
    child: Child,
    pub base_url: String,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    /// Start `covenant serve` and wait until it answers HTTP.
    pub fn start(config: &Path, data: &Path, nats: Option<&str>) -> Self {
        let port = covenant_testkit::free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_covenant"));
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = nats {
            command.args(["--nats", url]);
        }
        let mut child = command.spawn().expect("start covenant serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut served = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        served.wait_until_ready();
        served
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if get(&format!("{}/metrics", self.base_url)).is_some() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("covenant serve exited with {status}: {}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "covenant serve did not answer: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait for the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        // SAFETY: signalling our own child process by its id.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().expect("wait for covenant serve");
        std::thread::sleep(Duration::from_millis(50));
        (status, self.stderr())
    }

    /// The value of a metric line that starts with `prefix` (name and labels).
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, body) = get(&format!("{}/metrics", self.base_url))?;
        body.lines()
            .find(|line| line.starts_with(prefix) && line[prefix.len()..].starts_with(' '))
            .and_then(|line| line[prefix.len()..].trim().parse().ok())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET: status and body, or None when the server cannot be reached.
pub fn get(url: &str) -> Option<(u16, String)> {
    let mut response = agent().get(url).call().ok()?;
    let status = response.status().as_u16();
    Some((
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    ))
}

/// POST an envelope: status and JSON body.
pub fn post_envelope(
    base_url: &str,
    body: Vec<u8>,
    content_type: &str,
) -> (u16, serde_json::Value) {
    let mut response = agent()
        .post(format!("{base_url}/v1/events"))
        .header("Content-Type", content_type)
        .send(&body[..])
        .expect("POST /v1/events");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

/// GET /v1/events/{id}: status and JSON body.
pub fn event_status(base_url: &str, event_id: &str) -> (u16, serde_json::Value) {
    let (status, text) =
        get(&format!("{base_url}/v1/events/{event_id}")).expect("the server answers");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

/// Poll the status of an event until it is decided.
pub fn wait_for_decision(base_url: &str, event_id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, json) = event_status(base_url, event_id);
        if json["status"] != "unknown" {
            return json;
        }
        assert!(Instant::now() < deadline, "{event_id} was never decided");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `covenant` with arguments: exit code and stdout.
pub fn covenant(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(args)
        .output()
        .expect("run covenant");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
