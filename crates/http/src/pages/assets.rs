//! The stylesheet and script, compiled into the binary and served under `/assets/`.
//!
//! Each file's URL carries a hash of its content (`site-1a2b3c4d5e6f7a8b.css`), so browsers and
//! caches may keep it for a year: a new build with a changed file has a new URL. Nothing is
//! fetched from anywhere else; the server may have no internet.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

pub const STYLESHEET: &str = include_str!("assets/site.css");
pub const SCRIPT: &str = include_str!("assets/site.js");
/// The embeddable cards' own layout, on top of the site's stylesheet (colours, badges).
pub const CARD_STYLESHEET: &str = include_str!("assets/card.css");

const YEAR_IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    name: String,
    content_type: &'static str,
    body: &'static str,
}

/// 64-bit FNV-1a: enough to tell two builds' files apart, not a security measure.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn asset(stem: &str, extension: &str, content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        name: format!("{stem}-{:016x}.{extension}", fingerprint(body.as_bytes())),
        content_type,
        body,
    }
}

static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        asset("site", "css", "text/css; charset=utf-8", STYLESHEET),
        asset("site", "js", "text/javascript; charset=utf-8", SCRIPT),
        asset("card", "css", "text/css; charset=utf-8", CARD_STYLESHEET),
    ]
});

/// The URL of the stylesheet, for `<link rel="stylesheet">`.
pub fn stylesheet_url() -> String {
    format!("/assets/{}", ASSETS[0].name)
}

/// The URL of the script, for `<script src>`.
pub fn script_url() -> String {
    format!("/assets/{}", ASSETS[1].name)
}

/// The URL of the cards' stylesheet, loaded after the site's.
pub fn card_stylesheet_url() -> String {
    format!("/assets/{}", ASSETS[2].name)
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, YEAR_IMMUTABLE),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            format!("no asset named {name}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_change_when_content_changes() {
        assert_ne!(
            fingerprint(b"a { color: red }"),
            fingerprint(b"a { color: blue }")
        );
        assert!(stylesheet_url().starts_with("/assets/site-"));
        assert!(stylesheet_url().ends_with(".css"));
        assert!(script_url().ends_with(".js"));
        assert_ne!(stylesheet_url(), script_url());
        assert!(card_stylesheet_url().starts_with("/assets/card-"));
    }

    #[tokio::test]
    async fn assets_are_served_with_a_year_long_cache_and_unknown_names_are_404() {
        let name = stylesheet_url().trim_start_matches("/assets/").to_owned();
        let response = serve(Path(name)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], YEAR_IMMUTABLE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );

        let stale = serve(Path("site-0000000000000000.css".to_owned())).await;
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    }
}
