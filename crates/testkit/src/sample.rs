//! A valid log built from fixed seeds: genesis, a registrar that registers a few departments
//! and grants each a key, then commitments signed by those keys. Tests serve it (honest or
//! tampered), the benchmark verifies large ones, and docs/SPEC.md's worked example is the
//! smallest one. Every byte is reproducible: same arguments, same log.

use covenant_core::entry::{Entry, GENESIS_PREVIOUS, chain_hash};
use covenant_core::proto::{self, event_body::Kind};
use covenant_core::signing::{EnvelopeHeader, EventSigner, seal};
use covenant_core::validate::genesis_envelope;
use prost::Message;
use rayon::prelude::*;

/// The origin of sample logs (also the log key's name).
pub const ORIGIN: &str = "covenant.example/log";
/// Seed of the sample log's checkpoint key.
pub const LOG_SEED: [u8; 32] = [0x4c; 32];
/// Seed of the sample registrar key.
pub const REGISTRAR_SEED: [u8; 32] = [0x52; 32];
/// The registrar's actor id and key id.
pub const REGISTRAR_ACTOR: &str = "covenant-registrar";
pub const REGISTRAR_KEY: &str = "registrar-1";
/// When the broker stored entry 0: 2026-01-01T00:00:00Z, in nanoseconds.
pub const FIRST_STORED_AT_NS: u64 = 1_767_225_600_000_000_000;
/// Time between consecutive entries.
pub const STORED_EVERY_NS: u64 = 1_000_000;

/// One department of the sample: its actor id, key id and signing key.
#[derive(Debug, Clone)]
pub struct Department {
    pub actor: String,
    pub key_id: String,
    pub signer: EventSigner,
}

/// The departments of a sample log with `count` of them (fixed seeds).
pub fn departments(count: usize) -> Vec<Department> {
    (0..count)
        .map(|i| Department {
            actor: format!("GB-GOV-{:02}", i + 1),
            key_id: format!("dept-{:02}-key-1", i + 1),
            signer: EventSigner::from_seed(department_seed(i)),
        })
        .collect()
}

/// The seed of department `i`'s key: `[0x10 + i; 32]` for the first 240 (the bytes of small
/// samples, and so of docs/SPEC.md's example, never change), the index's bytes after that.
fn department_seed(i: usize) -> [u8; 32] {
    match u8::try_from(i) {
        Ok(small) if small < 0xf0 => [0x10 + small; 32],
        _ => {
            let mut seed = [0xd5; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            seed
        }
    }
}

/// The registrar's signing key.
pub fn registrar() -> EventSigner {
    EventSigner::from_seed(REGISTRAR_SEED)
}

/// The genesis envelope of the sample log.
pub fn genesis() -> Vec<u8> {
    genesis_envelope(proto::Genesis {
        origin: ORIGIN.into(),
        registrar_actor: REGISTRAR_ACTOR.into(),
        registrars: vec![proto::RegistrarKey {
            key_id: REGISTRAR_KEY.into(),
            public_key: registrar().public_key().to_vec(),
        }],
        description: "A sample Covenant log".into(),
    })
    .encode_to_vec()
}

/// A fixed ULID-shaped event id for entry `seq`.
pub fn event_id(seq: u64) -> String {
    format!("01JG{seq:022}")
}

/// When the broker stored entry `seq`.
pub fn stored_at_ns(seq: u64) -> u64 {
    FIRST_STORED_AT_NS + seq * STORED_EVERY_NS
}

fn header<'a>(seq: u64, event_id: &'a str, actor: &'a str, key_id: &'a str) -> EnvelopeHeader<'a> {
    EnvelopeHeader {
        event_id,
        actor,
        occurred_at_ms: (stored_at_ns(seq) / 1_000_000) as i64 - 1_000,
        key_id,
    }
}

/// The registry events that register `departments` and grant their keys, signed by the
/// registrar, as envelopes for entries `1..`.
pub fn registry_envelopes(departments: &[Department]) -> Vec<Vec<u8>> {
    let registrar = registrar();
    let mut seq = 0;
    let mut next = |kind: Kind| {
        seq += 1;
        let id = event_id(seq);
        seal(
            header(seq, &id, REGISTRAR_ACTOR, REGISTRAR_KEY),
            kind,
            &registrar,
        )
        .encode_to_vec()
    };
    let mut envelopes = Vec::new();
    for department in departments {
        envelopes.push(next(Kind::ActorRegistered(proto::ActorRegistered {
            actor_id: department.actor.clone(),
            name: format!("Department {}", department.actor),
            kind: proto::ActorKind::Department as i32,
            ..Default::default()
        })));
        envelopes.push(next(Kind::KeyGranted(proto::KeyGranted {
            key_id: department.key_id.clone(),
            public_key: department.signer.public_key().to_vec(),
            actor_id: department.actor.clone(),
            roles: vec![proto::KeyRole::Emitter as i32],
        })));
    }
    envelopes
}

/// A commitment by `department` as the envelope of entry `seq`.
pub fn commitment_envelope(seq: u64, department: &Department) -> Vec<u8> {
    let id = event_id(seq);
    let kind = Kind::CommitmentMade(proto::CommitmentMade {
        commitment_id: format!("{}-c{seq}", department.actor),
        title: format!("Commitment {seq}"),
        text: "We will publish quarterly figures on local bus services and act on them.".into(),
        made_on: "2025-07-17".into(),
        due_by: "2027-07-17".into(),
        themes: vec!["community".into(), "sustainability".into()],
        ..Default::default()
    });
    seal(
        header(seq, &id, &department.actor, &department.key_id),
        kind,
        &department.signer,
    )
    .encode_to_vec()
}

/// The envelopes of a sample log of `size` entries (at least 1): genesis, the registry events
/// for `department_count` departments, then commitments spread over the departments. Signing
/// runs on every core.
pub fn envelopes(size: u64, department_count: usize) -> Vec<Vec<u8>> {
    let departments = departments(department_count);
    let mut envelopes = vec![genesis()];
    envelopes.extend(registry_envelopes(&departments));
    envelopes.truncate(size as usize);
    let first = envelopes.len() as u64;
    let commitments: Vec<Vec<u8>> = (first..size)
        .into_par_iter()
        .map(|seq| commitment_envelope(seq, &departments[seq as usize % departments.len()]))
        .collect();
    envelopes.extend(commitments);
    envelopes
}

/// Chain envelopes into encoded entries, storing entry `seq` at [`stored_at_ns`]`(seq)`.
pub fn chain(envelopes: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut previous = GENESIS_PREVIOUS;
    envelopes
        .iter()
        .enumerate()
        .map(|(seq, envelope)| {
            let bytes = Entry {
                seq: seq as u64,
                stored_at_ns: stored_at_ns(seq as u64),
                previous,
                envelope: envelope.clone(),
            }
            .encode();
            previous = chain_hash(&bytes);
            bytes
        })
        .collect()
}

/// The encoded entries of a sample log of `size` entries.
pub fn entries(size: u64, department_count: usize) -> Vec<Vec<u8>> {
    chain(&envelopes(size, department_count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_reproducible() {
        assert_eq!(entries(20, 3), entries(20, 3));
        assert_eq!(entries(20, 3).len(), 20);
        assert_eq!(event_id(7).len(), 26);
        assert!(covenant_core::event::is_valid_event_id(&event_id(7)));
    }
}
