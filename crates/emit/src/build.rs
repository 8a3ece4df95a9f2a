//! Typed builders for every event kind, event ids, and sealing.
//!
//! A builder's constructor takes what the schema requires and `with`-style methods add what is
//! optional; dates are [`Date`]s, so an impossible date cannot reach a builder. Sealing
//! ([`Speaker::seal`]) signs the event and runs the same field checks the ledger runs, so an
//! invalid event is refused here, with the field named, rather than rejected by the ledger later.

use crate::EmitError;
use bytes::Bytes;
use covenant_core::event::{self, Date};
use covenant_core::proto::{self, event_body::Kind};
use covenant_core::signing::{EnvelopeHeader, EventSigner, PublicKey, seal};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// Midnight UTC at the start of `date`, in milliseconds since the Unix epoch.
pub fn start_of_day_ms(date: Date) -> i64 {
    i64::from(date.days()) * 86_400_000
}

/// A fresh event id: a ULID for the current time with 80 random bits.
pub fn new_event_id() -> String {
    ulid::Ulid::new().to_string()
}

/// A deterministic event id: a ULID whose time part is `occurred_at_ms` and whose 80 random bits
/// are the start of blake3(`entropy`). The same inputs always give the same id, which is what
/// makes re-publishing a demo data set idempotent. Anyone who knows the inputs can compute it,
/// so real emitters use [`Speaker::derived_event_id`], which mixes in the emitter's secret.
pub fn derived_event_id(occurred_at_ms: i64, entropy: &[u8]) -> String {
    ulid_from_hash(occurred_at_ms, blake3::hash(entropy))
}

fn ulid_from_hash(occurred_at_ms: i64, hash: blake3::Hash) -> String {
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&hash.as_bytes()[..10]);
    let timestamp = occurred_at_ms.clamp(0, (1 << 48) - 1) as u64;
    ulid::Ulid::from_parts(timestamp, u128::from_be_bytes(random)).to_string()
}

/// A signed envelope ready to publish: its id, who speaks, and the exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    pub event_id: String,
    pub actor: String,
    /// The schema name of the event's kind, for example `commitment_made`.
    pub kind: &'static str,
    pub bytes: Bytes,
}

impl SealedEvent {
    /// Check envelope bytes (every field, as the ledger does) and wrap them. Genesis envelopes
    /// are refused: the ledger writes entry 0 itself and never accepts one from outside.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Result<Self, EmitError> {
        let bytes = bytes.into();
        let decoded = event::decode(&bytes)?;
        if matches!(decoded.kind, Kind::Genesis(_)) {
            return Err(EmitError::invalid(
                "body.kind",
                "genesis is written by the ledger from its configuration and is never published",
            ));
        }
        Ok(Self {
            event_id: decoded.envelope.event_id,
            actor: decoded.envelope.actor,
            kind: event::kind_name(&decoded.kind),
            bytes,
        })
    }

    /// The NATS subject to publish on: `acct.events.<actor>`.
    pub fn subject(&self) -> String {
        covenant_core::subject::event_subject(&self.actor)
    }
}

/// Signs events as one actor with one granted key.
#[derive(Debug, Clone)]
pub struct Speaker {
    actor: String,
    key_id: String,
    signer: EventSigner,
}

impl Speaker {
    pub fn new(
        actor: impl Into<String>,
        key_id: impl Into<String>,
        signer: EventSigner,
    ) -> Result<Self, EmitError> {
        let (actor, key_id) = (actor.into(), key_id.into());
        for (field, value) in [("actor", &actor), ("key_id", &key_id)] {
            if !event::is_valid_id(value) {
                return Err(EmitError::invalid(
                    field,
                    format!(
                        "{value:?} is not a valid id (1-128 characters of A-Z a-z 0-9 . _ : / -)"
                    ),
                ));
            }
        }
        Ok(Self {
            actor,
            key_id,
            signer,
        })
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// A deterministic event id that only this speaker can compute: like
    /// [`derived_event_id`], but the 80 random bits are a blake3 keyed hash of `entropy` under a
    /// key derived from the speaker's secret key. Publishing the same content twice gives the
    /// same id (so a re-sent file is a duplicate, not a second event), while nobody without the
    /// secret key can predict the id and publish something else under it first.
    pub fn derived_event_id(&self, occurred_at_ms: i64, entropy: &[u8]) -> String {
        let key = blake3::derive_key(
            "covenant-emit 2025 event ids derived from content",
            &self.signer.seed(),
        );
        ulid_from_hash(occurred_at_ms, blake3::keyed_hash(&key, entropy))
    }

    /// Seal an event under a fresh random event id.
    pub fn seal(
        &self,
        event: impl Into<Kind>,
        occurred_at_ms: i64,
    ) -> Result<SealedEvent, EmitError> {
        self.seal_with_id(&new_event_id(), event, occurred_at_ms)
    }

    /// Seal an event under a chosen event id (a ULID or UUIDv7), checking every field.
    pub fn seal_with_id(
        &self,
        event_id: &str,
        event: impl Into<Kind>,
        occurred_at_ms: i64,
    ) -> Result<SealedEvent, EmitError> {
        let header = EnvelopeHeader {
            event_id,
            actor: &self.actor,
            occurred_at_ms,
            key_id: &self.key_id,
        };
        let envelope = seal(header, event.into(), &self.signer);
        SealedEvent::from_bytes(prost::Message::encode_to_vec(&envelope))
    }
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

/// A link to evidence: a title and an absolute http(s) URL (checked when sealed).
pub fn link(title: impl Into<String>, url: impl Into<String>) -> proto::Link {
    proto::Link {
        title: title.into(),
        url: url.into(),
        kind: 0,
    }
}

/// A source: what kind of document, its title and (optionally, empty for none) its URL.
pub fn source(
    kind: proto::SourceKind,
    title: impl Into<String>,
    url: impl Into<String>,
) -> proto::Source {
    proto::Source {
        kind: kind as i32,
        title: title.into(),
        url: url.into(),
    }
}

/// A measurable indicator for a commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator(proto::Indicator);

impl Indicator {
    pub fn new(
        measure: impl Into<String>,
        unit: impl Into<String>,
        higher_is_better: bool,
    ) -> Self {
        Self(proto::Indicator {
            measure: measure.into(),
            unit: unit.into(),
            higher_is_better,
            ..Default::default()
        })
    }

    /// A named indicator (one of a commitment's `indicators`): an id unique within the
    /// commitment and a target with its comparator.
    pub fn named(
        indicator_id: impl Into<String>,
        measure: impl Into<String>,
        unit: impl Into<String>,
        comparator: proto::Comparator,
        target: f64,
    ) -> Self {
        Self(proto::Indicator {
            indicator_id: indicator_id.into(),
            measure: measure.into(),
            unit: unit.into(),
            higher_is_better: comparator != proto::Comparator::AtMost,
            comparator: comparator as i32,
            target_value: Some(target),
            ..Default::default()
        })
    }

    pub fn baseline(mut self, value: f64, on: Option<Date>) -> Self {
        self.0.baseline_value = Some(value);
        self.0.baseline_date = on.map(|on| on.to_string()).unwrap_or_default();
        self
    }

    pub fn target(mut self, value: f64, period: impl Into<String>) -> Self {
        self.0.target_value = Some(value);
        self.0.target_period = period.into();
        self
    }

    /// The upper bound of a `between` target.
    pub fn upper(mut self, value: f64) -> Self {
        self.0.target_upper = Some(value);
        self
    }

    pub fn deadline(mut self, deadline: Date) -> Self {
        self.0.deadline = deadline.to_string();
        self
    }
}

/// `commitment_made`: a new promise.
#[derive(Debug, Clone, PartialEq)]
pub struct Commitment(proto::CommitmentMade);

impl Commitment {
    pub fn new(
        commitment_id: impl Into<String>,
        title: impl Into<String>,
        text: impl Into<String>,
        made_on: Date,
    ) -> Self {
        Self(proto::CommitmentMade {
            commitment_id: commitment_id.into(),
            title: title.into(),
            text: text.into(),
            made_on: made_on.to_string(),
            ..Default::default()
        })
    }

    pub fn source(
        mut self,
        kind: proto::SourceKind,
        title: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        self.0.source = Some(proto::Source {
            kind: kind as i32,
            title: title.into(),
            url: url.into(),
        });
        self
    }

    pub fn due_by(mut self, due_by: Date) -> Self {
        self.0.due_by = due_by.to_string();
        self
    }

    /// Lower-case tags: the shared values (sustainability, safety, equity, dignity,
    /// opportunity, community, love) or free tags.
    pub fn themes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, themes: I) -> Self {
        self.0.themes = strings(themes);
        self
    }

    pub fn partners<I: IntoIterator<Item = S>, S: Into<String>>(mut self, partners: I) -> Self {
        self.0.partners = strings(partners);
        self
    }

    pub fn indicator(mut self, indicator: Indicator) -> Self {
        self.0.indicator = Some(indicator.0);
        self
    }

    /// Add a named indicator (see [`Indicator::named`]).
    pub fn add_indicator(mut self, indicator: Indicator) -> Self {
        self.0.indicators.push(indicator.0);
        self
    }

    /// Registered actors that deliver parts of it and may record actions and outcomes.
    pub fn delivery_partners<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        partners: I,
    ) -> Self {
        self.0.delivery_partners = strings(partners);
        self
    }

    /// A further source beside [`Commitment::source`].
    pub fn add_source(mut self, source: proto::Source) -> Self {
        self.0.sources.push(source);
        self
    }

    pub fn evidence(mut self, link: proto::Link) -> Self {
        self.0.evidence.push(link);
        self
    }
}

impl From<Commitment> for Kind {
    fn from(commitment: Commitment) -> Self {
        Kind::CommitmentMade(commitment.0)
    }
}

/// `commitment_amended`: one or more changes to a commitment, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Amendment(proto::CommitmentAmended);

impl Amendment {
    pub fn new(
        commitment_id: impl Into<String>,
        class: proto::AmendmentClass,
        rationale: impl Into<String>,
    ) -> Self {
        Self(proto::CommitmentAmended {
            commitment_id: commitment_id.into(),
            class: class as i32,
            rationale: rationale.into(),
            ..Default::default()
        })
    }

    /// Change any field; the new value as text (checked when sealed).
    pub fn change(mut self, field: proto::AmendedField, new_value: impl Into<String>) -> Self {
        self.0.changes.push(proto::FieldChange {
            field: field as i32,
            new_value: new_value.into(),
            indicator_id: String::new(),
        });
        self
    }

    /// Change a named indicator's target value, period or comparator.
    pub fn change_indicator(
        mut self,
        indicator_id: impl Into<String>,
        field: proto::AmendedField,
        new_value: impl Into<String>,
    ) -> Self {
        self.0.changes.push(proto::FieldChange {
            field: field as i32,
            new_value: new_value.into(),
            indicator_id: indicator_id.into(),
        });
        self
    }

    /// The date the change took effect (by default the envelope's date).
    pub fn effective_on(mut self, on: Date) -> Self {
        self.0.effective_on = on.to_string();
        self
    }

    pub fn add_source(mut self, source: proto::Source) -> Self {
        self.0.sources.push(source);
        self
    }

    pub fn new_due_by(self, due_by: Date) -> Self {
        self.change(proto::AmendedField::DueBy, due_by.to_string())
    }

    pub fn new_target_value(self, value: f64) -> Self {
        self.change(proto::AmendedField::TargetValue, value.to_string())
    }

    pub fn new_target_period(self, period: impl Into<String>) -> Self {
        self.change(proto::AmendedField::TargetPeriod, period)
    }

    pub fn new_text(self, text: impl Into<String>) -> Self {
        self.change(proto::AmendedField::Text, text)
    }
}

impl From<Amendment> for Kind {
    fn from(amendment: Amendment) -> Self {
        Kind::CommitmentAmended(amendment.0)
    }
}

/// `commitment_withdrawn`: a political decision to drop a commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct Withdrawal(proto::CommitmentWithdrawn);

impl Withdrawal {
    pub fn new(commitment_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(proto::CommitmentWithdrawn {
            commitment_id: commitment_id.into(),
            reason: reason.into(),
        })
    }
}

impl From<Withdrawal> for Kind {
    fn from(withdrawal: Withdrawal) -> Self {
        Kind::CommitmentWithdrawn(withdrawal.0)
    }
}

/// Money: an amount in minor units (pence for GBP), a currency and how far along it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Money(proto::Money);

impl Money {
    pub fn new(amount_minor: i64, currency: impl Into<String>, stage: proto::MoneyStage) -> Self {
        Self(proto::Money {
            amount_minor,
            currency: currency.into(),
            stage: stage as i32,
        })
    }

    /// Pounds sterling, given in pence.
    pub fn gbp(pence: i64, stage: proto::MoneyStage) -> Self {
        Self::new(pence, "GBP", stage)
    }
}

/// `action_recorded`: something done towards one or more commitments.
#[derive(Debug, Clone, PartialEq)]
pub struct Action(proto::ActionRecorded);

impl Action {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(
        action_id: impl Into<String>,
        commitment_ids: I,
        action_type: proto::ActionType,
        taken_on: Date,
        description: impl Into<String>,
    ) -> Self {
        Self(proto::ActionRecorded {
            action_id: action_id.into(),
            commitment_ids: strings(commitment_ids),
            r#type: action_type as i32,
            taken_on: taken_on.to_string(),
            description: description.into(),
            ..Default::default()
        })
    }

    pub fn money(mut self, money: Money) -> Self {
        self.0.money = Some(money.0);
        self
    }

    pub fn evidence(mut self, link: proto::Link) -> Self {
        self.0.evidence.push(link);
        self
    }

    pub fn partners<I: IntoIterator<Item = S>, S: Into<String>>(mut self, partners: I) -> Self {
        self.0.partners = strings(partners);
        self
    }
}

impl From<Action> for Kind {
    fn from(action: Action) -> Self {
        Kind::ActionRecorded(action.0)
    }
}

/// `outcome_reported`: what came of a commitment, honestly.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome(proto::OutcomeReported);

impl Outcome {
    pub fn new(
        commitment_id: impl Into<String>,
        verdict: proto::Verdict,
        reported_on: Date,
        summary: impl Into<String>,
    ) -> Self {
        Self(proto::OutcomeReported {
            commitment_id: commitment_id.into(),
            verdict: verdict as i32,
            reported_on: reported_on.to_string(),
            summary: summary.into(),
            ..Default::default()
        })
    }

    /// The indicator's measured value and the period it covers.
    pub fn indicator_actual(mut self, value: f64, period: impl Into<String>) -> Self {
        self.0.indicator_actual = Some(value);
        self.0.actual_period = period.into();
        self
    }

    pub fn evidence(mut self, link: proto::Link) -> Self {
        self.0.evidence.push(link);
        self
    }

    /// What was learned, including what went wrong.
    /// A measured value of a named indicator.
    pub fn measurement(
        mut self,
        indicator_id: impl Into<String>,
        value: f64,
        measured_on: Date,
    ) -> Self {
        self.0.measurements.push(proto::Measurement {
            indicator_id: indicator_id.into(),
            value,
            measured_on: measured_on.to_string(),
            period: String::new(),
        });
        self
    }

    pub fn lessons(mut self, lessons: impl Into<String>) -> Self {
        self.0.lessons = lessons.into();
        self
    }
}

impl From<Outcome> for Kind {
    fn from(outcome: Outcome) -> Self {
        Kind::OutcomeReported(outcome.0)
    }
}

/// `assessment_published`: an independent view of a reported outcome (needs the assessor role).
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment(proto::AssessmentPublished);

impl Assessment {
    pub fn new(
        commitment_id: impl Into<String>,
        outcome_event_id: impl Into<String>,
        stance: proto::Stance,
        summary: impl Into<String>,
    ) -> Self {
        Self(proto::AssessmentPublished {
            commitment_id: commitment_id.into(),
            outcome_event_id: outcome_event_id.into(),
            stance: stance as i32,
            summary: summary.into(),
            ..Default::default()
        })
    }

    /// Assess the commitment's latest outcome, without naming its event id.
    pub fn of_latest(
        commitment_id: impl Into<String>,
        stance: proto::Stance,
        summary: impl Into<String>,
    ) -> Self {
        Self::new(commitment_id, "", stance, summary)
    }

    /// The verdict the assessor thinks is right.
    pub fn verdict(mut self, verdict: proto::Verdict) -> Self {
        self.0.assessed_verdict = verdict as i32;
        self
    }

    pub fn evidence(mut self, link: proto::Link) -> Self {
        self.0.evidence.push(link);
        self
    }
}

impl From<Assessment> for Kind {
    fn from(assessment: Assessment) -> Self {
        Kind::AssessmentPublished(assessment.0)
    }
}

/// `commitment_adopted`: a public body adopts a pledge made before office and answers for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption(proto::CommitmentAdopted);

impl Adoption {
    pub fn new(commitment_id: impl Into<String>, adopted_on: Date) -> Self {
        Self(proto::CommitmentAdopted {
            commitment_id: commitment_id.into(),
            adopted_on: adopted_on.to_string(),
            note: String::new(),
        })
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.0.note = note.into();
        self
    }
}

impl From<Adoption> for Kind {
    fn from(adoption: Adoption) -> Self {
        Kind::CommitmentAdopted(adoption.0)
    }
}

/// `retraction`: a tombstone for one of the actor's own events published in error.
#[derive(Debug, Clone, PartialEq)]
pub struct Retraction(proto::Retraction);

impl Retraction {
    pub fn new(event_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(proto::Retraction {
            event_id: event_id.into(),
            reason: reason.into(),
        })
    }
}

impl From<Retraction> for Kind {
    fn from(retraction: Retraction) -> Self {
        Kind::Retraction(retraction.0)
    }
}

/// `actor_registered` (registrar only): a new actor that keys can be granted to.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorRegistration(proto::ActorRegistered);

impl ActorRegistration {
    pub fn new(
        actor_id: impl Into<String>,
        name: impl Into<String>,
        kind: proto::ActorKind,
    ) -> Self {
        Self(proto::ActorRegistered {
            actor_id: actor_id.into(),
            name: name.into(),
            kind: kind as i32,
            ..Default::default()
        })
    }

    /// External identifiers, for example `uk-parliament-member:4514` or `org-id:GB-CHC-1234567`.
    pub fn identifiers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        identifiers: I,
    ) -> Self {
        self.0.identifiers = strings(identifiers);
        self
    }

    /// For MPs: constituency and party at registration.
    pub fn seat(mut self, constituency: impl Into<String>, party: impl Into<String>) -> Self {
        self.0.constituency = constituency.into();
        self.0.party = party.into();
        self
    }

    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.0.url = url.into();
        self
    }
}

impl From<ActorRegistration> for Kind {
    fn from(registration: ActorRegistration) -> Self {
        Kind::ActorRegistered(registration.0)
    }
}

/// `key_granted` (registrar only): a key may speak for an actor in the given roles.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyGrant(proto::KeyGranted);

impl KeyGrant {
    pub fn new(
        key_id: impl Into<String>,
        public_key: PublicKey,
        actor_id: impl Into<String>,
        roles: &[proto::KeyRole],
    ) -> Self {
        Self(proto::KeyGranted {
            key_id: key_id.into(),
            public_key: public_key.to_vec(),
            actor_id: actor_id.into(),
            roles: roles.iter().map(|role| *role as i32).collect(),
        })
    }
}

impl From<KeyGrant> for Kind {
    fn from(grant: KeyGrant) -> Self {
        Kind::KeyGranted(grant.0)
    }
}

/// `key_revoked` (registrar only).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRevocation(proto::KeyRevoked);

impl KeyRevocation {
    pub fn new(key_id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(proto::KeyRevoked {
            key_id: key_id.into(),
            reason: reason.into(),
        })
    }
}

impl From<KeyRevocation> for Kind {
    fn from(revocation: KeyRevocation) -> Self {
        Kind::KeyRevoked(revocation.0)
    }
}

/// `actor_succeeded` (registrar only): a department renamed, merged or split.
#[derive(Debug, Clone, PartialEq)]
pub struct Succession(proto::ActorSucceeded);

impl Succession {
    pub fn new(
        predecessor_id: impl Into<String>,
        successor_id: impl Into<String>,
        kind: proto::SuccessionKind,
        effective_on: Date,
    ) -> Self {
        Self(proto::ActorSucceeded {
            predecessor_id: predecessor_id.into(),
            successor_id: successor_id.into(),
            kind: kind as i32,
            effective_on: effective_on.to_string(),
            ..Default::default()
        })
    }

    /// Only these open commitments pass (for a split); by default all of them do.
    pub fn commitments<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.0.commitment_ids = strings(ids);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.0.note = note.into();
        self
    }
}

impl From<Succession> for Kind {
    fn from(succession: Succession) -> Self {
        Kind::ActorSucceeded(succession.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::proto::{ActionType, AmendmentClass, MoneyStage, Verdict};

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn speaker() -> Speaker {
        Speaker::new("GB-GOV-23", "dcms-1", EventSigner::from_seed([4; 32])).unwrap()
    }

    #[test]
    fn sealed_events_verify_and_carry_their_header() {
        let speaker = speaker();
        let commitment =
            Commitment::new("c-1", "Council", "We will convene it.", date("2025-07-17"))
                .due_by(date("2026-03-31"))
                .themes(["community"]);
        let sealed = speaker
            .seal_with_id("01JZ0000000000000000000000", commitment, 1_752_710_400_000)
            .unwrap();
        assert_eq!(sealed.event_id, "01JZ0000000000000000000000");
        assert_eq!(sealed.actor, "GB-GOV-23");
        assert_eq!(sealed.kind, "commitment_made");
        assert_eq!(sealed.subject(), "acct.events.GB-GOV-23");
        let decoded = event::decode(&sealed.bytes).unwrap();
        assert!(covenant_core::signing::verify_envelope(
            &speaker.public_key(),
            &decoded.envelope
        ));
        assert_eq!(decoded.envelope.occurred_at_ms, 1_752_710_400_000);
    }

    #[test]
    fn invalid_events_are_refused_naming_the_field() {
        let speaker = speaker();
        let action = Action::new(
            "a-1",
            ["c-1"],
            ActionType::Funding,
            date("2025-09-01"),
            "Grant round opened.",
        )
        .money(Money::new(1000, "pounds", MoneyStage::Pledged));
        let error = speaker.seal(action, now_ms()).unwrap_err().to_string();
        assert!(error.contains("action_recorded.money.currency"), "{error}");

        let due_before_made =
            Commitment::new("c-2", "t", "x", date("2026-01-01")).due_by(date("2025-01-01"));
        let error = speaker
            .seal(due_before_made, now_ms())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("commitment_made.due_by: is before made_on"),
            "{error}"
        );

        let no_changes = Amendment::new("c-1", AmendmentClass::TargetChange, "moved");
        let error = speaker.seal(no_changes, now_ms()).unwrap_err().to_string();
        assert!(error.contains("commitment_amended.changes"), "{error}");

        let error = speaker
            .seal_with_id("not-an-id", Withdrawal::new("c-1", "dropped"), now_ms())
            .unwrap_err()
            .to_string();
        assert!(error.contains("event_id"), "{error}");
    }

    #[test]
    fn speaker_ids_are_checked() {
        let error = Speaker::new("has space", "k", EventSigner::from_seed([1; 32]))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("actor:"), "{error}");
    }

    #[test]
    fn every_builder_seals_into_its_kind() {
        let speaker = speaker();
        let on = date("2025-10-01");
        let events: Vec<(Kind, &str)> = vec![
            (
                Commitment::new("c", "t", "x", on)
                    .source(
                        proto::SourceKind::Covenant,
                        "Covenant",
                        "https://example.org",
                    )
                    .partners(["GB-CHC-1"])
                    .indicator(
                        Indicator::new("people", "count", true)
                            .baseline(1.0, Some(on))
                            .target(2.0, "2026-27"),
                    )
                    .into(),
                "commitment_made",
            ),
            (
                Amendment::new("c", AmendmentClass::Revision, "slipped")
                    .new_due_by(on)
                    .new_target_value(3.5)
                    .new_target_period("2027-28")
                    .new_text("new words")
                    .effective_on(on)
                    .add_source(source(
                        proto::SourceKind::PolicyPaper,
                        "Plan",
                        "https://example.org/p",
                    ))
                    .into(),
                "commitment_amended",
            ),
            (
                Amendment::new("c", AmendmentClass::TargetChange, "re-based")
                    .change_indicator("homes", proto::AmendedField::Comparator, "at_most")
                    .into(),
                "commitment_amended",
            ),
            (
                Commitment::new("c2", "t", "x", on)
                    .delivery_partners(["GB-GOV-2"])
                    .add_indicator(
                        Indicator::named(
                            "homes",
                            "homes built",
                            "homes",
                            proto::Comparator::Between,
                            1.0,
                        )
                        .upper(2.0)
                        .deadline(on),
                    )
                    .add_source(source(proto::SourceKind::Manifesto, "Manifesto", ""))
                    .evidence(link("plan", "https://example.org/plan"))
                    .into(),
                "commitment_made",
            ),
            (
                Adoption::new("c", on).note("King's Speech").into(),
                "commitment_adopted",
            ),
            (
                Assessment::of_latest("c", proto::Stance::Disputes, "s")
                    .verdict(Verdict::NotDelivered)
                    .into(),
                "assessment_published",
            ),
            (Withdrawal::new("c", "r").into(), "commitment_withdrawn"),
            (
                Action::new("a", ["c"], ActionType::Publication, on, "d")
                    .money(Money::gbp(5, MoneyStage::Spent))
                    .evidence(link("report", "https://example.org/r"))
                    .partners(["p"])
                    .into(),
                "action_recorded",
            ),
            (
                Outcome::new("c", Verdict::PartlyDelivered, on, "s")
                    .indicator_actual(1.5, "2025-26")
                    .measurement("homes", 1.5, on)
                    .evidence(link("e", "https://example.org/e"))
                    .lessons("l")
                    .into(),
                "outcome_reported",
            ),
            (
                Assessment::new("c", new_event_id(), proto::Stance::Disputes, "s")
                    .evidence(link("e", "https://example.org/e"))
                    .into(),
                "assessment_published",
            ),
            (
                Retraction::new(new_event_id(), "error").into(),
                "retraction",
            ),
            (
                ActorRegistration::new("uk-mp:1", "A Member", proto::ActorKind::Mp)
                    .identifiers(["uk-parliament-member:1"])
                    .seat("Somewhere", "Independent")
                    .url("https://members.parliament.uk/member/1")
                    .into(),
                "actor_registered",
            ),
            (
                KeyGrant::new("k", [7; 32], "uk-mp:1", &[proto::KeyRole::Emitter]).into(),
                "key_granted",
            ),
            (KeyRevocation::new("k", "lost").into(), "key_revoked"),
            (
                Succession::new("a", "b", proto::SuccessionKind::Merged, on)
                    .commitments(["c"])
                    .note("merged")
                    .into(),
                "actor_succeeded",
            ),
        ];
        for (kind, name) in events {
            let sealed = speaker.seal(kind, now_ms()).unwrap();
            assert_eq!(sealed.kind, name);
        }
    }

    #[test]
    fn derived_ids_are_deterministic_valid_ulids() {
        let first = derived_event_id(1_752_710_400_000, b"demo/commitment/1");
        assert_eq!(
            first,
            derived_event_id(1_752_710_400_000, b"demo/commitment/1")
        );
        assert_ne!(
            first,
            derived_event_id(1_752_710_400_000, b"demo/commitment/2")
        );
        assert!(event::is_valid_event_id(&first));
        let ulid: ulid::Ulid = first.parse().unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_752_710_400_000);
        assert!(event::is_valid_event_id(&new_event_id()));
        assert!(event::is_valid_event_id(&derived_event_id(-5, b"x")));
    }

    #[test]
    fn genesis_is_never_published() {
        let genesis = covenant_core::validate::genesis_envelope(proto::Genesis {
            origin: "example.org/log".into(),
            registrar_actor: "registrar".into(),
            registrars: vec![proto::RegistrarKey {
                key_id: "r".into(),
                public_key: vec![1; 32],
            }],
            description: String::new(),
        });
        let error = SealedEvent::from_bytes(prost::Message::encode_to_vec(&genesis)).unwrap_err();
        assert!(error.to_string().contains("genesis"), "{error}");
    }

    #[test]
    fn start_of_day_is_midnight_utc() {
        assert_eq!(start_of_day_ms(date("1970-01-02")), 86_400_000);
        assert_eq!(start_of_day_ms(date("2025-07-17")), 1_752_710_400_000);
    }
}
