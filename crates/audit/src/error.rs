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
///
/// Every message carries its cause's text, and no variant also hands that cause out as its
/// `source()`: these errors are printed alone (`FAILED: ...`, alarms, webhooks), and a caller
/// that prints the whole chain (anyhow's `{:#}`) would otherwise print each cause twice. The
/// conversions from the core errors are written out below for that reason: thiserror's
/// `#[from]` always makes the wrapped error the source.
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
    Checkpoint(CheckpointError),

    // Entries, in log order.
    #[error("{0}")]
    Chain(ChainError),
    #[error(
        "entry {seq}: its leaf hash does not match hash {position} of {tile}: the entry bytes or the tile were altered"
    )]
    LeafMismatch {
        seq: u64,
        tile: String,
        position: usize,
    },
    #[error("entry {seq}: envelope does not decode: {error}")]
    Undecodable { seq: u64, error: DecodeError },
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
    Bundle(BundleError),
    #[error("cosignature: {0}")]
    Cosignature(CosignatureError),
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
    #[error("I/O on {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path} is not a proof bundle: {reason}")]
    NotABundle { path: String, reason: String },
}

impl From<CheckpointError> for AuditError {
    fn from(error: CheckpointError) -> Self {
        Self::Checkpoint(error)
    }
}

impl From<ChainError> for AuditError {
    fn from(error: ChainError) -> Self {
        Self::Chain(error)
    }
}

impl From<BundleError> for AuditError {
    fn from(error: BundleError) -> Self {
        Self::Bundle(error)
    }
}

impl From<CosignatureError> for AuditError {
    fn from(error: CosignatureError) -> Self {
        Self::Cosignature(error)
    }
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
                | Self::NotABundle { .. }
                | Self::WitnessRefused { .. }
                | Self::Bundle(_)
        )
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().display().to_string(),
            error,
        }
    }

    pub(crate) fn state(path: impl AsRef<std::path::Path>, reason: impl Into<String>) -> Self {
        Self::State {
            path: path.as_ref().display().to_string(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use covenant_core::entry::EntryError;
    use std::error::Error as _;

    /// The message as anyhow's `{:#}` prints it: the error, then each source in turn.
    pub(crate) fn printed_chain(error: &AuditError) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    #[test]
    fn every_error_with_a_cause_prints_it_once_alone_and_with_its_chain() {
        let cases = [
            (
                AuditError::io(
                    "nope.json",
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ),
                "entity not found",
            ),
            (
                AuditError::Undecodable {
                    seq: 4,
                    error: DecodeError::Envelope("truncated varint".into()),
                },
                "truncated varint",
            ),
            (
                CheckpointError::BadSignature("covenant.example/log+1+AA".into()).into(),
                "not signed by the log key",
            ),
            (
                ChainError::Malformed {
                    seq: 9,
                    error: EntryError::Truncated { len: 3 },
                }
                .into(),
                "shorter than",
            ),
            (
                BundleError::Checkpoint(CheckpointError::MalformedBody).into(),
                "checkpoint body is malformed",
            ),
            (
                CosignatureError::BadSignature("witness.example/w1".into()).into(),
                "does not verify",
            ),
        ];
        for (error, cause) in cases {
            assert_eq!(error.to_string().matches(cause).count(), 1, "{error}");
            let printed = printed_chain(&error);
            assert_eq!(printed.matches(cause).count(), 1, "{printed}");
        }
    }
}
