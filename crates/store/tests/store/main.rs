//! The store's integration tests, one binary: the conformance suite run for each engine,
//! the model test, crash recovery, tamper detection and bad input.

mod bad_input;
mod conformance;
mod crash;
mod model;
mod seals;
mod snapshot;
mod support;
mod tamper;
mod upgrade;

mod sled_engine {
    use super::conformance::{self, Engine};
    use covenant_store::SledStore;
    use std::path::Path;

    struct Sled;

    impl Engine for Sled {
        type Store = SledStore;
        fn create(&self, dir: &Path) -> SledStore {
            SledStore::create_or_open(dir).expect("create store")
        }
        fn reopen(&self, dir: &Path) -> SledStore {
            SledStore::open(dir).expect("reopen store")
        }
    }

    macro_rules! conformance_tests {
        ($($name:ident),* $(,)?) => {
            $(#[test]
            fn $name() {
                conformance::$name(&Sled);
            })*
        };
    }

    conformance_tests!(
        empty_store_has_empty_head,
        appends_assign_sequence_chain_and_tree,
        event_index_finds_persisted_events,
        duplicate_event_ids_are_refused_with_nothing_written,
        lookups_that_found_nothing_never_let_a_duplicate_in,
        malformed_entries_are_refused_with_nothing_written,
        state_changes_without_entries_are_refused,
        rejections_are_found_by_event_and_by_time,
        door_refusals_are_bounded_and_kept_apart,
        state_is_loaded_without_replaying_the_log,
        checkpoints_are_kept_and_checked,
        proofs_from_stored_hashes_verify,
        everything_survives_reopening,
        concurrent_readers_see_consistent_heads,
    );
}
