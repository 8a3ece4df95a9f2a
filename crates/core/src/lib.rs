//! Covenant's pure core.
//!
//! Everything a verifier needs and nothing that touches the outside world: no I/O, no async, no
//! clock and no random source (callers pass in time and randomness). The ledger, the store, the
//! audit tool and the emitter library all build on these functions, so there is exactly one
//! definition of every byte that is signed or hashed.
//!
//! - [`signing`]: the envelope signature (Ed25519 over a domain-separated signing input).
//! - [`subject`]: the NATS subject an actor's events are published on.
//! - [`entry`]: the ledger entry encoding and the blake3 hash chain.
//! - [`merkle`]: the RFC 6962 SHA-256 tree over entries, proofs and C2SP tile paths.
//! - [`checkpoint`]: C2SP signed-note checkpoints and verifier keys.
//! - [`cosignature`]: C2SP tlog-cosignature witness cosignatures (Ed25519 cosignature/v1).
//! - [`tlog_witness`]: C2SP tlog-witness `add-checkpoint` requests and the client's exchange.
//! - [`bundle`]: offline proof bundles (entry, inclusion proof, signed checkpoint).
//! - [`event`]: domain types converted from the protobuf schema, with field-naming errors.
//! - [`validate`]: the deterministic validation state machine.
//! - [`id_set`]: the growing set of ids validation keeps (action ids), cheap to load.

#![forbid(unsafe_code)]

pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod currency;
pub mod entry;
pub mod event;
pub mod facts;
mod id_guide;
pub mod id_map;
pub mod id_set;
pub mod merkle;
pub mod signing;
pub mod subject;
pub mod tlog_witness;
pub mod validate;

#[cfg(test)]
mod fuzz;

pub use covenant_proto::SchemaName;
pub use covenant_proto::v1 as proto;

/// Largest envelope the ledger accepts, in bytes. An entry (envelope plus its 53-byte header)
/// must fit the uint16 length prefix of a C2SP entry bundle, so the limit sits below 64 KiB.
pub const MAX_ENVELOPE_BYTES: usize = 65_000;
