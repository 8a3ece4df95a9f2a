//! Health for load balancers: `/healthz` (the process serves) and `/readyz` (this replica is
//! current enough to answer queries).
//!
//! `/readyz` answers 200 only when every rule holds, and otherwise 503 with `Retry-After`
//! and a reason for each rule that fails:
//!
//! 1. the ledger has consumed the stream to within [`ReadinessLimits::max_stream_lag`]
//!    messages (embedded, there is no stream and no lag);
//! 2. the ledger signed or published again a checkpoint within
//!    [`ReadinessLimits::max_checkpoint_age`] (an idle ledger publishes the latest one again
//!    once per idle interval, so a fresh checkpoint means the commit path is alive);
//! 3. the query projections (when the server has them) have applied everything up to that
//!    checkpoint;
//! 4. a replica's log has not been found to differ from a peer's (`covenant_ledger::replica`).
//!
//! A server without a ledger (read-only, over a store another process writes) cannot tell lag
//! or age: it is ready when its store holds a checkpoint and its projections have applied up
//! to that checkpoint's size.
//!
//! Both answers are JSON with the same fields, so an operator sees the figures behind the
//! verdict. They are outside `/v1`: they describe this process, not the log.

use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use covenant_ledger::HealthReading;
use std::time::Duration;

/// How current a replica must be to call itself ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessLimits {
    /// Most stream messages the ledger may have left to consume.
    pub max_stream_lag: u64,
    /// Longest time since the ledger last signed or published a checkpoint.
    pub max_checkpoint_age: Duration,
}

/// Default of [`ReadinessLimits::max_stream_lag`].
pub const DEFAULT_MAX_STREAM_LAG: u64 = 1000;

impl Default for ReadinessLimits {
    /// 1000 messages; three minutes, three times the ledger's default idle interval (60 s), so
    /// one late republication does not take a replica out of rotation.
    fn default() -> Self {
        Self {
            max_stream_lag: DEFAULT_MAX_STREAM_LAG,
            max_checkpoint_age: Duration::from_secs(180),
        }
    }
}

/// Seconds a load balancer should wait before asking a replica that is not ready again.
const RETRY_AFTER_SECONDS: u32 = 1;

/// The body of `/readyz`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Readiness {
    pub ready: bool,
    /// One sentence per rule that fails; empty when ready.
    pub reasons: Vec<String>,
    /// What the figures come from: `ledger` (this process runs one) or `store` (read-only).
    pub source: String,
    pub log_size: u64,
    /// Tree size of the newest checkpoint; null when there is none.
    pub checkpoint_size: Option<u64>,
    /// Seconds since the ledger last signed or published a checkpoint; null without a ledger
    /// or before its first checkpoint.
    pub checkpoint_age_s: Option<f64>,
    /// Stream messages not consumed yet; null without a ledger.
    pub stream_pending: Option<u64>,
    /// Log entries the query projections have applied; null without projections.
    pub projected: Option<u64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Alive and serving: nothing else is checked, so a slow dependency never gets a live
/// process restarted.
async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = readiness(&state);
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(readiness)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status != StatusCode::OK {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// Judge this replica against its limits.
pub fn readiness(state: &AppState) -> Readiness {
    let limits = state.readiness;
    let mut reasons = Vec::new();
    let mut readiness = match &state.ledger_health {
        Some(health) => from_ledger(&health.read(), &limits, &mut reasons),
        None => from_store(state, &mut reasons),
    };
    if let Some(projections) = &state.query {
        let projected = projections.applied();
        let wanted = readiness.checkpoint_size.unwrap_or(0);
        if projected < wanted {
            reasons.push(format!(
                "projections applied {projected} entries < checkpoint size {wanted}"
            ));
        }
        readiness.projected = Some(projected);
    }
    readiness.ready = reasons.is_empty();
    readiness.reasons = reasons;
    readiness
}

/// The figures of the ledger this process runs, and the reasons they fail `limits`.
fn from_ledger(
    reading: &HealthReading,
    limits: &ReadinessLimits,
    reasons: &mut Vec<String>,
) -> Readiness {
    if let Some(divergence) = &reading.divergence {
        reasons.push(covenant_ledger::replica::describe(divergence));
    }
    if reading.stream_pending > limits.max_stream_lag {
        reasons.push(format!(
            "stream lag {} messages > {} allowed",
            reading.stream_pending, limits.max_stream_lag
        ));
    }
    match reading.checkpoint_age {
        None => reasons.push("no checkpoint signed yet".to_owned()),
        Some(age) if age > limits.max_checkpoint_age => reasons.push(format!(
            "newest checkpoint is {:.1} s old > {} s allowed",
            age.as_secs_f64(),
            limits.max_checkpoint_age.as_secs_f64()
        )),
        Some(_) => {}
    }
    Readiness {
        ready: false,
        reasons: Vec::new(),
        source: "ledger".to_owned(),
        log_size: reading.log_size,
        checkpoint_size: reading.checkpoint_age.map(|_| reading.checkpoint_size),
        checkpoint_age_s: reading.checkpoint_age.map(|age| age.as_secs_f64()),
        stream_pending: Some(reading.stream_pending),
        projected: None,
    }
}

/// A read-only server's figures: the store's head and newest checkpoint.
fn from_store(state: &AppState, reasons: &mut Vec<String>) -> Readiness {
    let checkpoint_size = match state.store.latest_checkpoint() {
        Ok(Some((size, _))) => Some(size),
        Ok(None) => {
            reasons.push("the store holds no checkpoint".to_owned());
            None
        }
        Err(error) => {
            reasons.push(format!("reading the newest checkpoint failed: {error}"));
            None
        }
    };
    Readiness {
        ready: false,
        reasons: Vec::new(),
        source: "store".to_owned(),
        log_size: state.store.head().size,
        checkpoint_size,
        checkpoint_age_s: None,
        stream_pending: None,
        projected: None,
    }
}
