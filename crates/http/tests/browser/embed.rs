//! A card on someone else's site: a host page on another origin (a second server on another
//! port) holds the oEmbed `<iframe>` of a commitment's card, the SVG card as an `<img>`, and,
//! as a control, an `<iframe>` of an ordinary page. The card must render inside the frame
//! (it fails if the card lost its framing exemption), the image must load, and the ordinary
//! page must stay blocked.
//!
//! Browsers ignore `X-Frame-Options` when a response's Content-Security-Policy has
//! `frame-ancestors`, so what decides here is the card's own policy; that no card carries
//! `X-Frame-Options: DENY` is checked over HTTP (tests/query_api/embed.rs).

use super::chrome::{Chrome, DESKTOP};
use super::server::Server;
use super::{run, screenshot_dir, text_of};
use fantoccini::Locator;
use serde_json::Value;
use std::time::Duration;

/// Serve `html` at `/` on a free loopback port: a different origin from the server's.
async fn host_site(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port for the host site");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let page = axum::response::Html(html);
    let router = axum::Router::new().route("/", axum::routing::get(move || async move { page }));
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("serve the host site");
    });
    base
}

/// The status words the pages use, by the API's status key.
fn status_words(key: &str) -> &'static str {
    match key {
        "delivered" => "Delivered",
        "partly_delivered" => "Partly delivered",
        "not_delivered" => "Not delivered",
        "overdue" => "Overdue",
        "in_progress" => "In progress",
        "not_started" => "Not started",
        "withdrawn" => "Withdrawn",
        other => panic!("unexpected status {other}"),
    }
}

/// Switch into the frame matched by `css` in the current document.
async fn enter(chrome: &Chrome, css: &str) {
    chrome
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no frame {css}: {error}"))
        .enter_frame()
        .await
        .unwrap_or_else(|error| panic!("enter the frame {css}: {error}"));
}

/// Wait up to five seconds for the SVG card image to finish loading; its natural width.
async fn loaded_image_width(chrome: &Chrome) -> u64 {
    for _ in 0..100 {
        let state = run(
            chrome,
            "const img = document.getElementById('svg-card'); return [img.complete, img.naturalWidth];",
        )
        .await;
        if state[0] == Value::Bool(true) {
            return state[1].as_u64().unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_renders_inside_another_sites_page() {
    let server = Server::with_demo().await;
    let first = server.json("/v1/commitments?limit=1").await;
    let commitment = &first["items"][0];
    let id = commitment["id"]
        .as_str()
        .expect("a commitment id")
        .to_owned();
    let title = commitment["title"].as_str().expect("a title").to_owned();
    let status = status_words(commitment["status"].as_str().expect("a status"));

    // The snippet a newsroom's CMS gets from oEmbed, pasted as it comes.
    let page_url = server.url(&format!("/commitments/{id}"));
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("url", &page_url)
        .finish();
    let oembed = server.json(&format!("/oembed?{query}")).await;
    let snippet = oembed["html"].as_str().expect("the oEmbed html");
    let svg_url = oembed["thumbnail_url"].as_str().expect("the SVG card");
    let owner = commitment["owner"].as_str().expect("an owner");
    let owner_name = server.json(&format!("/v1/actors/{owner}")).await["actor"]["name"]
        .as_str()
        .expect("the owner's name")
        .to_owned();
    let actor_card = server.url(&format!("/embed/actors/{owner}"));
    let host = host_site(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A newsroom</title></head>\
         <body><h1>A story about a promise</h1>{snippet}\
         <img id=\"svg-card\" alt=\"The promise\" src=\"{svg_url}\">\
         <iframe id=\"page-frame\" src=\"{page_url}\" width=\"480\" height=\"200\"></iframe>\
         <iframe id=\"actor-frame\" src=\"{actor_card}\" width=\"480\" height=\"220\"></iframe>\
         <img id=\"actor-svg\" alt=\"The department\" src=\"{actor_card}/card.svg\">\
         </body></html>"
    ))
    .await;
    assert_ne!(host, server.base, "the host site is another origin");

    let chrome = Chrome::start(DESKTOP).await;
    chrome.client.goto(&host).await.expect("load the host page");
    assert_eq!(text_of(&chrome, "h1").await, "A story about a promise");

    // The SVG card loaded as an image on the other site.
    assert_eq!(loaded_image_width(&chrome).await, 480, "the SVG card loads");
    chrome
        .client
        .set_window_size(1000, 1000)
        .await
        .expect("resize the window");
    let png = chrome.client.screenshot().await.expect("take a screenshot");
    std::fs::write(screenshot_dir().join("embed-host.png"), png).expect("save the screenshot");

    // Inside the card's frame: the commitment, its status, and links that leave the frame.
    enter(&chrome, "iframe[src*='/embed/commitments/']").await;
    assert_eq!(text_of(&chrome, ".embed-title").await, title);
    assert_eq!(text_of(&chrome, ".embed-status .badge").await, status);
    let verify = chrome
        .client
        .find(Locator::Css(".embed-verify"))
        .await
        .expect("the Verify link");
    assert_eq!(
        verify.attr("target").await.unwrap().as_deref(),
        Some("_blank")
    );
    assert!(
        text_of(&chrome, ".embed-as-of")
            .await
            .starts_with("As of the log at ")
    );
    // The card's stylesheets were allowed in: the badge has its tint.
    let tint = run(
        &chrome,
        "return getComputedStyle(document.querySelector('.badge')).backgroundColor",
    )
    .await;
    assert_ne!(tint, "rgba(0, 0, 0, 0)", "the card is styled");
    chrome
        .client
        .enter_parent_frame()
        .await
        .expect("back to the host page");

    // The control: an ordinary page of the server refuses to be framed.
    enter(&chrome, "#page-frame").await;
    let framed_page = run(
        &chrome,
        "return document.querySelector('.site-header') !== null",
    )
    .await;
    assert_eq!(
        framed_page,
        Value::Bool(false),
        "an ordinary page was framed"
    );
    chrome
        .client
        .enter_parent_frame()
        .await
        .expect("back to the host page");

    // The owner's card, beside it.
    enter(&chrome, "#actor-frame").await;
    assert_eq!(text_of(&chrome, ".embed-title").await, owner_name);
    let counted = run(
        &chrome,
        "return document.querySelectorAll('.embed-counts li').length",
    )
    .await;
    assert_eq!(counted, 7, "every status is counted");
    chrome.close().await;
}
