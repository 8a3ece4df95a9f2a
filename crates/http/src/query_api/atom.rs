//! Atom 1.0 feeds (RFC 4287) of a query feed.

use crate::sentences::{feed_heading, feed_summary, feed_title};
use atom_syndication::{Entry, Feed, FixedDateTime, Link, Person, Text};
use covenant_query::view::{self, FeedSource};

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

/// An entry's stable, unique id: the event's, or the commitment's and the due date that passed.
fn entry_id(entry: &view::FeedEntry) -> String {
    match &entry.source {
        FeedSource::Event { event_id, .. } => format!("urn:covenant:event:{event_id}"),
        FeedSource::Overdue { due_by } => {
            format!("urn:covenant:overdue:{}:{due_by}", entry.commitment_id)
        }
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
            id: entry_id(entry),
            title: Text::plain(feed_heading(entry)),
            // When it happened in the world; `updated` is when the log recorded it.
            published: Some(instant(&format!("{}T00:00:00Z", entry.published))),
            updated: instant(&entry.updated),
            summary: Some(Text::plain(feed_summary(entry))),
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
        title: Text::plain(feed_title(feed)),
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
