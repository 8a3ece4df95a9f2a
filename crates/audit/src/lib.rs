//! Covenant's watchdog tools, built on nothing but what a log publishes.
//!
//! - [`verify`]: re-check a whole log from its tiles and entry bundles (chain links, leaf
//!   hashes, envelope signatures and authority replayed from genesis, every hash tile, the
//!   checkpoint root and signature), fast, on every core.
//! - [`monitor`]: follow a log's checkpoints, check that each extends the last one seen, and
//!   raise the alarm on a split view, a rollback or a fork.
//! - [`witness`]: a C2SP tlog-witness that cosigns checkpoints only after checking that they
//!   are consistent with the last one it cosigned.
//! - [`quorum`]: the witnesses whose cosignatures a checkpoint must carry, for `verify` and
//!   `monitor`.
//! - [`prove`]: fetch and check offline proof bundles.
//! - [`source`]: where a log comes from (HTTP, memory, or the caller's own reader).
//! - [`publish`]: a log's static files built from its entries.
//!
//! The audit tools never touch the ledger's store: a watchdog has only the published log, and
//! so do these functions. The binary adds a store-backed source for offline checks.

#![forbid(unsafe_code)]

mod error;
pub mod monitor;
pub mod prove;
pub mod publish;
pub mod quorum;
pub mod source;
mod tiles;
pub mod verify;
pub mod witness;

pub use error::AuditError;
pub use quorum::{Cosigned, WitnessQuorum};
pub use source::{HttpSource, LogSource};
pub use verify::{Progress, Silent, VerifiedLog, Verifier, verify_log};

/// Write `bytes` to `path` so that a crash leaves either the old file or the new one: write a
/// temporary file beside it, fsync it, rename it over, fsync the directory.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), AuditError> {
    use std::io::Write;
    let file_name = path
        .file_name()
        .ok_or_else(|| AuditError::state(path, "is not a file path"))?;
    let temporary = path.with_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    let mut file = std::fs::File::create(&temporary).map_err(|e| AuditError::io(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| AuditError::io(path, e))?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    std::fs::File::open(directory)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| AuditError::io(directory, e))
}
