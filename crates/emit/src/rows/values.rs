//! Parsers for the values people write in cells: targets, indicators, amounts of money, timestamps
//! and schema enum names.

use crate::build;
use covenant_core::SchemaName;
use covenant_core::event::Date;
use covenant_core::proto;

/// A target as people write it: `>=95`, `at least 95`, `<=30000`, `at most 30,000`, `=5`,
/// `exactly 5`, `10..20` or `between 10 and 20`. A bare number is "at least".
pub fn parse_target(text: &str) -> Result<(proto::Comparator, f64, Option<f64>), String> {
    let number = |text: &str| {
        text.trim()
            .trim_end_matches('%')
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("{text:?} is not a number"))
    };
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let between = lower
        .strip_prefix("between ")
        .and_then(|rest| rest.split_once(" and "))
        .or_else(|| lower.split_once(".."));
    if let Some((low, high)) = between {
        let (low, high) = (number(low)?, number(high)?);
        if high < low {
            return Err(format!("{text:?}: the upper bound is below the lower"));
        }
        return Ok((proto::Comparator::Between, low, Some(high)));
    }
    for (prefix, comparator) in [
        (">=", proto::Comparator::AtLeast),
        ("at least ", proto::Comparator::AtLeast),
        ("<=", proto::Comparator::AtMost),
        ("at most ", proto::Comparator::AtMost),
        ("no more than ", proto::Comparator::AtMost),
        ("exactly ", proto::Comparator::Exactly),
        ("=", proto::Comparator::Exactly),
    ] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return Ok((comparator, number(rest)?, None));
        }
    }
    Ok((proto::Comparator::AtLeast, number(text)?, None))
}

/// One item of an `indicators` list: `id|measure|target|unit`, the target as [`parse_target`]
/// reads it (`homes|net additional dwellings|>=1500000|homes`).
pub(super) fn parse_indicator(item: &str) -> Result<build::Indicator, String> {
    let parts: Vec<&str> = item.split('|').map(str::trim).collect();
    let [id, measure, target, rest @ ..] = parts.as_slice() else {
        return Err(format!("{item:?} is not id|measure|target|unit"));
    };
    let (comparator, value, upper) = parse_target(target)?;
    let mut indicator = build::Indicator::named(
        *id,
        *measure,
        rest.first().copied().unwrap_or(""),
        comparator,
        value,
    );
    if let Some(upper) = upper {
        indicator = indicator.upper(upper);
    }
    Ok(indicator)
}

/// An amount in major units (pounds), with optional thousands commas, a leading '£' and up to
/// two decimal places, as minor units (pence). Exact: no floating point.
pub fn parse_money(text: &str) -> Option<i64> {
    let cleaned: String = text
        .trim()
        .trim_start_matches('£')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, fraction) = match cleaned.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let pence: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(pence)
}

/// `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DDTHH:MM:SS[.fff]Z`, or milliseconds since 1970.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let date = Date::parse(text.get(..10)?)?;
    let day_ms = build::start_of_day_ms(date);
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(day_ms);
    }
    let time = rest.strip_prefix(['T', ' '])?.strip_suffix(['Z', 'z'])?;
    let (clock, millis) = match time.split_once('.') {
        Some((clock, fraction)) => {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let millis: i64 = format!("{:0<3}", &fraction[..fraction.len().min(3)])
                .parse()
                .ok()?;
            (clock, millis)
        }
        None => (time, 0),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [hours, minutes, seconds] = parts.as_slice() else {
        return None;
    };
    let field = |text: &str, max: i64| -> Option<i64> {
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
            .filter(|value| *value <= max)
    };
    let seconds_of_day = field(hours, 23)? * 3600 + field(minutes, 59)? * 60 + field(seconds, 59)?;
    Some(day_ms + seconds_of_day * 1000 + millis)
}

/// The schema enum value `text` names, read leniently: case, surrounding space, and hyphens or
/// spaces for underscores do not matter (`Partly delivered` is `partly_delivered`).
pub(super) fn schema_value<T: SchemaName>(text: &str) -> Option<T> {
    T::from_schema_name(&text.trim().to_ascii_lowercase().replace(['-', ' '], "_"))
}
