//! `ed25519.json`: the signature edge cases where Ed25519 verifiers disagree, with ZIP-215's
//! answers (SPEC section 2.1): small-order and non-canonically encoded points, a mixed-order
//! public key, and non-canonical `S`.

use crate::{Failures, case_name, read_hex};
use covenant_core::signing::{EventSigner, verify};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

/// The eight points of small order, canonically encoded, then six non-canonical encodings of
/// some of them (a set x sign bit with x = 0, or y at or above the field prime).
const SMALL_ORDER: [&str; 14] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

fn bytes32(text: &str) -> [u8; 32] {
    hex::decode(text)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// The point an encoding decodes to, checking what the table above claims of it.
fn small_order_point(encoding: [u8; 32], canonical: bool) -> EdwardsPoint {
    let point = CompressedEdwardsY(encoding)
        .decompress()
        .expect("every listed encoding decodes");
    assert!(point.is_small_order(), "{}", hex::encode(encoding));
    assert_eq!(
        point.compress().0 == encoding,
        canonical,
        "{}",
        hex::encode(encoding)
    );
    point
}

fn case(
    name: String,
    why: &str,
    public_key: [u8; 32],
    message: &[u8],
    signature: [u8; 64],
) -> Value {
    json!({
        "name": name,
        "why": why,
        "public_key": hex::encode(public_key),
        "message": hex::encode(message),
        "signature": hex::encode(signature),
        "expect": verify(&public_key, message, &signature),
    })
}

fn signature(r: [u8; 32], s: [u8; 32]) -> [u8; 64] {
    let mut out = [0; 64];
    out[..32].copy_from_slice(&r);
    out[32..].copy_from_slice(&s);
    out
}

/// `s + L` as 32 little-endian bytes: the same scalar, not reduced.
fn plus_group_order(s: [u8; 32]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "s + L fits in 256 bits");
    out
}

/// A signature by secret scalar `a` under a public key `a_point` that need not be `a·B`.
fn sign_with_point(a: Scalar, a_point: [u8; 32], message: &[u8]) -> [u8; 64] {
    let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest(b"vectors nonce").into());
    let r_point = (r * ED25519_BASEPOINT_POINT).compress().0;
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r_point)
            .chain_update(a_point)
            .chain_update(message)
            .finalize()
            .into(),
    );
    signature(r_point, (r + k * a).to_bytes())
}

/// Build `ed25519.json`.
pub fn generate() -> Value {
    let signer = EventSigner::from_seed([0x21; 32]);
    let message = b"covenant conformance vectors".to_vec();
    let good: [u8; 64] = signer.sign(&message);
    let public = signer.public_key();
    let (r, s): ([u8; 32], [u8; 32]) = (
        good[..32].try_into().expect("32"),
        good[32..].try_into().expect("32"),
    );
    let mut high_bit = s;
    high_bit[31] |= 0x80;
    let mut cases = vec![
        case(
            "ordinary".into(),
            "An ordinary signature.",
            public,
            &message,
            good,
        ),
        case(
            "ordinary-other-message".into(),
            "An ordinary signature over another message.",
            public,
            b"covenant conformance vectorz",
            good,
        ),
        case(
            "s-plus-order".into(),
            "S + L: the same scalar, not reduced; ZIP-215 requires S < L.",
            public,
            &message,
            signature(r, plus_group_order(s)),
        ),
        case(
            "s-high-bit".into(),
            "S with its top bit set.",
            public,
            &message,
            signature(r, high_bit),
        ),
    ];
    let not_a_point = (2u8..)
        .map(|y| {
            let mut bytes = [0; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| CompressedEdwardsY(*bytes).decompress().is_none())
        .expect("some small y is off the curve");
    cases.push(case(
        "r-not-a-point".into(),
        "R does not decode to a curve point.",
        public,
        &message,
        signature(not_a_point, s),
    ));
    cases.push(case(
        "a-not-a-point".into(),
        "The public key does not decode to a curve point.",
        not_a_point,
        &message,
        good,
    ));
    // A public key of mixed order: a·B plus a point of order 8. The cofactored equation of
    // ZIP-215 accepts the signature; a cofactorless verifier may not.
    let a = Scalar::from_bytes_mod_order([0x33; 32]);
    let torsion = small_order_point(bytes32(SMALL_ORDER[6]), true);
    let mixed = (a * ED25519_BASEPOINT_POINT + torsion).compress().0;
    cases.push(case(
        "mixed-order-public-key".into(),
        "A public key a·B + T with T of order 8: accepted under the cofactored equation.",
        mixed,
        &message,
        sign_with_point(a, mixed, &message),
    ));
    // Small-order keys and nonces with S = 0: [8]·0·B = [8]R + [8]k·A holds for all of them.
    let zcash = b"Zcash".to_vec();
    for (index, encoding) in SMALL_ORDER.iter().enumerate() {
        let encoding = bytes32(encoding);
        small_order_point(encoding, index < 8);
        cases.push(case(
            format!("small-order-public-key-{index}"),
            "A small-order public key (canonical encodings first, then non-canonical ones), R the identity, S = 0.",
            encoding,
            &zcash,
            signature(bytes32(SMALL_ORDER[0]), [0; 32]),
        ));
        cases.push(case(
            format!("small-order-r-{index}"),
            "A small-order R (canonical encodings first, then non-canonical ones), a small-order public key, S = 0.",
            bytes32(SMALL_ORDER[6]),
            &zcash,
            signature(encoding, [0; 32]),
        ));
    }
    for case in &cases {
        let name = case["name"].as_str().expect("named");
        let accepted = case["expect"].as_bool().expect("a verdict");
        let should = name.starts_with("small-order")
            || name == "ordinary"
            || name == "mixed-order-public-key";
        assert_eq!(accepted, should, "{name}: ZIP-215 would answer {should}");
    }
    json!({ "vectors": "ed25519", "cases": cases })
}

/// Check every case of `ed25519.json`.
pub fn check(vectors: &Value, failures: &mut Failures) {
    for case in vectors["cases"].as_array().into_iter().flatten() {
        let answer = (|| {
            let public_key: [u8; 32] = read_hex(&case["public_key"])?.try_into().ok()?;
            let message = read_hex(&case["message"])?;
            let signature = read_hex(&case["signature"])?;
            Some(verify(&public_key, &message, &signature))
        })();
        if answer != case["expect"].as_bool() {
            failures.add(case_name("ed25519", case), format!("got {answer:?}"));
        }
    }
}
