//! The specifications, written out independently of the server's code: RFC 6962 hashing,
//! C2SP tile paths, entry encoding and signed-note checkpoints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    parts.iter().for_each(|p| hasher.update(p));
    hasher.finalize().into()
}

/// RFC 6962 leaf hash: SHA-256(0x00 || entry).
pub fn leaf(entry: &[u8]) -> Hash {
    sha256(&[&[0], entry])
}

/// RFC 6962 interior node: SHA-256(0x01 || left || right).
pub fn node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[1], left, right])
}

/// RFC 6962 Merkle tree hash of `leaves` (leaf hashes), by the recursive definition.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The encoded entry (docs/SPEC.md "Entry"): version 1, seq, stored_at, previous chain hash,
/// envelope length (all big-endian), envelope.
pub fn entry(seq: u64, stored_at_ns: u64, previous: &Hash, envelope: &[u8]) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&stored_at_ns.to_be_bytes());
    out.extend_from_slice(previous);
    out.extend_from_slice(&(envelope.len() as u32).to_be_bytes());
    out.extend_from_slice(envelope);
    out
}

/// blake3 chain hash of an encoded entry.
pub fn chain(entry: &[u8]) -> Hash {
    blake3::derive_key("covenant 2026-11 ledger entry chain v1", entry)
}

/// The encoded entries of `envelopes` stored at the sample's times.
pub fn entries(envelopes: &[Vec<u8>], stored_at: impl Fn(u64) -> u64) -> Vec<Vec<u8>> {
    let mut previous = [0u8; 32];
    envelopes
        .iter()
        .enumerate()
        .map(|(seq, envelope)| {
            let bytes = entry(seq as u64, stored_at(seq as u64), &previous, envelope);
            previous = chain(&bytes);
            bytes
        })
        .collect()
}

/// C2SP tlog-tiles index path: zero-padded 3-digit elements, all but the last prefixed `x`.
pub fn index_path(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    while n >= 1000 {
        n /= 1000;
        parts.push(format!("x{:03}", n % 1000));
    }
    parts.reverse();
    parts.join("/")
}

pub fn tile_path(level: u8, index: u64, width: usize) -> String {
    let partial = if width == 256 {
        String::new()
    } else {
        format!(".p/{width}")
    };
    format!("tile/{level}/{}{partial}", index_path(index))
}

pub fn bundle_path(index: u64, width: usize) -> String {
    let partial = if width == 256 {
        String::new()
    } else {
        format!(".p/{width}")
    };
    format!("tile/entries/{}{partial}", index_path(index))
}

/// A checkpoint note checked by hand: returns (origin, size, root).
pub fn check_note(note: &[u8], verifier_key: &str) -> (String, u64, Hash) {
    let text = std::str::from_utf8(note).unwrap();
    let (body, signatures) = text.split_once("\n\n").unwrap();
    let body = format!("{body}\n");
    let lines: Vec<&str> = body.lines().collect();
    let (origin, size, root) = (lines[0], lines[1].parse().unwrap(), lines[2]);
    let root: Hash = BASE64.decode(root).unwrap().try_into().unwrap();
    // Verifier key: <name>+<hex key id>+<base64(0x01 || public key)>.
    let parts: Vec<&str> = verifier_key.splitn(3, '+').collect();
    let (name, id_hex, key) = (parts[0], parts[1], BASE64.decode(parts[2]).unwrap());
    assert_eq!(key[0], 0x01, "Ed25519 note keys start with 0x01");
    let id = sha256(&[name.as_bytes(), b"\n", &key]);
    assert_eq!(
        hex::encode(&id[..4]),
        id_hex,
        "key id is SHA-256(name || \\n || key)[:4]"
    );
    let public = ed25519_dalek::VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();
    let line = signatures
        .lines()
        .find(|line| line.starts_with(&format!("— {name} ")))
        .expect("a signature line by the log");
    let signature = BASE64.decode(line.rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(&signature[..4], &id[..4]);
    let signature = ed25519_dalek::Signature::from_slice(&signature[4..]).unwrap();
    public.verify_strict(body.as_bytes(), &signature).unwrap();
    assert_eq!(origin, name);
    (origin.to_owned(), size, root)
}

/// RFC 9162 section 2.1.3.2: verify an inclusion proof.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 section 2.1.4.2: verify a consistency proof.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 || first > second || proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *first_root && sr == *second_root && sn == 0
}
