//! The commitment routes: the filtered and searched list (JSON or CSV), one commitment, and its history.

use super::json;
use super::openapi::{AsOfParams, NotFound, QueryErrors};
use super::params::Params;
use super::{ask, ask_heavy, csv_export, csv_limit, csv_pages, csv_response, found, next_page};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use covenant_query::{CommitmentFilter, Projections, QueryError, ResolvedAsOf};

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
        AsOfParams,
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
        (status = 200, content((json::CommitmentPage = "application/json"), (String = "text/csv"))),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn commitments(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &COMMITMENT_PARAMS)?;
    if params.wants_csv()? {
        return commitments_as_csv(state, uri, params).await;
    }
    let filter = params.commitment_filter()?;
    let unknown = unknown_actor(&filter);
    let cursor = params.id("cursor")?;
    let limit = params.limit()?;
    let page = ask(&state, params.asked()?, move |p, point| {
        if !actor_known(p, point, &filter)? {
            return Ok(None);
        }
        p.commitments(point, &filter, cursor.as_deref(), limit)
            .map(Some)
    })
    .await?;
    let page = found(page, unknown)?;
    Ok(Json(json::CommitmentPage::from(page)).into_response())
}

/// The commitment list as CSV: every matching row, or one page when `limit` is given.
#[utoipa::path(get, path = "/v1/commitments.csv", tag = "commitments",
    params(
        AsOfParams,
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
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn commitments_csv(
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

pub(super) async fn commitments_as_csv(
    state: AppState,
    uri: Uri,
    params: Params,
) -> Result<Response, ApiError> {
    let filter: CommitmentFilter = params.commitment_filter()?;
    let unknown = unknown_actor(&filter);
    let cursor = params.id("cursor")?;
    let (paged, limit) = csv_limit(&params)?;
    let exported = ask_heavy(&state, params.asked()?, move |p, point| {
        if !actor_known(p, point, &filter)? {
            return Ok(None);
        }
        let page = |cursor: Option<&str>| {
            let page = p.commitments(point, &filter, cursor, limit)?;
            Ok((page.items, page.next_cursor))
        };
        csv_pages(
            &csv_export::COMMITMENT_HEADER,
            paged,
            cursor,
            page,
            csv_export::commitment_row,
        )
        .map(Some)
    })
    .await?;
    let (body, next) = found(exported, unknown)?;
    let next = next.map(|cursor| next_page(uri.path(), &params, &cursor));
    Ok(csv_response("commitments.csv", body, next))
}

/// Whether the actor `filter` names, if any, is registered at `point`: the commitments of an
/// actor nobody registered are a 404, as the actor's own route answers, not an empty list that
/// reads as "promised nothing".
fn actor_known(
    p: &Projections,
    point: &ResolvedAsOf,
    filter: &CommitmentFilter,
) -> Result<bool, QueryError> {
    match &filter.actor {
        Some(actor) => Ok(p.actor(actor, point)?.is_some()),
        None => Ok(true),
    }
}

/// The 404's words for [`actor_known`].
fn unknown_actor(filter: &CommitmentFilter) -> impl FnOnce() -> String + use<> {
    let actor = filter.actor.clone().unwrap_or_default();
    move || format!("actor {actor} is not registered at this point")
}

/// One commitment: status, flags, original against current terms, outcome, assessments and
/// its history.
#[utoipa::path(get, path = "/v1/commitments/{id}", tag = "commitments",
    params(
        ("id" = String, Path, description = "commitment id"),
        AsOfParams,
    ),
    responses(
        (status = 200, body = json::CommitmentDetail),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn commitment(
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
    Ok(Json(json::CommitmentDetail::from(detail)).into_response())
}

/// Every event about a commitment, oldest first, each with its entry hash and proof links.
#[utoipa::path(get, path = "/v1/commitments/{id}/history", tag = "commitments",
    params(
        ("id" = String, Path, description = "commitment id"),
        AsOfParams,
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((json::CommitmentHistory = "application/json"), (String = "text/csv"))),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn history(
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
        AsOfParams,
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn history_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded"])?;
    history_answer(state, id, params, true).await
}

pub(super) async fn history_answer(
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
    Ok(Json(json::CommitmentHistory::from(history)).into_response())
}
