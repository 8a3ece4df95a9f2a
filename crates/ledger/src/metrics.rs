//! The ledger's Prometheus metrics. Cheap to clone (every metric is shared); register them once
//! in the process's registry, which the HTTP server renders at `/metrics`.

use crate::sequencer::{BatchReport, Disposition};
use covenant_core::validate::RejectCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WitnessLabel {
    pub witness: String,
}

/// Counters and gauges of the sequencer.
#[derive(Debug, Clone)]
pub struct LedgerMetrics {
    accepted: Counter,
    duplicates: Counter,
    rejected: Family<CodeLabel, Counter>,
    refused: Family<CodeLabel, Counter>,
    batches: Counter,
    batch_events: Histogram,
    commit_seconds: Histogram,
    append_seconds: Histogram,
    log_size: Gauge,
    stream_seq: Gauge,
    stream_pending: Gauge,
    checkpoints: Counter,
    checkpoints_signed: Counter,
    checkpoint_size: Gauge,
    witness_cosignatures: Family<WitnessLabel, Counter>,
    witness_failures: Family<WitnessLabel, Counter>,
    checkpoints_without_quorum: Counter,
    replica_cosigned: Counter,
    replica_diverged: Gauge,
}

impl Default for LedgerMetrics {
    fn default() -> Self {
        Self {
            accepted: Counter::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            refused: Family::default(),
            batches: Counter::default(),
            batch_events: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            append_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            log_size: Gauge::default(),
            stream_seq: Gauge::default(),
            stream_pending: Gauge::default(),
            checkpoints: Counter::default(),
            checkpoints_signed: Counter::default(),
            checkpoint_size: Gauge::default(),
            witness_cosignatures: Family::default(),
            witness_failures: Family::default(),
            checkpoints_without_quorum: Counter::default(),
            replica_cosigned: Counter::default(),
            replica_diverged: Gauge::default(),
        }
    }
}

impl LedgerMetrics {
    /// Register every metric under `covenant_ledger_`.
    pub fn register(&self, registry: &mut Registry) {
        let registry = registry.sub_registry_with_prefix("covenant_ledger");
        registry.register(
            "events_accepted",
            "Events appended to the log",
            self.accepted.clone(),
        );
        registry.register(
            "events_duplicate",
            "Events already in the log with the same bytes (acknowledged, not appended again)",
            self.duplicates.clone(),
        );
        registry.register(
            "events_rejected",
            "Events rejected by validation, by reason code (recorded and published on acct.rejected.<event_id>)",
            self.rejected.clone(),
        );
        registry.register(
            "ingest_refused",
            "HTTPS ingest requests refused before reaching the log (undecodable, oversized, invalid fields), by reason code",
            self.refused.clone(),
        );
        registry.register("batches", "Batches committed", self.batches.clone());
        registry.register(
            "batch_events",
            "Events per committed batch",
            self.batch_events.clone(),
        );
        registry.register(
            "commit_seconds",
            "Time to validate and durably append one batch",
            self.commit_seconds.clone(),
        );
        registry.register(
            "append_seconds",
            "Time the store takes to append one batch durably (part of commit_seconds)",
            self.append_seconds.clone(),
        );
        registry.register("log_size", "Entries in the log", self.log_size.clone());
        registry.register(
            "stream_sequence",
            "Input stream sequence the log has consumed through",
            self.stream_seq.clone(),
        );
        registry.register(
            "stream_pending",
            "Stream messages the server reported still to deliver after the last batch",
            self.stream_pending.clone(),
        );
        registry.register(
            "checkpoints",
            "Checkpoints signed and stored",
            self.checkpoints.clone(),
        );
        registry.register(
            "checkpoints_signed",
            "Checkpoints signed by the log key, before any witnessing (with a witness policy, more than are stored: witnesses are asked at most once per witness interval)",
            self.checkpoints_signed.clone(),
        );
        registry.register(
            "checkpoint_size",
            "Tree size of the latest signed checkpoint",
            self.checkpoint_size.clone(),
        );
        registry.register(
            "witness_cosignatures",
            "Valid cosignatures received from each witness of the witness policy",
            self.witness_cosignatures.clone(),
        );
        registry.register(
            "witness_failures",
            "Requests to a witness that brought no valid cosignature (unreachable, timed out, refused, or a bad signature), by witness",
            self.witness_failures.clone(),
        );
        registry.register(
            "checkpoints_without_quorum",
            "Witnessing rounds that ended with fewer cosignatures than the quorum, so that nothing was stored or published",
            self.checkpoints_without_quorum.clone(),
        );
        registry.register(
            "replica_cosigned",
            "Checkpoints of peer replicas this replica cosigned after finding the same root in its own log",
            self.replica_cosigned.clone(),
        );
        registry.register(
            "replica_diverged",
            "1 once a peer replica's checkpoint did not match this replica's own log: it has stopped signing and needs an operator",
            self.replica_diverged.clone(),
        );
    }

    pub(crate) fn record_batch(&self, report: &BatchReport, took: Duration) {
        let mut events = 0u64;
        for outcome in &report.outcomes {
            match outcome {
                Disposition::Accepted { .. } => {
                    self.accepted.inc();
                }
                Disposition::Duplicate { .. } => {
                    self.duplicates.inc();
                }
                Disposition::Rejected(record) => {
                    self.rejected
                        .get_or_create(&CodeLabel {
                            code: record.code.as_str().to_owned(),
                        })
                        .inc();
                }
                Disposition::AlreadyConsumed => continue,
            };
            events += 1;
        }
        self.batches.inc();
        self.batch_events.observe(events as f64);
        self.commit_seconds.observe(took.as_secs_f64());
        if !report.append_time.is_zero() {
            self.append_seconds
                .observe(report.append_time.as_secs_f64());
        }
        self.set_head(&report.head);
    }

    pub(crate) fn set_head(&self, head: &covenant_store::Head) {
        self.log_size.set(head.size as i64);
        self.stream_seq.set(head.stream_seq as i64);
    }

    pub(crate) fn set_stream_pending(&self, pending: u64) {
        self.stream_pending.set(pending as i64);
    }

    pub(crate) fn record_refused(&self, code: RejectCode) {
        self.refused
            .get_or_create(&CodeLabel {
                code: code.as_str().to_owned(),
            })
            .inc();
    }

    pub(crate) fn record_checkpoint(&self, size: u64) {
        self.checkpoints.inc();
        self.checkpoint_size.set(size as i64);
    }

    pub(crate) fn record_cosignature(&self, witness: &str) {
        self.witness_cosignatures
            .get_or_create(&witness_label(witness))
            .inc();
    }

    pub(crate) fn record_witness_failure(&self, witness: &str) {
        self.witness_failures
            .get_or_create(&witness_label(witness))
            .inc();
    }

    pub(crate) fn record_signed_checkpoint(&self) {
        self.checkpoints_signed.inc();
    }

    /// Checkpoints signed so far, witnessed or not.
    pub fn checkpoints_signed(&self) -> u64 {
        self.checkpoints_signed.get()
    }

    pub(crate) fn record_missed_quorum(&self) {
        self.checkpoints_without_quorum.inc();
    }

    pub(crate) fn record_replica_cosigned(&self) {
        self.replica_cosigned.inc();
    }

    pub(crate) fn record_replica_divergence(&self) {
        self.replica_diverged.set(1);
    }

    /// Valid cosignatures received from `witness` so far.
    pub fn witness_cosignatures(&self, witness: &str) -> u64 {
        self.witness_cosignatures
            .get_or_create(&witness_label(witness))
            .get()
    }

    /// Requests to `witness` that brought no valid cosignature so far.
    pub fn witness_failures(&self, witness: &str) -> u64 {
        self.witness_failures
            .get_or_create(&witness_label(witness))
            .get()
    }

    /// Witnessing rounds that ended without a quorum so far.
    pub fn checkpoints_without_quorum(&self) -> u64 {
        self.checkpoints_without_quorum.get()
    }

    /// Rejections counted so far for `code` (for tests and status pages).
    pub fn rejected(&self, code: RejectCode) -> u64 {
        self.rejected
            .get_or_create(&CodeLabel {
                code: code.as_str().to_owned(),
            })
            .get()
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.get()
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicates.get()
    }
}

fn witness_label(witness: &str) -> WitnessLabel {
    WitnessLabel {
        witness: witness.to_owned(),
    }
}
