//! The witnesses a watchdog requires on a log's checkpoint, and how many of them.
//!
//! A checkpoint cosigned by independent witnesses has been seen by them and checked for
//! consistency with everything they cosigned before, so a log cannot show a watchdog a view
//! that the witnesses were not shown. `verify` and `monitor` take the same requirement.

use crate::AuditError;
use covenant_core::cosignature::{CosignatureVerifier, cosigned_by};

/// The pinned witnesses and the quorum of them a checkpoint must carry.
#[derive(Debug, Default)]
pub struct WitnessQuorum {
    witnesses: Vec<CosignatureVerifier>,
    quorum: usize,
}

/// The pinned witnesses that validly cosigned a checkpoint that met the quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// Their names, in the order they were pinned.
    pub by: Vec<String>,
    pub pinned: usize,
    pub quorum: usize,
}

impl WitnessQuorum {
    /// Require `quorum` (default: all) of `witnesses`. With no witnesses nothing is required.
    pub fn new(witnesses: Vec<CosignatureVerifier>, quorum: Option<usize>) -> Result<Self, String> {
        let required = quorum.unwrap_or(witnesses.len());
        if quorum == Some(0) || required > witnesses.len() {
            return Err(format!(
                "the quorum {required} must be between 1 and the number of pinned witnesses ({})",
                witnesses.len()
            ));
        }
        Ok(Self {
            witnesses,
            quorum: required,
        })
    }

    /// Whether any cosignature is required.
    pub fn is_required(&self) -> bool {
        !self.witnesses.is_empty()
    }

    /// Check that `note` carries valid cosignatures from at least the quorum of the pinned
    /// witnesses. Cosignature lines by other keys are ignored; a line that names a pinned
    /// witness but does not verify is an error.
    pub fn check(&self, note: &[u8]) -> Result<Cosigned, AuditError> {
        let cosigned = cosigned_by(note, &self.witnesses)?;
        let names = |witnesses: &mut dyn Iterator<Item = &CosignatureVerifier>| -> Vec<String> {
            witnesses.map(|w| w.name().to_owned()).collect()
        };
        let by = names(&mut cosigned.iter().copied());
        if by.len() < self.quorum {
            let missing = names(
                &mut self
                    .witnesses
                    .iter()
                    .filter(|w| !cosigned.iter().any(|c| c.name() == w.name())),
            );
            return Err(AuditError::Unwitnessed {
                cosigned: by.len(),
                quorum: self.quorum,
                signers: by.join(", "),
                missing: missing.join(", "),
            });
        }
        Ok(Cosigned {
            by,
            pinned: self.witnesses.len(),
            quorum: self.quorum,
        })
    }
}

impl std::fmt::Display for Cosigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the checkpoint is cosigned by {} of the {} pinned witnesses ({}); quorum {}",
            self.by.len(),
            self.pinned,
            self.by.join(", "),
            self.quorum
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::checkpoint::{LogSigner, checkpoint_body};
    use covenant_core::cosignature::Cosigner;
    use covenant_core::merkle::Hash;

    fn cosigner(n: u8) -> Cosigner {
        Cosigner::new(&format!("w{n}.example/witness"), [n; 32]).unwrap()
    }

    fn verifier(n: u8) -> CosignatureVerifier {
        CosignatureVerifier::new(&cosigner(n).verifier_key()).unwrap()
    }

    /// A checkpoint of size 5 with cosignature lines from `witnesses`.
    fn note_cosigned_by(witnesses: &[u8]) -> Vec<u8> {
        let body = checkpoint_body("log.example/log", 5, Hash([7; 32]));
        let mut note = LogSigner::new("log.example/log", [9; 32])
            .unwrap()
            .sign(5, Hash([7; 32]));
        for &n in witnesses {
            note.extend_from_slice(cosigner(n).cosign(&body, 1_700_000_000).as_bytes());
        }
        note
    }

    #[test]
    fn a_quorum_of_pinned_cosignatures_passes_and_names_them() {
        let quorum =
            WitnessQuorum::new(vec![verifier(1), verifier(2), verifier(3)], Some(2)).unwrap();
        let cosigned = quorum.check(&note_cosigned_by(&[3, 1])).unwrap();
        assert_eq!(cosigned.by, ["w1.example/witness", "w3.example/witness"]);
        assert_eq!(
            cosigned.to_string(),
            "the checkpoint is cosigned by 2 of the 3 pinned witnesses (w1.example/witness, w3.example/witness); quorum 2"
        );
    }

    #[test]
    fn fewer_than_the_quorum_names_who_is_missing() {
        let quorum = WitnessQuorum::new(vec![verifier(1), verifier(2)], None).unwrap();
        // A cosignature by a witness nobody pinned does not count.
        match quorum.check(&note_cosigned_by(&[1, 4])) {
            Err(error @ AuditError::Unwitnessed { .. }) => {
                assert!(error.is_misbehaviour());
                let message = error.to_string();
                assert!(
                    message.contains("by 1 of the pinned witnesses (w1.example/witness)"),
                    "{message}"
                );
                assert!(message.contains("quorum of 2"), "{message}");
                assert!(
                    message.contains("no valid cosignature by w2.example/witness"),
                    "{message}"
                );
            }
            other => panic!("expected the quorum to be missed, got {other:?}"),
        }
    }

    #[test]
    fn quorums_outside_the_pinned_witnesses_are_refused() {
        assert!(WitnessQuorum::new(vec![verifier(1)], Some(0)).is_err());
        let error = WitnessQuorum::new(vec![verifier(1)], Some(2)).unwrap_err();
        assert!(
            error.contains("between 1 and the number of pinned witnesses (1)"),
            "{error}"
        );
        let nothing = WitnessQuorum::new(vec![], None).unwrap();
        assert!(!nothing.is_required());
    }
}
