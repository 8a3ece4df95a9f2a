//! What the projection keeps about an actor: its registration and the successions it took
//! part in, each with the entry it came from, so the actor can be shown as of any point.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub seq: u64,
    pub event_id: String,
    pub name: String,
    pub kind: i32,
    pub identifiers: Vec<String>,
    pub constituency: String,
    pub party: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessionLink {
    pub seq: u64,
    pub event_id: String,
    pub predecessor: String,
    pub successor: String,
    pub kind: i32,
    pub effective_on: String,
    /// How many commitments passed.
    pub commitments: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRetraction {
    pub target: String,
    pub by: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActorRecord {
    pub id: String,
    pub registration: Option<Registration>,
    pub successions: Vec<SuccessionLink>,
    pub retractions: Vec<ActorRetraction>,
}

impl ActorRecord {
    /// Event ids retracted as of `bound` by a retraction that still counts.
    fn retracted(&self, bound: u64) -> HashSet<&str> {
        let mut dead = HashSet::new();
        for retraction in self.retractions.iter().rev().filter(|r| r.seq < bound) {
            if !dead.contains(retraction.by.as_str()) {
                dead.insert(retraction.target.as_str());
            }
        }
        dead
    }

    /// The registration as of `bound`, if the actor was registered by then.
    pub fn registration_at(&self, bound: u64) -> Option<&Registration> {
        self.registration.as_ref().filter(|r| r.seq < bound)
    }

    /// Whether the registration itself was retracted as of `bound`.
    pub fn registration_retracted(&self, bound: u64) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| self.retracted(bound).contains(r.event_id.as_str()))
    }

    /// Successions that count as of `bound`.
    pub fn successions_at(&self, bound: u64) -> Vec<&SuccessionLink> {
        let dead = self.retracted(bound);
        self.successions
            .iter()
            .filter(|link| link.seq < bound && !dead.contains(link.event_id.as_str()))
            .collect()
    }
}
