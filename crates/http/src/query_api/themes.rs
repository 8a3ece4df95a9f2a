//! The theme and league routes: the theme list, each theme's scorecard, the league table and the overall scorecard.

use super::json;
use super::openapi::{AsOfParams, NotFound, QueryErrors};
use super::params::Params;
use super::{SCORECARD_PARAMS, ask, csv_export, csv_response, scorecard_of};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use covenant_query::LeagueRules;

/// Every theme in use with its figures: the seed values first, then free tags.
#[utoipa::path(get, path = "/v1/themes", tag = "themes",
    params(
        AsOfParams,
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((json::ThemeList = "application/json"), (String = "text/csv"))),
        QueryErrors,
    ))]
pub(super) async fn themes(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded", "format"])?;
    let csv = params.wants_csv()?;
    themes_answer(state, params, csv).await
}

/// The theme list as CSV.
#[utoipa::path(get, path = "/v1/themes.csv", tag = "themes",
    params(AsOfParams),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        QueryErrors,
    ))]
pub(super) async fn themes_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["as_of", "recorded"])?;
    themes_answer(state, params, true).await
}

pub(super) async fn themes_answer(
    state: AppState,
    params: Params,
    csv: bool,
) -> Result<Response, ApiError> {
    let list = ask(&state, params.asked()?, |p, point| p.themes(point)).await?;
    if csv {
        return Ok(csv_response(
            "themes.csv",
            csv_export::themes(&list.items),
            None,
        ));
    }
    Ok(Json(json::ThemeList::from(list)).into_response())
}

/// A theme's scorecard.
#[utoipa::path(get, path = "/v1/themes/{theme}", tag = "themes",
    params(
        ("theme" = String, Path, description = "a seed value or free tag"),
        AsOfParams,
        ("list_limit" = Option<usize>, Query, description = "items in the overdue and goalposts lists, 1 to 1000 (default 50)"),
    ),
    responses(
        (status = 200, body = json::Scorecard),
        NotFound,
        QueryErrors,
    ))]
pub(super) async fn theme_scorecard(
    State(state): State<AppState>,
    Path(theme): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let missing = format!("no commitment has the theme {theme}");
    scorecard_of(state, raw, missing, move |p, point, list_limit| {
        p.theme_scorecard(&theme, point, list_limit)
    })
    .await
}

const LEAGUE_PARAMS: [&str; 5] = ["as_of", "recorded", "min_resolved", "kind", "format"];

/// Actors ranked by delivery rate, among those with enough resolved commitments.
#[utoipa::path(get, path = "/v1/league", tag = "league",
    params(
        AsOfParams,
        ("min_resolved" = Option<u32>, Query, description = "resolved commitments needed to be ranked, 1 to 1000 (default 5)"),
        ("kind" = Option<String>, Query, description = "only actors of this kind"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, content((json::LeagueTable = "application/json"), (String = "text/csv"))),
        QueryErrors,
    ))]
pub(super) async fn league(
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
        AsOfParams,
        ("min_resolved" = Option<u32>, Query, description = "resolved commitments needed to be ranked (default 5)"),
        ("kind" = Option<String>, Query, description = "only actors of this kind"),
    ),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        QueryErrors,
    ))]
pub(super) async fn league_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &LEAGUE_PARAMS[..LEAGUE_PARAMS.len() - 1])?;
    league_answer(state, params, true).await
}

pub(super) async fn league_answer(
    state: AppState,
    params: Params,
    csv: bool,
) -> Result<Response, ApiError> {
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
    Ok(Json(json::LeagueTable::from(table)).into_response())
}

/// Everyone's scorecard: every commitment in the log.
#[utoipa::path(get, path = "/v1/scorecard", tag = "league",
    params(
        AsOfParams,
        ("list_limit" = Option<usize>, Query, description = "items in the overdue and goalposts lists, 1 to 1000 (default 50)"),
    ),
    responses(
        (status = 200, body = json::Scorecard),
        QueryErrors,
    ))]
pub(super) async fn overall_scorecard(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &SCORECARD_PARAMS)?;
    let list_limit = params.list_limit()?;
    let scorecard = ask(&state, params.asked()?, move |p, point| {
        p.overall_scorecard(point, list_limit)
    })
    .await?;
    Ok(Json(json::Scorecard::from(scorecard)).into_response())
}
