//! The event id a row that names none gets, derived from the actor, the event body and its time,
//! keyed with the emitter's secret key.
//!
//! Publishing the same row twice gives the same id, which the ledger takes once; nobody without
//! the key can predict an id to publish something else under it first.

use crate::build::Speaker;
use covenant_core::proto::{self, event_body::Kind};

/// The id of the event `speaker` publishes with body `kind` at `occurred_at_ms`, when its row
/// gives none ([`Speaker::derived_event_id`] over the actor and the encoded body).
pub(super) fn derived_event_id(speaker: &Speaker, kind: &Kind, occurred_at_ms: i64) -> String {
    let body = prost::Message::encode_to_vec(&proto::EventBody {
        kind: Some(kind.clone()),
    });
    let entropy = [speaker.actor().as_bytes(), b"\n", &body].concat();
    speaker.derived_event_id(occurred_at_ms, &entropy)
}
