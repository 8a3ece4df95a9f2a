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
        actors::actors,
        actors::actors_csv,
        actors::actor_scorecard,
        feeds::actor_feed,
        commitments::commitments,
        commitments::commitments_csv,
        commitments::commitment,
        commitments::history,
        commitments::history_csv,
        themes::themes,
        themes::themes_csv,
        themes::theme_scorecard,
        feeds::theme_feed,
        themes::league,
        themes::league_csv,
        themes::overall_scorecard,
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

/// The query parameters every query answer takes: which point of the log to answer as of,
/// and how far this server must have projected (parsed by [`super::params::Params::asked`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "it only describes the parameters to OpenAPI")]
pub(super) struct AsOfParams {
    /// YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood
    as_of: Option<String>,
    /// checkpoint size or YYYY-MM-DD: which entries of the log count
    recorded: Option<String>,
    /// log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica
    min_size: Option<u64>,
}

/// The errors every query answer may give.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "it only describes the answers to OpenAPI")]
pub(super) enum QueryErrors {
    /// a bad or unknown parameter, named
    #[response(status = 400)]
    BadParameter(ErrorAnswer),
    /// the projections could not be read
    #[response(status = 500)]
    Unreadable(ErrorAnswer),
    /// no query projections on this server, or they have not reached min_size
    #[response(status = 503, headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")))]
    Unavailable(ErrorAnswer),
}

/// The error of a query about one actor, theme or commitment.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "it only describes the answers to OpenAPI")]
pub(super) enum NotFound {
    /// no such id at this point
    #[response(status = 404)]
    Missing(ErrorAnswer),
}

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
