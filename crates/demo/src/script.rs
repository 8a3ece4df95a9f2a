//! Writing a data set as a script: who says what, when. Events are sealed as they are written
//! (with the key the actor holds at that moment), and published in time order.

use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use covenant_core::signing::EventSigner;
use covenant_emit::build::{KeyGrant, KeyRevocation, Speaker, derived_event_id, start_of_day_ms};
use std::collections::BTreeMap;

/// A deterministic 32-byte seed for a named key.
pub fn seed(name: &str) -> [u8; 32] {
    *blake3::hash(format!("covenant-demo key: {name}").as_bytes()).as_bytes()
}

/// A moment: a date and a time of day (minutes after midnight, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn ms(self) -> i64 {
        self.0
    }
}

/// `date` at `hour`:00 UTC. Panics on a bad date: the data set is written by hand, and a
/// typo must fail the build's tests, not produce a different data set.
pub fn at(date: &str, hour: i64) -> Timestamp {
    Timestamp(start_of_day_ms(day(date)) + hour * 3_600_000)
}

/// A date written in the script.
pub fn day(date: &str) -> Date {
    Date::parse(date).unwrap_or_else(|| panic!("the demo script has a bad date {date:?}"))
}

/// Every key an actor has held: (granted at, key id, signer), in time order.
type KeyTimeline = Vec<(Timestamp, String, EventSigner)>;

pub struct Script {
    namespace: &'static str,
    registrar: Speaker,
    keys: BTreeMap<String, KeyTimeline>,
    events: Vec<(Timestamp, usize, Vec<u8>)>,
}

impl Script {
    pub fn new(namespace: &'static str, registrar: Speaker) -> Self {
        Self {
            namespace,
            registrar,
            keys: BTreeMap::new(),
            events: vec![],
        }
    }

    fn seal(&mut self, speaker: &Speaker, when: Timestamp, kind: Kind) -> String {
        let sequence = self.events.len();
        let label = format!("{}/{sequence}/{}", self.namespace, speaker.actor());
        let event_id = derived_event_id(when.ms(), label.as_bytes());
        let sealed = speaker
            .seal_with_id(&event_id, kind, when.ms())
            .unwrap_or_else(|error| panic!("the demo script wrote an invalid event: {error}"));
        self.events.push((when, sequence, sealed.bytes.to_vec()));
        event_id
    }

    /// A registry event, spoken by the registrar.
    pub fn registry(&mut self, when: Timestamp, kind: impl Into<Kind>) -> String {
        let registrar = self.registrar.clone();
        self.seal(&registrar, when, kind.into())
    }

    /// Grant a new key (derived from `key_id`) to `actor`: from `when` on, the actor signs with it.
    pub fn grant(&mut self, when: Timestamp, actor: &str, key_id: &str, roles: &[proto::KeyRole]) {
        let signer = EventSigner::from_seed(seed(key_id));
        self.registry(
            when,
            KeyGrant::new(key_id, signer.public_key(), actor, roles),
        );
        let timeline = self.keys.entry(actor.to_owned()).or_default();
        timeline.push((when, key_id.to_owned(), signer));
        timeline.sort_by_key(|(granted_at, _, _)| *granted_at);
    }

    /// Revoke a key; the actor must have been granted a newer one to keep speaking.
    pub fn revoke(&mut self, when: Timestamp, key_id: &str, reason: &str) {
        self.registry(when, KeyRevocation::new(key_id, reason));
    }

    /// An event spoken by `actor` with the newest key it was granted before `when`.
    pub fn say(&mut self, actor: &str, when: Timestamp, kind: impl Into<Kind>) -> String {
        let (key_id, signer) = self
            .keys
            .get(actor)
            .and_then(|timeline| {
                timeline
                    .iter()
                    .rev()
                    .find(|(granted_at, _, _)| *granted_at < when)
            })
            .map(|(_, key_id, signer)| (key_id.clone(), signer.clone()))
            .unwrap_or_else(|| panic!("{actor} holds no key at {when:?} in the demo script"));
        let speaker = Speaker::new(actor, key_id, signer).expect("script actors are valid ids");
        self.seal(&speaker, when, kind.into())
    }

    /// The envelopes in publish order: by time, then in the order they were written.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        self.events
            .sort_by_key(|(when, sequence, _)| (*when, *sequence));
        self.events.into_iter().map(|(_, _, bytes)| bytes).collect()
    }
}
