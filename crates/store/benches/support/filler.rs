//! Filler entries for the benchmarks that fill a store directly: the store's own and
//! `log-reads` (crates/http/benches/log_reads.rs includes this file). The store checks no
//! signature, so an entry only needs the shape and the size of a real one; since the store
//! compresses its records, it also needs the compressibility of a real one: a body of prose
//! and a signature of noise (`covenant_testkit::text`, included here by path, since the
//! testkit depends on the store).

#[path = "../../../testkit/src/text.rs"]
mod text;

use covenant_core::proto;
use covenant_store::NewEntry;
use prost::Message;

/// Entry `n`: an envelope of `envelope_bytes` whose event id is `id_prefix` and `n`, whose body
/// is prose and whose signature is noise.
pub fn entry(id_prefix: &str, n: u64, envelope_bytes: usize) -> NewEntry {
    let event_id = format!("{id_prefix}{n:018}");
    let actor = "GB-GOV-17".to_owned();
    let mut envelope = proto::Envelope {
        event_id: event_id.clone(),
        actor: actor.clone(),
        occurred_at_ms: 1_764_000_000_000 + n as i64,
        key_id: "GB-GOV-17/2026-1".to_owned(),
        body: Vec::new(),
        signature: text::noise(n, 64),
    };
    let padding = envelope_bytes - envelope.encoded_len() - 3;
    envelope.body = text::prose(n, padding).into_bytes();
    let envelope = envelope.encode_to_vec();
    NewEntry {
        stored_at_ns: 1_764_000_000_000_000_000 + n,
        digest: covenant_core::event::envelope_digest(&envelope),
        envelope,
        event_id,
        actor,
    }
}
