//! Atom 1.0 feeds (RFC 4287) of a query feed.

use atom_syndication::{Entry, Feed, FixedDateTime, Link, Person, Text};
use covenant_query::view;

fn instant(text: &str) -> FixedDateTime {
    // The query layer writes RFC 3339 itself; the epoch is a harmless fallback.
    FixedDateTime::parse_from_rfc3339(text).unwrap_or_else(|_| {
        FixedDateTime::parse_from_rfc3339("1970-01-01T00:00:00Z").expect("valid")
    })
}

fn link(href: String, rel: &str, mime_type: &str) -> Link {
    Link {
        href,
        rel: rel.to_owned(),
        mime_type: Some(mime_type.to_owned()),
        ..Link::default()
    }
}

/// The feed as Atom XML. `base` is the absolute URL of the server, `self_path` the feed's
/// own path and query.
pub fn render(feed: &view::Feed, base: &str, self_path: &str, feed_id: &str) -> String {
    let updated = feed
        .entries
        .first()
        .map(|entry| instant(&entry.updated))
        .unwrap_or_else(|| instant(&format!("{}T00:00:00Z", feed.as_of.date)));
    let entries = feed
        .entries
        .iter()
        .map(|entry| Entry {
            id: entry.id.clone(),
            title: Text::plain(entry.title.clone()),
            // When it happened in the world; `updated` is when the log recorded it.
            published: Some(instant(&format!("{}T00:00:00Z", entry.published))),
            updated: instant(&entry.updated),
            summary: Some(Text::plain(entry.summary.clone())),
            links: vec![link(
                format!("{base}/v1/commitments/{}", entry.commitment_id),
                "alternate",
                "application/json",
            )],
            ..Entry::default()
        })
        .collect();
    let atom = Feed {
        id: feed_id.to_owned(),
        title: Text::plain(feed.title.clone()),
        updated,
        authors: vec![Person {
            name: "Covenant ledger".to_owned(),
            ..Person::default()
        }],
        links: vec![link(
            format!("{base}{self_path}"),
            "self",
            "application/atom+xml",
        )],
        entries,
        ..Feed::default()
    };
    atom.to_string()
}
