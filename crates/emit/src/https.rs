//! Publishing sealed envelopes through a ledger's HTTPS ingest, `POST /v1/events`, for ledgers
//! that run without a broker (embedded) or when the broker is not reachable from the emitter.
//!
//! The guarantees are the NATS path's, through the ledger's own answers:
//! - a request that did not get an answer (the ledger unreachable, restarting, busy: a
//!   connection error, a timeout, 429 or 5xx) is retried with the same backoff policy;
//!   re-sending is always safe because the ledger's event-id index turns a second copy of the
//!   same bytes into a duplicate (202 with `"duplicate": true`), however late it comes;
//! - an answer is a receipt: 202 when the ledger took the event (an embedded ledger says
//!   `accepted` with the entry number; one on NATS says `queued` with the stream sequence),
//!   400/403/409/422 when it rejected it, with the code and sentence in the ledger's error
//!   shape; either way the event reached the ledger and is not sent again;
//! - any other answer (404: not a ledger's address; 415) cannot be fixed by retrying.
//!
//! `ureq` is blocking, so each request runs on Tokio's blocking pool.

use crate::EmitError;
use crate::build::SealedEvent;
use crate::publish::{Receipt, RetryPolicy};
use crate::status::EventStatus;
use std::time::{Duration, Instant};

/// The content type of an envelope body.
const PROTOBUF: &str = "application/x-protobuf";

/// Publishes sealed envelopes by `POST /v1/events` and reads the ledger's answers.
#[derive(Debug, Clone)]
pub struct LedgerPublisher {
    base_url: String,
    agent: ureq::Agent,
    retry: RetryPolicy,
}

/// One answer to a POST, classified.
#[derive(Debug)]
enum Answer {
    /// The ledger took it or rejected it: done.
    Receipt(Receipt),
    /// Worth trying again later (the ledger could not take it now).
    Retry(String),
    /// Retrying cannot help.
    Permanent(String),
}

impl LedgerPublisher {
    /// `base_url` is the ledger's HTTP address, for example `https://ledger.example.org`;
    /// `timeout` bounds each request.
    pub fn new(base_url: &str, retry: RetryPolicy, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
            retry,
        }
    }

    pub fn events_url(&self) -> String {
        format!("{}/v1/events", self.base_url)
    }

    /// Publish one event and wait for the ledger's answer, retrying while it cannot answer.
    pub async fn publish(&self, event: &SealedEvent) -> Result<Receipt, EmitError> {
        let started = Instant::now();
        let mut failures = 0;
        loop {
            let publisher = self.clone();
            let sent = event.clone();
            let answer = tokio::task::spawn_blocking(move || publisher.post(&sent))
                .await
                .unwrap_or_else(|error| Answer::Permanent(format!("the request failed: {error}")));
            match answer {
                Answer::Receipt(receipt) => return Ok(receipt),
                Answer::Permanent(message) => {
                    return Err(EmitError::Publish {
                        event_id: event.event_id.clone(),
                        message,
                    });
                }
                Answer::Retry(problem) => {
                    failures += 1;
                    let delay = self.retry.delay(failures);
                    if started.elapsed() + delay > self.retry.give_up_after {
                        return Err(EmitError::RetriesExhausted {
                            event_id: event.event_id.clone(),
                            attempts: failures,
                            last_error: problem,
                        });
                    }
                    tracing::warn!(event_id = %event.event_id, %problem, ?delay, "the ledger cannot take events now, retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Publish events one after another, in order (an action must reach the ledger after the
    /// commitment it serves, and concurrent requests could overtake each other), calling
    /// `on_receipt` as each is answered.
    pub async fn publish_all(
        &self,
        events: &[SealedEvent],
        mut on_receipt: impl FnMut(&Receipt),
    ) -> Result<Vec<Receipt>, EmitError> {
        let mut receipts = Vec::with_capacity(events.len());
        for event in events {
            let receipt = self.publish(event).await?;
            on_receipt(&receipt);
            receipts.push(receipt);
        }
        Ok(receipts)
    }

    fn post(&self, event: &SealedEvent) -> Answer {
        let url = self.events_url();
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", PROTOBUF)
            .send(&event.bytes[..]);
        let mut response = match response {
            Ok(response) => response,
            Err(error) if is_permanent(&error) => {
                return Answer::Permanent(format!("POST {url}: {error}"));
            }
            Err(error) => return Answer::Retry(format!("POST {url}: {error}")),
        };
        let code = response.status().as_u16();
        let body = match response.body_mut().read_to_vec() {
            Ok(body) => body,
            Err(error) => return Answer::Retry(format!("POST {url}: reading the answer: {error}")),
        };
        classify(&event.event_id, code, &body)
            .unwrap_or_else(|problem| Answer::Permanent(format!("POST {url}: {problem}")))
    }
}

/// Errors no retry can fix: a malformed address, TLS refusing the server's certificate.
fn is_permanent(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::Tls(_)
            | ureq::Error::Rustls(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::RedirectFailed
            | ureq::Error::TooManyRedirects
    )
}

/// The ledger's answer to a POST: what it says about the event, or why it is not an answer.
///
/// 202 carries a receipt (`{"event_id", "status": "accepted" | "queued", "seq",
/// "stream_seq", "duplicate", "status_url"}`); every refusal and error carries the one error
/// shape of the ledger's `/v1` API, `{"error": {"code", "message", "parameter",
/// "event_id"}}`, where a refused envelope's code is its rejection code (docs/EMITTERS.md,
/// section 4).
fn classify(event_id: &str, code: u16, body: &[u8]) -> Result<Answer, String> {
    #[derive(serde::Deserialize)]
    struct Accepted {
        event_id: String,
        status: String,
        seq: Option<u64>,
        stream_seq: Option<u64>,
        #[serde(default)]
        duplicate: bool,
    }
    let snippet = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(200)
            .collect::<String>()
    };
    if code == 429 || code >= 500 {
        return Ok(Answer::Retry(format!("HTTP {code}: {}", snippet())));
    }
    let about_another = |id: &str| {
        format!(
            "sent {event_id} but the answer is about {id}: {}",
            snippet()
        )
    };
    if code == 202 {
        let Ok(answer) = serde_json::from_slice::<Accepted>(body) else {
            return Err(format!(
                "HTTP {code}: {} (is this the ledger's address?)",
                snippet()
            ));
        };
        if answer.event_id != event_id {
            return Err(about_another(&answer.event_id));
        }
        let decision = match answer.status.as_str() {
            "accepted" => Some(EventStatus::Accepted { seq: answer.seq }),
            "queued" => None,
            other => return Err(format!("HTTP 202 with status {other:?}: {}", snippet())),
        };
        return Ok(Answer::Receipt(Receipt {
            event_id: event_id.to_owned(),
            stream_sequence: answer.stream_seq.unwrap_or(0),
            duplicate: answer.duplicate,
            decision,
        }));
    }
    let Ok(crate::status::ErrorAnswer { error }) = serde_json::from_slice(body) else {
        return Err(format!(
            "HTTP {code}: {} (is this the ledger's address?)",
            snippet()
        ));
    };
    if let Some(id) = &error.event_id
        && id != event_id
    {
        return Err(about_another(id));
    }
    match code {
        // The ledger decided: a receipt, not something to retry.
        400 | 403 | 409 | 422 => Ok(Answer::Receipt(Receipt {
            event_id: event_id.to_owned(),
            stream_sequence: 0,
            duplicate: false,
            decision: Some(EventStatus::Rejected {
                code: error.code,
                message: error.message,
            }),
        })),
        _ => Err(format!("HTTP {code} ({}): {}", error.code, error.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JZ0000000000000000000000";

    fn receipt_of(code: u16, body: &str) -> Receipt {
        match classify(ID, code, body.as_bytes()) {
            Ok(Answer::Receipt(receipt)) => receipt,
            other => panic!("{code} {body}: {other:?}"),
        }
    }

    #[test]
    fn answers_that_say_what_the_ledger_did_are_receipts() {
        let accepted = receipt_of(
            202,
            &format!(
                r#"{{"event_id":"{ID}","status":"accepted","seq":7,"stream_seq":null,"duplicate":false}}"#
            ),
        );
        assert_eq!(
            accepted.decision,
            Some(EventStatus::Accepted { seq: Some(7) })
        );
        assert!(!accepted.duplicate);
        let again = receipt_of(
            202,
            &format!(r#"{{"event_id":"{ID}","status":"accepted","seq":7,"duplicate":true}}"#),
        );
        assert!(again.duplicate);
        let queued = receipt_of(
            202,
            &format!(
                r#"{{"event_id":"{ID}","status":"queued","stream_seq":12,"duplicate":false}}"#
            ),
        );
        assert_eq!((queued.stream_sequence, queued.decision), (12, None));
        let rejected = receipt_of(
            422,
            &format!(
                r#"{{"error":{{"code":"unknown_commitment","message":"no such commitment","parameter":null,"event_id":"{ID}"}}}}"#
            ),
        );
        assert_eq!(
            rejected.decision,
            Some(EventStatus::Rejected {
                code: "unknown_commitment".into(),
                message: "no such commitment".into()
            })
        );
    }

    #[test]
    fn a_ledger_that_cannot_answer_now_is_retried_and_a_wrong_address_is_not() {
        for (code, body) in [
            (
                503,
                r#"{"error":{"code":"unavailable","message":"the ledger cannot take events right now","parameter":null,"event_id":null}}"#,
            ),
            (502, "<html>bad gateway</html>"),
            (429, ""),
        ] {
            assert!(
                matches!(classify(ID, code, body.as_bytes()), Ok(Answer::Retry(_))),
                "{code}"
            );
        }
        let not_found = classify(ID, 404, b"<html>no</html>").err().unwrap();
        assert!(
            not_found.contains("is this the ledger's address?"),
            "{not_found}"
        );
        let unsupported = classify(
            ID,
            415,
            br#"{"error":{"code":"unsupported_media_type","message":"the body must be a protobuf","parameter":null,"event_id":null}}"#,
        )
        .err()
        .unwrap();
        assert!(
            unsupported.contains("the body must be a protobuf")
                && unsupported.contains("unsupported_media_type"),
            "{unsupported}"
        );
        // A rejection about another event is not this event's receipt.
        let other_rejected = r#"{"error":{"code":"bad_signature","message":"no","parameter":null,"event_id":"01JZ0000000000000000000001"}}"#;
        let mixed_up = classify(ID, 403, other_rejected.as_bytes()).err().unwrap();
        assert!(mixed_up.contains("the answer is about"), "{mixed_up}");
        // A refusal of bytes whose id could not be read is still this event's receipt.
        let unreadable = receipt_of(
            400,
            r#"{"error":{"code":"undecodable","message":"not an envelope","parameter":null,"event_id":null}}"#,
        );
        assert!(
            matches!(unreadable.decision, Some(EventStatus::Rejected { ref code, .. }) if code == "undecodable")
        );
        let other = r#"{"event_id":"01JZ0000000000000000000001","status":"accepted"}"#;
        let mixed_up = classify(ID, 202, other.as_bytes()).err().unwrap();
        assert!(mixed_up.contains("the answer is about"), "{mixed_up}");
    }
}
