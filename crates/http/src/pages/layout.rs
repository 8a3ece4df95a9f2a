//! The frame every page shares: header and navigation, the "as of" control, links to the same
//! data as JSON, CSV and Atom, and the footer.

use super::assets;
use super::format;
use maud::{DOCTYPE, Markup, html};

/// Which section of the site a page belongs to, to mark it in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Search,
    Themes,
    Other,
}

/// The same data in a machine-readable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// `JSON`, `CSV` or `Atom`.
    pub label: &'static str,
    pub url: String,
}

/// What the "as of" control shows and keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsOfControl {
    /// The value the reader asked for (a date or a checkpoint size), to fill the box with.
    pub requested: Option<String>,
    /// A sentence about the moment shown, for example "the log at 1,204 entries".
    pub showing: String,
    /// Other query parameters of this page (filters) that switching moment must keep.
    pub keep: Vec<(String, String)>,
    /// Signed checkpoint sizes to suggest, newest first.
    pub checkpoints: Vec<u64>,
}

/// Everything the frame needs to know about a page.
#[derive(Debug, Clone)]
pub struct Frame {
    pub title: String,
    /// One sentence for search engines and link previews.
    pub description: String,
    /// This page's path, where the "as of" form submits to.
    pub path: String,
    pub section: Section,
    pub as_of: AsOfControl,
    pub formats: Vec<Format>,
    /// The absolute URL of this page's oEmbed answer, announced for discovery (commitment
    /// and actor pages, which have an embeddable card).
    pub oembed: Option<String>,
}

/// `path?key=value&...` with the values percent-encoded; empty values are left out.
pub fn href<K: AsRef<str>, V: AsRef<str>>(path: &str, params: &[(K, V)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        if !value.as_ref().is_empty() {
            serializer.append_pair(key.as_ref(), value.as_ref());
        }
    }
    let query = serializer.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// A path segment (an actor or commitment id) percent-encoded for use inside a URL path.
pub fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn nav_link(section: Section, current: Section, url: &str, text: &str) -> Markup {
    html! {
        li {
            @if section == current {
                a href=(url) aria-current="page" { (text) }
            } @else {
                a href=(url) { (text) }
            }
        }
    }
}

fn as_of_form(frame: &Frame) -> Markup {
    let requested = frame.as_of.requested.as_deref().unwrap_or("");
    html! {
        form class="as-of-form" method="get" action=(frame.path) role="search"
            aria-label="Show this page as it stood at another time" {
            @for (key, value) in &frame.as_of.keep {
                input type="hidden" name=(key) value=(value);
            }
            label for="as_of" { "As of" }
            input id="as_of" name="as_of" type="text" value=(requested)
                placeholder="date or entries" aria-describedby="as-of-hint"
                autocomplete="off" list="as-of-checkpoints";
            datalist id="as-of-checkpoints" {
                @for size in &frame.as_of.checkpoints {
                    option value=(size) { "signed checkpoint of " (format::entries(*size)) }
                }
            }
            button type="submit" { "Show" }
            @if frame.as_of.requested.is_some() {
                a href=(href(&frame.path, &frame.as_of.keep)) { "Latest" }
            }
        }
        p id="as-of-hint" class="as-of-state" {
            "Showing " strong { (frame.as_of.showing) }
        }
    }
}

/// A whole HTML document: the shared frame around `body`.
pub fn page(frame: &Frame, body: Markup) -> Markup {
    let atom = frame.formats.iter().find(|format| format.label == "Atom");
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · Covenant" }
                meta name="description" content=(frame.description);
                link rel="stylesheet" href=(assets::stylesheet_url());
                @if let Some(atom) = atom {
                    link rel="alternate" type="application/atom+xml" title=(frame.title)
                        href=(atom.url);
                }
                @if let Some(oembed) = &frame.oembed {
                    link rel="alternate" type="application/json+oembed" title=(frame.title)
                        href=(oembed);
                }
                script src=(assets::script_url()) defer {}
            }
            body {
                a class="skip-link" href="#main" { "Skip to content" }
                header class="site-header" {
                    div class="wrap" {
                        a class="brand" href="/" {
                            "Covenant"
                            small { "What was promised, what was done, and proof of both" }
                        }
                        nav class="site-nav" aria-label="Main" {
                            ul {
                                (nav_link(Section::Home, frame.section, "/", "Home"))
                                (nav_link(Section::Search, frame.section, "/search", "Search"))
                                (nav_link(Section::Themes, frame.section, "/themes", "Themes"))
                                li { a href="/#verify" { "Verify" } }
                            }
                        }
                    }
                }
                div class="context-bar" {
                    div class="wrap" {
                        div { (as_of_form(frame)) }
                        @if !frame.formats.is_empty() {
                            p class="formats" {
                                "This page as data:"
                                @for format in &frame.formats {
                                    a href=(format.url) type=(media_type(format.label)) {
                                        (format.label)
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main" class="wrap" tabindex="-1" {
                    (body)
                }
                footer class="site-footer" {
                    div class="wrap" {
                        p {
                            "Every fact on these pages comes from a public, append-only log. "
                            "Each event links to a proof that it is in the log; "
                            a href="/log/checkpoint" { "the latest signed checkpoint" }
                            " says what the log holds. Check it yourself with "
                            code { "covenant audit verify" } "."
                        }
                        p {
                            a href="/v1/openapi.json" { "API reference (OpenAPI)" }
                        }
                    }
                }
            }
        }
    }
}

fn media_type(label: &str) -> &'static str {
    match label {
        "JSON" => "application/json",
        "CSV" => "text/csv",
        "Atom" => "application/atom+xml",
        _ => "text/html",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            title: "Department for <Culture>".into(),
            description: "Scorecard".into(),
            path: "/actors/GB-GOV-23".into(),
            section: Section::Other,
            as_of: AsOfControl {
                requested: Some("2025-06-30".into()),
                showing: "the log as it stood on 2025-06-30".into(),
                keep: vec![("theme".into(), "love & care".into())],
                checkpoints: vec![120, 80, 1],
            },
            formats: vec![
                Format {
                    label: "JSON",
                    url: "/v1/actors/GB-GOV-23/scorecard".into(),
                },
                Format {
                    label: "Atom",
                    url: "/v1/actors/GB-GOV-23/feed.atom".into(),
                },
            ],
            oembed: Some("https://c.example/oembed?url=a&b".into()),
        }
    }

    #[test]
    fn href_encodes_values_and_drops_empty_ones() {
        assert_eq!(
            href(
                "/search",
                &[("q", "green & fair"), ("theme", ""), ("as_of", "12")]
            ),
            "/search?q=green+%26+fair&as_of=12"
        );
        assert_eq!(href::<&str, &str>("/", &[]), "/");
        assert_eq!(segment("uk-mp:4514/a b"), "uk-mp%3A4514%2Fa%20b");
    }

    #[test]
    fn page_has_the_frame_and_escapes_the_title() {
        let html = page(&frame(), html! { p { "body" } }).into_string();
        assert!(html.starts_with("<!DOCTYPE html><html lang=\"en-GB\">"));
        assert!(html.contains("<title>Department for &lt;Culture&gt; · Covenant</title>"));
        assert!(html.contains("<a class=\"skip-link\" href=\"#main\">"));
        assert!(
            html.contains("<main id=\"main\" class=\"wrap\" tabindex=\"-1\"><p>body</p></main>")
        );
        assert!(html.contains(&assets::stylesheet_url()));
    }

    #[test]
    fn as_of_form_keeps_filters_and_offers_the_latest() {
        let html = page(&frame(), html! {}).into_string();
        assert!(html.contains("action=\"/actors/GB-GOV-23\""));
        assert!(html.contains("<input type=\"hidden\" name=\"theme\" value=\"love &amp; care\">"));
        assert!(html.contains("value=\"2025-06-30\""));
        assert!(html.contains("href=\"/actors/GB-GOV-23?theme=love+%26+care\">Latest</a>"));
        assert!(html.contains(
            "<option value=\"120\">signed checkpoint of 120 entries</option><option value=\"80\">"
        ));
        // One entry is an entry, not "1 entries".
        assert!(html.contains("<option value=\"1\">signed checkpoint of 1 entry</option>"));
    }

    #[test]
    fn formats_are_linked_and_atom_is_announced() {
        let html = page(&frame(), html! {}).into_string();
        assert!(html.contains(
            "<a href=\"/v1/actors/GB-GOV-23/scorecard\" type=\"application/json\">JSON</a>"
        ));
        assert!(html.contains(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Department for &lt;Culture&gt;\" href=\"/v1/actors/GB-GOV-23/feed.atom\">"
        ));
        assert!(html.contains(
            "<link rel=\"alternate\" type=\"application/json+oembed\" title=\"Department for &lt;Culture&gt;\" href=\"https://c.example/oembed?url=a&amp;b\">"
        ));
    }
}
