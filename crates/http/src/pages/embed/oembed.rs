//! `GET /oembed` (<https://oembed.com>): for the URL of a commitment's or actor's page on
//! this server (or of one of its cards), a `rich` answer whose `html` is an `<iframe>` of the
//! card.
//!
//! Only URLs under the server's configured public URL are known; absolute URLs are built from
//! it, never from the request's Host header. Errors have the API's one shape
//! ([`ApiError`]): 400 for a missing or bad parameter, 404 for a URL this server does not
//! know, 501 for any format but JSON.

use super::{CARD_HEIGHT, CARD_WIDTH, MAX_AGE_SECONDS, SVG_HEIGHT, SVG_WIDTH, Subject, card};
use crate::AppState;
use crate::error::ApiError;
use crate::pages::layout::href;
use crate::pages::{Params, bare_moment, common::projections};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::{Value, json};

/// What an oEmbed request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    subject: Subject,
    /// The `as_of` and `recorded` of the given URL, carried into the card.
    as_of: Vec<(String, String)>,
    max_width: Option<u32>,
    max_height: Option<u32>,
}

/// The id in a path segment, percent-decoded (a `+` is a plus, as in any path).
fn decode_segment(segment: &str) -> String {
    let escaped = segment.replace('+', "%2B");
    form_urlencoded::parse(format!("id={escaped}").as_bytes())
        .next()
        .map(|(_, id)| id.into_owned())
        .unwrap_or_default()
}

/// The subject of a page or card path: `/commitments/{id}`, `/embed/commitments/{id}`,
/// `/embed/commitments/{id}/card.svg`, and the same for actors.
fn subject_of(path: &str) -> Option<Subject> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (collection, id) = match segments.as_slice() {
        [collection, id] | ["embed", collection, id] | ["embed", collection, id, "card.svg"] => {
            (*collection, *id)
        }
        _ => return None,
    };
    if id.is_empty() {
        return None;
    }
    let id = decode_segment(id);
    match collection {
        "commitments" => Some(Subject::Commitment(id)),
        "actors" => Some(Subject::Actor(id)),
        _ => None,
    }
}

/// The subject and moment of `url`, when it is a page or card under `public_url`.
fn parse_url(public_url: &str, url: &str) -> Option<(Subject, Vec<(String, String)>)> {
    let rest = url.strip_prefix(public_url)?;
    if !rest.starts_with('/') {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let subject = subject_of(path)?;
    let as_of = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, value)| (key == "as_of" || key == "recorded") && !value.is_empty())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    Some((subject, as_of))
}

fn dimension(params: &Params, name: &str) -> Result<Option<u32>, ApiError> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    match text.trim().parse::<u32>() {
        Ok(value) if value > 0 => Ok(Some(value)),
        _ => Err(ApiError::bad_parameter(
            name,
            format!("{name} must be a whole number of pixels above 0, not {text:?}"),
        )),
    }
}

fn read_request(public_url: &str, params: &Params) -> Result<Request, ApiError> {
    match params.get("format").map(String::as_str) {
        None | Some("json") => {}
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented",
                format!("format {other:?} is not offered; ask for format=json"),
            ));
        }
    }
    let url = params
        .get("url")
        .filter(|url| !url.trim().is_empty())
        .ok_or_else(|| ApiError::bad_parameter("url", "url is required"))?;
    let (subject, as_of) = parse_url(public_url, url.trim()).ok_or_else(|| {
        ApiError::not_found(format!(
            "{url:?} is not a commitment or actor page of {public_url}"
        ))
    })?;
    Ok(Request {
        subject,
        as_of,
        max_width: dimension(params, "maxwidth")?,
        max_height: dimension(params, "maxheight")?,
    })
}

/// The card's title at the moment asked for; a 404 when it is unknown there.
fn title_of(state: &AppState, request: &Request) -> Result<String, ApiError> {
    let projections = projections(state).map_err(|error| ApiError::unavailable(error.message))?;
    let params: Params = request.as_of.iter().cloned().collect();
    let as_of = bare_moment(projections, &params)
        .map_err(|error| ApiError::bad_parameter("url", error.message))?;
    match card::load(projections, &request.subject, &as_of.point) {
        Ok(card) => Ok(card.title().to_owned()),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            Err(ApiError::not_found(error.message))
        }
        Err(error) => Err(ApiError::new(error.status, "internal", error.message)),
    }
}

/// The answer: the card's `<iframe>` no larger than asked, and the SVG card as thumbnail.
fn answer(public_url: &str, request: &Request, title: &str) -> Value {
    let width = request
        .max_width
        .map_or(CARD_WIDTH, |max| max.min(CARD_WIDTH));
    let height = request
        .max_height
        .map_or(CARD_HEIGHT, |max| max.min(CARD_HEIGHT));
    let card_url = format!(
        "{public_url}{}",
        href(&request.subject.card_path(), &request.as_of)
    );
    let svg_url = format!(
        "{public_url}{}",
        href(&request.subject.svg_path(), &request.as_of)
    );
    let iframe = html! {
        iframe src=(card_url) width=(width) height=(height) title=(title)
            loading="lazy" frameborder="0" scrolling="no" {}
    };
    json!({
        "type": "rich",
        "version": "1.0",
        "title": title,
        "provider_name": "Covenant",
        "provider_url": format!("{public_url}/"),
        "cache_age": MAX_AGE_SECONDS,
        "html": iframe.into_string(),
        "width": width,
        "height": height,
        "thumbnail_url": svg_url,
        "thumbnail_width": SVG_WIDTH,
        "thumbnail_height": SVG_HEIGHT,
    })
}

/// `GET /oembed`.
pub(super) async fn serve(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let public_url = state.public_url.clone();
    let request = match read_request(&public_url, &params) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let answered = tokio::task::spawn_blocking(move || {
        title_of(&state, &request).map(|title| answer(&public_url, &request, &title))
    })
    .await
    .unwrap_or_else(|join_error| {
        Err(ApiError::internal(format!(
            "oembed task failed: {join_error}"
        )))
    });
    let mut response = match answered {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    };
    // Consumers often ask from a browser on another site; the answer is public anyway.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://covenant.example.org";

    #[test]
    fn pages_and_cards_of_this_server_are_known_and_nothing_else() {
        let commitment = Subject::Commitment("dhsc nurses+1".to_owned());
        for url in [
            "https://covenant.example.org/commitments/dhsc%20nurses+1",
            "https://covenant.example.org/embed/commitments/dhsc%20nurses+1#top",
            "https://covenant.example.org/embed/commitments/dhsc%20nurses%2B1/card.svg",
        ] {
            assert_eq!(
                parse_url(BASE, url).map(|(s, _)| s),
                Some(commitment.clone()),
                "{url}"
            );
        }
        let (actor, as_of) = parse_url(
            BASE,
            "https://covenant.example.org/actors/uk-mp%3A4514?as_of=120&x=1",
        )
        .expect("an actor page");
        assert_eq!(actor, Subject::Actor("uk-mp:4514".to_owned()));
        assert_eq!(as_of, [("as_of".to_owned(), "120".to_owned())]);
        for url in [
            "https://elsewhere.example/commitments/a",
            "https://covenant.example.org.evil/commitments/a",
            "https://covenant.example.org/themes/love",
            "https://covenant.example.org/commitments/",
            "https://covenant.example.org/commitments/a/b",
        ] {
            assert_eq!(parse_url(BASE, url), None, "{url}");
        }
    }

    #[test]
    fn the_answer_fits_the_maximum_size_asked_for() {
        let request = Request {
            subject: Subject::Commitment("c".to_owned()),
            as_of: vec![],
            max_width: Some(300),
            max_height: Some(1000),
        };
        let body = answer(BASE, &request, "A \"quoted\" <title>");
        assert_eq!(body["width"], 300);
        assert_eq!(body["height"], CARD_HEIGHT);
        let html = body["html"].as_str().expect("html");
        assert!(html.starts_with(
            "<iframe src=\"https://covenant.example.org/embed/commitments/c\" width=\"300\""
        ));
        assert!(html.contains("title=\"A &quot;quoted&quot; &lt;title&gt;\""));
    }
}
