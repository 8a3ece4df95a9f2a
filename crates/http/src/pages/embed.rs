//! Cards other sites can embed: a small HTML card (for an `<iframe>`) and the same card as an
//! SVG image (for an `<img>`), for one commitment or one actor, and the oEmbed endpoint that
//! hands out the `<iframe>` snippet.
//!
//! - `/embed/commitments/{id}`, `/embed/commitments/{id}/card.svg`
//! - `/embed/actors/{id}`, `/embed/actors/{id}/card.svg`
//! - `/oembed?url=…` (docs/EMBED.md)
//!
//! Cards are the only responses any site may frame: they carry the
//! [`Embeddable`](crate::server::Embeddable) marker and their own Content-Security-Policy
//! (`frame-ancestors *`, no script). They may be cached for [`MAX_AGE_SECONDS`], carry an
//! `ETag` made from the point of the log they show (so a client revalidates with
//! `If-None-Match` and gets a 304), and say that point's log size in [`AS_OF_SIZE_HEADER`].
//! An unknown commitment or actor is a 404 card, framable like any card.

mod card;
mod oembed;
mod svg;

use super::layout::segment;
use super::{PageAsOf, PageError, Params, bare_moment, common::projections};
use crate::AppState;
use crate::server::{CARD_CONTENT_SECURITY_POLICY, Embeddable, SVG_CONTENT_SECURITY_POLICY};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use covenant_query::ResolvedAsOf;

pub(crate) use card::Card;

/// How long a card may be reused without asking the server again.
pub const MAX_AGE_SECONDS: u64 = 60;

/// The response header that says how many log entries a card (or any answer carrying it)
/// counted: the `as_of.size` of the JSON answers.
pub const AS_OF_SIZE_HEADER: &str = "covenant-as-of-size";

/// The HTML card's size, as the oEmbed answer announces it.
pub const CARD_WIDTH: u32 = 480;
pub const CARD_HEIGHT: u32 = 220;

/// The SVG card's size.
pub const SVG_WIDTH: u32 = 480;
pub const SVG_HEIGHT: u32 = 160;

/// Changes whenever a card's look changes, so that an `ETag` from an older build never
/// revalidates a card drawn differently.
const CARD_REVISION: &str = concat!("c1-", env!("CARGO_PKG_VERSION"));

/// The routes of the cards and of oEmbed.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/embed/commitments/{id}", get(commitment_card))
        .route("/embed/commitments/{id}/card.svg", get(commitment_svg))
        .route("/embed/actors/{id}", get(actor_card))
        .route("/embed/actors/{id}/card.svg", get(actor_svg))
        .route("/oembed", get(oembed::serve))
}

/// What a card is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    Commitment(String),
    Actor(String),
}

impl Subject {
    fn collection(&self) -> &'static str {
        match self {
            Subject::Commitment(_) => "commitments",
            Subject::Actor(_) => "actors",
        }
    }

    fn id(&self) -> &str {
        match self {
            Subject::Commitment(id) | Subject::Actor(id) => id,
        }
    }

    /// The page on this server that shows it in full (`/commitments/{id}`).
    pub(crate) fn page_path(&self) -> String {
        format!("/{}/{}", self.collection(), segment(self.id()))
    }

    /// Its HTML card (`/embed/commitments/{id}`).
    pub(crate) fn card_path(&self) -> String {
        format!("/embed{}", self.page_path())
    }

    /// Its SVG card (`/embed/commitments/{id}/card.svg`).
    pub(crate) fn svg_path(&self) -> String {
        format!("{}/card.svg", self.card_path())
    }
}

/// The oEmbed discovery URL of a commitment's or actor's page, under `public_url`.
pub(crate) fn discovery_url(public_url: &str, subject: &Subject) -> String {
    let page = format!("{public_url}{}", subject.page_path());
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("url", &page)
        .append_pair("format", "json")
        .finish();
    format!("{public_url}/oembed?{query}")
}

/// The two forms of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Html,
    Svg,
}

impl Shape {
    fn content_type(self) -> &'static str {
        match self {
            Shape::Html => "text/html; charset=utf-8",
            Shape::Svg => "image/svg+xml; charset=utf-8",
        }
    }

    fn policy(self) -> &'static str {
        match self {
            Shape::Html => CARD_CONTENT_SECURITY_POLICY,
            Shape::Svg => SVG_CONTENT_SECURITY_POLICY,
        }
    }
}

async fn commitment_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let subject = Subject::Commitment(id);
    answer(state, subject, Shape::Html, params, &headers).await
}

async fn commitment_svg(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let subject = Subject::Commitment(id);
    answer(state, subject, Shape::Svg, params, &headers).await
}

async fn actor_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    answer(state, Subject::Actor(id), Shape::Html, params, &headers).await
}

async fn actor_svg(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    answer(state, Subject::Actor(id), Shape::Svg, params, &headers).await
}

/// What a card request comes to.
enum CardAnswer {
    /// The client's copy (its `If-None-Match`) is still right.
    NotModified(ResolvedAsOf),
    Card(Box<Card>, PageAsOf),
    /// An unknown subject, a bad `as_of`, a server without projections.
    Failed(PageError, Option<ResolvedAsOf>),
}

/// The `ETag` of a card at `point`: the log size, the date that judges overdue, the world
/// date if one cuts the answer, and the cards' revision.
fn etag(point: &ResolvedAsOf) -> String {
    let world = point
        .world
        .map(|world| format!("-w{world}"))
        .unwrap_or_default();
    format!("\"{CARD_REVISION}-{}-{}{world}\"", point.size, point.date)
}

/// Whether an `If-None-Match` value names `etag` (weak or strong). `*` is not taken as a
/// match: it would answer 304 before knowing whether the card exists at all.
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate.strip_prefix("W/").unwrap_or(candidate) == etag)
}

fn prepare(
    state: &AppState,
    subject: &Subject,
    params: &Params,
    if_none_match: Option<&str>,
) -> CardAnswer {
    let projections = match projections(state) {
        Ok(projections) => projections,
        Err(error) => return CardAnswer::Failed(error, None),
    };
    let as_of = match bare_moment(projections, params) {
        Ok(as_of) => as_of,
        Err(error) => return CardAnswer::Failed(error, None),
    };
    if if_none_match.is_some_and(|value| matches(value, &etag(&as_of.point))) {
        return CardAnswer::NotModified(as_of.point);
    }
    match card::load(projections, subject, &as_of.point) {
        Ok(card) => CardAnswer::Card(Box::new(card), as_of),
        Err(error) => CardAnswer::Failed(error, Some(as_of.point)),
    }
}

async fn answer(
    state: AppState,
    subject: Subject,
    shape: Shape,
    params: Params,
    headers: &HeaderMap,
) -> Response {
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let outcome = tokio::task::spawn_blocking(move || {
        prepare(&state, &subject, &params, if_none_match.as_deref())
    })
    .await
    .unwrap_or_else(|join_error| {
        tracing::error!(error = %join_error, "render card");
        CardAnswer::Failed(PageError::internal("the card could not be drawn"), None)
    });
    match outcome {
        CardAnswer::NotModified(point) => {
            embeddable(StatusCode::NOT_MODIFIED, shape, Some(&point), String::new())
        }
        CardAnswer::Card(card, as_of) => {
            let body = match shape {
                Shape::Html => card::html(&card, &as_of).into_string(),
                Shape::Svg => svg::card(&card, &as_of.point),
            };
            embeddable(StatusCode::OK, shape, Some(&as_of.point), body)
        }
        CardAnswer::Failed(error, point) => {
            let body = match shape {
                Shape::Html => card::error_html(&error).into_string(),
                Shape::Svg => svg::error_card(&error),
            };
            embeddable(error.status, shape, point.as_ref(), body)
        }
    }
}

/// A card response: framable by any site, with its own policy, cacheable for a minute, with
/// the `ETag` and log size of the point it shows (when there is one).
fn embeddable(
    status: StatusCode,
    shape: Shape,
    point: Option<&ResolvedAsOf>,
    body: String,
) -> Response {
    let mut response = (status, body).into_response();
    response.extensions_mut().insert(Embeddable);
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, shape.content_type().to_owned());
    set(header::CONTENT_SECURITY_POLICY, shape.policy().to_owned());
    let cache = if status.is_server_error() {
        "no-store".to_owned()
    } else {
        format!("public, max-age={MAX_AGE_SECONDS}")
    };
    set(header::CACHE_CONTROL, cache);
    if let Some(point) = point {
        set(
            HeaderName::from_static(AS_OF_SIZE_HEADER),
            point.size.to_string(),
        );
        if status == StatusCode::OK || status == StatusCode::NOT_MODIFIED {
            set(header::ETAG, etag(point));
        }
    }
    if status == StatusCode::NOT_MODIFIED {
        headers.remove(header::CONTENT_TYPE);
    }
    response
}

/// "As of the log at 1,204 entries, 4 Dec 2026": the point a card shows, in words.
pub(crate) fn as_of_words(point: &ResolvedAsOf) -> String {
    let entries = super::format::entries(point.size);
    let date = super::format::date(&point.date.to_string());
    match point.world {
        Some(world) => format!(
            "The world on {}, as of the log at {entries}",
            super::format::date(&world.to_string())
        ),
        None => format!("As of the log at {entries}, {date}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::event::Date;

    fn point(size: u64) -> ResolvedAsOf {
        ResolvedAsOf {
            size,
            date: Date::parse("2026-12-04").expect("a date"),
            world: None,
            latest: true,
            reuse_records: true,
        }
    }

    #[test]
    fn etags_follow_the_point_and_if_none_match_reads_lists_and_weak_tags() {
        let tag = etag(&point(1204));
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert!(tag.contains("-1204-2026-12-04"), "{tag}");
        assert_ne!(tag, etag(&point(1205)));
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("\"other\", W/{tag}"), &tag));
        assert!(!matches("*", &tag));
        assert!(!matches(&etag(&point(1203)), &tag));
    }

    #[test]
    fn paths_encode_the_id_and_discovery_points_at_the_page() {
        let subject = Subject::Commitment("a b/c".to_owned());
        assert_eq!(subject.page_path(), "/commitments/a%20b%2Fc");
        assert_eq!(subject.card_path(), "/embed/commitments/a%20b%2Fc");
        assert_eq!(subject.svg_path(), "/embed/commitments/a%20b%2Fc/card.svg");
        assert_eq!(
            discovery_url("https://c.example", &Subject::Actor("GB-GOV-X".to_owned())),
            "https://c.example/oembed?url=https%3A%2F%2Fc.example%2Factors%2FGB-GOV-X&format=json"
        );
    }

    #[test]
    fn as_of_words_name_the_size_and_the_date() {
        assert_eq!(
            as_of_words(&point(1204)),
            "As of the log at 1,204 entries, 4 Dec 2026"
        );
        assert_eq!(
            as_of_words(&point(1)),
            "As of the log at 1 entry, 4 Dec 2026"
        );
    }
}
