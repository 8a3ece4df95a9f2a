//! `AuditError`: why a check failed, naming the entry, tile or checkpoint at fault, and whether
//! the log misbehaved or could not be reached.

use covenant_core::bundle::BundleError;
use covenant_core::checkpoint::CheckpointError;
use covenant_core::cosignature::CosignatureError;
use covenant_core::entry::ChainError;
use covenant_core::event::DecodeError;
use covenant_core::validate::Rejection;

/// Everything that can go wrong while auditing a log. Verification failures carry where they
/// happened (entry sequence number, tile path, tree size) so the message names the first
/// failure precisely.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    // Reaching the log.
    #[error("fetch {what}: {reason}")]
    Fetch { what: String, reason: String },
    #[error("{what} is not served (404)")]
    Missing { what: String },

    // The checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),

    // Entries, in log order.
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error(
        "entry {seq}: its leaf hash does not match hash {position} of {tile}: the entry bytes or the tile were altered"
    )]
    LeafMismatch {
        seq: u64,
        tile: String,
        position: usize,
    },
    #[error("entry {seq}: envelope does not decode: {source}")]
    Undecodable { seq: u64, source: DecodeError },
    #[error("entry {seq} (event {event_id}) is not valid at its place in the log: {rejection}")]
    Rejected {
        seq: u64,
        event_id: String,
        rejection: Rejection,
    },
    #[error("entry {seq} repeats event {event_id}, already in the log as entry {first}")]
    Duplicate {
        seq: u64,
        event_id: String,
        first: u64,
    },

    #[error(
        "the genesis entry names the log {genesis:?} but its checkpoints are signed for {checkpoint:?}"
    )]
    OriginMismatch { genesis: String, checkpoint: String },

    // Tiles and bundles.
    #[error("{path} is not a valid entry bundle: its length prefixes do not add up")]
    MalformedBundle { path: String },
    #[error("{path} holds {found} entries, expected {expected}")]
    BundleWidth {
        path: String,
        expected: u64,
        found: u64,
    },
    #[error("{path} is {found} bytes, expected {expected} ({} hashes)", expected / 32)]
    TileLength {
        path: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "{path} does not match the tree recomputed from the entries (first difference at hash {position})"
    )]
    TileMismatch { path: String, position: usize },
    #[error(
        "the entries hash to root {computed} but the checkpoint for size {size} signs root {signed}"
    )]
    RootMismatch {
        size: u64,
        signed: String,
        computed: String,
    },
    #[error("tiles do not authenticate against the checkpoint for size {size}: {reason}")]
    TilesInconsistent { size: u64, reason: String },

    // What a monitor or witness sees across checkpoints.
    #[error(
        "split view: the log signed two different trees of size {size} (root {seen_root} seen before, {new_root} now)"
    )]
    SplitView {
        size: u64,
        seen_root: String,
        new_root: String,
    },
    #[error(
        "rollback: the log now shows size {new_size}, smaller than size {seen_size} seen before"
    )]
    Rollback { seen_size: u64, new_size: u64 },
    #[error(
        "fork: the checkpoint for size {new_size} does not extend the one for size {old_size} seen before ({reason})"
    )]
    NotAnExtension {
        old_size: u64,
        new_size: u64,
        reason: String,
    },
    #[error("the log's origin changed from {seen:?} to {found:?}")]
    OriginChanged { seen: String, found: String },

    // Witness requests (C2SP tlog-witness).
    #[error("malformed add-checkpoint request: {0}")]
    WitnessBadRequest(String),
    #[error("this witness does not follow log {origin:?}")]
    WitnessUnknownLog { origin: String },
    #[error("checkpoint is not signed by the log's key: {0}")]
    WitnessForbidden(String),
    #[error("old size {claimed} is not the size this witness last cosigned ({latest})")]
    WitnessSizeConflict { claimed: u64, latest: u64 },
    #[error("a different tree of size {size} was already cosigned")]
    WitnessRootConflict { size: u64 },
    #[error("consistency proof from size {old_size} to {new_size} does not verify")]
    WitnessBadProof { old_size: u64, new_size: u64 },
    #[error("witness refused the checkpoint ({status}): {body}")]
    WitnessRefused { status: u16, body: String },

    // Offline proofs and cosignatures.
    #[error("proof bundle: {0}")]
    Bundle(#[from] BundleError),
    #[error("cosignature: {0}")]
    Cosignature(#[from] CosignatureError),
    #[error(
        "the checkpoint is cosigned by {cosigned} of the pinned witnesses ({signers}), fewer than the quorum of {quorum}; no valid cosignature by {missing}"
    )]
    Unwitnessed {
        cosigned: usize,
        quorum: usize,
        signers: String,
        missing: String,
    },

    // Local files.
    #[error("state file {path}: {reason}")]
    State { path: String, reason: String },
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl AuditError {
    /// Whether this is evidence that the log misbehaved (as opposed to not being reachable, or
    /// a local problem). A monitor raises the alarm on these and retries the others.
    pub fn is_misbehaviour(&self) -> bool {
        !matches!(
            self,
            Self::Fetch { .. }
                | Self::Missing { .. }
                | Self::State { .. }
                | Self::Io { .. }
                | Self::WitnessRefused { .. }
                | Self::Bundle(_)
        )
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub(crate) fn state(path: impl AsRef<std::path::Path>, reason: impl Into<String>) -> Self {
        Self::State {
            path: path.as_ref().display().to_string(),
            reason: reason.into(),
        }
    }
}
