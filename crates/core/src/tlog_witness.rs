//! C2SP tlog-witness `add-checkpoint`: the request body a log sends and a witness parses, and
//! the client's side of the exchange (docs/SPEC.md, "Cosignatures").
//!
//! The witness (covenant-audit), the audit tool's `witness submit` and the ledger's witnessing
//! stage all use these, so the wire format has one definition. Nothing here does I/O:
//! [`request_cosignature`] runs the exchange through the caller's `post` (the HTTP round trip)
//! and `prove` (a consistency proof from the caller's tree).

use crate::checkpoint::VerifiedCheckpoint;
use crate::cosignature::{CosignatureError, CosignatureVerifier};
use crate::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The protocol allows at most this many consistency proof lines.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request a witness accepts: a checkpoint note with its signatures and a full proof.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest answer a client reads: a few signature lines, or a refusal's message.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The `Content-Type` of a 409 answer that carries the witness's latest cosigned size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// The `add-checkpoint` URL under a witness's submission prefix.
pub fn add_checkpoint_url(submission_prefix: &str) -> String {
    format!("{}/add-checkpoint", submission_prefix.trim_end_matches('/'))
}

/// Why a witness refuses an `add-checkpoint` body as malformed (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed add-checkpoint request: {0}")]
pub struct MalformedRequest(pub String);

/// A parsed `add-checkpoint` request body.
#[derive(Debug, PartialEq)]
pub struct AddCheckpoint<'a> {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub note: &'a [u8],
}

impl<'a> AddCheckpoint<'a> {
    /// Parse `old <size>\n`, up to 63 base64 proof lines, an empty line, then the checkpoint.
    pub fn parse(body: &'a [u8]) -> Result<Self, MalformedRequest> {
        let bad = |why: String| MalformedRequest(why);
        if body.len() > MAX_REQUEST_BYTES {
            return Err(bad(format!("request exceeds {MAX_REQUEST_BYTES} bytes")));
        }
        let mut rest = body;
        let mut next_line = || -> Result<&'a [u8], MalformedRequest> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| bad("request ends in the middle of a line".into()))?;
            let line = &rest[..end];
            rest = &rest[end + 1..];
            Ok(line)
        };
        let old_line = next_line()?;
        let old_size = std::str::from_utf8(old_line)
            .ok()
            .and_then(|line| line.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or_else(|| bad("the first line must be \"old <size>\"".into()))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(format!("more than {MAX_PROOF_LINES} proof lines")));
            }
            let hash = BASE64
                .decode(line)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .map(Hash)
                .ok_or_else(|| {
                    bad(format!(
                        "proof line {} is not a base64 hash",
                        proof.len() + 1
                    ))
                })?;
            proof.push(hash);
        }
        Ok(Self {
            old_size,
            proof,
            note: rest,
        })
    }

    /// Encode a request body.
    pub fn encode(old_size: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
        let mut body = format!("old {old_size}\n").into_bytes();
        for hash in proof {
            body.extend_from_slice(BASE64.encode(hash.0).as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(note);
        body
    }
}

/// An ASCII decimal without leading zeros (`0` itself excepted), as the protocol writes sizes.
fn parse_decimal(digits: &str) -> Option<u64> {
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// A witness's HTTP answer to `add-checkpoint`, as the caller's transport received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a witness did not cosign. `E` is the caller's error for the transport and the proof.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessRequestError<E> {
    /// The caller's `post` or `prove` failed.
    #[error("{0}")]
    Caller(E),
    #[error("refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error(
        "it has cosigned size {witness_size}, more than this checkpoint's {checkpoint_size}: it has seen a larger tree of this log"
    )]
    AheadOfCheckpoint {
        witness_size: u64,
        checkpoint_size: u64,
    },
    #[error("its latest cosigned size changed again while submitting (now {latest})")]
    SizeChanged { latest: u64 },
    #[error("its 409 answer is not a tree size: {0:?}")]
    MalformedSize(String),
    #[error("its answer carries no cosignature by {0}")]
    NoCosignature(String),
    #[error("its answer is not signature lines: {0:?}")]
    MalformedAnswer(String),
    #[error("{0}")]
    Cosignature(CosignatureError),
}

/// Ask one witness to cosign `checkpoint` (whose signed note is `note`), following C2SP
/// tlog-witness: send `old_size` (what the witness is believed to have cosigned last) with a
/// consistency proof from it; on a 409 that names the witness's real size, prove from that
/// size and send once more.
///
/// With `witness`, only the answer's lines that verify as its cosignatures over the checkpoint
/// are returned (other lines are ignored, as the protocol asks of clients), and none is an
/// error. Without it, the answer's signature lines are returned unchecked. Either way the lines
/// end with a newline, ready to append to the note.
pub fn request_cosignature<E>(
    checkpoint: &VerifiedCheckpoint,
    note: &[u8],
    old_size: u64,
    witness: Option<&CosignatureVerifier>,
    mut prove: impl FnMut(u64) -> Result<Vec<Hash>, E>,
    mut post: impl FnMut(Vec<u8>) -> Result<WitnessResponse, E>,
) -> Result<String, WitnessRequestError<E>> {
    let mut proof_from = |old_size: u64| {
        if old_size == 0 || old_size == checkpoint.size {
            Ok(Vec::new())
        } else {
            prove(old_size).map_err(WitnessRequestError::Caller)
        }
    };
    // A remembered size beyond this checkpoint cannot be proved from: ask the witness instead.
    let mut old_size = if old_size > checkpoint.size {
        0
    } else {
        old_size
    };
    let mut proof = proof_from(old_size)?;
    let mut learned_size = false;
    loop {
        let body = AddCheckpoint::encode(old_size, &proof, note);
        let response = post(body).map_err(WitnessRequestError::Caller)?;
        match (response.status, is_size_answer(&response)) {
            (200, _) => return cosignature_lines(checkpoint, &response.body, witness),
            (409, true) => {
                let latest = witness_size(&response.body)?;
                if learned_size {
                    return Err(WitnessRequestError::SizeChanged { latest });
                }
                if latest > checkpoint.size {
                    return Err(WitnessRequestError::AheadOfCheckpoint {
                        witness_size: latest,
                        checkpoint_size: checkpoint.size,
                    });
                }
                learned_size = true;
                old_size = latest;
                proof = proof_from(old_size)?;
            }
            (status, _) => {
                return Err(WitnessRequestError::Refused {
                    status,
                    message: text_of(&response.body),
                });
            }
        }
    }
}

fn is_size_answer(response: &WitnessResponse) -> bool {
    response.content_type.as_deref().is_some_and(|value| {
        let media_type = value.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case(SIZE_CONTENT_TYPE)
    })
}

fn witness_size<E>(body: &[u8]) -> Result<u64, WitnessRequestError<E>> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| text.strip_suffix('\n'))
        .and_then(parse_decimal)
        .ok_or_else(|| WitnessRequestError::MalformedSize(text_of(body)))
}

fn cosignature_lines<E>(
    checkpoint: &VerifiedCheckpoint,
    body: &[u8],
    witness: Option<&CosignatureVerifier>,
) -> Result<String, WitnessRequestError<E>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| WitnessRequestError::MalformedAnswer(text_of(body)))?;
    let lines: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    if lines.is_empty() || !lines.iter().all(|line| line.starts_with("— ")) {
        return Err(WitnessRequestError::MalformedAnswer(text_of(body)));
    }
    let Some(witness) = witness else {
        return Ok(lines.iter().map(|line| format!("{line}\n")).collect());
    };
    let mut failure = None;
    let mut verified = String::new();
    for line in lines {
        match witness.verify_line(&checkpoint.body, line) {
            Ok(_) => verified.push_str(&format!("{line}\n")),
            Err(CosignatureError::WrongWitness { .. }) => {}
            Err(error) => failure = Some(error),
        }
    }
    match failure {
        _ if !verified.is_empty() => Ok(verified),
        Some(error) => Err(WitnessRequestError::Cosignature(error)),
        None => Err(WitnessRequestError::NoCosignature(
            witness.name().to_owned(),
        )),
    }
}

/// A short, printable excerpt of an answer for error messages.
fn text_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{LogSigner, verify_checkpoint};
    use crate::cosignature::Cosigner;
    use crate::merkle::{MemoryTree, check_consistency, prove_consistency};

    fn tree(size: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        (0..size).for_each(|i| tree.push(&i.to_be_bytes()));
        tree
    }

    struct Setup {
        log: LogSigner,
        witness: Cosigner,
        verifier: CosignatureVerifier,
    }

    fn setup() -> Setup {
        let witness = Cosigner::new("witness.example/w1", [8; 32]).unwrap();
        let verifier = CosignatureVerifier::new(&witness.verifier_key()).unwrap();
        Setup {
            log: LogSigner::new("covenant.example/log", [3; 32]).unwrap(),
            witness,
            verifier,
        }
    }

    fn ok(body: String) -> Result<WitnessResponse, String> {
        Ok(WitnessResponse {
            status: 200,
            content_type: Some("text/plain; charset=utf-8".into()),
            body: body.into_bytes(),
        })
    }

    fn conflict(size: u64) -> Result<WitnessResponse, String> {
        Ok(WitnessResponse {
            status: 409,
            content_type: Some(SIZE_CONTENT_TYPE.into()),
            body: format!("{size}\n").into_bytes(),
        })
    }

    #[test]
    fn request_bodies_round_trip_and_match_the_spec_layout() {
        let proof = vec![Hash([1; 32]), Hash([2; 32])];
        let body = AddCheckpoint::encode(7, &proof, b"origin\n9\nroot\n\n- sig\n");
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.starts_with("old 7\nAQEB"), "{text}");
        assert!(text.contains("=\n\norigin\n9\n"), "{text}");
        let parsed = AddCheckpoint::parse(&body).unwrap();
        assert_eq!(parsed.old_size, 7);
        assert_eq!(parsed.proof, proof);
        assert_eq!(parsed.note, b"origin\n9\nroot\n\n- sig\n");
    }

    #[test]
    fn malformed_requests_name_what_is_wrong() {
        for (body, expected) in [
            (&b"old 01\n\n"[..], "the first line must be"),
            (b"new 1\n\n", "the first line must be"),
            (b"old \n\n", "the first line must be"),
            (
                b"old 1\nnot-base64!\n\n",
                "proof line 1 is not a base64 hash",
            ),
            (b"old 1", "ends in the middle of a line"),
        ] {
            let error = AddCheckpoint::parse(body).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        let too_long = AddCheckpoint::encode(1, &[Hash([1; 32]); 64], b"note");
        let error = AddCheckpoint::parse(&too_long).unwrap_err();
        assert!(error.0.contains("more than 63 proof lines"), "{error}");
        // 64 KiB each way (readers stop there); a request of 64 KiB is read whole (and refused here
        // for what it holds), a byte more is not read.
        assert_eq!((MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES), (65_536, 65_536));
        let largest = AddCheckpoint::parse(&vec![b'x'; 65_536]).unwrap_err();
        assert!(
            largest.0.contains("ends in the middle of a line"),
            "{largest}"
        );
        let huge = AddCheckpoint::parse(&vec![b'x'; 65_537]).unwrap_err();
        assert!(huge.0.contains("exceeds 65536 bytes"), "{huge}");
    }

    /// A remembered size equal to the checkpoint's is sent as it is (nothing to prove); one
    /// beyond it cannot be proved from, so the witness is asked from 0; and a witness already
    /// at the checkpoint's size is simply asked again from there.
    #[test]
    fn remembered_and_learned_sizes_at_and_past_the_checkpoint() {
        let Setup { log, witness, .. } = setup();
        let big = tree(20);
        let note = log.sign(20, big.root());
        let checkpoint = verify_checkpoint(&note, &log.verifier_key()).unwrap();
        let sizes_asked = |remembered: u64, witness_at: Option<u64>| {
            let mut asked = Vec::new();
            let result = request_cosignature(
                &checkpoint,
                &note,
                remembered,
                None,
                |old_size| prove_consistency(20, old_size, &big).map_err(|e| e.to_string()),
                |body| {
                    let request = AddCheckpoint::parse(&body).unwrap();
                    asked.push(request.old_size);
                    match witness_at {
                        Some(size) if request.old_size != size => conflict(size),
                        _ => ok(witness.cosign(&checkpoint.body, 10)),
                    }
                },
            );
            (result.is_ok(), asked)
        };
        assert_eq!(sizes_asked(20, None), (true, vec![20]));
        assert_eq!(sizes_asked(21, None), (true, vec![0]));
        assert_eq!(sizes_asked(0, Some(20)), (true, vec![0, 20]));
    }

    #[test]
    fn a_stale_size_is_corrected_from_the_409_and_proved_from_there() {
        let Setup {
            log,
            witness,
            verifier,
        } = setup();
        let big = tree(20);
        let note = log.sign(20, big.root());
        let checkpoint = verify_checkpoint(&note, &log.verifier_key()).unwrap();
        let old_root = tree(12).root();
        let mut requests = Vec::new();
        let lines = request_cosignature(
            &checkpoint,
            &note,
            5,
            Some(&verifier),
            |old_size| prove_consistency(20, old_size, &big).map_err(|e| e.to_string()),
            |body| {
                let request = AddCheckpoint::parse(&body).unwrap();
                requests.push(request.old_size);
                if request.old_size != 12 {
                    return conflict(12);
                }
                check_consistency(&request.proof, 20, big.root(), 12, old_root).unwrap();
                // Lines by another witness are ignored.
                let other = Cosigner::new("other.example/w9", [1; 32]).unwrap();
                ok(other.cosign(&checkpoint.body, 9) + &witness.cosign(&checkpoint.body, 10))
            },
        )
        .unwrap();
        assert_eq!(requests, [5, 12]);
        assert_eq!(lines, witness.cosign(&checkpoint.body, 10));
        assert_eq!(verifier.verify_line(&checkpoint.body, &lines), Ok(10));
    }

    #[test]
    fn refusals_and_bad_answers_are_errors_that_say_why() {
        let Setup {
            log,
            witness,
            verifier,
        } = setup();
        let note = log.sign(10, tree(10).root());
        let checkpoint = verify_checkpoint(&note, &log.verifier_key()).unwrap();
        let ask = |answers: Vec<Result<WitnessResponse, String>>| {
            let mut answers = answers.into_iter();
            request_cosignature(
                &checkpoint,
                &note,
                0,
                Some(&verifier),
                |_| Ok(vec![Hash([0; 32])]),
                |_| answers.next().unwrap(),
            )
        };
        let refused = ask(vec![Ok(WitnessResponse {
            status: 409,
            content_type: Some("text/plain".into()),
            body: b"a different tree of size 10 was already cosigned\n".to_vec(),
        })]);
        assert!(
            matches!(&refused, Err(WitnessRequestError::Refused { status: 409, message }) if message.contains("different tree")),
            "{refused:?}"
        );
        assert!(matches!(
            ask(vec![conflict(11)]),
            Err(WitnessRequestError::AheadOfCheckpoint {
                witness_size: 11,
                checkpoint_size: 10
            })
        ));
        assert!(matches!(
            ask(vec![conflict(3), conflict(4)]),
            Err(WitnessRequestError::SizeChanged { latest: 4 })
        ));
        let garbled = ask(vec![Ok(WitnessResponse {
            status: 409,
            content_type: Some(SIZE_CONTENT_TYPE.into()),
            body: b"03\n".to_vec(),
        })]);
        assert!(matches!(
            garbled,
            Err(WitnessRequestError::MalformedSize(_))
        ));
        assert!(matches!(
            ask(vec![Err("connection refused".into())]),
            Err(WitnessRequestError::Caller(reason)) if reason == "connection refused"
        ));
        // A cosignature over another checkpoint, by the pinned witness.
        let other_body =
            crate::checkpoint::checkpoint_body("covenant.example/log", 9, Hash([1; 32]));
        assert!(matches!(
            ask(vec![ok(witness.cosign(&other_body, 1))]),
            Err(WitnessRequestError::Cosignature(
                CosignatureError::BadSignature(_)
            ))
        ));
        let stranger = Cosigner::new("stranger.example/w2", [2; 32]).unwrap();
        assert!(matches!(
            ask(vec![ok(stranger.cosign(&checkpoint.body, 1))]),
            Err(WitnessRequestError::NoCosignature(_))
        ));
        assert!(matches!(
            ask(vec![ok("not a signature\n".into())]),
            Err(WitnessRequestError::MalformedAnswer(_))
        ));
    }

    #[test]
    fn without_a_pinned_witness_the_lines_come_back_unchecked() {
        let Setup { log, witness, .. } = setup();
        let note = log.sign(4, tree(4).root());
        let checkpoint = verify_checkpoint(&note, &log.verifier_key()).unwrap();
        let line = witness.cosign(&checkpoint.body, 3);
        let unterminated = line.trim_end().to_owned();
        let lines = request_cosignature(
            &checkpoint,
            &note,
            4,
            None,
            |_| -> Result<Vec<Hash>, String> { panic!("no proof is needed for the same size") },
            |body| {
                assert_eq!(AddCheckpoint::parse(&body).unwrap().proof, []);
                ok(unterminated.clone())
            },
        )
        .unwrap();
        assert_eq!(lines, line);
    }

    #[test]
    fn urls_join_the_submission_prefix() {
        assert_eq!(
            add_checkpoint_url("https://w.example/prefix/"),
            "https://w.example/prefix/add-checkpoint"
        );
        assert_eq!(
            add_checkpoint_url("http://127.0.0.1:1"),
            "http://127.0.0.1:1/add-checkpoint"
        );
    }
}
