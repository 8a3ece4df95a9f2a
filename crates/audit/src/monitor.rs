//! Following a log: each new checkpoint must extend the last one this monitor verified.
//!
//! One [`check_once`] fetches the latest checkpoint and compares it with the last verified one
//! kept in the state file:
//! - a smaller size is a rollback;
//! - the same size with another root is a split view (two signed, contradicting trees);
//! - a larger size must come with a valid consistency proof, computed from the log's own tiles
//!   (authenticated against the new root), or the log has forked;
//! - the new entries are then verified exactly as `verify` would, continuing from where the
//!   last run stopped.
//!
//! Any of these is an [`Alarm`] carrying both checkpoint notes as evidence: two notes signed by
//! the log's key that cannot both be true are proof anyone can check.
//!
//! A monitor is a verifier that remembers: its state file ([`MonitorState`]) holds the last
//! verified checkpoint and the verifier's position (chain head, unfinished tiles, validation
//! state and event index), written to a temporary file, fsynced and renamed, so a crash leaves
//! the old state or the new one. Consistency is proved from the tiles of the new tree through
//! `tlog_tiles::TileHashReader`, which authenticates every tile against the new root.

use crate::source::LogSource;
use crate::verify::{Progress, Verifier, VerifierSnapshot, verify_log};
use crate::{AuditError, Cosigned, WitnessQuorum, write_atomically};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::checkpoint::{VerifiedCheckpoint, verify_checkpoint};
use covenant_core::merkle::{self, HASH_SIZE, TILE_HEIGHT, Tile};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;
use tlog_tiles::{TileHashReader, TileReader};

/// The `format` of version 1 state files.
pub const STATE_FORMAT: &str = "covenant-monitor-state/v1";

/// What a monitor remembers between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorState {
    pub format: String,
    /// Where the log was read from (for people reading the file).
    pub log: String,
    /// The pinned verifier key.
    pub verifier_key: String,
    /// The last checkpoint note verified, exactly as served.
    pub checkpoint: String,
    /// The verifier's position after that checkpoint.
    pub verifier: VerifierSnapshot,
}

impl MonitorState {
    /// Read the state file; `None` if it does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Self>, AuditError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(AuditError::io(path, error)),
        };
        let state: Self = serde_json::from_slice(&bytes)
            .map_err(|e| AuditError::state(path, format!("not a monitor state file: {e}")))?;
        if state.format != STATE_FORMAT {
            return Err(AuditError::state(
                path,
                format!("format {:?} is not {STATE_FORMAT}", state.format),
            ));
        }
        Ok(Some(state))
    }

    /// Write the state file atomically (a crash leaves the old or the new one, never half).
    pub fn save(&self, path: &Path) -> Result<(), AuditError> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| AuditError::state(path, format!("cannot encode: {e}")))?;
        write_atomically(path, &bytes)
    }

    /// Size of the last verified checkpoint.
    pub fn size(&self) -> u64 {
        self.verifier.size
    }
}

/// What one check found, when all is well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// No state yet: the whole log was verified.
    FirstVerification { size: u64 },
    /// The log has not grown.
    Unchanged { size: u64 },
    /// The log grew consistently and the new entries verified.
    Advanced { from: u64, to: u64 },
}

/// A reason to stop trusting the log (or, if [`Alarm::is_misbehaviour`] is false, a failure to
/// reach it), with the checkpoints involved.
#[derive(Debug)]
pub struct Alarm {
    pub error: AuditError,
    /// The last checkpoint this monitor verified.
    pub last_verified: Option<String>,
    /// The checkpoint that was served this time.
    pub observed: Option<String>,
}

impl Alarm {
    /// Whether the log misbehaved (as opposed to being unreachable).
    pub fn is_misbehaviour(&self) -> bool {
        self.error.is_misbehaviour()
    }

    /// A short machine-readable name for the kind of alarm.
    pub fn kind(&self) -> &'static str {
        match &self.error {
            AuditError::SplitView { .. } => "split_view",
            AuditError::Rollback { .. } => "rollback",
            AuditError::NotAnExtension { .. } | AuditError::TilesInconsistent { .. } => "fork",
            AuditError::Checkpoint(_) => "bad_checkpoint",
            AuditError::Unwitnessed { .. } => "unwitnessed",
            error if error.is_misbehaviour() => "verification_failed",
            _ => "unreachable",
        }
    }

    /// The JSON a webhook receives.
    pub fn to_json(&self, log: &str) -> serde_json::Value {
        serde_json::json!({
            "alarm": self.kind(),
            "log": log,
            "message": self.error.to_string(),
            "last_verified_checkpoint": self.last_verified,
            "observed_checkpoint": self.observed,
        })
    }
}

impl std::fmt::Display for Alarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(last) = &self.last_verified {
            write!(f, "\n\nlast verified checkpoint:\n{last}")?;
        }
        if let Some(observed) = &self.observed {
            write!(f, "\nobserved checkpoint:\n{observed}")?;
        }
        Ok(())
    }
}

/// Check the log once against `state` (or verify it from scratch when there is none) and return
/// the state to save, with the cosignatures `witnesses` required, if any. A checkpoint without
/// them is an alarm before anything else is looked at.
pub fn check_once(
    source: &dyn LogSource,
    state: Option<MonitorState>,
    verifier_key: &str,
    witnesses: &WitnessQuorum,
    progress: &dyn Progress,
) -> Result<(MonitorState, Finding, Option<Cosigned>), Alarm> {
    let last_verified = state.as_ref().map(|s| s.checkpoint.clone());
    let alarm = |error: AuditError, observed: Option<&[u8]>| Alarm {
        error,
        last_verified: last_verified.clone(),
        observed: observed.map(|note| String::from_utf8_lossy(note).into_owned()),
    };
    let note = source.checkpoint().map_err(|e| alarm(e, None))?;
    let checkpoint =
        verify_checkpoint(&note, verifier_key).map_err(|e| alarm(e.into(), Some(&note)))?;
    let witnessed = |note: &[u8]| {
        witnesses
            .is_required()
            .then(|| witnesses.check(note))
            .transpose()
            .map_err(|e| alarm(e, Some(note)))
    };
    let cosigned = witnessed(&note)?;
    let new_state = |verifier: &Verifier, note: &[u8]| MonitorState {
        format: STATE_FORMAT.to_owned(),
        log: source.describe(),
        verifier_key: verifier_key.to_owned(),
        checkpoint: String::from_utf8_lossy(note).into_owned(),
        verifier: verifier.snapshot(),
    };
    let Some(state) = state else {
        let (verifier, report) =
            verify_log(source, verifier_key, progress).map_err(|e| alarm(e, Some(&note)))?;
        let size = report.checkpoint.size;
        // The whole-log check reads the checkpoint again, and the log may have grown since.
        let cosigned = if report.note == note {
            cosigned
        } else {
            witnessed(&report.note)?
        };
        return Ok((
            new_state(&verifier, &report.note),
            Finding::FirstVerification { size },
            cosigned,
        ));
    };
    let state_error = |reason: String| {
        alarm(
            AuditError::State {
                path: "monitor state".into(),
                reason,
            },
            Some(&note),
        )
    };
    if state.verifier_key != verifier_key {
        return Err(state_error(format!(
            "the state file pins verifier key {} but {verifier_key} was given",
            state.verifier_key
        )));
    }
    let last = verify_checkpoint(state.checkpoint.as_bytes(), &state.verifier_key)
        .map_err(|e| state_error(format!("its checkpoint does not verify: {e}")))?;
    if last.size != state.size() {
        return Err(state_error(
            "its checkpoint and verifier position disagree".into(),
        ));
    }
    if checkpoint.size < last.size {
        return Err(alarm(
            AuditError::Rollback {
                seen_size: last.size,
                new_size: checkpoint.size,
            },
            Some(&note),
        ));
    }
    if checkpoint.size == last.size {
        if checkpoint.root != last.root {
            return Err(alarm(
                AuditError::SplitView {
                    size: last.size,
                    seen_root: BASE64.encode(last.root.0),
                    new_root: BASE64.encode(checkpoint.root.0),
                },
                Some(&note),
            ));
        }
        return Ok((state, Finding::Unchanged { size: last.size }, cosigned));
    }
    check_extends(source, &last, &checkpoint).map_err(|e| alarm(e, Some(&note)))?;
    let mut verifier = Verifier::resume(state.verifier)
        .map_err(|reason| state_error(format!("its verifier position is unusable: {reason}")))?;
    let (from, to) = (last.size, checkpoint.size);
    let report = verifier
        .extend(source, checkpoint, note.clone(), progress)
        .map_err(|e| alarm(e, Some(&note)))?;
    Ok((
        new_state(&verifier, &report.note),
        Finding::Advanced { from, to },
        cosigned,
    ))
}

/// Check that `new` extends `old` with a consistency proof built from the log's hash tiles,
/// which are themselves authenticated against `new`'s root as they are read.
pub fn check_extends(
    source: &dyn LogSource,
    old: &VerifiedCheckpoint,
    new: &VerifiedCheckpoint,
) -> Result<(), AuditError> {
    let proof = consistency_proof(source, new, old.size)?;
    merkle::check_consistency(&proof, new.size, new.root, old.size, old.root).map_err(|e| {
        AuditError::NotAnExtension {
            old_size: old.size,
            new_size: new.size,
            reason: e.to_string(),
        }
    })
}

/// The consistency proof from `old_size` to `new`, computed from `source`'s hash tiles.
pub fn consistency_proof(
    source: &dyn LogSource,
    new: &VerifiedCheckpoint,
    old_size: u64,
) -> Result<Vec<merkle::Hash>, AuditError> {
    if old_size == 0 || old_size == new.size {
        return Ok(vec![]);
    }
    let tiles = SourceTiles {
        source,
        failure: Mutex::new(None),
    };
    let reader = TileHashReader::new(new.size, new.root, &tiles);
    merkle::prove_consistency(new.size, old_size, &reader).map_err(|error| {
        let fetch_failure = tiles.failure.lock().ok().and_then(|mut f| f.take());
        fetch_failure.unwrap_or_else(|| AuditError::TilesInconsistent {
            size: new.size,
            reason: error.to_string(),
        })
    })
}

/// Hash tiles from a log source, for `tlog_tiles`' authenticating reader.
struct SourceTiles<'a> {
    source: &'a dyn LogSource,
    failure: Mutex<Option<AuditError>>,
}

impl TileReader for SourceTiles<'_> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|tile| match self.source.hash_tile(tile) {
                Ok(data) if data.len() == tile.width() as usize * HASH_SIZE => Ok(data),
                Ok(data) => Err(tlog_tiles::Error::InvalidInput(format!(
                    "{} is {} bytes, expected {}",
                    merkle::tile_path(tile),
                    data.len(),
                    tile.width() as usize * HASH_SIZE
                ))),
                Err(error) => {
                    let message = error.to_string();
                    if let Ok(mut failure) = self.failure.lock() {
                        failure.get_or_insert(error);
                    }
                    Err(tlog_tiles::Error::InvalidInput(message))
                }
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// POST the alarm to a webhook as JSON.
pub fn send_webhook(url: &str, log: &str, alarm: &Alarm) -> Result<(), AuditError> {
    let fail = |reason: String| AuditError::Fetch {
        what: format!("webhook {url}"),
        reason,
    };
    let body = serde_json::to_vec(&alarm.to_json(log)).map_err(|e| fail(e.to_string()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(&body[..])
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP status {}", response.status().as_u16())));
    }
    Ok(())
}
