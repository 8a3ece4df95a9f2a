//! The OpenAPI document of the whole `/v1` API (queries, ingest and event status, proofs),
//! generated from the handlers' annotations. docs/API.md's route table is tested against it.

use super::*;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Covenant API",
        description = "What was promised against what was done, from a tamper-evident log. Every answer can be asked as of a checkpoint size or a date (`as_of`); every event links to its inclusion proof.",
    ),
    paths(
        actors,
        actors_csv,
        actor_scorecard,
        actor_feed,
        commitments,
        commitments_csv,
        commitment,
        history,
        history_csv,
        themes,
        themes_csv,
        theme_scorecard,
        theme_feed,
        league,
        league_csv,
        overall_scorecard,
        serve,
        crate::ingest::submit,
        crate::ingest::status,
        crate::proofs::inclusion,
        crate::proofs::consistency,
        crate::proofs::bundle,
    ),
    components(schemas(ErrorAnswer, crate::error::ErrorDetail))
)]
struct ApiDoc;

/// The document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}
