//! `envelopes.json`: envelopes and what the validation rules decide about each, after a given
//! log (SPEC sections 2 and 8). Every case states the answer it was written to show; the
//! generator refuses to write a case on which the reference implementation disagrees.

use crate::replay::{Replay, rejected_field, verdict};
use crate::{Failures, hex_list, json_u64, read_hex, read_u64};
use covenant_core::proto::{self, Envelope, EventBody, event_body::Kind};
use covenant_core::signing::{EnvelopeHeader, EventSigner, seal, signing_input};
use covenant_core::validate::genesis_envelope;
use prost::Message;
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z: the base log's first storage time.
const T0_NS: u64 = 1_767_225_600_000_000_000;
const REGISTRAR: &str = "covenant-registrar";
const DCMS: &str = "GB-GOV-DCMS";
const DHSC: &str = "GB-GOV-DHSC";
const WATCHDOG: &str = "GB-CHC-1000001";
const MP: &str = "GB-MP-4242";

/// The signers of the vectors' logs, from fixed seeds.
struct Keys {
    registrar: EventSigner,
    dcms: EventSigner,
    dhsc: EventSigner,
    watchdog: EventSigner,
    mp: EventSigner,
    dcms_old: EventSigner,
    stranger: EventSigner,
}

impl Keys {
    fn new() -> Self {
        let seed = |byte: u8| EventSigner::from_seed([byte; 32]);
        Self {
            registrar: seed(0x52),
            dcms: seed(0x11),
            dhsc: seed(0x12),
            watchdog: seed(0x13),
            mp: seed(0x14),
            dcms_old: seed(0x15),
            stranger: seed(0x99),
        }
    }

    fn for_key_id(&self, key_id: &str) -> &EventSigner {
        match key_id {
            "registrar-1" => &self.registrar,
            "dcms-1" => &self.dcms,
            "dhsc-1" => &self.dhsc,
            "watch-1" => &self.watchdog,
            "mp-1" => &self.mp,
            "dcms-old" => &self.dcms_old,
            _ => &self.stranger,
        }
    }
}

/// Builds the base log and the cases against it.
struct Builder {
    keys: Keys,
    log: Replay,
    next_id: u64,
    /// Event ids of base-log entries worth referring to, by name.
    ids: Vec<(&'static str, String)>,
    /// Envelopes of base-log entries, by name.
    envelopes: Vec<(&'static str, Envelope)>,
}

/// The storage time of the entry after the base log, and of every case.
fn case_time() -> u64 {
    T0_NS + 3_600_000_000_000
}

fn occurred_at(stored_at_ns: u64) -> i64 {
    (stored_at_ns / 1_000_000) as i64 - 60_000
}

impl Builder {
    fn new() -> Self {
        Self {
            keys: Keys::new(),
            log: Replay::default(),
            next_id: 0,
            ids: vec![],
            envelopes: vec![],
        }
    }

    /// A fresh ULID-shaped event id.
    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("01KC{:022}", self.next_id)
    }

    fn id(&self, name: &str) -> String {
        self.ids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("no base entry {name}"))
    }

    fn envelope_named(&self, name: &str) -> Envelope {
        self.envelopes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| panic!("no base entry {name}"))
    }

    /// A signed envelope of `kind` by `actor` with `key_id`'s key, stored at the case time.
    fn signed(&mut self, actor: &str, key_id: &str, kind: Kind) -> Envelope {
        let id = self.fresh_id();
        self.signed_as(&id, actor, key_id, kind)
    }

    fn signed_as(&self, event_id: &str, actor: &str, key_id: &str, kind: Kind) -> Envelope {
        seal(
            EnvelopeHeader {
                event_id,
                actor,
                occurred_at_ms: occurred_at(T0_NS),
                key_id,
            },
            kind,
            self.keys.for_key_id(key_id),
        )
    }

    fn registry(&mut self, kind: Kind) -> Envelope {
        self.signed(REGISTRAR, "registrar-1", kind)
    }

    /// Append to the base log; it must be accepted.
    fn push(&mut self, name: &'static str, envelope: Envelope) {
        let stored_at_ns = T0_NS + self.log.entries().len() as u64 * 1_000_000;
        let decision = self.log.append(&envelope.encode_to_vec(), stored_at_ns);
        assert_eq!(
            verdict(&decision),
            "accept",
            "base entry {name}: {decision:?}"
        );
        self.ids.push((name, envelope.event_id.clone()));
        self.envelopes.push((name, envelope));
    }
}

fn registered(actor_id: &str, kind: proto::ActorKind) -> Kind {
    Kind::ActorRegistered(proto::ActorRegistered {
        actor_id: actor_id.into(),
        name: format!("{actor_id} (vectors)"),
        kind: kind as i32,
        ..Default::default()
    })
}

fn granted(key_id: &str, signer: &EventSigner, actor_id: &str, role: proto::KeyRole) -> Kind {
    Kind::KeyGranted(proto::KeyGranted {
        key_id: key_id.into(),
        public_key: signer.public_key().to_vec(),
        actor_id: actor_id.into(),
        roles: vec![role as i32],
    })
}

fn made(commitment_id: &str) -> proto::CommitmentMade {
    proto::CommitmentMade {
        commitment_id: commitment_id.into(),
        title: "Joint council with civil society".into(),
        text: "We will set up a joint council with civil society within a year.".into(),
        made_on: "2025-07-17".into(),
        due_by: "2026-07-17".into(),
        themes: vec!["community".into(), "civil-society".into()],
        ..Default::default()
    }
}

fn commitment(commitment_id: &str) -> Kind {
    Kind::CommitmentMade(made(commitment_id))
}

fn commitment_with(commitment_id: &str, edit: impl FnOnce(&mut proto::CommitmentMade)) -> Kind {
    let mut made = made(commitment_id);
    edit(&mut made);
    Kind::CommitmentMade(made)
}

fn places_indicator() -> proto::Indicator {
    proto::Indicator {
        indicator_id: "places".into(),
        measure: "Council places held by charities".into(),
        unit: "places".into(),
        higher_is_better: true,
        baseline_value: Some(40.0),
        baseline_date: "2025-07-01".into(),
        target_value: Some(100.0),
        comparator: proto::Comparator::AtLeast as i32,
        deadline: "2026-07-17".into(),
        ..Default::default()
    }
}

fn action(action_id: &str, commitment_ids: &[&str]) -> proto::ActionRecorded {
    proto::ActionRecorded {
        action_id: action_id.into(),
        commitment_ids: commitment_ids.iter().map(|id| id.to_string()).collect(),
        r#type: proto::ActionType::Funding as i32,
        taken_on: "2026-02-01".into(),
        description: "Grant to the council secretariat".into(),
        ..Default::default()
    }
}

fn outcome(commitment_id: &str) -> proto::OutcomeReported {
    proto::OutcomeReported {
        commitment_id: commitment_id.into(),
        verdict: proto::Verdict::Delivered as i32,
        reported_on: "2026-06-01".into(),
        summary: "The council met four times.".into(),
        ..Default::default()
    }
}

fn amendment(class: proto::AmendmentClass, changes: &[(proto::AmendedField, &str, &str)]) -> Kind {
    Kind::CommitmentAmended(proto::CommitmentAmended {
        commitment_id: "c-open".into(),
        class: class as i32,
        rationale: "Spending review settlement".into(),
        changes: changes
            .iter()
            .map(|(field, indicator_id, value)| proto::FieldChange {
                field: *field as i32,
                new_value: (*value).into(),
                indicator_id: (*indicator_id).into(),
            })
            .collect(),
        ..Default::default()
    })
}

fn link(url: &str) -> proto::Link {
    proto::Link {
        title: "Evidence".into(),
        url: url.into(),
        kind: 0,
    }
}

/// The base log: genesis, a registry of five actors, and commitments in every state.
fn base_log(b: &mut Builder) {
    let genesis = genesis_envelope(proto::Genesis {
        origin: "covenant.example/log".into(),
        registrar_actor: REGISTRAR.into(),
        registrars: vec![proto::RegistrarKey {
            key_id: "registrar-1".into(),
            public_key: b.keys.registrar.public_key().to_vec(),
        }],
        description: "Conformance vectors".into(),
    });
    let genesis_bytes = genesis.encode_to_vec();
    let decision = b.log.append(&genesis_bytes, 0);
    assert_eq!(verdict(&decision), "accept", "{decision:?}");
    b.envelopes.push(("genesis", genesis));
    use proto::ActorKind as A;
    use proto::KeyRole as R;
    let (dcms, dhsc, watchdog, mp, old) = (
        b.keys.dcms.clone(),
        b.keys.dhsc.clone(),
        b.keys.watchdog.clone(),
        b.keys.mp.clone(),
        b.keys.dcms_old.clone(),
    );
    for (name, kind) in [
        ("register-dcms", registered(DCMS, A::Department)),
        ("grant-dcms", granted("dcms-1", &dcms, DCMS, R::Emitter)),
        ("register-dhsc", registered(DHSC, A::Department)),
        ("grant-dhsc", granted("dhsc-1", &dhsc, DHSC, R::Emitter)),
        ("register-watchdog", registered(WATCHDOG, A::Watchdog)),
        (
            "grant-watchdog",
            granted("watch-1", &watchdog, WATCHDOG, R::Assessor),
        ),
        ("register-mp", registered(MP, A::Mp)),
        ("grant-mp", granted("mp-1", &mp, MP, R::Emitter)),
        (
            "grant-dcms-old",
            granted("dcms-old", &old, DCMS, R::Emitter),
        ),
        (
            "revoke-dcms-old",
            Kind::KeyRevoked(proto::KeyRevoked {
                key_id: "dcms-old".into(),
                reason: "rotated".into(),
            }),
        ),
    ] {
        let envelope = b.registry(kind);
        b.push(name, envelope);
    }
    let open = commitment_with("c-open", |made| {
        made.indicators = vec![places_indicator()];
        made.delivery_partners = vec![DHSC.into()];
    });
    let steps: Vec<(&'static str, &str, &str, Kind)> = vec![
        ("make-c-open", DCMS, "dcms-1", open),
        (
            "make-c-withdrawn",
            DCMS,
            "dcms-1",
            commitment("c-withdrawn"),
        ),
        (
            "withdraw-c-withdrawn",
            DCMS,
            "dcms-1",
            Kind::CommitmentWithdrawn(proto::CommitmentWithdrawn {
                commitment_id: "c-withdrawn".into(),
                reason: "Dropped in the spending review".into(),
            }),
        ),
        ("make-c-done", DCMS, "dcms-1", commitment("c-done")),
        (
            "outcome-c-done",
            DCMS,
            "dcms-1",
            Kind::OutcomeReported(outcome("c-done")),
        ),
        ("make-mp-pledge", MP, "mp-1", commitment("mp-pledge")),
        (
            "action-a-1",
            DCMS,
            "dcms-1",
            Kind::ActionRecorded(action("a-1", &["c-open"])),
        ),
        ("make-c-mistake", DCMS, "dcms-1", commitment("c-mistake")),
    ];
    for (name, actor, key_id, kind) in steps {
        let envelope = b.signed(actor, key_id, kind);
        b.push(name, envelope);
    }
    let mistake = b.id("make-c-mistake");
    let retraction = b.signed(
        DCMS,
        "dcms-1",
        Kind::Retraction(proto::Retraction {
            event_id: mistake,
            reason: "Published in error".into(),
        }),
    );
    b.push("retract-c-mistake", retraction);
}

/// One case: an envelope and the answer it must get.
struct Case {
    name: &'static str,
    why: &'static str,
    log: &'static str,
    stored_at_ns: u64,
    envelope: Vec<u8>,
    expect: &'static str,
}

fn case(name: &'static str, why: &'static str, envelope: Vec<u8>, expect: &'static str) -> Case {
    Case {
        name,
        why,
        log: "base",
        stored_at_ns: case_time(),
        envelope,
        expect,
    }
}

/// Re-sign `envelope` after changing its body bytes: what only the key holder can make.
fn resigned_with_body(b: &Builder, mut envelope: Envelope, body: Vec<u8>) -> Vec<u8> {
    envelope.body = body;
    let input = signing_input(
        &envelope.event_id,
        &envelope.actor,
        envelope.occurred_at_ms,
        &envelope.key_id,
        &envelope.body,
    );
    envelope.signature = b.keys.for_key_id(&envelope.key_id).sign(&input).to_vec();
    envelope.encode_to_vec()
}

/// A protobuf field record: tag then payload.
fn record(field: u32, wire_type: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    prost::encoding::encode_varint(u64::from(field << 3 | wire_type), &mut out);
    out.extend_from_slice(payload);
    out
}

fn length_delimited(field: u32, bytes: &[u8]) -> Vec<u8> {
    let mut payload = vec![];
    prost::encoding::encode_varint(bytes.len() as u64, &mut payload);
    payload.extend_from_slice(bytes);
    record(field, 2, &payload)
}

fn varint(field: u32, value: u64) -> Vec<u8> {
    let mut payload = vec![];
    prost::encoding::encode_varint(value, &mut payload);
    record(field, 0, &payload)
}

/// The envelope written field by field in the given order, each as protobuf writes it.
fn envelope_fields(envelope: &Envelope, order: [u32; 6]) -> Vec<u8> {
    order
        .iter()
        .flat_map(|field| match field {
            1 => length_delimited(1, envelope.event_id.as_bytes()),
            2 => length_delimited(2, envelope.actor.as_bytes()),
            3 => varint(3, envelope.occurred_at_ms as u64),
            4 => length_delimited(4, envelope.key_id.as_bytes()),
            5 => length_delimited(5, &envelope.body),
            _ => length_delimited(6, &envelope.signature),
        })
        .collect()
}

fn body_of(kind: Kind) -> Vec<u8> {
    EventBody { kind: Some(kind) }.encode_to_vec()
}

fn encoding_cases(b: &mut Builder) -> Vec<Case> {
    let genuine = b.envelope_named("make-c-open");
    let canonical = genuine.encode_to_vec();
    assert_eq!(envelope_fields(&genuine, [1, 2, 3, 4, 5, 6]), canonical);
    let long_time = {
        let mut out = envelope_fields(&genuine, [1, 2, 3, 4, 5, 6]);
        let time = varint(3, genuine.occurred_at_ms as u64);
        let at = out
            .windows(time.len())
            .position(|w| w == time.as_slice())
            .expect("the time record is there");
        let mut long = time.clone();
        let last = long.len() - 1;
        long[last] |= 0x80;
        long.push(0);
        out.splice(at..at + time.len(), long);
        out
    };
    let fresh = b.signed(DCMS, "dcms-1", commitment("c-encoding"));
    let unpacked_roles = {
        let grant = proto::KeyGranted {
            key_id: "dcms-2".into(),
            public_key: b.keys.stranger.public_key().to_vec(),
            actor_id: DCMS.into(),
            roles: vec![],
        };
        let inner = [grant.encode_to_vec(), varint(4, 1)].concat();
        length_delimited(3, &inner)
    };
    let registry = b.registry(granted(
        "dcms-2",
        &b.keys.stranger.clone(),
        DCMS,
        proto::KeyRole::Emitter,
    ));
    let explicit_empty_due_by = {
        let made = proto::CommitmentMade {
            due_by: String::new(),
            ..made("c-explicit")
        };
        let inner = [made.encode_to_vec(), length_delimited(6, b"")].concat();
        length_delimited(10, &inner)
    };
    let mut bad_utf8 = genuine.clone();
    bad_utf8.actor = String::new();
    let bad_utf8 = [
        bad_utf8.encode_to_vec(),
        length_delimited(2, b"GB-GOV-\xff"),
    ]
    .concat();
    vec![
        case(
            "duplicate-same-bytes",
            "The same envelope bytes as an entry already in the log: acknowledged, never appended twice.",
            canonical.clone(),
            "duplicate",
        ),
        case(
            "non-canonical-unknown-field",
            "A genuine signed envelope with an unknown field appended decodes to the same values, so the signature still verifies; only the canonical rule refuses it, and it is not equivocation.",
            [canonical.clone(), varint(15, 1)].concat(),
            "non_canonical",
        ),
        case(
            "non-canonical-repeated-field",
            "A genuine envelope with its actor field written twice (a decoder keeps the last): not canonical, not equivocation.",
            [
                canonical.clone(),
                length_delimited(2, genuine.actor.as_bytes()),
            ]
            .concat(),
            "non_canonical",
        ),
        case(
            "non-canonical-reordered-fields",
            "A genuine envelope with its signature field first: fields must be in field-number order.",
            envelope_fields(&genuine, [6, 1, 2, 3, 4, 5]),
            "non_canonical",
        ),
        case(
            "non-canonical-long-varint",
            "A genuine envelope with occurred_at_ms written in one byte more than needed: varints are minimal.",
            long_time,
            "non_canonical",
        ),
        case(
            "non-canonical-default-written",
            "A body writing commitment_made.due_by as an empty string (a default value written out), signed by the key holder.",
            resigned_with_body(b, fresh.clone(), explicit_empty_due_by),
            "non_canonical",
        ),
        case(
            "non-canonical-two-event-kinds",
            "A body carrying two event kinds, signed by the key holder: a body has exactly one kind.",
            resigned_with_body(
                b,
                fresh.clone(),
                [
                    body_of(commitment("c-two")),
                    body_of(Kind::CommitmentWithdrawn(proto::CommitmentWithdrawn {
                        commitment_id: "c-open".into(),
                        reason: "Two kinds".into(),
                    })),
                ]
                .concat(),
            ),
            "non_canonical",
        ),
        case(
            "non-canonical-unpacked-repeated-enum",
            "A key grant whose roles are written unpacked: repeated numbers are packed.",
            resigned_with_body(b, registry, unpacked_roles),
            "non_canonical",
        ),
        case(
            "undecodable-garbage",
            "Bytes that are not a protobuf message.",
            vec![0xff, 0xff, 0xff, 0xff],
            "undecodable",
        ),
        case(
            "undecodable-invalid-utf8",
            "A string field that is not UTF-8.",
            bad_utf8,
            "undecodable",
        ),
        case(
            "undecodable-wrong-wire-type",
            "The actor field (a string) written as a varint.",
            [envelope_fields(&genuine, [1, 2, 3, 4, 5, 6]), varint(2, 7)].concat(),
            "undecodable",
        ),
        case(
            "oversized",
            "An envelope of 65 001 bytes: over the limit whatever it holds.",
            {
                let mut big = b.signed(
                    DCMS,
                    "dcms-1",
                    commitment_with("c-big", |made| made.text = "x".repeat(66_000)),
                );
                big.signature = vec![0; 64];
                let mut bytes = big.encode_to_vec();
                bytes.truncate(65_001);
                bytes
            },
            "oversized",
        ),
    ]
}

/// Cases whose envelope is a fresh event by `actor` with `key_id`.
fn signed_case(
    b: &mut Builder,
    name: &'static str,
    why: &'static str,
    actor: &str,
    key_id: &str,
    kind: Kind,
    expect: &'static str,
) -> Case {
    let envelope = b.signed(actor, key_id, kind).encode_to_vec();
    case(name, why, envelope, expect)
}

fn header_cases(b: &mut Builder) -> Vec<Case> {
    let mut cases = vec![];
    for (name, why, event_id, expect) in [
        (
            "event-id-ulid",
            "An upper-case Crockford ULID.",
            "01KCZZZZZZZZZZZZZZZZZZZZZ1",
            "accept",
        ),
        (
            "event-id-uuidv7",
            "A lower-case UUIDv7.",
            "01937e9c-3b4a-7c1d-8e2f-0123456789ab",
            "accept",
        ),
        (
            "event-id-lower-case-ulid",
            "A ULID in lower case: one spelling per id.",
            "01kczzzzzzzzzzzzzzzzzzzzz2",
            "invalid_field",
        ),
        (
            "event-id-crockford-alias",
            "A ULID with the letter L, which Crockford decoders read as 1: refused.",
            "01KCZZZZZZZZZZZZZZZZZZZZZL",
            "invalid_field",
        ),
        (
            "event-id-ulid-overflow",
            "A ULID whose first character is above 7 (more than 128 bits).",
            "81KCZZZZZZZZZZZZZZZZZZZZZ3",
            "invalid_field",
        ),
        (
            "event-id-upper-case-uuid",
            "A UUIDv7 in upper case: one spelling per id.",
            "01937E9C-3B4A-7C1D-8E2F-0123456789AB",
            "invalid_field",
        ),
        (
            "event-id-uuidv4",
            "A UUID of version 4.",
            "01937e9c-3b4a-4c1d-8e2f-0123456789ab",
            "invalid_field",
        ),
        (
            "event-id-uuid-wrong-variant",
            "A UUIDv7 whose variant is not RFC 9562's (c is 110x).",
            "01937e9c-3b4a-7c1d-ce2f-0123456789ab",
            "invalid_field",
        ),
    ] {
        let envelope = b
            .signed_as(event_id, DCMS, "dcms-1", commitment(&format!("c-{name}")))
            .encode_to_vec();
        cases.push(case(name, why, envelope, expect));
    }
    let mut long_actor = b.signed(DCMS, "dcms-1", commitment("c-long-actor"));
    long_actor.actor = "A".repeat(129);
    cases.push(case(
        "actor-id-too-long",
        "Ids are at most 128 characters (checked before the key, so no signature is needed).",
        long_actor.encode_to_vec(),
        "invalid_field",
    ));
    let mut spaced = b.signed(DCMS, "dcms-1", commitment("c-spaced"));
    spaced.actor = "GB GOV DCMS".into();
    cases.push(case(
        "actor-id-with-spaces",
        "Ids are characters of A-Z a-z 0-9 . _ : / - only.",
        spaced.encode_to_vec(),
        "invalid_field",
    ));
    let mut short_signature = b.signed(DCMS, "dcms-1", commitment("c-short-signature"));
    short_signature.signature.truncate(63);
    cases.push(case(
        "signature-63-bytes",
        "A signature must be 64 bytes.",
        short_signature.encode_to_vec(),
        "invalid_field",
    ));
    for (name, why, at, stored_at_ns, expect) in [
        (
            "occurred-at-negative",
            "occurred_at_ms below 0.",
            -1i64,
            case_time(),
            "invalid_field",
        ),
        (
            "occurred-at-zero",
            "occurred_at_ms of 0 (1970) is allowed.",
            0,
            case_time(),
            "accept",
        ),
        (
            "occurred-at-ten-minutes-ahead",
            "Exactly ten minutes after the storage millisecond (storage at its last nanosecond): accepted.",
            (case_time() / 1_000_000) as i64 + 600_000,
            case_time() + 999_999,
            "accept",
        ),
        (
            "occurred-at-too-far-ahead",
            "One millisecond more than ten minutes after the broker stored it.",
            (case_time() / 1_000_000) as i64 + 600_001,
            case_time() + 999_999,
            "future_timestamp",
        ),
        (
            "occurred-at-after-9999",
            "occurred_at_ms after the end of year 9999.",
            253_402_300_800_000,
            u64::MAX,
            "invalid_field",
        ),
    ] {
        let id = b.fresh_id();
        let envelope = seal(
            EnvelopeHeader {
                event_id: &id,
                actor: DCMS,
                occurred_at_ms: at,
                key_id: "dcms-1",
            },
            commitment(&format!("c-{name}")),
            &b.keys.dcms,
        );
        cases.push(Case {
            name,
            why,
            log: "base",
            stored_at_ns,
            envelope: envelope.encode_to_vec(),
            expect,
        });
    }
    cases
}

fn field_cases(b: &mut Builder) -> Vec<Case> {
    use proto::AmendedField as F;
    use proto::AmendmentClass as C;
    let mut cases = vec![];
    let mut made_case =
        |b: &mut Builder, name, why, edit: fn(&mut proto::CommitmentMade), expect| {
            let kind = commitment_with(&format!("c-{name}"), edit);
            cases.push(signed_case(b, name, why, DCMS, "dcms-1", kind, expect));
        };
    made_case(
        b,
        "made-full",
        "A commitment with every optional part: sources, evidence, a named indicator, delivery partners.",
        |made| {
            made.source = Some(proto::Source {
                kind: proto::SourceKind::Covenant as i32,
                title: "Civil Society Covenant".into(),
                url: "https://www.gov.uk/government/publications/civil-society-covenant".into(),
            });
            made.evidence = vec![link("https://www.gov.uk/x?y=1#z")];
            made.indicators = vec![places_indicator()];
            made.delivery_partners = vec![DHSC.into()];
        },
        "accept",
    );
    made_case(
        b,
        "date-1900",
        "The earliest date.",
        |made| made.made_on = "1900-01-01".into(),
        "accept",
    );
    made_case(
        b,
        "date-1899",
        "A date before 1900.",
        |made| made.made_on = "1899-12-31".into(),
        "invalid_field",
    );
    made_case(
        b,
        "date-year-0000",
        "Year 0000.",
        |made| made.made_on = "0000-01-01".into(),
        "invalid_field",
    );
    made_case(
        b,
        "date-not-leap",
        "29 February in a year that is not a leap year (2100).",
        |made| made.due_by = "2100-02-29".into(),
        "invalid_field",
    );
    made_case(
        b,
        "date-leap",
        "29 February 2000: 2000 is a leap year (divisible by 400).",
        |made| {
            made.made_on = "2000-02-29".into();
            made.due_by = String::new();
        },
        "accept",
    );
    made_case(
        b,
        "due-before-made",
        "due_by before made_on.",
        |made| made.due_by = "2025-07-16".into(),
        "invalid_field",
    );
    made_case(
        b,
        "due-on-made",
        "due_by on made_on.",
        |made| made.due_by = "2025-07-17".into(),
        "accept",
    );
    made_case(
        b,
        "blank-title",
        "A title of spaces, a no-break space and an ideographic space is blank.",
        |made| made.title = " \u{a0}\u{3000}\t".into(),
        "invalid_field",
    );
    made_case(
        b,
        "theme-upper-case",
        "Themes are lower case.",
        |made| made.themes = vec!["Community".into()],
        "invalid_field",
    );
    made_case(
        b,
        "theme-double-hyphen",
        "Words in a theme are joined by single hyphens.",
        |made| made.themes = vec!["civil--society".into()],
        "invalid_field",
    );
    made_case(
        b,
        "theme-non-ascii",
        "Themes are ASCII.",
        |made| made.themes = vec!["économie".into()],
        "invalid_field",
    );
    made_case(
        b,
        "url-not-a-url",
        "Evidence must be an absolute http or https URL.",
        |made| made.evidence = vec![link("not a url at all")],
        "invalid_field",
    );
    made_case(
        b,
        "url-no-scheme",
        "A URL without its scheme.",
        |made| made.evidence = vec![link("www.gov.uk/x")],
        "invalid_field",
    );
    made_case(
        b,
        "url-ftp",
        "Only http and https.",
        |made| made.evidence = vec![link("ftp://example.org/file")],
        "invalid_field",
    );
    made_case(
        b,
        "url-localhost-port",
        "localhost with a port is a URL.",
        |made| made.evidence = vec![link("http://localhost:8080/x")],
        "accept",
    );
    made_case(
        b,
        "both-indicator-forms",
        "The single legacy indicator and named indicators together.",
        |made| {
            made.indicator = Some(proto::Indicator {
                measure: "Places".into(),
                ..Default::default()
            });
            made.indicators = vec![places_indicator()];
        },
        "invalid_field",
    );
    made_case(
        b,
        "between-without-upper",
        "A between target needs target_upper.",
        |made| {
            let mut indicator = places_indicator();
            indicator.comparator = proto::Comparator::Between as i32;
            made.indicators = vec![indicator];
        },
        "invalid_field",
    );
    made_case(
        b,
        "upper-without-between",
        "target_upper is only for a between target.",
        |made| {
            let mut indicator = places_indicator();
            indicator.target_upper = Some(200.0);
            made.indicators = vec![indicator];
        },
        "invalid_field",
    );
    made_case(
        b,
        "indicator-not-finite",
        "Numbers are finite.",
        |made| {
            let mut indicator = places_indicator();
            indicator.target_value = Some(f64::INFINITY);
            made.indicators = vec![indicator];
        },
        "invalid_field",
    );
    made_case(
        b,
        "partners-repeated",
        "A delivery partner listed twice.",
        |made| made.delivery_partners = vec![DHSC.into(), DHSC.into()],
        "invalid_field",
    );
    made_case(
        b,
        "partner-is-owner",
        "The owner cannot be its own delivery partner.",
        |made| made.delivery_partners = vec![DCMS.into()],
        "invalid_field",
    );
    made_case(
        b,
        "partner-unknown",
        "A delivery partner must be a registered actor.",
        |made| made.delivery_partners = vec!["GB-GOV-NOBODY".into()],
        "unknown_actor",
    );
    for (name, why, class, changes, expect) in [
        (
            "amend-target",
            "A target change naming the commitment's indicator, with a decimal number.",
            C::TargetChange,
            vec![(F::TargetValue, "places", "120.5")],
            "accept",
        ),
        (
            "amend-number-exponent",
            "Numbers in text have no exponent.",
            C::TargetChange,
            vec![(F::TargetValue, "places", "1e3")],
            "invalid_field",
        ),
        (
            "amend-number-plus",
            "Numbers in text have no plus sign.",
            C::TargetChange,
            vec![(F::TargetValue, "places", "+5")],
            "invalid_field",
        ),
        (
            "amend-number-separator",
            "Numbers in text have no digit separators.",
            C::TargetChange,
            vec![(F::TargetValue, "places", "1_000")],
            "invalid_field",
        ),
        (
            "amend-number-leading-zero",
            "Numbers in text have no leading zero.",
            C::TargetChange,
            vec![(F::TargetValue, "places", "0120")],
            "invalid_field",
        ),
        (
            "amend-class-mismatch",
            "A correction cannot change the deadline.",
            C::Correction,
            vec![(F::DueBy, "", "2027-01-01")],
            "invalid_field",
        ),
        (
            "amend-unknown-indicator",
            "A target change naming an indicator the commitment does not have.",
            C::TargetChange,
            vec![(F::TargetValue, "nope", "5")],
            "unknown_indicator",
        ),
        (
            "amend-target-unnamed",
            "A target change on a commitment with named indicators must name one.",
            C::TargetChange,
            vec![(F::TargetValue, "", "5")],
            "unknown_indicator",
        ),
        (
            "amend-same-field-twice",
            "The same field twice in one amendment.",
            C::Revision,
            vec![(F::Title, "", "A"), (F::Title, "", "B")],
            "invalid_field",
        ),
    ] {
        cases.push(signed_case(
            b,
            name,
            why,
            DCMS,
            "dcms-1",
            amendment(class, &changes),
            expect,
        ));
    }
    for (name, why, currency, amount, expect) in [
        (
            "money-gbp",
            "Money in pounds (minor units: pence).",
            "GBP",
            15_000_000,
            "accept",
        ),
        (
            "money-typo",
            "GPB is not an ISO 4217 code.",
            "GPB",
            100,
            "invalid_field",
        ),
        (
            "money-lower-case",
            "Currency codes are upper case.",
            "gbp",
            100,
            "invalid_field",
        ),
        (
            "money-no-currency",
            "XXX (no currency) is not accepted.",
            "XXX",
            100,
            "invalid_field",
        ),
        (
            "money-negative",
            "Amounts are not negative.",
            "GBP",
            -1,
            "invalid_field",
        ),
    ] {
        let mut recorded = action(&format!("a-{name}"), &["c-open"]);
        recorded.money = Some(proto::Money {
            amount_minor: amount,
            currency: currency.into(),
            stage: proto::MoneyStage::Committed as i32,
        });
        cases.push(signed_case(
            b,
            name,
            why,
            DCMS,
            "dcms-1",
            Kind::ActionRecorded(recorded),
            expect,
        ));
    }
    let mut unspecified = outcome("c-open");
    unspecified.verdict = 0;
    cases.push(signed_case(
        b,
        "enum-unspecified",
        "A required enum left at 0.",
        DCMS,
        "dcms-1",
        Kind::OutcomeReported(unspecified),
        "invalid_field",
    ));
    let mut unknown = outcome("c-open");
    unknown.verdict = 99;
    cases.push(signed_case(
        b,
        "enum-unknown-value",
        "An enum value the schema does not define.",
        DCMS,
        "dcms-1",
        Kind::OutcomeReported(unknown),
        "invalid_field",
    ));
    cases.push(signed_case(
        b,
        "action-repeats-commitment",
        "An action lists each commitment once.",
        DCMS,
        "dcms-1",
        Kind::ActionRecorded(action("a-repeat", &["c-open", "c-open"])),
        "invalid_field",
    ));
    let mut registered_url = proto::ActorRegistered {
        actor_id: "GB-GOV-HO".into(),
        name: "Home Office".into(),
        kind: proto::ActorKind::Department as i32,
        url: "gov.uk/home-office".into(),
        ..Default::default()
    };
    let envelope = b.registry(Kind::ActorRegistered(registered_url.clone()));
    cases.push(case(
        "actor-url-not-a-url",
        "An actor's url, when given, is a URL.",
        envelope.encode_to_vec(),
        "invalid_field",
    ));
    registered_url.url = "https://www.gov.uk/government/organisations/home-office".into();
    let envelope = b.registry(Kind::ActorRegistered(registered_url));
    cases.push(case(
        "actor-registered",
        "The registrar registers a new actor.",
        envelope.encode_to_vec(),
        "accept",
    ));
    cases
}

fn authority_cases(b: &mut Builder) -> Vec<Case> {
    let mut cases = vec![];
    let forged = {
        let mut envelope = b.signed(DCMS, "dcms-1", commitment("c-forged"));
        let other = b.signed(DCMS, "stranger", commitment("c-forged"));
        envelope.signature = other.signature;
        envelope.encode_to_vec()
    };
    cases.push(case(
        "bad-signature",
        "Signed by a key other than the one named.",
        forged,
        "bad_signature",
    ));
    let equivocation = {
        let genuine = b.envelope_named("make-c-open");
        b.signed_as(
            &genuine.event_id,
            DCMS,
            "dcms-1",
            commitment("c-something-else"),
        )
        .encode_to_vec()
    };
    cases.push(case(
        "equivocation",
        "The key holder signed a different statement under an event id already in the log: rejected, and evidence against the signer.",
        equivocation,
        "equivocation",
    ));
    let forged_equivocation = {
        let genuine = b.envelope_named("make-c-open");
        let mut envelope = b.signed_as(
            &genuine.event_id,
            DCMS,
            "dcms-1",
            commitment("c-something-else"),
        );
        envelope.signature = b
            .signed_as(&genuine.event_id, DCMS, "stranger", commitment("c-x"))
            .signature;
        envelope.encode_to_vec()
    };
    cases.push(case(
        "same-id-forged-signature",
        "A different statement under an existing event id that the named key did not sign: a bad signature, never equivocation.",
        forged_equivocation,
        "bad_signature",
    ));
    let kinds: Vec<(&'static str, &'static str, &str, &str, Kind, &'static str)> = vec![
        (
            "unknown-key",
            "A key never granted.",
            DCMS,
            "dcms-9",
            commitment("c-unknown-key"),
            "unknown_key",
        ),
        (
            "revoked-key",
            "A revoked key.",
            DCMS,
            "dcms-old",
            commitment("c-revoked-key"),
            "revoked_key",
        ),
        (
            "registrar-key-for-commitment",
            "A registrar key may sign only registry events.",
            REGISTRAR,
            "registrar-1",
            commitment("c-registrar"),
            "unauthorised_key",
        ),
        (
            "key-of-another-actor",
            "DCMS's key speaking for DHSC.",
            DHSC,
            "dcms-1",
            commitment("c-impersonation"),
            "unauthorised_key",
        ),
        (
            "assessor-key-for-commitment",
            "An assessor-only key cannot publish a commitment.",
            WATCHDOG,
            "watch-1",
            commitment("c-watchdog"),
            "unauthorised_key",
        ),
        (
            "emitter-key-for-assessment",
            "An emitter-only key cannot publish an assessment.",
            DCMS,
            "dcms-1",
            assessment("c-done", ""),
            "unauthorised_key",
        ),
        (
            "registry-by-emitter-key",
            "Registry events need a registrar key.",
            REGISTRAR,
            "dcms-1",
            registered("GB-GOV-X", proto::ActorKind::Department),
            "unauthorised_key",
        ),
        (
            "registry-by-other-actor",
            "Registry events are spoken by the registrar actor.",
            DCMS,
            "registrar-1",
            registered("GB-GOV-Y", proto::ActorKind::Department),
            "unauthorised_key",
        ),
    ];
    for (name, why, actor, key_id, kind, expect) in kinds {
        cases.push(signed_case(b, name, why, actor, key_id, kind, expect));
    }
    cases
}

fn assessment(commitment_id: &str, outcome_event_id: &str) -> Kind {
    Kind::AssessmentPublished(proto::AssessmentPublished {
        commitment_id: commitment_id.into(),
        outcome_event_id: outcome_event_id.into(),
        stance: proto::Stance::Disputes as i32,
        summary: "Two of the four meetings were cancelled.".into(),
        assessed_verdict: proto::Verdict::PartlyDelivered as i32,
        evidence: vec![link("https://watchdog.example.org/reports/council")],
    })
}

fn retraction(event_id: String) -> Kind {
    Kind::Retraction(proto::Retraction {
        event_id,
        reason: "Published in error".into(),
    })
}

fn adoption(commitment_id: &str) -> Kind {
    Kind::CommitmentAdopted(proto::CommitmentAdopted {
        commitment_id: commitment_id.into(),
        adopted_on: "2026-01-02".into(),
        note: String::new(),
    })
}

fn state_cases(b: &mut Builder) -> Vec<Case> {
    use proto::ActorKind as A;
    let outcome_id = b.id("outcome-c-done");
    let action_id = b.id("action-a-1");
    let mistake_id = b.id("make-c-mistake");
    let commitment_id = b.id("make-c-open");
    let stranger = b.keys.stranger.clone();
    let dcms = b.keys.dcms.clone();
    let registrar_key = b.keys.registrar.clone();
    let mut measured = outcome("c-open");
    measured.measurements = vec![proto::Measurement {
        indicator_id: "places".into(),
        value: 104.0,
        measured_on: "2026-05-31".into(),
        period: String::new(),
    }];
    let mut unmeasured = measured.clone();
    unmeasured.measurements[0].indicator_id = "nope".into();
    let registry: Vec<(&'static str, &'static str, Kind, &'static str)> = vec![
        (
            "register-existing-actor",
            "An actor id is registered once.",
            registered(DCMS, A::Department),
            "actor_exists",
        ),
        (
            "register-registrar-actor",
            "The registrar actor named at genesis is reserved.",
            registered(REGISTRAR, A::Department),
            "actor_exists",
        ),
        (
            "grant-existing-key",
            "A key id is granted once.",
            granted("dcms-1", &stranger, DCMS, proto::KeyRole::Emitter),
            "key_exists",
        ),
        (
            "grant-registrar-key-id",
            "A registrar key id cannot be granted.",
            granted("registrar-1", &stranger, DCMS, proto::KeyRole::Emitter),
            "key_exists",
        ),
        (
            "grant-to-unknown-actor",
            "Keys are granted to registered actors.",
            granted(
                "nobody-1",
                &stranger,
                "GB-GOV-NOBODY",
                proto::KeyRole::Emitter,
            ),
            "unknown_actor",
        ),
        (
            "grant-key",
            "A new key for a registered actor.",
            granted("dcms-2", &dcms, DCMS, proto::KeyRole::Emitter),
            "accept",
        ),
        (
            "revoke-revoked-key",
            "A key is revoked once.",
            Kind::KeyRevoked(proto::KeyRevoked {
                key_id: "dcms-old".into(),
                reason: "again".into(),
            }),
            "key_already_revoked",
        ),
        (
            "revoke-key",
            "Revoking a live key.",
            Kind::KeyRevoked(proto::KeyRevoked {
                key_id: "dcms-1".into(),
                reason: "rotated".into(),
            }),
            "accept",
        ),
        (
            "succession",
            "DCMS succeeded by DHSC (both registered), passing its open commitments.",
            Kind::ActorSucceeded(proto::ActorSucceeded {
                predecessor_id: DCMS.into(),
                successor_id: DHSC.into(),
                kind: proto::SuccessionKind::Merged as i32,
                effective_on: "2026-04-01".into(),
                commitment_ids: vec![],
                note: String::new(),
            }),
            "accept",
        ),
    ];
    let _ = registrar_key;
    let mut cases = vec![];
    for (name, why, kind, expect) in registry {
        let envelope = b.registry(kind).encode_to_vec();
        cases.push(case(name, why, envelope, expect));
    }
    let events: Vec<(&'static str, &'static str, &str, &str, Kind, &'static str)> = vec![
        (
            "make-existing-commitment",
            "A commitment id is used once.",
            DCMS,
            "dcms-1",
            commitment("c-open"),
            "commitment_exists",
        ),
        (
            "withdraw",
            "The owner withdraws its open commitment.",
            DCMS,
            "dcms-1",
            Kind::CommitmentWithdrawn(proto::CommitmentWithdrawn {
                commitment_id: "c-open".into(),
                reason: "Superseded".into(),
            }),
            "accept",
        ),
        (
            "withdraw-withdrawn",
            "A withdrawn commitment cannot be withdrawn again.",
            DCMS,
            "dcms-1",
            Kind::CommitmentWithdrawn(proto::CommitmentWithdrawn {
                commitment_id: "c-withdrawn".into(),
                reason: "Again".into(),
            }),
            "commitment_withdrawn",
        ),
        (
            "amend-by-partner",
            "A delivery partner records actions and outcomes but cannot amend.",
            DHSC,
            "dhsc-1",
            amendment(
                proto::AmendmentClass::Correction,
                &[(proto::AmendedField::Title, "", "New title")],
            ),
            "foreign_commitment",
        ),
        (
            "action-by-partner",
            "A delivery partner records an action on the shared commitment.",
            DHSC,
            "dhsc-1",
            Kind::ActionRecorded(action("a-partner", &["c-open"])),
            "accept",
        ),
        (
            "action-on-unknown",
            "An action on a commitment that does not exist.",
            DCMS,
            "dcms-1",
            Kind::ActionRecorded(action("a-unknown", &["c-nope"])),
            "unknown_commitment",
        ),
        (
            "action-on-foreign",
            "An action on another actor's commitment (DHSC is not a partner of c-done).",
            DHSC,
            "dhsc-1",
            Kind::ActionRecorded(action("a-foreign", &["c-done"])),
            "foreign_commitment",
        ),
        (
            "action-on-withdrawn",
            "An action on a withdrawn commitment.",
            DCMS,
            "dcms-1",
            Kind::ActionRecorded(action("a-withdrawn", &["c-withdrawn"])),
            "commitment_withdrawn",
        ),
        (
            "action-existing-id",
            "An action id is used once.",
            DCMS,
            "dcms-1",
            Kind::ActionRecorded(action("a-1", &["c-open"])),
            "action_exists",
        ),
        (
            "action-on-retracted-commitment",
            "A retracted commitment still exists for validation: retraction changes what views show, not what later events may reference.",
            DCMS,
            "dcms-1",
            Kind::ActionRecorded(action("a-mistake", &["c-mistake"])),
            "accept",
        ),
        (
            "outcome-with-measurement",
            "An outcome measuring the commitment's named indicator.",
            DCMS,
            "dcms-1",
            Kind::OutcomeReported(measured),
            "accept",
        ),
        (
            "outcome-unknown-indicator",
            "A measurement of an indicator the commitment does not have.",
            DCMS,
            "dcms-1",
            Kind::OutcomeReported(unmeasured),
            "unknown_indicator",
        ),
        (
            "assessment-of-latest-outcome",
            "An assessment with an empty outcome_event_id assesses the latest outcome.",
            WATCHDOG,
            "watch-1",
            assessment("c-done", ""),
            "accept",
        ),
        (
            "assessment-of-named-outcome",
            "An assessment naming the outcome event.",
            WATCHDOG,
            "watch-1",
            assessment("c-done", &outcome_id),
            "accept",
        ),
        (
            "assessment-without-outcome",
            "An empty outcome_event_id needs an outcome to exist.",
            WATCHDOG,
            "watch-1",
            assessment("c-open", ""),
            "unknown_outcome",
        ),
        (
            "assessment-of-non-outcome",
            "outcome_event_id names an event that is not an outcome of the commitment.",
            WATCHDOG,
            "watch-1",
            assessment("c-done", &commitment_id),
            "unknown_outcome",
        ),
        (
            "retract-own-event",
            "An actor retracts its own event.",
            DCMS,
            "dcms-1",
            retraction(action_id.clone()),
            "accept",
        ),
        (
            "retract-unknown-event",
            "The retracted event must be in the log.",
            DCMS,
            "dcms-1",
            retraction("01KCZZZZZZZZZZZZZZZZZZZZZ9".into()),
            "unknown_event",
        ),
        (
            "retract-foreign-event",
            "Only the publisher retracts an event.",
            DHSC,
            "dhsc-1",
            retraction(action_id),
            "foreign_event",
        ),
        (
            "retract-twice",
            "An event is retracted once.",
            DCMS,
            "dcms-1",
            retraction(mistake_id),
            "already_retracted",
        ),
        (
            "adopt-mp-pledge",
            "A department adopts an MP's open pledge.",
            DCMS,
            "dcms-1",
            adoption("mp-pledge"),
            "accept",
        ),
        (
            "adopt-department-commitment",
            "Only pledges owned by an MP or a party can be adopted.",
            DHSC,
            "dhsc-1",
            adoption("c-open"),
            "not_adoptable",
        ),
    ];
    for (name, why, actor, key_id, kind, expect) in events {
        cases.push(signed_case(b, name, why, actor, key_id, kind, expect));
    }
    let genesis = b.envelope_named("genesis").encode_to_vec();
    cases.push(case(
        "genesis-again",
        "Genesis only at entry 0.",
        genesis,
        "genesis_misplaced",
    ));
    let mut impostor_genesis = b.envelope_named("genesis");
    impostor_genesis.actor = DCMS.into();
    cases.push(Case {
        name: "genesis-actor-not-registrar",
        why: "A genesis envelope is spoken by the registrar actor it names.",
        log: "empty",
        stored_at_ns: 0,
        envelope: impostor_genesis.encode_to_vec(),
        expect: "invalid_field",
    });
    let before_genesis = b
        .signed(DCMS, "dcms-1", commitment("c-early"))
        .encode_to_vec();
    cases.push(Case {
        name: "nothing-before-genesis",
        why: "Nothing is accepted in an empty log but genesis.",
        log: "empty",
        stored_at_ns: case_time(),
        envelope: before_genesis,
        expect: "genesis_missing",
    });
    cases
}

/// Build `envelopes.json`.
pub fn generate() -> Value {
    let mut b = Builder::new();
    base_log(&mut b);
    let mut cases = encoding_cases(&mut b);
    cases.extend(header_cases(&mut b));
    cases.extend(field_cases(&mut b));
    cases.extend(authority_cases(&mut b));
    cases.extend(state_cases(&mut b));
    let empty = Replay::default();
    let mut names = std::collections::BTreeSet::new();
    let cases: Vec<Value> = cases
        .into_iter()
        .map(|case| {
            assert!(names.insert(case.name), "case {} twice", case.name);
            let log = if case.log == "empty" { &empty } else { &b.log };
            let decision = log.decide(&case.envelope, case.stored_at_ns);
            assert_eq!(
                verdict(&decision),
                case.expect,
                "case {}: {decision:?}",
                case.name
            );
            let mut value = json!({
                "name": case.name,
                "why": case.why,
                "log": case.log,
                "stored_at_ns": json_u64(case.stored_at_ns),
                "envelope": hex::encode(&case.envelope),
                "expect": case.expect,
            });
            if let Some(field) = rejected_field(&decision) {
                value["field"] = json!(field);
            }
            value
        })
        .collect();
    json!({
        "vectors": "envelopes",
        "logs": {
            "empty": [],
            "base": hex_list(b.log.entries()),
        },
        "cases": cases,
    })
}

/// Check every case of `envelopes.json` against covenant-core.
pub fn check(vectors: &Value, failures: &mut Failures) {
    let mut logs = std::collections::HashMap::new();
    for (name, entries) in vectors["logs"].as_object().into_iter().flatten() {
        let entries: Vec<Vec<u8>> = entries
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(read_hex)
            .collect();
        match Replay::from_entries(&entries) {
            Ok(replay) => {
                logs.insert(name.clone(), replay);
            }
            Err(why) => failures.add(format!("envelopes: log {name}"), why),
        }
    }
    for case in vectors["cases"].as_array().into_iter().flatten() {
        let name = format!("envelopes: {}", case["name"].as_str().unwrap_or("?"));
        let (Some(log), Some(envelope), Some(stored_at_ns)) = (
            case["log"].as_str().and_then(|log| logs.get(log)),
            read_hex(&case["envelope"]),
            read_u64(&case["stored_at_ns"]),
        ) else {
            failures.add(name, "the case is malformed".into());
            continue;
        };
        let decision = log.decide(&envelope, stored_at_ns);
        let expected = case["expect"].as_str().unwrap_or("?");
        if verdict(&decision) != expected {
            failures.add(name, format!("expected {expected}, got {decision:?}"));
        } else if let Some(field) = case["field"].as_str()
            && rejected_field(&decision).as_deref() != Some(field)
        {
            failures.add(name, format!("expected field {field}, got {decision:?}"));
        }
    }
}

/// The base log's entries, for the entry and chain vectors.
pub fn base_entries() -> Vec<Vec<u8>> {
    let mut b = Builder::new();
    base_log(&mut b);
    b.log.entries().to_vec()
}
