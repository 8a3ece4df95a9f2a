//! The projection's key layout: one sled tree, every record under a one-byte tag.
//!
//! The tree lives in its own sled database, `DATA/query`, beside the store's `DATA/log` (sled
//! locks a directory to one process, and the store's trees are the store's alone). Each tag
//! constant below says what its keys and values are: facts (`f`), records (`v`), aggregates
//! (`g`), the list, search and due-date indexes, feeds, event and actor references, the
//! day-to-size maps that resolve dates, and metadata (`z`: `applied`, format).
//!
//! Keys sort the way the queries read them: a commitment's facts by sequence, an index by
//! commitment id, the overdue index by due date. Components in the middle of a key are escaped
//! (0x00 becomes 0x00 0xff) and end with 0x00 0x00, so no value can run into the next
//! component and the byte order still follows the text order.

use covenant_core::event::Date;

/// `f` + cid + seq: one fact (an event about a commitment).
pub const FACT: u8 = b'f';
/// `v` + cid: the commitment's latest record.
pub const RECORD: u8 = b'v';
/// `e` + event id: which commitments and actors a succession or a retraction touched (where a
/// retraction of it must go); other events' targets are re-derived from the log.
pub const EVENT: u8 = b'e';
/// `a` + actor id: the actor's record.
pub const ACTOR: u8 = b'a';
/// `g` + group: the group's aggregate (latest state).
pub const AGGREGATE: u8 = b'g';
/// `s` + status + cid: commitments by latest base status, one key each (the open ones are
/// those under `not_started` and `in_progress`; keys under `open` written before are never
/// read).
pub const STATUS: u8 = b's';
/// `o` + actor + cid: commitments by current owner.
pub const OWNER: u8 = b'o';
/// `O` + actor + cid: every commitment an actor has ever owned or shares as a delivery
/// partner (as-of candidates, and the commitments a succession from the actor may pass). Keys
/// under `l` (commitments open by owner) that databases written before still hold are never
/// read: a succession now applies covenant-core's rule to the records it folds from the facts.
pub const EVER_OWNED: u8 = b'O';
/// `t` + theme + cid: commitments by theme (themes never change).
pub const THEME: u8 = b't';
/// `w` + word + seq: a run of the search index, the commitments (a sorted list) that the
/// batch starting at entry `seq` listed under the word for the first time. A commitment is
/// listed under every word any of its versions used. One run per word and batch, not one key
/// per word and commitment: a commitment has dozens of words, and most of a batch's share
/// them.
pub const WORD: u8 = b'w';
/// `W` + word: how many commitments `w` lists for the word.
pub const WORD_COUNT: u8 = b'W';
/// `d` + group + due date + cid: open commitments with a due date; the value is the list entry
/// a scorecard shows, so a list is one range scan. It is rewritten in each group whenever the
/// entry changes (a first action, an amendment): about 0.3 engine writes an entry, kept since
/// reading the records instead made a scorecard three times slower.
pub const DUE: u8 = b'd';
/// `m` + group + when they last moved (latest first, [`Key::date_descending`]) + cid:
/// commitments whose goalposts moved; the value as for `d`.
pub const MOVED: u8 = b'm';
/// `r` + outcome date (latest first) + cid: the commitments an outcome decides, for the
/// latest outcomes.
pub const OUTCOME: u8 = b'r';
/// `x` + when the latest dispute happened (latest first) + cid: the commitments whose outcome
/// an assessment disputes, for the latest disputes.
pub const DISPUTED: u8 = b'x';
/// `n` + group + seq: a run of the group's feed, the items (new commitments, amendments,
/// outcomes, withdrawals: each its entry's seq and its commitment's id, in log order) that
/// the batch starting at entry `seq` announced. One run per group and batch, like `w`.
pub const FEED: u8 = b'n';
/// `y` + day: number of entries stored on or before that day.
pub const DAY_END: u8 = b'y';
/// `Y` + end size: the day whose last entry is `end size - 1`.
pub const END_DAY: u8 = b'Y';
/// `z` + name: metadata.
pub const META: u8 = b'z';

/// Every tag with a name for what its keys hold, for figures that count keys by kind.
pub const KINDS: [(u8, &str); 19] = [
    (FACT, "fact"),
    (RECORD, "record"),
    (EVENT, "event"),
    (ACTOR, "actor"),
    (AGGREGATE, "aggregate"),
    (STATUS, "status"),
    (OWNER, "owner"),
    (EVER_OWNED, "ever_owned"),
    (THEME, "theme"),
    (WORD, "word_run"),
    (WORD_COUNT, "word_count"),
    (DUE, "due"),
    (MOVED, "moved"),
    (OUTCOME, "outcome"),
    (DISPUTED, "disputed"),
    (FEED, "feed_run"),
    (DAY_END, "day_end"),
    (END_DAY, "end_day"),
    (META, "meta"),
];

/// What a key's tag says it holds ([`KINDS`]), or `"unknown"`.
pub fn kind(key: &[u8]) -> &'static str {
    key.first()
        .and_then(|tag| KINDS.iter().find(|(known, _)| known == tag))
        .map_or("unknown", |(_, name)| name)
}

/// The metadata key holding the number of log entries applied.
pub fn applied() -> Vec<u8> {
    Key::new(META).last("applied").into_bytes()
}

/// The metadata key holding the projection's format version.
pub fn format() -> Vec<u8> {
    Key::new(META).last("format").into_bytes()
}

/// What a `w` run holds: commitment ids, sorted (encoded with `fact::encode`).
pub type WordRun = Vec<String>;

/// What an `n` run holds: (entry seq, commitment id) in log order (encoded with `fact::encode`).
pub type FeedRun = Vec<(u64, String)>;

/// The prefix of every run of `word` in the search index.
pub fn word_runs(word: &str) -> Vec<u8> {
    Key::new(WORD).part(word).into_bytes()
}

/// The run of `word` written by the batch that starts at entry `first_seq`.
pub fn word_run(word: &str, first_seq: u64) -> Vec<u8> {
    Key::new(WORD).part(word).seq(first_seq).into_bytes()
}

/// The prefix of every run of a group's feed (`group` as `Group::key` gives it).
pub fn feed_runs(group: &str) -> Vec<u8> {
    Key::new(FEED).part(group).into_bytes()
}

/// The run of a group's feed written by the batch that starts at entry `first_seq`.
pub fn feed_run(group: &str, first_seq: u64) -> Vec<u8> {
    Key::new(FEED).part(group).seq(first_seq).into_bytes()
}

/// A key under construction.
#[derive(Debug, Clone)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn new(tag: u8) -> Self {
        Self(vec![tag])
    }

    /// A component followed by others.
    pub fn part(mut self, text: &str) -> Self {
        for &byte in text.as_bytes() {
            self.0.push(byte);
            if byte == 0 {
                self.0.push(0xff);
            }
        }
        self.0.extend_from_slice(&[0, 0]);
        self
    }

    /// The final component, unescaped (read back with [`last_component`]).
    pub fn last(mut self, text: &str) -> Self {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    pub fn seq(mut self, seq: u64) -> Self {
        self.0.extend_from_slice(&seq.to_be_bytes());
        self
    }

    /// A date, sign bit flipped so that dates before 1970 sort first.
    pub fn date(mut self, date: Date) -> Self {
        self.0
            .extend_from_slice(&((date.days() as u32) ^ 0x8000_0000).to_be_bytes());
        self
    }

    /// A date that sorts the later first.
    pub fn date_descending(mut self, date: Date) -> Self {
        self.0
            .extend_from_slice(&(!((date.days() as u32) ^ 0x8000_0000)).to_be_bytes());
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// The text after a prefix: the final component of a key built with [`Key::last`].
pub fn last_component(key: &[u8], prefix_len: usize) -> Option<&str> {
    std::str::from_utf8(key.get(prefix_len..)?).ok()
}

/// Read a date written by [`Key::date`].
pub fn read_date(bytes: &[u8]) -> Option<Date> {
    let raw: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(Date((u32::from_be_bytes(raw) ^ 0x8000_0000) as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_keep_text_order_and_never_run_together() {
        let key = |a: &str, b: &str| Key::new(b'x').part(a).last(b).into_bytes();
        assert!(key("a", "z") < key("ab", "a"));
        assert!(key("a\0", "") > key("a", "zzzz"));
        assert_ne!(key("a\0", "b"), key("a", "\0b"));
        let mut themes = ["love", "lo", "", "l\0x", "lo\u{e9}"];
        let mut keys: Vec<_> = themes.iter().map(|t| key(t, "")).collect();
        themes.sort();
        keys.sort();
        assert_eq!(keys, themes.iter().map(|t| key(t, "")).collect::<Vec<_>>());
    }

    #[test]
    fn every_tag_has_one_kind() {
        let tags: std::collections::BTreeSet<u8> = KINDS.iter().map(|(tag, _)| *tag).collect();
        let names: std::collections::BTreeSet<&str> = KINDS.iter().map(|(_, name)| *name).collect();
        assert_eq!((tags.len(), names.len()), (KINDS.len(), KINDS.len()));
        assert_eq!(kind(&applied()), "meta");
        assert_eq!(kind(&word_run("homes", 7)), "word_run");
        assert_eq!(kind(&Key::new(DUE).part("*").into_bytes()), "due");
        assert_eq!(kind(b"#"), "unknown");
        assert_eq!(kind(b""), "unknown");
    }

    #[test]
    fn dates_and_sequences_sort_numerically() {
        let date_key = |days| Key::new(b'x').date(Date(days)).into_bytes();
        assert!(date_key(-5) < date_key(-1));
        assert!(date_key(-1) < date_key(0));
        assert!(date_key(0) < date_key(20_000));
        assert_eq!(read_date(&date_key(-42)[1..]), Some(Date(-42)));
        let latest_first = |days| Key::new(b'x').date_descending(Date(days)).into_bytes();
        assert!(latest_first(20_000) < latest_first(0));
        assert!(latest_first(0) < latest_first(-1));
        assert!(latest_first(-1) < latest_first(-5));
        assert!(latest_first(20_001) < latest_first(20_000));
        let seq_key = |seq| Key::new(b'x').seq(seq).into_bytes();
        assert!(seq_key(255) < seq_key(256));
        assert_eq!(seq_key(258)[1..], 258u64.to_be_bytes());
    }
}
