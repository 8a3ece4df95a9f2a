//! One test per validation rule, each driving a small log through `validate`.

use super::*;
use crate::event::decode;
use crate::proto::*;
use crate::signing::{EnvelopeHeader, EventSigner, seal};
use prost::Message;
use std::collections::HashSet;

const REGISTRAR: &str = "covenant-registrar";
const DCMS: &str = "GB-GOV-DCMS";
const DHSC: &str = "GB-GOV-DHSC";
const WATCHDOG: &str = "GB-CHC-1000001";
/// 2026-01-01T00:00:00Z in nanoseconds.
const NOW_NS: u64 = 1_767_225_600_000_000_000;

/// A tiny log: state, index and a counter, enough to run rules end to end.
struct Log {
    state: LedgerState,
    index: HashMap<String, IndexedEvent>,
    next_seq: u64,
    next_id: u64,
    registrar: EventSigner,
    keys: HashMap<&'static str, EventSigner>,
}

impl Log {
    fn new() -> Self {
        let registrar = EventSigner::from_seed([1; 32]);
        let mut log = Self {
            state: LedgerState::default(),
            index: HashMap::new(),
            next_seq: 0,
            next_id: 0,
            registrar: registrar.clone(),
            keys: HashMap::new(),
        };
        log.submit_envelope(&test_genesis(&registrar))
            .expect_accept();
        for (actor, kind, key, seed, roles) in [
            (
                DCMS,
                ActorKind::Department,
                "dcms-1",
                2u8,
                vec![KeyRole::Emitter],
            ),
            (
                DHSC,
                ActorKind::Department,
                "dhsc-1",
                3,
                vec![KeyRole::Emitter],
            ),
            (
                WATCHDOG,
                ActorKind::Watchdog,
                "watch-1",
                4,
                vec![KeyRole::Assessor],
            ),
        ] {
            log.registry(Kind::ActorRegistered(ActorRegistered {
                actor_id: actor.into(),
                name: actor.into(),
                kind: kind as i32,
                ..Default::default()
            }))
            .expect_accept();
            log.grant(key, actor, seed, roles).expect_accept();
        }
        log
    }

    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("01JDQ{:021}", self.next_id)
    }

    fn grant(
        &mut self,
        key_id: &'static str,
        actor: &str,
        seed: u8,
        roles: Vec<KeyRole>,
    ) -> Decision {
        let signer = EventSigner::from_seed([seed; 32]);
        let decision = self.registry(Kind::KeyGranted(KeyGranted {
            key_id: key_id.into(),
            public_key: signer.public_key().to_vec(),
            actor_id: actor.into(),
            roles: roles.into_iter().map(|r| r as i32).collect(),
        }));
        self.keys.insert(key_id, signer);
        decision
    }

    fn registry(&mut self, kind: Kind) -> Decision {
        let id = self.fresh_id();
        let envelope = seal(header(&id, REGISTRAR, "registrar-1"), kind, &self.registrar);
        self.submit_envelope(&envelope)
    }

    /// Publish `kind` as `actor` signed with granted key `key_id`.
    fn emit(&mut self, actor: &str, key_id: &'static str, kind: Kind) -> Decision {
        let id = self.fresh_id();
        let signer = self.keys[key_id].clone();
        self.submit_envelope(&seal(header(&id, actor, key_id), kind, &signer))
    }

    fn submit_envelope(&mut self, envelope: &Envelope) -> Decision {
        self.submit_bytes(&envelope.encode_to_vec(), NOW_NS)
    }

    fn submit_bytes(&mut self, bytes: &[u8], stored_at_ns: u64) -> Decision {
        let event = match decode(bytes) {
            Ok(event) => event,
            Err(error) => return Decision::Reject(error.into()),
        };
        let decision = validate(
            &self.state,
            &self.index,
            &event,
            self.next_seq,
            stored_at_ns,
            SignatureCheck::Pending,
        );
        if let Decision::Accept(changes) = &decision {
            self.state.apply_all(changes.clone());
            self.index.insert(
                event.event_id().to_owned(),
                IndexedEvent {
                    seq: self.next_seq,
                    digest: event.digest,
                    actor: event.actor().to_owned(),
                },
            );
            self.next_seq += 1;
        }
        decision
    }

    fn commit(&mut self, actor: &str, key: &'static str, id: &str) -> Decision {
        self.emit(actor, key, commitment(id))
    }
}

/// The test log's genesis: origin `test/log`, one registrar key `registrar-1`.
fn test_genesis(registrar: &EventSigner) -> Envelope {
    genesis_envelope(Genesis {
        origin: "test/log".into(),
        registrar_actor: REGISTRAR.into(),
        registrars: vec![RegistrarKey {
            key_id: "registrar-1".into(),
            public_key: registrar.public_key().to_vec(),
        }],
        description: String::new(),
    })
}

fn header<'a>(event_id: &'a str, actor: &'a str, key_id: &'a str) -> EnvelopeHeader<'a> {
    EnvelopeHeader {
        event_id,
        actor,
        occurred_at_ms: (NOW_NS / 1_000_000) as i64 - 1000,
        key_id,
    }
}

fn commitment(id: &str) -> Kind {
    Kind::CommitmentMade(CommitmentMade {
        commitment_id: id.into(),
        title: "Joint council".into(),
        text: "We will set up a joint council with civil society.".into(),
        made_on: "2025-07-17".into(),
        due_by: "2026-07-17".into(),
        themes: vec!["community".into()],
        ..Default::default()
    })
}

fn outcome(commitment_id: &str) -> Kind {
    Kind::OutcomeReported(OutcomeReported {
        commitment_id: commitment_id.into(),
        verdict: Verdict::Delivered as i32,
        reported_on: "2026-06-01".into(),
        ..Default::default()
    })
}

fn withdrawal(commitment_id: &str) -> Kind {
    Kind::CommitmentWithdrawn(CommitmentWithdrawn {
        commitment_id: commitment_id.into(),
        reason: "dropped in the spending review".into(),
    })
}

fn action(action_id: &str, commitment_ids: &[&str]) -> Kind {
    Kind::ActionRecorded(ActionRecorded {
        action_id: action_id.into(),
        commitment_ids: commitment_ids.iter().map(|s| s.to_string()).collect(),
        r#type: ActionType::Funding as i32,
        taken_on: "2026-02-01".into(),
        description: "Grant to the council secretariat".into(),
        ..Default::default()
    })
}

trait Expect {
    fn expect_accept(self) -> Vec<StateChange>;
    fn expect_reject(self, code: RejectCode) -> String;
}

impl Expect for Decision {
    fn expect_accept(self) -> Vec<StateChange> {
        match self {
            Decision::Accept(changes) => changes,
            other => panic!("expected accept, got {other:?}"),
        }
    }

    fn expect_reject(self, code: RejectCode) -> String {
        match self {
            Decision::Reject(rejection) if rejection.code == code => rejection.message,
            other => panic!("expected {code}, got {other:?}"),
        }
    }
}

#[test]
fn a_well_formed_commitment_is_accepted() {
    let mut log = Log::new();
    let changes = log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    assert_eq!(
        changes,
        vec![StateChange::Commitment(
            "c-1".into(),
            CommitmentRecord {
                owner: DCMS.into(),
                withdrawn: false,
                outcomes: vec![]
            }
        )]
    );
}

#[test]
fn undecodable_bytes_are_rejected() {
    let mut log = Log::new();
    log.submit_bytes(b"\xff\xff\xff\xff", NOW_NS)
        .expect_reject(RejectCode::Undecodable);
}

#[test]
fn oversized_envelopes_are_rejected() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let mut kind = commitment("c-big");
    if let Kind::CommitmentMade(made) = &mut kind {
        made.text = "x".repeat(crate::MAX_ENVELOPE_BYTES);
    }
    let envelope = seal(header(&id, DCMS, "dcms-1"), kind, &log.keys["dcms-1"]);
    let message = log
        .submit_bytes(&envelope.encode_to_vec(), NOW_NS)
        .expect_reject(RejectCode::Oversized);
    assert!(message.contains("limit"));
}

#[test]
fn missing_fields_are_named() {
    let mut log = Log::new();
    let mut kind = commitment("c-1");
    if let Kind::CommitmentMade(made) = &mut kind {
        made.made_on = "2026-02-30".into();
    }
    let message = log
        .emit(DCMS, "dcms-1", kind)
        .expect_reject(RejectCode::InvalidField);
    assert!(message.starts_with("commitment_made.made_on:"), "{message}");
}

#[test]
fn bad_signatures_are_rejected() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let mut envelope = seal(
        header(&id, DCMS, "dcms-1"),
        commitment("c-1"),
        &log.keys["dcms-1"],
    );
    envelope.signature[3] ^= 1;
    log.submit_envelope(&envelope)
        .expect_reject(RejectCode::BadSignature);
    // Signed by the right key id but with someone else's secret.
    let impostor = EventSigner::from_seed([99; 32]);
    let envelope = seal(header(&id, DCMS, "dcms-1"), commitment("c-1"), &impostor);
    log.submit_envelope(&envelope)
        .expect_reject(RejectCode::BadSignature);
}

/// The ledger verifies a batch's signatures before validating in order: a signature it has
/// verified with the key the state names is not checked again, and one verified with any
/// other key counts for nothing.
#[test]
fn a_preverified_signature_counts_only_for_the_key_the_state_names() {
    let log = Log::new();
    let signer = &log.keys["dcms-1"];
    let mut envelope = seal(
        header("01JDQ000000000000000000099", DCMS, "dcms-1"),
        commitment("c-9"),
        signer,
    );
    envelope.signature[0] ^= 1;
    let event = decode(&envelope.encode_to_vec()).unwrap();
    let decide = |check| validate(&log.state, &log.index, &event, log.next_seq, NOW_NS, check);
    decide(SignatureCheck::VerifiedWith(signer.public_key())).expect_accept();
    let wrong_key = EventSigner::from_seed([42; 32]).public_key();
    decide(SignatureCheck::VerifiedWith(wrong_key)).expect_reject(RejectCode::BadSignature);
    decide(SignatureCheck::Pending).expect_reject(RejectCode::BadSignature);
}

/// A door's check: no genesis from outside, nothing before a genesis, and a known key whose
/// signature verifies.
#[test]
fn a_door_authorises_only_signed_events_by_known_keys_after_genesis() {
    let log = Log::new();
    let signed = |key: &str, seed: u8| {
        let envelope = seal(
            header("01JDQ000000000000000000097", DCMS, key),
            commitment("c-7"),
            &EventSigner::from_seed([seed; 32]),
        );
        decode(&envelope.encode_to_vec()).unwrap()
    };
    assert_eq!(authorise(&log.state, &signed("dcms-1", 2)), Ok(()));
    let code = |result: Result<(), Rejection>| result.unwrap_err().code;
    assert_eq!(
        code(authorise(&log.state, &signed("dcms-1", 9))),
        RejectCode::BadSignature
    );
    assert_eq!(
        code(authorise(&log.state, &signed("nobody-1", 2))),
        RejectCode::UnknownKey
    );
    assert_eq!(
        code(authorise(&LedgerState::default(), &signed("dcms-1", 2))),
        RejectCode::GenesisMissing
    );
    let genesis = decode(&test_genesis(&log.registrar).encode_to_vec()).unwrap();
    assert_eq!(
        code(authorise(&log.state, &genesis)),
        RejectCode::GenesisMisplaced
    );
    // Only entry 0 of a log with no genesis yet may be one.
    for (state, next_seq) in [(&LedgerState::default(), 3), (&log.state, 0)] {
        validate(
            state,
            &HashMap::new(),
            &genesis,
            next_seq,
            NOW_NS,
            SignatureCheck::Pending,
        )
        .expect_reject(RejectCode::GenesisMisplaced);
    }
}

#[test]
fn the_state_names_the_public_key_of_registrar_and_granted_keys() {
    let log = Log::new();
    assert_eq!(
        log.state.public_key("registrar-1"),
        Some(log.registrar.public_key())
    );
    assert_eq!(
        log.state.public_key("dcms-1"),
        Some(log.keys["dcms-1"].public_key())
    );
    assert_eq!(log.state.public_key("nobody-1"), None);
}

#[test]
fn rejections_print_as_code_and_sentence_and_the_skew_is_ten_minutes() {
    let rejection = Rejection::new(RejectCode::BadSignature, "no");
    assert_eq!(
        rejection.to_string(),
        format!("{}: no", RejectCode::BadSignature.as_str())
    );
    assert_eq!(
        RejectCode::UnknownKey.to_string(),
        RejectCode::UnknownKey.as_str()
    );
    assert_eq!(MAX_FUTURE_SKEW_MS, 600_000);
}

#[test]
fn unknown_keys_are_rejected() {
    let mut log = Log::new();
    log.keys.insert("ghost-1", EventSigner::from_seed([50; 32]));
    log.emit(DCMS, "ghost-1", commitment("c-1"))
        .expect_reject(RejectCode::UnknownKey);
}

#[test]
fn revoked_keys_are_rejected_and_rotation_works() {
    let mut log = Log::new();
    log.registry(Kind::KeyRevoked(KeyRevoked {
        key_id: "dcms-1".into(),
        reason: "laptop lost".into(),
    }))
    .expect_accept();
    log.commit(DCMS, "dcms-1", "c-1")
        .expect_reject(RejectCode::RevokedKey);
    log.grant("dcms-2", DCMS, 20, vec![KeyRole::Emitter])
        .expect_accept();
    log.commit(DCMS, "dcms-2", "c-1").expect_accept();
    log.registry(Kind::KeyRevoked(KeyRevoked {
        key_id: "dcms-1".into(),
        reason: "again".into(),
    }))
    .expect_reject(RejectCode::KeyAlreadyRevoked);
}

#[test]
fn a_department_key_cannot_speak_for_another_department() {
    let mut log = Log::new();
    let message = log
        .commit(DHSC, "dcms-1", "c-1")
        .expect_reject(RejectCode::UnauthorisedKey);
    assert!(message.contains("speaks for GB-GOV-DCMS"), "{message}");
}

#[test]
fn registry_events_need_a_registrar_key() {
    let mut log = Log::new();
    let registered = Kind::ActorRegistered(ActorRegistered {
        actor_id: "GB-GOV-NEW".into(),
        name: "New Department".into(),
        kind: ActorKind::Department as i32,
        ..Default::default()
    });
    log.emit(DCMS, "dcms-1", registered.clone())
        .expect_reject(RejectCode::UnauthorisedKey);
    // A registrar key may not speak as an actor either.
    let id = log.fresh_id();
    let envelope = seal(
        header(&id, DCMS, "registrar-1"),
        commitment("c-1"),
        &log.registrar,
    );
    log.submit_envelope(&envelope)
        .expect_reject(RejectCode::UnauthorisedKey);
    log.registry(registered.clone()).expect_accept();
    log.registry(registered)
        .expect_reject(RejectCode::ActorExists);
}

#[test]
fn keys_need_a_registered_actor_and_a_fresh_id() {
    let mut log = Log::new();
    log.grant("x-1", "GB-GOV-NOBODY", 60, vec![KeyRole::Emitter])
        .expect_reject(RejectCode::UnknownActor);
    log.grant("dcms-1", DCMS, 61, vec![KeyRole::Emitter])
        .expect_reject(RejectCode::KeyExists);
    log.grant("registrar-1", DCMS, 62, vec![KeyRole::Emitter])
        .expect_reject(RejectCode::KeyExists);
}

#[test]
fn roles_limit_what_a_key_may_publish() {
    let mut log = Log::new();
    log.commit(WATCHDOG, "watch-1", "c-w")
        .expect_reject(RejectCode::UnauthorisedKey);
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    let outcome_id = log.next_id + 1;
    log.emit(DCMS, "dcms-1", outcome("c-1")).expect_accept();
    let assessment = Kind::AssessmentPublished(AssessmentPublished {
        commitment_id: "c-1".into(),
        outcome_event_id: format!("01JDQ{outcome_id:021}"),
        stance: Stance::Disputes as i32,
        summary: "The council met once and has no budget.".into(),
        ..Default::default()
    });
    log.emit(DCMS, "dcms-1", assessment.clone())
        .expect_reject(RejectCode::UnauthorisedKey);
    log.emit(WATCHDOG, "watch-1", assessment).expect_accept();
}

#[test]
fn assessments_must_name_a_real_outcome() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    let assessment = Kind::AssessmentPublished(AssessmentPublished {
        commitment_id: "c-1".into(),
        outcome_event_id: "01JDQ000000000000000000777".into(),
        stance: Stance::Agrees as i32,
        summary: "Agreed.".into(),
        ..Default::default()
    });
    log.emit(WATCHDOG, "watch-1", assessment)
        .expect_reject(RejectCode::UnknownOutcome);
}

#[test]
fn same_bytes_twice_is_a_duplicate_not_a_second_entry() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let envelope = seal(
        header(&id, DCMS, "dcms-1"),
        commitment("c-1"),
        &log.keys["dcms-1"],
    );
    log.submit_envelope(&envelope).expect_accept();
    let seq = log.next_seq - 1;
    assert_eq!(log.submit_envelope(&envelope), Decision::Duplicate { seq });
    assert_eq!(log.next_seq, seq + 1);
}

#[test]
fn same_id_different_bytes_is_equivocation() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let signer = log.keys["dcms-1"].clone();
    log.submit_envelope(&seal(
        header(&id, DCMS, "dcms-1"),
        commitment("c-1"),
        &signer,
    ))
    .expect_accept();
    let message = log
        .submit_envelope(&seal(
            header(&id, DCMS, "dcms-1"),
            commitment("c-2"),
            &signer,
        ))
        .expect_reject(RejectCode::Equivocation);
    assert!(message.contains("evidence"));
    // A forgery reusing the id is not equivocation by the key holder: just a bad signature.
    let forger = EventSigner::from_seed([77; 32]);
    log.submit_envelope(&seal(
        header(&id, DCMS, "dcms-1"),
        commitment("c-3"),
        &forger,
    ))
    .expect_reject(RejectCode::BadSignature);
}

#[test]
fn references_to_unknown_commitments_are_rejected() {
    let mut log = Log::new();
    log.emit(DCMS, "dcms-1", outcome("c-missing"))
        .expect_reject(RejectCode::UnknownCommitment);
    log.emit(DCMS, "dcms-1", action("a-1", &["c-missing"]))
        .expect_reject(RejectCode::UnknownCommitment);
}

#[test]
fn references_to_another_actors_commitment_are_rejected() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    log.emit(DHSC, "dhsc-1", outcome("c-1"))
        .expect_reject(RejectCode::ForeignCommitment);
    log.emit(DHSC, "dhsc-1", action("a-1", &["c-1"]))
        .expect_reject(RejectCode::ForeignCommitment);
    log.emit(DHSC, "dhsc-1", withdrawal("c-1"))
        .expect_reject(RejectCode::ForeignCommitment);
}

#[test]
fn outcomes_on_withdrawn_commitments_are_rejected() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    log.emit(DCMS, "dcms-1", withdrawal("c-1")).expect_accept();
    log.emit(DCMS, "dcms-1", outcome("c-1"))
        .expect_reject(RejectCode::CommitmentWithdrawn);
    log.emit(DCMS, "dcms-1", withdrawal("c-1"))
        .expect_reject(RejectCode::CommitmentWithdrawn);
}

#[test]
fn commitment_and_action_ids_are_unique() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    log.commit(DCMS, "dcms-1", "c-1")
        .expect_reject(RejectCode::CommitmentExists);
    log.commit(DHSC, "dhsc-1", "c-1")
        .expect_reject(RejectCode::CommitmentExists);
    log.emit(DCMS, "dcms-1", action("a-1", &["c-1"]))
        .expect_accept();
    log.emit(DCMS, "dcms-1", action("a-1", &["c-1"]))
        .expect_reject(RejectCode::ActionExists);
}

#[test]
fn timestamps_far_in_the_future_are_rejected_against_broker_time() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let mut head = header(&id, DCMS, "dcms-1");
    head.occurred_at_ms = (NOW_NS / 1_000_000) as i64 + MAX_FUTURE_SKEW_MS + 1;
    let envelope = seal(head, commitment("c-1"), &log.keys["dcms-1"]);
    log.submit_envelope(&envelope)
        .expect_reject(RejectCode::FutureTimestamp);
    // The same envelope is fine once the broker's clock has caught up.
    let later = NOW_NS + 2 * MAX_FUTURE_SKEW_MS as u64 * 1_000_000;
    log.submit_bytes(&envelope.encode_to_vec(), later)
        .expect_accept();
}

#[test]
fn genesis_only_at_entry_zero_and_nothing_before_it() {
    let mut log = Log::new();
    let again = genesis_envelope(Genesis {
        origin: "other".into(),
        registrar_actor: REGISTRAR.into(),
        registrars: vec![RegistrarKey {
            key_id: "evil".into(),
            public_key: vec![9; 32],
        }],
        description: String::new(),
    });
    log.submit_envelope(&again)
        .expect_reject(RejectCode::GenesisMisplaced);

    let empty = LedgerState::default();
    let event = decode(
        &seal(
            header("01JDQ000000000000000000001", DCMS, "dcms-1"),
            commitment("c"),
            &EventSigner::from_seed([2; 32]),
        )
        .encode_to_vec(),
    )
    .unwrap();
    validate(
        &empty,
        &HashMap::new(),
        &event,
        0,
        NOW_NS,
        SignatureCheck::Pending,
    )
    .expect_reject(RejectCode::GenesisMissing);
}

#[test]
fn retractions_are_by_the_same_actor_and_once() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let envelope = seal(
        header(&id, DCMS, "dcms-1"),
        commitment("c-1"),
        &log.keys["dcms-1"],
    );
    log.submit_envelope(&envelope).expect_accept();
    let retract = |event_id: &str| {
        Kind::Retraction(Retraction {
            event_id: event_id.into(),
            reason: "published in error".into(),
        })
    };
    log.emit(DHSC, "dhsc-1", retract(&id))
        .expect_reject(RejectCode::ForeignEvent);
    log.emit(DCMS, "dcms-1", retract("01JDQ000000000000000000555"))
        .expect_reject(RejectCode::UnknownEvent);
    log.emit(DCMS, "dcms-1", retract(&id)).expect_accept();
    log.emit(DCMS, "dcms-1", retract(&id))
        .expect_reject(RejectCode::AlreadyRetracted);
}

#[test]
fn succession_passes_open_commitments_to_the_successor() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-open").expect_accept();
    log.commit(DCMS, "dcms-1", "c-done").expect_accept();
    log.emit(DCMS, "dcms-1", outcome("c-done")).expect_accept();
    let succession = succession(&[]);
    log.emit(DCMS, "dcms-1", succession.clone())
        .expect_reject(RejectCode::UnauthorisedKey);
    log.registry(succession).expect_accept();
    assert_eq!(log.state.commitments["c-open"].owner, DHSC);
    assert_eq!(log.state.commitments["c-done"].owner, DCMS);
    assert_eq!(log.state.actors[DCMS].successors, vec![DHSC.to_string()]);
    // The old department's key can no longer act on what passed; the successor's can.
    log.emit(DCMS, "dcms-1", outcome("c-open"))
        .expect_reject(RejectCode::ForeignCommitment);
    log.emit(DHSC, "dhsc-1", outcome("c-open")).expect_accept();
}

fn succession(commitment_ids: &[&str]) -> Kind {
    Kind::ActorSucceeded(ActorSucceeded {
        predecessor_id: DCMS.into(),
        successor_id: DHSC.into(),
        kind: SuccessionKind::Merged as i32,
        effective_on: "2026-04-01".into(),
        commitment_ids: commitment_ids.iter().map(|id| id.to_string()).collect(),
        note: String::new(),
    })
}

#[test]
fn a_listed_succession_passes_only_the_listed_open_commitments_in_order_of_id() {
    let mut log = Log::new();
    for id in ["c-3", "c-1", "c-2", "c-done"] {
        log.commit(DCMS, "dcms-1", id).expect_accept();
    }
    log.emit(DCMS, "dcms-1", outcome("c-done")).expect_accept();
    let changes = log
        .registry(succession(&["c-3", "c-done", "c-1"]))
        .expect_accept();
    let passed: Vec<&str> = changes
        .iter()
        .filter_map(|change| match change {
            StateChange::Commitment(id, record) => {
                assert_eq!(record.owner, DHSC);
                Some(id.as_str())
            }
            _ => None,
        })
        .collect();
    // Listed but closed by its outcome, c-done stays; c-2 was not listed.
    assert_eq!(passed, ["c-1", "c-3"]);
    assert_eq!(log.state.commitments["c-2"].owner, DCMS);
    assert_eq!(log.state.commitments["c-done"].owner, DCMS);
}

#[test]
fn commitment_after_moves_a_record_only_as_the_event_says() {
    let open = |owner: &str| CommitmentRecord {
        owner: owner.into(),
        withdrawn: false,
        outcomes: vec![],
    };
    let after = |kind: &Kind, actor: &str, id: &str, before: Option<&CommitmentRecord>| {
        commitment_after(kind, actor, "e-1", id, before)
    };
    // Made: a new record owned by the maker, only for the id it makes and only once.
    assert_eq!(
        after(&commitment("c-1"), DCMS, "c-1", None),
        Some(open(DCMS))
    );
    assert_eq!(after(&commitment("c-1"), DCMS, "c-2", None), None);
    assert_eq!(
        after(&commitment("c-1"), DCMS, "c-1", Some(&open(DCMS))),
        None
    );
    // Nothing else makes a record from none.
    assert_eq!(after(&withdrawal("c-1"), DCMS, "c-1", None), None);
    // Withdrawn and outcomes: the named commitment only.
    let withdrawn = after(&withdrawal("c-1"), DCMS, "c-1", Some(&open(DCMS))).unwrap();
    assert!(withdrawn.withdrawn && !withdrawn.is_open() && withdrawn.owner == DCMS);
    assert_eq!(
        after(&withdrawal("c-1"), DCMS, "c-2", Some(&open(DCMS))),
        None
    );
    let reported = after(&outcome("c-1"), WATCHDOG, "c-1", Some(&open(DCMS))).unwrap();
    assert_eq!(reported.outcomes, ["e-1"]);
    assert_eq!(reported.owner, DCMS, "a partner's outcome leaves the owner");
    assert_eq!(after(&outcome("c-1"), DCMS, "c-2", Some(&open(DCMS))), None);
    // Adopted: the adopter owns it.
    let adopted = Kind::CommitmentAdopted(CommitmentAdopted {
        commitment_id: "c-1".into(),
        ..Default::default()
    });
    assert_eq!(
        after(&adopted, DHSC, "c-1", Some(&open(DCMS))),
        Some(open(DHSC))
    );
    assert_eq!(after(&adopted, DHSC, "c-2", Some(&open(DCMS))), None);
    // Succession: open commitments of the predecessor, all or the listed ones.
    let whole = succession(&[]);
    assert_eq!(
        after(&whole, REGISTRAR, "c-1", Some(&open(DCMS))),
        Some(open(DHSC))
    );
    assert_eq!(after(&whole, REGISTRAR, "c-1", Some(&open(WATCHDOG))), None);
    assert_eq!(after(&whole, REGISTRAR, "c-1", Some(&withdrawn)), None);
    assert_eq!(after(&whole, REGISTRAR, "c-1", Some(&reported)), None);
    assert_eq!(after(&whole, REGISTRAR, "c-1", None), None);
    let listed = succession(&["c-2"]);
    assert_eq!(
        after(&listed, REGISTRAR, "c-2", Some(&open(DCMS))),
        Some(open(DHSC))
    );
    assert_eq!(after(&listed, REGISTRAR, "c-1", Some(&open(DCMS))), None);
    // Events that leave records alone.
    assert_eq!(
        after(&action("a-1", &["c-1"]), DCMS, "c-1", Some(&open(DCMS))),
        None
    );
}

#[test]
fn every_reject_code_has_a_distinct_name() {
    let names: HashSet<&str> = RejectCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), RejectCode::ALL.len());
    for code in RejectCode::ALL {
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
    }
}

// ---- real commitments: partners, indicators, amendments, sources, assessments, adoption ------

const MP: &str = "uk-mp:4514";
const MHCLG: &str = "GB-GOV-MHCLG";

impl Log {
    /// The base log plus an MP (a candidate's pledges) and a second department.
    fn with_pledges() -> Self {
        let mut log = Self::new();
        for (actor, kind, key, seed) in [
            (MP, ActorKind::Mp, "mp-1", 5u8),
            (MHCLG, ActorKind::Department, "mhclg-1", 6),
        ] {
            log.registry(Kind::ActorRegistered(ActorRegistered {
                actor_id: actor.into(),
                name: actor.into(),
                kind: kind as i32,
                ..Default::default()
            }))
            .expect_accept();
            log.grant(key, actor, seed, vec![KeyRole::Emitter])
                .expect_accept();
        }
        log
    }
}

impl Log {
    /// An amendment of DCMS's commitment c-1.
    fn amend(&mut self, class: AmendmentClass, changes: &[(AmendedField, &str, &str)]) -> Decision {
        self.emit(DCMS, "dcms-1", amendment(class, changes))
    }
}

fn shared_commitment(id: &str, partners: &[&str]) -> Kind {
    let Kind::CommitmentMade(mut made) = commitment(id) else {
        unreachable!()
    };
    made.delivery_partners = partners.iter().map(|p| p.to_string()).collect();
    made.indicators = vec![
        indicator("homes", Comparator::AtLeast, Some(1_500_000.0), None),
        indicator("decisions", Comparator::AtLeast, Some(150.0), None),
    ];
    Kind::CommitmentMade(made)
}

fn indicator(
    id: &str,
    comparator: Comparator,
    target: Option<f64>,
    upper: Option<f64>,
) -> Indicator {
    Indicator {
        indicator_id: id.into(),
        measure: format!("{id} delivered"),
        unit: id.into(),
        comparator: comparator as i32,
        target_value: target,
        target_upper: upper,
        ..Default::default()
    }
}

fn made_with(edit: impl FnOnce(&mut CommitmentMade)) -> Kind {
    let Kind::CommitmentMade(mut made) = commitment("c-edit") else {
        unreachable!()
    };
    edit(&mut made);
    Kind::CommitmentMade(made)
}

fn amendment(class: AmendmentClass, changes: &[(AmendedField, &str, &str)]) -> Kind {
    Kind::CommitmentAmended(CommitmentAmended {
        commitment_id: "c-1".into(),
        class: class as i32,
        changes: changes
            .iter()
            .map(|(field, value, indicator)| FieldChange {
                field: *field as i32,
                new_value: value.to_string(),
                indicator_id: indicator.to_string(),
            })
            .collect(),
        rationale: "the plan changed".into(),
        ..Default::default()
    })
}

#[test]
fn delivery_partners_record_actions_and_outcomes_but_only_the_owner_amends() {
    // The standing emitters check before publishing says what the rules below enforce.
    let standing = |kind: &Kind| Standing::needed_for(kind);
    assert_eq!(
        standing(&action("a", &["c-1"])),
        Some(Standing::OwnerOrPartner)
    );
    assert_eq!(standing(&outcome("c-1")), Some(Standing::OwnerOrPartner));
    assert_eq!(standing(&withdrawal("c-1")), Some(Standing::Owner));
    assert_eq!(
        standing(&amendment(AmendmentClass::Correction, &[])),
        Some(Standing::Owner)
    );
    assert_eq!(standing(&shared_commitment("c-1", &[])), None);
    let partners = [MHCLG.to_owned()];
    assert!(Standing::OwnerOrPartner.held_by(MHCLG, DCMS, &partners));
    assert!(!Standing::Owner.held_by(MHCLG, DCMS, &partners));
    assert!(Standing::Owner.held_by(DCMS, DCMS, &partners));
    assert!(!Standing::OwnerOrPartner.held_by(DHSC, DCMS, &partners));
    let mut log = Log::with_pledges();
    let changes = log
        .emit(DCMS, "dcms-1", shared_commitment("c-1", &[MHCLG]))
        .expect_accept();
    assert!(changes.contains(&StateChange::Terms(
        "c-1".into(),
        CommitmentTerms {
            delivery_partners: vec![MHCLG.into()],
            indicators: vec!["homes".into(), "decisions".into()],
        }
    )));
    log.emit(MHCLG, "mhclg-1", action("a-partner", &["c-1"]))
        .expect_accept();
    log.emit(MHCLG, "mhclg-1", outcome("c-1")).expect_accept();
    // Not a partner: still foreign.
    log.emit(DHSC, "dhsc-1", action("a-stranger", &["c-1"]))
        .expect_reject(RejectCode::ForeignCommitment);
    // Partners deliver; they do not rewrite or drop the promise.
    let reworded = amendment(
        AmendmentClass::Correction,
        &[(AmendedField::Text, "new words", "")],
    );
    log.emit(MHCLG, "mhclg-1", reworded.clone())
        .expect_reject(RejectCode::ForeignCommitment);
    log.emit(MHCLG, "mhclg-1", withdrawal("c-1"))
        .expect_reject(RejectCode::ForeignCommitment);
    log.emit(DCMS, "dcms-1", reworded).expect_accept();
    // A withdrawn commitment takes nothing more, from partners either.
    log.emit(DCMS, "dcms-1", withdrawal("c-1")).expect_accept();
    log.emit(MHCLG, "mhclg-1", action("a-late", &["c-1"]))
        .expect_reject(RejectCode::CommitmentWithdrawn);
}

#[test]
fn delivery_partners_are_registered_distinct_and_not_the_owner() {
    let mut log = Log::with_pledges();
    log.emit(DCMS, "dcms-1", shared_commitment("c-1", &["GB-GOV-NOBODY"]))
        .expect_reject(RejectCode::UnknownActor);
    let message = log
        .emit(DCMS, "dcms-1", shared_commitment("c-2", &[DCMS]))
        .expect_reject(RejectCode::InvalidField);
    assert!(
        message.contains("cannot also be a delivery partner"),
        "{message}"
    );
    let message = log
        .emit(DCMS, "dcms-1", shared_commitment("c-3", &[MHCLG, MHCLG]))
        .expect_reject(RejectCode::InvalidField);
    assert!(message.contains("delivery_partners[1]"), "{message}");
    // Without partners or named indicators nothing beyond the commitment record is written.
    let changes = log.commit(DCMS, "dcms-1", "c-plain").expect_accept();
    assert_eq!(changes.len(), 1);
}

#[test]
fn indicators_need_an_id_a_comparator_and_a_target() {
    let mut log = Log::new();
    let cases: Vec<(Kind, &str)> = vec![
        (
            made_with(|m| {
                m.indicator = Some(Indicator {
                    measure: "homes".into(),
                    ..Default::default()
                });
                m.indicators = vec![indicator("homes", Comparator::AtLeast, Some(1.0), None)];
            }),
            "commitment_made.indicator: give either",
        ),
        (
            made_with(|m| m.indicators = vec![indicator("", Comparator::AtLeast, Some(1.0), None)]),
            "commitment_made.indicators[0].indicator_id: is required",
        ),
        (
            made_with(|m| {
                m.indicators = vec![indicator("x", Comparator::Unspecified, Some(1.0), None)]
            }),
            "commitment_made.indicators[0].comparator: 0 is not a known value",
        ),
        (
            made_with(|m| m.indicators = vec![indicator("x", Comparator::AtLeast, None, None)]),
            "commitment_made.indicators[0].target_value: is required",
        ),
        (
            made_with(|m| {
                m.indicators = vec![indicator("x", Comparator::Between, Some(5.0), None)]
            }),
            "commitment_made.indicators[0].target_upper: is required for a between target",
        ),
        (
            made_with(|m| {
                m.indicators = vec![indicator("x", Comparator::Between, Some(5.0), Some(4.0))]
            }),
            "commitment_made.indicators[0].target_upper: is below target_value",
        ),
        (
            made_with(|m| {
                m.indicators = vec![indicator("x", Comparator::AtMost, Some(5.0), Some(6.0))]
            }),
            "commitment_made.indicators[0].target_upper: is only for a between target",
        ),
        (
            made_with(|m| {
                m.indicators = vec![
                    indicator("x", Comparator::AtLeast, Some(1.0), None),
                    indicator("x", Comparator::AtMost, Some(2.0), None),
                ]
            }),
            "commitment_made.indicators[1].indicator_id: \"x\" is used twice",
        ),
        (
            made_with(|m| {
                let mut bad = indicator("x", Comparator::AtLeast, Some(1.0), None);
                bad.baseline_value = Some(f64::NAN);
                m.indicators = vec![bad];
            }),
            "commitment_made.indicators[0].baseline_value: must be a finite number",
        ),
    ];
    for (kind, expected) in cases {
        let message = log
            .emit(DCMS, "dcms-1", kind)
            .expect_reject(RejectCode::InvalidField);
        assert!(
            message.starts_with(expected),
            "{message} should start with {expected}"
        );
    }
    // Equal bounds are a between target that one value meets; no baseline is fine.
    log.emit(
        DCMS,
        "dcms-1",
        made_with(|m| {
            m.indicators = vec![indicator("x", Comparator::Between, Some(5.0), Some(5.0))]
        }),
    )
    .expect_accept();
}

#[test]
fn measurements_name_an_indicator_of_the_commitment() {
    let mut log = Log::with_pledges();
    log.emit(DCMS, "dcms-1", shared_commitment("c-1", &[]))
        .expect_accept();
    let report = |indicator: &str| {
        Kind::OutcomeReported(OutcomeReported {
            commitment_id: "c-1".into(),
            verdict: Verdict::PartlyDelivered as i32,
            reported_on: "2026-06-01".into(),
            measurements: vec![Measurement {
                indicator_id: indicator.into(),
                value: 1_200_000.0,
                measured_on: "2026-05-31".into(),
                period: String::new(),
            }],
            ..Default::default()
        })
    };
    let message = log
        .emit(DCMS, "dcms-1", report("flats"))
        .expect_reject(RejectCode::UnknownIndicator);
    assert!(message.contains("no indicator flats"), "{message}");
    log.emit(DCMS, "dcms-1", report("homes")).expect_accept();
}

#[test]
fn an_amendment_class_must_match_the_fields_it_changes() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    let message = log
        .amend(
            AmendmentClass::DeadlineChange,
            &[(AmendedField::TargetValue, "90", "")],
        )
        .expect_reject(RejectCode::InvalidField);
    assert!(
        message.contains("a deadline_change amendment cannot change target_value"),
        "{message}"
    );
    for (class, field, value) in [
        (
            AmendmentClass::Correction,
            AmendedField::DueBy,
            "2027-01-01",
        ),
        (
            AmendmentClass::Correction,
            AmendedField::Scope,
            "England only",
        ),
        (
            AmendmentClass::Clarification,
            AmendedField::TargetValue,
            "5",
        ),
        (
            AmendmentClass::ScopeChange,
            AmendedField::DueBy,
            "2027-01-01",
        ),
        (
            AmendmentClass::TargetChange,
            AmendedField::DueBy,
            "2027-01-01",
        ),
        (
            AmendmentClass::TargetChange,
            AmendedField::Scope,
            "England only",
        ),
    ] {
        log.amend(class, &[(field, value, "")])
            .expect_reject(RejectCode::InvalidField);
    }
    // The clean-power change: target and wording in one event.
    log.amend(
        AmendmentClass::TargetChange,
        &[
            (AmendedField::TargetValue, "95", ""),
            (AmendedField::Text, "clean power", ""),
        ],
    )
    .expect_accept();
    // A revision changes several terms at once; the same field twice is refused.
    log.amend(
        AmendmentClass::Revision,
        &[
            (AmendedField::DueBy, "2030-01-01", ""),
            (AmendedField::TargetValue, "90", ""),
        ],
    )
    .expect_accept();
    let message = log
        .amend(
            AmendmentClass::Revision,
            &[
                (AmendedField::DueBy, "2030-01-01", ""),
                (AmendedField::DueBy, "2031-01-01", ""),
            ],
        )
        .expect_reject(RejectCode::InvalidField);
    assert!(message.contains("same field twice"), "{message}");
    log.amend(
        AmendmentClass::TargetChange,
        &[(AmendedField::Comparator, "more or less", "")],
    )
    .expect_reject(RejectCode::InvalidField);
    log.amend(
        AmendmentClass::Correction,
        &[(AmendedField::Title, "t", "homes")],
    )
    .expect_reject(RejectCode::InvalidField);
}

#[test]
fn target_changes_on_several_indicators_name_a_known_one() {
    let mut log = Log::with_pledges();
    log.emit(DCMS, "dcms-1", shared_commitment("c-1", &[]))
        .expect_accept();
    let message = log
        .amend(
            AmendmentClass::TargetChange,
            &[(AmendedField::TargetValue, "1000000", "")],
        )
        .expect_reject(RejectCode::UnknownIndicator);
    assert_eq!(
        message,
        "commitment c-1 names its indicators (homes, decisions); a change to a target must say which, in indicator_id"
    );
    let message = log
        .amend(
            AmendmentClass::TargetChange,
            &[(AmendedField::TargetValue, "1", "flats")],
        )
        .expect_reject(RejectCode::UnknownIndicator);
    assert_eq!(
        message,
        "commitment c-1 has no indicator flats; its indicators are homes, decisions"
    );
    log.amend(
        AmendmentClass::TargetChange,
        &[
            (AmendedField::TargetValue, "1000000", "homes"),
            (AmendedField::Comparator, "at_most", "decisions"),
        ],
    )
    .expect_accept();
}

#[test]
fn a_commitment_without_named_indicators_takes_target_changes_that_name_none() {
    let mut log = Log::with_pledges();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    let message = log
        .amend(
            AmendmentClass::TargetChange,
            &[(AmendedField::TargetValue, "90", "main")],
        )
        .expect_reject(RejectCode::UnknownIndicator);
    assert_eq!(
        message,
        "commitment c-1 has no indicator main; it names none"
    );
    log.amend(
        AmendmentClass::TargetChange,
        &[(AmendedField::TargetValue, "90", "")],
    )
    .expect_accept();
}

#[test]
fn links_and_sources_are_absolute_web_urls() {
    let mut log = Log::new();
    for url in [
        "a;b",
        "not a url at all",
        "www.gov.uk/x",
        "ftp://gov.uk/x",
        "https://gov .uk",
    ] {
        let message = log
            .emit(
                DCMS,
                "dcms-1",
                made_with(|m| {
                    m.evidence = vec![Link {
                        title: "t".into(),
                        url: url.into(),
                        kind: 0,
                    }]
                }),
            )
            .expect_reject(RejectCode::InvalidField);
        assert!(
            message.starts_with("commitment_made.evidence[0].url"),
            "{message}"
        );
        let message = log
            .emit(
                DCMS,
                "dcms-1",
                made_with(|m| {
                    m.sources = vec![Source {
                        kind: SourceKind::Speech as i32,
                        title: "t".into(),
                        url: url.into(),
                    }]
                }),
            )
            .expect_reject(RejectCode::InvalidField);
        assert!(
            message.starts_with("commitment_made.sources[0].url"),
            "{message}"
        );
    }
    log.emit(
        DCMS,
        "dcms-1",
        made_with(|m| {
            m.sources = vec![
                Source {
                    kind: SourceKind::Manifesto as i32,
                    title: "Manifesto".into(),
                    url: "https://labour.org.uk/manifesto".into(),
                },
                // A speech may have no page.
                Source {
                    kind: SourceKind::Speech as i32,
                    title: "Speech".into(),
                    url: String::new(),
                },
            ];
            m.evidence = vec![Link {
                title: "Plan".into(),
                url: "https://www.gov.uk/missions?x=1#homes".into(),
                kind: SourceKind::PolicyPaper as i32,
            }];
        }),
    )
    .expect_accept();
}

#[test]
fn url_rule_boundaries() {
    use crate::event::{MAX_URL_BYTES, is_valid_url};
    for good in [
        "https://www.gov.uk",
        "http://localhost:8080/x",
        "https://a.b/path;param?q=1&r=%20#frag",
        "https://x-y.example.org:443",
    ] {
        assert!(is_valid_url(good), "{good}");
    }
    for bad in [
        "",
        "https://",
        "https://nodot",
        "https://.gov.uk",
        "https://gov.uk.",
        "https://gov..uk",
        "https://-gov.uk",
        "https://gov.uk:",
        "https://gov.uk:123456",
        "https://gov.uk:8a",
        "https://gov.uk/a b",
        "https://gov.uk/<script>",
        "https://gov.uk/a|b",
        "https://gov.uk/é",
        "HTTPS://gov.uk",
        "https://gov_uk.org",
    ] {
        assert!(!is_valid_url(bad), "{bad}");
    }
    let prefix = "https://gov.uk/";
    let longest = format!("{prefix}{}", "a".repeat(MAX_URL_BYTES - prefix.len()));
    assert!(is_valid_url(&longest));
    assert!(!is_valid_url(&format!("{longest}a")));
}

#[test]
fn an_assessment_may_name_only_the_commitment_and_state_a_verdict() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    let assessment = |verdict: i32| {
        Kind::AssessmentPublished(AssessmentPublished {
            commitment_id: "c-1".into(),
            stance: Stance::Disputes as i32,
            summary: "Only half the homes were built.".into(),
            assessed_verdict: verdict,
            ..Default::default()
        })
    };
    let message = log
        .emit(
            WATCHDOG,
            "watch-1",
            assessment(Verdict::PartlyDelivered as i32),
        )
        .expect_reject(RejectCode::UnknownOutcome);
    assert!(message.contains("has no outcome yet"), "{message}");
    log.emit(DCMS, "dcms-1", outcome("c-1")).expect_accept();
    log.emit(
        WATCHDOG,
        "watch-1",
        assessment(Verdict::PartlyDelivered as i32),
    )
    .expect_accept();
    log.emit(WATCHDOG, "watch-1", assessment(0)).expect_accept();
    log.emit(WATCHDOG, "watch-1", assessment(9))
        .expect_reject(RejectCode::InvalidField);
}

#[test]
fn a_public_body_adopts_an_open_pledge_and_answers_for_it() {
    let mut log = Log::with_pledges();
    log.commit(MP, "mp-1", "pledge").expect_accept();
    log.commit(MP, "mp-1", "pledge-done").expect_accept();
    log.emit(MP, "mp-1", outcome("pledge-done")).expect_accept();
    log.commit(DHSC, "dhsc-1", "dept").expect_accept();
    let adopt = |id: &str| {
        Kind::CommitmentAdopted(CommitmentAdopted {
            commitment_id: id.into(),
            adopted_on: "2026-01-10".into(),
            note: String::new(),
        })
    };
    // Only pledges of candidates and parties; only by public bodies; only while open.
    log.emit(DCMS, "dcms-1", adopt("dept"))
        .expect_reject(RejectCode::NotAdoptable);
    log.emit(WATCHDOG, "watch-1", adopt("pledge"))
        .expect_reject(RejectCode::UnauthorisedKey);
    log.emit(DCMS, "dcms-1", adopt("pledge-done"))
        .expect_reject(RejectCode::NotAdoptable);
    log.emit(DCMS, "dcms-1", adopt("missing"))
        .expect_reject(RejectCode::UnknownCommitment);
    log.emit(DCMS, "dcms-1", adopt("pledge")).expect_accept();
    assert_eq!(log.state.commitments["pledge"].owner, DCMS);
    // Adopted once: it now belongs to a department, not a candidate.
    log.emit(MHCLG, "mhclg-1", adopt("pledge"))
        .expect_reject(RejectCode::NotAdoptable);
    log.emit(MP, "mp-1", outcome("pledge"))
        .expect_reject(RejectCode::ForeignCommitment);
    log.emit(DCMS, "dcms-1", outcome("pledge")).expect_accept();
}

#[test]
fn only_public_bodies_adopt() {
    let mut log = Log::with_pledges();
    log.commit(MP, "mp-1", "pledge").expect_accept();
    log.registry(Kind::ActorRegistered(ActorRegistered {
        actor_id: "GB-CHC-2".into(),
        name: "A charity".into(),
        kind: ActorKind::CivilSociety as i32,
        ..Default::default()
    }))
    .expect_accept();
    log.grant("chc-2", "GB-CHC-2", 7, vec![KeyRole::Emitter])
        .expect_accept();
    let message = log
        .emit(
            "GB-CHC-2",
            "chc-2",
            Kind::CommitmentAdopted(CommitmentAdopted {
                commitment_id: "pledge".into(),
                adopted_on: "2026-01-10".into(),
                note: String::new(),
            }),
        )
        .expect_reject(RejectCode::NotAdoptable);
    assert!(message.contains("not a public body"), "{message}");
}

#[test]
fn an_action_lists_each_commitment_once() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    let message = log
        .emit(DCMS, "dcms-1", action("a-1", &["c-1", "c-1"]))
        .expect_reject(RejectCode::InvalidField);
    assert!(
        message.starts_with("action_recorded.commitment_ids[1]: \"c-1\" is listed twice"),
        "{message}"
    );
    log.emit(DCMS, "dcms-1", action("a-1", &["c-1"]))
        .expect_accept();
}

/// Re-encodings of a genuine signed envelope that decode to the same field values: what
/// anyone without the key can make from it.
fn alterations(envelope: &Envelope) -> Vec<(&'static str, Vec<u8>)> {
    let canonical = envelope.encode_to_vec();
    let appended = |extra: &[u8]| [canonical.as_slice(), extra].concat();
    let only = |edit: fn(&mut Envelope)| {
        let mut part = Envelope::default();
        edit(&mut part);
        part
    };
    let signature_first = [
        Envelope {
            signature: envelope.signature.clone(),
            ..Default::default()
        }
        .encode_to_vec(),
        Envelope {
            signature: vec![],
            ..envelope.clone()
        }
        .encode_to_vec(),
    ]
    .concat();
    let mut actor_again = only(|_| {});
    actor_again.actor = envelope.actor.clone();
    // occurred_at_ms (field 3) written with a needless continuation byte.
    let long_varint = {
        let mut varint = vec![];
        prost::encoding::encode_varint(envelope.occurred_at_ms as u64, &mut varint);
        let last = varint.len() - 1;
        varint[last] |= 0x80;
        varint.push(0);
        let field = |value: &[u8]| [&[0x18u8][..], value].concat();
        let mut short = vec![];
        prost::encoding::encode_varint(envelope.occurred_at_ms as u64, &mut short);
        let at = canonical
            .windows(short.len() + 1)
            .position(|window| window == field(&short).as_slice())
            .expect("occurred_at_ms is in the envelope");
        [
            &canonical[..at],
            field(&varint).as_slice(),
            &canonical[at + 1 + short.len()..],
        ]
        .concat()
    };
    vec![
        ("an unknown field appended", appended(&[0x78, 0x01])),
        (
            "an unknown length-delimited field appended",
            appended(&[0xa2, 0x06, 0x02, b'h', b'i']),
        ),
        (
            "a header field repeated",
            appended(&actor_again.encode_to_vec()),
        ),
        ("fields out of order", signature_first),
        ("a longer varint", long_varint),
    ]
}

#[test]
fn a_third_party_cannot_alter_a_signed_envelope_and_is_never_taken_for_its_signer() {
    let mut log = Log::new();
    let id = log.fresh_id();
    let envelope = seal(
        header(&id, DCMS, "dcms-1"),
        commitment("c-1"),
        &log.keys["dcms-1"],
    );
    let variants = alterations(&envelope);
    // Each alteration decodes to exactly the genuine envelope's values, so before the rule the
    // signature would have verified.
    for (what, bytes) in &variants {
        assert_eq!(
            &Envelope::decode(bytes.as_slice()).unwrap(),
            &envelope,
            "{what}"
        );
        assert_ne!(bytes, &envelope.encode_to_vec(), "{what}");
    }
    // Refused before the genuine one is in the log...
    for (what, bytes) in &variants {
        let message = log
            .submit_bytes(bytes, NOW_NS)
            .expect_reject(RejectCode::NonCanonical);
        assert!(message.contains("canonical"), "{what}: {message}");
    }
    log.submit_envelope(&envelope).expect_accept();
    // ...and after it: never recorded as equivocation against the innocent signer.
    for (what, bytes) in &variants {
        let decision = log.submit_bytes(bytes, NOW_NS);
        assert!(
            matches!(&decision, Decision::Reject(r) if r.code == RejectCode::NonCanonical),
            "{what}: {decision:?}"
        );
    }
}

/// An envelope for `body` bytes as given, signed by DCMS's key: what only the key holder can
/// make.
fn signed_with_body(log: &mut Log, body: Vec<u8>) -> Envelope {
    let id = log.fresh_id();
    let signer = log.keys["dcms-1"].clone();
    let mut envelope = seal(header(&id, DCMS, "dcms-1"), commitment("unused"), &signer);
    envelope.body = body;
    let input = crate::signing::signing_input(
        &envelope.event_id,
        &envelope.actor,
        envelope.occurred_at_ms,
        &envelope.key_id,
        &envelope.body,
    );
    envelope.signature = signer.sign(&input).to_vec();
    envelope
}

#[test]
fn a_body_must_be_canonical_too() {
    let mut log = Log::new();
    let body = |kind: Kind| EventBody { kind: Some(kind) }.encode_to_vec();
    // Two event kinds in one body: a decoder keeping the last would read a withdrawal.
    let two_kinds = [body(commitment("c-1")), body(withdrawal("c-1"))].concat();
    // due_by (field 6 of CommitmentMade) written as an empty string: a default value written out.
    let mut made = CommitmentMade::default();
    if let Kind::CommitmentMade(genuine) = commitment("c-2") {
        made = CommitmentMade {
            due_by: String::new(),
            ..genuine
        };
    }
    let padded_made = [made.encode_to_vec(), vec![0x32, 0x00]].concat();
    let mut padded = vec![0x52];
    prost::encoding::encode_varint(padded_made.len() as u64, &mut padded);
    padded.extend(&padded_made);
    assert_eq!(
        EventBody::decode(padded.as_slice()).unwrap(),
        EventBody {
            kind: Some(Kind::CommitmentMade(made.clone()))
        }
    );
    for bytes in [two_kinds, padded] {
        let envelope = signed_with_body(&mut log, bytes);
        let message = log
            .submit_envelope(&envelope)
            .expect_reject(RejectCode::NonCanonical);
        assert!(message.contains("body"), "{message}");
    }
    // The same commitment canonically encoded and signed is accepted.
    let envelope = signed_with_body(&mut log, body(Kind::CommitmentMade(made)));
    log.submit_envelope(&envelope).expect_accept();
}

#[test]
fn event_ids_have_one_spelling() {
    let mut log = Log::new();
    let signer = log.keys["dcms-1"].clone();
    for (id, ok) in [
        ("01JDQ7Z6X5K3T9V2B8N4M1P0QR", true),
        ("01jdq7z6x5k3t9v2b8n4m1p0qr", false),
        ("01JDQ7Z6X5K3T9V2B8N4M1P0QL", false),
        ("01JDQ7Z6X5K3T9V2B8N4M1P0QI", false),
        ("81JDQ7Z6X5K3T9V2B8N4M1P0QR", false),
        ("01937e9c-3b4a-7c1d-8e2f-0123456789ab", true),
        ("01937E9C-3B4A-7C1D-8E2F-0123456789AB", false),
        ("01937e9c-3b4a-7c1d-ce2f-0123456789ab", false),
        ("01937e9c-3b4a-4c1d-8e2f-0123456789ab", false),
        ("01937e9c03b4a-7c1d-8e2f-0123456789ab", false),
    ] {
        let envelope = seal(header(id, DCMS, "dcms-1"), commitment(id), &signer);
        accepted_or_names_field(log.submit_envelope(&envelope), ok, "event_id:");
    }
}

#[test]
fn occurred_at_is_between_1970_and_the_end_of_9999() {
    let mut log = Log::new();
    let signer = log.keys["dcms-1"].clone();
    let late = crate::event::MAX_OCCURRED_AT_MS;
    for (at, stored_at_ns, expected) in [
        (-1, NOW_NS, Some(RejectCode::InvalidField)),
        (0, NOW_NS, None),
        // The last millisecond of 9999 passes the field rule; no broker time (u64 nanoseconds
        // end in 2554) is late enough for it to pass the future rule.
        (late, u64::MAX, Some(RejectCode::FutureTimestamp)),
        (late + 1, u64::MAX, Some(RejectCode::InvalidField)),
    ] {
        let id = log.fresh_id();
        let mut head = header(&id, DCMS, "dcms-1");
        head.occurred_at_ms = at;
        let commitment_id = format!("c-{id}");
        let bytes = seal(head, commitment(&commitment_id), &signer).encode_to_vec();
        match expected {
            None => {
                log.submit_bytes(&bytes, stored_at_ns).expect_accept();
            }
            Some(code) => {
                let message = log.submit_bytes(&bytes, stored_at_ns).expect_reject(code);
                let names_the_field = message.starts_with("occurred_at_ms:");
                assert_eq!(
                    names_the_field,
                    code == RejectCode::InvalidField,
                    "{message}"
                );
            }
        }
    }
}

#[test]
fn the_future_limit_is_ten_minutes_after_the_storage_millisecond() {
    let mut log = Log::new();
    let signer = log.keys["dcms-1"].clone();
    // Storage at the last nanosecond of a millisecond still counts as that millisecond.
    let stored_at_ns = NOW_NS + 999_999;
    let now_ms = (NOW_NS / 1_000_000) as i64;
    for (ahead, accepted) in [(MAX_FUTURE_SKEW_MS, true), (MAX_FUTURE_SKEW_MS + 1, false)] {
        let id = log.fresh_id();
        let mut head = header(&id, DCMS, "dcms-1");
        head.occurred_at_ms = now_ms + ahead;
        let bytes = seal(head, commitment(&format!("c-{ahead}")), &signer).encode_to_vec();
        let decision = log.submit_bytes(&bytes, stored_at_ns);
        if accepted {
            decision.expect_accept();
        } else {
            decision.expect_reject(RejectCode::FutureTimestamp);
        }
    }
}

#[test]
fn dates_are_gregorian_from_1900_to_9999() {
    let mut log = Log::new();
    for (made_on, ok) in [
        ("1900-01-01", true),
        ("9999-12-31", true),
        ("1899-12-31", false),
        ("0000-01-01", false),
        ("2024-02-29", true),
        ("2100-02-29", false),
    ] {
        let kind = made_with(|made| {
            made.made_on = made_on.into();
            made.due_by = String::new();
            made.commitment_id = format!("c-{made_on}");
        });
        accepted_or_names_field(
            log.emit(DCMS, "dcms-1", kind),
            ok,
            "commitment_made.made_on",
        );
    }
}

#[test]
fn themes_are_hyphenated_lower_case_words() {
    let mut log = Log::new();
    let longest = "a".repeat(crate::event::MAX_THEME_CHARS);
    let too_long = "a".repeat(crate::event::MAX_THEME_CHARS + 1);
    for (theme, ok) in [
        ("civil-society", true),
        ("data2026", true),
        (longest.as_str(), true),
        (too_long.as_str(), false),
        ("Civil", false),
        ("civil society", false),
        ("civil--society", false),
        ("-civil", false),
        ("civil-", false),
        ("économie", false),
        ("civil_society", false),
        ("", false),
    ] {
        let kind = made_with(|made| {
            made.themes = vec![theme.to_owned()];
            made.commitment_id = format!("c-{}", log_safe(theme));
        });
        accepted_or_names_field(
            log.emit(DCMS, "dcms-1", kind),
            ok,
            "commitment_made.themes[0]",
        );
    }
}

/// Accepted when `ok`, else refused as `invalid_field` with a message naming `field`.
fn accepted_or_names_field(decision: Decision, ok: bool, field: &str) {
    if ok {
        decision.expect_accept();
    } else {
        let message = decision.expect_reject(RejectCode::InvalidField);
        assert!(message.contains(field), "{message}");
    }
}

/// A commitment id made from any text.
fn log_safe(text: &str) -> String {
    format!("{:x}", crate::event::envelope_digest(text.as_bytes())[0]) + &text.len().to_string()
}

#[test]
fn target_numbers_have_one_decimal_syntax() {
    for (text, ok) in [
        ("95", true),
        ("-0.5", true),
        ("0", true),
        ("0.25", true),
        ("12345678901234567890123456789012", true),
        ("123456789012345678901234567890123", false),
        ("1e3", false),
        ("1_000", false),
        ("+5", false),
        (".5", false),
        ("5.", false),
        ("007", false),
        ("-", false),
        ("1,000", false),
        (" 5", false),
        ("inf", false),
        ("NaN", false),
        ("", false),
    ] {
        assert_eq!(crate::event::is_valid_number(text), ok, "{text:?}");
    }
    let mut log = Log::new();
    let message = log
        .amend(
            AmendmentClass::TargetChange,
            &[(AmendedField::TargetValue, "", "1e3")],
        )
        .expect_reject(RejectCode::InvalidField);
    assert!(message.contains("new_value"), "{message}");
}

#[test]
fn money_is_in_an_iso_4217_currency() {
    let mut log = Log::new();
    log.commit(DCMS, "dcms-1", "c-1").expect_accept();
    for (currency, ok) in [("GBP", true), ("EUR", true), ("GPB", false), ("gbp", false)] {
        let mut kind = action(&format!("a-{currency}"), &["c-1"]);
        if let Kind::ActionRecorded(recorded) = &mut kind {
            recorded.money = Some(Money {
                amount_minor: 100,
                currency: currency.into(),
                stage: MoneyStage::Pledged as i32,
            });
        }
        accepted_or_names_field(log.emit(DCMS, "dcms-1", kind), ok, "money.currency");
    }
}

#[test]
fn the_registrar_actor_is_reserved() {
    let mut log = Log::new();
    let message = log
        .registry(Kind::ActorRegistered(ActorRegistered {
            actor_id: REGISTRAR.into(),
            name: "An impostor".into(),
            kind: ActorKind::Department as i32,
            ..Default::default()
        }))
        .expect_reject(RejectCode::ActorExists);
    assert!(message.contains("registrar"), "{message}");
}
