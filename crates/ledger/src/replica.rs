//! Replicas that check each other before a checkpoint goes out.
//!
//! Every replica derives the log from the same stream and signs the same checkpoints with the
//! log key. Each also holds a replica key of its own and cosigns (C2SP tlog-cosignature) a
//! peer's checkpoint only when its own log, at that size, has the same root. A ledger whose
//! [`WitnessPolicy`](crate::WitnessPolicy) names its peers as replicas publishes a checkpoint
//! only once a quorum of them has cosigned it, so a replica that went wrong cannot publish
//! alone.
//!
//! ```text
//! replica A's witnessing thread ──POST /replica/add-checkpoint──▶ replica B
//!                                                                 same root at that size?
//!                                   ◀── cosignature ───────────── yes
//!                                   ◀── 409, first differing ──── no: B stops signing, raises
//!                                       entry                         the alarm
//! ```
//!
//! The request is C2SP tlog-witness `add-checkpoint`; its old size and consistency proof are
//! not needed, because the replica compares against the tree it built itself, which is a
//! stronger check than consistency with what it cosigned before. A replica that has not yet
//! reached the checkpoint's size waits for its own log for a moment, then answers 503.
//!
//! On a mismatch the replica names the first entry that differs: it asks its peers for their
//! tree roots (`GET /replica/root/<size>`) and bisects the sizes with the peer whose root is
//! the checkpoint's. Then it raises the alarm (an error in the log, the metric
//! `covenant_ledger_replica_diverged`, `/readyz` 503, and a POST to the alarm webhook when
//! one is configured), refuses every later request and signs no more checkpoints until an
//! operator has looked (a restart clears it; a log that still differs is caught again).

use crate::health::{Divergence, LedgerHealth};
use crate::metrics::LedgerMetrics;
use crate::witnessing::StoreHashes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::checkpoint::{CheckpointError, verify_checkpoint};
use covenant_core::cosignature::Cosigner;
use covenant_core::merkle::{self, Hash};
use covenant_core::tlog_witness::AddCheckpoint;
use covenant_store::LogReader;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a replica serves its side of the protocol; a peer's submission prefix is its base
/// URL followed by this.
pub const REPLICA_PATH: &str = "/replica";

/// How long a replica waits for its own log to reach a checkpoint's size before answering
/// that it is behind: about one batch and one checkpoint interval of a busy ledger.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// Longest wait for one answer from a peer while locating the first differing entry.
const PEER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a peer may take to reach a size (it may lag this replica) or to answer at all
/// (it may be busy) before it counts as unable to say.
const PEER_WAIT: Duration = Duration::from_secs(10);

/// Why a replica did not cosign.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaRefusal {
    #[error("malformed add-checkpoint request: {0}")]
    BadRequest(String),
    #[error("the checkpoint does not verify with this log's key: {0}")]
    Forbidden(String),
    #[error(
        "this replica's log holds {own} entries, fewer than the checkpoint's {size}; ask again shortly"
    )]
    Behind { own: u64, size: u64 },
    #[error("{}", describe(.0))]
    Diverged(Divergence),
    #[error("reading this replica's log: {0}")]
    Store(String),
}

impl ReplicaRefusal {
    /// The HTTP status C2SP tlog-witness gives such a refusal (503 for "not yet").
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::Behind { .. } => 503,
            Self::Diverged(_) => 409,
            Self::Store(_) => 500,
        }
    }
}

/// The sentence an operator reads in logs, refusals and `/readyz`.
pub fn describe(divergence: &Divergence) -> String {
    let entry = divergence.first_differing_entry.map_or_else(
        || "the first differing entry is not known (no peer answered)".to_owned(),
        |entry| format!("the first differing entry is {entry}"),
    );
    format!(
        "this replica's log differs from a peer's checkpoint of size {}: {entry}; this replica has stopped signing",
        divergence.size
    )
}

/// What a replica needs to cosign its peers' checkpoints and to find where logs differ.
pub struct ReplicaCosigner {
    cosigner: Cosigner,
    log_verifier_key: String,
    store: Arc<dyn LogReader>,
    health: LedgerHealth,
    metrics: LedgerMetrics,
    /// The peers' submission prefixes (`<base URL>/replica`).
    peers: Vec<String>,
    alarm_webhook: Option<String>,
    agent: ureq::Agent,
}

impl ReplicaCosigner {
    /// A replica of the log whose checkpoints verify with `log_verifier_key`, over the store
    /// its ledger writes and that ledger's health and metrics. `peers` are the other
    /// replicas' base URLs.
    pub fn new(
        cosigner: Cosigner,
        log_verifier_key: String,
        store: Arc<dyn LogReader>,
        health: LedgerHealth,
        metrics: LedgerMetrics,
        peers: &[String],
        alarm_webhook: Option<String>,
    ) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(PEER_TIMEOUT))
            .user_agent("covenant-replica")
            .build()
            .into();
        Self {
            cosigner,
            log_verifier_key,
            store,
            health,
            metrics,
            peers: peers.iter().map(|url| submission_prefix(url)).collect(),
            alarm_webhook,
            agent,
        }
    }

    /// This replica's verifier key, for its peers' policies.
    pub fn verifier_key(&self) -> String {
        self.cosigner.verifier_key()
    }

    /// Handle one `add-checkpoint` body at `now` (Unix seconds): the cosignature line, or why
    /// not. Blocks for up to [`CATCH_UP_WAIT`] while this replica's log catches up.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, ReplicaRefusal> {
        if let Some(divergence) = self.health.divergence() {
            return Err(ReplicaRefusal::Diverged(divergence));
        }
        let request =
            AddCheckpoint::parse(body).map_err(|bad| ReplicaRefusal::BadRequest(bad.0))?;
        let checkpoint = verify_checkpoint(request.note, &self.log_verifier_key).map_err(
            |error| match error {
                CheckpointError::MalformedNote(_) | CheckpointError::MalformedBody => {
                    ReplicaRefusal::BadRequest(error.to_string())
                }
                other => ReplicaRefusal::Forbidden(other.to_string()),
            },
        )?;
        self.wait_for_size(checkpoint.size)?;
        let own_root = self.own_root(checkpoint.size)?;
        if own_root == checkpoint.root {
            self.metrics.record_replica_cosigned();
            return Ok(self.cosigner.cosign(&checkpoint.body, now));
        }
        let divergence = Divergence {
            size: checkpoint.size,
            first_differing_entry: self.first_difference(checkpoint.size, checkpoint.root),
        };
        self.raise_alarm(&divergence, own_root, checkpoint.root);
        Err(ReplicaRefusal::Diverged(divergence))
    }

    /// This replica's tree root at `size`, or None beyond its log (`GET /replica/root/<size>`).
    pub fn root_at(&self, size: u64) -> Result<Option<Hash>, ReplicaRefusal> {
        if size > self.store.head().size {
            return Ok(None);
        }
        self.own_root(size).map(Some)
    }

    fn own_root(&self, size: u64) -> Result<Hash, ReplicaRefusal> {
        merkle::tree_root(size, &StoreHashes(&*self.store))
            .map_err(|error| ReplicaRefusal::Store(error.to_string()))
    }

    fn wait_for_size(&self, size: u64) -> Result<(), ReplicaRefusal> {
        let deadline = Instant::now() + CATCH_UP_WAIT;
        loop {
            let own = self.store.head().size;
            if own >= size {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ReplicaRefusal::Behind { own, size });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The first entry where this log and the tree behind `their_root` differ: bisect the
    /// sizes with a peer whose root at `size` is `their_root`. None when no peer has it.
    fn first_difference(&self, size: u64, their_root: Hash) -> Option<u64> {
        let peer = self
            .peers
            .iter()
            .find(|peer| self.peer_root(peer, size) == Some(their_root))?;
        // The trees agree at `same` entries (none: the empty tree) and differ at `differ`.
        let (mut same, mut differ) = (0, size);
        while differ - same > 1 {
            let middle = same + (differ - same) / 2;
            let theirs = self.peer_root(peer, middle)?;
            if Some(theirs) == self.own_root(middle).ok() {
                same = middle;
            } else {
                differ = middle;
            }
        }
        Some(same)
    }

    /// The peer's root at `size`, asking again until [`PEER_WAIT`] runs out: a peer that is
    /// behind or slow now would otherwise leave the divergence without its first entry.
    fn peer_root(&self, peer: &str, size: u64) -> Option<Hash> {
        let deadline = Instant::now() + PEER_WAIT;
        loop {
            if let Some(root) = self.ask_peer_root(peer, size) {
                return Some(root);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ask_peer_root(&self, peer: &str, size: u64) -> Option<Hash> {
        let mut response = self.agent.get(format!("{peer}/root/{size}")).call().ok()?;
        if response.status() != 200 {
            return None;
        }
        let text = response.body_mut().read_to_string().ok()?;
        let bytes = BASE64.decode(text.trim()).ok()?;
        Some(Hash(bytes.try_into().ok()?))
    }

    fn raise_alarm(&self, divergence: &Divergence, own_root: Hash, their_root: Hash) {
        self.health.record_divergence(*divergence);
        self.metrics.record_replica_divergence();
        tracing::error!(
            size = divergence.size,
            first_differing_entry = ?divergence.first_differing_entry,
            own_root = %BASE64.encode(own_root.0),
            checkpoint_root = %BASE64.encode(their_root.0),
            "{}",
            describe(divergence)
        );
        let Some(webhook) = self.alarm_webhook.clone() else {
            return;
        };
        let alarm = serde_json::json!({
            "alarm": "replica_diverged",
            "replica": self.cosigner.name(),
            "message": describe(divergence),
            "size": divergence.size,
            "first_differing_entry": divergence.first_differing_entry,
            "own_root": BASE64.encode(own_root.0),
            "checkpoint_root": BASE64.encode(their_root.0),
        });
        let agent = self.agent.clone();
        // Off the request's thread: a slow receiver must not hold the refusal.
        std::thread::spawn(move || {
            let sent = agent
                .post(&webhook)
                .header("content-type", "application/json")
                .send(alarm.to_string());
            match sent {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::error!(%webhook, status = %response.status(), "the alarm webhook refused the divergence alarm");
                }
                Err(error) => {
                    tracing::error!(%webhook, %error, "sending the divergence alarm failed");
                }
            }
        });
    }
}

/// A peer's submission prefix from its base URL.
pub fn submission_prefix(base_url: &str) -> String {
    format!("{}{REPLICA_PATH}", base_url.trim().trim_end_matches('/'))
}
