//! How each commitment status looks: its label, its badge and its colour in charts.
//!
//! Colours are chosen for contrast: badge text on its tint passes WCAG AA (4.5:1) and every
//! chart fill stands out from the white page by at least 3:1 (WCAG 1.4.11), so a chart reads
//! without relying on a colour's hue alone (every segment is also labelled with its count).

use maud::{Markup, html};

/// The seven statuses a commitment can have, in the order the pages list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tone {
    Delivered,
    PartlyDelivered,
    InProgress,
    NotStarted,
    Overdue,
    NotDelivered,
    Withdrawn,
}

impl Tone {
    pub const ALL: [Tone; 7] = [
        Tone::Delivered,
        Tone::PartlyDelivered,
        Tone::InProgress,
        Tone::NotStarted,
        Tone::Overdue,
        Tone::NotDelivered,
        Tone::Withdrawn,
    ];

    /// The status as the API spells it (`partly_delivered`), used in URLs and CSS classes.
    pub fn key(self) -> &'static str {
        match self {
            Tone::Delivered => "delivered",
            Tone::PartlyDelivered => "partly_delivered",
            Tone::InProgress => "in_progress",
            Tone::NotStarted => "not_started",
            Tone::Overdue => "overdue",
            Tone::NotDelivered => "not_delivered",
            Tone::Withdrawn => "withdrawn",
        }
    }

    pub fn from_key(key: &str) -> Option<Tone> {
        Tone::ALL.into_iter().find(|tone| tone.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Tone::Delivered => "Delivered",
            Tone::PartlyDelivered => "Partly delivered",
            Tone::InProgress => "In progress",
            Tone::NotStarted => "Not started",
            Tone::Overdue => "Overdue",
            Tone::NotDelivered => "Not delivered",
            Tone::Withdrawn => "Withdrawn",
        }
    }

    /// Fill colour in charts: at least 3:1 against white.
    pub fn fill(self) -> &'static str {
        match self {
            Tone::Delivered => "#17703a",
            Tone::PartlyDelivered => "#a16207",
            Tone::InProgress => "#2160c4",
            Tone::NotStarted => "#6b7785",
            Tone::Overdue => "#c2410c",
            Tone::NotDelivered => "#8f1a1a",
            Tone::Withdrawn => "#6d3fa8",
        }
    }
}

/// A status badge: a short label in a tinted pill (the tints live in the stylesheet).
pub fn badge(tone: Tone) -> Markup {
    html! {
        span class={ "badge badge-" (tone.key()) } { (tone.label()) }
    }
}

/// A flag shown beside the status: amended, disputed, succeeded.
pub fn flag(text: &str, title: &str) -> Markup {
    html! {
        span class="flag" title=(title) { (text) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG relative luminance of a `#rrggbb` colour.
    fn luminance(hex: &str) -> f64 {
        let channel = |range: std::ops::Range<usize>| {
            let value = u8::from_str_radix(&hex[range], 16).expect("hex colour") as f64 / 255.0;
            if value <= 0.03928 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1..3) + 0.7152 * channel(3..5) + 0.0722 * channel(5..7)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn every_chart_fill_stands_out_from_white() {
        for tone in Tone::ALL {
            let ratio = contrast(tone.fill(), "#ffffff");
            assert!(ratio >= 3.0, "{} fill has contrast {ratio:.2}", tone.key());
        }
    }

    #[test]
    fn keys_round_trip_and_are_distinct() {
        for tone in Tone::ALL {
            assert_eq!(Tone::from_key(tone.key()), Some(tone));
        }
        assert_eq!(Tone::from_key("promised"), None);
    }

    #[test]
    fn badge_tints_in_the_stylesheet_pass_aa() {
        let css = super::super::assets::STYLESHEET;
        for tone in Tone::ALL {
            let rule_start = css
                .find(&format!(".badge-{} {{", tone.key()))
                .unwrap_or_else(|| panic!("no badge rule for {}", tone.key()));
            let rule = &css[rule_start..rule_start + css[rule_start..].find('}').expect("rule")];
            let colour_of = |property: &str| {
                let at = rule
                    .find(&format!(" {property}: #"))
                    .unwrap_or_else(|| panic!("{} badge has no {property}", tone.key()));
                let start = at + property.len() + 3;
                rule[start..start + 7].to_owned()
            };
            let ratio = contrast(&colour_of("color"), &colour_of("background"));
            assert!(ratio >= 4.5, "{} badge contrast {ratio:.2}", tone.key());
        }
    }
}
