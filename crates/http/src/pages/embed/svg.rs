//! The card as an SVG image of a fixed size, for `<img src>` on any site.
//!
//! Drawn with maud like the pages' charts, so every text is escaped the same way; elements are
//! closed explicitly, which a standalone SVG (XML) needs. Text is plain `<text>`: no script,
//! no link, no external font or image, so the image loads nothing and runs nothing.

use super::card::{ActorCard, Card, CommitmentCard, deadline_words, outcome_words};
use super::{SVG_HEIGHT, SVG_WIDTH, as_of_words};
use crate::pages::common::{status_label, tone_of};
use crate::pages::{PageError, format};
use covenant_query::ResolvedAsOf;
use maud::{Markup, html};

const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
const INK: &str = "#1b1f24";
const MUTED: &str = "#4b5563";
const LINE: &str = "#d6dae0";
/// Characters of a title line at the title's size; longer titles wrap onto a second line and
/// are then cut with an ellipsis.
const TITLE_LINE_CHARS: usize = 46;
const LEFT: u32 = 16;

/// Text as XML 1.0 allows it: control characters (other than tab, newline and carriage
/// return) have no place in an XML document at all, even escaped, so they are dropped.
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|character| !character.is_control() || matches!(character, '\t' | '\n' | '\r'))
        .collect()
}

/// `text` in at most `lines` lines of at most `width` characters, split between words, the
/// last cut with an ellipsis when the text is longer.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let mut wrapped: Vec<String> = vec![];
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if needed > width && !current.is_empty() {
            wrapped.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        wrapped.push(current);
    }
    let overflow = wrapped.len() > lines;
    wrapped.truncate(lines);
    if let Some(last) = wrapped.last_mut()
        && (overflow || last.chars().count() > width)
    {
        let kept: String = last.chars().take(width.saturating_sub(1)).collect();
        *last = format!("{}…", kept.trim_end());
    }
    wrapped
}

/// The frame every SVG card shares: size, accessible name, white box, and the footer.
fn frame(title: &str, description: &str, point: Option<&ResolvedAsOf>, body: Markup) -> String {
    let markup = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(SVG_WIDTH) height=(SVG_HEIGHT)
            viewBox={ "0 0 " (SVG_WIDTH) " " (SVG_HEIGHT) } role="img"
            aria-labelledby="card-title card-desc" font-family=(FONT) {
            title id="card-title" { (xml_text(title)) }
            desc id="card-desc" { (xml_text(description)) }
            rect x="0.5" y="0.5" width=(SVG_WIDTH - 1) height=(SVG_HEIGHT - 1) rx="6"
                fill="#ffffff" stroke=(LINE) {}
            (body)
            text x=(LEFT) y=(SVG_HEIGHT - 10) font-size="11" fill=(MUTED) {
                @if let Some(point) = point { (as_of_words(point)) " · " }
                "Covenant"
            }
        }
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        markup.into_string()
    )
}

/// The title in one or two lines from `first_y`, and how far below the second line's place
/// the text after it can start (20 when the title took one line).
fn title_lines(title: &str, first_y: u32) -> (Markup, u32) {
    let lines = wrap(&xml_text(title), TITLE_LINE_CHARS, 2);
    let markup = html! {
        @for (index, line) in lines.iter().enumerate() {
            text x=(LEFT) y=(first_y + 20 * index as u32) font-size="16" font-weight="700"
                fill=(INK) class="card-title" { (line) }
        }
    };
    let unused = if lines.len() < 2 { 20 } else { 0 };
    (markup, unused)
}

fn commitment(card: &CommitmentCard, point: &ResolvedAsOf) -> String {
    let colour = tone_of(card.status).map_or(MUTED, |tone| tone.fill());
    let status = status_label(card.status);
    let overdue = card
        .days_overdue
        .map(|days| format!(" · {} overdue", format::days(i64::from(days))));
    let deadline = xml_text(&format!("Deadline: {}", deadline_words(card)));
    let outcome = xml_text(&format!("Latest outcome: {}", outcome_words(card)));
    let description = format!("{}: {status}. {deadline}. {outcome}.", card.title);
    let (title, unused) = title_lines(&card.title, 50);
    let status_y = 94 - unused;
    let body = html! {
        text x=(LEFT) y="26" font-size="12" font-weight="700" fill=(MUTED) {
            (xml_text(&card.owner_name))
        }
        (title)
        rect x=(LEFT) y=(status_y - 10) width="10" height="10" rx="2" fill=(colour) {}
        text x=(LEFT + 16) y=(status_y) font-size="14" font-weight="700" fill=(INK) class="card-status" {
            (status)
            @if let Some(overdue) = &overdue { (overdue) }
        }
        text x=(LEFT) y=(status_y + 20) font-size="12" fill=(INK) { (deadline) }
        text x=(LEFT) y=(status_y + 36) font-size="12" fill=(INK) { (outcome) }
    };
    frame(&card.title, &description, Some(point), body)
}

fn actor(card: &ActorCard, point: &ResolvedAsOf) -> String {
    let description = card
        .counts
        .iter()
        .map(|share| format!("{}: {}", share.tone.label(), share.count))
        .collect::<Vec<_>>()
        .join(", ");
    let description = format!(
        "{}: {}. {description}.",
        card.name,
        format::commitments(card.commitments)
    );
    let column_width = (SVG_WIDTH - 2 * LEFT) / 3;
    let body = html! {
        text x=(LEFT) y="26" font-size="12" font-weight="700" fill=(MUTED) {
            (xml_text(&card.kind)) " · " (format::commitments(card.commitments))
        }
        text x=(LEFT) y="48" font-size="16" font-weight="700" fill=(INK) class="card-title" {
            (wrap(&xml_text(&card.name), TITLE_LINE_CHARS, 1).concat())
        }
        @for (index, share) in card.counts.iter().enumerate() {
            @let column = index as u32 % 3;
            @let row = index as u32 / 3;
            @let x = LEFT + column * column_width;
            @let y = 74 + row * 22;
            rect x=(x) y=(y - 10) width="10" height="10" rx="2" fill=(share.tone.fill()) {}
            text x=(x + 16) y=(y) font-size="13" fill=(INK) {
                tspan font-weight="700" { (share.count) } " " (share.tone.label())
            }
        }
    };
    frame(&card.name, &description, Some(point), body)
}

/// The SVG card.
pub(crate) fn card(card: &Card, point: &ResolvedAsOf) -> String {
    match card {
        Card::Commitment(card) => commitment(card, point),
        Card::Actor(card) => actor(card, point),
    }
}

/// The SVG card of a request that could not be answered.
pub(crate) fn error_card(error: &PageError) -> String {
    let body = html! {
        text x=(LEFT) y="50" font-size="16" font-weight="700" fill=(INK) { "Not available" }
        @for (index, line) in wrap(&xml_text(&error.message), 64, 2).iter().enumerate() {
            text x=(LEFT) y=(76 + 18 * index as u32) font-size="12" fill=(MUTED) { (line) }
        }
    };
    frame("Not available", &error.message, None, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::embed::card::LatestOutcome;
    use covenant_core::event::Date;
    use covenant_query::Status;

    fn point() -> ResolvedAsOf {
        ResolvedAsOf {
            size: 7,
            date: Date::parse("2026-06-01").expect("a date"),
            world: None,
            latest: true,
            reuse_records: true,
        }
    }

    #[test]
    fn wrapping_splits_between_words_and_cuts_with_an_ellipsis() {
        assert_eq!(wrap("one two three", 7, 2), ["one two", "three"]);
        assert_eq!(wrap("one two three four", 7, 2), ["one two", "three…"]);
        assert_eq!(wrap("abcdefghij", 5, 1), ["abcd…"]);
        assert!(wrap("", 5, 2).is_empty());
    }

    #[test]
    fn an_svg_card_is_well_formed_xml_with_its_text_escaped() {
        let card = CommitmentCard {
            id: "c".into(),
            title: "Fish & <chips> \"now\"\u{1} ok".into(),
            owner: "X".into(),
            owner_name: "A & B".into(),
            status: Status::Delivered,
            days_overdue: None,
            due_by: None,
            outcome: Some(LatestOutcome {
                verdict: Status::Delivered,
                reported_on: "2026-04-20".into(),
            }),
        };
        let text = super::card(&Card::Commitment(card), &point());
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
        let document = roxmltree::Document::parse(&text).expect("well-formed XML");
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("width"), Some("480"));
        assert_eq!(root.attribute("height"), Some("160"));
        let title = root
            .children()
            .find(|node| node.has_tag_name("title"))
            .and_then(|node| node.text());
        assert_eq!(title, Some("Fish & <chips> \"now\" ok"));
        assert!(text.contains("Fish &amp; &lt;chips&gt; &quot;now&quot; ok"));
        assert!(text.contains(">Delivered<"));
        assert!(text.contains("Delivered, reported 20 Apr 2026"));
        assert!(!text.contains("<script"));
    }
}
