//! Events from rows: a CSV file (one row per event), a JSON array or JSON lines (one object per
//! event), or command-line flags. Every row names its `kind`; the other columns are the event's
//! fields, listed in docs/EMITTERS.md. Errors name the row and the column:
//! `row 7, due_by: "2026-02-30" is not a date (YYYY-MM-DD)`.
//!
//! When a row gives no `event_id`, the id is derived from the row's content and `occurred_at`,
//! keyed with the emitter's secret key ([`crate::build::Speaker::derived_event_id`]): publishing
//! the same file twice publishes the same events, which the ledger takes once, and nobody
//! without the key can predict an id to publish something else under it first. When a row gives no `occurred_at`, it is midnight UTC
//! of the event's own date (`made_on`, `taken_on`, `reported_on`), or now for kinds without one.

mod body;
mod columns;
mod error;
mod event_id;
mod read;
mod row;
mod values;

pub use body::DEFAULT_INDICATOR_ID;
pub use columns::{COLUMNS, KINDS};
pub use error::{Location, RowError};
pub use read::{read_csv, read_json};
pub use row::{Cell, Row};
pub use values::{parse_money, parse_target, parse_timestamp};

use crate::build::{self, SealedEvent, Speaker};
use covenant_core::event::{Date, DecodeError};
use covenant_core::proto::event_body::Kind;
use error::column_of;

/// An event read from a row, before it is sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct RowEvent {
    pub kind: Kind,
    /// The row's `event_id`, if it gave one.
    pub event_id: Option<String>,
    /// The row's `occurred_at`, if it gave one.
    pub occurred_at_ms: Option<i64>,
    /// The event's own date (`made_on`, `taken_on`, `reported_on`), if its kind has one.
    pub dated: Option<Date>,
}

/// Turn a row into an event body, checking every column.
pub fn row_event(row: &Row) -> Result<RowEvent, RowError> {
    let kind_name = row.kind()?;
    row.check_columns(kind_name)?;
    let event_id = row.get("event_id").map(str::to_owned);
    if let Some(id) = &event_id
        && !covenant_core::event::is_valid_event_id(id)
    {
        return Err(row.error("event_id", format!("{id:?} is neither a ULID nor a UUIDv7")));
    }
    let occurred_at_ms = match row.get("occurred_at") {
        Some(text) => Some(
            parse_timestamp(text)
                .ok_or_else(|| row.error("occurred_at", format!("{text:?} is not a date (YYYY-MM-DD), a UTC time (YYYY-MM-DDTHH:MM:SSZ) or milliseconds since 1970")))?,
        ),
        None => None,
    };
    let (kind, dated) = body::event_body(kind_name, row)?;
    Ok(RowEvent {
        kind,
        event_id,
        occurred_at_ms,
        dated,
    })
}

/// Seal a row as `speaker`: assign its event id and time, sign, and check every field, naming
/// the column on failure. `now_ms` caps defaulted times so none lies in the future.
pub fn seal_row(speaker: &Speaker, row: &Row, now_ms: i64) -> Result<SealedEvent, RowError> {
    if let Some(actor) = row.get("actor")
        && actor != speaker.actor()
    {
        return Err(row.error(
            "actor",
            format!(
                "{actor} is not the actor this key speaks for ({})",
                speaker.actor()
            ),
        ));
    }
    let event = row_event(row)?;
    if let Some(date) = event.dated {
        refuse_future(row, date, now_ms)?;
    }
    let occurred_at_ms = event.occurred_at_ms.unwrap_or_else(|| match event.dated {
        Some(date) => build::start_of_day_ms(date).min(now_ms),
        None => now_ms,
    });
    let event_id = match &event.event_id {
        Some(id) => id.clone(),
        None => event_id::derived_event_id(speaker, &event.kind, occurred_at_ms),
    };
    speaker
        .seal_with_id(&event_id, event.kind, occurred_at_ms)
        .map_err(|error| match error {
            crate::EmitError::InvalidEvent(DecodeError::Field(field)) => {
                row.error(&column_of(&field.field), field.problem)
            }
            other => row.error("", other.to_string()),
        })
}

/// The days after today (UTC) an event's own date may fall, for emitters whose local day is
/// ahead of UTC's.
const DAYS_AHEAD_ALLOWED: i32 = 1;

/// Refuse an event dated after tomorrow: what was made, done, reported or adopted has
/// happened, and a date still to come belongs in `due_by` (its id, derived from its time,
/// would also change from one run to the next).
fn refuse_future(row: &Row, date: Date, now_ms: i64) -> Result<(), RowError> {
    let today = Date::from_unix_ms(now_ms);
    if date.days() <= today.days() + DAYS_AHEAD_ALLOWED {
        return Ok(());
    }
    let column = row.kind().ok().and_then(body::date_column).unwrap_or("");
    Err(row.error(
        column,
        format!(
            "{date} is in the future (today is {today} UTC): publish what has happened, once it has; a date still to come belongs in due_by"
        ),
    ))
}

#[cfg(test)]
mod tests;
