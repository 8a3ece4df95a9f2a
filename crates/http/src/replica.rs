//! A replica's side of cross-checking (see `covenant_ledger::replica`), under `/replica/`:
//!
//! - `POST /replica/add-checkpoint`: C2SP tlog-witness; cosigned only when this replica's own
//!   log has the same root at that size;
//! - `GET /replica/root/<size>`: this replica's tree root at `size` (base64), which a peer
//!   bisects to name the first entry where two logs differ.
//!
//! Served only by a `covenant serve` given a replica key; elsewhere both answer 404. Meant for
//! the replicas' private network, like the NATS routes: nothing here is for readers.

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::tlog_witness::MAX_REQUEST_BYTES;
use covenant_ledger::ReplicaRefusal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/replica/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/replica/root/{size}", get(root))
}

fn not_a_replica() -> Response {
    (
        StatusCode::NOT_FOUND,
        "this server has no replica key: it does not cosign as a replica\n",
    )
        .into_response()
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn add_checkpoint(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(replica) = state.replica.clone() else {
        return not_a_replica();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    // Blocking: it reads the store and may wait a moment for this replica's log to catch up.
    match tokio::task::spawn_blocking(move || replica.add_checkpoint(&body, now)).await {
        Ok(Ok(line)) => text(StatusCode::OK, line),
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("add-checkpoint failed: {error}\n"),
        ),
    }
}

fn refused(refusal: &ReplicaRefusal) -> Response {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = text(status, format!("{refusal}\n"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(1));
    }
    response
}

async fn root(State(state): State<AppState>, Path(size): Path<String>) -> Response {
    let Some(replica) = state.replica.clone() else {
        return not_a_replica();
    };
    let Ok(size) = size.parse::<u64>() else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("{size:?} is not a tree size\n"),
        );
    };
    match tokio::task::spawn_blocking(move || replica.root_at(size)).await {
        Ok(Ok(Some(root))) => text(StatusCode::OK, format!("{}\n", BASE64.encode(root.0))),
        Ok(Ok(None)) => text(
            StatusCode::NOT_FOUND,
            format!("this replica's log is smaller than {size} entries\n"),
        ),
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the root failed: {error}\n"),
        ),
    }
}
