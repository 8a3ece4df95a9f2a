//! The query API under `/v1`: actors, scorecards, commitments with search and history, themes,
//! the league table, CSV of every list, Atom feeds, and the OpenAPI document.
//!
//! Every endpoint takes `as_of` (a checkpoint size or a YYYY-MM-DD date). Answers come from
//! `covenant_query::Projections` as projected so far: a `covenant_query::Follower` applies new
//! log entries in the background from the moment the server starts, within milliseconds of the
//! ledger, and a request never applies any itself; each answer says as of which log size it
//! is; `min_size` asks for at least that many (503 with `Retry-After` below it). Query work runs on the blocking pool: it reads sled, and an as-of answer may fold many
//! commitments.

mod atom;
mod csv_export;
mod openapi;
mod params;

use crate::AppState;
pub use crate::error::{ApiError, ErrorAnswer};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use covenant_core::event::Date;
use covenant_core::proto::ActorKind;
use covenant_query::view::{ActorPage, CommitmentPage};
use covenant_query::{
    CommitmentFilter, FeedScope, LeagueRules, Projections, QueryError, ResolvedAsOf,
};
use params::{Asked, Params};
use std::sync::Arc;

pub use openapi::openapi_json;

/// Every route of the query API (see `crate::v1_route_table`).
pub fn route_table() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/v1/actors", get(actors)),
        ("/v1/actors.csv", get(actors_csv)),
        ("/v1/actors/{id}", get(actor_scorecard)),
        ("/v1/actors/{id}/feed.atom", get(actor_feed)),
        ("/v1/commitments", get(commitments)),
        ("/v1/commitments.csv", get(commitments_csv)),
        ("/v1/commitments/{id}", get(commitment)),
        ("/v1/commitments/{id}/history", get(history)),
        ("/v1/commitments/{id}/history.csv", get(history_csv)),
        ("/v1/themes", get(themes)),
        ("/v1/themes.csv", get(themes_csv)),
        ("/v1/themes/{theme}", get(theme_scorecard)),
        ("/v1/themes/{theme}/feed.atom", get(theme_feed)),
        ("/v1/league", get(league)),
        ("/v1/league.csv", get(league_csv)),
        ("/v1/scorecard", get(overall_scorecard)),
        ("/v1/openapi.json", get(openapi::serve)),
    ]
}

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

/// The URL of the next page: the same path and parameters with the new cursor.
fn next_page(path: &str, params: &Params, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.pairs().filter(|(name, _)| *name != "cursor") {
        query.append_pair(name, value);
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}

// ---- actors -----------------------------------------------------------------------------

const ACTORS_PARAMS: [&str; 6] = ["as_of", "recorded", "kind", "cursor", "limit", "format"];

/// List registered actors with their headline figures.
#[utoipa::path(get, path = "/v1/actors", tag = "actors",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("kind" = Option<String>, Query, description = "mp, party, department, agency, council, nhs_body, civil_society, watchdog or joint_body"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("limit" = Option<usize>, Query, description = "page size, 1 to 500 (default 50)"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((ActorPage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn actors(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &ACTORS_PARAMS)?;
    if params.wants_csv()? {
        return actors_as_csv(state, uri, params).await;
    }
    let (kind, cursor, limit) = actor_list_params(&params)?;
    let page = ask(&state, params.asked()?, move |p, point| {
        p.actors(point, kind, cursor.as_deref(), limit)
    })
    .await?;
    Ok(Json(page).into_response())
}

/// The actor list as CSV: every row, or one page when `limit` is given.
#[utoipa::path(get, path = "/v1/actors.csv", tag = "actors",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("kind" = Option<String>, Query, description = "actor kind"),
        ("cursor" = Option<String>, Query, description = "start after this actor id"),
        ("limit" = Option<usize>, Query, description = "rows; all when absent"),
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn actors_csv(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &ACTORS_PARAMS[..ACTORS_PARAMS.len() - 1])?;
    actors_as_csv(state, uri, params).await
}

fn actor_list_params(
    params: &Params,
) -> Result<(Option<ActorKind>, Option<String>, usize), ApiError> {
    Ok((
        params.schema_value("kind")?,
        params.id("cursor")?,
        params.limit()?,
    ))
}

async fn actors_as_csv(state: AppState, uri: Uri, params: Params) -> Result<Response, ApiError> {
    let (kind, cursor, _) = actor_list_params(&params)?;
    let paged = params.get("limit").is_some();
    let limit = if paged {
        params.limit()?
    } else {
        params::MAX_LIMIT
    };
    let (body, next) = ask_heavy(&state, params.asked()?, move |p, point| {
        let mut table = csv_export::Table::new(&csv_export::ACTOR_HEADER);
        let mut cursor = cursor;
        loop {
            let page: ActorPage = p.actors(point, kind, cursor.as_deref(), limit)?;
            page.items
                .iter()
                .for_each(|item| csv_export::actor_row(&mut table, item));
            match page.next_cursor {
                Some(next) if !paged => cursor = Some(next),
                next => return Ok((table.finish(), next)),
            }
        }
    })
    .await?;
    let next = next.map(|cursor| next_page(uri.path(), &params, &cursor));
    Ok(csv_response("actors.csv", body, next))
}

const SCORECARD_PARAMS: [&str; 3] = ["as_of", "recorded", "list_limit"];

/// An actor with its scorecard: promised against done.
#[utoipa::path(get, path = "/v1/actors/{id}", tag = "actors",
    params(
        ("id" = String, Path, description = "actor id"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("list_limit" = Option<usize>, Query, description = "items in the overdue and goalposts lists, 1 to 1000 (default 50)"),
    ),
    responses(
        (status = 200, body = covenant_query::view::Scorecard),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn actor_scorecard(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &SCORECARD_PARAMS)?;
    let list_limit = params.list_limit()?;
    let lookup = id.clone();
    let scorecard = ask(&state, params.asked()?, move |p, point| {
        p.actor_scorecard(&lookup, point, list_limit)
    })
    .await?;
    let scorecard = found(scorecard, || format!("actor {id} is not registered"))?;
    Ok(Json(scorecard).into_response())
}

/// An actor's Atom feed: new commitments, amendments, outcomes, withdrawals and newly overdue
/// commitments.
#[utoipa::path(get, path = "/v1/actors/{id}/feed.atom", tag = "feeds",
    params(
        ("id" = String, Path, description = "actor id"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
    ),
    responses(
        (status = 200, content_type = "application/atom+xml", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn actor_feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let feed_id = format!("urn:covenant:feed:actor:{id}");
    feed(state, FeedScope::Actor(id), feed_id, uri, raw).await
}

const FEED_LENGTH: usize = 50;

async fn feed(
    state: AppState,
    scope: FeedScope,
    feed_id: String,
    uri: Uri,
    raw: Option<String>,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded"])?;
    let lookup = scope.clone();
    let feed = ask(&state, params.asked()?, move |p, point| {
        p.feed(&lookup, point, FEED_LENGTH)
    })
    .await?;
    let feed = found(feed, || match &scope {
        FeedScope::Actor(id) => format!("actor {id} is not registered"),
        FeedScope::Theme(theme) => format!("no commitment has the theme {theme}"),
    })?;
    let self_path = uri
        .path_and_query()
        .map_or(uri.path(), |path| path.as_str())
        .to_owned();
    // Absolute links from the configured public URL, never from the Host header.
    let body = atom::render(&feed, &state.public_url, &self_path, &feed_id);
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

// ---- commitments ------------------------------------------------------------------------

const COMMITMENT_PARAMS: [&str; 14] = [
    "as_of",
    "recorded",
    "actor",
    "theme",
    "status",
    "q",
    "made_from",
    "made_to",
    "due_from",
    "due_to",
    "flag",
    "cursor",
    "limit",
    "format",
];

/// Commitments in id order, filtered and searched, a page at a time.
#[utoipa::path(get, path = "/v1/commitments", tag = "commitments",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("actor" = Option<String>, Query, description = "owned by this actor"),
        ("theme" = Option<String>, Query, description = "with this theme"),
        ("status" = Option<String>, Query, description = "not_started, in_progress, overdue, delivered, partly_delivered, not_delivered, withdrawn or retracted (retracted ones are left out otherwise)"),
        ("q" = Option<String>, Query, description = "words that must all appear in the title or text (current or original), any case"),
        ("made_from" = Option<String>, Query, description = "made on or after (YYYY-MM-DD)"),
        ("made_to" = Option<String>, Query, description = "made on or before"),
        ("due_from" = Option<String>, Query, description = "due on or after"),
        ("due_to" = Option<String>, Query, description = "due on or before"),
        ("flag" = Option<String>, Query, description = "amended, goalposts_moved, disputed or succeeded"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("limit" = Option<usize>, Query, description = "page size, 1 to 500 (default 50)"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((CommitmentPage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn commitments(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &COMMITMENT_PARAMS)?;
    if params.wants_csv()? {
        return commitments_as_csv(state, uri, params).await;
    }
    let filter = params.commitment_filter()?;
    let cursor = params.id("cursor")?;
    let limit = params.limit()?;
    let page = ask(&state, params.asked()?, move |p, point| {
        p.commitments(point, &filter, cursor.as_deref(), limit)
    })
    .await?;
    Ok(Json(page).into_response())
}

/// The commitment list as CSV: every matching row, or one page when `limit` is given.
#[utoipa::path(get, path = "/v1/commitments.csv", tag = "commitments",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("actor" = Option<String>, Query, description = "owned by this actor"),
        ("theme" = Option<String>, Query, description = "with this theme"),
        ("status" = Option<String>, Query, description = "a status"),
        ("q" = Option<String>, Query, description = "search words"),
        ("made_from" = Option<String>, Query, description = "made on or after"),
        ("made_to" = Option<String>, Query, description = "made on or before"),
        ("due_from" = Option<String>, Query, description = "due on or after"),
        ("due_to" = Option<String>, Query, description = "due on or before"),
        ("flag" = Option<String>, Query, description = "amended, goalposts_moved, disputed or succeeded"),
        ("cursor" = Option<String>, Query, description = "start after this commitment id"),
        ("limit" = Option<usize>, Query, description = "rows; all when absent"),
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn commitments_csv(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    // Every parameter of the JSON list but `format`, which is last.
    let params = Params::parse(
        raw.as_deref(),
        &COMMITMENT_PARAMS[..COMMITMENT_PARAMS.len() - 1],
    )?;
    commitments_as_csv(state, uri, params).await
}

async fn commitments_as_csv(
    state: AppState,
    uri: Uri,
    params: Params,
) -> Result<Response, ApiError> {
    let filter: CommitmentFilter = params.commitment_filter()?;
    let cursor = params.id("cursor")?;
    let paged = params.get("limit").is_some();
    let limit = if paged {
        params.limit()?
    } else {
        params::MAX_LIMIT
    };
    let (body, next) = ask_heavy(&state, params.asked()?, move |p, point| {
        let mut table = csv_export::Table::new(&csv_export::COMMITMENT_HEADER);
        let mut cursor = cursor;
        loop {
            let page: CommitmentPage = p.commitments(point, &filter, cursor.as_deref(), limit)?;
            page.items
                .iter()
                .for_each(|item| csv_export::commitment_row(&mut table, item));
            match page.next_cursor {
                Some(next) if !paged => cursor = Some(next),
                next => return Ok((table.finish(), next)),
            }
        }
    })
    .await?;
    let next = next.map(|cursor| next_page(uri.path(), &params, &cursor));
    Ok(csv_response("commitments.csv", body, next))
}

/// One commitment: status, flags, original against current terms, outcome, assessments and
/// its history.
#[utoipa::path(get, path = "/v1/commitments/{id}", tag = "commitments",
    params(
        ("id" = String, Path, description = "commitment id"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
    ),
    responses(
        (status = 200, body = covenant_query::view::CommitmentDetail),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded"])?;
    let lookup = id.clone();
    let detail = ask(&state, params.asked()?, move |p, point| {
        p.commitment(&lookup, point)
    })
    .await?;
    let detail = found(detail, || {
        format!("commitment {id} does not exist at this point")
    })?;
    Ok(Json(detail).into_response())
}

/// Every event about a commitment, oldest first, each with its entry hash and proof links.
#[utoipa::path(get, path = "/v1/commitments/{id}/history", tag = "commitments",
    params(
        ("id" = String, Path, description = "commitment id"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((covenant_query::view::CommitmentHistory = "application/json"), (String = "text/csv"))),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded", "format"])?;
    let csv = params.wants_csv()?;
    history_answer(state, id, params, csv).await
}

/// A commitment's history as CSV.
#[utoipa::path(get, path = "/v1/commitments/{id}/history.csv", tag = "commitments",
    params(
        ("id" = String, Path, description = "commitment id"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn history_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded"])?;
    history_answer(state, id, params, true).await
}

async fn history_answer(
    state: AppState,
    id: String,
    params: Params,
    csv: bool,
) -> Result<Response, ApiError> {
    let lookup = id.clone();
    let history = ask(&state, params.asked()?, move |p, point| {
        p.history(&lookup, point)
    })
    .await?;
    let history = found(history, || {
        format!("commitment {id} does not exist at this point")
    })?;
    if csv {
        let filename = format!("{}-history.csv", id.replace(['/', '"'], "_"));
        return Ok(csv_response(
            &filename,
            csv_export::history(&history.events),
            None,
        ));
    }
    Ok(Json(history).into_response())
}

// ---- themes, the league table and the overall scorecard ---------------------------------

/// Every theme in use with its figures: the seed values first, then free tags.
#[utoipa::path(get, path = "/v1/themes", tag = "themes",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((covenant_query::view::ThemeList = "application/json"), (String = "text/csv"))),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn themes(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded", "format"])?;
    let csv = params.wants_csv()?;
    themes_answer(state, params, csv).await
}

/// The theme list as CSV.
#[utoipa::path(get, path = "/v1/themes.csv", tag = "themes",
    params(("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica")),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn themes_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded"])?;
    themes_answer(state, params, true).await
}

async fn themes_answer(state: AppState, params: Params, csv: bool) -> Result<Response, ApiError> {
    let list = ask(&state, params.asked()?, |p, point| p.themes(point)).await?;
    if csv {
        return Ok(csv_response(
            "themes.csv",
            csv_export::themes(&list.items),
            None,
        ));
    }
    Ok(Json(list).into_response())
}

/// A theme's scorecard.
#[utoipa::path(get, path = "/v1/themes/{theme}", tag = "themes",
    params(
        ("theme" = String, Path, description = "a seed value or free tag"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("list_limit" = Option<usize>, Query, description = "items in the overdue and goalposts lists, 1 to 1000 (default 50)"),
    ),
    responses(
        (status = 200, body = covenant_query::view::Scorecard),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn theme_scorecard(
    State(state): State<AppState>,
    Path(theme): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &SCORECARD_PARAMS)?;
    let list_limit = params.list_limit()?;
    let lookup = theme.clone();
    let scorecard = ask(&state, params.asked()?, move |p, point| {
        p.theme_scorecard(&lookup, point, list_limit)
    })
    .await?;
    let scorecard = found(scorecard, || format!("no commitment has the theme {theme}"))?;
    Ok(Json(scorecard).into_response())
}

/// A theme's Atom feed.
#[utoipa::path(get, path = "/v1/themes/{theme}/feed.atom", tag = "feeds",
    params(
        ("theme" = String, Path, description = "a seed value or free tag"),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
    ),
    responses(
        (status = 200, content_type = "application/atom+xml", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 404, description = "no such id at this point", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn theme_feed(
    State(state): State<AppState>,
    Path(theme): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let feed_id = format!("urn:covenant:feed:theme:{theme}");
    feed(state, FeedScope::Theme(theme), feed_id, uri, raw).await
}

const LEAGUE_PARAMS: [&str; 5] = ["as_of", "recorded", "min_resolved", "kind", "format"];

/// Actors ranked by delivery rate, among those with enough resolved commitments.
#[utoipa::path(get, path = "/v1/league", tag = "league",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("min_resolved" = Option<u32>, Query, description = "resolved commitments needed to be ranked, 1 to 1000 (default 5)"),
        ("kind" = Option<String>, Query, description = "only actors of this kind"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((covenant_query::view::LeagueTable = "application/json"), (String = "text/csv"))),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn league(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &LEAGUE_PARAMS)?;
    let csv = params.wants_csv()?;
    league_answer(state, params, csv).await
}

/// The league table as CSV.
#[utoipa::path(get, path = "/v1/league.csv", tag = "league",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("min_resolved" = Option<u32>, Query, description = "resolved commitments needed to be ranked (default 5)"),
        ("kind" = Option<String>, Query, description = "only actors of this kind"),
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn league_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &LEAGUE_PARAMS[..LEAGUE_PARAMS.len() - 1])?;
    league_answer(state, params, true).await
}

async fn league_answer(state: AppState, params: Params, csv: bool) -> Result<Response, ApiError> {
    let rules = LeagueRules {
        min_resolved: params.number("min_resolved", 5, 1_000)? as u32,
        kind: params.schema_value("kind")?,
    };
    let table = ask(&state, params.asked()?, move |p, point| {
        p.league_table(point, &rules)
    })
    .await?;
    if csv {
        return Ok(csv_response(
            "league.csv",
            csv_export::league(&table.rows),
            None,
        ));
    }
    Ok(Json(table).into_response())
}

/// Everyone's scorecard: every commitment in the log.
#[utoipa::path(get, path = "/v1/scorecard", tag = "league",
    params(
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the world on that date; or a checkpoint size: the log as it then stood"), ("recorded" = Option<String>, Query, description = "checkpoint size or YYYY-MM-DD: which entries of the log count"), ("min_size" = Option<u64>, Query, description = "log size this server must have projected to answer; below it: 503 with Retry-After, so a load balancer can ask another replica"),
        ("list_limit" = Option<usize>, Query, description = "items in the overdue and goalposts lists, 1 to 1000 (default 50)"),
    ),
    responses(
        (status = 200, body = covenant_query::view::Scorecard),
        (status = 400, description = "a bad or unknown parameter, named", body = ErrorAnswer),
        (status = 500, description = "the projections could not be read", body = ErrorAnswer),
        (status = 503, description = "no query projections on this server, or they have not reached min_size", headers(("Retry-After" = u64, description = "seconds to wait, when min_size is not reached")), body = ErrorAnswer),
    ))]
async fn overall_scorecard(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &SCORECARD_PARAMS)?;
    let list_limit = params.list_limit()?;
    let scorecard = ask(&state, params.asked()?, move |p, point| {
        p.overall_scorecard(point, list_limit)
    })
    .await?;
    Ok(Json(scorecard).into_response())
}

/// The projections a server answers from: opened by whoever builds the [`AppState`].
pub type QueryHandle = Arc<Projections>;
