//! The running ledger: a pipeline from the input (the JetStream stream, or HTTPS requests in
//! embedded mode) through the sequencer to the store, the checkpoints and the publications.
//!
//! ```text
//! input task ──batches──▶ prepare thread ──prepared──▶ commit thread ──▶ publisher task
//! (stream or HTTPS)       (decode, batch-verify       (validate in order, append,   (acct.rejected.*,
//!                          on all cores)               checkpoints, replies)         acct.checkpoints)
//! ```
//!
//! Channels between the stages hold at most one batch, so a slow disk slows the input
//! instead of filling memory. Verification of batch n+1 overlaps the append of batch n.
//!
//! # The pipeline, stage by stage
//!
//! 1. **Input** (a Tokio task). With NATS ([`Ledger::run_stream`]), `consume_stream` reads an
//!    ordered pull consumer from the recorded stream sequence + 1; a batch is the first message
//!    to arrive plus whatever is already buffered, up to [`LedgerOptions::max_batch`], and
//!    while the next stage is busy the input keeps collecting, so batches grow (one fsync for
//!    more events) exactly when the disk is the bottleneck. Embedded ([`Ledger::run_embedded`]),
//!    concurrent HTTPS requests from [`Ingest`] are grouped the same way (`batch_requests`).
//! 2. **Prepare** (`run_prepare`, one thread, rayon inside): `crate::sequencer::prepare`
//!    decodes every envelope and batch-verifies the signatures on all cores, with keys from a
//!    directory of key ids the commit stage updates after each durable batch.
//! 3. **Commit** (`CommitStage::run`, one thread, stream order): `Sequencer::commit` validates
//!    and appends (the sequencer's module docs give the steps and the guarantees).
//! 4. **After the batch is durable:** HTTPS requests (embedded) get their answers, rejections
//!    are handed to the publisher task, and a checkpoint is signed if one is due
//!    (`crate::checkpoint`; with witnesses, `crate::witnessing`).
//!
//! [`RunningLedger::stop`] (Ctrl-C or SIGTERM in `covenant serve`) stops the input, lets the
//! batch in flight finish, signs a final checkpoint and returns the head. [`Ledger::rebuild`]
//! runs the same pipeline over the stream up to its end at the time of the call, publishing
//! nothing.
//!
//! A store that has run embedded is refused on a stream and a store that follows a stream is
//! refused embedded (`LedgerError::ModeMismatch`), because the stream could not reproduce the
//! log; `covenant ledger migrate` moves an embedded log onto a stream instead
//! (`crate::migration`).

use crate::LedgerError;
use crate::checkpoint::{Checkpointer, SignedCheckpoint};
use crate::genesis::GenesisConfig;
use crate::health::LedgerHealth;
use crate::ingest::{EmbeddedRequest, Ingest};
use crate::metrics::LedgerMetrics;
use crate::migration::MigrationKey;
use crate::sequencer::{Disposition, Incoming, Origin, Prepared, Sequencer, StateCheck, prepare};
use crate::stream::{
    self, CHECKPOINT_SUBJECT, Reporting, StreamSettings, consume_stream, watch_stream_end,
};
use crate::witnessing::{self, WitnessPolicy};
use async_nats::jetstream;
use bytes::Bytes;
use covenant_core::checkpoint::LogSigner;
use covenant_store::{Head, LogStore, RejectionRecord};
use futures::FutureExt;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};

/// Tuning of the sequencer; the defaults are the documented behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOptions {
    /// Most envelopes per batch (one store append, one fsync).
    pub max_batch: usize,
    /// Shortest time between two newly signed checkpoints under load. The default, 50 ms,
    /// is what puts an accepted event in a signed checkpoint within 100 ms (the latency
    /// target) including its batch's commit: at 100 ms the wait for the next checkpoint alone
    /// could take the whole budget.
    pub checkpoint_interval: Duration,
    /// Longest time without publishing a checkpoint when the log is idle.
    pub idle_checkpoint_interval: Duration,
    /// Witnesses that must cosign a checkpoint before it is stored and published (see
    /// `witnessing`); none: each checkpoint is stored and published as soon as it is signed.
    pub witnesses: Option<WitnessPolicy>,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            max_batch: 1000,
            checkpoint_interval: Duration::from_millis(50),
            idle_checkpoint_interval: Duration::from_secs(60),
            witnesses: None,
        }
    }
}

/// A ledger over an opened store, ready to run embedded or from a stream.
pub struct Ledger {
    sequencer: Sequencer,
    checkpointer: Option<Checkpointer>,
    metrics: LedgerMetrics,
    health: LedgerHealth,
    options: LedgerOptions,
}

impl Ledger {
    /// Open the ledger over `store`: write or check entry 0. Without a log signer no
    /// checkpoints are signed (used by rebuilds that only need the entries and the roots).
    pub fn open(
        store: Arc<dyn LogStore>,
        genesis: &GenesisConfig,
        log_signer: Option<LogSigner>,
        options: LedgerOptions,
        metrics: LedgerMetrics,
    ) -> Result<Self, LedgerError> {
        if let Some(signer) = &log_signer
            && signer.origin() != genesis.origin
        {
            return Err(LedgerError::InvalidGenesis(format!(
                "the log signing key is for origin {:?} but the genesis origin is {:?}",
                signer.origin(),
                genesis.origin
            )));
        }
        let snapshot_key = log_signer.as_ref().map(LogSigner::snapshot_key);
        let mut sequencer = Sequencer::open_sealed(store, genesis, snapshot_key)?;
        if let Some(signer) = &log_signer {
            sequencer.trust_migrations_by(MigrationKey {
                origin: signer.origin().to_owned(),
                public_key: signer.public_key(),
            });
        }
        let checkpointer = log_signer
            .map(|signer| {
                Checkpointer::new(
                    signer,
                    options.checkpoint_interval,
                    options.idle_checkpoint_interval,
                    &**sequencer.store(),
                    metrics.clone(),
                )
            })
            .transpose()?;
        metrics.set_head(&sequencer.head());
        let health = LedgerHealth::default();
        health.set_head(&sequencer.head());
        Ok(Self {
            sequencer,
            checkpointer,
            metrics,
            health,
            options,
        })
    }

    pub fn head(&self) -> Head {
        self.sequencer.head()
    }

    /// The checkpoint verifier key, when the ledger signs checkpoints.
    pub fn verifier_key(&self) -> Option<String> {
        self.checkpointer.as_ref().map(Checkpointer::verifier_key)
    }

    pub fn metrics(&self) -> &LedgerMetrics {
        &self.metrics
    }

    /// How opening checked the stored validation state (what a restart spent beyond the store).
    pub fn state_check(&self) -> StateCheck {
        self.sequencer.state_check()
    }

    /// The ledger's progress as it runs (log size, stream lag, newest checkpoint), for
    /// readiness checks.
    pub fn health(&self) -> LedgerHealth {
        self.health.clone()
    }

    fn reporting(&self) -> Reporting {
        Reporting {
            metrics: self.metrics.clone(),
            health: self.health.clone(),
        }
    }

    /// Run without a broker: HTTPS ingest goes straight into the sequencer. Needs a Tokio
    /// runtime. The store must not be following a stream.
    pub fn run_embedded(self) -> Result<(Ingest, RunningLedger), LedgerError> {
        let head = self.head();
        if head.stream_seq > 0 {
            return Err(LedgerError::ModeMismatch(format!(
                "this store follows a NATS stream (consumed through stream sequence {}); events accepted without the stream would be missing from it, so replicas and rebuilds could not reproduce the log; start it with a NATS URL",
                head.stream_seq
            )));
        }
        let (request_tx, request_rx) = mpsc::channel(self.options.max_batch * 4);
        let ingest = Ingest::embedded(
            request_tx,
            self.sequencer.keys(),
            self.metrics.clone(),
            self.sequencer.store().clone(),
        );
        let max_batch = self.options.max_batch;
        let running = self.start(None, move |batches, shutdown| {
            batch_requests(request_rx, batches, max_batch, shutdown).map(Ok)
        });
        Ok((ingest, running))
    }

    /// Run from the JetStream stream: create or check the stream, then consume it in order
    /// from the sequence after the one the store has consumed through. Rejections and
    /// checkpoints are published with `client`.
    pub async fn run_stream(
        self,
        client: async_nats::Client,
        settings: &StreamSettings,
    ) -> Result<(Ingest, RunningLedger), LedgerError> {
        let jetstream = jetstream::new(client.clone());
        let mut stream = stream::ensure_stream(&jetstream, settings).await?;
        let last_seq = self.check_stream_position(&mut stream, settings).await?;
        // The lag counts from before the first message arrives: a replica that starts behind
        // is not ready until it has caught up.
        self.health.follow_stream(last_seq);
        let ingest = Ingest::stream(
            jetstream,
            self.sequencer.keys(),
            self.metrics.clone(),
            self.sequencer.store().clone(),
        );
        let start_seq = self.head().stream_seq + 1;
        let (max_batch, reporting) = (self.options.max_batch, self.reporting());
        let running = self.start(Some(client), move |batches, shutdown| async move {
            let watcher = tokio::spawn(watch_stream_end(
                stream.clone(),
                reporting.health.clone(),
                shutdown.clone(),
            ));
            let consumed = consume_stream(
                stream, start_seq, None, max_batch, batches, shutdown, reporting,
            )
            .await;
            watcher.abort();
            consumed
        });
        Ok((ingest, running))
    }

    /// Re-derive the log from the stream: consume every message up to the stream's last
    /// sequence at the time of the call, then stop. Publishes nothing.
    pub async fn rebuild(
        self,
        client: async_nats::Client,
        settings: &StreamSettings,
    ) -> Result<Head, LedgerError> {
        let jetstream = jetstream::new(client);
        let mut stream = jetstream
            .get_stream(&settings.name)
            .await
            .map_err(|e| LedgerError::nats(&format!("open stream {}", settings.name), e))?;
        let last_seq = self.check_stream_position(&mut stream, settings).await?;
        let start_seq = self.head().stream_seq + 1;
        if start_seq > last_seq {
            return Ok(self.head());
        }
        let (max_batch, reporting) = (self.options.max_batch, self.reporting());
        let running = self.start(None, move |batches, shutdown| {
            consume_stream(
                stream,
                start_seq,
                Some(last_seq),
                max_batch,
                batches,
                shutdown,
                reporting,
            )
        });
        running.wait().await
    }

    /// Refuse a store that holds entries the stream cannot reproduce, or that has read past
    /// the stream's end (a different or recreated stream). Returns the stream's last sequence.
    async fn check_stream_position(
        &self,
        stream: &mut jetstream::stream::Stream,
        settings: &StreamSettings,
    ) -> Result<u64, LedgerError> {
        let head = self.head();
        if head.size > 1 && head.stream_seq == 0 {
            return Err(LedgerError::ModeMismatch(format!(
                "this store holds {} entries accepted without a stream (embedded mode); they are not in stream {}, so replicas and rebuilds could not reproduce them; keep running it without a NATS URL, or move it onto the stream with `covenant ledger migrate`",
                head.size - 1,
                settings.name
            )));
        }
        let info = stream
            .info()
            .await
            .map_err(|e| LedgerError::nats(&format!("read stream {}", settings.name), e))?;
        let last_seq = info.state.last_sequence;
        if head.stream_seq > last_seq {
            return Err(LedgerError::ModeMismatch(format!(
                "this store has consumed stream {} through sequence {}, but the stream ends at sequence {}; it is a different or recreated stream, and consuming it would skip events",
                settings.name, head.stream_seq, last_seq
            )));
        }
        Ok(last_seq)
    }

    fn start<F, Fut>(self, publish_with: Option<async_nats::Client>, input: F) -> RunningLedger
    where
        F: FnOnce(mpsc::Sender<InputBatch>, watch::Receiver<bool>) -> Fut,
        Fut: std::future::Future<Output = Result<(), LedgerError>> + Send + 'static,
    {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (batch_tx, batch_rx) = mpsc::channel::<InputBatch>(1);
        let (prepared_tx, prepared_rx) = std_mpsc::sync_channel::<PreparedBatch>(1);
        let (publish_tx, publish_rx) = mpsc::unbounded_channel::<Publication>();
        let keys = self.sequencer.keys();
        let prepare_thread = std::thread::Builder::new()
            .name("covenant-prepare".into())
            .spawn(move || run_prepare(batch_rx, prepared_tx, keys))
            .expect("spawn the prepare thread");
        let publish_tx = publish_with.as_ref().map(|_| publish_tx);
        let publish_cosigned = publish_tx.clone();
        let cosigned_health = self.health.clone();
        let witnessed_health = self.health.clone();
        let (checkpointer, witnessing_thread) = witnessing::attach(
            self.checkpointer,
            self.options.witnesses.clone(),
            self.sequencer.store().clone(),
            self.metrics.clone(),
            witnessing::OnCosigned {
                publish: Box::new(move |checkpoint| {
                    cosigned_health.record_checkpoint(checkpoint.size);
                    if let Some(publish) = &publish_cosigned {
                        let _ = publish.send(Publication::Checkpoint(checkpoint));
                    }
                }),
                witnessed: Box::new(move |size| witnessed_health.record_witnessed(size)),
            },
        );
        let (commit_done_tx, commit_done_rx) = oneshot::channel();
        let commit = CommitStage {
            sequencer: self.sequencer,
            checkpointer,
            metrics: self.metrics,
            health: self.health,
            publish: publish_tx,
        };
        std::thread::Builder::new()
            .name("covenant-commit".into())
            .spawn(move || {
                let result = commit.run(prepared_rx);
                let _ = commit_done_tx.send(result);
            })
            .expect("spawn the commit thread");
        let input_task = tokio::spawn(input(batch_tx, shutdown_rx));
        let publisher = publish_with.map(|client| tokio::spawn(publish(client, publish_rx)));
        let done = tokio::spawn(async move {
            let committed = commit_done_rx.await.unwrap_or(Err(LedgerError::Stopped));
            let input = input_task.await.unwrap_or(Err(LedgerError::Stopped));
            let _ = tokio::task::spawn_blocking(move || prepare_thread.join()).await;
            if let Some(witnessing) = witnessing_thread {
                let _ = tokio::task::spawn_blocking(move || witnessing.join()).await;
            }
            if let Some(publisher) = publisher {
                let _ = publisher.await;
            }
            let head = committed?;
            input?;
            Ok(head)
        });
        RunningLedger::new(shutdown_tx, done)
    }
}

/// A ledger that is running. Stop it with [`RunningLedger::stop`]; it also stops by itself
/// on a fatal error (or at the end of a rebuild), which [`RunningLedger::finished`] notices.
pub struct RunningLedger {
    shutdown: watch::Sender<bool>,
    done: Option<tokio::task::JoinHandle<Result<Head, LedgerError>>>,
    result: Option<Result<Head, LedgerError>>,
}

impl RunningLedger {
    fn new(
        shutdown: watch::Sender<bool>,
        done: tokio::task::JoinHandle<Result<Head, LedgerError>>,
    ) -> Self {
        Self {
            shutdown,
            done: Some(done),
            result: None,
        }
    }

    /// Stop taking input, finish the batch in flight, sign a final checkpoint, and return
    /// the head.
    pub async fn stop(self) -> Result<Head, LedgerError> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Wait until the ledger stops and return how it ended.
    pub async fn wait(mut self) -> Result<Head, LedgerError> {
        self.finished().await;
        self.result.take().unwrap_or(Err(LedgerError::Stopped))
    }

    /// Resolves once the ledger has stopped; safe to cancel and to call again.
    pub async fn finished(&mut self) {
        if let Some(done) = &mut self.done {
            let result = done.await.unwrap_or(Err(LedgerError::Stopped));
            self.result = Some(result);
            self.done = None;
        }
    }

    /// A handle that asks the ledger to stop, for signal handlers.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.shutdown.clone())
    }
}

/// Asks a running ledger to stop.
#[derive(Clone)]
pub struct Stopper(watch::Sender<bool>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// A batch from the input stage. `replies` is empty for stream input and has one sender per
/// item for HTTPS requests.
pub(crate) struct InputBatch {
    pub(crate) items: Vec<Incoming>,
    pub(crate) replies: Vec<oneshot::Sender<Disposition>>,
}

struct PreparedBatch {
    prepared: Vec<Prepared>,
    replies: Vec<oneshot::Sender<Disposition>>,
}

fn run_prepare(
    mut batches: mpsc::Receiver<InputBatch>,
    prepared: std_mpsc::SyncSender<PreparedBatch>,
    keys: crate::sequencer::KeyDirectory,
) {
    while let Some(batch) = batches.blocking_recv() {
        let ready = PreparedBatch {
            prepared: prepare(batch.items, &keys),
            replies: batch.replies,
        };
        if prepared.send(ready).is_err() {
            return;
        }
    }
}

/// Something to publish on core NATS once it is durable.
enum Publication {
    Rejection(RejectionRecord),
    Checkpoint(SignedCheckpoint),
}

struct CommitStage {
    sequencer: Sequencer,
    checkpointer: Option<Checkpointer>,
    metrics: LedgerMetrics,
    health: LedgerHealth,
    publish: Option<mpsc::UnboundedSender<Publication>>,
}

impl CommitStage {
    fn run(mut self, prepared: std_mpsc::Receiver<PreparedBatch>) -> Result<Head, LedgerError> {
        loop {
            let wait = self.checkpoint_due_in();
            match prepared.recv_timeout(wait) {
                Ok(batch) => self.commit(batch)?,
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
            self.poll_checkpoint()?;
        }
        let head = self.sequencer.head();
        if let Some(checkpointer) = &mut self.checkpointer
            && self.health.divergence().is_none()
            && let Some(checkpoint) =
                checkpointer.finish(&head, &**self.sequencer.store(), Instant::now())?
        {
            self.metrics.record_checkpoint(checkpoint.size);
            self.health.record_checkpoint(checkpoint.size);
            self.send(Publication::Checkpoint(checkpoint));
        }
        Ok(head)
    }

    fn checkpoint_due_in(&self) -> Duration {
        let signs = self.health.divergence().is_none();
        self.checkpointer
            .as_ref()
            .filter(|_| signs)
            .map_or(Duration::from_secs(3600), |checkpointer| {
                checkpointer.due_in(&self.sequencer.head(), Instant::now())
            })
    }

    fn commit(&mut self, batch: PreparedBatch) -> Result<(), LedgerError> {
        let started = Instant::now();
        let report = self.sequencer.commit(batch.prepared)?;
        self.metrics.record_batch(&report, started.elapsed());
        self.health.set_head(&report.head);
        let mut replies = batch.replies.into_iter();
        for outcome in report.outcomes {
            if let Disposition::Rejected(record) = &outcome {
                tracing::debug!(event_id = %record.event_id, code = %record.code, "{}", record.message);
                self.send(Publication::Rejection(record.clone()));
            }
            if let Some(reply) = replies.next() {
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }

    fn poll_checkpoint(&mut self) -> Result<(), LedgerError> {
        let head = self.sequencer.head();
        let Some(checkpointer) = &mut self.checkpointer else {
            return Ok(());
        };
        // A replica whose log differs from its peers' signs nothing more (see `replica`).
        if self.health.divergence().is_some() {
            return Ok(());
        }
        if let Some((checkpoint, newly_signed)) =
            checkpointer.poll(&head, &**self.sequencer.store(), Instant::now())?
        {
            if newly_signed {
                self.metrics.record_checkpoint(checkpoint.size);
            }
            // Signed or published again: either way readers have a fresh checkpoint.
            self.health.record_checkpoint(checkpoint.size);
            self.send(Publication::Checkpoint(checkpoint));
        }
        Ok(())
    }

    fn send(&self, publication: Publication) {
        if let Some(publish) = &self.publish {
            let _ = publish.send(publication);
        }
    }
}

/// The JSON published on `acct.rejected.<event_id>`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct RejectionNotice {
    pub event_id: String,
    pub code: covenant_core::validate::RejectCode,
    pub message: String,
    pub stream_seq: u64,
    pub stored_at_ns: u64,
}

async fn publish(
    client: async_nats::Client,
    mut publications: mpsc::UnboundedReceiver<Publication>,
) {
    while let Some(publication) = publications.recv().await {
        let (subject, payload) = match publication {
            Publication::Rejection(record) => {
                let notice = RejectionNotice {
                    event_id: record.event_id,
                    code: record.code,
                    message: record.message,
                    stream_seq: record.stream_seq,
                    stored_at_ns: record.stored_at_ns,
                };
                let payload = serde_json::to_vec(&notice).expect("a notice serialises");
                (stream::rejected_subject(&notice.event_id), payload)
            }
            Publication::Checkpoint(checkpoint) => (CHECKPOINT_SUBJECT.to_owned(), checkpoint.note),
        };
        if let Err(error) = client.publish(subject.clone(), Bytes::from(payload)).await {
            tracing::warn!(%subject, %error, "publishing");
        }
    }
    // Bounded: a broker that went away first (stopped with the ledger) must not hold the
    // ledger's shutdown; everything published is durable in the store already.
    match tokio::time::timeout(Duration::from_secs(5), client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "flushing publications"),
        Err(_) => tracing::warn!("the broker did not take the last publications within 5 s"),
    }
}

pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// Embedded mode: group concurrent HTTPS requests into batches (one fsync for all of them).
/// The local clock gives the stored-at time here, and only here: there is no broker whose
/// storage time replicas could share. The sequencer keeps it non-decreasing.
async fn batch_requests(
    mut requests: mpsc::Receiver<EmbeddedRequest>,
    batches: mpsc::Sender<InputBatch>,
    max_batch: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let first = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        let stored_at_ns = now_ns();
        let mut batch = InputBatch {
            items: Vec::new(),
            replies: Vec::new(),
        };
        let mut next = Some(first);
        while let Some(request) = next.take() {
            batch.items.push(Incoming {
                envelope: request.envelope,
                stored_at_ns,
                origin: Origin::Direct,
            });
            batch.replies.push(request.reply);
            if batch.items.len() < max_batch {
                next = requests.try_recv().ok();
            }
        }
        if batches.send(batch).await.is_err() {
            return;
        }
    }
}
