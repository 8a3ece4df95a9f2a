//! The actor routes: the list of actors (JSON or CSV) and each actor's scorecard.

use super::json;
use super::openapi::{AsOfParams, NotFound, QueryErrors};
use super::params::Params;
use super::{
    ask, ask_heavy, csv_export, csv_limit, csv_pages, csv_response, next_page, scorecard_of,
};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use covenant_core::proto::ActorKind;

const ACTORS_PARAMS: [&str; 6] = ["as_of", "recorded", "kind", "cursor", "limit", "format"];

/// List registered actors with their headline figures.
#[utoipa::path(get, path = "/v1/actors", tag = "actors",
    params(
        AsOfParams,
        ("kind" = Option<String>, Query, description = "mp, party, department, agency, council, nhs_body, civil_society, watchdog or joint_body"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("limit" = Option<usize>, Query, description = "page size, 1 to 500 (default 50)"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((json::ActorPage = "application/json"), (String = "text/csv"))),
        QueryErrors,
    ))]
pub(super) async fn actors(
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
    Ok(Json(json::ActorPage::from(page)).into_response())
}

/// The actor list as CSV: every row, or one page when `limit` is given.
#[utoipa::path(get, path = "/v1/actors.csv", tag = "actors",
    params(
        AsOfParams,
        ("kind" = Option<String>, Query, description = "actor kind"),
        ("cursor" = Option<String>, Query, description = "start after this actor id"),
        ("limit" = Option<usize>, Query, description = "rows; all when absent"),
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        QueryErrors,
    ))]
pub(super) async fn actors_csv(
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

pub(super) async fn actors_as_csv(
    state: AppState,
    uri: Uri,
    params: Params,
) -> Result<Response, ApiError> {
    let (kind, cursor, _) = actor_list_params(&params)?;
    let (paged, limit) = csv_limit(&params)?;
    let (body, next) = ask_heavy(&state, params.asked()?, move |p, point| {
        let page = |cursor: Option<&str>| {
            let page = p.actors(point, kind, cursor, limit)?;
            Ok((page.items, page.next_cursor))
        };
        csv_pages(
            &csv_export::ACTOR_HEADER,
            paged,
            cursor,
            page,
            csv_export::actor_row,
        )
    })
    .await?;
    let next = next.map(|cursor| next_page(uri.path(), &params, &cursor));
    Ok(csv_response("actors.csv", body, next))
}

/// An actor with its scorecard: promised against done.
#[utoipa::path(get, path = "/v1/actors/{id}", tag = "actors",
    params(
        ("id" = String, Path, description = "actor id"),
        AsOfParams,
        ("list_limit" = Option<usize>, Query, description = "items in the overdue and goalposts lists, 1 to 1000 (default 50)"),
    ),
    responses(
        (status = 200, body = json::Scorecard),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn actor_scorecard(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let missing = format!("actor {id} is not registered");
    scorecard_of(state, raw, missing, move |p, point, list_limit| {
        p.actor_scorecard(&id, point, list_limit)
    })
    .await
}
