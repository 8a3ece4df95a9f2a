//! The log over HTTP in the C2SP tlog-tiles layout (docs/SPEC.md, "Tiles"), under `/log/`:
//!
//! - `/log/checkpoint`: the latest signed checkpoint note;
//! - `/log/checkpoint/witnessed`: the newest checkpoint a witness policy's quorum cosigned
//!   (with checkpoints published at once, older than `/log/checkpoint`);
//! - `/log/tile/<L>/<N>[.p/<W>]`: SHA-256 hash tiles;
//! - `/log/tile/entries/<N>[.p/<W>]`: entry bundles (big-endian u16 length, entry bytes);
//! - `/log/verifier-key`: the log's verifier key in Go note format.
//!
//! Only tiles that exist for the latest checkpoint's size are served, so what a client can
//! fetch always matches a signed tree. Full tiles never change and may be cached forever;
//! partial tiles and the checkpoint change as the log grows.

use crate::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use covenant_core::merkle::{
    self, Hash, HashReader, TILE_WIDTH, Tile, encode_entry_bundle, entry_tile, hash_tile,
    parse_tile_path,
};
use covenant_store::LogReader;
use tower_http::compression::CompressionLayer;

/// Cache policy of full tiles and bundles: they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of partial tiles: replaced by wider ones as the log grows.
pub const SHORT_LIVED: &str = "public, max-age=10";
/// Cache policy of the checkpoint: C2SP asks for no caching beyond a few seconds.
pub const NO_CACHE: &str = "no-cache";

/// The log API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/checkpoint/witnessed", get(witnessed_checkpoint))
        .route("/log/verifier-key", get(verifier_key))
        .route("/log/tile/{*path}", get(tile))
        // C2SP asks for compressed entry bundles; clients that send Accept-Encoding get gzip.
        .layer(CompressionLayer::new())
}

/// A store as a `HashReader` that tile and proof code can take by value.
pub(crate) struct StoreHashes<'a>(pub &'a dyn LogReader);

impl HashReader for StoreHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.0.read_hashes(indexes)
    }
}

fn respond(content_type: &'static str, cache: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn not_found(message: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, NO_CACHE)],
        message + "\n",
    )
        .into_response()
}

fn server_error(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "log API read failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("reading the log failed: {error}\n"),
    )
        .into_response()
}

async fn checkpoint(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.latest_checkpoint()).await {
        Ok(Ok(Some((_, note)))) => respond("text/plain; charset=utf-8", NO_CACHE, note),
        Ok(Ok(None)) => not_found("the log has no signed checkpoint yet".into()),
        Ok(Err(error)) => server_error(error),
        Err(error) => server_error(error),
    }
}

async fn witnessed_checkpoint(State(state): State<AppState>) -> Response {
    let witnessed = state
        .ledger_health
        .as_ref()
        .and_then(|health| health.read().witnessed_size);
    let Some(size) = witnessed else {
        return not_found(
            "no witnessed checkpoint: this server has no witness policy, or no quorum has cosigned a checkpoint yet".into(),
        );
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.checkpoint(size)).await {
        Ok(Ok(Some(note))) => respond("text/plain; charset=utf-8", NO_CACHE, note),
        Ok(Ok(None)) => server_error(format!(
            "the witnessed checkpoint of size {size} is not stored"
        )),
        Ok(Err(error)) => server_error(error),
        Err(error) => server_error(error),
    }
}

async fn verifier_key(State(state): State<AppState>) -> Response {
    respond(
        "text/plain; charset=utf-8",
        "public, max-age=3600",
        format!("{}\n", state.verifier_key).into_bytes(),
    )
}

async fn tile(State(state): State<AppState>, Path(rest): Path<String>) -> Response {
    let path = format!("tile/{rest}");
    let Some(requested) = parse_tile_path(&path) else {
        return not_found(format!("{path} is not a C2SP tile path"));
    };
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || read_tile(&*store, &requested)).await;
    match result {
        Ok(Ok(Some(data))) => {
            let cache = if u64::from(requested.width()) == TILE_WIDTH {
                IMMUTABLE
            } else {
                SHORT_LIVED
            };
            respond("application/octet-stream", cache, data)
        }
        Ok(Ok(None)) => not_found(format!(
            "{path} does not exist in the tree of the latest checkpoint"
        )),
        Ok(Err(error)) => server_error(error),
        Err(error) => server_error(error),
    }
}

/// The tile's bytes if it exists at the latest checkpoint's size (a narrower partial tile of
/// an existing tile exists too: its hashes never change).
fn read_tile(store: &dyn LogReader, requested: &Tile) -> Result<Option<Vec<u8>>, String> {
    let Some((size, _)) = store.latest_checkpoint().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let available = if requested.is_data() {
        entry_tile(size, requested.level_index())
    } else {
        hash_tile(size, requested.level(), requested.level_index())
    };
    let Some(available) = available else {
        return Ok(None);
    };
    let full_requested = u64::from(requested.width()) == TILE_WIDTH;
    let fits = if full_requested {
        u64::from(available.width()) == TILE_WIDTH
    } else {
        requested.width() <= available.width()
    };
    if !fits {
        return Ok(None);
    }
    if requested.is_data() {
        let start = requested.level_index() * TILE_WIDTH;
        let end = start + u64::from(requested.width());
        let entries = store.entries(start, end).map_err(|e| e.to_string())?;
        if entries.len() as u64 != end - start {
            return Err(format!(
                "the store returned {} entries for {start}..{end}",
                entries.len()
            ));
        }
        Ok(Some(encode_entry_bundle(entries.iter().map(Vec::as_slice))))
    } else {
        merkle::hash_tile_data(requested, &StoreHashes(store))
            .map(Some)
            .map_err(|e| e.to_string())
    }
}
