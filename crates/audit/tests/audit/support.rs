//! A static file server on 127.0.0.1 serving a log's C2SP files, whose contents a test can
//! replace (to make the log grow, fork or lie), and which records webhook posts; and a witness
//! serving C2SP `add-checkpoint` on 127.0.0.1.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use covenant_audit::publish::StaticLog;
use covenant_audit::witness::{Witness, router};
use covenant_core::checkpoint::LogSigner;
use covenant_core::cosignature::Cosigner;
use covenant_testkit::sample;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Shared {
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    webhooks: Arc<Mutex<Vec<String>>>,
}

/// A running server; stops when dropped (its runtime is shut down with it).
pub struct TileServer {
    shared: Shared,
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

impl TileServer {
    /// Serve the log under `/log/`, as a ledger does.
    pub fn serve(log: &StaticLog) -> Self {
        Self::start(log, "/log/{*path}")
    }

    /// Serve the log's files at the root, as a static web server whose document root is a
    /// mirror's directory does: `/checkpoint`, `/tile/...`, and nothing under `/log/`.
    pub fn serve_at_root(log: &StaticLog) -> Self {
        Self::start(log, "/{*path}")
    }

    fn start(log: &StaticLog, files_route: &str) -> Self {
        let shared = Shared::default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("start a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        let app = Router::new()
            .route(files_route, get(file))
            .route("/webhook", post(webhook))
            .with_state(shared.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        let server = Self {
            shared,
            port,
            _runtime: runtime,
        };
        server.replace(log);
        server
    }

    /// The server's address (the log lives under `/log/`, or at the root).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhook", self.url())
    }

    /// Serve another set of files from now on.
    pub fn replace(&self, log: &StaticLog) {
        *self.shared.files.lock().unwrap() = log.files.clone();
    }

    /// Change one served file.
    pub fn edit(&self, path: &str, change: impl FnOnce(&mut Vec<u8>)) {
        let mut files = self.shared.files.lock().unwrap();
        change(
            files
                .get_mut(path)
                .unwrap_or_else(|| panic!("no file {path}")),
        );
    }

    pub fn remove(&self, path: &str) {
        self.shared.files.lock().unwrap().remove(path);
    }

    pub fn webhooks(&self) -> Vec<String> {
        self.shared.webhooks.lock().unwrap().clone()
    }
}

async fn file(State(shared): State<Shared>, Path(path): Path<String>) -> impl IntoResponse {
    match shared.files.lock().unwrap().get(&path) {
        Some(bytes) => (StatusCode::OK, bytes.clone()),
        None => (StatusCode::NOT_FOUND, b"not found".to_vec()),
    }
}

async fn webhook(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    shared
        .webhooks
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    StatusCode::NO_CONTENT
}

/// The sample log's checkpoint key.
pub fn log_signer() -> LogSigner {
    LogSigner::new(sample::ORIGIN, sample::LOG_SEED).unwrap()
}

/// A sample log of `size` entries, published and signed.
pub fn published(entries: &[Vec<u8>]) -> StaticLog {
    StaticLog::publish(entries, &log_signer())
}

/// A witness (covenant-audit's) serving on a free port of 127.0.0.1 from its own runtime;
/// stops when dropped.
pub struct WitnessServer {
    pub url: String,
    pub verifier_key: String,
    _runtime: tokio::runtime::Runtime,
}

impl WitnessServer {
    /// A witness called `name` with the key seed `[seed; 32]`, following the logs of
    /// `log_keys`, remembering its cosignatures in `state_file`.
    pub fn start(name: &str, seed: u8, log_keys: &[String], state_file: &std::path::Path) -> Self {
        let witness = Witness::open(
            Cosigner::new(name, [seed; 32]).unwrap(),
            log_keys,
            state_file,
        )
        .expect("open the witness");
        let verifier_key = witness.verifier_key();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("start a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a free port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let app = router(Arc::new(witness));
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            verifier_key,
            _runtime: runtime,
        }
    }
}
