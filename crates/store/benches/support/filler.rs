//! Filler entries for the benchmarks that fill a store directly: the store's own and
//! `log-reads` (crates/http/benches/log_reads.rs includes this file). The store checks no
//! signature, so an entry only needs the shape and the size of a real one.

use covenant_core::proto;
use covenant_store::NewEntry;
use prost::Message;

/// Entry `n`: an envelope of `envelope_bytes` whose event id is `id_prefix` and `n`, and whose
/// body bytes vary like real text does, so nothing compresses by accident.
pub fn entry(id_prefix: &str, n: u64, envelope_bytes: usize) -> NewEntry {
    let event_id = format!("{id_prefix}{n:018}");
    let actor = "GB-GOV-17".to_owned();
    let mut envelope = proto::Envelope {
        event_id: event_id.clone(),
        actor: actor.clone(),
        occurred_at_ms: 1_764_000_000_000 + n as i64,
        key_id: "GB-GOV-17/2026-1".to_owned(),
        body: Vec::new(),
        signature: vec![0x42; 64],
    };
    let padding = envelope_bytes - envelope.encoded_len() - 3;
    envelope.body = (0..padding as u64)
        .map(|i| (i * 31 + n * 7) as u8)
        .collect();
    let envelope = envelope.encode_to_vec();
    NewEntry {
        stored_at_ns: 1_764_000_000_000_000_000 + n,
        digest: covenant_core::event::envelope_digest(&envelope),
        envelope,
        event_id,
        actor,
    }
}
