//! Commitments made and delivered per period, for the "over time" chart.

use super::chart::Period;
use covenant_core::event::Date;
use covenant_query::view::QuarterCounts;
use covenant_query::{quarter_index, year_and_quarter};

/// Quarters when the quarters counted span three years or less, years otherwise, from the
/// first through `through` (the moment the page shows) with no gaps: an empty quarter is a
/// flat stretch of the line, not a missing one, and the lines run on to the day shown.
pub fn bucket(quarters: &[QuarterCounts], through: Date) -> Vec<Period> {
    let (Some(first), Some(last)) = (quarters.first(), quarters.last()) else {
        return Vec::new();
    };
    let (first, last) = (first.quarter, last.quarter.max(quarter_index(through)));
    let by_quarter = last - first < 12;
    let index_of = |quarter: i32| {
        if by_quarter {
            quarter
        } else {
            year_and_quarter(quarter).0
        }
    };
    let start = index_of(first);
    let mut periods: Vec<Period> = (start..=index_of(last))
        .map(|index| Period {
            label: if by_quarter {
                let (year, quarter) = year_and_quarter(index);
                format!("Q{quarter} {year}")
            } else {
                index.to_string()
            },
            made: 0,
            delivered: 0,
        })
        .collect();
    for counts in quarters {
        let period = &mut periods[(index_of(counts.quarter) - start) as usize];
        period.made += counts.made as u64;
        period.delivered += counts.delivered as u64;
    }
    periods
}

/// The first year a commitment was made in, from the quarters counted.
pub fn first_year(quarters: &[QuarterCounts]) -> Option<i32> {
    quarters
        .iter()
        .find(|counts| counts.made > 0)
        .map(|counts| year_and_quarter(counts.quarter).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    /// The quarters of commitments made on each first date and delivered on each second, as
    /// an aggregate counts them.
    fn counted(items: &[(&str, Option<&str>)]) -> Vec<QuarterCounts> {
        let mut quarters = std::collections::BTreeMap::new();
        let mut count = |on: &str, made: i64, delivered: i64| {
            let quarter = quarter_index(date(on));
            let counts = quarters.entry(quarter).or_insert(QuarterCounts {
                quarter,
                made: 0,
                delivered: 0,
            });
            counts.made += made;
            counts.delivered += delivered;
        };
        for (made_on, delivered_on) in items {
            count(made_on, 1, 0);
            if let Some(on) = delivered_on {
                count(on, 0, 1);
            }
        }
        quarters.into_values().collect()
    }

    #[test]
    fn short_spans_go_by_quarter_with_no_gaps() {
        let items = counted(&[("2024-01-15", Some("2024-11-01")), ("2024-02-01", None)]);
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
    fn eleven_quarters_apart_still_go_by_quarter_twelve_by_year() {
        let eleven = counted(&[("2024-01-15", None), ("2026-10-01", None)]);
        assert_eq!(bucket(&eleven, date("2024-02-01")).len(), 12);
        let twelve = counted(&[("2024-01-15", None), ("2027-01-01", None)]);
        let periods = bucket(&twelve, date("2024-02-01"));
        let labels: Vec<&str> = periods.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2024", "2025", "2026", "2027"]);
    }

    #[test]
    fn long_spans_go_by_year() {
        let items = counted(&[
            ("2019-05-01", Some("2024-03-01")),
            ("2021-05-01", Some("2021-06-01")),
        ]);
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
        assert_eq!(first_year(&[]), None);
    }

    #[test]
    fn the_first_year_is_the_first_quarter_anything_was_made_in() {
        let mut items = counted(&[("2021-11-30", None), ("2023-05-01", Some("2023-06-01"))]);
        assert_eq!(first_year(&items), Some(2021));
        items[0].made = 0;
        assert_eq!(first_year(&items), Some(2023));
    }
}
