//! Running `covenant serve` as a child process, and talking to it over HTTP.

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

/// The address in `covenant serve`'s "serving http://ADDRESS" line.
fn served_url(line: &str) -> Option<String> {
    let from = line.find("serving http://")? + "serving ".len();
    let url = line[from..].split_whitespace().next()?;
    Some(url.to_owned())
}

/// `covenant serve` running as a child process.
pub struct Served {
    child: Child,
    pub base_url: String,
    stderr: Arc<Mutex<String>>,
}

/// `covenant serve --config CONFIG --data DATA`, for callers to add their own flags.
pub fn serve_command(config: &Path, data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_covenant"));
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data);
    command
}

impl Served {
    /// Start `covenant serve` with this configuration and data directory (and broker, if
    /// any) and wait until it answers HTTP.
    pub fn start(config: &Path, data: &Path, nats: Option<&str>) -> Self {
        let mut command = serve_command(config, data);
        if let Some(url) = nats {
            command.args(["--nats", url]);
        }
        Self::spawn(command)
    }

    /// Start a prepared `covenant serve` command (everything but `--listen`) and wait until it
    /// answers HTTP. It listens on a port the system picks and announces: a port chosen
    /// beforehand could be taken by another program in between, and that program mistaken
    /// for the ledger.
    pub fn spawn(command: Command) -> Self {
        Self::spawn_at(command, "127.0.0.1:0")
    }

    /// [`Served::spawn`] on a given listen address, for servers that must know each other's
    /// addresses before they start.
    pub fn spawn_at(mut command: Command, listen: &str) -> Self {
        let mut child = command
            .args(["--listen", listen])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start covenant serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        let (announced, announcement) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(url) = served_url(&line) {
                    let _ = announced.send(url);
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut served = Self {
            child,
            base_url: String::new(),
            stderr,
        };
        served.base_url = served.wait_for_announcement(&announcement);
        served.wait_until_ready();
        served
    }

    fn wait_for_announcement(
        &mut self,
        announcement: &std::sync::mpsc::Receiver<String>,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(url) = announcement.recv_timeout(Duration::from_millis(20)) {
                return url;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("covenant serve exited with {status}: {}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "covenant serve never said where it listens: {}",
                self.stderr()
            );
        }
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

    /// GET a path: status, content type and body, or None when the server cannot be reached.
    pub fn try_get(&self, path: &str) -> Option<(u16, String, String)> {
        let mut response = agent()
            .get(format!("{}{path}", self.base_url))
            .call()
            .ok()?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Some((
            response.status().as_u16(),
            content_type,
            response.body_mut().read_to_string().unwrap_or_default(),
        ))
    }

    pub fn get(&self, path: &str) -> (u16, String, String) {
        self.try_get(path)
            .unwrap_or_else(|| panic!("GET {path} failed: {}", self.stderr()))
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let (status, _, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
    }

    /// Poll until `done` holds, for up to 30 s.
    pub fn wait_for(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(25));
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
        covenant_testkit::send_signal(self.child.id(), covenant_testkit::SIGTERM, false);
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
        let (status, json) = event_status(base_url, event_id);
        if status != 404 {
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

/// The JSON example after `<!-- example: NAME -->` in docs/EMITTERS.md.
pub fn emitters_example(name: &str) -> serde_json::Value {
    let page = include_str!("../../docs/EMITTERS.md");
    let marker = format!("<!-- example: {name} -->");
    let from = page
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/EMITTERS.md has no example {name}"));
    let block = &page[from..];
    let start = block.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + block[start..].find("```").expect("the block ends");
    serde_json::from_str(&block[start..end])
        .unwrap_or_else(|error| panic!("example {name} is not JSON: {error}"))
}

/// That a real answer has the documented example's shape: the same keys at every level, the
/// same JSON type for every value (null where the example has null), lists empty or not alike,
/// and the same `status` and error `code`.
pub fn assert_documented(name: &str, real: &serde_json::Value) {
    let example = emitters_example(name);
    assert_same_shape(name, "", &example, real);
    assert_eq!(example.get("status"), real.get("status"), "{name}: {real}");
    assert_eq!(
        example.pointer("/error/code").is_some(),
        real.pointer("/error/code").is_some(),
        "{name}: {real}"
    );
}

fn assert_same_shape(name: &str, at: &str, example: &serde_json::Value, real: &serde_json::Value) {
    use serde_json::Value;
    let kind = |value: &Value| match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    assert_eq!(
        kind(example),
        kind(real),
        "{name}{at}: the page shows {example}, the ledger answers {real}"
    );
    match (example, real) {
        (Value::Object(documented), Value::Object(answered)) => {
            let keys =
                |map: &serde_json::Map<String, Value>| map.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(documented), keys(answered), "{name}{at}: keys");
            for (key, value) in documented {
                assert_same_shape(name, &format!("{at}.{key}"), value, &answered[key]);
            }
        }
        (Value::Array(documented), Value::Array(answered)) => {
            assert_eq!(
                documented.is_empty(),
                answered.is_empty(),
                "{name}{at}: {example} against {real}"
            );
            if let (Some(first), Some(answered_first)) = (documented.first(), answered.first()) {
                assert_same_shape(name, &format!("{at}[0]"), first, answered_first);
            }
        }
        _ => {}
    }
}

pub use covenant_testkit::free_port_block;

pub use world::wait_for_stream_leader;
