//! Facts: the events about one commitment, as the projection keeps them.
//!
//! A fact is an accepted event seen from one commitment: an action serving three commitments is
//! three facts, a succession is one fact on each commitment that passed, a retraction is one
//! fact on each commitment its target touched. The event body is kept exactly as signed, so a
//! commitment's state at any point of the log is a pure fold over its facts (see `state`).

use covenant_core::proto::{EventBody, event_body::Kind};
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// The entry's position in the log.
    pub seq: u64,
    /// When the broker stored the event (nanoseconds since the Unix epoch).
    pub stored_at_ns: u64,
    pub event_id: String,
    /// The actor that spoke.
    pub actor: String,
    pub occurred_at_ms: i64,
    /// blake3 chain hash of the entry.
    pub entry_hash: [u8; 32],
    /// The envelope's body bytes (a protobuf `EventBody`), as signed.
    pub body: Vec<u8>,
}

impl Fact {
    /// The event kind inside the body.
    pub fn kind(&self) -> Result<Kind, String> {
        EventBody::decode(self.body.as_slice())
            .map_err(|error| format!("fact at entry {}: body does not decode: {error}", self.seq))?
            .kind
            .ok_or_else(|| format!("fact at entry {}: body has no event kind", self.seq))
    }
}

/// Encode a stored value.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain data into a Vec cannot fail.
    postcard::to_allocvec(value).expect("postcard encodes plain data into a vec")
}

/// Decode a stored value, naming what it was.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|error| format!("{what} does not decode: {error}"))
}
