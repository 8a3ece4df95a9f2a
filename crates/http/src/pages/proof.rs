//! One event's proof, for a person: where it sits in the log, which signed checkpoint covers
//! it, what it says, and how to check the downloadable bundle offline.

use super::layout::{self, Frame, Section, segment};
use super::{PageError, format};
use crate::AppState;
use covenant_core::checkpoint::verify_checkpoint;
use covenant_core::entry::{ENTRY_HEADER_BYTES, EntryHeader};
use covenant_core::{event, facts};
use maud::{Markup, html};

pub(crate) fn page(state: &AppState, event_id: &str) -> Result<Markup, PageError> {
    let store = &*state.store;
    let failed = |what: &str| {
        let what = what.to_owned();
        move |error: covenant_store::StoreError| {
            tracing::error!(%error, "{what}");
            PageError::internal(format!("the log could not be read ({what})"))
        }
    };
    let indexed = store
        .event(event_id)
        .map_err(failed("look the event up"))?
        .ok_or_else(|| PageError::not_found(format!("event {event_id:?} is not in the log")))?;
    let entry = store
        .entry(indexed.seq)
        .map_err(failed("read the entry"))?
        .ok_or_else(|| PageError::internal(format!("entry {} is missing", indexed.seq)))?;
    let header = EntryHeader::parse(&entry)
        .map_err(|error| PageError::internal(format!("entry {}: {error}", indexed.seq)))?;
    let decoded = event::decode(&entry[ENTRY_HEADER_BYTES..])
        .map_err(|error| PageError::internal(format!("entry {}: {error}", indexed.seq)))?;
    let checkpoint = store
        .latest_checkpoint()
        .map_err(failed("read the checkpoint"))?
        .and_then(|(_, note)| verify_checkpoint(&note, &state.verifier_key).ok())
        .filter(|checkpoint| checkpoint.size > indexed.seq);
    let frame = Frame {
        title: format!("Proof of event {event_id}"),
        description: format!("What event {event_id} says and where it sits in the log"),
        path: format!("/proofs/{}", segment(event_id)),
        section: Section::Other,
        as_of: layout::AsOfControl {
            showing: format!(
                "the log's entry #{} and its latest signed checkpoint",
                indexed.seq
            ),
            ..Default::default()
        },
        formats: vec![layout::Format {
            label: "JSON",
            url: crate::proofs::bundle_path(event_id),
        }],
        oembed: None,
    };
    let recorded = covenant_query::rfc3339(header.stored_at_ns);
    let body = html! {
        p class="eyebrow" { "Proof · log entry #" (indexed.seq) }
        h1 { "What event " code { (event_id) } " says" }
        section class="card" aria-labelledby="says-heading" {
            h2 id="says-heading" { "What it says" }
            dl class="facts event-facts" {
                @for (label, value) in facts::facts(&decoded) {
                    dt { (format::words_of(&label.replace(' ', "_"))) }
                    dd { (value) }
                }
                dt { "Recorded" }
                dd { (format::date(&recorded)) " (" (recorded) ")" }
            }
        }
        section class="card" aria-labelledby="where-heading" {
            h2 id="where-heading" { "Where it is in the log" }
            @match &checkpoint {
                Some(checkpoint) => p class="covered" {
                    "Entry #" (indexed.seq) " of " code { (checkpoint.origin) } ", covered by the signed checkpoint of "
                    (format::entries(checkpoint.size)) " with root " code { (checkpoint.root) } "."
                },
                None => p class="notice" { "Entry #" (indexed.seq) " is not yet covered by a signed checkpoint; try again shortly." },
            }
            p {
                a class="verify" href=(crate::proofs::bundle_path(event_id)) { "Download the proof bundle" }
                ": the entry, its inclusion proof and the signed checkpoint. Anyone can check it offline with "
                code { "covenant audit check-proof FILE --key KEY" } ", using the log's "
                a href="/log/verifier-key" { "verifier key" } "; it prints what the event says, as above."
            }
        }
    };
    Ok(layout::page(&frame, body))
}
