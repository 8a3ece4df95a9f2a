//! Every commitment folded once at an earlier point, shared by the readers that ask for it.
//!
//! A page covering everyone at an earlier point asks several readers (everyone's scorecard,
//! the league tables, the themes, each actor's figures) and each folds every commitment again:
//! the home page folded them three to five times. A [`SharedFold`] held for the length of a
//! request keeps one fold alive; while it lives, [`Projections::records_at`] answers everyone
//! and each actor from it. The projections keep only a weak reference, so memory lasts as long
//! as the requests that asked for it. The records at a point never change once the log behind
//! it is projected, so a fold made for one request answers another at the same point as well.

use crate::QueryError;
use crate::projections::{Projections, ResolvedAsOf};
use crate::record::{CommitmentRecord, Group};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// Every commitment that counts at one point, in id order.
pub(crate) struct Folded {
    records: Vec<CommitmentRecord>,
    /// Indexes into `records` by owner, built the first time an actor is asked for.
    by_owner: OnceLock<HashMap<String, Vec<usize>>>,
}

impl Folded {
    fn new(records: Vec<CommitmentRecord>) -> Self {
        Self {
            records,
            by_owner: OnceLock::new(),
        }
    }

    fn owned_by(&self, actor: &str) -> Vec<usize> {
        let by_owner = self.by_owner.get_or_init(|| {
            let mut by_owner: HashMap<String, Vec<usize>> = HashMap::new();
            for (index, record) in self.records.iter().enumerate() {
                by_owner
                    .entry(record.owner.clone())
                    .or_default()
                    .push(index);
            }
            by_owner
        });
        by_owner.get(actor).cloned().unwrap_or_default()
    }
}

/// Which points share a fold: everything but the date that judges overdue, which the records
/// do not depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FoldKey {
    cut: crate::state::Cut,
    latest: bool,
    reuse_records: bool,
}

impl FoldKey {
    fn of(point: &ResolvedAsOf) -> Self {
        Self {
            cut: point.cut(),
            latest: point.latest,
            reuse_records: point.reuse_records,
        }
    }
}

/// The fold the projections share while some request holds it, and how many folds of
/// everyone there have been.
#[derive(Default)]
pub(crate) struct SharedSlot {
    slot: parking_lot::Mutex<Option<(FoldKey, Weak<Folded>)>>,
    folds_of_everyone: AtomicU64,
}

impl SharedSlot {
    fn get(&self, point: &ResolvedAsOf) -> Option<Arc<Folded>> {
        let slot = self.slot.lock();
        let (key, fold) = slot.as_ref()?;
        (*key == FoldKey::of(point)).then(|| fold.upgrade())?
    }

    fn put(&self, point: &ResolvedAsOf, fold: &Arc<Folded>) {
        *self.slot.lock() = Some((FoldKey::of(point), Arc::downgrade(fold)));
    }
}

/// Every commitment folded at one earlier point, kept for the readers at that point while this
/// lives (see the module's notes). Hold it for the length of a request.
pub struct SharedFold {
    _fold: Arc<Folded>,
}

/// The commitments of a group that count at a point: all of a fold, or some of them.
pub(crate) struct Records {
    fold: Arc<Folded>,
    only: Option<Vec<usize>>,
}

impl Records {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &CommitmentRecord> {
        let all = self.only.is_none().then_some(self.fold.records.iter());
        let some = self
            .only
            .iter()
            .flatten()
            .map(|&index| &self.fold.records[index]);
        all.into_iter().flatten().chain(some)
    }
}

impl Projections {
    /// Fold every commitment at `point` and keep it for every reader at that point until the
    /// handle is dropped; `None` at the latest point, which reads what catch-up keeps instead.
    pub fn share_fold(&self, point: &ResolvedAsOf) -> Result<Option<SharedFold>, QueryError> {
        if point.latest {
            return Ok(None);
        }
        let _gate = self.read_gate()?;
        let fold = match self.shared.get(point) {
            Some(fold) => fold,
            None => {
                let fold = self.fold_everyone(point)?;
                self.shared.put(point, &fold);
                fold
            }
        };
        Ok(Some(SharedFold { _fold: fold }))
    }

    /// How many times a reader has folded every commitment at an earlier point since the
    /// projections opened: what sharing a fold saves.
    pub fn folds_of_everyone(&self) -> u64 {
        self.shared.folds_of_everyone.load(Ordering::Relaxed)
    }

    fn fold_everyone(&self, point: &ResolvedAsOf) -> Result<Arc<Folded>, QueryError> {
        self.shared
            .folds_of_everyone
            .fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Folded::new(self.fold_group(&Group::All, point)?)))
    }

    /// The commitments of `group` that count at `point`: from a shared fold of everyone when a
    /// request holds one (for everyone and for an actor), else folded here.
    pub(crate) fn records_at(
        &self,
        group: &Group,
        point: &ResolvedAsOf,
    ) -> Result<Records, QueryError> {
        if let Some(fold) = self.shared.get(point) {
            match group {
                Group::All => return Ok(Records { fold, only: None }),
                Group::Actor(actor) => {
                    let only = Some(fold.owned_by(actor));
                    return Ok(Records { fold, only });
                }
                // A theme's members come from its own index.
                Group::Theme(_) => {}
            }
        }
        let fold = match group {
            Group::All => self.fold_everyone(point)?,
            _ => Arc::new(Folded::new(self.fold_group(group, point)?)),
        };
        Ok(Records { fold, only: None })
    }
}
