//! The HTTP server: one axum router over the log store and the query projections.
//!
//! - `/log/...`: the C2SP tlog-tiles log API (checkpoint, tiles, entry bundles, verifier key);
//! - `/v1/...`: the JSON API (queries, proofs, event status, ingest) with `/v1/openapi.json`,
//!   every error in one shape (`error`);
//! - `/metrics`: Prometheus text;
//! - `/healthz` and `/readyz`: liveness and readiness for load balancers (`health`);
//! - `/replica/...`: peer replicas cross-checking each other's checkpoints (`replica`);
//! - `/`: server-rendered pages for people;
//! - `/embed/...` and `/oembed`: cards other sites may frame or show as images, and the
//!   oEmbed answer that hands them out (`pages::embed`, docs/EMBED.md).
//!
//! Each area is a module with its own `routes()`; this file only assembles them.

#![forbid(unsafe_code)]

pub mod error;
pub mod health;
pub mod ingest;
pub mod log_api;
pub mod metrics;
pub mod pages;
pub mod proofs;
pub mod query_api;
pub mod rate_limit;
pub mod replica;
pub mod report;
pub mod sentences;
pub mod server;

use axum::Router;
use covenant_store::LogReader;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn LogReader>,
    /// The log's checkpoint verifier key in Go note format.
    pub verifier_key: String,
    /// The ledger's ingest door (`POST /v1/events`); `None` on a read-only server.
    pub ingest: Option<covenant_ledger::Ingest>,
    /// The process's metrics, rendered at `/metrics`.
    pub metrics: Arc<prometheus_client::registry::Registry>,
    /// The promised-versus-done projections the `/v1` query API answers from; `None` on a
    /// server without them (the query API then answers 503).
    pub query: Option<query_api::QueryHandle>,
    /// The server's public address (scheme, host and optional path, no trailing slash), for
    /// absolute URLs: Atom self links, the verify command on the home page, oEmbed answers and
    /// their discovery links. Configured, never taken from a request's Host header, which any
    /// client can set.
    pub public_url: String,
    /// The per-source limit on `POST /v1/events`; `None`: no limit.
    pub ingest_limit: Option<Arc<rate_limit::RateLimiter>>,
    /// The progress of the ledger this process runs, for `/readyz`; `None` on a read-only
    /// server, which judges readiness from its store.
    pub ledger_health: Option<covenant_ledger::LedgerHealth>,
    /// How current this replica must be for `/readyz` to answer 200.
    pub readiness: health::ReadinessLimits,
    /// This replica's cosigner of its peers' checkpoints; `None`: `/replica/` answers 404.
    pub replica: Option<Arc<covenant_ledger::ReplicaCosigner>>,
}

/// The public URL of a server that was given none: its default listen address.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

impl AppState {
    /// A read-only server's state: no ingest, an empty metrics registry.
    pub fn new(store: Arc<dyn LogReader>, verifier_key: String) -> Self {
        Self {
            store,
            verifier_key,
            ingest: None,
            metrics: Arc::default(),
            query: None,
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            ingest_limit: None,
            ledger_health: None,
            readiness: health::ReadinessLimits::default(),
            replica: None,
        }
    }

    /// The same state, with absolute URLs under `public_url` (a trailing slash is dropped).
    pub fn with_public_url(self, public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            ..self
        }
    }

    /// The same state, answering queries from `projections`.
    pub fn with_query(self, projections: query_api::QueryHandle) -> Self {
        Self {
            query: Some(projections),
            ..self
        }
    }
}

/// Every route under `/v1`, with its handlers: the router is built from this table, and tests
/// check it against the OpenAPI document and docs/API.md's route table.
pub fn v1_route_table() -> Vec<(&'static str, axum::routing::MethodRouter<AppState>)> {
    let mut table = query_api::route_table();
    table.extend(ingest::route_table());
    table.extend(proofs::route_table());
    table
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let v1 = v1_route_table()
        .into_iter()
        .fold(Router::new(), |router, (path, method)| {
            router.route(path, method)
        });
    Router::new()
        .merge(pages::routes())
        .merge(metrics::routes())
        .merge(health::routes())
        .merge(log_api::routes())
        .merge(replica::routes())
        .merge(v1)
        // Named so that the error layer below wraps it too: an unknown path under /v1 then
        // answers the API's error shape.
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn(error::json_errors_under_v1))
        .with_state(state)
}
