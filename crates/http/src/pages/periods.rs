//! Commitments made and delivered per period, for the "over time" chart.

use super::chart::Period;
use covenant_core::event::Date;

/// One commitment's two dates that the chart counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    pub made_on: Date,
    /// When an outcome said it was delivered (in full or in part).
    pub delivered_on: Option<Date>,
}

/// Quarters when the dates span three years or less, years otherwise, from the first date
/// through `through` (the moment the page shows) with no gaps: an empty quarter is a flat
/// stretch of the line, not a missing one, and the lines run on to the day shown.
pub fn bucket(items: &[Dated], through: Date) -> Vec<Period> {
    let dates = items
        .iter()
        .flat_map(|item| std::iter::once(item.made_on).chain(item.delivered_on));
    let (Some(first), Some(last)) = (dates.clone().min(), dates.max()) else {
        return Vec::new();
    };
    let last = last.max(through);
    let by_quarter = quarter_index(last) - quarter_index(first) < 12;
    let index_of = |date: Date| {
        if by_quarter {
            quarter_index(date)
        } else {
            i64::from(date.year_month_day().0)
        }
    };
    let start = index_of(first);
    let mut periods: Vec<Period> = (start..=index_of(last))
        .map(|index| Period {
            label: if by_quarter {
                format!("Q{} {}", index.rem_euclid(4) + 1, index.div_euclid(4))
            } else {
                index.to_string()
            },
            made: 0,
            delivered: 0,
        })
        .collect();
    for item in items {
        periods[(index_of(item.made_on) - start) as usize].made += 1;
        if let Some(delivered_on) = item.delivered_on {
            periods[(index_of(delivered_on) - start) as usize].delivered += 1;
        }
    }
    periods
}

fn quarter_index(date: Date) -> i64 {
    let (year, month, _) = date.year_month_day();
    i64::from(year) * 4 + i64::from((month - 1) / 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    #[test]
    fn short_spans_go_by_quarter_with_no_gaps() {
        let items = [
            Dated {
                made_on: date("2024-01-15"),
                delivered_on: Some(date("2024-11-01")),
            },
            Dated {
                made_on: date("2024-02-01"),
                delivered_on: None,
            },
        ];
        let periods = bucket(&items, date("2024-06-30"));
        let labels: Vec<&str> = periods.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["Q1 2024", "Q2 2024", "Q3 2024", "Q4 2024"]);
        let later = bucket(&items, date("2025-02-01"));
        assert_eq!(later.len(), 5, "the lines run on to the day shown");
        assert_eq!(later[4].label, "Q1 2025");
        assert_eq!(periods[0].made, 2);
        assert_eq!(periods[3].delivered, 1);
        assert_eq!(periods.iter().map(|p| p.made).sum::<u64>(), 2);
    }

    #[test]
    fn long_spans_go_by_year() {
        let items = [
            Dated {
                made_on: date("2019-05-01"),
                delivered_on: Some(date("2024-03-01")),
            },
            Dated {
                made_on: date("2021-05-01"),
                delivered_on: Some(date("2021-06-01")),
            },
        ];
        let periods = bucket(&items, date("2020-01-01"));
        assert_eq!(periods.len(), 6);
        assert_eq!(periods[0].label, "2019");
        assert_eq!(periods[2].made, 1);
        assert_eq!(periods[2].delivered, 1);
        assert_eq!(periods[5].delivered, 1);
    }

    #[test]
    fn nothing_to_count_gives_no_periods() {
        assert!(bucket(&[], date("2026-01-01")).is_empty());
    }
}
