//! Words for search: lower-case runs of letters and digits, accents dropped.

use covenant_core::proto::event_body::Kind;
use std::collections::BTreeSet;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest word kept; longer runs are cut so that a key never grows without bound.
const MAX_WORD_CHARS: usize = 40;

/// The distinct words of `text`, lower-cased (Unicode-aware) and with accents dropped (so
/// "Cafés" and "cafes" are one word), in sorted order.
pub fn words(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |run: &str| {
        if !run.is_empty() {
            let folded = run.nfd().filter(|c| !is_combining_mark(*c));
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
        // A combining accent belongs to the letter before it (text may come decomposed).
        let in_word = character.is_alphanumeric() || is_combining_mark(character);
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
                "1", "500", "build", "cafe", "homes", "new", "rent", "s", "to", "zoe"
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
        let long = "a".repeat(100);
        assert_eq!(words(&long).into_iter().next().map(|w| w.len()), Some(40));
    }
}
