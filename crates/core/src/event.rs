//! Envelopes decoded and checked field by field.
//!
//! Protobuf fields are all optional on the wire, so decoding is where every required field is
//! checked and every bad value is named (`commitment_made.due_by: "2026-02-30" is not a date`).
//! What comes out is the schema's own types with their invariants checked: the envelope bytes
//! stay as received, and nothing is re-encoded.

use crate::MAX_ENVELOPE_BYTES;
use crate::SchemaName;
use crate::proto::{self, Envelope, EventBody, event_body::Kind};
use prost::Message;

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Date(pub i32);

impl Date {
    /// The years a date may have: a commitment, action or outcome of public life falls
    /// between these, and four digits print every one of them the same way.
    pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

    /// Parse `YYYY-MM-DD`, a valid Gregorian date in [`Date::YEARS`].
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
        if !Self::YEARS.contains(&year)
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
        {
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
    /// The bytes decode, but are not the one canonical encoding of what they decode to, so
    /// someone without the key could have re-encoded a signed envelope (docs/SPEC.md 2.2).
    #[error(
        "{part} is not in canonical protobuf encoding (fields in number order, each once, no unknown or default-valued fields, minimal varints, packed repeated numbers)"
    )]
    NonCanonical { part: CanonicalPart },
    #[error("{0}")]
    Field(#[from] FieldError),
}

/// Which encoded message broke the canonical encoding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanonicalPart {
    Envelope,
    Body,
}

impl CanonicalPart {
    /// The name used for the offending field in rejections and vectors.
    pub fn field(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::Body => "body",
        }
    }
}

impl std::fmt::Display for CanonicalPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Envelope => "the envelope",
            Self::Body => "the envelope's body",
        })
    }
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
    // One byte string per message: prost writes the canonical encoding and drops what it does
    // not know on decoding, so any other bytes (unknown, repeated, reordered or default-valued
    // fields, long varints, two event kinds) encode back differently.
    if envelope.encoded_len() != envelope_bytes.len() || envelope.encode_to_vec() != envelope_bytes
    {
        return Err(DecodeError::NonCanonical {
            part: CanonicalPart::Envelope,
        });
    }
    if body.encode_to_vec() != envelope.body {
        return Err(DecodeError::NonCanonical {
            part: CanonicalPart::Body,
        });
    }
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
    kind.event_kind().name()
}

/// The longest URL accepted in a link or source.
pub const MAX_URL_BYTES: usize = 2048;

/// Whether `text` is an absolute `http` or `https` URL as docs/SPEC.md defines it: the scheme,
/// `://`, a host of letters, digits, dots and hyphens (with at least one dot, or `localhost`),
/// an optional port, then optionally a path, query or fragment; printable ASCII only, with no
/// spaces and none of `"<>\^`{|}`; at most [`MAX_URL_BYTES`] bytes.
pub fn is_valid_url(text: &str) -> bool {
    if text.len() > MAX_URL_BYTES {
        return false;
    }
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && !host.contains("..")
        && (host.contains('.') || host == "localhost");
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    });
    let tail_ok = tail.bytes().all(|b| {
        b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            )
    });
    host_ok && port_ok && tail_ok
}

/// Whether an identifier is 1 to 128 characters from `[A-Za-z0-9._:/-]`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'))
}

/// Whether an event id is a ULID (26 upper-case Crockford base32 characters) or a UUIDv7 (its
/// canonical lower-case text). One spelling per id: an id that differed only in case would
/// name the same event twice.
pub fn is_valid_event_id(id: &str) -> bool {
    is_ulid(id) || is_uuid_v7(id)
}

fn is_ulid(id: &str) -> bool {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    id.len() == 26 && id.as_bytes()[0] <= b'7' && id.bytes().all(|b| CROCKFORD.contains(&b))
}

fn is_uuid_v7(id: &str) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    let bytes = id.as_bytes();
    id.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| {
            if DASHES.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
        && bytes[14] == b'7'
        && matches!(bytes[19], b'8' | b'9' | b'a' | b'b')
}

/// The latest `occurred_at_ms` an envelope may carry: the last millisecond of year 9999.
pub const MAX_OCCURRED_AT_MS: i64 = 253_402_300_799_999;

/// Whether `text` is a decimal number as the schema writes them in text: an optional minus,
/// digits without a leading zero, and an optional fraction; no exponent, sign, spaces or
/// separators; at most [`MAX_NUMBER_CHARS`] characters.
pub fn is_valid_number(text: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    text.len() <= MAX_NUMBER_CHARS
        && digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(digits)
}

/// The longest number written as text.
pub const MAX_NUMBER_CHARS: usize = 32;

/// The seven seed values, in the order the covenant lists them: the themes every commitment
/// may be filed under besides free tags.
pub const SEED_THEMES: [&str; 7] = [
    "sustainability",
    "safety",
    "equity",
    "dignity",
    "opportunity",
    "community",
    "love",
];

/// The longest theme tag.
pub const MAX_THEME_CHARS: usize = 64;

/// Whether a theme is a tag of lower-case ASCII letters and digits in words joined by single
/// hyphens (`civil-society`), at most [`MAX_THEME_CHARS`] characters.
pub fn is_valid_theme(theme: &str) -> bool {
    theme.len() <= MAX_THEME_CHARS
        && theme.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Every kind's header is checked, genesis included, so that no field of any envelope can carry
/// a value a door would choke on (a newline in a message id header, a subject over the
/// broker's line limit).
fn check_header(envelope: &Envelope, kind: &Kind) -> Result<(), FieldError> {
    if let Kind::Genesis(genesis) = kind {
        return check_genesis_header(envelope, genesis);
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
    if !(0..=MAX_OCCURRED_AT_MS).contains(&envelope.occurred_at_ms) {
        return Err(bad(
            "occurred_at_ms",
            format!(
                "{} is outside 0 to {MAX_OCCURRED_AT_MS} (1970 to the end of 9999)",
                envelope.occurred_at_ms
            ),
        ));
    }
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
fn check_genesis_header(envelope: &Envelope, genesis: &proto::Genesis) -> Result<(), FieldError> {
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
    if envelope.actor != genesis.registrar_actor {
        return Err(bad(
            "actor",
            "a genesis envelope is spoken by the registrar actor it names",
        ));
    }
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

fn require_url(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(bad(field, "is required"));
    }
    if !is_valid_url(value) {
        return Err(bad(
            field,
            format!("{value:?} is not an absolute http or https URL (docs/SPEC.md)"),
        ));
    }
    Ok(())
}

fn optional_enum<E: TryFrom<i32>>(field: &str, value: i32) -> Result<(), FieldError> {
    if value != 0 {
        require_enum::<E>(field, value)?;
    }
    Ok(())
}

fn check_links(field: &str, links: &[proto::Link]) -> Result<(), FieldError> {
    for (index, link) in links.iter().enumerate() {
        require_url(&format!("{field}[{index}].url"), &link.url)?;
        optional_enum::<proto::SourceKind>(&format!("{field}[{index}].kind"), link.kind)?;
    }
    Ok(())
}

fn check_source(field: &str, source: &proto::Source) -> Result<(), FieldError> {
    require_enum::<proto::SourceKind>(&format!("{field}.kind"), source.kind)?;
    if !source.url.is_empty() {
        require_url(&format!("{field}.url"), &source.url)?;
    }
    Ok(())
}

fn check_sources(field: &str, sources: &[proto::Source]) -> Result<(), FieldError> {
    for (index, source) in sources.iter().enumerate() {
        check_source(&format!("{field}[{index}]"), source)?;
    }
    Ok(())
}

fn require_finite(field: &str, value: Option<f64>) -> Result<(), FieldError> {
    if value.is_some_and(|value| !value.is_finite()) {
        return Err(bad(field, "must be a finite number"));
    }
    Ok(())
}

/// Ids in a list are valid and appear once each.
fn require_distinct_ids(field: &str, ids: &[String]) -> Result<(), FieldError> {
    for (index, id) in ids.iter().enumerate() {
        require_id(&format!("{field}[{index}]"), id)?;
        if ids[..index].contains(id) {
            return Err(bad(
                &format!("{field}[{index}]"),
                format!("{id:?} is listed twice"),
            ));
        }
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
            if !actor.url.is_empty() {
                require_url("actor_registered.url", &actor.url)?;
            }
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
            require_finite(
                "outcome_reported.indicator_actual",
                outcome.indicator_actual,
            )?;
            check_links("outcome_reported.evidence", &outcome.evidence)?;
            for (index, measurement) in outcome.measurements.iter().enumerate() {
                let field = format!("outcome_reported.measurements[{index}]");
                require_id(&format!("{field}.indicator_id"), &measurement.indicator_id)?;
                require_finite(&format!("{field}.value"), Some(measurement.value))?;
                require_date(&format!("{field}.measured_on"), &measurement.measured_on)?;
            }
        }
        Kind::AssessmentPublished(assessment) => {
            require_id(
                "assessment_published.commitment_id",
                &assessment.commitment_id,
            )?;
            if !assessment.outcome_event_id.is_empty()
                && !is_valid_event_id(&assessment.outcome_event_id)
            {
                return Err(bad(
                    "assessment_published.outcome_event_id",
                    "must be the event id of an outcome, or empty for the latest outcome",
                ));
            }
            require_enum::<proto::Stance>("assessment_published.stance", assessment.stance)?;
            optional_enum::<proto::Verdict>(
                "assessment_published.assessed_verdict",
                assessment.assessed_verdict,
            )?;
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
        Kind::CommitmentAdopted(adopted) => {
            require_id("commitment_adopted.commitment_id", &adopted.commitment_id)?;
            require_date("commitment_adopted.adopted_on", &adopted.adopted_on)?;
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
        if !is_valid_theme(theme) {
            return Err(bad(
                &format!("commitment_made.themes[{index}]"),
                format!(
                    "{} must be lower-case letters and digits in words joined by hyphens, at most {MAX_THEME_CHARS} characters",
                    shorten(theme)
                ),
            ));
        }
    }
    if let Some(source) = &made.source {
        check_source("commitment_made.source", source)?;
    }
    check_sources("commitment_made.sources", &made.sources)?;
    check_links("commitment_made.evidence", &made.evidence)?;
    require_distinct_ids("commitment_made.delivery_partners", &made.delivery_partners)?;
    if let Some(indicator) = &made.indicator {
        if !made.indicators.is_empty() {
            return Err(bad(
                "commitment_made.indicator",
                "give either the single indicator or indicators, not both",
            ));
        }
        check_indicator("commitment_made.indicator", indicator, false)?;
    }
    let mut seen: Vec<&str> = vec![];
    for (index, indicator) in made.indicators.iter().enumerate() {
        let field = format!("commitment_made.indicators[{index}]");
        check_indicator(&field, indicator, true)?;
        if seen.contains(&indicator.indicator_id.as_str()) {
            return Err(bad(
                &format!("{field}.indicator_id"),
                format!("{:?} is used twice", indicator.indicator_id),
            ));
        }
        seen.push(&indicator.indicator_id);
    }
    Ok(())
}

/// One indicator. In `indicators` (`named`) it needs an id, a comparator and a target; the
/// single legacy indicator needs neither.
fn check_indicator(
    field: &str,
    indicator: &proto::Indicator,
    named: bool,
) -> Result<(), FieldError> {
    require_text(&format!("{field}.measure"), &indicator.measure)?;
    require_finite(&format!("{field}.baseline_value"), indicator.baseline_value)?;
    require_finite(&format!("{field}.target_value"), indicator.target_value)?;
    require_finite(&format!("{field}.target_upper"), indicator.target_upper)?;
    optional_date(&format!("{field}.baseline_date"), &indicator.baseline_date)?;
    optional_date(&format!("{field}.deadline"), &indicator.deadline)?;
    if named {
        require_id(&format!("{field}.indicator_id"), &indicator.indicator_id)?;
        require_enum::<proto::Comparator>(&format!("{field}.comparator"), indicator.comparator)?;
        if indicator.target_value.is_none() {
            return Err(bad(&format!("{field}.target_value"), "is required"));
        }
    } else {
        optional_enum::<proto::Comparator>(&format!("{field}.comparator"), indicator.comparator)?;
    }
    let between = indicator.comparator == proto::Comparator::Between as i32;
    match (between, indicator.target_value, indicator.target_upper) {
        (true, Some(lower), Some(upper)) if upper < lower => Err(bad(
            &format!("{field}.target_upper"),
            "is below target_value",
        )),
        (true, _, None) => Err(bad(
            &format!("{field}.target_upper"),
            "is required for a between target",
        )),
        (false, _, Some(_)) => Err(bad(
            &format!("{field}.target_upper"),
            "is only for a between target",
        )),
        _ => Ok(()),
    }
}

/// The fields an amendment of each class may change. Wording (text and title) may change with
/// any class, since a changed target is usually restated in new words.
pub fn class_allows(class: proto::AmendmentClass, field: proto::AmendedField) -> bool {
    use proto::AmendedField as F;
    use proto::AmendmentClass as C;
    match field {
        F::Text | F::Title => class != C::Unspecified,
        F::Scope => matches!(class, C::Clarification | C::ScopeChange | C::Revision),
        F::TargetValue | F::TargetPeriod | F::Comparator => {
            matches!(class, C::TargetChange | C::Revision)
        }
        F::DueBy => matches!(class, C::DeadlineChange | C::Revision),
        F::Unspecified => false,
    }
}

/// The comparator an amendment names, from its text form.
pub fn parse_comparator(text: &str) -> Option<proto::Comparator> {
    proto::Comparator::from_schema_name(text)
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
    let class = proto::AmendmentClass::try_from(amended.class).unwrap_or_default();
    optional_date("commitment_amended.effective_on", &amended.effective_on)?;
    check_sources("commitment_amended.sources", &amended.sources)?;
    for (index, change) in amended.changes.iter().enumerate() {
        let field = format!("commitment_amended.changes[{index}]");
        require_enum::<proto::AmendedField>(&format!("{field}.field"), change.field)?;
        let kind = proto::AmendedField::try_from(change.field).unwrap_or_default();
        if !class_allows(class, kind) {
            return Err(bad(
                &format!("{field}.field"),
                format!(
                    "a {} amendment cannot change {} (docs/SPEC.md lists what each class may change)",
                    class.schema_name(),
                    kind.schema_name()
                ),
            ));
        }
        let per_indicator = matches!(
            kind,
            proto::AmendedField::TargetValue
                | proto::AmendedField::TargetPeriod
                | proto::AmendedField::Comparator
        );
        if !change.indicator_id.is_empty() {
            if !per_indicator {
                return Err(bad(
                    &format!("{field}.indicator_id"),
                    "only a target, period or comparator change names an indicator",
                ));
            }
            require_id(&format!("{field}.indicator_id"), &change.indicator_id)?;
        }
        let repeated = amended.changes[..index].iter().any(|earlier| {
            earlier.field == change.field && earlier.indicator_id == change.indicator_id
        });
        if repeated {
            return Err(bad(
                &format!("{field}.field"),
                "changes the same field twice in one amendment",
            ));
        }
        let value = &change.new_value;
        match kind {
            proto::AmendedField::DueBy => {
                require_date(&format!("{field}.new_value"), value)?;
            }
            proto::AmendedField::TargetValue => {
                if !is_valid_number(value) {
                    return Err(bad(
                        &format!("{field}.new_value"),
                        format!(
                            "{} is not a decimal number such as 95 or -0.5",
                            shorten(value)
                        ),
                    ));
                }
            }
            proto::AmendedField::Comparator => {
                if parse_comparator(value).is_none() {
                    return Err(bad(
                        &format!("{field}.new_value"),
                        format!("{value:?} is not at_least, at_most, exactly or between"),
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
    require_distinct_ids("action_recorded.commitment_ids", &action.commitment_ids)?;
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
        if !crate::currency::is_iso_4217(&money.currency) {
            return Err(bad(
                "action_recorded.money.currency",
                format!(
                    "{} is not an ISO 4217 currency code such as GBP",
                    shorten(&money.currency)
                ),
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
        for bad in ["1899-12-31", "0000-01-01", "0001-01-01"] {
            assert_eq!(Date::parse(bad), None, "{bad} is before 1900");
        }
        assert!(Date::parse("1900-01-01").is_some());
        assert!(Date::parse("9999-12-31").is_some());
        for days in -600..1000 {
            let date = Date(days * 37);
            assert_eq!(Date::parse(&date.to_string()), Some(date));
        }
        assert_eq!(Date::from_unix_ms(86_400_000 * 3 + 5), Date(3));
    }

    /// The calendar's edges: the Gregorian leap rule at 100 and 400 years, the 30-day months,
    /// each separator on its own, and the last day of a 400-year cycle printed back.
    #[test]
    fn the_calendar_edges_parse_and_print_back() {
        for good in [
            "2000-02-29",
            "2400-02-29",
            "2026-04-30",
            "2026-06-30",
            "2026-09-30",
            "2026-11-30",
            "2026-12-31",
        ] {
            assert_eq!(
                Date::parse(good).map(|d| d.to_string()),
                Some(good.to_owned()),
                "{good}"
            );
        }
        for bad in [
            "1900-02-29",
            "2100-02-29",
            "2026-04-31",
            "2026-06-31",
            "2026-09-31",
            "2026-11-31",
            "2026-01/01",
            "2026/01-01",
            "2026-01-1x",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        let leap_day = Date::parse("2000-02-29").unwrap();
        assert_eq!(Date(leap_day.days() + 1).to_string(), "2000-03-01");
        assert_eq!(Date(leap_day.days() - 1).to_string(), "2000-02-28");
    }

    fn made(due_by: &str) -> proto::CommitmentMade {
        proto::CommitmentMade {
            commitment_id: "c-1".into(),
            title: "Joint council".into(),
            text: "We will set up a joint council.".into(),
            made_on: "2026-01-10".into(),
            due_by: due_by.into(),
            ..Default::default()
        }
    }

    fn field_of(result: Result<(), FieldError>) -> Option<String> {
        result.err().map(|error| error.field)
    }

    #[test]
    fn a_commitment_is_due_on_or_after_it_was_made_and_needs_its_words() {
        assert_eq!(field_of(check_commitment_made(&made(""))), None);
        assert_eq!(field_of(check_commitment_made(&made("2026-01-10"))), None);
        assert_eq!(
            field_of(check_commitment_made(&made("2026-01-09"))),
            Some("commitment_made.due_by".into())
        );
        assert_eq!(
            field_of(check_commitment_made(&made("2026-02-30"))),
            Some("commitment_made.due_by".into())
        );
        let blank_title = proto::CommitmentMade {
            title: " \t".into(),
            ..made("")
        };
        assert_eq!(
            field_of(check_commitment_made(&blank_title)),
            Some("commitment_made.title".into())
        );
    }

    #[test]
    fn an_amended_deadline_is_a_date_and_an_amended_target_a_number() {
        let amended = |field: proto::AmendedField, new_value: &str| proto::CommitmentAmended {
            commitment_id: "c-1".into(),
            class: proto::AmendmentClass::Revision as i32,
            rationale: "The spending review moved it.".into(),
            changes: vec![proto::FieldChange {
                field: field as i32,
                new_value: new_value.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let new_value = Some("commitment_amended.changes[0].new_value".to_owned());
        let (due_by, target) = (proto::AmendedField::DueBy, proto::AmendedField::TargetValue);
        assert_eq!(
            field_of(check_amendment(&amended(due_by, "2027-03-31"))),
            None
        );
        assert_eq!(
            field_of(check_amendment(&amended(due_by, "next spring"))),
            new_value
        );
        assert_eq!(field_of(check_amendment(&amended(target, "-0.5"))), None);
        assert_eq!(
            field_of(check_amendment(&amended(target, "about 95"))),
            new_value
        );
    }

    #[test]
    fn an_action_spends_no_negative_money() {
        let action = |amount_minor: i64| proto::ActionRecorded {
            action_id: "a-1".into(),
            commitment_ids: vec!["c-1".into()],
            r#type: proto::ActionType::Funding as i32,
            taken_on: "2026-02-01".into(),
            description: "Grant to the council secretariat".into(),
            money: Some(proto::Money {
                amount_minor,
                currency: "GBP".into(),
                stage: proto::MoneyStage::Spent as i32,
            }),
            ..Default::default()
        };
        assert_eq!(field_of(check_action(&action(0))), None);
        assert_eq!(
            field_of(check_action(&action(-1))),
            Some("action_recorded.money.amount_minor".into())
        );
    }

    #[test]
    fn a_granted_key_is_32_bytes() {
        let grant = |len: usize| {
            Kind::KeyGranted(proto::KeyGranted {
                key_id: "k-1".into(),
                public_key: vec![1; len],
                actor_id: "GB-GOV-DCMS".into(),
                roles: vec![proto::KeyRole::Emitter as i32],
            })
        };
        assert_eq!(field_of(check_kind(&grant(32))), None);
        for len in [0, 31, 33] {
            assert_eq!(
                field_of(check_kind(&grant(len))),
                Some("key_granted.public_key".into()),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn ids_are_1_to_128_characters_of_the_allowed_set() {
        for good in ["GB-GOV-DCMS", "a", "c:1/x_y.z", &"a".repeat(128)] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in ["", &"a".repeat(129), "a b", "caf\u{e9}", "a+b"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    /// Error messages quote at most 64 bytes of a value, cut on a character boundary.
    #[test]
    fn values_in_messages_are_quoted_and_cut_short() {
        assert_eq!(shorten("abc"), "\"abc\"");
        let longest = "a".repeat(64);
        assert_eq!(shorten(&longest), format!("{longest:?}"));
        assert_eq!(
            shorten(&"a".repeat(65)),
            format!("{longest:?}... (65 bytes)")
        );
        // Byte 64 falls inside the 32nd two-byte character, so the cut is at 63.
        let accented = format!("a{}", "\u{e9}".repeat(40));
        assert_eq!(
            shorten(&accented),
            format!("{:?}... (81 bytes)", &accented[..63])
        );
    }

    /// A genesis envelope is unsigned: a key id alone or a signature alone is refused.
    #[test]
    fn a_genesis_header_carries_neither_key_id_nor_signature() {
        let genesis = proto::Genesis {
            registrar_actor: "registrar".into(),
            ..Default::default()
        };
        let header = |key_id: &str, signature: Vec<u8>| Envelope {
            event_id: crate::validate::GENESIS_EVENT_ID.into(),
            actor: "registrar".into(),
            key_id: key_id.into(),
            signature,
            ..Default::default()
        };
        assert_eq!(
            field_of(check_genesis_header(&header("", vec![]), &genesis)),
            None
        );
        for (key_id, signature) in [("k-1", vec![]), ("", vec![7; 64]), ("k-1", vec![7; 64])] {
            assert_eq!(
                field_of(check_genesis_header(&header(key_id, signature), &genesis)),
                Some("key_id".into())
            );
        }
    }

    #[test]
    fn the_canonical_parts_are_named_as_in_rejections() {
        assert_eq!(CanonicalPart::Envelope.field(), "envelope");
        assert_eq!(CanonicalPart::Body.field(), "body");
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
        // The limit itself is allowed: these bytes are refused for what they are.
        assert!(matches!(
            decode(&vec![0; MAX_ENVELOPE_BYTES]),
            Err(DecodeError::Envelope(_))
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
