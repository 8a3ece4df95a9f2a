//! Entry 0: the genesis record, written by the ledger itself from its configuration.
//!
//! Every replica given the same configuration writes byte-identical entry 0 (fixed header,
//! stored-at time 0, registrar keys sorted by key id), so logs of replicas agree from the
//! first byte. On restart the configured genesis must match the stored one exactly.

use crate::LedgerError;
use covenant_core::entry::Entry;
use covenant_core::event;
use covenant_core::proto::{self, event_body::Kind};
use covenant_core::signing::PublicKey;
use covenant_core::validate::genesis_envelope;
use prost::Message;

/// The founding configuration of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisConfig {
    /// The log's origin line, as in every checkpoint (for example `covenant.example.org/log`).
    pub origin: String,
    /// The actor id registry events are spoken by.
    pub registrar_actor: String,
    /// Keys that may sign registry events.
    pub registrars: Vec<RegistrarKey>,
    /// Free text: who runs this log and why.
    pub description: String,
}

/// A registrar key named at genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarKey {
    pub key_id: String,
    pub public_key: PublicKey,
}

impl GenesisConfig {
    /// The genesis message, registrars sorted by key id so that the order in a configuration
    /// file never changes entry 0.
    pub fn to_proto(&self) -> proto::Genesis {
        let mut registrars: Vec<proto::RegistrarKey> = self
            .registrars
            .iter()
            .map(|key| proto::RegistrarKey {
                key_id: key.key_id.clone(),
                public_key: key.public_key.to_vec(),
            })
            .collect();
        registrars.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        proto::Genesis {
            origin: self.origin.clone(),
            registrar_actor: self.registrar_actor.clone(),
            registrars,
            description: self.description.clone(),
        }
    }

    /// The encoded genesis envelope: the exact bytes of entry 0's envelope.
    pub fn envelope_bytes(&self) -> Vec<u8> {
        genesis_envelope(self.to_proto()).encode_to_vec()
    }

    /// Check the configuration the way the ledger will check entry 0, naming the bad field.
    pub fn check(&self) -> Result<(), LedgerError> {
        let mut seen = std::collections::BTreeSet::new();
        for key in &self.registrars {
            if !seen.insert(key.key_id.as_str()) {
                return Err(LedgerError::InvalidGenesis(format!(
                    "registrar key id {} is listed twice",
                    key.key_id
                )));
            }
        }
        event::decode(&self.envelope_bytes())
            .map(|_| ())
            .map_err(|error| LedgerError::InvalidGenesis(error.to_string()))
    }
}

/// Compare the stored entry 0 with the configured genesis; explain any difference.
pub(crate) fn check_stored_genesis(
    entry_bytes: &[u8],
    config: &GenesisConfig,
) -> Result<(), LedgerError> {
    let entry =
        Entry::decode(entry_bytes).map_err(|e| LedgerError::CorruptGenesis(e.to_string()))?;
    let expected = config.envelope_bytes();
    if entry.envelope == expected {
        return Ok(());
    }
    let stored = stored_genesis(&entry.envelope)?;
    Err(LedgerError::GenesisMismatch(describe_difference(
        &stored,
        &config.to_proto(),
    )))
}

fn stored_genesis(envelope_bytes: &[u8]) -> Result<proto::Genesis, LedgerError> {
    let decoded =
        event::decode(envelope_bytes).map_err(|e| LedgerError::CorruptGenesis(e.to_string()))?;
    match decoded.kind {
        Kind::Genesis(genesis) => Ok(genesis),
        _ => Err(LedgerError::CorruptGenesis(format!(
            "it holds a {} event",
            decoded.kind_name()
        ))),
    }
}

fn describe_difference(stored: &proto::Genesis, configured: &proto::Genesis) -> String {
    let keys = |genesis: &proto::Genesis| {
        genesis
            .registrars
            .iter()
            .map(|key| format!("{}={}", key.key_id, hex_of(&key.public_key)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut differences = vec![];
    if stored.origin != configured.origin {
        differences.push(format!(
            "origin: stored {:?}, configured {:?}",
            stored.origin, configured.origin
        ));
    }
    if stored.registrar_actor != configured.registrar_actor {
        differences.push(format!(
            "registrar actor: stored {:?}, configured {:?}",
            stored.registrar_actor, configured.registrar_actor
        ));
    }
    if stored.registrars != configured.registrars {
        differences.push(format!(
            "registrar keys: stored [{}], configured [{}]",
            keys(stored),
            keys(configured)
        ));
    }
    if stored.description != configured.description {
        differences.push(format!(
            "description: stored {:?}, configured {:?}",
            stored.description, configured.description
        ));
    }
    if differences.is_empty() {
        differences.push("the encoded envelopes differ".to_owned());
    }
    format!(
        "{}; start with the configuration the log was founded with",
        differences.join("; ")
    )
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::signing::EventSigner;

    fn config() -> GenesisConfig {
        GenesisConfig {
            origin: "test.example/log".into(),
            registrar_actor: "covenant-registrar".into(),
            registrars: vec![
                RegistrarKey {
                    key_id: "registrar-b".into(),
                    public_key: EventSigner::from_seed([2; 32]).public_key(),
                },
                RegistrarKey {
                    key_id: "registrar-a".into(),
                    public_key: EventSigner::from_seed([1; 32]).public_key(),
                },
            ],
            description: "a test log".into(),
        }
    }

    #[test]
    fn registrar_order_does_not_change_entry_zero() {
        let mut reversed = config();
        reversed.registrars.reverse();
        assert_eq!(config().envelope_bytes(), reversed.envelope_bytes());
    }

    #[test]
    fn bad_configuration_names_the_field() {
        let mut no_keys = config();
        no_keys.registrars.clear();
        let message = no_keys.check().unwrap_err().to_string();
        assert!(message.contains("genesis.registrars"), "{message}");
        let mut twice = config();
        twice.registrars[1].key_id = "registrar-b".into();
        let message = twice.check().unwrap_err().to_string();
        assert!(message.contains("listed twice"), "{message}");
        assert!(config().check().is_ok());
    }

    #[test]
    fn a_different_origin_is_named() {
        let stored = Entry {
            seq: 0,
            stored_at_ns: 0,
            previous: [0; 32],
            envelope: config().envelope_bytes(),
        }
        .encode();
        assert!(check_stored_genesis(&stored, &config()).is_ok());
        let mut moved = config();
        moved.origin = "other.example/log".into();
        let message = check_stored_genesis(&stored, &moved)
            .unwrap_err()
            .to_string();
        assert!(
            message
                .contains("origin: stored \"test.example/log\", configured \"other.example/log\""),
            "{message}"
        );
    }
}
