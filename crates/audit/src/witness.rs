//! A C2SP tlog-witness: it cosigns a log's checkpoint (C2SP tlog-cosignature, Ed25519
//! `cosignature/v1`) only after checking that it extends the last checkpoint it cosigned for
//! that log, so clients that require a quorum of witness cosignatures cannot be shown a split
//! view unless the witnesses collude.
//!
//! [`Witness::add_checkpoint`] is the protocol's one call; [`router`] serves it as
//! `POST /add-checkpoint`; [`submit`] is the client side (fetch the log's checkpoint, prove
//! consistency from its tiles, collect the cosignature).

use crate::monitor::consistency_proof;
use crate::source::LogSource;
use crate::{AuditError, write_atomically};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::checkpoint::{CheckpointError, VerifiedCheckpoint, verify_checkpoint};
use covenant_core::cosignature::{CosignatureVerifier, Cosigner};
use covenant_core::merkle::{self, Hash};
pub use covenant_core::tlog_witness::AddCheckpoint;
use covenant_core::tlog_witness::{
    SIZE_CONTENT_TYPE, WitnessRequestError, WitnessResponse, request_cosignature,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The `format` of version 1 witness state files.
pub const STATE_FORMAT: &str = "covenant-witness-state/v1";

/// The last checkpoint cosigned for each log, persisted before every cosignature is returned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WitnessState {
    format: String,
    logs: BTreeMap<String, CosignedCheckpoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CosignedCheckpoint {
    size: u64,
    /// Base64 root hash.
    root: String,
    /// The checkpoint as the log signed it (its body and the log's signature, nothing a caller
    /// added), kept as evidence.
    checkpoint: String,
}

/// A witness: its key, the logs it follows, and what it last cosigned for each.
pub struct Witness {
    cosigner: Cosigner,
    /// Log verifier key by origin.
    logs: HashMap<String, String>,
    state_path: PathBuf,
    state: Mutex<WitnessState>,
}

impl Witness {
    /// A witness following the logs whose verifier keys are `log_keys` (each key's name is the
    /// log's origin), remembering its cosignatures in `state_path`.
    pub fn open(
        cosigner: Cosigner,
        log_keys: &[String],
        state_path: &Path,
    ) -> Result<Self, AuditError> {
        let mut logs = HashMap::new();
        for key in log_keys {
            // Parsing the key is part of verifying any note; a key that cannot verify is
            // refused here rather than on the first request.
            if let Err(CheckpointError::BadVerifierKey(reason)) = verify_checkpoint(b"", key) {
                return Err(AuditError::Checkpoint(CheckpointError::BadVerifierKey(
                    reason,
                )));
            }
            let origin = key.split('+').next().unwrap_or_default().to_owned();
            logs.insert(origin, key.clone());
        }
        let state = match std::fs::read(state_path) {
            Ok(bytes) => {
                let state: WitnessState = serde_json::from_slice(&bytes).map_err(|e| {
                    AuditError::state(state_path, format!("not a witness state file: {e}"))
                })?;
                if state.format != STATE_FORMAT {
                    return Err(AuditError::state(
                        state_path,
                        format!("format {:?} is not {STATE_FORMAT}", state.format),
                    ));
                }
                state
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => WitnessState {
                format: STATE_FORMAT.to_owned(),
                logs: BTreeMap::new(),
            },
            Err(error) => return Err(AuditError::io(state_path, error)),
        };
        Ok(Self {
            cosigner,
            logs,
            state_path: state_path.to_owned(),
            state: Mutex::new(state),
        })
    }

    /// The witness's verifier key (what logs and clients pin).
    pub fn verifier_key(&self) -> String {
        self.cosigner.verifier_key()
    }

    /// The size of the last checkpoint cosigned for `origin` (0 if none).
    pub fn latest_size(&self, origin: &str) -> u64 {
        self.state
            .lock()
            .map(|state| state.logs.get(origin).map_or(0, |c| c.size))
            .unwrap_or(0)
    }

    /// Handle one `add-checkpoint` request body at time `now` (Unix seconds): the cosignature
    /// line, or why not.
    pub fn add_checkpoint(&self, request: &[u8], now: u64) -> Result<String, AuditError> {
        let request = AddCheckpoint::parse(request)
            .map_err(|malformed| AuditError::WitnessBadRequest(malformed.0))?;
        let origin = origin_of(request.note)?;
        let key = self
            .logs
            .get(origin)
            .ok_or_else(|| AuditError::WitnessUnknownLog {
                origin: origin.to_owned(),
            })?;
        let checkpoint = verify_checkpoint(request.note, key).map_err(|error| match error {
            CheckpointError::MalformedNote(_) | CheckpointError::MalformedBody => {
                AuditError::WitnessBadRequest(error.to_string())
            }
            other => AuditError::WitnessForbidden(other.to_string()),
        })?;
        if request.old_size > checkpoint.size {
            return Err(AuditError::WitnessBadRequest(format!(
                "old size {} is larger than the checkpoint's size {}",
                request.old_size, checkpoint.size
            )));
        }
        // Check and persist under one lock, so two requests cannot roll each other back.
        let mut state = self
            .state
            .lock()
            .map_err(|_| AuditError::state(&self.state_path, "lock poisoned"))?;
        let latest = state.logs.get(origin).cloned();
        check_against_latest(&request, &checkpoint, latest.as_ref())?;
        let record = CosignedCheckpoint {
            size: checkpoint.size,
            root: BASE64.encode(checkpoint.root.0),
            checkpoint: String::from_utf8_lossy(&checkpoint.log_signed_note).into_owned(),
        };
        let previous = state.logs.insert(origin.to_owned(), record);
        let encoded = serde_json::to_vec_pretty(&*state)
            .map_err(|e| AuditError::state(&self.state_path, e.to_string()));
        if let Err(error) = encoded.and_then(|bytes| write_atomically(&self.state_path, &bytes)) {
            match previous {
                Some(previous) => state.logs.insert(origin.to_owned(), previous),
                None => state.logs.remove(origin),
            };
            return Err(error);
        }
        Ok(self.cosigner.cosign(&checkpoint.body, now))
    }
}

/// The consistency rules of C2SP tlog-witness, given what was cosigned last.
fn check_against_latest(
    request: &AddCheckpoint<'_>,
    checkpoint: &VerifiedCheckpoint,
    latest: Option<&CosignedCheckpoint>,
) -> Result<(), AuditError> {
    let latest_size = latest.map_or(0, |c| c.size);
    if request.old_size != latest_size {
        return Err(AuditError::WitnessSizeConflict {
            claimed: request.old_size,
            latest: latest_size,
        });
    }
    let Some(latest) = latest else {
        if !request.proof.is_empty() {
            return Err(AuditError::WitnessBadRequest(
                "the consistency proof must be empty when the old size is 0".into(),
            ));
        }
        return Ok(());
    };
    let latest_root = BASE64
        .decode(&latest.root)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .map(Hash)
        .ok_or_else(|| AuditError::State {
            path: "witness state".into(),
            reason: "a stored root is not a base64 hash".into(),
        })?;
    if checkpoint.size == latest.size {
        if checkpoint.root != latest_root {
            return Err(AuditError::WitnessRootConflict { size: latest.size });
        }
        return Ok(());
    }
    merkle::check_consistency(
        &request.proof,
        checkpoint.size,
        checkpoint.root,
        latest.size,
        latest_root,
    )
    .map_err(|_| AuditError::WitnessBadProof {
        old_size: latest.size,
        new_size: checkpoint.size,
    })
}

fn origin_of(note: &[u8]) -> Result<&str, AuditError> {
    let first_line = note.split(|&b| b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(first_line)
        .ok()
        .filter(|origin| !origin.is_empty())
        .ok_or_else(|| AuditError::WitnessBadRequest("the checkpoint has no origin line".into()))
}

/// The HTTP status C2SP tlog-witness assigns to a refusal.
pub fn status_of(error: &AuditError) -> StatusCode {
    match error {
        AuditError::WitnessBadRequest(_) => StatusCode::BAD_REQUEST,
        AuditError::WitnessUnknownLog { .. } => StatusCode::NOT_FOUND,
        AuditError::WitnessForbidden(_) => StatusCode::FORBIDDEN,
        AuditError::WitnessSizeConflict { .. } | AuditError::WitnessRootConflict { .. } => {
            StatusCode::CONFLICT
        }
        AuditError::WitnessBadProof { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `POST /add-checkpoint`, as C2SP tlog-witness specifies it.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now)).await;
    match result {
        Ok(Ok(line)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            line,
        )
            .into_response(),
        Ok(Err(AuditError::WitnessSizeConflict { latest, .. })) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{latest}\n"),
        )
            .into_response(),
        Ok(Err(error)) => {
            let status = status_of(&error);
            if status.is_server_error() {
                tracing::error!(%error, "add-checkpoint failed");
            }
            (status, format!("{error}\n")).into_response()
        }
        Err(join_error) => {
            tracing::error!(%join_error, "add-checkpoint task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// What [`submit`] obtained.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub checkpoint: VerifiedCheckpoint,
    /// The log's note with the witness's signature lines appended.
    pub note: Vec<u8>,
    /// The witness's signature lines.
    pub lines: String,
}

/// Ask the witness at `witness_url` (its submission prefix) to cosign the log's latest
/// checkpoint, proving consistency from the log's tiles. When `witness_key` is given, the
/// returned cosignature is checked against it.
pub fn submit(
    source: &dyn LogSource,
    log_key: &str,
    witness_url: &str,
    witness_key: Option<&str>,
) -> Result<Submitted, AuditError> {
    let note = source.checkpoint()?;
    let checkpoint = verify_checkpoint(&note, log_key)?;
    let verifier = witness_key.map(CosignatureVerifier::new).transpose()?;
    let url = covenant_core::tlog_witness::add_checkpoint_url(witness_url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let lines = request_cosignature(
        &checkpoint,
        &note,
        0,
        verifier.as_ref(),
        |old_size| consistency_proof(source, &checkpoint, old_size),
        |body| post_add_checkpoint(&agent, &url, &body),
    )
    .map_err(|error| match error {
        WitnessRequestError::Caller(error) => error,
        WitnessRequestError::Refused { status, message } => AuditError::WitnessRefused {
            status,
            body: message,
        },
        WitnessRequestError::Cosignature(error) => AuditError::Cosignature(error),
        conflict @ (WitnessRequestError::AheadOfCheckpoint { .. }
        | WitnessRequestError::SizeChanged { .. }
        | WitnessRequestError::MalformedSize(_)) => AuditError::WitnessRefused {
            status: 409,
            body: conflict.to_string(),
        },
        unusable_answer => AuditError::WitnessRefused {
            status: 200,
            body: unusable_answer.to_string(),
        },
    })?;
    let mut cosigned = note.clone();
    cosigned.extend_from_slice(lines.as_bytes());
    Ok(Submitted {
        checkpoint,
        note: cosigned,
        lines,
    })
}

/// One `add-checkpoint` round trip with ureq.
fn post_add_checkpoint(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
) -> Result<WitnessResponse, AuditError> {
    let fail = |reason: String| AuditError::Fetch {
        what: url.to_owned(),
        reason,
    };
    let mut response = agent
        .post(url)
        .send(body)
        .map_err(|e| fail(e.to_string()))?;
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(covenant_core::tlog_witness::MAX_RESPONSE_BYTES as u64)
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))?;
    Ok(WitnessResponse {
        status: response.status().as_u16(),
        content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::checkpoint::LogSigner;
    use covenant_core::merkle::{MemoryTree, prove_consistency};

    fn tree(size: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        (0..size).for_each(|i| tree.push(&i.to_be_bytes()));
        tree
    }

    fn setup() -> (Witness, LogSigner, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let log = LogSigner::new("covenant.example/log", [3; 32]).unwrap();
        let witness = Witness::open(
            Cosigner::new("witness.example/w1", [8; 32]).unwrap(),
            &[log.verifier_key()],
            &dir.path().join("witness.json"),
        )
        .unwrap();
        (witness, log, dir)
    }

    #[test]
    fn cosigns_the_first_checkpoint_then_only_consistent_ones() {
        let (witness, log, dir) = setup();
        let verifier = CosignatureVerifier::new(&witness.verifier_key()).unwrap();
        let big = tree(20);
        let note_10 = log.sign(10, tree(10).root());
        let line = witness
            .add_checkpoint(&AddCheckpoint::encode(0, &[], &note_10), 1_000)
            .unwrap();
        let body_10 =
            covenant_core::checkpoint::checkpoint_body("covenant.example/log", 10, tree(10).root());
        assert_eq!(verifier.verify_line(&body_10, &line), Ok(1_000));

        // A stale old size is a conflict that names the witness's size.
        let note_20 = log.sign(20, big.root());
        assert!(matches!(
            witness.add_checkpoint(&AddCheckpoint::encode(0, &[], &note_20), 1_001),
            Err(AuditError::WitnessSizeConflict { latest: 10, .. })
        ));
        // A wrong proof is refused and changes nothing.
        let wrong = vec![Hash([0; 32]); 3];
        let refused = witness.add_checkpoint(&AddCheckpoint::encode(10, &wrong, &note_20), 1_002);
        assert!(matches!(refused, Err(AuditError::WitnessBadProof { .. })));
        assert_eq!(witness.latest_size("covenant.example/log"), 10);
        // The right proof is cosigned, and remembered across restarts.
        let proof = prove_consistency(20, 10, &big).unwrap();
        witness
            .add_checkpoint(&AddCheckpoint::encode(10, &proof, &note_20), 1_003)
            .unwrap();
        let reopened = Witness::open(
            Cosigner::new("witness.example/w1", [8; 32]).unwrap(),
            &[log.verifier_key()],
            &dir.path().join("witness.json"),
        )
        .unwrap();
        assert_eq!(reopened.latest_size("covenant.example/log"), 20);
        // Another tree of the same size is a conflict (a split view).
        let forked = log.sign(20, tree(21).root());
        assert!(matches!(
            reopened.add_checkpoint(&AddCheckpoint::encode(20, &[], &forked), 1_004),
            Err(AuditError::WitnessRootConflict { size: 20 })
        ));
    }

    #[test]
    fn unknown_logs_foreign_keys_and_malformed_requests_are_refused() {
        let (witness, log, _dir) = setup();
        let stranger = LogSigner::new("other.example/log", [4; 32]).unwrap();
        let foreign = stranger.sign(1, tree(1).root());
        let error = witness
            .add_checkpoint(&AddCheckpoint::encode(0, &[], &foreign), 1)
            .unwrap_err();
        assert_eq!(status_of(&error), StatusCode::NOT_FOUND);
        let impostor = LogSigner::new("covenant.example/log", [5; 32]).unwrap();
        let forged = impostor.sign(1, tree(1).root());
        let error = witness
            .add_checkpoint(&AddCheckpoint::encode(0, &[], &forged), 1)
            .unwrap_err();
        assert_eq!(status_of(&error), StatusCode::FORBIDDEN);
        let note = log.sign(3, tree(3).root());
        let error = witness
            .add_checkpoint(&AddCheckpoint::encode(4, &[], &note), 1)
            .unwrap_err();
        assert_eq!(status_of(&error), StatusCode::BAD_REQUEST);
        for body in [
            &b"old 01\n\n"[..],
            b"new 1\n\n",
            b"old 1\nnot-base64!\n\n",
            b"old 1",
        ] {
            let error = witness.add_checkpoint(body, 1).unwrap_err();
            assert_eq!(status_of(&error), StatusCode::BAD_REQUEST, "{error}");
        }
        let too_long: Vec<Hash> = vec![Hash([1; 32]); 64];
        let error = witness
            .add_checkpoint(&AddCheckpoint::encode(1, &too_long, &note), 1)
            .unwrap_err();
        assert_eq!(status_of(&error), StatusCode::BAD_REQUEST);
    }
}
