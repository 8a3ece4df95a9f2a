//! Asking the ledger what became of an event.
//!
//! JetStream's ack means the event is stored in the input stream; whether the ledger accepted
//! it into the log is decided after. The ledger answers `GET /v1/events/<event_id>` with 200
//! and `{"event_id", "status": "accepted" | "rejected", "seq", "code", "message", ...}`, or,
//! when it knows nothing of the event yet, 404 and its error shape
//! `{"error": {"code": "not_found", "message", "parameter": null, "event_id"}}`.
//! The client is blocking (it is called rarely, and from async code it belongs in
//! `tokio::task::spawn_blocking`).

use crate::EmitError;
use std::time::{Duration, Instant};

/// The one error shape of the ledger's `/v1` API, as clients read it:
/// `{"error": {"code", "message", "parameter", "event_id"}}` (docs/API.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ErrorAnswer {
    pub error: ErrorDetail,
}

/// What an error answer says: a machine-readable code, a sentence, and the event it is about
/// when there is one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub event_id: Option<String>,
}

/// What the ledger says about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStatus {
    /// In the log, at entry `seq`.
    Accepted { seq: Option<u64> },
    /// Refused, with a machine-readable code (for example `unknown_commitment`) and a sentence.
    Rejected { code: String, message: String },
    /// Not seen yet (still in the stream, or never published).
    Unknown,
}

impl EventStatus {
    /// The ledger's JSON answer: a status, or the error that says the event is not known.
    pub fn from_json(event_id: &str, body: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Answer {
            Status {
                event_id: String,
                status: String,
                seq: Option<u64>,
                code: Option<String>,
                message: Option<String>,
            },
            Error(ErrorAnswer),
        }
        let answer: Answer = serde_json::from_slice(body)
            .map_err(|error| format!("answer is not the expected JSON: {error}"))?;
        let about = |id: &str| {
            if id == event_id {
                Ok(())
            } else {
                Err(format!(
                    "asked about {event_id} but the answer is about {id}"
                ))
            }
        };
        match answer {
            Answer::Status {
                event_id: id,
                status,
                seq,
                code,
                message,
            } => {
                about(&id)?;
                match status.as_str() {
                    "accepted" => Ok(Self::Accepted { seq }),
                    "rejected" => Ok(Self::Rejected {
                        code: code.unwrap_or_else(|| "unspecified".to_owned()),
                        message: message.unwrap_or_default(),
                    }),
                    other => Err(format!("status {other:?} is not accepted or rejected")),
                }
            }
            Answer::Error(ErrorAnswer { error }) => match (error.code.as_str(), error.event_id) {
                ("not_found", Some(id)) => {
                    about(&id)?;
                    Ok(Self::Unknown)
                }
                (code, _) => Err(format!("error ({code}): {}", error.message)),
            },
        }
    }
}

impl std::fmt::Display for EventStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accepted { seq: Some(seq) } => write!(f, "accepted at entry {seq}"),
            Self::Accepted { seq: None } => write!(f, "accepted"),
            Self::Rejected { code, message } => write!(f, "rejected ({code}): {message}"),
            Self::Unknown => write!(
                f,
                "unknown to the ledger (not processed yet, or never published)"
            ),
        }
    }
}

/// What a row about a commitment is checked against: its owner, who alone may amend or
/// withdraw it; its delivery partners, who may also record actions and outcomes; whether it
/// was withdrawn, after which nothing more may be said of it; and its named indicators, which
/// a change to a target must name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "CommitmentJson")]
pub struct KnownCommitment {
    pub owner: String,
    pub delivery_partners: Vec<String>,
    pub withdrawn: bool,
    pub indicators: Vec<String>,
}

/// The parts of the ledger's `GET /v1/commitments/{id}` answer that [`KnownCommitment`] holds.
#[derive(serde::Deserialize)]
struct CommitmentJson {
    owner: String,
    #[serde(default)]
    delivery_partners: Vec<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    current: TermsJson,
}

#[derive(Default, serde::Deserialize)]
struct TermsJson {
    #[serde(default)]
    indicators: Vec<IndicatorJson>,
}

#[derive(serde::Deserialize)]
struct IndicatorJson {
    indicator_id: String,
}

impl From<CommitmentJson> for KnownCommitment {
    fn from(json: CommitmentJson) -> Self {
        Self {
            owner: json.owner,
            delivery_partners: json.delivery_partners,
            withdrawn: json.status == "withdrawn",
            indicators: json
                .current
                .indicators
                .into_iter()
                .map(|indicator| indicator.indicator_id)
                .collect(),
        }
    }
}

/// A client for the ledger's event status API.
#[derive(Debug, Clone)]
pub struct LedgerClient {
    base_url: String,
    agent: ureq::Agent,
}

impl LedgerClient {
    /// `base_url` is the ledger's HTTP address, for example `http://127.0.0.1:8080`.
    pub fn new(base_url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    pub fn status_url(&self, event_id: &str) -> String {
        format!("{}/v1/events/{event_id}", self.base_url)
    }

    /// Ask once.
    pub fn status(&self, event_id: &str) -> Result<EventStatus, EmitError> {
        if !covenant_core::event::is_valid_event_id(event_id) {
            return Err(EmitError::invalid(
                "event_id",
                format!("{event_id:?} is neither a ULID nor a UUIDv7"),
            ));
        }
        let url = self.status_url(event_id);
        let failed = |message: String| EmitError::Status {
            url: url.clone(),
            message,
        };
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|error| failed(error.to_string()))?;
        let code = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_vec()
            .map_err(|error| failed(error.to_string()))?;
        match EventStatus::from_json(event_id, &body) {
            Ok(status) => Ok(status),
            Err(_) if code >= 400 => {
                let snippet: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                Err(failed(format!(
                    "HTTP {code}: {snippet} (is this the ledger's HTTP address?)"
                )))
            }
            Err(problem) => Err(failed(problem)),
        }
    }

    /// What the ledger knows of a commitment, by its answer to `GET
    /// /v1/commitments/{id}` (`None` for a 404). The query projections follow the log closely
    /// but not instantly, so a commitment accepted a moment ago may not be found yet.
    pub fn commitment(&self, commitment_id: &str) -> Result<Option<KnownCommitment>, EmitError> {
        if !covenant_core::event::is_valid_id(commitment_id) {
            return Ok(None);
        }
        let url = format!(
            "{}/v1/commitments/{}",
            self.base_url,
            path_segment(commitment_id)
        );
        let failed = |message: String| EmitError::Status {
            url: url.clone(),
            message,
        };
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|error| failed(error.to_string()))?;
        match response.status().as_u16() {
            200 => {
                let body = response
                    .body_mut()
                    .read_to_vec()
                    .map_err(|error| failed(error.to_string()))?;
                serde_json::from_slice(&body)
                    .map(Some)
                    .map_err(|error| failed(format!("not a commitment: {error}")))
            }
            404 => Ok(None),
            code => {
                let body = response.body_mut().read_to_string().unwrap_or_default();
                let snippet: String = body.chars().take(200).collect();
                Err(failed(format!(
                    "HTTP {code}: {snippet} (is this the ledger's HTTP address?)"
                )))
            }
        }
    }

    /// Ask until the ledger has decided (accepted or rejected) or `timeout` passes, in which
    /// case the answer is [`EventStatus::Unknown`].
    pub fn wait_for_decision(
        &self,
        event_id: &str,
        timeout: Duration,
    ) -> Result<EventStatus, EmitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status(event_id)?;
            if status != EventStatus::Unknown || Instant::now() >= deadline {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// An id as one URL path segment: ids may hold `/` and `:`, which must not split the path.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JZ0000000000000000000000";

    #[test]
    fn a_commitment_is_known_by_its_owner_partners_status_and_indicators() {
        let withdrawn = br#"{"id":"c-1","status":"withdrawn","owner":"GB-A","delivery_partners":["GB-B"],
            "current":{"title":"T","indicators":[{"indicator_id":"main","target_value":150},{"indicator_id":"homes"}]}}"#;
        assert_eq!(
            serde_json::from_slice::<KnownCommitment>(withdrawn).unwrap(),
            KnownCommitment {
                owner: "GB-A".into(),
                delivery_partners: vec!["GB-B".into()],
                withdrawn: true,
                indicators: vec!["main".into(), "homes".into()],
            }
        );
        let live =
            br#"{"id":"c-1","status":"in_progress","owner":"GB-A","current":{"indicators":[]}}"#;
        let live = serde_json::from_slice::<KnownCommitment>(live).unwrap();
        assert!(!live.withdrawn && live.indicators.is_empty());
    }

    #[test]
    fn parses_each_status() {
        let accepted = format!(r#"{{"event_id":"{ID}","status":"accepted","seq":42}}"#);
        assert_eq!(
            EventStatus::from_json(ID, accepted.as_bytes()),
            Ok(EventStatus::Accepted { seq: Some(42) })
        );
        let rejected = format!(
            r#"{{"event_id":"{ID}","status":"rejected","code":"unknown_commitment","message":"commitment c-9 does not exist"}}"#
        );
        let status = EventStatus::from_json(ID, rejected.as_bytes()).unwrap();
        assert_eq!(
            status,
            EventStatus::Rejected {
                code: "unknown_commitment".into(),
                message: "commitment c-9 does not exist".into()
            }
        );
        assert_eq!(
            status.to_string(),
            "rejected (unknown_commitment): commitment c-9 does not exist"
        );
        let unknown = format!(
            r#"{{"error":{{"code":"not_found","message":"not processed yet","parameter":null,"event_id":"{ID}"}}}}"#
        );
        assert_eq!(
            EventStatus::from_json(ID, unknown.as_bytes()),
            Ok(EventStatus::Unknown)
        );
    }

    #[test]
    fn wrong_answers_are_named() {
        let other = r#"{"event_id":"01JZ0000000000000000000001","status":"accepted"}"#;
        assert!(
            EventStatus::from_json(ID, other.as_bytes())
                .unwrap_err()
                .contains("the answer is about 01JZ0000000000000000000001")
        );
        let odd = format!(r#"{{"event_id":"{ID}","status":"pending"}}"#);
        assert!(
            EventStatus::from_json(ID, odd.as_bytes())
                .unwrap_err()
                .contains("\"pending\"")
        );
        let not_a_ledger = r#"{"error":{"code":"not_found","message":"no such route","parameter":null,"event_id":null}}"#;
        assert!(
            EventStatus::from_json(ID, not_a_ledger.as_bytes())
                .unwrap_err()
                .contains("no such route")
        );
        let someone_else = r#"{"error":{"code":"not_found","message":"x","parameter":null,"event_id":"01JZ0000000000000000000001"}}"#;
        assert!(
            EventStatus::from_json(ID, someone_else.as_bytes())
                .unwrap_err()
                .contains("the answer is about")
        );
        assert!(
            EventStatus::from_json(ID, b"<html>")
                .unwrap_err()
                .contains("not the expected JSON")
        );
    }

    #[test]
    fn urls_and_ids_are_checked_before_asking() {
        let client = LedgerClient::new("http://127.0.0.1:8080/");
        assert_eq!(
            client.status_url(ID),
            format!("http://127.0.0.1:8080/v1/events/{ID}")
        );
        let error = client.status("../../etc").unwrap_err().to_string();
        assert!(error.starts_with("event_id:"), "{error}");
        assert_eq!(
            path_segment("uk-mp:4514/pledge 1"),
            "uk-mp%3A4514%2Fpledge%201"
        );
    }
}
