//! Envelope signatures.
//!
//! An envelope's signature covers a signing input built from the header fields and the exact
//! body bytes, never a re-encoding of the protobuf message (docs/SPEC.md, "Envelope signature").
//! Signatures are Ed25519 with ZIP-215 validation rules (via `ed25519-zebra`), chosen because
//! they make single and batch verification agree on every input: replicas that batch
//! differently must still accept exactly the same events.

use crate::proto::Envelope;
use ed25519_zebra::{SigningKey, VerificationKey, VerificationKeyBytes, batch};
use rand_core::{CryptoRng, RngCore};

/// Domain separation prefix of the envelope signing input.
pub const SIGNING_CONTEXT: &[u8] = b"covenant/v1/envelope-signature\n";

/// An Ed25519 public key, 32 bytes.
pub type PublicKey = [u8; 32];

/// The exact bytes an envelope signature covers.
///
/// `context || lp(event_id) || lp(actor) || be64(occurred_at_ms) || lp(key_id) || lp(body)`,
/// where `lp(x)` is `x`'s length as a big-endian u32 followed by `x`.
pub fn signing_input(
    event_id: &str,
    actor: &str,
    occurred_at_ms: i64,
    key_id: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        SIGNING_CONTEXT.len() + 24 + event_id.len() + actor.len() + key_id.len() + body.len(),
    );
    out.extend_from_slice(SIGNING_CONTEXT);
    push_length_prefixed(&mut out, event_id.as_bytes());
    push_length_prefixed(&mut out, actor.as_bytes());
    out.extend_from_slice(&occurred_at_ms.to_be_bytes());
    push_length_prefixed(&mut out, key_id.as_bytes());
    push_length_prefixed(&mut out, body);
    out
}

/// The signing input of an envelope's own header and body.
pub fn envelope_signing_input(envelope: &Envelope) -> Vec<u8> {
    signing_input(
        &envelope.event_id,
        &envelope.actor,
        envelope.occurred_at_ms,
        &envelope.key_id,
        &envelope.body,
    )
}

fn push_length_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths are bounded by MAX_ENVELOPE_BYTES long before u32 overflows.
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A secret signing key for emitters and registrars.
#[derive(Clone)]
pub struct EventSigner {
    key: SigningKey,
}

impl EventSigner {
    /// A signer from the 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from(seed),
        }
    }

    /// A fresh key from the caller's random source.
    pub fn generate<R: RngCore + CryptoRng>(rng: R) -> Self {
        Self {
            key: SigningKey::new(rng),
        }
    }

    /// The 32-byte seed (keep it secret).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        VerificationKeyBytes::from(&self.key).into()
    }

    /// Sign other bytes than an envelope's (the caller puts a context string of its own at
    /// their start, so a signature can never be taken for an envelope's).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Sign the envelope's header and body in place.
    pub fn sign_envelope(&self, envelope: &mut Envelope) {
        let signature = self.key.sign(&envelope_signing_input(envelope));
        envelope.signature = signature.to_bytes().to_vec();
    }
}

impl std::fmt::Debug for EventSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventSigner({})", hex::encode(self.public_key()))
    }
}

/// Build and sign an envelope around one event kind.
pub fn seal(
    header: EnvelopeHeader<'_>,
    kind: crate::proto::event_body::Kind,
    signer: &EventSigner,
) -> Envelope {
    let body = crate::proto::EventBody { kind: Some(kind) };
    let mut envelope = Envelope {
        event_id: header.event_id.to_owned(),
        actor: header.actor.to_owned(),
        occurred_at_ms: header.occurred_at_ms,
        key_id: header.key_id.to_owned(),
        body: prost::Message::encode_to_vec(&body),
        signature: vec![],
    };
    signer.sign_envelope(&mut envelope);
    envelope
}

/// The header fields of an envelope, for [`seal`].
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeHeader<'a> {
    pub event_id: &'a str,
    pub actor: &'a str,
    pub occurred_at_ms: i64,
    pub key_id: &'a str,
}

/// Whether `signature` is a valid Ed25519 signature by `public_key` over `message`.
pub fn verify(public_key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    let Ok(key) = VerificationKey::try_from(*public_key) else {
        return false;
    };
    key.verify(&ed25519_zebra::Signature::from_bytes(&signature), message)
        .is_ok()
}

/// Whether the envelope carries a valid signature by `public_key`.
pub fn verify_envelope(public_key: &PublicKey, envelope: &Envelope) -> bool {
    verify(
        public_key,
        &envelope_signing_input(envelope),
        &envelope.signature,
    )
}

/// One signature to check in a batch.
pub struct BatchItem<'a> {
    pub public_key: PublicKey,
    pub message: &'a [u8],
    pub signature: &'a [u8],
}

/// Verify many signatures at once; returns one verdict per item, in order.
///
/// The batch equation is checked first (about twice as fast as one by one); only when it fails
/// are the items checked singly to find the bad ones. ZIP-215 rules make the two agree.
pub fn verify_batch<R: RngCore + CryptoRng>(items: &[BatchItem<'_>], rng: R) -> Vec<bool> {
    let mut verifier = batch::Verifier::new();
    let mut well_formed = true;
    for item in items {
        match <[u8; 64]>::try_from(item.signature) {
            Ok(signature) => verifier.queue((
                VerificationKeyBytes::from(item.public_key),
                ed25519_zebra::Signature::from_bytes(&signature),
                item.message,
            )),
            Err(_) => well_formed = false,
        }
    }
    if well_formed && verifier.verify(rng).is_ok() {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|item| verify(&item.public_key, item.message, item.signature))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed reads back as given, and `Debug` shows the public key, never the seed.
    #[test]
    fn a_signer_keeps_its_seed_and_debugs_without_it() {
        let seed = [42; 32];
        let signer = EventSigner::from_seed(seed);
        assert_eq!(signer.seed(), seed);
        let shown = format!("{signer:?}");
        assert_eq!(
            shown,
            format!("EventSigner({})", hex::encode(signer.public_key()))
        );
        assert!(!shown.contains(&hex::encode(seed)));
    }

    fn envelope(signer: &EventSigner) -> Envelope {
        let mut envelope = Envelope {
            event_id: "01JDQ0000000000000000000AA".into(),
            actor: "GB-GOV-23".into(),
            occurred_at_ms: 1_767_225_600_000,
            key_id: "dcms-1".into(),
            body: vec![1, 2, 3],
            signature: vec![],
        };
        signer.sign_envelope(&mut envelope);
        envelope
    }

    #[test]
    fn signed_envelope_verifies() {
        let signer = EventSigner::from_seed([7; 32]);
        assert!(verify_envelope(&signer.public_key(), &envelope(&signer)));
    }

    #[test]
    fn every_header_field_and_the_body_are_covered() {
        let signer = EventSigner::from_seed([7; 32]);
        let key = signer.public_key();
        let original = envelope(&signer);
        let mutations: Vec<fn(&mut Envelope)> = vec![
            |e| e.event_id.push('X'),
            |e| e.actor = "GB-GOV-24".into(),
            |e| e.occurred_at_ms += 1,
            |e| e.key_id = "dcms-2".into(),
            |e| e.body[0] ^= 1,
            |e| e.signature[10] ^= 1,
        ];
        for mutate in mutations {
            let mut tampered = original.clone();
            mutate(&mut tampered);
            assert!(!verify_envelope(&key, &tampered));
        }
    }

    #[test]
    fn length_prefixes_prevent_field_boundary_shifts() {
        let shifted_left = signing_input("ab", "c", 0, "k", b"");
        let shifted_right = signing_input("a", "bc", 0, "k", b"");
        assert_ne!(shifted_left, shifted_right);
    }

    #[test]
    fn wrong_key_and_malformed_signature_fail() {
        let signer = EventSigner::from_seed([7; 32]);
        let other = EventSigner::from_seed([8; 32]);
        let mut envelope = envelope(&signer);
        assert!(!verify_envelope(&other.public_key(), &envelope));
        envelope.signature.truncate(63);
        assert!(!verify_envelope(&signer.public_key(), &envelope));
    }

    #[test]
    fn batch_agrees_with_single_and_finds_the_bad_one() {
        let signers: Vec<_> = (0..8u8).map(|i| EventSigner::from_seed([i; 32])).collect();
        let mut envelopes: Vec<_> = signers.iter().map(envelope).collect();
        envelopes[5].signature[0] ^= 0x40;
        let inputs: Vec<_> = envelopes.iter().map(envelope_signing_input).collect();
        let items: Vec<_> = envelopes
            .iter()
            .zip(&inputs)
            .zip(&signers)
            .map(|((envelope, input), signer)| BatchItem {
                public_key: signer.public_key(),
                message: input,
                signature: &envelope.signature,
            })
            .collect();
        let verdicts = verify_batch(&items, rand_core::OsRng);
        let expected: Vec<bool> = (0..8).map(|i| i != 5).collect();
        assert_eq!(verdicts, expected);
        envelopes[5] = envelope(&signers[5]);
        let input = envelope_signing_input(&envelopes[5]);
        let all_good = [BatchItem {
            public_key: signers[5].public_key(),
            message: &input,
            signature: &envelopes[5].signature,
        }];
        assert_eq!(verify_batch(&all_good, rand_core::OsRng), vec![true]);
    }
}
