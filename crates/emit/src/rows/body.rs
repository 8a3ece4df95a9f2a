//! The event body each kind of row describes: one function per kind, reading and checking that
//! kind's columns.

use super::error::RowError;
use super::row::Row;
use super::values::{parse_indicator, parse_money, parse_target, schema_value};
use crate::build;
use covenant_core::SchemaName;
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};

/// The column that holds the event's own date, for the kinds that have one.
pub(super) fn date_column(kind_name: &str) -> Option<&'static str> {
    match kind_name {
        "commitment" => Some("made_on"),
        "amendment" => Some("effective_on"),
        "action" => Some("taken_on"),
        "outcome" => Some("reported_on"),
        "adoption" => Some("adopted_on"),
        _ => None,
    }
}

/// The id a single named indicator gets when its row names none.
pub const DEFAULT_INDICATOR_ID: &str = "main";

/// The event body a row of kind `kind_name` (one of [`super::KINDS`]) describes, and the event's
/// own date when its kind has one.
pub(super) fn event_body(kind_name: &str, row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let (kind, dated) = match kind_name {
        "commitment" => commitment(row)?,
        "amendment" => amendment(row)?,
        "withdrawal" => (
            build::Withdrawal::new(row.text("commitment_id")?, row.text("reason")?).into(),
            None,
        ),
        "action" => action(row)?,
        "outcome" => outcome(row)?,
        "assessment" => (assessment(row)?, None),
        "adoption" => {
            let adopted_on = row.date("adopted_on")?;
            (
                build::Adoption::new(row.text("commitment_id")?, adopted_on)
                    .note(row.optional_text("note")?)
                    .into(),
                Some(adopted_on),
            )
        }
        "retraction" => {
            let retracts = row.text("retracts")?;
            if !covenant_core::event::is_valid_event_id(&retracts) {
                return Err(row.error(
                    "retracts",
                    format!("{retracts:?} is not an event id (ULID or UUIDv7)"),
                ));
            }
            (
                build::Retraction::new(retracts, row.text("reason")?).into(),
                None,
            )
        }
        _ => unreachable!("Row::kind returns only known kinds"),
    };
    Ok((kind, dated))
}

fn commitment(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let made_on = row.date("made_on")?;
    let mut commitment = build::Commitment::new(
        row.text("commitment_id")?,
        row.text("title")?,
        row.text("text")?,
        made_on,
    )
    .themes(row.list("themes").into_iter().map(|t| t.to_lowercase()))
    .partners(row.list("partners"))
    .delivery_partners(row.list("delivery_partners"));
    for source in row.sources("sources")? {
        commitment = commitment.add_source(source);
    }
    for link in row.links("evidence") {
        commitment = commitment.evidence(link);
    }
    for item in row.list("indicators") {
        commitment = commitment.add_indicator(
            parse_indicator(&item).map_err(|problem| row.error("indicators", problem))?,
        );
    }
    if let Some(due_by) = row.optional_date("due_by")? {
        if due_by < made_on {
            return Err(row.error("due_by", format!("{due_by} is before made_on ({made_on})")));
        }
        commitment = commitment.due_by(due_by);
    }
    if row.is_filled("source_kind") || row.is_filled("source_url") || row.is_filled("source_title")
    {
        let kind = row.choice("source_kind")?;
        commitment = commitment.source(
            kind,
            row.optional_text("source_title")?,
            row.optional_text("source_url")?,
        );
    }
    let indicator_columns = [
        "indicator_measure",
        "indicator_unit",
        "indicator_higher_is_better",
        "indicator_baseline_value",
        "indicator_baseline_date",
        "indicator_target_value",
        "indicator_target_period",
    ];
    let target_has_comparator = row
        .get("indicator_target_value")
        .is_some_and(|text| text.replace(',', "").parse::<f64>().is_err());
    if row.is_filled("indicator_id") || row.is_filled("indicator_deadline") || target_has_comparator
    {
        // One named indicator from the single-indicator columns: its target may carry the
        // comparator (">=95", "at most 30000", "10..20").
        let (comparator, target, upper) = row
            .get("indicator_target_value")
            .map(parse_target)
            .transpose()
            .map_err(|problem| row.error("indicator_target_value", problem))?
            .ok_or_else(|| {
                row.error(
                    "indicator_target_value",
                    "is required for a named indicator",
                )
            })?;
        let id = row.get("indicator_id").unwrap_or(DEFAULT_INDICATOR_ID);
        let mut indicator = build::Indicator::named(
            id,
            row.text("indicator_measure")?,
            row.optional_text("indicator_unit")?,
            comparator,
            target,
        );
        if let Some(upper) = upper {
            indicator = indicator.upper(upper);
        }
        if let Some(baseline) = row.optional_number("indicator_baseline_value")? {
            indicator = indicator.baseline(baseline, row.optional_date("indicator_baseline_date")?);
        }
        if let Some(deadline) = row.optional_date("indicator_deadline")? {
            indicator = indicator.deadline(deadline);
        }
        if row.is_filled("indicator_target_period") {
            indicator = indicator.target(target, row.text("indicator_target_period")?);
        }
        return Ok((commitment.add_indicator(indicator).into(), Some(made_on)));
    }
    if indicator_columns.iter().any(|c| row.is_filled(c)) {
        let higher_is_better = if row.is_filled("indicator_higher_is_better") {
            row.boolean("indicator_higher_is_better")?
        } else {
            true
        };
        let mut indicator = build::Indicator::new(
            row.text("indicator_measure")?,
            row.optional_text("indicator_unit")?,
            higher_is_better,
        );
        if let Some(baseline) = row.optional_number("indicator_baseline_value")? {
            let on = row.optional_date("indicator_baseline_date")?;
            indicator = indicator.baseline(baseline, on);
        } else if row.is_filled("indicator_baseline_date") {
            return Err(row.error(
                "indicator_baseline_value",
                "is required with indicator_baseline_date",
            ));
        }
        if let Some(target) = row.optional_number("indicator_target_value")? {
            indicator = indicator.target(target, row.optional_text("indicator_target_period")?);
        }
        commitment = commitment.indicator(indicator);
    }
    Ok((commitment.into(), Some(made_on)))
}

fn amendment(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let mut amendment = build::Amendment::new(
        row.text("commitment_id")?,
        row.choice("class")?,
        row.text("rationale")?,
    );
    if row.is_filled("field") || row.is_filled("new_value") {
        let (field, value) = amended_change(row, &row.text("field")?, row.text("new_value")?)?;
        amendment = amendment.change_indicator(row.optional_text("indicator_id")?, field, value);
    }
    for item in row.list("changes") {
        // `field=value` or `field:indicator=value`; the value may itself hold '='.
        let Some((field, value)) = item.split_once('=') else {
            return Err(row.error("changes", format!("{item:?} is not field=value")));
        };
        let (field, indicator) = field.trim().split_once(':').unwrap_or((field.trim(), ""));
        let (field, value) = amended_change(row, field, value.trim().to_owned())?;
        amendment = amendment.change_indicator(indicator.trim(), field, value);
    }
    if !row.is_filled("field") && !row.is_filled("changes") {
        return Err(row.error("changes", "is required (or field and new_value)"));
    }
    let effective_on = row.optional_date("effective_on")?;
    if let Some(on) = effective_on {
        amendment = amendment.effective_on(on);
    }
    for source in row.sources("sources")? {
        amendment = amendment.add_source(source);
    }
    Ok((amendment.into(), effective_on))
}

/// One amended field and its new value, checked as far as a row can be.
fn amended_change(
    row: &Row,
    field_name: &str,
    new_value: String,
) -> Result<(proto::AmendedField, String), RowError> {
    let Some(field) = schema_value::<proto::AmendedField>(field_name) else {
        return Err(row.error(
            "field",
            format!(
                "{field_name:?} is not one of {}",
                proto::AmendedField::schema_names().join(", ")
            ),
        ));
    };
    match field {
        proto::AmendedField::DueBy if Date::parse(&new_value).is_none() => {
            return Err(row.error(
                "new_value",
                format!("{new_value:?} is not a date (YYYY-MM-DD), as a due_by change needs"),
            ));
        }
        proto::AmendedField::TargetValue if !new_value.parse::<f64>().is_ok_and(f64::is_finite) => {
            return Err(row.error(
                "new_value",
                format!("{new_value:?} is not a number, as a target_value change needs"),
            ));
        }
        _ => {}
    }
    Ok((field, new_value))
}

fn action(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let mut commitment_ids = row.list("commitment_ids");
    commitment_ids.extend(row.get("commitment_id").map(str::to_owned));
    if commitment_ids.is_empty() {
        return Err(row.error(
            "commitment_ids",
            "is required (one or more commitment ids, separated by ;)",
        ));
    }
    let taken_on = row.date("taken_on")?;
    let mut action = build::Action::new(
        row.text("action_id")?,
        commitment_ids,
        row.choice("type")?,
        taken_on,
        row.text("description")?,
    )
    .partners(row.list("partners"));
    if row.is_filled("money_amount") || row.is_filled("money_stage") {
        let currency = row
            .get("money_currency")
            .unwrap_or("GBP")
            .to_ascii_uppercase();
        let amount = row.text("money_amount")?;
        let minor = parse_money(&amount).ok_or_else(|| {
            row.error(
                "money_amount",
                format!("{amount:?} is not an amount (for example 1250000 or 1,250,000.50)"),
            )
        })?;
        let stage = row.choice("money_stage")?;
        action = action.money(build::Money::new(minor, currency, stage));
    } else if row.is_filled("money_currency") {
        return Err(row.error("money_amount", "is required with money_currency"));
    }
    for link in row.links("evidence") {
        action = action.evidence(link);
    }
    Ok((action.into(), Some(taken_on)))
}

fn outcome(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let reported_on = row.date("reported_on")?;
    let mut outcome = build::Outcome::new(
        row.text("commitment_id")?,
        row.choice("verdict")?,
        reported_on,
        row.optional_text("summary")?,
    )
    .lessons(row.optional_text("lessons")?);
    if let Some(actual) = row.optional_number("indicator_actual")? {
        outcome = outcome.indicator_actual(actual, row.optional_text("actual_period")?);
    }
    for item in row.list("measurements") {
        // `indicator|value|measured_on`; the date defaults to reported_on.
        let parts: Vec<&str> = item.split('|').map(str::trim).collect();
        let bad = || {
            row.error(
                "measurements",
                format!("{item:?} is not indicator|value|YYYY-MM-DD"),
            )
        };
        let (indicator, value, on) = match parts.as_slice() {
            [indicator, value] => (*indicator, *value, reported_on),
            [indicator, value, on] => (*indicator, *value, Date::parse(on).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        let value = value
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(bad)?;
        outcome = outcome.measurement(indicator, value, on);
    }
    for link in row.links("evidence") {
        outcome = outcome.evidence(link);
    }
    Ok((outcome.into(), Some(reported_on)))
}

fn assessment(row: &Row) -> Result<Kind, RowError> {
    // Without an outcome event id the assessment is of the latest outcome.
    let outcome_event_id = row.optional_text("outcome_event_id")?;
    if !outcome_event_id.is_empty() && !covenant_core::event::is_valid_event_id(&outcome_event_id) {
        return Err(row.error(
            "outcome_event_id",
            format!("{outcome_event_id:?} is not an event id (ULID or UUIDv7)"),
        ));
    }
    let mut assessment = build::Assessment::new(
        row.text("commitment_id")?,
        outcome_event_id,
        row.choice("stance")?,
        row.text("summary")?,
    );
    if row.is_filled("assessed_verdict") {
        assessment = assessment.verdict(row.choice("assessed_verdict")?);
    }
    for link in row.links("evidence") {
        assessment = assessment.evidence(link);
    }
    Ok(assessment.into())
}
