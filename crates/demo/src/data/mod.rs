//! The demo data set, written as a script. Every sentence here was written for this project;
//! bodies are modelled on UK public bodies, the MPs are fictional, and every action and outcome
//! is simulated.

mod covenant;
pub mod delivery;
mod milestones;
mod mps;
pub mod registry;

use crate::script::Script;
use covenant_core::proto::{self, SourceKind};

pub fn write(script: &mut Script) {
    registry::write(script);
    covenant::write(script);
    milestones::write(script);
    mps::write(script);
    delivery::write(script);
}

/// Pounds as pence.
fn pounds(amount: i64) -> i64 {
    amount * 100
}

fn evidence(title: &str, url: &str) -> proto::Link {
    covenant_emit::build::link(title, url)
}

/// The Civil Society Covenant as a source.
fn covenant_source() -> (SourceKind, &'static str, &'static str) {
    (
        SourceKind::Covenant,
        "Civil Society Covenant",
        "https://www.gov.uk/government/publications/civil-society-covenant",
    )
}
