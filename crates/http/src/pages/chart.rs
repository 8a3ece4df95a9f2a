//! Charts as inline SVG, drawn by pure functions from plain numbers.
//!
//! Every chart carries a `<title>` and a `<desc>` that say in words what the picture shows, so a
//! screen reader (or a journalist copying figures) gets the same numbers as the eye. Elements
//! are always closed explicitly (`<rect ...></rect>`): inside HTML, SVG is foreign content and
//! an unclosed element would swallow its siblings.

use super::tone::Tone;
use maud::{Markup, html};
use std::fmt::Write as _;

/// How many commitments have one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub tone: Tone,
    pub count: u64,
}

/// Commitments made and delivered in one period (a quarter, a year).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub made: u64,
    pub delivered: u64,
}

const BAR_WIDTH: u64 = 600;
const BAR_HEIGHT: u64 = 36;

/// Split `total_width` among `counts` in proportion, rounding so the parts add up exactly
/// (largest remainder), so a stacked bar never overshoots or leaves a gap.
pub fn proportional_widths(counts: &[u64], total_width: u64) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let exact: Vec<(u64, u64)> = counts
        .iter()
        .map(|&count| {
            let scaled = u128::from(count) * u128::from(total_width);
            let whole = (scaled / u128::from(total)) as u64;
            let remainder = (scaled % u128::from(total)) as u64;
            (whole, remainder)
        })
        .collect();
    let mut widths: Vec<u64> = exact.iter().map(|&(whole, _)| whole).collect();
    let mut missing = total_width - widths.iter().sum::<u64>();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for index in by_remainder {
        if missing == 0 {
            break;
        }
        if exact[index].1 > 0 {
            widths[index] += 1;
            missing -= 1;
        }
    }
    widths
}

/// `part` as a whole-number percentage of `total` (0 when there is no total).
pub fn percent(part: u64, total: u64) -> u64 {
    (part * 100 + total / 2).checked_div(total).unwrap_or(0)
}

fn describe_shares(shares: &[Share]) -> String {
    let total: u64 = shares.iter().map(|share| share.count).sum();
    let mut text = super::format::commitments(total as i64);
    for share in shares.iter().filter(|share| share.count > 0) {
        let _ = write!(
            text,
            "; {}: {} ({}%)",
            share.tone.label(),
            share.count,
            percent(share.count, total)
        );
    }
    text
}

/// A stacked bar of commitments by status, each segment labelled with its count when it is
/// wide enough to hold it, and titled (hover or screen reader) with its status and share.
pub fn status_bar(id: &str, title: &str, shares: &[Share]) -> Markup {
    let counts: Vec<u64> = shares.iter().map(|share| share.count).collect();
    let total: u64 = counts.iter().sum();
    let widths = proportional_widths(&counts, BAR_WIDTH);
    let mut segments = Vec::new();
    let mut x = 0;
    for (share, width) in shares.iter().zip(widths) {
        if width > 0 {
            segments.push((share, x, width));
        }
        x += width;
    }
    html! {
        svg class="chart chart-bar" viewBox={ "0 0 " (BAR_WIDTH) " " (BAR_HEIGHT) }
            role="img" aria-labelledby={ (id) "-title " (id) "-desc" }
            xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none" {
            title id={ (id) "-title" } { (title) }
            desc id={ (id) "-desc" } { (describe_shares(shares)) }
            @if total == 0 {
                rect x="0" y="0" width=(BAR_WIDTH) height=(BAR_HEIGHT) fill="#e5e7eb" {}
            }
            @for (share, x, width) in &segments {
                rect class={ "seg seg-" (share.tone.key()) } x=(x) y="0" width=(width)
                    height=(BAR_HEIGHT) fill=(share.tone.fill()) {
                    title { (share.tone.label()) ": " (share.count) " (" (percent(share.count, total)) "%)" }
                }
            }
        }
    }
}

/// The key to a status chart, as an HTML list (it wraps on a phone, unlike SVG text).
pub fn status_legend(shares: &[Share]) -> Markup {
    let total: u64 = shares.iter().map(|share| share.count).sum();
    html! {
        ul class="legend" {
            @for share in shares {
                li data-status=(share.tone.key()) {
                    span class="swatch" style={ "background:" (share.tone.fill()) } {}
                    span class="legend-label" { (share.tone.label()) }
                    " "
                    strong class="legend-count" { (share.count) }
                    span class="legend-share" { " (" (percent(share.count, total)) "%)" }
                }
            }
        }
    }
}

/// A round number at or above `value` (1, 2 or 5 times a power of ten), for a chart's axis.
pub fn nice_ceiling(value: u64) -> u64 {
    if value <= 1 {
        return 1;
    }
    let mut power = 1u64;
    while power.saturating_mul(10) < value {
        power = power.saturating_mul(10);
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|step| power.saturating_mul(step))
        .find(|&candidate| candidate >= value)
        .unwrap_or(u64::MAX)
}

/// The top of a count axis and its tick step: a round step, at most four steps, the top a
/// whole number of steps at or above `max` (so ticks read 0, 2, 4, 6 rather than 0, 1, 2, 3, 5).
pub fn axis(max: u64) -> (u64, u64) {
    let step = nice_ceiling(max.div_ceil(4)).max(1);
    let top = max.div_ceil(step).max(1) * step;
    (top, step)
}

const PLOT_WIDTH: f64 = 560.0;
const PLOT_HEIGHT: f64 = 240.0;
const MARGIN_LEFT: f64 = 44.0;
const MARGIN_RIGHT: f64 = 32.0;
const MARGIN_TOP: f64 = 14.0;
const MARGIN_BOTTOM: f64 = 34.0;
const MAX_X_LABELS: usize = 8;

/// Running totals: after period i, how many commitments had been made and delivered.
pub fn cumulative(periods: &[Period]) -> Vec<(u64, u64)> {
    let (mut made, mut delivered) = (0u64, 0u64);
    periods
        .iter()
        .map(|period| {
            made += period.made;
            delivered += period.delivered;
            (made, delivered)
        })
        .collect()
}

fn describe_over_time(periods: &[Period], totals: &[(u64, u64)]) -> String {
    let Some(&(made, delivered)) = totals.last() else {
        return "No commitments yet".to_owned();
    };
    let mut text = format!(
        "By the end, {} made and {delivered} delivered ({}%)",
        super::format::commitments(made as i64),
        percent(delivered, made)
    );
    for (period, (made_so_far, delivered_so_far)) in periods.iter().zip(totals) {
        let _ = write!(
            text,
            "; {}: {} made, {} delivered (running totals {} and {})",
            period.label, period.made, period.delivered, made_so_far, delivered_so_far
        );
    }
    text
}

fn points(values: impl Iterator<Item = (f64, f64)>) -> String {
    let mut text = String::new();
    for (x, y) in values {
        if !text.is_empty() {
            text.push(' ');
        }
        let _ = write!(text, "{x:.1},{y:.1}");
    }
    text
}

/// Commitments made against commitments delivered, as running totals over `periods`: the gap
/// between the two lines is what is still owed.
pub fn made_and_delivered(id: &str, title: &str, periods: &[Period]) -> Markup {
    let totals = cumulative(periods);
    let (y_max, y_step) = axis(totals.last().map_or(0, |&(made, _)| made));
    let inner_width = PLOT_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let inner_height = PLOT_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let step = if periods.len() > 1 {
        inner_width / (periods.len() - 1) as f64
    } else {
        0.0
    };
    let x_of = |index: usize| {
        if periods.len() > 1 {
            MARGIN_LEFT + step * index as f64
        } else {
            MARGIN_LEFT + inner_width / 2.0
        }
    };
    let y_of = |value: u64| MARGIN_TOP + inner_height * (1.0 - value as f64 / y_max as f64);
    let ticks: Vec<u64> = (0..=y_max / y_step).map(|i| i * y_step).collect();
    let label_every = periods.len().div_ceil(MAX_X_LABELS).max(1);
    let baseline = MARGIN_TOP + inner_height;
    let made_line = points(
        totals
            .iter()
            .enumerate()
            .map(|(i, &(m, _))| (x_of(i), y_of(m))),
    );
    let delivered_line = points(
        totals
            .iter()
            .enumerate()
            .map(|(i, &(_, d))| (x_of(i), y_of(d))),
    );
    let delivered_area = if totals.is_empty() {
        String::new()
    } else {
        format!(
            "{:.1},{baseline:.1} {delivered_line} {:.1},{baseline:.1}",
            x_of(0),
            x_of(totals.len() - 1)
        )
    };
    html! {
        svg class="chart chart-time" viewBox={ "0 0 " (PLOT_WIDTH) " " (PLOT_HEIGHT) }
            role="img" aria-labelledby={ (id) "-title " (id) "-desc" }
            xmlns="http://www.w3.org/2000/svg" {
            title id={ (id) "-title" } { (title) }
            desc id={ (id) "-desc" } { (describe_over_time(periods, &totals)) }
            g class="axis" font-size="13" fill="#4b5563" {
                @for tick in &ticks {
                    line x1=(MARGIN_LEFT) x2=(PLOT_WIDTH - MARGIN_RIGHT)
                        y1=(format!("{:.1}", y_of(*tick))) y2=(format!("{:.1}", y_of(*tick)))
                        stroke="#e5e7eb" {}
                    text x=(MARGIN_LEFT - 6.0) y=(format!("{:.1}", y_of(*tick) + 4.0))
                        text-anchor="end" { (tick) }
                }
                @for (index, period) in periods.iter().enumerate() {
                    @if index % label_every == 0 || index + 1 == periods.len() {
                        text class="x-label" x=(format!("{:.1}", x_of(index)))
                            y=(format!("{:.1}", baseline + 20.0)) text-anchor="middle" {
                            (period.label)
                        }
                    }
                }
            }
            @if !totals.is_empty() {
                polygon class="delivered-area" points=(delivered_area) fill="#17703a"
                    fill-opacity="0.12" {}
                polyline class="line-made" points=(made_line) fill="none" stroke="#1f2937"
                    stroke-width="2.5" stroke-dasharray="6 4" {}
                polyline class="line-delivered" points=(delivered_line) fill="none"
                    stroke="#17703a" stroke-width="3" {}
                @for (index, (made, delivered)) in totals.iter().enumerate() {
                    circle cx=(format!("{:.1}", x_of(index))) cy=(format!("{:.1}", y_of(*made)))
                        r="3.5" fill="#1f2937" {
                        title { (periods[index].label) ": " (made) " made so far" }
                    }
                    circle cx=(format!("{:.1}", x_of(index)))
                        cy=(format!("{:.1}", y_of(*delivered))) r="3.5" fill="#17703a" {
                        title { (periods[index].label) ": " (delivered) " delivered so far" }
                    }
                }
            }
        }
    }
}

/// The key to [`made_and_delivered`].
pub fn made_and_delivered_legend() -> Markup {
    html! {
        ul class="legend" {
            li { span class="swatch swatch-dashed" {} "Commitments made (running total)" }
            li { span class="swatch" style="background:#17703a" {} "Delivered (running total)" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(markup: &Markup) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&markup.0).expect("chart is well-formed XML")
    }

    fn shares(counts: [u64; 7]) -> Vec<Share> {
        Tone::ALL
            .into_iter()
            .zip(counts)
            .map(|(tone, count)| Share { tone, count })
            .collect()
    }

    fn child_text<'a>(doc: &'a roxmltree::Document, tag: &str) -> &'a str {
        doc.root_element()
            .children()
            .find(|node| node.has_tag_name(tag))
            .and_then(|node| node.text())
            .unwrap_or_else(|| panic!("no <{tag}>"))
    }

    #[test]
    fn status_bar_is_accessible_xml_whose_segments_fill_the_bar() {
        let chart = status_bar("dcms", "DCMS by status", &shares([5, 2, 7, 1, 3, 1, 1]));
        let doc = parse(&chart);
        let svg = doc.root_element();
        assert_eq!(svg.attribute("role"), Some("img"));
        assert_eq!(
            svg.attribute("aria-labelledby"),
            Some("dcms-title dcms-desc")
        );
        assert_eq!(child_text(&doc, "title"), "DCMS by status");
        let desc = child_text(&doc, "desc");
        assert!(
            desc.starts_with("20 commitments; Delivered: 5 (25%)"),
            "{desc}"
        );
        assert!(desc.contains("Overdue: 3 (15%)"), "{desc}");
        let widths: Vec<u64> = svg
            .children()
            .filter(|node| node.has_tag_name("rect"))
            .map(|rect| rect.attribute("width").unwrap().parse().unwrap())
            .collect();
        assert_eq!(widths.len(), 7);
        assert_eq!(widths.iter().sum::<u64>(), BAR_WIDTH);
        let segment_titles: Vec<&str> = svg
            .descendants()
            .filter(|node| node.has_tag_name("rect"))
            .filter_map(|rect| rect.first_element_child()?.text())
            .collect();
        assert!(segment_titles.contains(&"In progress: 7 (35%)"));
    }

    #[test]
    fn status_bar_leaves_out_empty_statuses_and_draws_an_empty_log() {
        let chart = status_bar("a", "A", &shares([3, 0, 0, 0, 1, 0, 0]));
        let doc = parse(&chart);
        let rects: Vec<_> = doc
            .descendants()
            .filter(|node| node.has_tag_name("rect"))
            .collect();
        assert_eq!(rects.len(), 2);
        assert_eq!(rects[0].attribute("width"), Some("450"));
        assert_eq!(rects[1].attribute("x"), Some("450"));

        let empty = status_bar("e", "E", &shares([0; 7]));
        let doc = parse(&empty);
        assert_eq!(child_text(&doc, "desc"), "0 commitments");
        assert_eq!(
            doc.descendants().filter(|n| n.has_tag_name("rect")).count(),
            1
        );
    }

    #[test]
    fn chart_text_is_escaped() {
        let chart = status_bar("x", "Ministry of <Fish> & \"Chips\"", &shares([1; 7]));
        let doc = parse(&chart);
        assert_eq!(child_text(&doc, "title"), "Ministry of <Fish> & \"Chips\"");
    }

    #[test]
    fn legend_lists_every_status_with_its_count_and_share() {
        let legend = status_legend(&shares([1, 1, 0, 0, 2, 0, 0])).into_string();
        assert!(legend.contains("Overdue</span> <strong class=\"legend-count\">2</strong>"));
        assert!(legend.contains("(50%)"));
        assert_eq!(legend.matches("<li").count(), 7);
    }

    #[test]
    fn over_time_chart_accumulates_and_describes_every_period() {
        let periods = vec![
            Period {
                label: "2024".into(),
                made: 10,
                delivered: 0,
            },
            Period {
                label: "2025".into(),
                made: 4,
                delivered: 6,
            },
            Period {
                label: "2026".into(),
                made: 1,
                delivered: 3,
            },
        ];
        assert_eq!(cumulative(&periods), vec![(10, 0), (14, 6), (15, 9)]);
        let chart = made_and_delivered("t", "Made and delivered", &periods);
        let doc = parse(&chart);
        let desc = child_text(&doc, "desc");
        assert!(desc.starts_with("By the end, 15 commitments made and 9 delivered (60%)"));
        assert!(desc.contains("2025: 4 made, 6 delivered (running totals 14 and 6)"));
        let labels: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("x-label"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(labels, ["2024", "2025", "2026"]);
        let made = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("line-made"))
            .and_then(|n| n.attribute("points"))
            .expect("made line");
        assert_eq!(made.split(' ').count(), 3);
        // The axis runs 0, 5, 10, 15: 15 made sits at the top, 9 delivered at 9/15 of it.
        let top = MARGIN_TOP;
        let bottom = PLOT_HEIGHT - MARGIN_BOTTOM;
        let last_y = |points: &str| -> f64 { points.rsplit(',').next().unwrap().parse().unwrap() };
        assert!((last_y(made) - top).abs() < 0.1, "{made}");
        let delivered = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("line-delivered"))
            .and_then(|n| n.attribute("points"))
            .expect("delivered line");
        let expected = bottom - (bottom - top) * 9.0 / 15.0;
        assert!((last_y(delivered) - expected).abs() < 0.1, "{delivered}");
        let ticks: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("end"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(ticks, ["0", "5", "10", "15"]);
    }

    #[test]
    fn over_time_chart_with_no_periods_says_so() {
        let chart = made_and_delivered("t", "Nothing", &[]);
        let doc = parse(&chart);
        assert_eq!(child_text(&doc, "desc"), "No commitments yet");
        assert!(doc.descendants().all(|n| !n.has_tag_name("polyline")));
    }

    #[test]
    fn over_time_chart_thins_crowded_axis_labels() {
        let periods: Vec<Period> = (0..30)
            .map(|i| Period {
                label: format!("P{i}"),
                made: 1,
                delivered: 0,
            })
            .collect();
        let chart = made_and_delivered("t", "Busy", &periods);
        let doc = parse(&chart);
        let labels = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("x-label"))
            .count();
        assert!(labels <= MAX_X_LABELS + 1, "{labels} labels");
    }

    #[test]
    fn nice_ceiling_rounds_up_to_1_2_5() {
        let cases = [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (15, 20), (51, 100)];
        for (value, expected) in cases {
            assert_eq!(nice_ceiling(value), expected, "{value}");
        }
        assert_eq!(nice_ceiling(1234), 2000);
    }

    #[test]
    fn axis_steps_are_round_and_cover_the_maximum() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(3), (3, 1));
        assert_eq!(axis(5), (6, 2));
        assert_eq!(axis(15), (15, 5));
        assert_eq!(axis(68), (80, 20));
        assert_eq!(axis(1234), (1500, 500));
        for max in 0..2000 {
            let (top, step) = axis(max);
            assert!(
                top >= max && top % step == 0 && top / step <= 4,
                "{max}: {top} by {step}"
            );
        }
    }

    proptest! {
        #[test]
        fn proportional_widths_always_add_up(counts in proptest::collection::vec(0u64..1_000_000, 0..9)) {
            let widths = proportional_widths(&counts, BAR_WIDTH);
            prop_assert_eq!(widths.len(), counts.len());
            let total: u64 = counts.iter().sum();
            let sum: u64 = widths.iter().sum();
            prop_assert_eq!(sum, if total == 0 { 0 } else { BAR_WIDTH });
            for (count, width) in counts.iter().zip(&widths) {
                if *count == 0 {
                    prop_assert_eq!(*width, 0);
                }
            }
        }
    }
}
