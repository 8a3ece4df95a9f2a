//! A real sled store holding a sample log, and the router over it.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use covenant_core::checkpoint::LogSigner;
use covenant_http::{AppState, router};
use covenant_store::{LogReader, LogStore, SledStore};
use covenant_testkit::log::LogWriter;
use covenant_testkit::sample;
use std::sync::Arc;
use tower::ServiceExt;

/// Entries covered by the signed checkpoint.
pub const SIGNED: u64 = 600;
/// Entries in the store (the last ones not yet in a checkpoint).
pub const STORED: u64 = 700;

pub struct Fixture {
    pub app: Router,
    pub envelopes: Vec<Vec<u8>>,
    pub signer: LogSigner,
    pub store: Arc<SledStore>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A store with `STORED` sample entries and a checkpoint for the first `SIGNED`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::create_or_open(dir.path().join("store")).unwrap());
        let envelopes = sample::envelopes(STORED, 3);
        let signer = LogSigner::new(sample::ORIGIN, sample::LOG_SEED).unwrap();
        let mut log = LogWriter::for_replay(&*store).unwrap();
        append(&mut log, &envelopes[..SIGNED as usize], 0);
        let head = store.head();
        assert_eq!(head.size, SIGNED);
        store
            .put_checkpoint(SIGNED, &signer.sign(SIGNED, head.root))
            .unwrap();
        append(&mut log, &envelopes[SIGNED as usize..], SIGNED);
        let state = AppState::new(store.clone(), signer.verifier_key());
        Self {
            app: router(state),
            envelopes,
            signer,
            store,
            _dir: dir,
        }
    }

    pub async fn get(&self, uri: &str) -> Response<Body> {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn request(&self, request: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(request).await.unwrap()
    }
}

/// Validate the sample's envelopes as the ledger would and append them, stored at the sample's
/// times.
fn append(log: &mut LogWriter, envelopes: &[Vec<u8>], first_seq: u64) {
    for (i, envelope) in envelopes.iter().enumerate() {
        let seq = first_seq + i as u64;
        assert_eq!(
            log.replay(envelope, sample::stored_at_ns(seq)).unwrap(),
            seq
        );
    }
    log.flush().unwrap();
}

pub async fn body(response: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .unwrap()
        .to_vec()
}

pub fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}
