//! Words for search: lower-case runs of letters and digits.

use covenant_core::proto::event_body::Kind;
use std::collections::BTreeSet;

/// Longest word kept; longer runs are cut so that a key never grows without bound.
const MAX_WORD_CHARS: usize = 40;

/// The distinct words of `text`, lower-cased (Unicode-aware), in sorted order.
pub fn words(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |run: &str| {
        if !run.is_empty() {
            out.insert(run.to_lowercase().chars().take(MAX_WORD_CHARS).collect());
        }
    };
    let mut start = None;
    for (index, character) in text.char_indices() {
        match (character.is_alphanumeric(), start) {
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
                "1", "500", "build", "café", "homes", "new", "rent", "s", "to", "zoë"
            ]
        );
        assert!(words("  --  ").is_empty());
        let long = "a".repeat(100);
        assert_eq!(words(&long).into_iter().next().map(|w| w.len()), Some(40));
    }
}
