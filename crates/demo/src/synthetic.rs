//! A synthetic load with the demo's shape, for benchmarks: commitments spread over 650 MPs and
//! 400 public bodies, each followed by actions, sometimes an amendment, and usually an outcome
//! or a withdrawal; about ten events per commitment. Every actor is registered and granted a
//! key just before its first event.
//!
//! The load is deterministic and streams: `synthetic(n)` yields exactly `n` envelopes, and is
//! always a prefix of `synthetic(m)` for `m > n`, so a benchmark can generate millions without
//! holding them in memory.

use crate::script::seed;
use covenant_core::event::{Date, SEED_THEMES};
use covenant_core::proto::{
    ActionType, ActorKind, AmendmentClass, KeyRole, MoneyStage, SourceKind, Verdict,
};
use covenant_core::signing::EventSigner;
use covenant_emit::build::{
    Action, ActorRegistration, Amendment, Commitment, KeyGrant, Money, Outcome, Speaker,
    Withdrawal, derived_event_id, start_of_day_ms,
};
use std::collections::{HashMap, VecDeque};

pub const MEMBERS: usize = 650;
pub const BODIES: usize = 400;
const ACTORS: usize = MEMBERS + BODIES;

/// The actor id of synthetic actor `index` (0-based).
pub fn actor_id(index: usize) -> String {
    if index < MEMBERS {
        format!("synthetic-mp:{:04}", index + 1)
    } else {
        format!("synthetic-body:{:04}", index - MEMBERS + 1)
    }
}

/// A stream of `scale` envelopes (see the module documentation).
pub struct Synthetic {
    scale: u64,
    produced: u64,
    next_commitment: u64,
    pending: VecDeque<Vec<u8>>,
    registrar: Speaker,
    speakers: HashMap<usize, Speaker>,
}

impl Synthetic {
    pub(crate) fn new(scale: u64, registrar: Speaker) -> Self {
        Self {
            scale,
            produced: 0,
            next_commitment: 0,
            pending: VecDeque::new(),
            registrar,
            speakers: HashMap::new(),
        }
    }

    /// How many envelopes the whole stream holds.
    pub fn len(&self) -> u64 {
        self.scale
    }

    pub fn is_empty(&self) -> bool {
        self.scale == 0
    }

    fn write_group(&mut self) {
        let number = self.next_commitment;
        self.next_commitment += 1;
        let mut group = Group {
            number,
            events: &mut self.pending,
            sequence: 0,
        };
        let actor = (number % ACTORS as u64) as usize;
        let made_on = 5 + (mix(number, 1) % 400) as i32;
        if !self.speakers.contains_key(&actor) {
            let speaker = register(&mut group, &self.registrar, actor, made_on);
            self.speakers.insert(actor, speaker);
        }
        let speaker = &self.speakers[&actor];
        commitment_story(&mut group, speaker, made_on);
    }
}

impl Iterator for Synthetic {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.produced >= self.scale {
            return None;
        }
        if self.pending.is_empty() {
            self.write_group();
        }
        self.produced += 1;
        self.pending.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.scale - self.produced) as usize;
        (left, Some(left))
    }
}

/// The events about one commitment, sealed in order.
struct Group<'a> {
    number: u64,
    events: &'a mut VecDeque<Vec<u8>>,
    sequence: u32,
}

impl Group<'_> {
    fn seal(
        &mut self,
        speaker: &Speaker,
        day: i32,
        kind: impl Into<covenant_core::proto::event_body::Kind>,
    ) {
        let occurred_at_ms =
            start_of_day_ms(day_in_range(day)) + 9 * 3_600_000 + i64::from(self.sequence) * 1000;
        let label = format!("covenant-demo/synthetic/{}/{}", self.number, self.sequence);
        self.sequence += 1;
        let event_id = derived_event_id(occurred_at_ms, label.as_bytes());
        let sealed = speaker
            .seal_with_id(&event_id, kind, occurred_at_ms)
            .unwrap_or_else(|error| panic!("the synthetic load wrote an invalid event: {error}"));
        self.events.push_back(sealed.bytes.to_vec());
    }
}

/// The date `offset` days after 2025-01-01.
fn date_at(offset: i32) -> Date {
    let start = Date::parse("2025-01-01").expect("a valid date");
    Date(start.days() + offset)
}

/// Dates when things happen stay within the simulated period (to 2026-10-31), so that no event
/// is dated in the future; due dates may lie beyond it.
fn day_in_range(offset: i32) -> Date {
    date_at(offset.clamp(0, 668))
}

fn register(group: &mut Group<'_>, registrar: &Speaker, actor: usize, day: i32) -> Speaker {
    let id = actor_id(actor);
    let registration = if actor < MEMBERS {
        ActorRegistration::new(
            &id,
            format!("Synthetic Member {}", actor + 1),
            ActorKind::Mp,
        )
        .seat(format!("Constituency {}", actor + 1), "Synthetic Party")
    } else {
        ActorRegistration::new(
            &id,
            format!("Synthetic Public Body {}", actor - MEMBERS + 1),
            ActorKind::Agency,
        )
    };
    group.seal(registrar, day - 1, registration);
    let key_id = format!("{id}.key-1");
    let signer = EventSigner::from_seed(seed(&format!("synthetic {key_id}")));
    group.seal(
        registrar,
        day - 1,
        KeyGrant::new(&key_id, signer.public_key(), &id, &[KeyRole::Emitter]),
    );
    Speaker::new(id, key_id, signer).expect("synthetic ids are valid")
}

fn commitment_story(group: &mut Group<'_>, speaker: &Speaker, made_on: i32) {
    let number = group.number;
    let id = format!("synthetic-c-{number}");
    let theme = SEED_THEMES[(mix(number, 2) % SEED_THEMES.len() as u64) as usize];
    let due_in = 180 + (mix(number, 3) % 540) as i32;
    group.seal(
        speaker,
        made_on,
        Commitment::new(
            &id,
            format!("Synthetic commitment {number}"),
            format!(
                "A synthetic promise about {theme}, number {number}, with enough words to be \
                 about as long as a real commitment's text usually is."
            ),
            day_in_range(made_on),
        )
        .source(
            SourceKind::Pledge,
            "Synthetic source",
            "https://example.org/synthetic",
        )
        .due_by(date_at(made_on + due_in))
        .themes([theme]),
    );
    let actions = 6 + mix(number, 4) % 3;
    let mut day = made_on;
    for index in 0..actions {
        day += 3 + (mix(number, 10 + index) % 25) as i32;
        let mut action = Action::new(
            format!("synthetic-a-{number}-{index}"),
            [id.as_str()],
            ACTION_TYPES[(mix(number, 20 + index) % ACTION_TYPES.len() as u64) as usize],
            day_in_range(day),
            format!("Synthetic step {index} towards commitment {number}."),
        );
        if mix(number, 30 + index).is_multiple_of(3) {
            let stage = [
                MoneyStage::Pledged,
                MoneyStage::Committed,
                MoneyStage::Spent,
            ][(mix(number, 40 + index) % 3) as usize];
            let pence = 100 * (1_000 + (mix(number, 50 + index) % 5_000_000) as i64);
            action = action.money(Money::gbp(pence, stage));
        }
        group.seal(speaker, day, action);
        if index == 2 && mix(number, 5) % 10 < 3 {
            day += 1;
            group.seal(
                speaker,
                day,
                Amendment::new(
                    &id,
                    AmendmentClass::DeadlineChange,
                    "Synthetic deadline change.",
                )
                .new_due_by(date_at(made_on + due_in + 90)),
            );
        }
    }
    day += 10;
    match mix(number, 6) % 10 {
        0..=6 => {
            let verdict = [
                Verdict::Delivered,
                Verdict::PartlyDelivered,
                Verdict::NotDelivered,
            ][(mix(number, 7) % 3) as usize];
            group.seal(
                speaker,
                day,
                Outcome::new(&id, verdict, day_in_range(day), "Synthetic outcome.")
                    .lessons("Synthetic lessons learned."),
            );
        }
        7 => group.seal(speaker, day, Withdrawal::new(&id, "Synthetic withdrawal.")),
        _ => {}
    }
}

const ACTION_TYPES: &[ActionType] = &[
    ActionType::Legislation,
    ActionType::Funding,
    ActionType::Publication,
    ActionType::Consultation,
    ActionType::Procurement,
    ActionType::Partnership,
    ActionType::Other,
];

/// A well-mixed 64-bit value from a commitment number and a salt (SplitMix64's finaliser).
fn mix(number: u64, salt: u64) -> u64 {
    let mut z = number
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
