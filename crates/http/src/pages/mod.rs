//! Server-rendered pages for journalists and the public.
//!
//! Pages are HTML rendered with maud (checked at compile time, no template files) from the
//! query layer's precomputed projections. They work without JavaScript: filters and the "as of"
//! control are plain GET forms, charts are inline SVG with text alternatives, and the small
//! stylesheet and script are compiled into the binary (no CDN).
//!
//! Each page module gathers what it shows from [`Projections`] (`load`) and renders it with a
//! pure function (`render`), so rendering is tested without a server.

mod actor;
pub mod assets;
pub mod chart;
mod commitment;
mod common;
pub mod diff;
pub mod embed;
pub mod format;
mod home;
pub mod layout;
pub mod periods;
mod proof;
pub mod report;
mod search;
mod themes;
pub mod tone;

use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use covenant_core::event::Date;
use covenant_query::{AsOf, Projections, QueryError, ResolvedAsOf};
use layout::{AsOfControl, Frame, Section};
use maud::{Markup, html};
use std::collections::BTreeMap;
use std::time::Instant;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home_page))
        .route("/actors/{id}", get(actor_page))
        .route("/commitments/{id}", get(commitment_page))
        .route("/actors/{id}/reports/{year}", get(actor_report_page))
        .route("/actors/{id}/reports/{year}/{file}", get(actor_report_file))
        .route("/reports/{year}", get(government_report_page))
        .route("/reports/{year}/{file}", get(government_report_file))
        .route("/proofs/{event_id}", get(proof_page))
        .route("/search", get(search_page))
        .route("/themes", get(themes_page))
        .route("/themes/{theme}", get(theme_page))
        .route("/assets/{name}", get(assets::serve))
        .merge(embed::routes())
}

/// Query parameters, as given (pages validate the ones they use).
pub(crate) type Params = BTreeMap<String, String>;

/// What went wrong, shown to the reader as a page with the right status code.
#[derive(Debug)]
pub(crate) struct PageError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// The query parameter at fault, when one is (the report's files name it in their JSON
    /// error, as `/v1` does).
    pub(crate) parameter: Option<String>,
}

impl PageError {
    fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            parameter: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::BAD_REQUEST, message)
    }

    /// 400 about one query parameter.
    pub(crate) fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        Self {
            parameter: Some(parameter.to_owned()),
            ..Self::bad_request(message)
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::NOT_FOUND, message)
    }

    /// A failure on the server's side; the details go to the log, not to the reader.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The same error as the `/v1` API's JSON answer (docs/API.md, "Errors").
    fn api_error(&self) -> crate::error::ApiError {
        match &self.parameter {
            Some(parameter) => crate::error::ApiError::bad_parameter(parameter, &self.message),
            None => crate::error::ApiError::new(
                self.status,
                crate::error::code_for(self.status),
                &self.message,
            ),
        }
    }
}

impl From<QueryError> for PageError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::AsOfBeyondLog { .. } | QueryError::AsOfInFuture { .. } => {
                Self::bad_request(error.to_string())
            }
            other => {
                tracing::error!(error = %other, "render page");
                Self::internal("the query layer failed; the error is in the server log")
            }
        }
    }
}

/// The moment of the log a page shows, and how to talk about it.
pub(crate) struct PageAsOf {
    pub point: ResolvedAsOf,
    /// The reader's `as_of`, when they asked for one.
    pub requested: Option<String>,
    /// The reader's `recorded` (which entries count), when they asked for one.
    pub recorded: Option<String>,
    /// Sizes of the latest signed checkpoints, to offer as moments to switch to.
    pub checkpoints: Vec<u64>,
}

impl PageAsOf {
    pub(crate) fn control(&self, mut keep: Vec<(String, String)>) -> AsOfControl {
        // The form changes `as_of`; a `recorded` the reader chose stays.
        keep.extend(
            self.recorded
                .iter()
                .map(|value| ("recorded".to_owned(), value.clone())),
        );
        let showing = showing(
            self.point.size,
            self.point.latest && self.requested.is_none(),
            self.point.world,
            self.point.date,
        );
        AsOfControl {
            requested: self.requested.clone(),
            showing,
            keep,
            checkpoints: self.checkpoints.clone(),
        }
    }

    /// The `as_of` parameter to carry into links, so a reader stays at the moment they chose.
    pub(crate) fn param(&self) -> Vec<(String, String)> {
        let as_of = self.requested.iter().map(|value| ("as_of", value));
        let recorded = self.recorded.iter().map(|value| ("recorded", value));
        as_of
            .chain(recorded)
            .map(|(name, value)| (name.to_owned(), value.clone()))
            .collect()
    }
}

/// The moment a page shows, in words: the latest `size` entries, the world on a date as the
/// first `size` entries record it, or the log at `size` entries with overdue judged on `date`.
fn showing(size: u64, latest: bool, world: Option<Date>, date: Date) -> String {
    let entries = format::entries(size);
    if latest {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        format!(
            "the latest: {}, overdue judged today",
            format::count(size, "log entry", "log entries")
        )
    } else if let Some(world) = world {
        // Both axes: the world on a date, as the log records it now.
        format!(
            "the world on {}, as recorded by the log's first {entries}",
            format::date(&world.to_string())
        )
    } else {
        format!(
            "the log as it stood at {entries}, overdue judged on {}",
            format::date(&date.to_string())
        )
    }
}

/// `as_of`: a date (`2026-03-31`, the world on that day) or a checkpoint size (`1200`, the log
/// as recorded then); empty means the latest. `recorded` (a size or a date) says which entries
/// count, beside an `as_of` date.
pub(crate) fn parse_as_of(text: &str, recorded: Option<&str>) -> Result<AsOf, PageError> {
    AsOf::parse(Some(text), recorded).map_err(|(_, message)| PageError::bad_request(message))
}

fn today() -> Date {
    crate::report::today()
}

/// How many signed checkpoint sizes the "as of" box suggests, newest first.
const CHECKPOINT_SUGGESTIONS: usize = 12;

/// The moment `params` ask for (`as_of`, `recorded`), without the checkpoint suggestions.
pub(crate) fn bare_moment(
    projections: &Projections,
    params: &Params,
) -> Result<PageAsOf, PageError> {
    let requested = params
        .get("as_of")
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty());
    let recorded = params
        .get("recorded")
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty());
    let as_of = parse_as_of(requested.as_deref().unwrap_or(""), recorded.as_deref())?;
    let point = projections.resolve(as_of, today())?;
    Ok(PageAsOf {
        point,
        requested,
        recorded,
        checkpoints: vec![],
    })
}

pub(crate) fn page_as_of(
    state: &AppState,
    projections: &Projections,
    params: &Params,
) -> Result<PageAsOf, PageError> {
    let as_of = bare_moment(projections, params)?;
    let checkpoints = checkpoint_suggestions(state, projections)?;
    Ok(PageAsOf {
        checkpoints,
        ..as_of
    })
}

/// The newest signed checkpoint sizes the projections have reached, to offer as moments.
fn checkpoint_suggestions(
    state: &AppState,
    projections: &Projections,
) -> Result<Vec<u64>, PageError> {
    let applied = projections.applied();
    Ok(state
        .store
        .checkpoint_sizes()
        .map_err(|error| {
            tracing::error!(%error, "list checkpoint sizes");
            PageError::internal("the log's checkpoints cannot be listed")
        })?
        .into_iter()
        .rev()
        .filter(|size| *size <= applied)
        .take(CHECKPOINT_SUGGESTIONS)
        .collect())
}

fn error_page(error: &PageError) -> Markup {
    let title = match error.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "That request could not be answered",
        _ => "Something went wrong",
    };
    let frame = Frame {
        title: title.to_owned(),
        description: error.message.clone(),
        path: "/".to_owned(),
        section: Section::Other,
        as_of: AsOfControl {
            showing: "nothing: this page has no data".into(),
            ..AsOfControl::default()
        },
        formats: vec![],
        oembed: None,
    };
    layout::page(
        &frame,
        html! {
            h1 { (title) }
            p class="lede" { (error.message) }
            p { a href="/" { "Go to the home page" } " or " a href="/search" { "search the commitments" } "." }
        },
    )
}

/// Render on a blocking thread (projection reads touch sled), log how long it took, and turn
/// errors into pages.
async fn respond<F>(what: &'static str, work: F) -> Response
where
    F: FnOnce() -> Result<Markup, PageError> + Send + 'static,
{
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(work).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let result = outcome.unwrap_or_else(|join_error| {
        tracing::error!(error = %join_error, page = what, "render page");
        Err(PageError::internal("the page could not be rendered"))
    });
    tracing::debug!(page = what, elapsed_ms, "page rendered");
    let server_timing = format!("render;dur={elapsed_ms:.2}");
    match result {
        Ok(markup) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
                (
                    header::HeaderName::from_static("server-timing"),
                    server_timing,
                ),
            ],
            markup.into_string(),
        )
            .into_response(),
        Err(error) => (
            error.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            error_page(&error).into_string(),
        )
            .into_response(),
    }
}

async fn home_page(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let base_url = state.public_url.clone();
    respond("home", move || home::page(&state, &params, &base_url)).await
}

async fn actor_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    respond("actor", move || actor::page(&state, &id, &params)).await
}

async fn commitment_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    respond("commitment", move || commitment::page(&state, &id, &params)).await
}

async fn proof_page(State(state): State<AppState>, Path(event_id): Path<String>) -> Response {
    respond("proof", move || proof::page(&state, &event_id)).await
}

async fn search_page(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    respond("search", move || search::page(&state, &params)).await
}

async fn themes_page(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    respond("themes", move || themes::list_page(&state, &params)).await
}

async fn theme_page(
    State(state): State<AppState>,
    Path(theme): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    respond("theme", move || themes::theme_page(&state, &theme, &params)).await
}

impl From<crate::report::ReportFailure> for PageError {
    fn from(failure: crate::report::ReportFailure) -> Self {
        if failure.is_bad_request() {
            Self::bad_request(failure.to_string())
        } else if failure.is_not_found() {
            Self::not_found(failure.to_string())
        } else if failure.is_too_large() {
            Self::with_status(StatusCode::PAYLOAD_TOO_LARGE, failure.to_string())
        } else if failure.is_not_yet() {
            Self::with_status(StatusCode::SERVICE_UNAVAILABLE, failure.to_string())
        } else {
            tracing::error!(error = %failure, "build report");
            Self::internal("the report could not be computed; the error is in the server log")
        }
    }
}

/// The query parameters a report's page and files take: `checkpoint` (what download links
/// say) and `as_of` (what the page's "as of" box sends). Anything else, or one given twice, is
/// refused as `/v1` refuses it, so a misspelt `?chekpoint=` is not silently the newest report.
const REPORT_PARAMETERS: [&str; 2] = ["checkpoint", "as_of"];

fn report_params(raw: Option<&str>) -> Result<Params, PageError> {
    let mut params = Params::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !REPORT_PARAMETERS.contains(&name.as_ref()) {
            return Err(PageError::bad_parameter(
                &name,
                format!(
                    "unknown parameter {name:?}; a report takes {}",
                    REPORT_PARAMETERS.join(", ")
                ),
            ));
        }
        if params.insert(name.to_string(), value.to_string()).is_some() {
            return Err(PageError::bad_parameter(
                &name,
                format!("parameter {name:?} is given more than once"),
            ));
        }
    }
    Ok(params)
}

/// The report a page or file is asked for: the year from the path, `checkpoint` from the query.
fn report_asked(
    actor: Option<String>,
    year: &str,
    params: &Params,
) -> Result<crate::report::ReportAsked, PageError> {
    // A malformed year is a bad request, not a missing report (a year not yet begun is 404).
    let year = year
        .parse::<i32>()
        .ok()
        .filter(|year| (1901..=9999).contains(year))
        .ok_or_else(|| {
            PageError::bad_request(format!(
                "{year:?} is not a year: give four digits from 1901 to 9999, for example 2025"
            ))
        })?;
    // The page's "as of" box sends `as_of`; downloads say `checkpoint`. Both name a size.
    let checkpoint = params
        .get("checkpoint")
        .or_else(|| params.get("as_of").filter(|value| !value.trim().is_empty()))
        .map(|size| {
            size.trim().parse::<u64>().map_err(|_| {
                PageError::bad_parameter("checkpoint", format!(
                    "checkpoint {size:?} is not a checkpoint size: a report is computed as of a \
                     signed checkpoint, named by its number of entries"
                ))
            })
        })
        .transpose()?;
    Ok(crate::report::ReportAsked {
        actor,
        year,
        checkpoint,
    })
}

fn build_report(
    state: &AppState,
    asked: &crate::report::ReportAsked,
) -> Result<crate::report::BuiltReport, PageError> {
    let projections = common::projections(state)?;
    Ok(crate::report::build(
        &*state.store,
        projections,
        &state.verifier_key,
        asked,
        today(),
        crate::report::MAX_SERVED_REPORT_EVENTS,
    )?)
}

fn report_page(
    state: &AppState,
    actor: Option<String>,
    year: &str,
    query: Option<&str>,
) -> Result<Markup, PageError> {
    let asked = report_asked(actor, year, &report_params(query)?)?;
    let built = build_report(state, &asked)?;
    let checkpoints = checkpoint_suggestions(state, common::projections(state)?)?;
    let control = AsOfControl {
        requested: asked.checkpoint.map(|size| size.to_string()),
        checkpoints,
        ..AsOfControl::default()
    };
    Ok(report::render(&built, &state.verifier_key, control))
}

/// A file of the report: its content type, download name and bytes.
fn report_file(
    state: &AppState,
    actor: Option<String>,
    year: &str,
    file: &str,
    query: Option<&str>,
) -> Result<(&'static str, String, Vec<u8>), PageError> {
    let asked = report_asked(actor, year, &report_params(query)?)?;
    if !REPORT_FILES.contains(&file) {
        return Err(PageError::not_found(format!(
            "a report has no file {file:?}; it has {}",
            REPORT_FILES.join(", ")
        )));
    }
    let built = build_report(state, &asked)?;
    // A download name any header and file system takes, whatever characters an actor id has.
    let whose: String = asked
        .actor
        .as_deref()
        .unwrap_or("government")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = format!(
        "covenant-report-{whose}-{}-at-{}",
        asked.year, built.report.checkpoint.size
    );
    match file {
        "report.json" => Ok((
            "application/json",
            format!("{stem}.json"),
            json_bytes(&built.report)?,
        )),
        "report.pdf" => {
            let page_url = format!(
                "{}{}?checkpoint={}",
                state.public_url,
                crate::report::page_path(asked.actor.as_deref(), asked.year),
                built.report.checkpoint.size
            );
            let pdf = covenant_pdf::report_pdf(&built.report, &page_url).map_err(|error| {
                tracing::error!(%error, "lay out the report as a PDF");
                PageError::internal("the PDF could not be laid out; the error is in the server log")
            })?;
            Ok(("application/pdf", format!("{stem}.pdf"), pdf))
        }
        "bundle.json" => {
            let bundle = crate::report::bundle(&*state.store, &state.verifier_key, &built)?;
            Ok((
                "application/json",
                format!("{stem}-bundle.json"),
                json_bytes(&bundle)?,
            ))
        }
        _ => {
            let csv = crate::report::csv(&built.report)
                .map_err(|error| PageError::internal(format!("write CSV: {error}")))?;
            Ok((
                "text/csv; charset=utf-8",
                format!("{stem}.csv"),
                csv.into_bytes(),
            ))
        }
    }
}

/// The files every report has.
const REPORT_FILES: [&str; 4] = ["report.pdf", "report.json", "report.csv", "bundle.json"];

fn json_bytes<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, PageError> {
    serde_json::to_vec_pretty(value)
        .map_err(|error| PageError::internal(format!("write JSON: {error}")))
}

/// Serve a file on a blocking thread; errors are the `/v1` API's JSON error answer with their
/// status, since the files are what programs download.
async fn respond_file<F>(work: F) -> Response
where
    F: FnOnce() -> Result<(&'static str, String, Vec<u8>), PageError> + Send + 'static,
{
    let outcome = tokio::task::spawn_blocking(work).await;
    let result = outcome.unwrap_or_else(|join_error| {
        tracing::error!(error = %join_error, "write report file");
        Err(PageError::internal("the file could not be written"))
    });
    match result {
        Ok((content_type, name, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => error.api_error().into_response(),
    }
}

async fn actor_report_page(
    State(state): State<AppState>,
    Path((id, year)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    respond("report", move || {
        report_page(&state, Some(id), &year, query.as_deref())
    })
    .await
}

async fn government_report_page(
    State(state): State<AppState>,
    Path(year): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    respond("report", move || {
        report_page(&state, None, &year, query.as_deref())
    })
    .await
}

async fn actor_report_file(
    State(state): State<AppState>,
    Path((id, year, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    respond_file(move || report_file(&state, Some(id), &year, &file, query.as_deref())).await
}

async fn government_report_file(
    State(state): State<AppState>,
    Path((year, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    respond_file(move || report_file(&state, None, &year, &file, query.as_deref())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_takes_checkpoint_and_as_of_and_refuses_anything_else() {
        let params = report_params(Some("checkpoint=20")).unwrap();
        assert_eq!(params.get("checkpoint").map(String::as_str), Some("20"));
        assert!(report_params(Some("as_of=20")).is_ok());
        assert!(report_params(None).unwrap().is_empty());
        for (query, parameter) in [
            ("foo=1", "foo"),
            ("checkpoint=20&chekpoint=21", "chekpoint"),
            ("checkpoint=20&checkpoint=21", "checkpoint"),
        ] {
            let error = report_params(Some(query)).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(error.parameter.as_deref(), Some(parameter), "{query}");
            assert!(error.message.contains(parameter), "{}", error.message);
        }
        let error = report_asked(None, "20x5", &Params::new()).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.message.contains("\"20x5\" is not a year"));
    }

    #[test]
    fn the_moment_shown_counts_one_entry_as_one_entry() {
        let day = Date::parse("2026-03-31").unwrap();
        assert_eq!(
            showing(1, true, None, day),
            "the latest: 1 log entry, overdue judged today"
        );
        assert_eq!(
            showing(1_200, true, None, day),
            "the latest: 1,200 log entries, overdue judged today"
        );
        assert_eq!(
            showing(1, false, Some(day), day),
            "the world on 31 Mar 2026, as recorded by the log's first 1 entry"
        );
        assert_eq!(
            showing(1, false, None, day),
            "the log as it stood at 1 entry, overdue judged on 31 Mar 2026"
        );
    }

    #[test]
    fn as_of_takes_a_date_or_a_size_and_names_anything_else() {
        assert_eq!(parse_as_of("", None).unwrap(), AsOf::LATEST);
        assert_eq!(parse_as_of(" 1200 ", None).unwrap(), AsOf::size(1200));
        assert_eq!(
            parse_as_of("2026-03-31", None).unwrap(),
            AsOf::date(Date::parse("2026-03-31").unwrap())
        );
        let error = parse_as_of("last tuesday", None).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(
            error.message.contains("\"last tuesday\""),
            "{}",
            error.message
        );
        assert!(parse_as_of("2026-02-30", None).is_err());
        assert!(parse_as_of("99999999999999999999999", None).is_err());
        // Both axes: the world on a date, as a checkpoint recorded it.
        let both = parse_as_of("2024-12-04", Some("412")).unwrap();
        assert_eq!(both.world, Date::parse("2024-12-04"));
        assert_eq!(both.recorded, covenant_query::Recorded::Size(412));
        assert!(parse_as_of("12", Some("412")).is_err(), "two sizes");
    }
}
