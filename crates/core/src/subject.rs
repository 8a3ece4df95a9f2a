//! NATS subjects events are published on.
//!
//! Emitters publish each envelope to `acct.events.<actor>` and the ledger consumes
//! `acct.events.>`; both sides map the actor the same way, with this function.

/// Prefix of every event subject; the ledger's stream covers `acct.events.>`.
pub const EVENT_SUBJECT_PREFIX: &str = "acct.events.";

/// The subject filter covering every event subject.
pub const EVENT_SUBJECTS: &str = "acct.events.>";

/// Name of the JetStream stream that holds every published event (created by the ledger: file
/// storage, limits retention, no age limit, duplicate window [`DUPLICATE_WINDOW_SECS`]).
pub const EVENT_STREAM: &str = "COVENANT_EVENTS";

/// How long JetStream remembers a `Nats-Msg-Id` to drop a re-sent event; beyond it the ledger's
/// event-id index is what keeps a re-sent event from being appended twice.
pub const DUPLICATE_WINDOW_SECS: u64 = 120;

/// The `Nats-Msg-Id` an envelope is published with: the hex blake3 digest of its bytes.
///
/// Derived from the bytes, not from the event id, so that JetStream's duplicate window drops
/// only byte-identical re-sends: an envelope that merely claims a genuine event's id (junk, or
/// an attacker racing the emitter) gets its own message id and cannot make the genuine one look
/// like a duplicate. Whether two envelopes under one id are a duplicate or an equivocation is
/// then the ledger's event-id index's decision.
pub fn message_id(envelope_bytes: &[u8]) -> String {
    hex::encode(blake3::hash(envelope_bytes).as_bytes())
}

/// The subject an actor's events are published on: `acct.events.<actor>`, with every character
/// that cannot appear in a NATS subject token ('.', '*', '>', whitespace) replaced by '_'.
///
/// The mapping is many-to-one (`GB.GOV` and `GB_GOV` share a subject); that is harmless because
/// the subject only routes and permits, while the envelope names the actor that is checked.
pub fn event_subject(actor: &str) -> String {
    let token: String = actor
        .chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect();
    // An empty token would make the subject end in '.', which NATS refuses.
    let token = if token.is_empty() {
        "_".to_owned()
    } else {
        token
    };
    format!("{EVENT_SUBJECT_PREFIX}{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_the_digest_of_the_bytes() {
        assert_eq!(message_id(b"one"), message_id(b"one"));
        assert_ne!(message_id(b"one"), message_id(b"one "));
        assert_eq!(message_id(b""), hex::encode(blake3::hash(b"").as_bytes()));
        assert_eq!(message_id(b"x").len(), 64);
    }

    #[test]
    fn plain_actors_keep_their_name() {
        assert_eq!(event_subject("GB-GOV-23"), "acct.events.GB-GOV-23");
        assert_eq!(event_subject("uk-mp:4514"), "acct.events.uk-mp:4514");
    }

    #[test]
    fn characters_invalid_in_a_token_become_underscores() {
        assert_eq!(event_subject("gov.uk/dcms"), "acct.events.gov_uk/dcms");
        assert_eq!(event_subject("a*b>c d\te"), "acct.events.a_b_c_d_e");
        assert_eq!(event_subject(""), "acct.events._");
    }

    #[test]
    fn every_subject_is_one_token_under_the_prefix() {
        for actor in ["x", "a.b.c", "..", "*", ">", " ", "GB-CHC-1234567", "ü.ß"] {
            let subject = event_subject(actor);
            let token = subject.strip_prefix(EVENT_SUBJECT_PREFIX).unwrap();
            assert!(!token.is_empty(), "{actor:?}");
            assert!(
                !token.contains(['.', '*', '>']) && !token.contains(char::is_whitespace),
                "{actor:?} -> {subject}"
            );
        }
    }
}
