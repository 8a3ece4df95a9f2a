//! The report's JSON as this crate reads it: checked here, in Rust, so that a malformed report
//! is a [`PdfError`] naming the field rather than a Typst error deep in the template, and
//! written back out in one normalised shape (unknown fields dropped, goalpost values as text)
//! for the template to read.

use serde::{Deserialize, Serialize};

use crate::PdfError;

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Report {
    pub(crate) scope: Scope,
    pub(crate) year: i32,
    pub(crate) period_end: String,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) current: YearFigures,
    pub(crate) previous: Option<YearFigures>,
    #[serde(default)]
    pub(crate) goalposts: Vec<Goalpost>,
    #[serde(default)]
    pub(crate) disputes: Vec<Dispute>,
    #[serde(default)]
    pub(crate) largest_changes: Vec<LargestChange>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Scope {
    Government,
    Actor { actor: Actor },
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Actor {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Checkpoint {
    pub(crate) origin: String,
    pub(crate) size: u64,
    pub(crate) root_hash: String,
    pub(crate) note: String,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct YearFigures {
    pub(crate) year: i32,
    #[serde(default)]
    pub(crate) figures: Vec<Figure>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) currency: Option<String>,
    pub(crate) value: i64,
    #[serde(default)]
    pub(crate) counted: Vec<Counted>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Counted {
    pub(crate) commitment_id: String,
    pub(crate) seq: u64,
    pub(crate) event_id: String,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Goalpost {
    pub(crate) commitment_id: String,
    pub(crate) title: String,
    pub(crate) seq: u64,
    pub(crate) event_id: String,
    pub(crate) effective_on: String,
    #[serde(default)]
    pub(crate) rationale: String,
    #[serde(default)]
    pub(crate) changes: Vec<Change>,
}

/// One field a goalpost move changed. The values may be any JSON (a date, an amount, an
/// object); the template gets them as text, with `null` (a field set or cleared) as none.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Change {
    pub(crate) field: String,
    #[serde(default, deserialize_with = "json_as_text")]
    pub(crate) before: Option<String>,
    #[serde(default, deserialize_with = "json_as_text")]
    pub(crate) after: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct Dispute {
    pub(crate) commitment_id: String,
    pub(crate) title: String,
    pub(crate) assessor: String,
    pub(crate) stance: String,
    #[serde(default)]
    pub(crate) view: String,
    pub(crate) seq: u64,
    pub(crate) event_id: String,
}

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct LargestChange {
    pub(crate) commitment_id: String,
    pub(crate) title: String,
    pub(crate) status_before: String,
    pub(crate) status_after: String,
    pub(crate) events_in_year: u64,
}

fn json_as_text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text),
        other => Some(other.to_string()),
    })
}

impl Report {
    /// Parses and checks the report: the dates the template turns into words must be real
    /// dates, and money figures must name their currency.
    pub(crate) fn parse(report_json: &[u8]) -> Result<Report, PdfError> {
        let report: Report = serde_json::from_slice(report_json).map_err(PdfError::Json)?;
        check_date("period_end", &report.period_end)?;
        for (index, goalpost) in report.goalposts.iter().enumerate() {
            check_date(
                &format!("goalposts[{index}].effective_on"),
                &goalpost.effective_on,
            )?;
        }
        let years = std::iter::once(("current", &report.current)).chain(
            report
                .previous
                .iter()
                .map(|previous| ("previous", previous)),
        );
        for (which, year) in years {
            for (index, figure) in year.figures.iter().enumerate() {
                // The name is shown when it has no label and ends up in a link's fragment.
                let name = &figure.name;
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(PdfError::Field {
                        field: format!("{which}.figures[{index}].name"),
                        reason: format!("{name:?} is not a figure name (letters, digits, _ and -)"),
                    });
                }
                if let Some(currency) = &figure.currency
                    && (currency.is_empty() || !currency.chars().all(|c| c.is_ascii_alphanumeric()))
                {
                    return Err(PdfError::Field {
                        field: format!("{which}.figures[{index}].currency"),
                        reason: format!("{currency:?} is not a currency code"),
                    });
                }
            }
        }
        Ok(report)
    }

    /// The date `datetime.today()` answers in the template: the end of the period, so that the
    /// same report always lays out the same way.
    pub(crate) fn period_end_ymd(&self) -> (i32, u8, u8) {
        parse_date(&self.period_end).unwrap_or((self.year, 12, 31))
    }
}

fn check_date(field: &str, text: &str) -> Result<(), PdfError> {
    match parse_date(text) {
        Some(_) => Ok(()),
        None => Err(PdfError::Field {
            field: field.to_owned(),
            reason: format!("{text:?} is not a date written YYYY-MM-DD"),
        }),
    }
}

/// `YYYY-MM-DD` with a real month and day, or nothing.
fn parse_date(text: &str) -> Option<(i32, u8, u8)> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &text[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let year = digits(0..4)?;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    Some((year as i32, month as u8, day as u8))
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2025-12-31"), Some((2025, 12, 31)));
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_date("2025-1-01"), None);
        assert_eq!(parse_date("2025-01-0x"), None);
        assert_eq!(parse_date("+025-01-01"), None);
    }
}
