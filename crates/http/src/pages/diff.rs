//! Original against current, word by word: removed words struck through, added ones marked.

use maud::{Markup, html};
use similar::{ChangeTag, TextDiff};

/// The current text with the changes from `original` marked inline (`<del>` and `<ins>`), so
/// a reader sees at a glance what was rewritten. Unchanged text is shown as it is.
pub fn inline(original: &str, current: &str) -> Markup {
    let diff = TextDiff::from_words(original, current);
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    html! {
        @for (index, (tag, text)) in runs.iter().enumerate() {
            // Struck-out words followed at once by their replacement would read as one word
            // ("zero-carbonclean power"): keep a word boundary between them.
            @if *tag == ChangeTag::Insert
                && index > 0
                && runs[index - 1].0 == ChangeTag::Delete
                && !runs[index - 1].1.ends_with(char::is_whitespace)
                && !text.starts_with(char::is_whitespace) { " " }
            // White space at either end of a change stays outside its mark, so the words
            // around a change never run into it.
            @let (before, words, after) = split_space(text);
            @match tag {
                ChangeTag::Equal => (text),
                ChangeTag::Delete => { (before) del { span class="visually-hidden" { "removed: " } (words) } (after) }
                ChangeTag::Insert => { (before) ins { span class="visually-hidden" { "added: " } (words) } (after) }
            }
        }
    }
}

/// Leading white space, the text between, trailing white space.
fn split_space(text: &str) -> (&str, &str, &str) {
    let trimmed_start = text.trim_start();
    let before = &text[..text.len() - trimmed_start.len()];
    let words = trimmed_start.trim_end();
    let after = &trimmed_start[words.len()..];
    (before, words, after)
}

/// One value before and after (a deadline, a target): the old struck through beside the new,
/// or the value alone when it did not change.
pub fn value_change(original: Option<&str>, current: Option<&str>) -> Markup {
    match (original, current) {
        (Some(before), Some(after)) if before == after => html! { (after) },
        (None, None) => html! { span class="muted" { "none given" } },
        (before, after) => html! {
            @if let Some(before) = before {
                del { span class="visually-hidden" { "was " } (before) }
                " "
            }
            @if let Some(after) = after {
                ins { span class="visually-hidden" { "now " } (after) }
            } @else {
                ins { "removed" }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_struck_and_inserted() {
        let html = inline(
            "Build 300,000 homes a year by 2028",
            "Build 250,000 homes a year by 2030",
        )
        .into_string();
        assert!(
            html.contains("<del><span class=\"visually-hidden\">removed: </span>300,000</del>")
        );
        assert!(html.contains("<ins><span class=\"visually-hidden\">added: </span>250,000</ins>"));
        assert!(html.contains("<del><span class=\"visually-hidden\">removed: </span>2028</del>"));
        assert!(html.starts_with("Build "));
    }

    #[test]
    fn a_replaced_word_keeps_its_word_boundary() {
        let html = inline(
            "A zero-carbon power system by 2030",
            "A clean power system by 2030",
        )
        .into_string();
        assert!(
            html.contains("zero-carbon</del> <ins>"),
            "deleted and inserted words must not run together: {html}"
        );
        let plain = html
            .replace("<span class=\"visually-hidden\">removed: </span>", "")
            .replace("<span class=\"visually-hidden\">added: </span>", "");
        assert!(!plain.contains("zero-carbonclean"), "{plain}");
    }

    #[test]
    fn removed_words_keep_the_spaces_around_them_outside_the_mark() {
        let html = inline(
            "Build one and a half million safe and decent homes in England",
            "Build 1.3 million homes in England",
        )
        .into_string();
        assert!(
            !html.contains(" </del>") && !html.contains("<del> "),
            "{html}"
        );
        assert!(html.contains("decent</del> homes"), "{html}");
        assert_eq!(split_space("  a b "), ("  ", "a b", " "));
        assert_eq!(split_space("ab"), ("", "ab", ""));
        assert_eq!(split_space(" "), (" ", "", ""));
    }

    #[test]
    fn unchanged_text_has_no_marks_and_is_escaped() {
        let html = inline("Fund <b>libraries</b>", "Fund <b>libraries</b>").into_string();
        assert_eq!(html, "Fund &lt;b&gt;libraries&lt;/b&gt;");
    }

    #[test]
    fn values_show_before_and_after_only_when_they_moved() {
        assert_eq!(
            value_change(Some("2026-03-31"), Some("2026-03-31")).into_string(),
            "2026-03-31"
        );
        let moved = value_change(Some("2026-03-31"), Some("2027-03-31")).into_string();
        assert!(moved.contains("<del><span class=\"visually-hidden\">was </span>2026-03-31</del>"));
        assert!(moved.contains("<ins><span class=\"visually-hidden\">now </span>2027-03-31</ins>"));
        assert!(
            value_change(None, None)
                .into_string()
                .contains("none given")
        );
        assert!(
            value_change(None, Some("2027-01-01"))
                .into_string()
                .starts_with("<ins>")
        );
    }
}
