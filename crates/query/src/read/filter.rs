//! What a caller may narrow a query by: flags, commitment filters, league rules and feed scopes.

use crate::record::CommitmentRecord;
use crate::state::Status;
use covenant_core::event::Date;
use covenant_core::proto::{self};
use std::collections::BTreeSet;

/// A flag a commitment list can be narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Amended,
    GoalpostsMoved,
    Disputed,
    Succeeded,
}

impl Flag {
    pub const NAMES: [&str; 4] = ["amended", "goalposts_moved", "disputed", "succeeded"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "amended" => Some(Self::Amended),
            "goalposts_moved" => Some(Self::GoalpostsMoved),
            "disputed" => Some(Self::Disputed),
            "succeeded" => Some(Self::Succeeded),
            _ => None,
        }
    }

    fn holds(self, record: &CommitmentRecord) -> bool {
        match self {
            Self::Amended => record.amendments > 0,
            Self::GoalpostsMoved => record.goalposts_moved(),
            Self::Disputed => record.disputed,
            Self::Succeeded => record.successions > 0,
        }
    }
}

/// Which commitments to list. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitmentFilter {
    /// Owned by this actor, or delivered by it as a partner (at the point asked about).
    pub actor: Option<String>,
    pub theme: Option<String>,
    /// With this status; without one, retracted commitments are left out.
    pub status: Option<Status>,
    /// Every word must appear in the current or original title or text (see [`crate::words`]).
    pub words: BTreeSet<String>,
    pub made_from: Option<Date>,
    pub made_to: Option<Date>,
    pub due_from: Option<Date>,
    pub due_to: Option<Date>,
    pub flag: Option<Flag>,
}

impl CommitmentFilter {
    pub(super) fn accepts(&self, record: &CommitmentRecord, date: Date) -> bool {
        let status = record.status(date);
        let status_ok = match self.status {
            Some(wanted) => status == wanted,
            None => status != Status::Retracted,
        };
        let within = |value: Option<Date>, from: Option<Date>, to: Option<Date>| {
            (from.is_none() && to.is_none())
                || value.is_some_and(|v| from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t))
        };
        status_ok
            && self.actor.as_ref().is_none_or(|a| record.involves(a))
            && self
                .theme
                .as_ref()
                .is_none_or(|t| record.themes.contains(t))
            && within(Some(record.made_on), self.made_from, self.made_to)
            && within(record.due_by, self.due_from, self.due_to)
            && self.flag.is_none_or(|flag| flag.holds(record))
            && record.matches_words(&self.words)
    }
}

/// How the league table ranks actors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeagueRules {
    /// Actors with fewer resolved commitments are not ranked.
    pub min_resolved: u32,
    /// Only actors of this kind.
    pub kind: Option<proto::ActorKind>,
}

impl Default for LeagueRules {
    fn default() -> Self {
        Self {
            min_resolved: 5,
            kind: None,
        }
    }
}

/// Whose feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedScope {
    Actor(String),
    Theme(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_by_name() {
        for name in Flag::NAMES {
            assert!(Flag::parse(name).is_some(), "{name}");
        }
        assert_eq!(Flag::parse("shiny"), None);
    }
}
