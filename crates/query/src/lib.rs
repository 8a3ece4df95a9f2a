//! Covenant's query layer: what was promised against what was done, from the log.
//!
//! [`Projections`] follows the log ([`Projections::catch_up`], or continuously in the
//! background with a [`Follower`]) and keeps, in its own sled
//! database beside the log, every commitment's facts, its latest record, per-actor and
//! per-theme aggregates and the indexes the queries read. The status rules live in [`state`],
//! pure functions of a commitment's facts; docs/STATUS.md states them in words.
//!
//! Every query takes a [`ResolvedAsOf`] (resolved from [`AsOf`] by [`Projections::resolve`]): the
//! latest state, a checkpoint size or a date. The clock never enters this crate: callers pass
//! today's date in.

#![forbid(unsafe_code)]

mod actor;
mod apply;
mod fact;
mod follow;
mod keys;
mod projections;
mod read;
mod record;
pub mod report;
pub mod state;
mod text;
pub mod view;

pub use follow::{AT_REST_HOLD_TARGET, Follower, HOLD_TARGET, POLL_INTERVAL};
pub use projections::{AsOf, DEFAULT_BATCH_ENTRIES, Overlap, Projections, Recorded, ResolvedAsOf};
pub use read::{CommitmentFilter, FeedScope, Flag, LeagueRules, SharedFold, rfc3339};
pub use record::{StatusCounts, Target, quarter_index, year_and_quarter};
pub use state::{MoneyStage, Status};
pub use text::words;

use covenant_core::event::Date;

/// Why a query or a catch-up failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("open projections in {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("projection storage: {0}")]
    Engine(#[from] sled::Error),
    #[error("log store: {0}")]
    Store(#[from] covenant_store::StoreError),
    #[error("log entry {seq} cannot be projected: {problem}")]
    BadEntry { seq: u64, problem: String },
    #[error("projection record {key:?} is corrupt: {problem}; run `covenant query rebuild`")]
    Corrupt { key: String, problem: String },
    #[error("as_of size {size} is beyond the log, which has {log_size} entries")]
    AsOfBeyondLog { size: u64, log_size: u64 },
    #[error("as_of date {date} is after today ({today})")]
    AsOfInFuture { date: Date, today: Date },
    #[error("report: {0}")]
    Report(#[from] report::ReportError),
    #[error("start the projection follower: {0}")]
    Follower(String),
    #[error("the projections' storage engine is closed: {0}; restart the server")]
    Unavailable(String),
}
