//! Numbers, money and dates written the way a British reader expects them.

use covenant_core::event::Date;
use covenant_core::proto::Comparator;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `1234567` as `1,234,567`.
pub fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        grouped.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A count with its noun in the right number: `1 entry`, `0 entries`, `1,250 entries`.
pub fn count(count: i64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", thousands(count))
    }
}

/// `1 commitment`, `1,250 commitments`.
pub fn commitments(count: i64) -> String {
    self::count(count, "commitment", "commitments")
}

/// `1 entry`, `1,250 entries`: a number of log entries, such as a checkpoint's size.
pub fn entries(count: u64) -> String {
    self::count(i64::try_from(count).unwrap_or(i64::MAX), "entry", "entries")
}

/// A target's period after its value: `in 2026-27`, but `by the end of this Parliament` as
/// written, since real periods often bring their own preposition.
pub fn period(period: &str) -> String {
    let lower = period.to_lowercase();
    let worded = [
        "by ", "in ", "within ", "before ", "during ", "over ", "until ",
    ]
    .iter()
    .any(|word| lower.starts_with(word));
    if worded {
        period.to_owned()
    } else {
        format!("in {period}")
    }
}

/// An amount in minor units (pence) with its currency: `£1,250,000` or `£12.50`.
pub fn money(amount_minor: i64, currency: &str) -> String {
    let symbol = match currency {
        "GBP" => Some("£"),
        "EUR" => Some("€"),
        "USD" => Some("$"),
        _ => None,
    };
    let whole = amount_minor / 100;
    let pence = (amount_minor % 100).unsigned_abs();
    let number = if pence == 0 {
        thousands(whole)
    } else {
        format!("{}.{pence:02}", thousands(whole))
    };
    match symbol {
        Some(symbol) => format!("{symbol}{number}"),
        None => format!("{number} {currency}"),
    }
}

/// A delivery rate (0 to 1) as a whole percentage, or a dash when there is none yet.
pub fn rate(value: Option<f64>) -> String {
    match value {
        Some(fraction) if fraction.is_finite() => format!("{:.0}%", fraction * 100.0),
        _ => "–".to_owned(),
    }
}

/// The delivery rate's label with what it rests on, `Delivery rate (3 resolved)`: a rate of
/// 100% from one resolved commitment reads differently beside ten overdue ones.
pub fn rate_label(resolved: i64) -> String {
    format!("Delivery rate ({} resolved)", thousands(resolved))
}

/// `2026-03-31` as `31 Mar 2026`; anything that is not a date is returned as it came.
pub fn date(text: &str) -> String {
    match Date::parse(text.get(..10).unwrap_or(text)) {
        Some(parsed) => {
            let (year, month, day) = parsed.year_month_day();
            format!("{day} {} {year}", MONTHS[(month - 1) as usize])
        }
        None => text.to_owned(),
    }
}

/// How a number of days reads: `1 day`, `40 days`.
pub fn days(count: i64) -> String {
    self::count(count, "day", "days")
}

/// A snake_case name from the API (`parliamentary_answer`) as words (`Parliamentary answer`).
pub fn words_of(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A number from an indicator or target: no trailing `.0`, separators for thousands.
pub fn quantity(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        thousands(value as i64)
    } else {
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// The named targets that changed, each as "before → after" text pairs.
pub fn changed_targets(
    original: &[covenant_query::Target],
    current: &[covenant_query::Target],
) -> Vec<(String, String)> {
    let text = |t: &covenant_query::Target| target(t.comparator, t.value, t.upper, &t.unit);
    current
        .iter()
        .filter_map(|now| {
            let before = original
                .iter()
                .find(|o| o.indicator_id == now.indicator_id)?;
            (before != now).then(|| (text(before), text(now)))
        })
        .collect()
}

/// A number with its unit after it: "92%", "1,500,000 homes", or the bare number.
pub fn measure(value: f64, unit: &str) -> String {
    let number = quantity(value);
    match unit.trim() {
        "" => number,
        "%" => format!("{number}%"),
        unit => format!("{number} {unit}"),
    }
}

/// A target in words: "at least 95%", "between 10 and 20 homes".
pub fn target(comparator: Comparator, value: f64, upper: Option<f64>, unit: &str) -> String {
    match (comparator, upper) {
        (Comparator::Between, Some(upper)) => {
            format!("between {} and {}", quantity(value), measure(upper, unit))
        }
        (Comparator::AtLeast, _) => format!("at least {}", measure(value, unit)),
        (Comparator::AtMost, _) => format!("at most {}", measure(value, unit)),
        (Comparator::Exactly, _) => format!("exactly {}", measure(value, unit)),
        (Comparator::Between | Comparator::Unspecified, _) => measure(value, unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_says_how_many_resolved_it_rests_on() {
        assert_eq!(rate_label(1), "Delivery rate (1 resolved)");
        assert_eq!(rate_label(1250), "Delivery rate (1,250 resolved)");
    }

    #[test]
    fn one_commitment_and_many_commitments() {
        assert_eq!(commitments(1), "1 commitment");
        assert_eq!(commitments(0), "0 commitments");
        assert_eq!(commitments(1_250), "1,250 commitments");
    }

    #[test]
    fn one_entry_and_many_entries() {
        assert_eq!(entries(1), "1 entry");
        assert_eq!(entries(0), "0 entries");
        assert_eq!(entries(12_000), "12,000 entries");
        assert_eq!(entries(u64::MAX), "9,223,372,036,854,775,807 entries");
        assert_eq!(
            count(1, "goalpost move", "goalpost moves"),
            "1 goalpost move"
        );
        assert_eq!(count(2, "dispute", "disputes"), "2 disputes");
    }

    #[test]
    fn a_period_that_brings_its_own_preposition_keeps_it() {
        assert_eq!(period("2026-27"), "in 2026-27");
        assert_eq!(
            period("by the end of this Parliament"),
            "by the end of this Parliament"
        );
        assert_eq!(period("Within five years"), "Within five years");
        assert_eq!(period("bytes era"), "in bytes era", "a word, not a prefix");
    }

    #[test]
    fn units_follow_the_number_and_targets_read_as_words() {
        assert_eq!(measure(92.0, "%"), "92%");
        assert_eq!(measure(1_500_000.0, "homes"), "1,500,000 homes");
        assert_eq!(measure(2.5, ""), "2.5");
        assert_eq!(target(Comparator::AtLeast, 95.0, None, "%"), "at least 95%");
        assert_eq!(
            target(Comparator::AtMost, 30_000.0, None, "people"),
            "at most 30,000 people"
        );
        assert_eq!(target(Comparator::Exactly, 0.0, None, "%"), "exactly 0%");
        assert_eq!(
            target(Comparator::Between, 10.0, Some(20.0), "%"),
            "between 10 and 20%"
        );
        assert_eq!(
            target(Comparator::Unspecified, 7.0, None, "sites"),
            "7 sites"
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn money_uses_symbols_and_drops_zero_pence() {
        assert_eq!(money(125_000_000, "GBP"), "£1,250,000");
        assert_eq!(money(1_250, "GBP"), "£12.50");
        assert_eq!(money(5, "EUR"), "€0.05");
        assert_eq!(money(10_000, "NOK"), "100 NOK");
    }

    #[test]
    fn rates_dates_and_names_read_naturally() {
        assert_eq!(rate(Some(0.666)), "67%");
        assert_eq!(rate(None), "–");
        assert_eq!(date("2026-03-31"), "31 Mar 2026");
        assert_eq!(date("2026-03-31T10:00:00Z"), "31 Mar 2026");
        assert_eq!(date("soon"), "soon");
        assert_eq!(days(1), "1 day");
        assert_eq!(days(1200), "1,200 days");
        assert_eq!(words_of("parliamentary_answer"), "Parliamentary answer");
        assert_eq!(quantity(25000.0), "25,000");
        assert_eq!(quantity(2.5), "2.5");
    }
}
