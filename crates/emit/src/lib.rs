//! Covenant's emitter library: everything a government system needs to publish what it promised,
//! did and achieved.
//!
//! - [`build`]: typed builders for every event kind, event ids, and [`build::Speaker`], which
//!   seals (signs) an event as an actor with a granted key.
//! - [`keys`]: secret key files (`covenant keys generate` writes them).
//! - [`publish`]: [`publish::Publisher`] sends sealed envelopes to JetStream with `Nats-Msg-Id`
//!   set to the digest of the bytes, waits for the ack, and retries broker faults with backoff.
//! - [`https`]: [`https::LedgerPublisher`] sends them by `POST /v1/events` to a ledger that runs
//!   without a broker, with the same retries; [`publish::Transport`] is either.
//! - [`emitter`]: [`emitter::Emitter`] adds an on-disk outbox, so an emitter that crashes before
//!   its ack re-sends on restart: the same bytes under the same event id, never lost, never doubled.
//! - [`rows`]: events from spreadsheet-like rows (CSV, JSON), with errors that name the row and
//!   the column.
//! - [`keyring`]: one file holding several actors' rows, sealed with a directory of keys, and
//!   the reference checks of a dry run.
//! - [`envelope_file`]: files of pre-signed envelopes (length-prefixed, or base64 lines).
//! - [`status`]: ask the ledger whether an event was accepted or rejected, and why.
//!
//! ```no_run
//! # async fn example() -> Result<(), covenant_emit::EmitError> {
//! use covenant_emit::build::{Commitment, Speaker};
//! use covenant_emit::emitter::{Emitter, EmitterConfig};
//! use covenant_emit::keys::KeyFile;
//! use covenant_core::event::Date;
//!
//! let key = KeyFile::read("dcms.key".as_ref())?;
//! let speaker = Speaker::new("GB-GOV-23", "dcms-emitter-1", key.signer())?;
//! let made_on = Date::parse("2025-07-17").expect("a date");
//! let commitment = Commitment::new("dcms-covenant-01", "A joint council", "We will ...", made_on);
//! let event = speaker.seal(commitment, covenant_emit::build::now_ms())?;
//! let emitter = Emitter::open(EmitterConfig::new("nats://127.0.0.1:4222", "outbox")).await?;
//! let receipt = emitter.emit(event).await?;
//! println!("stored as stream message {}", receipt.stream_sequence);
//! # Ok(())
//! # }
//! ```

pub mod build;
pub mod emitter;
pub mod envelope_file;
pub mod https;
pub mod keyring;
pub mod keys;
mod outbox;
pub mod publish;
pub mod rows;
pub mod status;

#[cfg(test)]
mod fuzz;

use std::path::PathBuf;

pub use covenant_core::proto;

/// Everything that can go wrong while building, signing, storing or publishing events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The event does not pass the schema's field checks; the message names the field.
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] covenant_core::event::DecodeError),
    /// A spreadsheet or JSON row could not be turned into an event.
    #[error("{0}")]
    Row(#[from] rows::RowError),
    #[error("{field}: {problem}")]
    InvalidValue { field: String, problem: String },
    #[error("connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// The broker refused the event for a reason that retrying cannot fix.
    #[error("publish {event_id}: {message}")]
    Publish { event_id: String, message: String },
    /// Broker faults lasted longer than the retry policy allows. The event stays in the outbox
    /// (when there is one) and is re-sent on the next start.
    #[error("publish {event_id}: gave up after {attempts} attempts: {last_error}")]
    RetriesExhausted {
        event_id: String,
        attempts: u32,
        last_error: String,
    },
    #[error("outbox {}: {source}", path.display())]
    Outbox {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("outbox file {} does not hold a valid envelope: {reason}", path.display())]
    OutboxCorrupt { path: PathBuf, reason: String },
    #[error("key file {}: {problem}", path.display())]
    KeyFile { path: PathBuf, problem: String },
    #[error("envelope file: {0}")]
    EnvelopeFile(String),
    #[error("ledger at {url}: {message}")]
    Status { url: String, message: String },
}

impl EmitError {
    pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::InvalidValue {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}
