//! The JetStream stream that is the ledger's durable input log (docs/NATS.md).
//!
//! The ledger creates it when it is missing and otherwise checks it: a stream that could drop
//! events before every replica has read them (memory storage, an age, count or size limit
//! that discards old messages, interest or work-queue retention, per-message TTLs, rollups,
//! asynchronous persistence) would make the log impossible to rebuild, so the ledger refuses
//! to run against it.

mod consume;

pub(crate) use consume::{Reporting, consume_stream, watch_stream_end};

use crate::LedgerError;
use async_nats::jetstream::{
    self,
    stream::{Config, DiscardPolicy, PersistenceMode, RetentionPolicy, StorageType},
};
use covenant_core::subject::EVENT_SUBJECTS;
use std::time::Duration;

/// Default stream name.
pub const STREAM_NAME: &str = "COVENANT_EVENTS";
/// JetStream's duplicate window on `Nats-Msg-Id`. The ledger's event-id index, not this window,
/// is what makes re-sending safe at any later time.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Subject checkpoints are published on.
pub const CHECKPOINT_SUBJECT: &str = "acct.checkpoints";
/// Prefix of the subjects rejections are published on: `acct.rejected.<event_id>`.
pub const REJECTED_SUBJECT_PREFIX: &str = "acct.rejected.";

/// Which stream to consume and how to create it when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    pub name: String,
    /// Replicas when creating the stream: 3 in production clusters, 1 for a single server
    /// (which then needs `sync_interval: always`).
    pub replicas: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            name: STREAM_NAME.to_owned(),
            replicas: 1,
        }
    }
}

impl StreamSettings {
    /// The configuration the ledger creates the stream with.
    pub fn config(&self) -> Config {
        Config {
            name: self.name.clone(),
            description: Some(
                "Covenant's durable input log: every signed event envelope, kept forever".into(),
            ),
            subjects: vec![EVENT_SUBJECTS.to_owned()],
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            max_messages_per_subject: -1,
            discard: DiscardPolicy::New,
            duplicate_window: DUPLICATE_WINDOW,
            num_replicas: self.replicas,
            deny_delete: true,
            deny_purge: true,
            ..Default::default()
        }
    }
}

/// Everything about a stream configuration that would lose events or hide them from the
/// ledger; empty when the stream is safe to build the log from.
pub fn data_loss_problems(config: &Config) -> Vec<String> {
    let mut problems = vec![];
    if config.storage == StorageType::Memory {
        problems.push(
            "storage is memory (events vanish when the server restarts); use file storage"
                .to_owned(),
        );
    }
    match config.retention {
        RetentionPolicy::Limits => {}
        RetentionPolicy::Interest => problems.push(
            "retention is interest (events are deleted once the current consumers acknowledge them); use limits".to_owned(),
        ),
        RetentionPolicy::WorkQueue => problems.push(
            "retention is workqueue (events are deleted once consumed); use limits".to_owned(),
        ),
    }
    if !config.max_age.is_zero() {
        problems.push(format!(
            "max_age is {:?} (older events are deleted); set no age limit",
            config.max_age
        ));
    }
    if config.discard == DiscardPolicy::Old {
        for (name, value) in [
            ("max_msgs", config.max_messages),
            ("max_bytes", config.max_bytes),
        ] {
            if value > 0 {
                problems.push(format!(
                    "{name} is {value} with discard old (the oldest events are deleted when it is reached); remove the limit"
                ));
            }
        }
    }
    if config.max_messages_per_subject > 0 {
        problems.push(format!(
            "max_msgs_per_subject is {} (older events of an actor are deleted); remove the limit",
            config.max_messages_per_subject
        ));
    }
    if config.allow_rollup {
        problems.push("rollups are allowed (a rollup message deletes earlier events on its subject); disable allow_rollup_hdrs".to_owned());
    }
    if config.allow_message_ttl {
        problems.push(
            "per-message TTLs are allowed (events could expire); disable allow_msg_ttl".to_owned(),
        );
    }
    if config.persist_mode == Some(PersistenceMode::Async) {
        problems.push(
            "persist_mode is async (the server acknowledges before storing); use the default"
                .to_owned(),
        );
    }
    if !config
        .subjects
        .iter()
        .any(|subject| subject == EVENT_SUBJECTS)
    {
        problems.push(format!(
            "subjects are {:?}, which do not cover {EVENT_SUBJECTS} (events published there would not be kept)",
            config.subjects
        ));
    }
    problems
}

/// Settings that are not data loss but that an operator should know about.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut warnings = vec![];
    if !config.deny_delete || !config.deny_purge {
        warnings.push(
            "the stream allows deleting or purging messages; an operator mistake could then make the log impossible to rebuild (set deny_delete and deny_purge)".to_owned(),
        );
    }
    if config.num_replicas < 3 {
        warnings.push(format!(
            "the stream has {} replica(s); unless the server runs with sync_interval: always, JetStream fsyncs only every 2 minutes",
            config.num_replicas.max(1)
        ));
    }
    warnings
}

/// How long to keep trying while JetStream is not ready (a cluster electing its leader).
const STREAM_SETUP_PATIENCE: Duration = Duration::from_secs(30);

/// Create the stream, or check the existing one and refuse it if it could lose events.
/// Retries for a while when JetStream cannot answer yet; a lossy stream is refused at once.
pub async fn ensure_stream(
    jetstream: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<jetstream::stream::Stream, LedgerError> {
    let deadline = tokio::time::Instant::now() + STREAM_SETUP_PATIENCE;
    loop {
        match try_ensure_stream(jetstream, settings).await {
            Err(LedgerError::Nats { action, reason }) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%action, %reason, "JetStream is not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            result => return result,
        }
    }
}

async fn try_ensure_stream(
    jetstream: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<jetstream::stream::Stream, LedgerError> {
    let mut stream = match jetstream.get_stream(&settings.name).await {
        Ok(stream) => stream,
        Err(error) if is_stream_not_found(&error) => {
            tracing::info!(stream = %settings.name, "creating the event stream");
            match jetstream.create_stream(settings.config()).await {
                Ok(stream) => stream,
                // Another replica may have created it a moment ago.
                Err(create_error) => jetstream.get_stream(&settings.name).await.map_err(|_| {
                    LedgerError::nats(&format!("create stream {}", settings.name), create_error)
                })?,
            }
        }
        Err(error) => {
            return Err(LedgerError::nats(
                &format!("look up stream {}", settings.name),
                error,
            ));
        }
    };
    let mut info = stream
        .info()
        .await
        .map_err(|e| LedgerError::nats(&format!("read stream {} settings", settings.name), e))?
        .clone();
    // Asked for more replicas than the stream has (a stream made on one server, then moved
    // to a cluster): raise them, which JetStream does in place. Never lowered: a ledger
    // started with the default of 1 must not take copies away from a cluster's stream.
    if settings.replicas > info.config.num_replicas {
        tracing::info!(
            stream = %settings.name,
            from = info.config.num_replicas,
            to = settings.replicas,
            "raising the event stream's replicas"
        );
        let raised = Config {
            num_replicas: settings.replicas,
            ..info.config.clone()
        };
        info = jetstream.update_stream(raised).await.map_err(|e| {
            LedgerError::nats(&format!("raise stream {} replicas", settings.name), e)
        })?;
    }
    let problems = data_loss_problems(&info.config);
    if !problems.is_empty() {
        return Err(LedgerError::UnsafeStream {
            stream: settings.name.clone(),
            problems: problems.join("; "),
        });
    }
    for warning in warnings(&info.config) {
        tracing::warn!(stream = %settings.name, "{warning}");
    }
    Ok(stream)
}

fn is_stream_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// The subject a rejection is published on: `acct.rejected.<event_id>`, with every character
/// outside `[A-Za-z0-9_:-]` replaced by `_` so that any id makes exactly one subject token.
pub fn rejected_subject(event_id: &str) -> String {
    let token: String = event_id
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let token = if token.is_empty() {
        "_".to_owned()
    } else {
        token
    };
    format!("{REJECTED_SUBJECT_PREFIX}{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_created_stream_is_safe() {
        let config = StreamSettings::default().config();
        assert_eq!(data_loss_problems(&config), Vec::<String>::new());
        assert_eq!(config.duplicate_window, Duration::from_secs(120));
        assert!(
            warnings(
                &StreamSettings {
                    replicas: 3,
                    ..Default::default()
                }
                .config()
            )
            .is_empty()
        );
    }

    #[test]
    fn every_lossy_setting_is_named() {
        let safe = StreamSettings::default().config();
        let cases: Vec<(&str, Config)> = vec![
            (
                "storage is memory",
                Config {
                    storage: StorageType::Memory,
                    ..safe.clone()
                },
            ),
            (
                "retention is interest",
                Config {
                    retention: RetentionPolicy::Interest,
                    ..safe.clone()
                },
            ),
            (
                "retention is workqueue",
                Config {
                    retention: RetentionPolicy::WorkQueue,
                    ..safe.clone()
                },
            ),
            (
                "max_age",
                Config {
                    max_age: Duration::from_secs(86_400),
                    ..safe.clone()
                },
            ),
            (
                "max_msgs is 1000",
                Config {
                    max_messages: 1000,
                    discard: DiscardPolicy::Old,
                    ..safe.clone()
                },
            ),
            (
                "max_bytes is 4096",
                Config {
                    max_bytes: 4096,
                    discard: DiscardPolicy::Old,
                    ..safe.clone()
                },
            ),
            (
                "max_msgs_per_subject",
                Config {
                    max_messages_per_subject: 10,
                    ..safe.clone()
                },
            ),
            (
                "rollups",
                Config {
                    allow_rollup: true,
                    ..safe.clone()
                },
            ),
            (
                "per-message TTLs",
                Config {
                    allow_message_ttl: true,
                    ..safe.clone()
                },
            ),
            (
                "persist_mode is async",
                Config {
                    persist_mode: Some(PersistenceMode::Async),
                    ..safe.clone()
                },
            ),
            (
                "do not cover",
                Config {
                    subjects: vec!["acct.events.GB-GOV-1".into()],
                    ..safe.clone()
                },
            ),
        ];
        for (expected, config) in cases {
            let problems = data_loss_problems(&config);
            assert_eq!(problems.len(), 1, "{expected}: {problems:?}");
            assert!(problems[0].contains(expected), "{expected}: {problems:?}");
        }
        let refusing_new = Config {
            max_messages: 1000,
            discard: DiscardPolicy::New,
            ..safe
        };
        assert!(
            data_loss_problems(&refusing_new).is_empty(),
            "discard new refuses, it does not delete"
        );
    }

    #[test]
    fn rejected_subjects_are_one_token() {
        assert_eq!(
            rejected_subject("01JDQ7Z6X5K3T9V2B8N4M1P0QR"),
            "acct.rejected.01JDQ7Z6X5K3T9V2B8N4M1P0QR"
        );
        assert_eq!(rejected_subject("a.b *>c"), "acct.rejected.a_b___c");
        assert_eq!(rejected_subject(""), "acct.rejected._");
    }
}
