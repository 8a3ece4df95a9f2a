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

/// The `/v1` routes other modules serve (ingest, event status, proofs), described by hand in
/// `ledger_routes.json` and merged in, so that one document covers the whole `/v1` API.
const LEDGER_ROUTES: &str = include_str!("ledger_routes.json");

/// The document as JSON text.
pub fn openapi_json() -> String {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let (Some(paths), Ok(serde_json::Value::Object(extra))) = (
        document.get_mut("paths").and_then(|p| p.as_object_mut()),
        serde_json::from_str::<serde_json::Value>(LEDGER_ROUTES),
    ) {
        paths.extend(extra);
    }
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}
