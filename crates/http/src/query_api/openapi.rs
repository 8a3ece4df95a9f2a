//! The OpenAPI document of the query API, generated from the handlers' annotations.

use super::*;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Covenant query API",
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
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// The document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}
