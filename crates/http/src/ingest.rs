//! HTTPS ingest and event status.
//!
//! - `POST /v1/events`: one signed envelope as the body (`Content-Type:
//!   application/x-protobuf`), at most 65 000 bytes, at most so many per source address
//!   (429 with `Retry-After` beyond). Nothing is published or stored unless the envelope could
//!   be accepted as far as the door can tell: undecodable, invalid fields (any kind's header
//!   included) and oversized answer 400; a genesis envelope 422; an unknown, revoked or
//!   unauthorised key or a bad signature 403 (covenant_ledger::Ingest). Embedded (no broker): the
//!   ledger's decision comes back synchronously: 202 when appended (or already in the log),
//!   403 for signature and key problems, 409 for equivocation, 422 for the other rules. With
//!   NATS: 202 once JetStream has stored it, and the decision follows in stream order; poll
//!   the status URL for it.
//! - `GET /v1/events/{event_id}`: accepted (with its entry number), rejected (code and
//!   sentence), or unknown (404: not processed yet, or never seen).

use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use covenant_core::MAX_ENVELOPE_BYTES;
use covenant_core::validate::{RejectCode, Rejection};
use covenant_ledger::IngestReply;
use serde_json::json;

/// Content types accepted for envelope bodies.
const ENVELOPE_CONTENT_TYPES: [&str; 3] = [
    "application/x-protobuf",
    "application/protobuf",
    "application/octet-stream",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/events", post(submit))
        .route("/v1/events/{event_id}", get(status))
}

async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let Some(ingest) = &state.ingest else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server is read-only: it does not accept events",
        );
    };
    if let (Some(limiter), Some(peer)) = (&state.ingest_limit, crate::server::peer_of(&request))
        && let Err(wait) = limiter.check(peer.ip(), std::time::Instant::now())
    {
        return too_many_requests(wait);
    }
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    if let Some(problem) = content_type_problem(&headers) {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &problem);
    }
    let envelope = match read_envelope(body).await {
        Ok(envelope) => envelope,
        Err(response) => {
            if response.status() == StatusCode::BAD_REQUEST {
                ingest.count_refused(RejectCode::Oversized);
            }
            return *response;
        }
    };
    match ingest.submit(envelope).await {
        Ok(reply) => reply_response(reply),
        Err(failure) => {
            tracing::warn!(%failure, "ingest");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the ledger cannot take events right now ({failure}); try again"),
            )
        }
    }
}

fn content_type_problem(headers: &HeaderMap) -> Option<String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if ENVELOPE_CONTENT_TYPES
        .iter()
        .any(|accepted| essence.eq_ignore_ascii_case(accepted))
    {
        return None;
    }
    Some(format!(
        "the body must be a protobuf Envelope with Content-Type application/x-protobuf, not {:?}",
        content_type
    ))
}

/// Read at most one byte more than an envelope may have: anything longer is refused without
/// buffering it. A body that stops arriving (the server's body timeout) or breaks off is not
/// an envelope either.
async fn read_envelope(body: Body) -> Result<Bytes, Box<Response>> {
    axum::body::to_bytes(body, MAX_ENVELOPE_BYTES + 1)
        .await
        .map_err(|failure| {
            let too_long = failure
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            if !too_long {
                return Box::new(error(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive whole in time",
                ));
            }
            let rejection = Rejection::new(
                RejectCode::Oversized,
                format!("envelope is over the {MAX_ENVELOPE_BYTES}-byte limit"),
            );
            Box::new(rejected(StatusCode::BAD_REQUEST, None, &rejection))
        })
}

fn reply_response(reply: IngestReply) -> Response {
    match reply {
        IngestReply::Accepted { event_id, seq } => accepted(&event_id, seq, false),
        IngestReply::Duplicate { event_id, seq } => accepted(&event_id, seq, true),
        IngestReply::Queued {
            event_id,
            stream_seq,
            duplicate,
        } => (
            StatusCode::ACCEPTED,
            Json(json!({
                "event_id": event_id,
                "status": "queued",
                "stream_seq": stream_seq,
                "duplicate": duplicate,
                "status_url": status_url(&event_id),
            })),
        )
            .into_response(),
        IngestReply::Rejected {
            event_id,
            rejection,
        } => rejected(status_for(rejection.code), event_id.as_deref(), &rejection),
    }
}

fn accepted(event_id: &str, seq: u64, duplicate: bool) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "event_id": event_id,
            "status": "accepted",
            "seq": seq,
            "duplicate": duplicate,
            "status_url": status_url(event_id),
        })),
    )
        .into_response()
}

/// The HTTP status of a rejection: 400 for what is wrong with the bytes themselves, 403 for
/// signatures and keys, 409 for equivocation, 422 for rules about the log's state.
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

fn rejected(status: StatusCode, event_id: Option<&str>, rejection: &Rejection) -> Response {
    (
        status,
        Json(json!({
            "event_id": event_id,
            "status": "rejected",
            "code": rejection.code,
            "message": rejection.message,
        })),
    )
        .into_response()
}

/// 429 with `Retry-After` in whole seconds (at least 1).
fn too_many_requests(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.to_string())],
        Json(json!({
            "error": format!("too many envelopes from this address; try again in {seconds} s"),
        })),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn status_url(event_id: &str) -> String {
    format!("/v1/events/{event_id}")
}

async fn status(State(state): State<AppState>, Path(event_id): Path<String>) -> Response {
    let store = state.store.clone();
    let lookup = tokio::task::spawn_blocking(move || {
        let indexed = store.event(&event_id)?;
        let rejections = store.rejections_for(&event_id)?;
        Ok::<_, covenant_store::StoreError>((event_id, indexed, rejections))
    })
    .await;
    let (event_id, indexed, rejections) = match lookup {
        Ok(Ok(found)) => found,
        Ok(Err(failure)) => {
            tracing::error!(%failure, "event status");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("store: {failure}"),
            );
        }
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the lookup failed"),
    };
    let rejection_list: Vec<_> = rejections
        .iter()
        .map(|record| {
            json!({
                "code": record.code,
                "message": record.message,
                "stream_seq": record.stream_seq,
                "stored_at_ns": record.stored_at_ns,
            })
        })
        .collect();
    if let Some(indexed) = indexed {
        return Json(json!({
            "event_id": event_id,
            "status": "accepted",
            "seq": indexed.seq,
            "actor": indexed.actor,
            "digest": hex(&indexed.digest),
            "rejections": rejection_list,
        }))
        .into_response();
    }
    if let Some(latest) = rejections.last() {
        return Json(json!({
            "event_id": event_id,
            "status": "rejected",
            "code": latest.code,
            "message": latest.message,
            "stream_seq": latest.stream_seq,
            "rejections": rejection_list,
        }))
        .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "event_id": event_id,
            "status": "unknown",
            "message": "the ledger has neither accepted nor rejected this event: it has not been processed yet, or was never published",
        })),
    )
        .into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
