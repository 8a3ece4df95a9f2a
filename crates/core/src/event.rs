//! Envelopes decoded and checked field by field.
//!
//! Protobuf fields are all optional on the wire, so decoding is where every required field is
//! checked and every bad value is named (`commitment_made.due_by: "2026-02-30" is not a date`).
//! What comes out is the schema's own types with their invariants checked: the envelope bytes
//! stay as received, and nothing is re-encoded.

use crate::MAX_ENVELOPE_BYTES;
use crate::proto::{self, Envelope, EventBody, event_body::Kind};
use prost::Message;

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Date(pub i32);

impl Date {
    /// Parse `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<i32> {
            let part = text.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self(days_from_civil(year, month, day)))
    }

    /// The date of a Unix time in milliseconds (UTC).
    pub fn from_unix_ms(ms: i64) -> Self {
        Self(ms.div_euclid(86_400_000) as i32)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i32 {
        self.0
    }

    pub fn year_month_day(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month, day) = self.year_month_day();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: i32) -> i32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil and civil_from_days.
fn days_from_civil(year: i32, month: i32, day: i32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

/// A field that is missing or has a bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// Dotted path of the field, for example `action_recorded.money.currency`.
    pub field: String,
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Why envelope bytes could not be decoded into a well-formed event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("envelope is {len} bytes, over the {MAX_ENVELOPE_BYTES}-byte limit")]
    Oversized { len: usize },
    #[error("envelope is not a valid protobuf Envelope: {0}")]
    Envelope(String),
    #[error("envelope body is not a valid protobuf EventBody: {0}")]
    Body(String),
    #[error("{0}")]
    Field(#[from] FieldError),
}

/// A decoded envelope whose fields have all been checked. Authority and state are not: that is
/// [`crate::validate`]'s job.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    pub envelope: Envelope,
    pub kind: Kind,
    /// blake3 of the envelope bytes: equal digests mean byte-identical envelopes.
    pub digest: [u8; 32],
}

impl DecodedEvent {
    pub fn event_id(&self) -> &str {
        &self.envelope.event_id
    }

    pub fn actor(&self) -> &str {
        &self.envelope.actor
    }

    /// The schema name of the event's kind, for example `commitment_made`.
    pub fn kind_name(&self) -> &'static str {
        kind_name(&self.kind)
    }
}

/// blake3 digest of envelope bytes.
pub fn envelope_digest(envelope_bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(envelope_bytes).as_bytes()
}

/// Decode envelope bytes and check every field.
pub fn decode(envelope_bytes: &[u8]) -> Result<DecodedEvent, DecodeError> {
    if envelope_bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(DecodeError::Oversized {
            len: envelope_bytes.len(),
        });
    }
    let envelope =
        Envelope::decode(envelope_bytes).map_err(|e| DecodeError::Envelope(e.to_string()))?;
    let body = EventBody::decode(envelope.body.as_slice())
        .map_err(|e| DecodeError::Body(e.to_string()))?;
    let kind = body
        .kind
        .ok_or_else(|| bad("body.kind", "no event kind is set"))?;
    check_header(&envelope, &kind)?;
    check_kind(&kind)?;
    Ok(DecodedEvent {
        envelope,
        kind,
        digest: envelope_digest(envelope_bytes),
    })
}

/// The schema name of an event kind.
pub fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Genesis(_) => "genesis",
        Kind::ActorRegistered(_) => "actor_registered",
        Kind::KeyGranted(_) => "key_granted",
        Kind::KeyRevoked(_) => "key_revoked",
        Kind::ActorSucceeded(_) => "actor_succeeded",
        Kind::CommitmentMade(_) => "commitment_made",
        Kind::CommitmentAmended(_) => "commitment_amended",
        Kind::CommitmentWithdrawn(_) => "commitment_withdrawn",
        Kind::ActionRecorded(_) => "action_recorded",
        Kind::OutcomeReported(_) => "outcome_reported",
        Kind::AssessmentPublished(_) => "assessment_published",
        Kind::Retraction(_) => "retraction",
    }
}

/// Whether an identifier is 1 to 128 characters from `[A-Za-z0-9._:/-]`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'))
}

/// Whether an event id is a ULID (26 Crockford base32 characters) or a UUIDv7 (canonical text).
pub fn is_valid_event_id(id: &str) -> bool {
    is_ulid(id) || is_uuid_v7(id)
}

fn is_ulid(id: &str) -> bool {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    id.len() == 26
        && id.as_bytes()[0] <= b'7'
        && id
            .bytes()
            .all(|b| CROCKFORD.contains(&b.to_ascii_uppercase()))
}

fn is_uuid_v7(id: &str) -> bool {
    let bytes = id.as_bytes();
    id.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-')
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| [8, 13, 18, 23].contains(&i) || b.is_ascii_hexdigit())
        && bytes[14] == b'7'
        && matches!(bytes[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
}

/// Every kind's header is checked, genesis included, so that no field of any envelope can carry
/// a value a door would choke on (a newline in a message id header, a subject over the
/// broker's line limit).
fn check_header(envelope: &Envelope, kind: &Kind) -> Result<(), FieldError> {
    if matches!(kind, Kind::Genesis(_)) {
        return check_genesis_header(envelope);
    }
    if !is_valid_event_id(&envelope.event_id) {
        return Err(bad(
            "event_id",
            format!(
                "{} is neither a ULID nor a UUIDv7",
                shorten(&envelope.event_id)
            ),
        ));
    }
    require_id("actor", &envelope.actor)?;
    require_id("key_id", &envelope.key_id)?;
    if envelope.signature.len() != 64 {
        return Err(bad(
            "signature",
            format!("must be 64 bytes, found {}", envelope.signature.len()),
        ));
    }
    Ok(())
}

/// Genesis is written by the ledger itself, unsigned, with a fixed header (SPEC.md): anything
/// else in its header is not a genesis entry any ledger wrote.
fn check_genesis_header(envelope: &Envelope) -> Result<(), FieldError> {
    if envelope.event_id != crate::validate::GENESIS_EVENT_ID {
        return Err(bad(
            "event_id",
            format!(
                "a genesis envelope's event id is {:?}, not {}",
                crate::validate::GENESIS_EVENT_ID,
                shorten(&envelope.event_id)
            ),
        ));
    }
    require_id("actor", &envelope.actor)?;
    if !envelope.key_id.is_empty() || !envelope.signature.is_empty() {
        return Err(bad(
            "key_id",
            "a genesis envelope is unsigned: key_id and signature must be empty",
        ));
    }
    if envelope.occurred_at_ms != 0 {
        return Err(bad("occurred_at_ms", "a genesis envelope's time is 0"));
    }
    Ok(())
}

/// A value quoted in an error message, cut to a length that keeps every message short
/// whatever the input.
pub fn shorten(value: &str) -> String {
    const SHOWN: usize = 64;
    if value.len() <= SHOWN {
        return format!("{value:?}");
    }
    let mut end = SHOWN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &value[..end], value.len())
}

fn require_id(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(bad(field, "is required"));
    }
    if !is_valid_id(value) {
        return Err(bad(
            field,
            format!(
                "{} is not a valid id (1-128 characters of A-Z a-z 0-9 . _ : / -)",
                shorten(value)
            ),
        ));
    }
    Ok(())
}

fn require_text(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(bad(field, "is required"));
    }
    Ok(())
}

fn require_date(field: &str, value: &str) -> Result<Date, FieldError> {
    if value.is_empty() {
        return Err(bad(field, "is required (YYYY-MM-DD)"));
    }
    Date::parse(value).ok_or_else(|| bad(field, format!("{value:?} is not a date (YYYY-MM-DD)")))
}

fn optional_date(field: &str, value: &str) -> Result<Option<Date>, FieldError> {
    if value.is_empty() {
        Ok(None)
    } else {
        require_date(field, value).map(Some)
    }
}

fn require_enum<E: TryFrom<i32>>(field: &str, value: i32) -> Result<(), FieldError> {
    if value == 0 || E::try_from(value).is_err() {
        return Err(bad(field, format!("{value} is not a known value")));
    }
    Ok(())
}

fn check_links(field: &str, links: &[proto::Link]) -> Result<(), FieldError> {
    for (index, link) in links.iter().enumerate() {
        require_text(&format!("{field}[{index}].url"), &link.url)?;
    }
    Ok(())
}

fn check_kind(kind: &Kind) -> Result<(), FieldError> {
    match kind {
        Kind::Genesis(genesis) => {
            require_text("genesis.origin", &genesis.origin)?;
            require_id("genesis.registrar_actor", &genesis.registrar_actor)?;
            if genesis.registrars.is_empty() {
                return Err(bad(
                    "genesis.registrars",
                    "at least one registrar key is required",
                ));
            }
            for (index, key) in genesis.registrars.iter().enumerate() {
                require_id(&format!("genesis.registrars[{index}].key_id"), &key.key_id)?;
                require_public_key(
                    &format!("genesis.registrars[{index}].public_key"),
                    &key.public_key,
                )?;
            }
        }
        Kind::ActorRegistered(actor) => {
            require_id("actor_registered.actor_id", &actor.actor_id)?;
            require_text("actor_registered.name", &actor.name)?;
            require_enum::<proto::ActorKind>("actor_registered.kind", actor.kind)?;
        }
        Kind::KeyGranted(grant) => {
            require_id("key_granted.key_id", &grant.key_id)?;
            require_public_key("key_granted.public_key", &grant.public_key)?;
            require_id("key_granted.actor_id", &grant.actor_id)?;
            if grant.roles.is_empty() {
                return Err(bad("key_granted.roles", "at least one role is required"));
            }
            for (index, role) in grant.roles.iter().enumerate() {
                require_enum::<proto::KeyRole>(&format!("key_granted.roles[{index}]"), *role)?;
            }
        }
        Kind::KeyRevoked(revoke) => require_id("key_revoked.key_id", &revoke.key_id)?,
        Kind::ActorSucceeded(succession) => {
            require_id("actor_succeeded.predecessor_id", &succession.predecessor_id)?;
            require_id("actor_succeeded.successor_id", &succession.successor_id)?;
            if succession.predecessor_id == succession.successor_id {
                return Err(bad(
                    "actor_succeeded.successor_id",
                    "must differ from the predecessor",
                ));
            }
            require_enum::<proto::SuccessionKind>("actor_succeeded.kind", succession.kind)?;
            require_date("actor_succeeded.effective_on", &succession.effective_on)?;
            for (index, id) in succession.commitment_ids.iter().enumerate() {
                require_id(&format!("actor_succeeded.commitment_ids[{index}]"), id)?;
            }
        }
        Kind::CommitmentMade(made) => check_commitment_made(made)?,
        Kind::CommitmentAmended(amended) => check_amendment(amended)?,
        Kind::CommitmentWithdrawn(withdrawn) => {
            require_id(
                "commitment_withdrawn.commitment_id",
                &withdrawn.commitment_id,
            )?;
            require_text("commitment_withdrawn.reason", &withdrawn.reason)?;
        }
        Kind::ActionRecorded(action) => check_action(action)?,
        Kind::OutcomeReported(outcome) => {
            require_id("outcome_reported.commitment_id", &outcome.commitment_id)?;
            require_enum::<proto::Verdict>("outcome_reported.verdict", outcome.verdict)?;
            require_date("outcome_reported.reported_on", &outcome.reported_on)?;
            if let Some(actual) = outcome.indicator_actual
                && !actual.is_finite()
            {
                return Err(bad(
                    "outcome_reported.indicator_actual",
                    "must be a finite number",
                ));
            }
            check_links("outcome_reported.evidence", &outcome.evidence)?;
        }
        Kind::AssessmentPublished(assessment) => {
            require_id(
                "assessment_published.commitment_id",
                &assessment.commitment_id,
            )?;
            if !is_valid_event_id(&assessment.outcome_event_id) {
                return Err(bad(
                    "assessment_published.outcome_event_id",
                    "must be the event id of an outcome",
                ));
            }
            require_enum::<proto::Stance>("assessment_published.stance", assessment.stance)?;
            require_text("assessment_published.summary", &assessment.summary)?;
            check_links("assessment_published.evidence", &assessment.evidence)?;
        }
        Kind::Retraction(retraction) => {
            if !is_valid_event_id(&retraction.event_id) {
                return Err(bad(
                    "retraction.event_id",
                    "must be the event id being retracted",
                ));
            }
            require_text("retraction.reason", &retraction.reason)?;
        }
    }
    Ok(())
}

fn require_public_key(field: &str, key: &[u8]) -> Result<(), FieldError> {
    if key.len() != 32 {
        return Err(bad(field, format!("must be 32 bytes, found {}", key.len())));
    }
    Ok(())
}

fn check_commitment_made(made: &proto::CommitmentMade) -> Result<(), FieldError> {
    require_id("commitment_made.commitment_id", &made.commitment_id)?;
    require_text("commitment_made.title", &made.title)?;
    require_text("commitment_made.text", &made.text)?;
    let made_on = require_date("commitment_made.made_on", &made.made_on)?;
    if let Some(due_by) = optional_date("commitment_made.due_by", &made.due_by)?
        && due_by < made_on
    {
        return Err(bad("commitment_made.due_by", "is before made_on"));
    }
    for (index, theme) in made.themes.iter().enumerate() {
        if theme.is_empty() || theme.chars().any(|c| c.is_uppercase() || c.is_whitespace()) {
            return Err(bad(
                &format!("commitment_made.themes[{index}]"),
                format!("{theme:?} must be a non-empty lower-case tag without spaces"),
            ));
        }
    }
    if let Some(source) = &made.source {
        require_enum::<proto::SourceKind>("commitment_made.source.kind", source.kind)?;
    }
    if let Some(indicator) = &made.indicator {
        require_text("commitment_made.indicator.measure", &indicator.measure)?;
        if !indicator.baseline_value.is_finite() || !indicator.target_value.is_finite() {
            return Err(bad(
                "commitment_made.indicator",
                "values must be finite numbers",
            ));
        }
        optional_date(
            "commitment_made.indicator.baseline_date",
            &indicator.baseline_date,
        )?;
    }
    Ok(())
}

fn check_amendment(amended: &proto::CommitmentAmended) -> Result<(), FieldError> {
    require_id("commitment_amended.commitment_id", &amended.commitment_id)?;
    require_enum::<proto::AmendmentClass>("commitment_amended.class", amended.class)?;
    require_text("commitment_amended.rationale", &amended.rationale)?;
    if amended.changes.is_empty() {
        return Err(bad(
            "commitment_amended.changes",
            "at least one change is required",
        ));
    }
    for (index, change) in amended.changes.iter().enumerate() {
        let field = format!("commitment_amended.changes[{index}]");
        require_enum::<proto::AmendedField>(&format!("{field}.field"), change.field)?;
        let value = &change.new_value;
        match proto::AmendedField::try_from(change.field) {
            Ok(proto::AmendedField::DueBy) => {
                require_date(&format!("{field}.new_value"), value)?;
            }
            Ok(proto::AmendedField::TargetValue) => {
                if !value.parse::<f64>().is_ok_and(f64::is_finite) {
                    return Err(bad(
                        &format!("{field}.new_value"),
                        format!("{value:?} is not a number"),
                    ));
                }
            }
            _ => require_text(&format!("{field}.new_value"), value)?,
        }
    }
    Ok(())
}

fn check_action(action: &proto::ActionRecorded) -> Result<(), FieldError> {
    require_id("action_recorded.action_id", &action.action_id)?;
    if action.commitment_ids.is_empty() {
        return Err(bad(
            "action_recorded.commitment_ids",
            "at least one commitment is required",
        ));
    }
    for (index, id) in action.commitment_ids.iter().enumerate() {
        require_id(&format!("action_recorded.commitment_ids[{index}]"), id)?;
    }
    require_enum::<proto::ActionType>("action_recorded.type", action.r#type)?;
    require_date("action_recorded.taken_on", &action.taken_on)?;
    require_text("action_recorded.description", &action.description)?;
    if let Some(money) = &action.money {
        if money.amount_minor < 0 {
            return Err(bad(
                "action_recorded.money.amount_minor",
                "must not be negative",
            ));
        }
        if money.currency.len() != 3 || !money.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(
                "action_recorded.money.currency",
                format!("{:?} is not an ISO 4217 code such as GBP", money.currency),
            ));
        }
        require_enum::<proto::MoneyStage>("action_recorded.money.stage", money.stage)?;
    }
    check_links("action_recorded.evidence", &action.evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_and_print() {
        assert_eq!(Date::parse("1970-01-01"), Some(Date(0)));
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        assert_eq!(
            Date::parse("2000-03-01").unwrap().days() - Date::parse("2000-02-28").unwrap().days(),
            2
        );
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "",
            "2026-00-10",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        for days in -1000..1000 {
            let date = Date(days * 37);
            assert_eq!(Date::parse(&date.to_string()), Some(date));
        }
        assert_eq!(Date::from_unix_ms(86_400_000 * 3 + 5), Date(3));
    }

    #[test]
    fn event_ids_are_ulids_or_uuid_v7() {
        assert!(is_valid_event_id("01JDQ7Z6X5K3T9V2B8N4M1P0QR"));
        assert!(is_valid_event_id("01937e9c-3b4a-7c1d-8e2f-0123456789ab"));
        assert!(
            !is_valid_event_id("01937e9c-3b4a-4c1d-8e2f-0123456789ab"),
            "v4 uuid"
        );
        assert!(
            !is_valid_event_id("01JDQ7Z6X5K3T9V2B8N4M1P0QU"),
            "U is not Crockford"
        );
        assert!(!is_valid_event_id("hello"));
    }

    #[test]
    fn oversized_and_garbage_are_named() {
        assert!(matches!(
            decode(&vec![0; MAX_ENVELOPE_BYTES + 1]),
            Err(DecodeError::Oversized { .. })
        ));
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Envelope(_))
        ));
        let no_kind = Envelope::default().encode_to_vec();
        assert_eq!(
            decode(&no_kind).unwrap_err().to_string(),
            "body.kind: no event kind is set"
        );
    }
}
