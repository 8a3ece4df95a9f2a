//! The embeddable cards and oEmbed over real HTTP: framing headers (cards framable by anyone,
//! every other page by no one), caching and revalidation, escaping of hostile text in HTML,
//! SVG and JSON, 404 cards, the oEmbed answer and its errors, and discovery on the pages.

use super::{PUBLIC_URL, Server, serve};
use covenant_core::proto::Verdict;
use covenant_http::pages::embed::{AS_OF_SIZE_HEADER, CARD_HEIGHT, CARD_WIDTH, MAX_AGE_SECONDS};
use covenant_http::server::{
    CARD_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY, SVG_CONTENT_SECURITY_POLICY,
};
use covenant_store::LogReader;
use covenant_testkit::log::LogWriter;
use covenant_testkit::scenario::{DCMS, MP};
use serde_json::Value;
use std::collections::BTreeMap;

/// A response with every header (lower-case names) and its body.
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn fetch(server: &Server, path: &str, if_none_match: Option<&str>) -> Reply {
    let mut request = server.agent.get(&format!("{}{path}", server.base));
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or_default().to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    Reply {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn get(server: &Server, path: &str) -> Reply {
    fetch(server, path, None)
}

const COMMITMENT: &str = "dcms-libraries";

fn card_routes() -> [(String, &'static str, &'static str); 4] {
    [
        (
            format!("/embed/commitments/{COMMITMENT}"),
            "text/html; charset=utf-8",
            CARD_CONTENT_SECURITY_POLICY,
        ),
        (
            format!("/embed/commitments/{COMMITMENT}/card.svg"),
            "image/svg+xml; charset=utf-8",
            SVG_CONTENT_SECURITY_POLICY,
        ),
        (
            format!("/embed/actors/{DCMS}"),
            "text/html; charset=utf-8",
            CARD_CONTENT_SECURITY_POLICY,
        ),
        (
            format!("/embed/actors/{DCMS}/card.svg"),
            "image/svg+xml; charset=utf-8",
            SVG_CONTENT_SECURITY_POLICY,
        ),
    ]
}

fn assert_framable(reply: &Reply, policy: &str, what: &str) {
    assert_eq!(
        reply.header("content-security-policy"),
        Some(policy),
        "{what}"
    );
    assert!(policy.contains("frame-ancestors *"), "{what}");
    assert!(
        !policy.contains("script-src"),
        "{what}: no script in a card"
    );
    assert_eq!(reply.header("x-frame-options"), None, "{what}");
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

fn assert_unframable(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY),
        "{what}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
}

#[test]
fn cards_are_framable_by_any_site_and_nothing_else_is() {
    let server = serve();
    for (path, content_type, policy) in card_routes() {
        let reply = get(&server, &path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert_framable(&reply, policy, &path);
    }
    let oembed_url = format!("{PUBLIC_URL}/commitments/{COMMITMENT}");
    for path in [
        "/".to_owned(),
        format!("/commitments/{COMMITMENT}"),
        format!("/actors/{DCMS}"),
        "/commitments/no-such-commitment".to_owned(),
        "/embed".to_owned(),
        "/embed/themes/love".to_owned(),
        format!("/oembed?url={oembed_url}"),
        "/v1/actors".to_owned(),
    ] {
        assert_unframable(&get(&server, &path), &path);
    }
}

#[test]
fn a_commitment_card_shows_owner_status_deadline_outcome_and_a_verify_link() {
    let server = serve();
    let reply = get(&server, &format!("/embed/commitments/{COMMITMENT}"));
    let body = &reply.body;
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(body.contains(">Keep every library open</a></h1>"), "{body}");
    assert!(
        body.contains(">Department for Culture, Media and Sport</a>"),
        "{body}"
    );
    assert!(body.contains("<span class=\"badge badge-delivered\">Delivered</span>"));
    assert!(
        body.contains("<dd class=\"embed-deadline\">31 Dec 2026</dd>"),
        "{body}"
    );
    assert!(body.contains("<dd class=\"embed-outcome\">Delivered, reported 20 Apr 2026</dd>"));
    assert!(body.contains(&format!(
        "<a class=\"embed-verify\" href=\"/commitments/{COMMITMENT}\" target=\"_blank\" rel=\"noopener\">Verify</a>"
    )));
    // Every link leaves the frame for a new tab.
    assert_eq!(
        body.matches("<a ").count(),
        body.matches("target=\"_blank\" rel=\"noopener\"").count()
    );
    let size = server.store.head().size;
    assert!(
        body.contains(&format!("As of the log at {size} entries")),
        "{body}"
    );
    assert!(!body.contains("<script"), "a card runs no script");
    assert!(
        !body.contains("site-header"),
        "a card is not a page of the site"
    );

    // A commitment with no outcome yet, as of a moment the reader chose.
    let sport = get(&server, "/embed/commitments/dcms-sport?as_of=2026-06-01");
    assert_eq!(sport.status, 200);
    assert!(
        sport.body.contains("No outcome reported yet"),
        "{}",
        sport.body
    );
    assert!(
        sport
            .body
            .contains("href=\"/commitments/dcms-sport?as_of=2026-06-01\"")
    );
}

#[test]
fn an_actor_card_counts_commitments_by_status_like_the_api() {
    let server = serve();
    let scorecard: Value = serde_json::from_str(&get(&server, &format!("/v1/actors/{DCMS}")).body)
        .expect("scorecard JSON");
    let reply = get(&server, &format!("/embed/actors/{DCMS}"));
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .body
            .contains(">Department for Culture, Media and Sport</a></h1>")
    );
    assert!(
        reply
            .body
            .contains("<p class=\"embed-eyebrow\">Department</p>"),
        "{}",
        reply.body
    );
    for (key, label) in [
        ("delivered", "Delivered"),
        ("partly_delivered", "Partly delivered"),
        ("not_delivered", "Not delivered"),
        ("overdue", "Overdue"),
        ("in_progress", "In progress"),
        ("not_started", "Not started"),
        ("withdrawn", "Withdrawn"),
    ] {
        let count = &scorecard["counts"][key];
        let item = format!(
            "<li data-status=\"{key}\"><span class=\"badge badge-{key}\">{label}</span> <strong>{count}</strong></li>"
        );
        assert!(reply.body.contains(&item), "{item} in {}", reply.body);
    }
    assert!(reply.body.contains(&format!(
        "href=\"/actors/{DCMS}\" target=\"_blank\" rel=\"noopener\""
    )));

    let svg = get(&server, &format!("/embed/actors/{DCMS}/card.svg"));
    let document = roxmltree::Document::parse(&svg.body).expect("the SVG card is XML");
    let texts: String = document
        .descendants()
        .filter(|node| node.is_text())
        .filter_map(|node| node.text())
        .collect();
    assert!(
        texts.contains("Department for Culture, Media and Sport"),
        "{texts}"
    );
    assert!(
        texts.contains(&format!("{} Withdrawn", scorecard["counts"]["withdrawn"])),
        "{texts}"
    );
}

#[test]
fn cards_are_cached_briefly_and_revalidate_by_the_log_size() {
    let server = serve();
    let path = format!("/embed/commitments/{COMMITMENT}");
    let first = get(&server, &path);
    let size = server.store.head().size;
    assert_eq!(
        first.header("cache-control"),
        Some(format!("public, max-age={MAX_AGE_SECONDS}").as_str())
    );
    assert_eq!(
        first.header(AS_OF_SIZE_HEADER),
        Some(size.to_string().as_str())
    );
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert!(tag.contains(&format!("-{size}-")), "{tag}");

    let again = fetch(&server, &path, Some(&tag));
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert_framable(&again, CARD_CONTENT_SECURITY_POLICY, "304");
    let listed = format!("\"stale\", W/{tag}");
    assert_eq!(fetch(&server, &path, Some(&listed)).status, 304);
    let svg_path = format!("{path}/card.svg");
    let svg_tag = get(&server, &svg_path)
        .header("etag")
        .expect("an ETag")
        .to_owned();
    assert_eq!(fetch(&server, &svg_path, Some(&svg_tag)).status, 304);

    // The log grows: the old tag no longer matches, and the card says the new size.
    let mut log = LogWriter::resume(&*server.store).unwrap();
    log.action(DCMS, &[COMMITMENT], None).unwrap();
    let grown = log.flush().unwrap().size;
    server.caught_up();
    let fresh = fetch(&server, &path, Some(&tag));
    assert_eq!(fresh.status, 200);
    assert_eq!(
        fresh.header(AS_OF_SIZE_HEADER),
        Some(grown.to_string().as_str())
    );
    assert_ne!(fresh.header("etag"), Some(tag.as_str()));
    assert!(
        fresh
            .body
            .contains(&format!("As of the log at {grown} entries"))
    );
}

const HOSTILE: &str = "Fish & <chips> \"now\" <script>alert('x')</script>";

#[test]
fn hostile_titles_are_escaped_in_html_svg_and_oembed() {
    let server = serve();
    let mut log = LogWriter::resume(&*server.store).unwrap();
    log.commitment(
        MP,
        "mp-hostile",
        HOSTILE,
        "Hostile text",
        "2026-05-20",
        "2026-09-01",
        &["community"],
    )
    .unwrap();
    log.outcome(MP, "mp-hostile", Verdict::PartlyDelivered, "2026-05-30")
        .unwrap();
    log.flush().unwrap();
    server.caught_up();

    let html = get(&server, "/embed/commitments/mp-hostile");
    assert_eq!(html.status, 200);
    assert!(
        html.body.contains(
            "Fish &amp; &lt;chips&gt; &quot;now&quot; &lt;script&gt;alert('x')&lt;/script&gt;"
        ),
        "{}",
        html.body
    );
    assert!(!html.body.contains("<script"));
    assert!(!html.body.contains("<chips>"));
    assert!(html.body.contains("Partly delivered, reported 30 May 2026"));

    let svg = get(&server, "/embed/commitments/mp-hostile/card.svg");
    assert_eq!(svg.status, 200);
    assert!(!svg.body.contains("<script") && !svg.body.contains("<chips>"));
    let document = roxmltree::Document::parse(&svg.body).expect("the SVG card is XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(
        (root.attribute("width"), root.attribute("height")),
        (Some("480"), Some("160"))
    );
    let title = root
        .children()
        .find(|node| node.has_tag_name("title"))
        .and_then(|node| node.text());
    assert_eq!(title, Some(HOSTILE));

    let oembed_url = format!("{PUBLIC_URL}/commitments/mp-hostile");
    let answer = get(&server, &oembed_path(&oembed_url, &[]));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["title"], HOSTILE);
    let iframe = json["html"].as_str().expect("html");
    assert!(
        !iframe.contains("<script") && !iframe.contains("<chips>"),
        "{iframe}"
    );
    assert!(
        iframe.contains("title=\"Fish &amp; &lt;chips&gt; &quot;now&quot;"),
        "{iframe}"
    );
}

#[test]
fn unknown_commitments_and_actors_are_404_cards() {
    let server = serve();
    for (path, content_type, policy) in [
        (
            "/embed/commitments/no-such",
            "text/html; charset=utf-8",
            CARD_CONTENT_SECURITY_POLICY,
        ),
        (
            "/embed/actors/no-such",
            "text/html; charset=utf-8",
            CARD_CONTENT_SECURITY_POLICY,
        ),
        (
            "/embed/commitments/no-such/card.svg",
            "image/svg+xml; charset=utf-8",
            SVG_CONTENT_SECURITY_POLICY,
        ),
        (
            "/embed/actors/no-such/card.svg",
            "image/svg+xml; charset=utf-8",
            SVG_CONTENT_SECURITY_POLICY,
        ),
    ] {
        let reply = get(&server, path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert_framable(&reply, policy, path);
        assert!(reply.body.contains("no-such"), "{path}: {}", reply.body);
        assert!(
            !reply.body.contains("site-header"),
            "{path}: not the site's error page"
        );
    }
    let svg = get(&server, "/embed/actors/no-such/card.svg");
    roxmltree::Document::parse(&svg.body).expect("the 404 SVG card is XML");
    let bad = get(&server, "/embed/actors/GB-GOV-DCMS?as_of=someday");
    assert_eq!(bad.status, 400);
    assert_framable(&bad, CARD_CONTENT_SECURITY_POLICY, "a bad as_of");
}

fn oembed_path(url: &str, extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("url", url);
    for (key, value) in extra {
        query.append_pair(key, value);
    }
    format!("/oembed?{}", query.finish())
}

#[test]
fn oembed_answers_a_rich_iframe_for_pages_and_cards_of_this_server() {
    let server = serve();
    for url in [
        format!("{PUBLIC_URL}/commitments/{COMMITMENT}"),
        format!("{PUBLIC_URL}/embed/commitments/{COMMITMENT}"),
        format!("{PUBLIC_URL}/embed/commitments/{COMMITMENT}/card.svg"),
    ] {
        let reply = get(&server, &oembed_path(&url, &[("format", "json")]));
        assert_eq!(reply.status, 200, "{url}: {}", reply.body);
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
        );
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
        let json = reply.json();
        assert_eq!(json["type"], "rich");
        assert_eq!(json["version"], "1.0");
        assert_eq!(json["provider_name"], "Covenant");
        assert_eq!(json["provider_url"], format!("{PUBLIC_URL}/"));
        assert_eq!(json["title"], "Keep every library open");
        assert_eq!(json["width"], CARD_WIDTH);
        assert_eq!(json["height"], CARD_HEIGHT);
        assert_eq!(json["cache_age"], MAX_AGE_SECONDS);
        assert_eq!(
            json["thumbnail_url"],
            format!("{PUBLIC_URL}/embed/commitments/{COMMITMENT}/card.svg")
        );
        let html = json["html"].as_str().expect("html");
        assert!(html.starts_with(&format!(
            "<iframe src=\"{PUBLIC_URL}/embed/commitments/{COMMITMENT}\" width=\"{CARD_WIDTH}\" height=\"{CARD_HEIGHT}\""
        )), "{html}");
        assert!(html.ends_with("></iframe>"), "{html}");
    }

    let actor = get(
        &server,
        &oembed_path(
            &format!("{PUBLIC_URL}/actors/{DCMS}?as_of=2026-06-01"),
            &[("maxwidth", "320"), ("maxheight", "150")],
        ),
    )
    .json();
    assert_eq!(actor["title"], "Department for Culture, Media and Sport");
    assert_eq!(
        (actor["width"].as_u64(), actor["height"].as_u64()),
        (Some(320), Some(150))
    );
    let html = actor["html"].as_str().expect("html");
    assert!(
        html.contains(&format!(
            "src=\"{PUBLIC_URL}/embed/actors/{DCMS}?as_of=2026-06-01\""
        )),
        "{html}"
    );

    let known = format!("{PUBLIC_URL}/commitments/{COMMITMENT}");
    for (path, status, code) in [
        (
            oembed_path(&known, &[("format", "xml")]),
            501,
            "not_implemented",
        ),
        (
            oembed_path(&format!("{PUBLIC_URL}/commitments/no-such"), &[]),
            404,
            "not_found",
        ),
        (
            oembed_path(&format!("{PUBLIC_URL}/actors/no-such"), &[]),
            404,
            "not_found",
        ),
        (
            oembed_path(&format!("{PUBLIC_URL}/themes/love"), &[]),
            404,
            "not_found",
        ),
        (
            oembed_path(
                &format!("https://elsewhere.example/commitments/{COMMITMENT}"),
                &[],
            ),
            404,
            "not_found",
        ),
        // Only the configured public URL counts, not the address the request came to.
        (
            oembed_path(&format!("{}/commitments/{COMMITMENT}", server.base), &[]),
            404,
            "not_found",
        ),
        (
            oembed_path(&known, &[("maxwidth", "wide")]),
            400,
            "bad_parameter",
        ),
        ("/oembed".to_owned(), 400, "bad_parameter"),
    ] {
        let reply = get(&server, &path);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], code, "{path}");
    }
}

#[test]
fn commitment_and_actor_pages_announce_their_oembed() {
    let server = serve();
    for (page, url) in [
        (
            format!("/commitments/{COMMITMENT}"),
            format!("{PUBLIC_URL}/commitments/{COMMITMENT}"),
        ),
        (
            format!("/actors/{DCMS}"),
            format!("{PUBLIC_URL}/actors/{DCMS}"),
        ),
    ] {
        let body = get(&server, &page).body;
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("url", &url)
            .append_pair("format", "json")
            .finish();
        let href = format!("{PUBLIC_URL}/oembed?{query}");
        let link = format!(
            "type=\"application/json+oembed\" title=\"{}\" href=\"{}\">",
            if page.starts_with("/actors") {
                "Department for Culture, Media and Sport"
            } else {
                "Keep every library open"
            },
            href.replace('&', "&amp;")
        );
        assert!(
            body.contains(&format!("<link rel=\"alternate\" {link}")),
            "{link} in {page}"
        );
        // The announced address answers (asked of this server, whose public URL is elsewhere).
        let local = href.trim_start_matches(PUBLIC_URL);
        assert_eq!(get(&server, local).status, 200, "{local}");
    }
    assert!(!get(&server, "/").body.contains("json+oembed"));
}
