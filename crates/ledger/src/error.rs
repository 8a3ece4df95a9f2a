//! `LedgerError`: why the ledger could not start or had to stop.

use covenant_core::checkpoint::CheckpointError;
use covenant_store::StoreError;

/// Why the ledger could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("genesis configuration is invalid: {0}")]
    InvalidGenesis(String),
    #[error(
        "the store was founded with a different genesis than the one configured; refusing to start. {0}"
    )]
    GenesisMismatch(String),
    #[error("entry 0 of the store is not a genesis entry: {0}")]
    CorruptGenesis(String),
    #[error(
        "stream {stream} is configured in a way that would lose events; refusing to run against it: {problems}"
    )]
    UnsafeStream { stream: String, problems: String },
    #[error("{0}")]
    ModeMismatch(String),
    #[error("nats {action}: {reason}")]
    Nats { action: String, reason: String },
    #[error("log signing key: {0}")]
    LogKey(#[from] CheckpointError),
    #[error(
        "store head is at {found} entries after a batch that should have left it at {expected}"
    )]
    HeadMismatch { expected: u64, found: u64 },
    #[error("the sequencer stopped after an earlier store failure; restart the ledger to recover")]
    Stopped,
    #[error("the ledger is shutting down")]
    ShuttingDown,
    #[error("witness policy: {0}")]
    WitnessPolicy(String),
    #[error(
        "stream message {stream_seq} was migrated from an embedded log; its original time can be checked only with the log key: give the ledger its log key (--log-key or [keys] log_key)"
    )]
    MigrationUnverifiable { stream_seq: u64 },
}

impl LedgerError {
    pub(crate) fn nats(action: &str, reason: impl std::fmt::Display) -> Self {
        Self::Nats {
            action: action.to_owned(),
            reason: reason.to_string(),
        }
    }
}
