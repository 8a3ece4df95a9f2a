//! Witnessing: with a [`WitnessPolicy`], a quorum of independent witnesses cosigns the log's
//! checkpoints (C2SP tlog-witness), so a client that requires those cosignatures cannot be
//! shown a split view unless the witnesses collude. By default a checkpoint is stored and
//! published only once cosigned.
//!
//! ```text
//! commit thread ──signed checkpoints──▶ witnessing thread ──cosigned──▶ store, publisher
//!                                       (every witness in parallel, each exchange bounded
//!                                        by the policy's timeout)
//! ```
//!
//! The commit thread only hands checkpoints over, so a slow or unreachable witness never
//! delays an append. Each witness is sent the size it last cosigned (learned from its 409 when
//! unknown) with a consistency proof from the ledger's own tree; every cosignature it returns
//! is verified against the pinned key. Without a quorum nothing is stored or published for
//! that size: the failures are logged and counted, and the newest checkpoint waiting is tried
//! again after the retry interval (a newer head replaces an older one still waiting).
//!
//! Rounds start at most once per [`WitnessTiming::interval`] (10 s by default), however often
//! the ledger signs: a witness serves many logs and needs no more than the newest checkpoint
//! every so often. With [`PublishCheckpoints::WhenCosigned`] (the default) that is also how often
//! checkpoints are published; with [`PublishCheckpoints::AtOnce`] the ledger publishes its own
//! checkpoints at its own pace, as without witnesses, and a cosigned note replaces the
//! log-signed one of its size in the store (the same tree, more signatures), where
//! `LedgerHealth` points readers to the newest. The final checkpoint at shutdown is tried at
//! once.
//!
//! When publication waits for the witnesses, `/log/checkpoint` (the store's latest checkpoint)
//! always carries a quorum; `/log/checkpoint/witnessed` serves the newest cosigned one in
//! either mode (`LedgerHealth::witnessed_size`). Peer replicas are a second group in the same
//! policy ([`WitnessPolicy::of_replicas`], [`WitnessPolicy::with_replicas`]), asked in the same
//! round, each group with its own quorum; their side is `crate::replica`. On restart the newest
//! stored note with a quorum says which members cosigned which size.

use crate::LedgerError;
use crate::checkpoint::{Checkpointer, SignedCheckpoint};
use crate::metrics::LedgerMetrics;
use covenant_core::checkpoint::{VerifiedCheckpoint, verify_checkpoint};
use covenant_core::cosignature::{CosignatureVerifier, cosigned_by};
use covenant_core::merkle::{self, Hash, HashReader};
use covenant_core::tlog_witness::{
    MAX_RESPONSE_BYTES, WitnessRequestError, WitnessResponse, add_checkpoint_url,
    request_cosignature,
};
use covenant_store::{LogReader, LogStore};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One witness the ledger asks for cosignatures.
#[derive(Debug, Clone)]
pub struct PolicyWitness {
    verifier: CosignatureVerifier,
    key: String,
    url: String,
}

impl PolicyWitness {
    /// A witness from its verifier key (`<name>+<key id>+<base64 key>`, as `covenant audit
    /// witness keygen` prints it) and its submission prefix (an http or https URL; requests go
    /// to `<url>/add-checkpoint`).
    pub fn new(key: &str, url: &str) -> Result<Self, LedgerError> {
        let bad = |what: String| LedgerError::WitnessPolicy(what);
        let verifier = CosignatureVerifier::new(key).map_err(|e| bad(format!("key: {e}")))?;
        let url = url.trim();
        let uri = url
            .parse::<ureq::http::Uri>()
            .map_err(|e| bad(format!("url {url:?}: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(bad(format!(
                "url {url:?} is not an http:// or https:// URL with a host"
            )));
        }
        if uri.query().is_some() {
            return Err(bad(format!(
                "url {url:?} has a query; give the witness's submission prefix"
            )));
        }
        Ok(Self {
            verifier,
            key: key.trim().to_owned(),
            url: url.to_owned(),
        })
    }

    /// The witness's name (the first part of its key).
    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl PartialEq for PolicyWitness {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.url == other.url
    }
}

impl Eq for PolicyWitness {}

/// How long to wait for witnesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessTiming {
    /// Longest wait for one witness's answer, including the second request a 409 calls for.
    pub timeout: Duration,
    /// After a round without a quorum, how long until the newest checkpoint is tried again.
    pub retry_interval: Duration,
    /// Shortest time between the starts of two rounds: witnesses serve many logs and are asked
    /// at most this often, whatever the ledger signs meanwhile (every 50 ms under load); each
    /// round takes the newest checkpoint. Since only cosigned checkpoints are published, it
    /// also bounds how often checkpoints are published. Zero: a round as soon as one is due.
    pub interval: Duration,
}

/// When readers see a checkpoint under a witness policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PublishCheckpoints {
    /// Only once a quorum has cosigned it: a client that insists on cosignatures is never
    /// shown anything else, and the published log grows at most once per interval.
    #[default]
    WhenCosigned,
    /// As soon as the log has signed it, at the ledger's own pace; the witnesses cosign the
    /// newest once per interval, and the cosigned note is stored in place of its log-signed one.
    AtOnce,
}

/// How many of the newest stored checkpoints a restart looks through for the newest cosigned
/// one (with publication at once, the ledger stores one every 50 ms under load, and a
/// witnessing round comes every interval).
const RECALL_LIMIT: usize = 10_000;

/// Default of [`WitnessTiming::interval`].
pub const DEFAULT_WITNESS_INTERVAL: Duration = Duration::from_secs(10);

impl Default for WitnessTiming {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_interval: Duration::from_secs(2),
            interval: DEFAULT_WITNESS_INTERVAL,
        }
    }
}

/// Which cosigners must cosign a checkpoint before it is stored and published: external
/// witnesses, peer replicas of this log (see `replica`), or both, each group with its own
/// quorum. Every member speaks C2SP tlog-witness; all are asked in the same round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPolicy {
    /// Witnesses first, then replicas: the order answers and known sizes are kept in.
    members: Vec<PolicyWitness>,
    witnesses: usize,
    quorum: usize,
    replica_quorum: usize,
    timing: WitnessTiming,
    publication: PublishCheckpoints,
}

impl WitnessPolicy {
    /// At least `quorum` of `witnesses` must cosign each checkpoint.
    pub fn new(
        witnesses: Vec<PolicyWitness>,
        quorum: usize,
        timing: WitnessTiming,
    ) -> Result<Self, LedgerError> {
        check_group(WITNESSES, &witnesses, quorum)?;
        if timing.timeout.is_zero() || timing.retry_interval.is_zero() {
            return Err(LedgerError::WitnessPolicy(
                "the timeout and the retry interval must be longer than zero".into(),
            ));
        }
        Ok(Self {
            witnesses: witnesses.len(),
            members: witnesses,
            quorum,
            replica_quorum: 0,
            timing,
            publication: PublishCheckpoints::default(),
        })
    }

    /// At least `quorum` of the peer `replicas` must cosign each checkpoint (no witnesses).
    pub fn of_replicas(
        replicas: Vec<PolicyWitness>,
        quorum: usize,
        timing: WitnessTiming,
    ) -> Result<Self, LedgerError> {
        check_group(REPLICAS, &replicas, quorum)?;
        let mut policy = Self::new(replicas, quorum, timing)?;
        (policy.witnesses, policy.quorum, policy.replica_quorum) = (0, 0, quorum);
        Ok(policy)
    }

    /// Also require `quorum` of the peer `replicas`.
    pub fn with_replicas(
        mut self,
        replicas: Vec<PolicyWitness>,
        quorum: usize,
    ) -> Result<Self, LedgerError> {
        check_group(REPLICAS, &replicas, quorum)?;
        if let Some(both) = replicas
            .iter()
            .find(|r| self.members.iter().any(|m| m.name() == r.name()))
        {
            return Err(LedgerError::WitnessPolicy(format!(
                "{} is both a witness and a replica",
                both.name()
            )));
        }
        self.members.extend(replicas);
        self.replica_quorum = quorum;
        Ok(self)
    }

    /// The external witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.members[..self.witnesses]
    }

    /// How many external witnesses must cosign (0 without witnesses).
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The peer replicas.
    pub fn replicas(&self) -> &[PolicyWitness] {
        &self.members[self.witnesses..]
    }

    /// How many peer replicas must cosign (0 without replicas).
    pub fn replica_quorum(&self) -> usize {
        self.replica_quorum
    }

    /// Whether `cosigned` (by member index) meets every group's quorum.
    fn met_by(&self, cosigned: &[usize]) -> bool {
        let by_witnesses = cosigned.iter().filter(|&&i| i < self.witnesses).count();
        let by_replicas = cosigned.len() - by_witnesses;
        by_witnesses >= self.quorum && by_replicas >= self.replica_quorum
    }

    pub fn timing(&self) -> WitnessTiming {
        self.timing
    }

    /// The same policy, with checkpoints published as `publication` says.
    pub fn publishing(self, publication: PublishCheckpoints) -> Self {
        Self {
            publication,
            ..self
        }
    }

    pub fn publication(&self) -> PublishCheckpoints {
        self.publication
    }
}

const WITNESSES: (&str, &str) = ("witness", "witnesses");
const REPLICAS: (&str, &str) = ("replica", "replicas");

/// A group of cosigners: a quorum it can meet, each member counted once.
fn check_group(
    (kind, kinds): (&str, &str),
    members: &[PolicyWitness],
    quorum: usize,
) -> Result<(), LedgerError> {
    let bad = |what: String| Err(LedgerError::WitnessPolicy(what));
    if quorum == 0 {
        return bad(format!("{kind} quorum must be at least 1"));
    }
    if quorum > members.len() {
        return bad(format!(
            "{kind} quorum {quorum} is more than the {} {kinds} configured",
            members.len()
        ));
    }
    for (index, member) in members.iter().enumerate() {
        if members[..index].iter().any(|m| m.name() == member.name()) {
            return bad(format!(
                "{kind} {} is listed twice; each {kind} counts once towards the quorum",
                member.name()
            ));
        }
    }
    Ok(())
}

/// What the commit thread hands to the witnessing thread.
pub(crate) enum ToWitness {
    /// A newly signed checkpoint (the log's signature only) to get cosigned.
    Cosign(SignedCheckpoint),
    /// The log is idle: publish the latest cosigned checkpoint again.
    Republish,
}

/// Where the witnessing thread reports a checkpoint stored with a quorum: `witnessed` always,
/// `publish` when publication waits for the witnesses.
pub(crate) struct OnCosigned {
    pub(crate) publish: Box<dyn Fn(SignedCheckpoint) + Send + Sync>,
    pub(crate) witnessed: Box<dyn Fn(u64) + Send + Sync>,
}

/// With a policy and a checkpointer: start the witnessing thread and make the checkpointer
/// hand its checkpoints to it. Cosigned checkpoints are stored in `store` and reported to
/// `cosigned`. The thread ends once the checkpointer is dropped, after one last try at the
/// checkpoint still waiting, if any; join it before expecting the last publication.
pub(crate) fn attach(
    checkpointer: Option<Checkpointer>,
    policy: Option<WitnessPolicy>,
    store: Arc<dyn LogStore>,
    metrics: LedgerMetrics,
    cosigned: OnCosigned,
) -> (Option<Checkpointer>, Option<std::thread::JoinHandle<()>>) {
    let (Some(signer), Some(policy)) = (checkpointer.as_ref(), policy) else {
        return (checkpointer, None);
    };
    let publication = policy.publication;
    let stage = WitnessStage {
        known_sizes: vec![0; policy.members.len()],
        policy,
        log_verifier_key: signer.verifier_key(),
        store,
        metrics,
        cosigned,
        agent: witness_agent(),
        published: None,
    };
    let (requests, received) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("covenant-witness".into())
        .spawn(move || stage.run(received))
        .expect("spawn the witnessing thread");
    (
        checkpointer.map(|c| c.witnessed_by(requests, publication)),
        Some(thread),
    )
}

struct WitnessStage {
    policy: WitnessPolicy,
    log_verifier_key: String,
    store: Arc<dyn LogStore>,
    metrics: LedgerMetrics,
    cosigned: OnCosigned,
    agent: ureq::Agent,
    /// The size each witness is believed to have cosigned last, in policy order.
    known_sizes: Vec<u64>,
    /// The latest checkpoint stored with a quorum.
    published: Option<SignedCheckpoint>,
}

/// The HTTP client for witnesses: every status is an answer to interpret, and each request
/// sets its own timeout (what is left of its exchange's).
fn witness_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent("covenant-ledger")
        .build()
        .into()
}

/// What one witness did with one checkpoint.
type Answer = Result<String, WitnessRequestError<String>>;

impl WitnessStage {
    fn run(mut self, requests: mpsc::Receiver<ToWitness>) {
        self.recall_published();
        let mut waiting: Option<SignedCheckpoint> = None;
        let mut retry_at: Option<Instant> = None;
        loop {
            match next_event(&requests, waiting.is_some(), retry_at) {
                Event::Request(ToWitness::Cosign(checkpoint)) => {
                    if waiting.as_ref().is_none_or(|w| w.size <= checkpoint.size) {
                        waiting = Some(checkpoint);
                    }
                    // Take what else is queued before spending time on the network.
                    continue;
                }
                Event::Request(ToWitness::Republish) => {
                    if let Some(published) = &self.published {
                        (self.cosigned.publish)(published.clone());
                    }
                    continue;
                }
                Event::Due => {}
                Event::Closed => break,
            }
            let Some(checkpoint) = waiting.take() else {
                continue;
            };
            let next_round = Instant::now() + self.policy.timing.interval;
            if self.cosign_and_publish(&checkpoint) {
                // Checkpoints signed before the next round may start wait for it; the newest
                // replaces the others.
                retry_at = Some(next_round);
            } else {
                waiting = Some(checkpoint);
                let retry = Instant::now() + self.policy.timing.retry_interval;
                retry_at = Some(retry.max(next_round));
            }
        }
        // Shutting down: one last try, so a final checkpoint is not left unwitnessed when the
        // witnesses are there.
        if let Some(checkpoint) = waiting {
            self.cosign_and_publish(&checkpoint);
        }
    }

    /// The latest stored checkpoint (published again while the log is idle), and the newest
    /// one the policy's quorum cosigned: its size for readers, and the size each of its
    /// cosigners cosigned (the others are asked what they cosigned last).
    fn recall_published(&mut self) {
        if let Err(error) = self.try_recall() {
            tracing::error!(%error, "reading the stored checkpoints");
        }
    }

    fn try_recall(&mut self) -> Result<(), covenant_store::StoreError> {
        let Some((size, note)) = self.store.latest_checkpoint()? else {
            return Ok(());
        };
        self.published = Some(SignedCheckpoint { size, note });
        let sizes = self.store.checkpoint_sizes()?;
        for size in sizes.into_iter().rev().take(RECALL_LIMIT) {
            let Some(note) = self.store.checkpoint(size)? else {
                continue;
            };
            let cosigned = self.cosigners_of(&note);
            if self.policy.met_by(&cosigned) {
                for &index in &cosigned {
                    self.known_sizes[index] = size;
                }
                (self.cosigned.witnessed)(size);
                return Ok(());
            }
        }
        Ok(())
    }

    /// The members whose valid cosignatures `note` carries, by index.
    fn cosigners_of(&self, note: &[u8]) -> Vec<usize> {
        let verifiers: Vec<_> = self
            .policy
            .members
            .iter()
            .map(|w| w.verifier.clone())
            .collect();
        let cosigned = cosigned_by(note, &verifiers).unwrap_or_default();
        (0..verifiers.len())
            .filter(|&i| cosigned.iter().any(|c| c.name() == verifiers[i].name()))
            .collect()
    }

    /// Ask every witness; with a quorum, store and publish the cosigned note. Whether it was.
    fn cosign_and_publish(&mut self, checkpoint: &SignedCheckpoint) -> bool {
        let verified = match verify_checkpoint(&checkpoint.note, &self.log_verifier_key) {
            Ok(verified) => verified,
            Err(error) => {
                tracing::error!(size = checkpoint.size, %error, "the ledger's own checkpoint does not verify");
                return false;
            }
        };
        let answers = self.ask_witnesses(&verified, &checkpoint.note);
        let mut note = checkpoint.note.clone();
        let mut cosigned = Vec::new();
        let mut failures = Vec::new();
        for (index, ((witness, known_size), answer)) in self
            .policy
            .members
            .iter()
            .zip(&mut self.known_sizes)
            .zip(answers)
            .enumerate()
        {
            match answer {
                Ok(lines) => {
                    note.extend_from_slice(lines.as_bytes());
                    *known_size = checkpoint.size;
                    self.metrics.record_cosignature(witness.name());
                    cosigned.push(index);
                }
                Err(error) => {
                    self.metrics.record_witness_failure(witness.name());
                    failures.push(format!("{} ({}): {error}", witness.name(), witness.url));
                }
            }
        }
        let failures = failures.join("; ");
        if !self.policy.met_by(&cosigned) {
            self.metrics.record_missed_quorum();
            tracing::warn!(
                size = checkpoint.size,
                cosigned = cosigned.len(),
                quorum = self.policy.quorum,
                replica_quorum = self.policy.replica_quorum,
                %failures,
                "checkpoint not published: too few witnesses or replicas cosigned it; trying again in {:?}",
                self.policy.timing.retry_interval
            );
            return false;
        }
        if !failures.is_empty() {
            tracing::warn!(size = checkpoint.size, %failures, "witnesses that did not cosign");
        }
        if let Err(error) = self.store.put_checkpoint(checkpoint.size, &note) {
            tracing::error!(size = checkpoint.size, %error, "storing the cosigned checkpoint");
            return false;
        }
        let cosigned: Vec<_> = cosigned
            .iter()
            .map(|&i| self.policy.members[i].name())
            .collect();
        tracing::debug!(size = checkpoint.size, cosigners = ?cosigned, "checkpoint cosigned");
        (self.cosigned.witnessed)(checkpoint.size);
        if self.policy.publication == PublishCheckpoints::AtOnce {
            // Readers had it at once; publishing it again now would show an older size.
            return true;
        }
        let published = SignedCheckpoint {
            size: checkpoint.size,
            note,
        };
        self.metrics.record_checkpoint(published.size);
        (self.cosigned.publish)(published.clone());
        self.published = Some(published);
        true
    }

    /// Every witness's answer, in policy order; the requests run in parallel.
    fn ask_witnesses(&self, checkpoint: &VerifiedCheckpoint, note: &[u8]) -> Vec<Answer> {
        std::thread::scope(|scope| {
            let asks: Vec<_> = self
                .policy
                .members
                .iter()
                .zip(&self.known_sizes)
                .map(|(witness, &known_size)| {
                    scope.spawn(move || self.ask(witness, known_size, checkpoint, note))
                })
                .collect();
            asks.into_iter()
                .map(|ask| {
                    ask.join().unwrap_or_else(|_| {
                        Err(WitnessRequestError::Caller("the request panicked".into()))
                    })
                })
                .collect()
        })
    }

    fn ask(
        &self,
        witness: &PolicyWitness,
        known_size: u64,
        checkpoint: &VerifiedCheckpoint,
        note: &[u8],
    ) -> Answer {
        let url = add_checkpoint_url(&witness.url);
        let tree = StoreHashes(&*self.store);
        // One deadline for the whole exchange: a 409 costs a second request, and a witness
        // must not hold the round (or the shutdown) for longer than the timeout.
        let deadline = Instant::now() + self.policy.timing.timeout;
        request_cosignature(
            checkpoint,
            note,
            known_size,
            Some(&witness.verifier),
            |old_size| {
                merkle::prove_consistency(checkpoint.size, old_size, &tree)
                    .map_err(|e| format!("consistency proof from size {old_size}: {e}"))
            },
            |body| post(&self.agent, &url, &body, deadline),
        )
    }
}

/// What the witnessing thread does next.
enum Event {
    Request(ToWitness),
    /// The checkpoint waiting is due for a round.
    Due,
    /// The checkpointer is gone: the ledger is stopping.
    Closed,
}

/// The next request; or, with a checkpoint waiting, `Due` once nothing is queued and the time
/// the next round may start (if any) has come.
fn next_event(
    requests: &mpsc::Receiver<ToWitness>,
    waiting: bool,
    retry_at: Option<Instant>,
) -> Event {
    let received = match (waiting, retry_at) {
        (false, _) => requests
            .recv()
            .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        (true, None) => requests.try_recv().map_err(|error| match error {
            mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
            mpsc::TryRecvError::Disconnected => mpsc::RecvTimeoutError::Disconnected,
        }),
        (true, Some(at)) => requests.recv_timeout(at.saturating_duration_since(Instant::now())),
    };
    match received {
        Ok(request) => Event::Request(request),
        Err(mpsc::RecvTimeoutError::Timeout) => Event::Due,
        Err(mpsc::RecvTimeoutError::Disconnected) => Event::Closed,
    }
}

/// The store's tree hashes, for the consistency proofs.
pub(crate) struct StoreHashes<'a>(pub(crate) &'a dyn LogReader);

impl HashReader for StoreHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.0.read_hashes(indexes)
    }
}

/// One `add-checkpoint` round trip.
fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
    deadline: Instant,
) -> Result<WitnessResponse, String> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err("no answer within the timeout".to_owned());
    }
    let mut response = agent
        .post(url)
        .config()
        .timeout_global(Some(remaining))
        .build()
        .send(body)
        .map_err(|e| e.to_string())?;
    let content_type = response
        .headers()
        .get(ureq::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES as u64)
        .read_to_vec()
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(WitnessResponse {
        status: response.status().as_u16(),
        content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::checkpoint::LogSigner;
    use covenant_core::cosignature::Cosigner;
    use std::io::{Read, Write};

    /// A witness that answers the first request with a 409 naming size 0 after `delay`, and
    /// never answers the second.
    fn slow_witness(delay: Duration) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let mut connections = Vec::new();
            for (n, stream) in listener.incoming().enumerate() {
                let mut stream = stream.unwrap();
                let mut request = [0; 4096];
                let _ = stream.read(&mut request);
                if n == 0 {
                    std::thread::sleep(delay);
                    let answer = "HTTP/1.1 409 Conflict\r\nContent-Type: text/x.tlog.size\r\n\
                                  Content-Length: 2\r\nConnection: close\r\n\r\n0\n";
                    let _ = stream.write_all(answer.as_bytes());
                } else {
                    connections.push(stream); // held open, unanswered
                }
            }
        });
        url
    }

    #[test]
    fn the_timeout_bounds_a_witness_exchange_not_each_request() {
        let timeout = Duration::from_secs(2);
        let cosigner = Cosigner::new("w1.example", [1; 32]).unwrap();
        let witness = PolicyWitness::new(
            &cosigner.verifier_key(),
            &slow_witness(Duration::from_millis(1500)),
        )
        .unwrap();
        let timing = WitnessTiming {
            timeout,
            retry_interval: Duration::from_secs(1),
            interval: Duration::ZERO,
        };
        let signer = LogSigner::new("log.example/log", [9; 32]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = covenant_store::SledStore::create_or_open(dir.path()).unwrap();
        let stage = WitnessStage {
            known_sizes: vec![0],
            policy: WitnessPolicy::new(vec![witness.clone()], 1, timing).unwrap(),
            log_verifier_key: signer.verifier_key(),
            store: Arc::new(store),
            metrics: LedgerMetrics::default(),
            cosigned: OnCosigned {
                publish: Box::new(|_| {}),
                witnessed: Box::new(|_| {}),
            },
            agent: witness_agent(),
            published: None,
        };
        let note = signer.sign(5, Hash([7; 32]));
        let checkpoint = verify_checkpoint(&note, &signer.verifier_key()).unwrap();
        let started = Instant::now();
        let answer = stage.ask(&witness, 0, &checkpoint, &note);
        let took = started.elapsed();
        assert!(answer.is_err(), "{answer:?}");
        // Per request, the 409 after 1.5 s and then a full timeout for the second request
        // would take 3.5 s.
        assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
    }

    fn witness(name: &str, seed: u8) -> PolicyWitness {
        let key = Cosigner::new(name, [seed; 32]).unwrap().verifier_key();
        PolicyWitness::new(&key, "http://127.0.0.1:9/w").unwrap()
    }

    #[test]
    fn policies_name_what_is_wrong() {
        fn message<T: std::fmt::Debug>(result: Result<T, LedgerError>) -> String {
            result.unwrap_err().to_string()
        }
        let good_key = Cosigner::new("w1.example", [1; 32]).unwrap().verifier_key();
        let bad_key = message(PolicyWitness::new("w1.example+00000000+AAAA", "http://w"));
        assert!(bad_key.starts_with("witness policy: key: "), "{bad_key}");
        for url in [
            "ftp://w.example",
            "w.example",
            "http://",
            "http://w.example/?x=1",
        ] {
            let bad_url = message(PolicyWitness::new(&good_key, url));
            assert!(
                bad_url.starts_with("witness policy: url "),
                "{url}: {bad_url}"
            );
        }
        let two = vec![witness("w1.example", 1), witness("w2.example", 2)];
        let timing = WitnessTiming::default();
        assert_eq!(
            message(WitnessPolicy::new(two.clone(), 0, timing)),
            "witness policy: witness quorum must be at least 1"
        );
        assert_eq!(
            message(WitnessPolicy::new(two.clone(), 3, timing)),
            "witness policy: witness quorum 3 is more than the 2 witnesses configured"
        );
        let twice = vec![witness("w1.example", 1), witness("w1.example", 1)];
        assert!(message(WitnessPolicy::new(twice, 1, timing)).contains("listed twice"));
        let zero = WitnessTiming {
            timeout: Duration::ZERO,
            ..timing
        };
        assert!(WitnessPolicy::new(two.clone(), 1, zero).is_err());
        let policy = WitnessPolicy::new(two, 2, timing).unwrap();
        assert_eq!(policy.quorum(), 2);
        assert_eq!(policy.witnesses()[1].name(), "w2.example");
    }

    #[test]
    fn each_group_meets_its_own_quorum() {
        let timing = WitnessTiming::default();
        let witnesses = vec![witness("w1.example", 1), witness("w2.example", 2)];
        let replicas = vec![witness("r1.example", 3), witness("r2.example", 4)];
        let both = WitnessPolicy::new(witnesses.clone(), 1, timing)
            .unwrap()
            .with_replicas(replicas.clone(), 2)
            .unwrap();
        assert_eq!(both.witnesses().len(), 2);
        assert_eq!(both.replicas()[0].name(), "r1.example");
        assert!(both.met_by(&[1, 2, 3]));
        assert!(!both.met_by(&[0, 1, 2]), "one replica short");
        assert!(!both.met_by(&[2, 3]), "no witness");
        let replicas_only = WitnessPolicy::of_replicas(replicas.clone(), 1, timing).unwrap();
        assert_eq!(
            (replicas_only.quorum(), replicas_only.replica_quorum()),
            (0, 1)
        );
        assert!(replicas_only.witnesses().is_empty());
        assert!(replicas_only.met_by(&[1]));
        assert!(!replicas_only.met_by(&[]));
        let message = WitnessPolicy::new(witnesses, 1, timing)
            .unwrap()
            .with_replicas(vec![witness("w1.example", 1)], 1)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("both a witness and a replica"),
            "{message}"
        );
        let message = WitnessPolicy::of_replicas(replicas, 3, timing)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("replica quorum 3 is more than the 2 replicas"),
            "{message}"
        );
    }
}
