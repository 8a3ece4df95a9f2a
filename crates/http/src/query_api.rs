//! The query API under `/v1`: actors, scorecards, commitments with search and history, themes,
//! the league table, CSV of every list, Atom feeds, and the OpenAPI document.
//!
//! Every endpoint takes `as_of` (a checkpoint size or a YYYY-MM-DD date). Answers come from
//! `covenant_query::Projections` as projected so far: a `covenant_query::Follower` applies new
//! log entries in the background from the moment the server starts, within milliseconds of the
//! ledger, and a request never applies any itself; each answer says as of which log size it
//! is; `min_size` asks for at least that many (503 with `Retry-After` below it). Query work runs on the blocking pool: it reads sled, and an as-of answer may fold many
//! commitments.

mod actors;
mod atom;
mod commitments;
mod csv_export;
mod feeds;
mod json;
mod openapi;
mod params;
mod themes;

use crate::AppState;
pub use crate::error::{ApiError, ErrorAnswer};
use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use covenant_core::event::Date;
use covenant_query::view::Scorecard;
use covenant_query::{Projections, QueryError, ResolvedAsOf};
use params::{Asked, Params};
use std::sync::Arc;

pub use openapi::openapi_json;

/// Every route of the query API (see `crate::v1_route_table`).
pub fn route_table() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/v1/actors", get(actors::actors)),
        ("/v1/actors.csv", get(actors::actors_csv)),
        ("/v1/actors/{id}", get(actors::actor_scorecard)),
        ("/v1/actors/{id}/feed.atom", get(feeds::actor_feed)),
        ("/v1/commitments", get(commitments::commitments)),
        ("/v1/commitments.csv", get(commitments::commitments_csv)),
        ("/v1/commitments/{id}", get(commitments::commitment)),
        ("/v1/commitments/{id}/history", get(commitments::history)),
        (
            "/v1/commitments/{id}/history.csv",
            get(commitments::history_csv),
        ),
        ("/v1/themes", get(themes::themes)),
        ("/v1/themes.csv", get(themes::themes_csv)),
        ("/v1/themes/{theme}", get(themes::theme_scorecard)),
        ("/v1/themes/{theme}/feed.atom", get(feeds::theme_feed)),
        ("/v1/league", get(themes::league)),
        ("/v1/league.csv", get(themes::league_csv)),
        ("/v1/scorecard", get(themes::overall_scorecard)),
        ("/v1/openapi.json", get(openapi::serve)),
    ]
}

/// The projections a server answers from: opened by whoever builds the [`AppState`].
pub type QueryHandle = Arc<Projections>;

/// The parameters of every scorecard.
const SCORECARD_PARAMS: [&str; 3] = ["as_of", "recorded", "list_limit"];

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::AsOfBeyondLog { .. } | QueryError::AsOfInFuture { .. } => {
                Self::bad_parameter("as_of", error.to_string())
            }
            other => Self::internal(other.to_string()),
        }
    }
}

/// Today's date (UTC): the only place the query API reads the clock.
fn today() -> Date {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    Date::from_unix_ms(ms)
}

/// Resolve the point against what is projected, and answer. Answers at the latest point read a handful of records and run on the request's own
/// task; answers as of an earlier point fold many commitments and go to the blocking pool.
async fn ask<T, F>(state: &AppState, asked: Asked, answer: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Projections, &ResolvedAsOf) -> Result<T, QueryError> + Send + 'static,
{
    let projections = projections_of(state, &asked)?;
    let point = projections.resolve(asked.as_of, today())?;
    if point.latest {
        return answer(&projections, &point).map_err(ApiError::from);
    }
    blocking(move || answer(&projections, &point)).await
}

/// Like [`ask`], always on the blocking pool: for answers that may be large at any point
/// (whole CSV exports).
async fn ask_heavy<T, F>(state: &AppState, asked: Asked, answer: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Projections, &ResolvedAsOf) -> Result<T, QueryError> + Send + 'static,
{
    let projections = projections_of(state, &asked)?;
    let point = projections.resolve(asked.as_of, today())?;
    blocking(move || answer(&projections, &point)).await
}

/// The projections a request answers from, as they stand: a request never applies log entries
/// itself (a [`covenant_query::Follower`] started with the server does, in the background),
/// and every answer says which point it describes (`as_of.size`). Behind `min_size`, a
/// replica refuses with 503 rather than answer from an older log than the client has seen.
fn projections_of(state: &AppState, asked: &Asked) -> Result<QueryHandle, ApiError> {
    let projections = state
        .query
        .clone()
        .ok_or_else(|| ApiError::unavailable("this server has no query projections configured"))?;
    if let Some(min_size) = asked.min_size {
        let projected = projections.applied();
        if projected < min_size {
            return Err(ApiError::not_reached(min_size, projected));
        }
    }
    Ok(projections)
}

async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, QueryError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::internal(format!("query task failed: {error}")))?
        .map_err(ApiError::from)
}

/// The scorecard `answer` gives at the point asked (its lists at most `list_limit` long); a
/// 404 saying `missing` when it gives none.
async fn scorecard_of<F>(
    state: AppState,
    raw: Option<String>,
    missing: String,
    answer: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&Projections, &ResolvedAsOf, usize) -> Result<Option<Scorecard>, QueryError>
        + Send
        + 'static,
{
    let params = Params::parse(raw.as_deref(), &SCORECARD_PARAMS)?;
    let list_limit = params.list_limit()?;
    let scorecard = ask(&state, params.asked()?, move |p, point| {
        answer(p, point, list_limit)
    })
    .await?;
    Ok(Json(json::Scorecard::from(found(scorecard, || missing)?)).into_response())
}

fn found<T>(value: Option<T>, what: impl FnOnce() -> String) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::not_found(what()))
}

fn csv_response(filename: &str, body: Vec<u8>, next: Option<String>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response();
    if let Some(next) = next
        && let Ok(value) = format!("<{next}>; rel=\"next\"").parse()
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// A CSV list's page size: the `limit` asked for (`true`: one page), or every row, read
/// a largest page at a time.
fn csv_limit(params: &Params) -> Result<(bool, usize), ApiError> {
    match params.get("limit") {
        Some(_) => Ok((true, params.limit()?)),
        None => Ok((false, params::MAX_LIMIT)),
    }
}

/// A list as CSV: pages read from `cursor` on, one when `paged`, all otherwise. Returns the
/// CSV and the cursor after the last row written.
fn csv_pages<T>(
    header: &[&str],
    paged: bool,
    mut cursor: Option<String>,
    mut page: impl FnMut(Option<&str>) -> Result<(Vec<T>, Option<String>), QueryError>,
    row: impl Fn(&mut csv_export::Table, &T),
) -> Result<(Vec<u8>, Option<String>), QueryError> {
    let mut table = csv_export::Table::new(header);
    loop {
        let (items, next) = page(cursor.as_deref())?;
        items.iter().for_each(|item| row(&mut table, item));
        match next {
            Some(next) if !paged => cursor = Some(next),
            next => return Ok((table.finish(), next)),
        }
    }
}

/// The URL of the next page: the same path and parameters with the new cursor.
fn next_page(path: &str, params: &Params, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.pairs().filter(|(name, _)| *name != "cursor") {
        query.append_pair(name, value);
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}
