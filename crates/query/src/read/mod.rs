//! The queries: scorecards, lists, search, history and feeds, each as of a [`ResolvedAsOf`].
//!
//! Each query has two ways to answer. At the latest point it reads what `apply` keeps up to
//! date: commitment records, group aggregates and indexes. At an earlier point it folds the
//! facts of every candidate commitment with the point's bound, which is slower but exact; the
//! tests check that both ways give the same answer.
//!
//! The queries are grouped by what they answer: [`filter`] holds what a caller may narrow by,
//! then one module each for actors and scorecards, themes and the league table, commitments
//! and feeds. This module holds the lookups they share.

mod actors;
mod commitments;
mod feeds;
mod filter;
mod shared;
mod themes;

pub use filter::{CommitmentFilter, FeedScope, Flag, LeagueRules};
pub use shared::SharedFold;
pub(crate) use shared::SharedSlot;

use crate::QueryError;
use crate::actor::ActorRecord;
use crate::apply::{aggregate_key, corrupt};
use crate::fact::{self, Fact};
use crate::keys::{self, Key};
use crate::projections::TreeRef;
use crate::projections::{Projections, ResolvedAsOf};
use crate::record::{Aggregate, CommitmentRecord, Group};
use crate::state::{self, CommitmentState};
use covenant_core::SchemaName;
use covenant_core::event::Date;

impl Projections {
    /// Hold the engine shared for a whole query: no batch lands and no refresh reopens the
    /// engine until it is dropped, so a query reads one state throughout. The reads inside
    /// take the engine again (`tree`), which never waits while this is held.
    pub(crate) fn read_gate(&self) -> Result<TreeRef<'_>, QueryError> {
        self.tree()
    }

    fn decode_at<T: for<'de> serde::Deserialize<'de>>(
        &self,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, QueryError> {
        self.tree()?
            .get(key)?
            .map(|bytes| fact::decode(&bytes, what).map_err(corrupt(key)))
            .transpose()
    }

    fn latest_record(&self, id: &str) -> Result<Option<CommitmentRecord>, QueryError> {
        self.decode_at(
            &Key::new(keys::RECORD).last(id).into_bytes(),
            "commitment record",
        )
    }

    pub(crate) fn facts(&self, id: &str) -> Result<Vec<Fact>, QueryError> {
        let prefix = Key::new(keys::FACT).part(id).into_bytes();
        self.tree()?
            .scan_prefix(&prefix)
            .map(|item| {
                let (key, value) = item?;
                fact::decode(&value, "fact").map_err(corrupt(&key))
            })
            .collect()
    }

    fn state_at(
        &self,
        id: &str,
        point: &ResolvedAsOf,
    ) -> Result<Option<CommitmentState>, QueryError> {
        state::fold(&self.facts(id)?, point.cut()).map_err(|problem| QueryError::Corrupt {
            key: id.to_owned(),
            problem,
        })
    }

    fn record_at(
        &self,
        id: &str,
        point: &ResolvedAsOf,
    ) -> Result<Option<CommitmentRecord>, QueryError> {
        if point.latest {
            return self.latest_record(id);
        }
        // Most commitments stand at an earlier point as they stand now: one record read
        // instead of reading and folding every fact.
        if point.reuse_records
            && let Some(record) = self.latest_record(id)?
            && record.stands_at(point.cut())
        {
            return Ok(Some(record));
        }
        Ok(self
            .state_at(id, point)?
            .map(|state| CommitmentRecord::of(&state)))
    }

    fn actor_record(&self, id: &str) -> Result<Option<ActorRecord>, QueryError> {
        self.decode_at(&Key::new(keys::ACTOR).last(id).into_bytes(), "actor record")
    }

    fn aggregate(&self, group: &Group) -> Result<Aggregate, QueryError> {
        Ok(self
            .decode_at(&aggregate_key(group), "aggregate")?
            .unwrap_or_default())
    }

    /// Commitment ids under `prefix` (the last key component), after `cursor`, in order.
    pub(crate) fn ids_under<'a>(
        &'a self,
        prefix: Vec<u8>,
        cursor: Option<&str>,
    ) -> Result<impl Iterator<Item = Result<String, QueryError>> + 'a, QueryError> {
        let start = match cursor {
            Some(after) => {
                let mut key = prefix.clone();
                key.extend_from_slice(after.as_bytes());
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        let prefix_len = prefix.len();
        Ok(self
            .tree()?
            .range(start..)
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(move |item| {
                let (key, _) = item?;
                keys::last_component(&key, prefix_len)
                    .map(str::to_owned)
                    .ok_or_else(|| corrupt(&key)("id is not text".into()))
            }))
    }

    /// Fold the commitments of `group` that count at `point` (see [`Projections::records_at`]
    /// for the shared fold).
    fn fold_group(
        &self,
        group: &Group,
        point: &ResolvedAsOf,
    ) -> Result<Vec<CommitmentRecord>, QueryError> {
        let prefix = match group {
            Group::All => Key::new(keys::RECORD).into_bytes(),
            Group::Actor(actor) => Key::new(keys::EVER_OWNED).part(actor).into_bytes(),
            Group::Theme(theme) => Key::new(keys::THEME).part(theme).into_bytes(),
        };
        let mut records = vec![];
        for id in self.ids_under(prefix, None)? {
            let Some(record) = self.record_at(&id?, point)? else {
                continue;
            };
            let member = match group {
                Group::Actor(actor) => record.owner == *actor,
                _ => true,
            };
            if member && record.counts() {
                records.push(record);
            }
        }
        Ok(records)
    }

    fn aggregate_at(&self, group: &Group, point: &ResolvedAsOf) -> Result<Aggregate, QueryError> {
        if point.latest {
            return self.aggregate(group);
        }
        let mut aggregate = Aggregate::default();
        for record in self.records_at(group, point)?.iter() {
            aggregate.add(record, 1);
        }
        Ok(aggregate)
    }
}

/// The schema enum value numbered `number`, as a message's field holds it; unspecified for a
/// number the schema does not know.
fn schema<T: SchemaName + Default>(number: i32) -> T {
    T::try_from(number).unwrap_or_default()
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// RFC 3339 UTC text of a Unix time in nanoseconds, to the second.
pub fn rfc3339(ns: u64) -> String {
    let seconds = ns / 1_000_000_000;
    let day = Date((seconds / 86_400) as i32);
    let in_day = seconds % 86_400;
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        in_day / 3_600,
        in_day / 60 % 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_utc_to_the_second() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_603_600_123_456_789), "2026-01-05T09:00:00Z");
    }
}
