//! Covenant's sequencer: signed envelopes in, one append-only log out, exactly once.
//!
//! Envelopes arrive from the JetStream stream `COVENANT_EVENTS` (subjects `acct.events.<actor>`)
//! or, without a broker, from HTTPS ingest. The ledger consumes the stream in order from the
//! position recorded in its own store, and per batch:
//!
//! 1. decodes every envelope and batch-verifies the signatures on all cores;
//! 2. validates each event in stream order with covenant-core (state and event-id index as of
//!    the events before it, including earlier ones in the batch);
//! 3. appends the accepted entries, the state changes, the rejections and the stream sequence
//!    consumed through in one durable store batch;
//! 4. publishes each rejection on `acct.rejected.<event_id>` and, at most once per
//!    [`LedgerOptions::checkpoint_interval`], signs, stores and publishes a checkpoint on
//!    `acct.checkpoints` (with a [`WitnessPolicy`], only once a quorum of witnesses, of peer
//!    replicas, or of both has cosigned it; see `witnessing` and [`replica`]).
//!
//! An entry's time is the broker's storage time of its message, so replicas consuming the
//! same stream write byte-identical logs; `Ledger::rebuild` re-derives a store from the
//! stream. The `service` module docs walk through the pipeline, [`sequencer`] states the
//! guarantees and the acknowledgement order, and docs/NATS.md the stream's settings.

#![forbid(unsafe_code)]

mod checkpoint;
mod error;
pub mod genesis;
mod health;
mod ingest;
pub mod metrics;
pub mod migration;
pub mod replica;
pub mod sequencer;
mod service;
pub mod stream;
mod witnessing;

pub use checkpoint::SignedCheckpoint;
pub use error::LedgerError;
pub use genesis::{GenesisConfig, RegistrarKey};
pub use health::{Divergence, HealthReading, LedgerHealth};
pub use ingest::{Ingest, IngestReply};
pub use metrics::LedgerMetrics;
pub use replica::{ReplicaCosigner, ReplicaRefusal};
pub use sequencer::{BatchReport, Disposition, Incoming, Origin, Sequencer, StateCheck};
pub use service::{Ledger, LedgerOptions, RejectionNotice, RunningLedger, Stopper};
pub use stream::{StreamSettings, ensure_stream};
pub use witnessing::{
    DEFAULT_WITNESS_INTERVAL, PolicyWitness, PublishCheckpoints, WitnessPolicy, WitnessTiming,
};
