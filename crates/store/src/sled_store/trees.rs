//! The sled trees a store keeps, one per kind of record (their names are in `layout`).

use crate::layout;

#[derive(Clone)]
pub(crate) struct Trees {
    pub entries: sled::Tree,
    pub hashes: sled::Tree,
    pub prints: sled::Tree,
    pub state: sled::Tree,
    pub rejections: sled::Tree,
    pub rejections_by_event: sled::Tree,
    pub checkpoints: sled::Tree,
    pub door_refusals: sled::Tree,
    pub door_refusals_by_event: sled::Tree,
    pub meta: sled::Tree,
}

impl Trees {
    pub(super) fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            entries: db.open_tree(layout::TREE_ENTRIES)?,
            hashes: db.open_tree(layout::TREE_HASHES)?,
            prints: db.open_tree(layout::TREE_PRINTS)?,
            state: db.open_tree(layout::TREE_STATE)?,
            rejections: db.open_tree(layout::TREE_REJECTIONS)?,
            rejections_by_event: db.open_tree(layout::TREE_REJECTIONS_BY_EVENT)?,
            checkpoints: db.open_tree(layout::TREE_CHECKPOINTS)?,
            door_refusals: db.open_tree(layout::TREE_DOOR_REFUSALS)?,
            door_refusals_by_event: db.open_tree(layout::TREE_DOOR_REFUSALS_BY_EVENT)?,
            meta: (**db).clone(),
        })
    }

    /// The trees a batch writes, in the order of [`BatchWrites`]'s fields.
    ///
    /// [`BatchWrites`]: super::batch::BatchWrites
    pub(super) fn for_batch(&self) -> [sled::Tree; 7] {
        [
            self.entries.clone(),
            self.hashes.clone(),
            self.prints.clone(),
            self.state.clone(),
            self.rejections.clone(),
            self.rejections_by_event.clone(),
            self.meta.clone(),
        ]
    }
}
