//! Publishing sealed envelopes: to JetStream ([`Publisher`]), or through a ledger's HTTPS
//! ingest ([`crate::https::LedgerPublisher`]); [`Transport`] is either, so the emitter's outbox
//! and its callers work the same way over both.
//!
//! On JetStream, each envelope goes to `acct.events.<actor>` with `Nats-Msg-Id` set to the digest
//! of its bytes (`covenant_core::subject::message_id`), and a publish counts only once JetStream
//! has acknowledged storing it. Broker faults (ack timeouts, no responders while the stream is
//! missing, a dropped connection) are retried with exponential backoff; re-sending is always
//! safe because JetStream drops a byte-identical re-send within its duplicate window and the
//! ledger's event-id index drops it after. The message id is the digest, not the event id, so
//! that no other envelope claiming the same event id can make this one look like a duplicate.

use crate::EmitError;
use crate::build::SealedEvent;
use crate::https::LedgerPublisher;
use crate::status::EventStatus;
use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Exponential backoff for broker faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry; each later wait doubles.
    pub initial_delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
    /// Stop retrying once this much time has passed since the first attempt.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            give_up_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` consecutive failures (1 for the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// For example `nats://127.0.0.1:4222`; several may be given, separated by commas.
    pub nats_url: String,
    /// A NATS `.creds` file (JWT and nkey seed) when the server requires one.
    pub credentials_file: Option<PathBuf>,
    /// How long to wait for JetStream's ack before treating the attempt as failed.
    pub ack_timeout: Duration,
    pub retry: RetryPolicy,
    /// How many publishes [`Publisher::publish_all`] keeps awaiting their acks at once.
    pub max_in_flight: usize,
    /// Publish by `POST /v1/events` to the ledger at this HTTP address instead of through
    /// NATS (for a ledger that runs without a broker); `nats_url` and `credentials_file` are
    /// then unused, and `ack_timeout` bounds each request.
    pub ledger_url: Option<String>,
}

impl PublisherConfig {
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            credentials_file: None,
            ack_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            max_in_flight: 256,
            ledger_url: None,
        }
    }

    /// Publish through the HTTPS ingest of the ledger at `ledger_url`.
    pub fn ledger(ledger_url: impl Into<String>) -> Self {
        Self {
            ledger_url: Some(ledger_url.into()),
            ack_timeout: Duration::from_secs(30),
            ..Self::new("")
        }
    }
}

/// The word that an event is stored: JetStream's ack, or the ledger's answer over HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub event_id: String,
    /// The stream sequence the event is stored at; 0 when an embedded ledger took it
    /// directly (there is no stream).
    pub stream_sequence: u64,
    /// Already stored: JetStream held this event id (a re-send within its duplicate window),
    /// or the ledger's log already holds these bytes.
    pub duplicate: bool,
    /// The ledger's decision, when it came with the receipt (an embedded ledger decides
    /// before it answers); `None` when it follows in stream order (ask with
    /// [`crate::status::LedgerClient`]).
    pub decision: Option<EventStatus>,
}

/// Where events go: a JetStream stream, or a ledger's HTTPS ingest. Both retry faults with
/// the same [`RetryPolicy`] and answer with a [`Receipt`] per event, in order.
#[derive(Debug, Clone)]
pub enum Transport {
    Nats(Box<Publisher>),
    Ledger(LedgerPublisher),
}

impl Transport {
    /// Connect as the configuration says: HTTPS when it names a ledger, NATS otherwise.
    pub async fn connect(config: PublisherConfig) -> Result<Self, EmitError> {
        match &config.ledger_url {
            Some(url) => Ok(Self::Ledger(LedgerPublisher::new(
                url,
                config.retry.clone(),
                config.ack_timeout,
            ))),
            None => Ok(Self::Nats(Box::new(Publisher::connect(config).await?))),
        }
    }

    /// Publish one event and wait for its receipt, retrying faults.
    pub async fn publish(&self, event: &SealedEvent) -> Result<Receipt, EmitError> {
        match self {
            Self::Nats(publisher) => publisher.publish(event).await,
            Self::Ledger(publisher) => publisher.publish(event).await,
        }
    }

    /// Publish events in order, calling `on_receipt` as each is stored.
    pub async fn publish_all(
        &self,
        events: &[SealedEvent],
        on_receipt: impl FnMut(&Receipt),
    ) -> Result<Vec<Receipt>, EmitError> {
        match self {
            Self::Nats(publisher) => publisher.publish_all(events, on_receipt).await,
            Self::Ledger(publisher) => publisher.publish_all(events, on_receipt).await,
        }
    }
}

/// A point at which a crash test stops the emitter (see [`crate::emitter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HaltPoint {
    /// The outbox file is durable, nothing has been sent.
    BeforePublish,
    /// The envelope has been flushed to the broker, the ack not yet read.
    AfterPublish,
}

/// Publishes sealed envelopes and waits for JetStream's acks.
#[derive(Debug, Clone)]
pub struct Publisher {
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    config: PublisherConfig,
    pub(crate) halt_at: Option<HaltPoint>,
}

impl Publisher {
    /// Connect to NATS, retrying while the broker cannot be reached (within the retry policy).
    pub async fn connect(config: PublisherConfig) -> Result<Self, EmitError> {
        let started = Instant::now();
        let mut failures = 0;
        let client = loop {
            match connect_once(&config).await {
                Ok(client) => break client,
                Err(error) if is_permanent_connect_error(&error) => {
                    return Err(EmitError::Connect {
                        url: config.nats_url.clone(),
                        message: error_chain(&error),
                    });
                }
                Err(error) => {
                    failures += 1;
                    let delay = config.retry.delay(failures);
                    if started.elapsed() + delay > config.retry.give_up_after {
                        return Err(EmitError::Connect {
                            url: config.nats_url.clone(),
                            message: format!(
                                "gave up after {failures} attempts: {}",
                                error_chain(&error)
                            ),
                        });
                    }
                    tracing::warn!(url = %config.nats_url, %error, ?delay, "cannot reach nats, retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        };
        let mut jetstream = async_nats::jetstream::new(client.clone());
        jetstream.set_timeout(config.ack_timeout);
        Ok(Self {
            client,
            jetstream,
            config,
            halt_at: None,
        })
    }

    /// The underlying NATS client (for example to flush or to read the stream in tests).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Publish one event and wait for its ack, retrying broker faults.
    pub async fn publish(&self, event: &SealedEvent) -> Result<Receipt, EmitError> {
        let started = Instant::now();
        let mut failures = 0;
        loop {
            let error = match self.send(event).await {
                Ok(ack) => {
                    if self.halt_at == Some(HaltPoint::AfterPublish) {
                        // Make sure the broker has the bytes before stopping, so the crash
                        // really falls between publish and ack.
                        let _ = self.client.flush().await;
                        halt(HaltPoint::AfterPublish, &event.event_id);
                    }
                    match ack.await {
                        Ok(ack) => return Ok(receipt(event, &ack)),
                        Err(error) => error,
                    }
                }
                Err(error) => error,
            };
            failures += 1;
            self.back_off_or_give_up(event, &error, failures, started)
                .await?;
        }
    }

    /// Publish events in order, keeping up to `max_in_flight` acks outstanding, and call
    /// `on_receipt` as each is acknowledged (in order). A failed ack is retried alone, with
    /// backoff, and publishing resumes after it, so every event is stored before this returns.
    pub async fn publish_all(
        &self,
        events: &[SealedEvent],
        mut on_receipt: impl FnMut(&Receipt),
    ) -> Result<Vec<Receipt>, EmitError> {
        let mut receipts = Vec::with_capacity(events.len());
        let mut in_flight: VecDeque<PublishAckFuture> = VecDeque::new();
        let mut next_to_send = 0;
        while receipts.len() < events.len() {
            let mut send_error = None;
            while next_to_send < events.len() && in_flight.len() < self.config.max_in_flight {
                match self.send(&events[next_to_send]).await {
                    Ok(ack) => {
                        in_flight.push_back(ack);
                        next_to_send += 1;
                    }
                    Err(error) => {
                        send_error = Some(error);
                        break;
                    }
                }
            }
            let index = receipts.len();
            let event = &events[index];
            let outcome = match in_flight.pop_front() {
                Some(ack) => ack.await,
                None => {
                    Err(send_error.unwrap_or_else(|| PublishError::new(PublishErrorKind::Other)))
                }
            };
            let receipt = match outcome {
                Ok(ack) => receipt(event, &ack),
                Err(error) if is_permanent_publish_error(&error) => {
                    return Err(EmitError::Publish {
                        event_id: event.event_id.clone(),
                        message: error_chain(&error),
                    });
                }
                Err(error) => {
                    tracing::warn!(event_id = %event.event_id, %error, "publish failed, retrying in order from here");
                    // Events after this one may or may not have been stored; they are sent
                    // again after it, and a re-send of a stored event is a harmless duplicate.
                    in_flight.clear();
                    next_to_send = index + 1;
                    self.publish(event).await?
                }
            };
            on_receipt(&receipt);
            receipts.push(receipt);
        }
        Ok(receipts)
    }

    async fn send(&self, event: &SealedEvent) -> Result<PublishAckFuture, PublishError> {
        let message = PublishMessage::build()
            .payload(event.bytes.clone())
            .message_id(covenant_core::subject::message_id(&event.bytes));
        self.jetstream.send_publish(event.subject(), message).await
    }

    async fn back_off_or_give_up(
        &self,
        event: &SealedEvent,
        error: &PublishError,
        failures: u32,
        started: Instant,
    ) -> Result<(), EmitError> {
        if is_permanent_publish_error(error) {
            return Err(EmitError::Publish {
                event_id: event.event_id.clone(),
                message: error_chain(error),
            });
        }
        let delay = self.config.retry.delay(failures);
        if started.elapsed() + delay > self.config.retry.give_up_after {
            return Err(EmitError::RetriesExhausted {
                event_id: event.event_id.clone(),
                attempts: failures,
                last_error: error_chain(error),
            });
        }
        tracing::warn!(event_id = %event.event_id, %error, ?delay, "broker fault, retrying");
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// Add the NATS identity in `path` to `options`: either a `.creds` file (a user JWT and its
/// seed, as `nsc` makes them) or a file holding only a user nkey seed (`SU...`, as `covenant
/// keys grant --nats-seed-out` writes it), which the server knows by its public key.
pub async fn with_nats_identity(
    options: async_nats::ConnectOptions,
    path: &std::path::Path,
) -> std::io::Result<async_nats::ConnectOptions> {
    let text = tokio::fs::read_to_string(path).await?;
    let seed = text.trim();
    if seed.starts_with("SU") && !seed.contains(char::is_whitespace) {
        nkeys::KeyPair::from_seed(seed).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds no valid nkey seed: {error}", path.display()),
            )
        })?;
        return Ok(options.nkey(seed.to_owned()));
    }
    options.credentials_file(path).await
}

async fn connect_once(
    config: &PublisherConfig,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new()
        .name("covenant-emit")
        .connection_timeout(config.ack_timeout)
        .max_reconnects(None)
        // Come back quickly after a broker restart: the publish retries are waiting on it.
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(50u64.saturating_mul(1 << attempts.min(6)))
                .min(Duration::from_secs(2))
        });
    if let Some(path) = &config.credentials_file {
        options = with_nats_identity(options, path).await.map_err(|error| {
            async_nats::ConnectError::with_source(
                async_nats::ConnectErrorKind::Authentication,
                error,
            )
        })?;
    }
    let addresses: Vec<&str> = config.nats_url.split(',').map(str::trim).collect();
    let addresses: Vec<async_nats::ServerAddr> = addresses
        .iter()
        .map(|address| address.parse())
        .collect::<Result<_, _>>()
        .map_err(|error| {
            async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::ServerParse, error)
        })?;
    options.connect(addresses).await
}

fn is_permanent_connect_error(error: &async_nats::ConnectError) -> bool {
    use async_nats::ConnectErrorKind as Kind;
    matches!(
        error.kind(),
        Kind::ServerParse | Kind::Authentication | Kind::AuthorizationViolation | Kind::Tls
    )
}

/// Faults that retrying cannot fix. Everything else (timeouts, no responders, a broken
/// connection, a full ack window, server errors) is treated as a broker fault and retried.
fn is_permanent_publish_error(error: &PublishError) -> bool {
    matches!(
        error.kind(),
        PublishErrorKind::MaxPayloadExceeded
            | PublishErrorKind::WrongLastMessageId
            | PublishErrorKind::WrongLastSequence
    )
}

fn receipt(event: &SealedEvent, ack: &async_nats::jetstream::publish::PublishAck) -> Receipt {
    Receipt {
        event_id: event.event_id.clone(),
        stream_sequence: ack.sequence,
        duplicate: ack.duplicate,
        decision: None,
    }
}

/// An error and its sources, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Stop here for a crash test: say so on stderr, then wait to be killed.
pub(crate) fn halt(point: HaltPoint, event_id: &str) -> ! {
    use std::io::Write;
    let mut stderr = std::io::stderr();
    let _ = writeln!(stderr, "covenant-emit halted {point:?} {event_id}");
    let _ = stderr.flush();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            give_up_after: Duration::from_secs(10),
        };
        let delays: Vec<u64> = (1..=6)
            .map(|n| policy.delay(n).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn only_unfixable_publish_errors_are_permanent() {
        for kind in [
            PublishErrorKind::TimedOut,
            PublishErrorKind::StreamNotFound,
            PublishErrorKind::BrokenPipe,
            PublishErrorKind::MaxAckPending,
            PublishErrorKind::Other,
        ] {
            assert!(
                !is_permanent_publish_error(&PublishError::new(kind)),
                "{kind:?}"
            );
        }
        assert!(is_permanent_publish_error(&PublishError::new(
            PublishErrorKind::MaxPayloadExceeded
        )));
    }
}
