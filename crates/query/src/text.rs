//! Words for search: lower-case runs of letters and digits, accents dropped, numbers whole
//! across their thousands separators.

use covenant_core::proto::event_body::Kind;
use std::collections::BTreeSet;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest word kept; longer runs are cut so that a key never grows without bound.
const MAX_WORD_CHARS: usize = 40;

/// The distinct words of `text`, lower-cased (Unicode-aware), with accents dropped (so
/// "Cafés" and "cafes" are one word) and thousands separators too ("6,500" and "6500"), in
/// sorted order.
pub fn words(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |run: &str| {
        if !run.is_empty() {
            let folded = run.nfd().filter(|c| !is_combining_mark(*c) && *c != ',');
            out.insert(
                folded
                    .flat_map(char::to_lowercase)
                    .take(MAX_WORD_CHARS)
                    .collect(),
            );
        }
    };
    let mut start = None;
    for (index, character) in text.char_indices() {
        // A combining accent belongs to the letter before it (text may come decomposed), and
        // a thousands separator to its number ("6,500" is the word 6500).
        let in_word = character.is_alphanumeric()
            || is_combining_mark(character)
            || is_thousands_separator(text, index);
        match (in_word, start) {
            (true, None) => start = Some(index),
            (false, Some(begin)) => {
                add(&text[begin..index]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        add(&text[begin..]);
    }
    out
}

/// Whether the character at `index` is a comma between a digit and exactly three more.
fn is_thousands_separator(text: &str, index: usize) -> bool {
    let bytes = text.as_bytes();
    let digit = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
    bytes[index] == b','
        && index > 0
        && digit(index - 1)
        && (1..=3).all(|ahead| digit(index + ahead))
        && !digit(index + 4)
}

/// The words an event lists its commitment under in the search index: a new commitment's
/// title and text, an amendment's new values; `None` for every other event. A commitment is
/// listed under every word any of its versions used.
pub fn event_words(kind: &Kind) -> Option<BTreeSet<String>> {
    match kind {
        Kind::CommitmentMade(made) => {
            let mut found = words(&made.title);
            found.extend(words(&made.text));
            Some(found)
        }
        Kind::CommitmentAmended(amended) => Some(
            amended
                .changes
                .iter()
                .flat_map(|change| words(&change.new_value))
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_alphanumeric_runs() {
        let found: Vec<String> = words("Build 1,500 NEW homes; build-to-rent, Zoë's café")
            .into_iter()
            .collect();
        assert_eq!(
            found,
            [
                "1500", "build", "cafe", "homes", "new", "rent", "s", "to", "zoe"
            ]
        );
        let one = |text: &str| words(text).into_iter().collect::<Vec<_>>();
        assert_eq!(one("cafés"), ["cafes"]);
        assert_eq!(one("CAFES"), ["cafes"]);
        assert_eq!(
            one("cafe\u{301}s"),
            ["cafes"],
            "decomposed, the accent its own character"
        );
        assert_eq!(one("Ysbyty Gwynedd’s"), ["gwynedd", "s", "ysbyty"]);
        assert!(words("  --  ").is_empty());
        // Thousands separators join a number; other commas part words.
        assert_eq!(one("1,500,000 homes"), ["1500000", "homes"]);
        assert_eq!(one("6,500"), one("6500"));
        assert_eq!(one("6,50"), ["50", "6"]);
        assert_eq!(one("6,5000"), ["5000", "6"]);
        assert_eq!(one("a,500"), ["500", "a"]);
        assert_eq!(one("1,2,3"), ["1", "2", "3"]);
        assert_eq!(one(",500"), ["500"]);
        assert_eq!(one("7,"), ["7"]);
        let long = "a".repeat(100);
        assert_eq!(words(&long).into_iter().next().map(|w| w.len()), Some(40));
    }
}
