"""Replaying the validation rules of SPEC section 8 over a log, entry by entry."""

from . import ed25519
from .fields import Checker, FieldError
from .logformat import MAX_ENVELOPE, blake3_hash
from .protowire import Decoder, ProtoError

REGISTRY_KINDS = {"actor_registered", "key_granted", "key_revoked", "actor_succeeded"}
SIGNING_CONTEXT = b"covenant/v1/envelope-signature\n"
EMITTER, ASSESSOR = 1, 2
MP, DEPARTMENT, AGENCY, COUNCIL, NHS_BODY, JOINT_BODY, PARTY = 1, 2, 3, 4, 5, 8, 9
ADOPTERS = {DEPARTMENT, AGENCY, COUNCIL, NHS_BODY, JOINT_BODY}
TEN_MINUTES_MS = 600_000


class Rejected(Exception):
    """The rules refuse an envelope: `code` is the reject code (or `duplicate`)."""

    def __init__(self, code, message, field=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


def lp(data):
    return len(data).to_bytes(4, "big") + data


def signing_input(envelope):
    return (
        SIGNING_CONTEXT
        + lp(envelope["event_id"].encode())
        + lp(envelope["actor"].encode())
        + (envelope["occurred_at_ms"] & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
        + lp(envelope["key_id"].encode())
        + lp(envelope["body"])
    )


class Commitment:
    def __init__(self, owner, delivery_partners, indicator_ids):
        self.owner = owner
        self.withdrawn = False
        self.outcomes = []
        self.delivery_partners = set(delivery_partners)
        self.indicator_ids = set(indicator_ids)

    @property
    def open(self):
        return not self.withdrawn and not self.outcomes


class Key:
    def __init__(self, public_key, actor, roles):
        self.public_key = public_key
        self.actor = actor
        self.roles = set(roles)
        self.revoked = False


class Replay:
    """The state of section 8.2, and the decision for each next envelope."""

    def __init__(self, schema):
        self.schema = schema
        self.checker = Checker(schema)
        self.genesis = None
        self.registrars = {}  # key id -> public key
        self.actors = {}  # actor id -> ActorRegistered kind
        self.successors = {}  # actor id -> [successor ids]
        self.keys = {}  # key id -> Key
        self.commitments = {}
        self.actions = set()
        self.retracted = set()
        self.events = {}  # event id -> (blake3 of the envelope bytes, actor)
        self.size = 0

    # --- decoding and field rules (step 1) ---

    def decode(self, raw):
        if len(raw) > MAX_ENVELOPE:
            raise Rejected("oversized", f"{len(raw)} bytes, over {MAX_ENVELOPE}")
        # Every part must parse before canonical form is judged: undecodable comes first.
        envelope_decoder, body_decoder = Decoder(self.schema), Decoder(self.schema)
        try:
            envelope = envelope_decoder.decode("Envelope", raw)
            body = body_decoder.decode("EventBody", envelope["body"])
        except ProtoError as error:
            raise Rejected(error.code, f"{error.field}: {error.message}") from None
        for part, fault in (("envelope", envelope_decoder.fault), ("body", body_decoder.fault)):
            if fault is not None:
                raise Rejected(fault.code, f"{fault.field}: {fault.message}", part)
        kind, value = body.kind("kind")
        try:
            if kind is None:
                # An empty body is the canonical encoding of a body without a kind: a field
                # rule, not an encoding one.
                raise FieldError("body", "no event kind")
            self.checker.envelope(envelope, kind, value)
            self.checker.body(kind, value)
        except FieldError as error:
            raise Rejected("invalid_field", error.message, error.field) from None
        return envelope, kind, value

    # --- the decision ---

    def check(self, raw, stored_at_ns):
        """Decide the next envelope: (envelope, kind, value), or raise Rejected."""
        envelope, kind, value = self.decode(raw)
        if kind == "genesis":
            if self.genesis is not None:
                raise Rejected("genesis_misplaced", "a genesis envelope after entry 0")
            return envelope, kind, value
        if self.genesis is None:
            raise Rejected("genesis_missing", f"{kind} before genesis")
        seen = self.events.get(envelope["event_id"])
        if seen is not None and seen[0] == blake3_hash(raw):
            raise Rejected("duplicate", f"event {envelope['event_id']} is already in the log")
        self.check_authority(envelope, kind)
        if seen is not None:
            raise Rejected(
                "equivocation",
                f"event {envelope['event_id']} is already in the log with other bytes",
            )
        limit = stored_at_ns // 1_000_000 + TEN_MINUTES_MS
        if envelope["occurred_at_ms"] > limit:
            raise Rejected(
                "future_timestamp",
                f"occurred_at_ms {envelope['occurred_at_ms']} is more than ten minutes "
                f"after the broker stored it",
            )
        getattr(self, "rule_" + kind)(envelope, value)
        return envelope, kind, value

    def check_authority(self, envelope, kind):
        key_id, actor = envelope["key_id"], envelope["actor"]
        if kind in REGISTRY_KINDS:
            public_key = self.registrars.get(key_id)
            if public_key is None:
                raise Rejected(
                    "unauthorised_key", f"{kind} must be signed by a registrar key, not {key_id}"
                )
            if actor != self.genesis["registrar_actor"]:
                raise Rejected("unauthorised_key", f"{kind} is spoken by the registrar actor")
        else:
            if key_id in self.registrars:
                raise Rejected("unauthorised_key", "a registrar key signs only registry events")
            key = self.keys.get(key_id)
            if key is None:
                raise Rejected("unknown_key", f"key {key_id} was never granted")
            if key.revoked:
                raise Rejected("revoked_key", f"key {key_id} is revoked")
            if key.actor != actor:
                raise Rejected("unauthorised_key", f"key {key_id} speaks for {key.actor}")
            role = ASSESSOR if kind == "assessment_published" else EMITTER
            if role not in key.roles:
                raise Rejected("unauthorised_key", f"key {key_id} lacks the role for {kind}")
            public_key = key.public_key
        if not ed25519.verify(public_key, signing_input(envelope), envelope["signature"]):
            raise Rejected("bad_signature", f"the signature does not verify with {key_id}")

    # --- kind rules (step 5) ---

    def commitment(self, commitment_id):
        commitment = self.commitments.get(commitment_id)
        if commitment is None:
            raise Rejected("unknown_commitment", f"commitment {commitment_id} does not exist")
        return commitment

    def own_live(self, commitment_id, actor):
        commitment = self.commitment(commitment_id)
        if commitment.owner != actor:
            raise Rejected("foreign_commitment", f"commitment {commitment_id} is not {actor}'s")
        if commitment.withdrawn:
            raise Rejected("commitment_withdrawn", f"commitment {commitment_id} is withdrawn")
        return commitment

    def delivered_live(self, commitment_id, actor):
        commitment = self.commitment(commitment_id)
        if commitment.owner != actor and actor not in commitment.delivery_partners:
            raise Rejected(
                "foreign_commitment",
                f"{actor} neither owns nor delivers commitment {commitment_id}",
            )
        if commitment.withdrawn:
            raise Rejected("commitment_withdrawn", f"commitment {commitment_id} is withdrawn")
        return commitment

    def registered(self, actor_id):
        if actor_id not in self.actors:
            raise Rejected("unknown_actor", f"actor {actor_id} is not registered")

    def rule_actor_registered(self, envelope, a):
        if a["actor_id"] in self.actors or a["actor_id"] == self.genesis["registrar_actor"]:
            raise Rejected("actor_exists", f"actor {a['actor_id']} is already registered")

    def rule_key_granted(self, envelope, k):
        if k["key_id"] in self.registrars or k["key_id"] in self.keys:
            raise Rejected("key_exists", f"key {k['key_id']} already exists")
        self.registered(k["actor_id"])

    def rule_key_revoked(self, envelope, k):
        key = self.keys.get(k["key_id"])
        if key is None:
            raise Rejected("unknown_key", f"key {k['key_id']} was never granted")
        if key.revoked:
            raise Rejected("key_already_revoked", f"key {k['key_id']} is already revoked")

    def rule_actor_succeeded(self, envelope, s):
        self.registered(s["predecessor_id"])
        self.registered(s["successor_id"])
        for commitment_id in s["commitment_ids"]:
            self.own_live(commitment_id, s["predecessor_id"])

    def rule_commitment_made(self, envelope, c):
        if c["commitment_id"] in self.commitments:
            raise Rejected("commitment_exists", f"commitment {c['commitment_id']} exists")
        for partner in c["delivery_partners"]:
            if partner == envelope["actor"]:
                raise Rejected(
                    "invalid_field",
                    "the owner is not its own delivery partner",
                    "commitment_made.delivery_partners",
                )
            self.registered(partner)

    def rule_commitment_amended(self, envelope, a):
        commitment = self.own_live(a["commitment_id"], envelope["actor"])
        for change in a["changes"]:
            named = change["indicator_id"]
            if named and named not in commitment.indicator_ids:
                raise Rejected("unknown_indicator", f"no indicator {named} on the commitment")
            if (
                not named
                and commitment.indicator_ids
                and change["field"] in (3, 4, 7)  # TARGET_VALUE, TARGET_PERIOD, COMPARATOR
            ):
                raise Rejected(
                    "unknown_indicator", "a target change must name one of the indicators"
                )

    def rule_commitment_withdrawn(self, envelope, w):
        self.own_live(w["commitment_id"], envelope["actor"])

    def rule_action_recorded(self, envelope, a):
        if a["action_id"] in self.actions:
            raise Rejected("action_exists", f"action {a['action_id']} exists")
        for commitment_id in a["commitment_ids"]:
            self.delivered_live(commitment_id, envelope["actor"])

    def rule_outcome_reported(self, envelope, o):
        commitment = self.delivered_live(o["commitment_id"], envelope["actor"])
        for measurement in o["measurements"]:
            if measurement["indicator_id"] not in commitment.indicator_ids:
                raise Rejected(
                    "unknown_indicator",
                    f"no indicator {measurement['indicator_id']} on the commitment",
                )

    def rule_assessment_published(self, envelope, a):
        commitment = self.commitment(a["commitment_id"])
        outcome = a["outcome_event_id"]
        if outcome and outcome not in commitment.outcomes:
            raise Rejected("unknown_outcome", f"{outcome} is not an outcome of the commitment")
        if not outcome and not commitment.outcomes:
            raise Rejected("unknown_outcome", "the commitment has no outcome to assess")

    def rule_commitment_adopted(self, envelope, a):
        commitment = self.commitment(a["commitment_id"])
        if self.actors.get(commitment.owner) not in (MP, PARTY):
            raise Rejected("not_adoptable", "its owner is neither an MP nor a party")
        if self.actors.get(envelope["actor"]) not in ADOPTERS:
            raise Rejected("not_adoptable", f"{envelope['actor']} is not a public body")
        if not commitment.open:
            raise Rejected("not_adoptable", "the commitment is withdrawn or has an outcome")

    def rule_retraction(self, envelope, r):
        seen = self.events.get(r["event_id"])
        if seen is None:
            raise Rejected("unknown_event", f"event {r['event_id']} is not in the log")
        if seen[1] != envelope["actor"]:
            raise Rejected("foreign_event", f"event {r['event_id']} is not {envelope['actor']}'s")
        if r["event_id"] in self.retracted:
            raise Rejected("already_retracted", f"event {r['event_id']} is already retracted")

    # --- applying an accepted envelope (steps 5 and 6) ---

    def accept(self, raw, stored_at_ns):
        """Decide and apply the next envelope; raise Rejected when it is not accepted."""
        envelope, kind, value = self.check(raw, stored_at_ns)
        getattr(self, "apply_" + kind)(envelope, value)
        self.events[envelope["event_id"]] = (blake3_hash(raw), envelope["actor"])
        self.size += 1

    def apply_genesis(self, envelope, g):
        self.genesis = g
        self.registrars = {r["key_id"]: r["public_key"] for r in g["registrars"]}

    def apply_actor_registered(self, envelope, a):
        self.actors[a["actor_id"]] = a["kind"]

    def apply_key_granted(self, envelope, k):
        self.keys[k["key_id"]] = Key(k["public_key"], k["actor_id"], k["roles"])

    def apply_key_revoked(self, envelope, k):
        self.keys[k["key_id"]].revoked = True

    def apply_actor_succeeded(self, envelope, s):
        predecessor, successor = s["predecessor_id"], s["successor_id"]
        self.successors.setdefault(predecessor, []).append(successor)
        listed = set(s["commitment_ids"])
        for commitment_id, commitment in self.commitments.items():
            if commitment.owner != predecessor or not commitment.open:
                continue
            if not listed or commitment_id in listed:
                commitment.owner = successor

    def apply_commitment_made(self, envelope, c):
        self.commitments[c["commitment_id"]] = Commitment(
            envelope["actor"],
            c["delivery_partners"],
            [i["indicator_id"] for i in c["indicators"]],
        )

    def apply_commitment_amended(self, envelope, a):
        pass

    def apply_commitment_withdrawn(self, envelope, w):
        self.commitments[w["commitment_id"]].withdrawn = True

    def apply_action_recorded(self, envelope, a):
        self.actions.add(a["action_id"])

    def apply_outcome_reported(self, envelope, o):
        self.commitments[o["commitment_id"]].outcomes.append(envelope["event_id"])

    def apply_assessment_published(self, envelope, a):
        pass

    def apply_commitment_adopted(self, envelope, a):
        self.commitments[a["commitment_id"]].owner = envelope["actor"]

    def apply_retraction(self, envelope, r):
        self.retracted.add(r["event_id"])
