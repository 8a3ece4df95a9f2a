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
    #[error("the log has no signed checkpoint of size {size}; {}", nearest_sizes(*below, *above))]
    NotACheckpoint {
        size: u64,
        /// The largest signed checkpoint size below the one asked for, if any.
        below: Option<u64>,
        /// The smallest above it, if any.
        above: Option<u64>,
    },
    #[error(
        "checkpoint {size} is beyond the {applied} entries projected so far; try again shortly"
    )]
    NotProjected { size: u64, applied: u64 },
    #[error(
        "the year {year} has not begun (today is {today}), so it has no report yet; the newest \
         is the one for {}", today.year_month_day().0
    )]
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
            Self::UnknownActor(_) | Self::NotACheckpoint { .. } | Self::YearNotBegun { .. }
        )
    }

    /// The reader asked for something that cannot be (a year outside the calendar a report
    /// covers), as opposed to something that is not there.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Self::Report(ReportError::YearOutOfRange(_)))
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

/// Where to look instead of a checkpoint size the log does not have.
fn nearest_sizes(below: Option<u64>, above: Option<u64>) -> String {
    let sizes = match (below, above) {
        (Some(below), Some(above)) => format!("the nearest are {below} and {above}"),
        (Some(below), None) => format!("the newest is {below}"),
        (None, Some(above)) => format!("the oldest is {above}"),
        (None, None) => return "it has signed none yet".to_owned(),
    };
    format!("{sizes} (leave out checkpoint for the newest the server has reached)")
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
    let mut report = report::compute(&request, checkpoint, &facts)?;
    // Readers know assessors by name; the registry as of the checkpoint gives it.
    let mut names = std::collections::HashMap::new();
    for dispute in &report.disputes {
        if !names.contains_key(&dispute.assessor) {
            let name = projections
                .actor(&dispute.assessor, &point)?
                .map(|actor| actor.name);
            names.insert(dispute.assessor.clone(), name);
        }
    }
    report.name_assessors(|id| names.get(id).cloned().flatten());
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
    let Some(note) = store.checkpoint(size)? else {
        // Name the sizes on either side, so a reader who guessed a size can pick a real one.
        let sizes = store.checkpoint_sizes()?;
        let at = sizes.partition_point(|stored| *stored < size);
        return Err(ReportFailure::NotACheckpoint {
            size,
            below: at
                .checked_sub(1)
                .and_then(|index| sizes.get(index).copied()),
            above: sizes.get(at).copied(),
        });
    };
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

/// The unit of a figure's `value` in the CSV: a count of commitments, or money in the minor
/// unit of its currency (the JSON's exact integer). Said on every row so that a spreadsheet
/// reader does not take 61545000000 pence for pounds.
pub fn csv_unit(figure: &covenant_query::report::Figure) -> &'static str {
    match figure.currency.as_deref() {
        None => "commitments",
        Some("GBP") => "pence",
        Some("EUR" | "USD") => "cents",
        Some(_) => "minor units",
    }
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
        "unit",
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
                csv_unit(figure).to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A department's report, as `report.json` serves it (the PDF's sample).
    fn sample() -> Report {
        serde_json::from_str(include_str!("../../pdf/tests/data/dcms-2025.json"))
            .expect("the sample is a report")
    }

    #[test]
    fn a_missing_checkpoint_names_the_sizes_either_side() {
        let failure = |below, above| {
            ReportFailure::NotACheckpoint {
                size: 20,
                below,
                above,
            }
            .to_string()
        };
        assert_eq!(
            failure(Some(16), Some(24)),
            "the log has no signed checkpoint of size 20; the nearest are 16 and 24 (leave out \
             checkpoint for the newest the server has reached)"
        );
        assert!(failure(Some(16), None).contains("the newest is 16"));
        assert!(failure(None, Some(24)).contains("the oldest is 24"));
        assert!(failure(None, None).contains("it has signed none yet"));
    }

    #[test]
    fn a_year_not_begun_says_which_report_is_the_newest() {
        let failure = ReportFailure::YearNotBegun {
            year: 2027,
            today: Date::parse("2026-05-01").unwrap(),
        };
        assert!(failure.is_not_found());
        assert_eq!(
            failure.to_string(),
            "the year 2027 has not begun (today is 2026-05-01), so it has no report yet; the \
             newest is the one for 2026"
        );
        assert!(ReportFailure::Report(ReportError::YearOutOfRange(1900)).is_bad_request());
    }

    #[test]
    fn the_csv_says_which_values_are_pence() {
        let report = sample();
        let csv = csv(&report).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        let column = |name: &str| {
            header
                .iter()
                .position(|field| field == name)
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        let (figure, currency, value, unit) = (
            column("figure"),
            column("currency"),
            column("value"),
            column("unit"),
        );
        assert_eq!(unit, value + 1, "the unit stands beside the value");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let row = |name: &str, currency_code: &str| {
            rows.iter()
                .find(|row| &row[figure] == name && &row[currency] == currency_code)
                .unwrap_or_else(|| panic!("no row {name} {currency_code}"))
        };
        assert_eq!(&row("made", "")[unit], "commitments");
        let committed = row("money_committed", "GBP");
        assert_eq!(&committed[unit], "pence");
        assert_eq!(
            &committed[value], "123456789",
            "the exact integer, as in the JSON"
        );
        assert_eq!(&row("money_pledged", "EUR")[unit], "cents");
    }
}
