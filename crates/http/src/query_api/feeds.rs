//! The Atom feeds of an actor and of a theme.

use super::openapi::{AsOfParams, NotFound, QueryErrors};
use super::params::Params;
use super::{ask, atom, found};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use covenant_query::FeedScope;

/// An actor's Atom feed: new commitments, amendments, outcomes, withdrawals and newly overdue
/// commitments.
#[utoipa::path(get, path = "/v1/actors/{id}/feed.atom", tag = "feeds",
    params(
        ("id" = String, Path, description = "actor id"),
        AsOfParams,
    ),
    responses(
        (status = 200, content_type = "application/atom+xml", body = String),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn actor_feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let feed_id = format!("urn:covenant:feed:actor:{id}");
    feed(state, FeedScope::Actor(id), feed_id, uri, raw).await
}

const FEED_LENGTH: usize = 50;

pub(super) async fn feed(
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

/// A theme's Atom feed.
#[utoipa::path(get, path = "/v1/themes/{theme}/feed.atom", tag = "feeds",
    params(
        ("theme" = String, Path, description = "a seed value or free tag"),
        AsOfParams,
    ),
    responses(
        (status = 200, content_type = "application/atom+xml", body = String),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn theme_feed(
    State(state): State<AppState>,
    Path(theme): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let feed_id = format!("urn:covenant:feed:theme:{theme}");
    feed(state, FeedScope::Theme(theme), feed_id, uri, raw).await
}
