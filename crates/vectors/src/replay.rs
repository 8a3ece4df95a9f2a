//! A log replayed in memory: the chain, the validation state and the event ids, exactly as a
//! verifier holds them (SPEC section 8.2). Used to build the vectors' logs and to judge cases.

use covenant_core::entry::{ChainVerifier, Entry, GENESIS_PREVIOUS};
use covenant_core::event::decode;
use covenant_core::validate::{
    Decision, IndexedEvent, LedgerState, Rejection, SignatureCheck, validate,
};
use std::collections::HashMap;

/// A log of accepted entries and the state they leave.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    state: LedgerState,
    index: HashMap<String, IndexedEvent>,
    chain: ChainVerifier,
    entries: Vec<Vec<u8>>,
}

impl Replay {
    /// The decision about `envelope` as the next entry, stored at `stored_at_ns`, without
    /// appending it.
    pub fn decide(&self, envelope: &[u8], stored_at_ns: u64) -> Decision {
        let event = match decode(envelope) {
            Ok(event) => event,
            Err(error) => return Decision::Reject(Rejection::from(error)),
        };
        validate(
            &self.state,
            &self.index,
            &event,
            self.entries.len() as u64,
            stored_at_ns,
            SignatureCheck::Pending,
        )
    }

    /// Append `envelope` as the next entry if it is accepted; the decision either way.
    pub fn append(&mut self, envelope: &[u8], stored_at_ns: u64) -> Decision {
        let decision = self.decide(envelope, stored_at_ns);
        if let Decision::Accept(changes) = &decision {
            let event = decode(envelope).expect("accepted, so it decodes");
            let seq = self.entries.len() as u64;
            let entry = Entry {
                seq,
                stored_at_ns,
                previous: if seq == 0 {
                    GENESIS_PREVIOUS
                } else {
                    self.chain.head()
                },
                envelope: envelope.to_vec(),
            }
            .encode();
            self.chain
                .push(&entry)
                .expect("entries built here chain by construction");
            self.state.apply_all(changes.clone());
            self.index.insert(
                event.event_id().to_owned(),
                IndexedEvent {
                    seq,
                    digest: event.digest,
                    actor: event.actor().to_owned(),
                },
            );
            self.entries.push(entry);
        }
        decision
    }

    /// Replay entry bytes (as a vector file carries them): each must chain and be accepted.
    pub fn from_entries(entries: &[Vec<u8>]) -> Result<Self, String> {
        let mut replay = Self::default();
        for (number, bytes) in entries.iter().enumerate() {
            let entry = Entry::decode(bytes).map_err(|e| format!("entry {number}: {e}"))?;
            match replay.append(&entry.envelope, entry.stored_at_ns) {
                Decision::Accept(_) => {}
                other => return Err(format!("entry {number} is not accepted: {other:?}")),
            }
            if replay.entries[number] != *bytes {
                return Err(format!("entry {number} does not chain as given"));
            }
        }
        Ok(replay)
    }

    /// The entries so far, encoded.
    pub fn entries(&self) -> &[Vec<u8>] {
        &self.entries
    }
}

/// The answer a case expects, as the vectors write it: `accept`, `duplicate` or a reject code.
pub fn verdict(decision: &Decision) -> &'static str {
    match decision {
        Decision::Accept(_) => "accept",
        Decision::Duplicate { .. } => "duplicate",
        Decision::Reject(rejection) => rejection.code.as_str(),
    }
}

/// The field a rejection names (`commitment_made.due_by: ...`), for `invalid_field` and
/// `non_canonical` answers.
pub fn rejected_field(decision: &Decision) -> Option<String> {
    use covenant_core::validate::RejectCode;
    match decision {
        Decision::Reject(Rejection {
            code: RejectCode::InvalidField,
            message,
        }) => message.split_once(':').map(|(field, _)| field.to_owned()),
        Decision::Reject(Rejection {
            code: RejectCode::NonCanonical,
            message,
        }) => Some(
            if message.starts_with("the envelope's body") {
                "body"
            } else {
                "envelope"
            }
            .to_owned(),
        ),
        _ => None,
    }
}
