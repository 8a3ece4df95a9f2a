//! JSON proofs for people who do not speak tiles (docs/SPEC.md, "Proofs"):
//!
//! - `GET /v1/proof/inclusion?event_id=…|seq=…[&size=…]`: the audit path of one entry;
//! - `GET /v1/proof/consistency?from=…[&to=…]`: that one tree is a prefix of another;
//! - `GET /v1/proof/bundle/{event_id}`: a self-contained proof bundle to check offline.
//!
//! Hashes are base64, like the root line of a checkpoint, so a reader can compare a proof's
//! root with the checkpoint by eye. Sizes default to, and may not exceed, the latest signed
//! checkpoint. Bad parameters get a 400 that says what is wrong.

use crate::AppState;
use crate::log_api::StoreHashes;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use covenant_core::bundle::ProofBundle;
use covenant_core::merkle::{self, Hash};
use covenant_store::LogStore;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The proof routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/proof/inclusion", get(inclusion))
        .route("/v1/proof/consistency", get(consistency))
        .route("/v1/proof/bundle/{event_id}", get(bundle))
}

/// A refusal: status and a sentence.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if self.0.is_server_error() {
            tracing::error!(error = %self.1, "proof request failed");
        }
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

fn not_found(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::NOT_FOUND, message.into())
}

fn internal(error: impl std::fmt::Display) -> Refusal {
    Refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("reading the log failed: {error}"),
    )
}

fn b64(hash: &Hash) -> String {
    hash.to_string()
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, Refusal> {
    params
        .get(name)
        .map(|text| {
            text.parse::<u64>()
                .map_err(|_| bad_request(format!("{name} must be a whole number, not {text:?}")))
        })
        .transpose()
}

/// Run a blocking store read off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| Err(internal(error)))
}

/// The latest signed tree size and note.
fn latest(store: &dyn LogStore) -> Result<(u64, Vec<u8>), Refusal> {
    store
        .latest_checkpoint()
        .map_err(internal)?
        .ok_or_else(|| not_found("the log has no signed checkpoint yet"))
}

/// `size` if given and signed-or-smaller, else the latest checkpoint's size.
fn tree_size(requested: Option<u64>, latest: u64, name: &str) -> Result<u64, Refusal> {
    match requested {
        None => Ok(latest),
        Some(0) => Err(bad_request(format!("{name} must be at least 1"))),
        Some(size) if size > latest => Err(bad_request(format!(
            "{name} {size} is larger than the latest signed checkpoint ({latest})"
        ))),
        Some(size) => Ok(size),
    }
}

fn checkpoint_text(store: &dyn LogStore, size: u64) -> Result<Option<String>, Refusal> {
    Ok(store
        .checkpoint(size)
        .map_err(internal)?
        .map(|note| String::from_utf8_lossy(&note).into_owned()))
}

fn seq_of(store: &dyn LogStore, event_id: &str) -> Result<u64, Refusal> {
    store
        .event(event_id)
        .map_err(internal)?
        .map(|indexed| indexed.seq)
        .ok_or_else(|| {
            not_found(format!(
                "event {event_id} is not in the log (ask /v1/events/{event_id} whether it was rejected)"
            ))
        })
}

async fn inclusion(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Refusal> {
    let seq_param = number(&params, "seq")?;
    let size_param = number(&params, "size")?;
    let event_id = params.get("event_id").cloned();
    if event_id.is_some() == seq_param.is_some() {
        return Err(bad_request("give exactly one of event_id or seq"));
    }
    let store = state.store.clone();
    blocking(move || {
        let store = &*store;
        let (latest_size, _) = latest(store)?;
        let size = tree_size(size_param, latest_size, "size")?;
        let seq = match &event_id {
            Some(id) => seq_of(store, id)?,
            None => seq_param.expect("one of them is given"),
        };
        if seq >= size {
            return Err(bad_request(format!(
                "entry {seq} is not in the tree of size {size}"
            )));
        }
        let entry = store
            .entry(seq)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("entry {seq} is missing")))?;
        let hashes = StoreHashes(store);
        let proof = merkle::prove_inclusion(size, seq, &hashes).map_err(internal)?;
        let root = merkle::tree_root(size, &hashes).map_err(internal)?;
        Ok(Json(json!({
            "seq": seq,
            "event_id": event_id,
            "tree_size": size,
            "leaf_hash": b64(&merkle::leaf_hash(&entry)),
            "root": b64(&root),
            "proof": proof.iter().map(b64).collect::<Vec<_>>(),
            "checkpoint": checkpoint_text(store, size)?,
        })))
    })
    .await
}

async fn consistency(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Refusal> {
    let from = number(&params, "from")?.ok_or_else(|| bad_request("from is required"))?;
    let to_param = number(&params, "to")?;
    let store = state.store.clone();
    blocking(move || {
        let store = &*store;
        let (latest_size, _) = latest(store)?;
        let to = tree_size(to_param, latest_size, "to")?;
        let from = tree_size(Some(from), latest_size, "from")?;
        if from > to {
            return Err(bad_request(format!(
                "from ({from}) must not be larger than to ({to})"
            )));
        }
        let hashes = StoreHashes(store);
        let proof = merkle::prove_consistency(to, from, &hashes).map_err(internal)?;
        Ok(Json(json!({
            "from": from,
            "to": to,
            "from_root": b64(&merkle::tree_root(from, &hashes).map_err(internal)?),
            "to_root": b64(&merkle::tree_root(to, &hashes).map_err(internal)?),
            "proof": proof.iter().map(b64).collect::<Vec<_>>(),
            "from_checkpoint": checkpoint_text(store, from)?,
            "to_checkpoint": checkpoint_text(store, to)?,
        })))
    })
    .await
}

async fn bundle(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
) -> Result<Response, Refusal> {
    let store = state.store.clone();
    let verifier_key = state.verifier_key.clone();
    let bundle = blocking(move || {
        let store = &*store;
        let (size, note) = latest(store)?;
        let seq = seq_of(store, &event_id)?;
        if seq >= size {
            return Err(not_found(format!(
                "event {event_id} is entry {seq}, not yet covered by a signed checkpoint (size {size}); try again shortly"
            )));
        }
        let entry = store
            .entry(seq)
            .map_err(internal)?
            .ok_or_else(|| internal(format!("entry {seq} is missing")))?;
        let proof =
            merkle::prove_inclusion(size, seq, &StoreHashes(store)).map_err(internal)?;
        Ok((
            event_id,
            ProofBundle::new(seq, &entry, size, &proof, &note, &verifier_key),
        ))
    })
    .await?;
    let (event_id, bundle) = bundle;
    let disposition = format!("attachment; filename=\"covenant-proof-{event_id}.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(bundle)).into_response())
}
