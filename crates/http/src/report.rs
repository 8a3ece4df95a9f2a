//! The annual covenant report at the door: which signed checkpoint it is as of, its proof
//! bundle and its CSV. The figures themselves are `covenant_query::report`'s; the page is
//! `pages::report`; the `covenant report` command uses the same functions.

use crate::log_api::StoreHashes;
use covenant_core::SchemaName;
use covenant_core::bundle::ProofBundle;
use covenant_core::checkpoint::verify_checkpoint;
use covenant_core::event::Date;
use covenant_core::merkle;
use covenant_query::report::bundle::ReportBundle;
use covenant_query::report::{
    self, CheckpointRef, CommitmentFacts, Report, ReportActor, ReportError, ReportRequest,
    ReportScope,
};
use covenant_query::{AsOf, Projections, QueryError};
use covenant_store::{LogReader, StoreError};

/// What a reader asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAsked {
    /// The actor whose report it is; `None` for all of government.
    pub actor: Option<String>,
    pub year: i32,
    /// The size of the signed checkpoint to compute it as of; `None`: the newest one the
    /// projections have reached.
    pub checkpoint: Option<u64>,
}

/// Why a report cannot be given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportFailure {
    #[error("no actor {0:?} is registered in the log")]
    UnknownActor(String),
    #[error("the log has no signed checkpoint the projections have reached yet; try again shortly")]
    NoCheckpoint,
    #[error("the log has no signed checkpoint of size {0}")]
    NotACheckpoint(u64),
    #[error(
        "checkpoint {size} is beyond the {applied} entries projected so far; try again shortly"
    )]
    NotProjected { size: u64, applied: u64 },
    #[error("the year {year} has not begun (today is {today})")]
    YearNotBegun { year: i32, today: Date },
    #[error("the stored checkpoint of size {size} does not verify: {reason}")]
    BadCheckpoint { size: u64, reason: String },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("query: {0}")]
    Query(#[from] QueryError),
    #[error("log store: {0}")]
    Store(#[from] StoreError),
    #[error("prove entry {seq}: {reason}")]
    Proof { seq: u64, reason: String },
}

impl ReportFailure {
    /// The reader asked for something that is not there (as opposed to a server failure).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::UnknownActor(_) | Self::NotACheckpoint(_) | Self::YearNotBegun { .. }
        ) || matches!(self, Self::Report(ReportError::YearOutOfRange(_)))
    }

    /// Too large to compute for one request.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Self::Report(ReportError::TooManyEvents { .. })
                | Self::Query(QueryError::Report(ReportError::TooManyEvents { .. }))
        )
    }

    /// Worth asking again shortly.
    pub fn is_not_yet(&self) -> bool {
        matches!(self, Self::NoCheckpoint | Self::NotProjected { .. })
    }
}

/// A report with the facts it was computed from (what its proof bundle proves).
#[derive(Debug, Clone)]
pub struct BuiltReport {
    pub report: Report,
    pub facts: CommitmentFacts,
}

/// The most events a report served over HTTP may count: a report (and its bundle, about 2 KB
/// per event) costs memory in proportion, and anyone may ask for one.
pub const MAX_SERVED_REPORT_EVENTS: usize = 200_000;

/// Compute the report `asked` for, as of a signed checkpoint of `store` that `projections`
/// have reached; a year still under way ends `today`. At most `max_events` events are read.
pub fn build(
    store: &dyn LogReader,
    projections: &Projections,
    verifier_key: &str,
    asked: &ReportAsked,
    today: Date,
    max_events: usize,
) -> Result<BuiltReport, ReportFailure> {
    let (first_day, last_day) = report::year_bounds(asked.year)?;
    if first_day > today {
        return Err(ReportFailure::YearNotBegun {
            year: asked.year,
            today,
        });
    }
    let checkpoint = checkpoint_ref(store, projections, verifier_key, asked.checkpoint)?;
    let point = projections.resolve(AsOf::size(checkpoint.size), today)?;
    let scope = match &asked.actor {
        None => ReportScope::Government,
        Some(id) => {
            let actor = projections
                .actor(id, &point)?
                .ok_or_else(|| ReportFailure::UnknownActor(id.clone()))?;
            ReportScope::Actor {
                actor: ReportActor {
                    id: actor.id,
                    name: actor.name,
                    kind: actor.kind.schema_name().to_owned(),
                },
            }
        }
    };
    let request = ReportRequest {
        scope,
        year: asked.year,
        size: checkpoint.size,
        period_end: last_day.min(today),
    };
    let facts = projections.report_facts(&request, max_events)?;
    let report = report::compute(&request, checkpoint, &facts)?;
    Ok(BuiltReport { report, facts })
}

/// The signed checkpoint a report is as of: the one asked for, or the newest the projections
/// have reached.
fn checkpoint_ref(
    store: &dyn LogReader,
    projections: &Projections,
    verifier_key: &str,
    asked: Option<u64>,
) -> Result<CheckpointRef, ReportFailure> {
    let applied = projections.applied();
    let size = match asked {
        Some(size) => size,
        None => store
            .checkpoint_sizes()?
            .into_iter()
            .rev()
            .find(|size| *size <= applied)
            .ok_or(ReportFailure::NoCheckpoint)?,
    };
    let note = store
        .checkpoint(size)?
        .ok_or(ReportFailure::NotACheckpoint(size))?;
    if size > applied {
        return Err(ReportFailure::NotProjected { size, applied });
    }
    let signed =
        verify_checkpoint(&note, verifier_key).map_err(|error| ReportFailure::BadCheckpoint {
            size,
            reason: error.to_string(),
        })?;
    Ok(CheckpointRef {
        origin: signed.origin,
        size: signed.size,
        root_hash: signed.root.to_string(),
        note: String::from_utf8_lossy(&note).into_owned(),
    })
}

/// The report with an inclusion proof of every fact it was computed from.
pub fn bundle(
    store: &dyn LogReader,
    verifier_key: &str,
    built: &BuiltReport,
) -> Result<ReportBundle, ReportFailure> {
    let checkpoint = &built.report.checkpoint;
    let proofs = ReportBundle::positions(&built.facts)
        .into_iter()
        .map(|seq| {
            let entry = store.entry(seq)?.ok_or_else(|| ReportFailure::Proof {
                seq,
                reason: "the entry is missing from the store".into(),
            })?;
            let proof = merkle::prove_inclusion(checkpoint.size, seq, &StoreHashes(store))
                .map_err(|error| ReportFailure::Proof {
                    seq,
                    reason: error.to_string(),
                })?;
            Ok(ProofBundle::new(
                seq,
                &entry,
                checkpoint.size,
                &proof,
                checkpoint.note.as_bytes(),
                verifier_key,
            ))
        })
        .collect::<Result<Vec<_>, ReportFailure>>()?;
    Ok(ReportBundle::new(
        built.report.clone(),
        &built.facts,
        proofs,
    ))
}

/// Every figure of the report as CSV: one row per year and figure, with the events it counts.
pub fn csv(report: &Report) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(vec![]);
    writer.write_record([
        "year",
        "from",
        "to",
        "figure",
        "currency",
        "value",
        "events_counted",
        "event_ids",
        "checkpoint_size",
    ])?;
    let years = std::iter::once(&report.current).chain(report.previous.as_ref());
    for year in years {
        for figure in &year.figures {
            let event_ids: Vec<&str> = figure.counted.iter().map(|c| c.event_id.as_str()).collect();
            writer.write_record([
                year.year.to_string(),
                year.from.clone(),
                year.to.clone(),
                figure.name.as_str().to_owned(),
                figure.currency.clone().unwrap_or_default(),
                figure.value.to_string(),
                figure.counted.len().to_string(),
                event_ids.join(" "),
                report.checkpoint.size.to_string(),
            ])?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The report page's path: `/actors/{id}/reports/{year}`, or `/reports/{year}` for all of
/// government.
pub fn page_path(actor: Option<&str>, year: i32) -> String {
    match actor {
        Some(id) => format!(
            "/actors/{}/reports/{year}",
            crate::pages::layout::segment(id)
        ),
        None => format!("/reports/{year}"),
    }
}

/// Today's date (UTC), which ends a year still under way.
pub fn today() -> Date {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    Date::from_unix_ms(now_ms)
}
