//! Covenant's demo data and synthetic load.
//!
//! [`demo`] is a data set written for this project: two simulated years (2025 and 2026) of a
//! registry, the culture department's Civil Society Covenant commitments (a joint council,
//! cross-sector secondments, a yearly report), national milestones of the "Plan for Change"
//! kind (one whose target is quietly lowered), fictional MPs answering the five asks of the "We
//! Imagine Better" call, an agency merged and a department renamed, money pledged, committed and
//! spent, outcomes delivered, partly delivered and missed, withdrawals, a retraction, and a
//! watchdog charity disputing one outcome. Bodies are modelled on UK public bodies; the MPs are
//! fictional; every action and outcome is simulated.
//!
//! Everything is deterministic (keys from fixed seeds, event ids derived from content and
//! time), so the same envelopes come out every time and loading twice adds nothing. Every event
//! is dated on or before [`END`], so none is in the future.
//!
//! [`synthetic`] streams a larger load with the same shape, for benchmarks.

#![forbid(unsafe_code)]

mod data;
mod script;
pub mod summary;
pub mod synthetic;

use covenant_core::event::Date;
use covenant_core::proto;
use covenant_core::signing::{EventSigner, PublicKey};
use covenant_emit::build::Speaker;

pub use summary::{ActorSummary, CommitmentSummary, DemoSummary, Status};
pub use synthetic::Synthetic;

/// The demo log's origin (the first line of its checkpoints).
pub const ORIGIN: &str = "demo.covenant.local/log";
/// The actor registry events are spoken by.
pub const REGISTRAR_ACTOR: &str = "covenant-registrar";
/// The registrar key's id in the genesis entry.
pub const REGISTRAR_KEY_ID: &str = "demo-registrar-1";
/// The last day of the simulated period: no event is dated after it.
pub const END: &str = "2026-10-31";

/// The genesis settings a ledger needs to accept the demo data (and the synthetic load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisConfig {
    pub origin: String,
    pub registrar_actor: String,
    pub registrar_key_id: String,
    pub registrar_public_key: PublicKey,
    pub description: String,
}

impl GenesisConfig {
    /// The genesis event body.
    pub fn to_proto(&self) -> proto::Genesis {
        proto::Genesis {
            origin: self.origin.clone(),
            registrar_actor: self.registrar_actor.clone(),
            registrars: vec![proto::RegistrarKey {
                key_id: self.registrar_key_id.clone(),
                public_key: self.registrar_public_key.to_vec(),
            }],
            description: self.description.clone(),
        }
    }
}

/// The demo data set.
#[derive(Debug, Clone)]
pub struct DemoDataset {
    pub genesis: GenesisConfig,
    /// Seed of the demo log's checkpoint signing key.
    pub log_seed: [u8; 32],
    /// Envelope bytes, in publish order.
    pub events: Vec<Vec<u8>>,
    /// What the data set shows as of [`END`].
    pub summary: DemoSummary,
}

impl DemoDataset {
    /// What the data set shows as of another date (statuses such as "overdue" depend on it).
    pub fn summary_as_of(&self, as_of: Date) -> DemoSummary {
        summary::summarise(&self.events, as_of)
    }
}

/// The last day of the simulated period as a date.
pub fn end_date() -> Date {
    Date::parse(END).expect("END is a valid date")
}

/// The genesis settings shared by the demo data and the synthetic load.
pub fn genesis() -> GenesisConfig {
    GenesisConfig {
        origin: ORIGIN.to_owned(),
        registrar_actor: REGISTRAR_ACTOR.to_owned(),
        registrar_key_id: REGISTRAR_KEY_ID.to_owned(),
        registrar_public_key: registrar_signer().public_key(),
        description: "Covenant demo: simulated commitments, actions and outcomes of public \
                      bodies modelled on UK departments and of fictional MPs, 2025 to 2026"
            .to_owned(),
    }
}

/// Seed of the demo log's checkpoint signing key.
pub fn log_seed() -> [u8; 32] {
    script::seed("log")
}

/// Seed of the demo registrar key (public, like everything about the demo: it lets a visitor
/// try `covenant keys grant` against the demo log).
pub fn registrar_seed() -> [u8; 32] {
    script::seed("registrar")
}

fn registrar_signer() -> EventSigner {
    EventSigner::from_seed(registrar_seed())
}

fn registrar() -> Speaker {
    Speaker::new(REGISTRAR_ACTOR, REGISTRAR_KEY_ID, registrar_signer())
        .expect("the registrar's ids are valid")
}

/// The demo data set.
pub fn demo() -> DemoDataset {
    let mut script = script::Script::new("covenant-demo", registrar());
    data::write(&mut script);
    let events = script.finish();
    let summary = summary::summarise(&events, end_date());
    DemoDataset {
        genesis: genesis(),
        log_seed: log_seed(),
        events,
        summary,
    }
}

/// A synthetic load of exactly `scale` envelopes with the demo's shape and genesis.
pub fn synthetic(scale: u64) -> Synthetic {
    Synthetic::new(scale, registrar())
}
