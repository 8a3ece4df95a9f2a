//! HTTPS ingest and event status.
//!
//! - `POST /v1/events`: one signed envelope as the body (`Content-Type` one of
//!   [`ENVELOPE_CONTENT_TYPES`], else 415), at most 65 000 bytes, at most so many per source
//!   address (429 with `Retry-After` beyond). Nothing is published or appended unless the
//!   envelope could be accepted as far as the door can tell: undecodable, invalid fields (any
//!   kind's header included) and oversized answer 400; a genesis envelope 422; an unknown,
//!   revoked or unauthorised key or a bad signature 403 (covenant_ledger::Ingest, which also
//!   remembers each such refusal whose event id could be read, in the store's bounded table of
//!   door refusals). Embedded (no broker): the
//!   ledger's decision comes back synchronously: 202 when appended (or already in the log),
//!   403 for signature and key problems, 409 for equivocation, 422 for the other rules. With
//!   NATS: 202 once JetStream has stored it, and the decision follows in stream order; poll
//!   the status URL for it.
//! - `GET /v1/events/{event_id}`: accepted (with its entry number), rejected (code and
//!   sentence: by the ledger, or at this door when the envelope's event id could be read), or
//!   unknown (404: not processed yet, or never seen).
//!
//! Every refusal and error answers the one error shape of `/v1` (`crate::error`); the answers
//! that are not errors are [`Receipt`] (202) and [`EventStatus`] (200). docs/EMITTERS.md,
//! section 4, shows each, and a test compares its examples with real answers.

use crate::AppState;
use crate::error::{ApiError, ErrorAnswer};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use covenant_core::MAX_ENVELOPE_BYTES;
use covenant_core::validate::{RejectCode, Rejection};
use covenant_ledger::IngestReply;
use covenant_store::RejectionRecord;
use serde::{Deserialize, Serialize};

/// Content types accepted for envelope bodies (parameters such as `; charset=` are ignored,
/// names compare without regard to case).
pub const ENVELOPE_CONTENT_TYPES: [&str; 3] = [
    "application/x-protobuf",
    "application/protobuf",
    "application/octet-stream",
];

/// The ingest routes (see `crate::v1_route_table`).
pub fn route_table() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/v1/events", post(submit)),
        ("/v1/events/{event_id}", get(status)),
    ]
}

/// The answer to an envelope the ledger took (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub event_id: String,
    /// `accepted`: in the log at entry `seq` (embedded ledger); `queued`: stored in the stream
    /// at `stream_seq`, the ledger decides in stream order (ledger on NATS).
    pub status: String,
    /// The entry number, when `accepted`; otherwise null.
    pub seq: Option<u64>,
    /// The stream sequence, when `queued`; otherwise null.
    pub stream_seq: Option<u64>,
    /// Whether the same bytes were already there (nothing was added).
    pub duplicate: bool,
    /// Where to ask about the event later: `/v1/events/{event_id}`.
    pub status_url: String,
}

/// What the ledger decided about an event (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventStatus {
    pub event_id: String,
    /// `accepted` or `rejected`.
    pub status: String,
    /// Accepted: the entry number; otherwise null.
    pub seq: Option<u64>,
    /// Accepted: the actor the event speaks for; otherwise null.
    pub actor: Option<String>,
    /// Accepted: the blake3 digest of the envelope bytes, hex; otherwise null.
    pub digest: Option<String>,
    /// Rejected: the latest rejection's code; otherwise null.
    pub code: Option<String>,
    /// Rejected: the latest rejection's sentence; otherwise null.
    pub message: Option<String>,
    /// Rejected: the latest rejection's stream sequence (0 when it did not come through the
    /// stream); otherwise null.
    pub stream_seq: Option<u64>,
    /// Every rejection recorded under this event id, oldest first: for an accepted event,
    /// envelopes that reused its id.
    pub rejections: Vec<RejectionNote>,
}

/// One rejection recorded under an event id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectionNote {
    pub code: String,
    pub message: String,
    /// 0 when it did not come through the stream (HTTPS).
    pub stream_seq: u64,
    /// When it was decided, nanoseconds since the Unix epoch.
    pub stored_at_ns: u64,
}

impl From<&RejectionRecord> for RejectionNote {
    fn from(record: &RejectionRecord) -> Self {
        Self {
            code: record.code.as_str().to_owned(),
            message: record.message.clone(),
            stream_seq: record.stream_seq,
            stored_at_ns: record.stored_at_ns,
        }
    }
}

/// Submit one signed envelope.
///
/// The body is the envelope's protobuf bytes, at most 65 000. Refusals at the door (nothing is
/// published or stored): 400 undecodable, invalid fields or oversized; 422 a genesis envelope;
/// 403 an unknown, revoked or unauthorised key or a bad signature. A refused envelope whose
/// event id could be read is remembered, and `GET /v1/events/{event_id}` then tells the
/// refusal. Embedded ledger: 202 `accepted` when appended (or already in the log), 403 for
/// signature and key problems, 409 for equivocation, 422 for the other rules. Ledger on NATS:
/// 202 `queued` once JetStream stored it; the decision follows at `status_url`. A refusal's
/// `error.code` is its rejection code and `error.event_id` its event id (null when unreadable).
#[utoipa::path(post, path = "/v1/events", tag = "ingest",
    request_body(description = "one signed covenant.v1.Envelope, protobuf bytes",
        content(("application/x-protobuf"), ("application/protobuf"), ("application/octet-stream"))),
    responses(
        (status = 202, description = "accepted into the log, or queued on the stream", body = Receipt),
        (status = 400, description = "undecodable, non-canonical, invalid or oversized envelope", body = ErrorAnswer),
        (status = 403, description = "signature or key problem", body = ErrorAnswer),
        (status = 408, description = "the body did not arrive whole in time", body = ErrorAnswer),
        (status = 409, description = "equivocation: the event id is in the log with other bytes", body = ErrorAnswer),
        (status = 415, description = "the content type is not one of the accepted ones", body = ErrorAnswer),
        (status = 422, description = "refused by another validation rule", body = ErrorAnswer),
        (status = 429, description = "too many envelopes from this address; see Retry-After", body = ErrorAnswer),
        (status = 503, description = "a read-only server, or the ledger cannot take events now", body = ErrorAnswer),
    ))]
pub async fn submit(State(state): State<AppState>, request: Request) -> Response {
    match try_submit(&state, request).await {
        Ok(receipt) => (StatusCode::ACCEPTED, Json(receipt)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn try_submit(state: &AppState, request: Request) -> Result<Receipt, ApiError> {
    let Some(ingest) = &state.ingest else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_only",
            "this server is read-only: it does not accept events",
        ));
    };
    if let (Some(limiter), Some(peer)) = (&state.ingest_limit, crate::server::peer_of(&request))
        && let Err(wait) = limiter.check(peer.ip(), std::time::Instant::now())
    {
        return Err(ApiError::too_many_requests(wait));
    }
    let (parts, body) = request.into_parts();
    check_content_type(&parts.headers)?;
    let envelope = read_envelope(body).await.inspect_err(|error| {
        if error.status == StatusCode::BAD_REQUEST {
            ingest.count_refused(RejectCode::Oversized);
        }
    })?;
    match ingest.submit(envelope).await {
        Ok(reply) => receipt_for(reply),
        Err(failure) => {
            tracing::warn!(%failure, "ingest");
            Err(ApiError::unavailable(format!(
                "the ledger cannot take events right now ({failure}); try again"
            )))
        }
    }
}

/// 415 unless the body is declared as one of [`ENVELOPE_CONTENT_TYPES`].
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let essence = content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .unwrap_or("")
        .trim();
    if ENVELOPE_CONTENT_TYPES
        .iter()
        .any(|accepted| essence.eq_ignore_ascii_case(accepted))
    {
        return Ok(());
    }
    let given = match &content_type {
        Some(value) => format!("{value:?}"),
        None => "no Content-Type".to_owned(),
    };
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!(
            "the body must be a protobuf Envelope sent as {}; got {given}",
            ENVELOPE_CONTENT_TYPES.join(", ")
        ),
    ))
}

/// Read at most one byte more than an envelope may have: anything longer is refused without
/// buffering it. A body that stops arriving (the server's body timeout) or breaks off is not
/// an envelope either.
async fn read_envelope(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_ENVELOPE_BYTES + 1)
        .await
        .map_err(|failure| {
            let too_long = failure
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            if !too_long {
                return ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    "the request body did not arrive whole in time",
                );
            }
            refusal(
                None,
                &Rejection::new(
                    RejectCode::Oversized,
                    format!("envelope is over the {MAX_ENVELOPE_BYTES}-byte limit"),
                ),
            )
        })
}

fn receipt_for(reply: IngestReply) -> Result<Receipt, ApiError> {
    let receipt = |event_id: String, status: &str, seq, stream_seq, duplicate| Receipt {
        status_url: status_url(&event_id),
        event_id,
        status: status.to_owned(),
        seq,
        stream_seq,
        duplicate,
    };
    match reply {
        IngestReply::Accepted { event_id, seq } => {
            Ok(receipt(event_id, "accepted", Some(seq), None, false))
        }
        IngestReply::Duplicate { event_id, seq } => {
            Ok(receipt(event_id, "accepted", Some(seq), None, true))
        }
        IngestReply::Queued {
            event_id,
            stream_seq,
            duplicate,
        } => Ok(receipt(
            event_id,
            "queued",
            None,
            Some(stream_seq),
            duplicate,
        )),
        IngestReply::Rejected {
            event_id,
            rejection,
        } => Err(refusal(event_id.as_deref(), &rejection)),
    }
}

/// The HTTP status of a rejection: 400 for what is wrong with the bytes themselves, 403 for
/// signatures and keys, 409 for equivocation, 422 for rules about the log's state (and for any
/// code added later).
pub fn status_for(code: RejectCode) -> StatusCode {
    match code {
        RejectCode::Undecodable
        | RejectCode::NonCanonical
        | RejectCode::Oversized
        | RejectCode::InvalidField => StatusCode::BAD_REQUEST,
        RejectCode::BadSignature
        | RejectCode::UnknownKey
        | RejectCode::RevokedKey
        | RejectCode::UnauthorisedKey => StatusCode::FORBIDDEN,
        RejectCode::Equivocation => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A refused envelope as an error answer: its rejection code, sentence and event id.
fn refusal(event_id: Option<&str>, rejection: &Rejection) -> ApiError {
    ApiError::new(
        status_for(rejection.code),
        rejection.code.as_str(),
        rejection.message.clone(),
    )
    .about_event(event_id)
}

fn status_url(event_id: &str) -> String {
    format!("/v1/events/{event_id}")
}

/// What became of an event.
///
/// Accepted (with its entry number), or rejected (the latest rejection's code and sentence,
/// whether the ledger decided it or `POST /v1/events` refused the envelope at the door), with
/// every rejection recorded under the id. An event in the log always answers accepted, however
/// many envelopes were refused under its id. 404 (`not_found`, with `event_id`): the ledger has
/// not processed it yet, or never saw it.
#[utoipa::path(get, path = "/v1/events/{event_id}", tag = "ingest",
    params(
        ("event_id" = String, Path, description = "the event id (ULID or UUIDv7)"),
        ("min_size" = Option<u64>, Query, description = "log size this server's log must have reached (a receipt's seq + 1); below it: 503 with Retry-After, so a load balancer can ask another replica"),
    ),
    responses(
        (status = 200, description = "accepted or rejected", body = EventStatus),
        (status = 400, description = "bad parameters, named", body = ErrorAnswer),
        (status = 404, description = "not processed yet, or never seen", body = ErrorAnswer),
        (status = 500, description = "the store could not be read", body = ErrorAnswer),
        (status = 503, description = "this replica's log is smaller than min_size", headers(("Retry-After" = u64, description = "seconds to wait")), body = ErrorAnswer),
    ))]
pub async fn status(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventStatus>, ApiError> {
    let params = crate::proofs::query_params(raw.as_deref(), &["min_size"])?;
    // A replica whose log is smaller answers 503 rather than "not processed yet".
    let have = state.store.head().size;
    if let Some(min_size) = crate::proofs::number(&params, "min_size")?
        && min_size > have
    {
        return Err(ApiError::not_reached(min_size, have));
    }
    let store = state.store.clone();
    let lookup = tokio::task::spawn_blocking(move || {
        let indexed = store.event(&event_id)?;
        let mut rejections = store.rejections_for(&event_id)?;
        // Door refusals count only when the ledger decided nothing about the id.
        let ledger_decided = indexed.is_some() || !rejections.is_empty();
        if !ledger_decided {
            rejections = store.door_refusals_for(&event_id)?;
        }
        Ok::<_, covenant_store::StoreError>((event_id, indexed, rejections))
    })
    .await;
    let (event_id, indexed, rejections) = match lookup {
        Ok(Ok(found)) => found,
        Ok(Err(failure)) => return Err(ApiError::internal(format!("store: {failure}"))),
        Err(_) => return Err(ApiError::internal("the lookup failed")),
    };
    let notes: Vec<RejectionNote> = rejections.iter().map(RejectionNote::from).collect();
    if let Some(indexed) = indexed {
        return Ok(Json(EventStatus {
            event_id,
            status: "accepted".to_owned(),
            seq: Some(indexed.seq),
            actor: Some(indexed.actor),
            digest: Some(hex(&indexed.digest)),
            code: None,
            message: None,
            stream_seq: None,
            rejections: notes,
        }));
    }
    let Some(latest) = notes.last().cloned() else {
        return Err(ApiError::not_found(
            "the ledger has neither accepted nor rejected this event: it has not been processed yet, or was never published",
        )
        .about_event(Some(&event_id)));
    };
    Ok(Json(EventStatus {
        event_id,
        status: "rejected".to_owned(),
        seq: None,
        actor: None,
        digest: None,
        code: Some(latest.code),
        message: Some(latest.message),
        stream_seq: Some(latest.stream_seq),
        rejections: notes,
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_content_type(value: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_documented_content_types_are_taken_and_nothing_else() {
        for accepted in [
            "application/x-protobuf",
            "application/protobuf",
            "application/octet-stream",
            "Application/X-Protobuf",
            "application/x-protobuf; charset=binary",
            " application/octet-stream ;x=y",
        ] {
            assert!(
                check_content_type(&with_content_type(Some(accepted))).is_ok(),
                "{accepted}"
            );
        }
        for refused in [
            None,
            Some(""),
            Some("application/json"),
            Some("application/x-protobufx"),
            Some("text/plain"),
            Some("multipart/form-data; boundary=x"),
        ] {
            let error = check_content_type(&with_content_type(refused)).unwrap_err();
            assert_eq!(
                error.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{refused:?}"
            );
            assert_eq!(error.detail.code, "unsupported_media_type");
            assert!(
                error.detail.message.contains("application/x-protobuf"),
                "{}",
                error.detail.message
            );
        }
    }

    #[test]
    fn a_refusal_answers_its_rejection_code_and_event_id() {
        let error = refusal(
            Some("01JZ0000000000000000000000"),
            &Rejection::new(RejectCode::UnknownKey, "key k is not granted".to_owned()),
        );
        assert_eq!(error.status, StatusCode::FORBIDDEN);
        assert_eq!(error.detail.code, "unknown_key");
        assert_eq!(
            error.detail.event_id.as_deref(),
            Some("01JZ0000000000000000000000")
        );
        assert_eq!(status_for(RejectCode::Equivocation), StatusCode::CONFLICT);
    }
}
