//! JSON proofs for people who do not speak tiles (docs/SPEC.md, "Proofs"):
//!
//! - `GET /v1/proof/inclusion?event_id=…|seq=…[&size=…]`: the audit path of one entry;
//! - `GET /v1/proof/consistency?from=…[&to=…]`: that one tree is a prefix of another;
//! - `GET /v1/proof/bundle/{event_id}`: a self-contained proof bundle to check offline.
//!
//! Hashes are base64, like the root line of a checkpoint, so a reader can compare a proof's
//! root with the checkpoint by eye. Sizes default to, and may not exceed, the latest signed
//! checkpoint. Bad parameters get a 400 that names the parameter; every error has the one
//! error shape of `/v1` (`crate::error`).

use crate::AppState;
use crate::error::{ApiError, ErrorAnswer};
use crate::log_api::StoreHashes;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use covenant_core::bundle::ProofBundle;
use covenant_core::merkle::{self, Hash, HashReader};
use covenant_store::LogReader;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The proof routes (see `crate::v1_route_table`).
pub fn route_table() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/v1/proof/inclusion", get(inclusion)),
        ("/v1/proof/consistency", get(consistency)),
        ("/v1/proof/bundle/{event_id}", get(bundle)),
    ]
}

/// The path of the inclusion proof of the entry at `seq`.
pub fn inclusion_path(seq: u64) -> String {
    format!("/v1/proof/inclusion?seq={seq}")
}

/// The path of the proof bundle of the event `event_id`.
pub fn bundle_path(event_id: &str) -> String {
    format!(
        "/v1/proof/bundle/{}",
        crate::pages::layout::segment(event_id)
    )
}

/// Every failure here is an [`ApiError`].
type Refusal = ApiError;

fn bad_request(parameter: &str, message: impl Into<String>) -> Refusal {
    ApiError::bad_parameter(parameter, message)
}

fn not_found(message: impl Into<String>) -> Refusal {
    ApiError::not_found(message)
}

fn internal(error: impl std::fmt::Display) -> Refusal {
    ApiError::internal(format!("reading the log failed: {error}"))
}

/// The query parameters of a route: only those it takes, each at most once.
pub(crate) fn query_params(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, Refusal> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&name.as_ref()) {
            return Err(bad_request(
                &name,
                format!(
                    "unknown parameter {name:?}; this endpoint takes {}",
                    allowed.join(", ")
                ),
            ));
        }
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(bad_request(
                &name,
                format!("parameter {name:?} is given more than once"),
            ));
        }
    }
    Ok(params)
}

/// The audit path of one entry (200).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    /// The event id asked about; null when asked by `seq`.
    pub event_id: Option<String>,
    pub tree_size: u64,
    /// The entry's leaf hash, base64.
    pub leaf_hash: String,
    /// The tree's root, base64.
    pub root: String,
    /// The audit path, base64 hashes, leaf to root.
    pub proof: Vec<String>,
    /// The signed checkpoint note of `tree_size`, when one was stored for exactly that size.
    pub checkpoint: Option<String>,
}

/// That one tree is a prefix of another (200).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: String,
    pub to_root: String,
    /// Base64 hashes.
    pub proof: Vec<String>,
    pub from_checkpoint: Option<String>,
    pub to_checkpoint: Option<String>,
}

fn b64(hash: &Hash) -> String {
    hash.to_string()
}

pub(crate) fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, Refusal> {
    params
        .get(name)
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                bad_request(name, format!("{name} must be a whole number, not {text:?}"))
            })
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
fn latest(store: &dyn LogReader) -> Result<(u64, Vec<u8>), Refusal> {
    store
        .latest_checkpoint()
        .map_err(internal)?
        .ok_or_else(|| not_found("the log has no signed checkpoint yet"))
}

/// The `min_size` a client asked for, met by the latest signed checkpoint, or 503 with
/// `Retry-After`: a replica behind what the client has seen elsewhere says so instead of
/// proving against an older tree, and a load balancer can ask another replica.
fn reached(params: &HashMap<String, String>, latest: u64) -> Result<(), Refusal> {
    match number(params, "min_size")? {
        Some(min_size) if min_size > latest => Err(ApiError::not_reached(min_size, latest)),
        _ => Ok(()),
    }
}

/// The OpenAPI description of `min_size` on the proof routes.
const MIN_SIZE: &str = "tree size this server's latest signed checkpoint must have reached; below it: 503 with Retry-After, so a load balancer can ask another replica";

/// `size` if given and signed-or-smaller, else the latest checkpoint's size.
fn tree_size(requested: Option<u64>, latest: u64, name: &str) -> Result<u64, Refusal> {
    match requested {
        None => Ok(latest),
        Some(0) => Err(bad_request(name, format!("{name} must be at least 1"))),
        Some(size) if size > latest => Err(bad_request(
            name,
            format!("{name} {size} is larger than the latest signed checkpoint ({latest})"),
        )),
        Some(size) => Ok(size),
    }
}

fn checkpoint_text(store: &dyn LogReader, size: u64) -> Result<Option<String>, Refusal> {
    Ok(store
        .checkpoint(size)
        .map_err(internal)?
        .map(|note| String::from_utf8_lossy(&note).into_owned()))
}

fn seq_of(store: &dyn LogReader, event_id: &str) -> Result<u64, Refusal> {
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

/// The audit path of one entry in a signed checkpoint.
///
/// Give exactly one of `event_id` or `seq`. Hashes are base64. 404 when the event is not in
/// the log or the log has no signed checkpoint yet.
#[utoipa::path(get, path = "/v1/proof/inclusion", tag = "proofs",
    params(
        ("event_id" = Option<String>, Query, description = "the event's id (or give seq)"),
        ("seq" = Option<u64>, Query, description = "the entry number (or give event_id)"),
        ("size" = Option<u64>, Query, description = "tree size, at least 1; defaults to, and may not exceed, the latest signed checkpoint"),
        ("min_size" = Option<u64>, Query, description = MIN_SIZE),
    ),
    responses(
        (status = 200, description = "the proof", body = InclusionProof),
        (status = 400, description = "bad parameters, named", body = ErrorAnswer),
        (status = 404, description = "no such event, or no signed checkpoint yet", body = ErrorAnswer),
        (status = 500, description = "the log could not be read", body = ErrorAnswer),
        (status = 503, description = "the latest signed checkpoint is smaller than min_size", headers(("Retry-After" = u64, description = "seconds to wait")), body = ErrorAnswer),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<InclusionProof>, Refusal> {
    let params = query_params(raw.as_deref(), &["event_id", "seq", "size", "min_size"])?;
    let seq_param = number(&params, "seq")?;
    let size_param = number(&params, "size")?;
    let event_id = params.get("event_id").cloned();
    if event_id.is_some() == seq_param.is_some() {
        return Err(bad_request(
            "event_id",
            "give exactly one of event_id or seq",
        ));
    }
    let store = state.store.clone();
    blocking(move || {
        let store = &*store;
        let (latest_size, _) = latest(store)?;
        reached(&params, latest_size)?;
        let size = tree_size(size_param, latest_size, "size")?;
        let seq = match &event_id {
            Some(id) => seq_of(store, id)?,
            None => seq_param.expect("one of them is given"),
        };
        if seq >= size {
            let parameter = if event_id.is_some() {
                "event_id"
            } else {
                "seq"
            };
            return Err(bad_request(
                parameter,
                format!("entry {seq} is not in the tree of size {size}"),
            ));
        }
        let hashes = StoreHashes(store);
        // The leaf hash is the tree's own stored hash (level 0), which the proof's first
        // hashes sit beside: the entry itself need not be read.
        let leaf_hash = hashes
            .read_hashes(&[merkle::stored_hash_index(0, seq)])
            .map_err(internal)?
            .pop()
            .ok_or_else(|| internal(format!("the leaf hash of entry {seq} is missing")))?;
        let proof = merkle::prove_inclusion(size, seq, &hashes).map_err(internal)?;
        let root = merkle::tree_root(size, &hashes).map_err(internal)?;
        Ok(Json(InclusionProof {
            seq,
            event_id,
            tree_size: size,
            leaf_hash: b64(&leaf_hash),
            root: b64(&root),
            proof: proof.iter().map(b64).collect(),
            checkpoint: checkpoint_text(store, size)?,
        }))
    })
    .await
}

/// That one tree is a prefix of another.
///
/// Hashes are base64. 404 when the log has no signed checkpoint yet.
#[utoipa::path(get, path = "/v1/proof/consistency", tag = "proofs",
    params(
        ("from" = u64, Query, description = "the smaller tree size, at least 1"),
        ("to" = Option<u64>, Query, description = "the larger tree size; defaults to, and may not exceed, the latest signed checkpoint"),
        ("min_size" = Option<u64>, Query, description = MIN_SIZE),
    ),
    responses(
        (status = 200, description = "the proof", body = ConsistencyProof),
        (status = 400, description = "bad parameters, named", body = ErrorAnswer),
        (status = 404, description = "no signed checkpoint yet", body = ErrorAnswer),
        (status = 500, description = "the log could not be read", body = ErrorAnswer),
        (status = 503, description = "the latest signed checkpoint is smaller than min_size", headers(("Retry-After" = u64, description = "seconds to wait")), body = ErrorAnswer),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ConsistencyProof>, Refusal> {
    let params = query_params(raw.as_deref(), &["from", "to", "min_size"])?;
    let from = number(&params, "from")?.ok_or_else(|| bad_request("from", "from is required"))?;
    let to_param = number(&params, "to")?;
    let store = state.store.clone();
    blocking(move || {
        let store = &*store;
        let (latest_size, _) = latest(store)?;
        reached(&params, latest_size)?;
        let to = tree_size(to_param, latest_size, "to")?;
        let from = tree_size(Some(from), latest_size, "from")?;
        if from > to {
            return Err(bad_request(
                "from",
                format!("from ({from}) must not be larger than to ({to})"),
            ));
        }
        let hashes = StoreHashes(store);
        let proof = merkle::prove_consistency(to, from, &hashes).map_err(internal)?;
        Ok(Json(ConsistencyProof {
            from,
            to,
            from_root: b64(&merkle::tree_root(from, &hashes).map_err(internal)?),
            to_root: b64(&merkle::tree_root(to, &hashes).map_err(internal)?),
            proof: proof.iter().map(b64).collect(),
            from_checkpoint: checkpoint_text(store, from)?,
            to_checkpoint: checkpoint_text(store, to)?,
        }))
    })
    .await
}

/// A self-contained proof bundle for one event, to check offline (`covenant audit prove`).
///
/// 404 when the event is not in the log, or not yet covered by a signed checkpoint.
#[utoipa::path(get, path = "/v1/proof/bundle/{event_id}", tag = "proofs",
    params(
        ("event_id" = String, Path, description = "the event's id"),
        ("min_size" = Option<u64>, Query, description = MIN_SIZE),
    ),
    responses(
        (status = 200, description = "the bundle (docs/SPEC.md, section 11), as an attachment", content_type = "application/json", body = Object),
        (status = 400, description = "bad parameters, named", body = ErrorAnswer),
        (status = 404, description = "not in the log, or not yet covered by a signed checkpoint", body = ErrorAnswer),
        (status = 500, description = "the log could not be read", body = ErrorAnswer),
        (status = 503, description = "the latest signed checkpoint is smaller than min_size", headers(("Retry-After" = u64, description = "seconds to wait")), body = ErrorAnswer),
    ))]
pub async fn bundle(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Refusal> {
    let params = query_params(raw.as_deref(), &["min_size"])?;
    let store = state.store.clone();
    let verifier_key = state.verifier_key.clone();
    let bundle = blocking(move || {
        let store = &*store;
        let (size, note) = latest(store)?;
        reached(&params, size)?;
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
