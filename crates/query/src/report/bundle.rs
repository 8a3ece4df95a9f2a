//! The report's proof bundle, and the check that recomputes a report from it alone.
//!
//! A bundle is one JSON document: the report as published, which log entries are facts of
//! which commitment, and for every such entry a [`ProofBundle`] (the entry bytes and their
//! inclusion proof against the report's signed checkpoint). [`check`] verifies every proof
//! against a pinned log key, rebuilds each commitment's facts from the proven entries, checks
//! each entry really is about the commitment it is filed under, recomputes the report with
//! [`super::compute`] and compares it figure by figure.
//!
//! What a bundle cannot prove is that nothing was left out: inclusion proofs show each entry is
//! in the log, not that the log holds no other entry about these commitments. An auditor with
//! the whole log closes that gap with `covenant audit verify` and the report of their own
//! server (docs/REPORT.md).

use super::{CommitmentFacts, Report, ReportError, ReportRequest, compute};
use crate::fact::Fact;
use covenant_core::bundle::{BundleError, ProofBundle};
use covenant_core::checkpoint::{self, CheckpointError};
use covenant_core::event::Date;
use covenant_core::proto::event_body::Kind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const REPORT_BUNDLE_FORMAT: &str = "covenant-report-bundle/v1";

/// A report with the proof of every event it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportBundle {
    /// Always [`REPORT_BUNDLE_FORMAT`].
    pub format: String,
    pub report: Report,
    /// Each commitment the report was computed from, with the log positions of its facts.
    pub commitments: BTreeMap<String, Vec<u64>>,
    /// One inclusion proof per log position named in `commitments`.
    pub proofs: Vec<ProofBundle>,
}

impl ReportBundle {
    /// A bundle of `report`, computed from `commitments`, with `proofs` of their facts.
    pub fn new(report: Report, commitments: &CommitmentFacts, proofs: Vec<ProofBundle>) -> Self {
        Self {
            format: REPORT_BUNDLE_FORMAT.to_owned(),
            report,
            commitments: commitments
                .iter()
                .map(|(id, facts)| (id.clone(), facts.iter().map(|fact| fact.seq).collect()))
                .collect(),
            proofs,
        }
    }

    /// Every log position the bundle must prove, each once, in order.
    pub fn positions(commitments: &CommitmentFacts) -> BTreeSet<u64> {
        commitments
            .values()
            .flatten()
            .map(|fact| fact.seq)
            .collect()
    }
}

/// Why a bundle proves nothing (as opposed to proving figures that differ).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleCheckError {
    #[error("bundle format {0:?} is not {REPORT_BUNDLE_FORMAT}")]
    Format(String),
    #[error("the report's checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("the report names checkpoint {field} {claimed} but its signed note says {signed}")]
    CheckpointField {
        field: &'static str,
        claimed: String,
        signed: String,
    },
    #[error("proof of entry {seq}: {error}")]
    Proof { seq: u64, error: BundleError },
    #[error("proof of entry {seq} is against tree size {size}, not the report's checkpoint")]
    OtherCheckpoint { seq: u64, size: u64 },
    #[error("commitment {commitment} lists entry {seq}, which the bundle does not prove")]
    Unproven { commitment: String, seq: u64 },
    #[error("entry {seq} is filed under commitment {commitment} but is not about it")]
    NotAbout { commitment: String, seq: u64 },
    #[error("period end {0:?} is not a date")]
    PeriodEnd(String),
    #[error("recompute the report: {0}")]
    Report(#[from] ReportError),
}

/// One figure as the report claims it and as the bundle gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureCheck {
    pub year: i32,
    /// `made`, `money_spent-GBP`…
    pub key: String,
    /// `None` when the report does not give this figure.
    pub claimed: Option<i128>,
    /// `None` when the bundle does not give this figure.
    pub recomputed: Option<i128>,
    /// The report's list of counted events is the recomputed one.
    pub counted_match: bool,
}

impl FigureCheck {
    pub fn holds(&self) -> bool {
        self.claimed == self.recomputed && self.counted_match
    }
}

/// The outcome of checking a bundle whose proofs hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportCheck {
    pub checkpoint_size: u64,
    pub proven_entries: usize,
    pub figures: Vec<FigureCheck>,
    /// The goalposts, disputes and largest changes sections, by name, and whether each matches.
    pub sections: Vec<(&'static str, bool)>,
}

impl ReportCheck {
    /// Every figure and section matches the recomputation.
    pub fn holds(&self) -> bool {
        self.figures.iter().all(FigureCheck::holds) && self.sections.iter().all(|(_, ok)| *ok)
    }
}

/// Check `bundle` against the log key the caller pinned: every proof, then every figure.
pub fn check(
    bundle: &ReportBundle,
    pinned_verifier_key: &str,
) -> Result<ReportCheck, BundleCheckError> {
    if bundle.format != REPORT_BUNDLE_FORMAT {
        return Err(BundleCheckError::Format(bundle.format.clone()));
    }
    let claimed = &bundle.report;
    let signed =
        checkpoint::verify_checkpoint(claimed.checkpoint.note.as_bytes(), pinned_verifier_key)?;
    let root = signed.root.to_string();
    for (field, claimed_value, signed_value) in [
        (
            "size",
            claimed.checkpoint.size.to_string(),
            signed.size.to_string(),
        ),
        ("root", claimed.checkpoint.root_hash.clone(), root),
        (
            "origin",
            claimed.checkpoint.origin.clone(),
            signed.origin.clone(),
        ),
    ] {
        if claimed_value != signed_value {
            return Err(BundleCheckError::CheckpointField {
                field,
                claimed: claimed_value,
                signed: signed_value,
            });
        }
    }
    let proven = proven_facts(bundle, &signed, pinned_verifier_key)?;
    let commitments = filed_facts(bundle, &proven)?;
    let period_end = Date::parse(&claimed.period_end)
        .ok_or_else(|| BundleCheckError::PeriodEnd(claimed.period_end.clone()))?;
    let request = ReportRequest {
        scope: claimed.scope.clone(),
        year: claimed.year,
        size: signed.size,
        period_end,
    };
    let recomputed = compute(&request, claimed.checkpoint.clone(), &commitments)?;
    Ok(ReportCheck {
        checkpoint_size: signed.size,
        proven_entries: proven.len(),
        figures: compare_figures(claimed, &recomputed),
        sections: vec![
            ("goalposts", claimed.goalposts == recomputed.goalposts),
            // The assessors' names come from the registry, not the events (as the actor's
            // name in the scope does), so a bundle cannot prove them.
            (
                "disputes",
                claimed.disputes_without_names() == recomputed.disputes_without_names(),
            ),
            (
                "largest_changes",
                claimed.largest_changes == recomputed.largest_changes,
            ),
        ],
    })
}

/// Every proven entry as a fact, by log position.
fn proven_facts(
    bundle: &ReportBundle,
    signed: &checkpoint::VerifiedCheckpoint,
    pinned_verifier_key: &str,
) -> Result<HashMap<u64, (Fact, Kind)>, BundleCheckError> {
    let mut proven = HashMap::with_capacity(bundle.proofs.len());
    for proof in &bundle.proofs {
        if proof.tree_size != signed.size {
            return Err(BundleCheckError::OtherCheckpoint {
                seq: proof.seq,
                size: proof.tree_size,
            });
        }
        let verified =
            proof
                .verify(pinned_verifier_key)
                .map_err(|error| BundleCheckError::Proof {
                    seq: proof.seq,
                    error,
                })?;
        if verified.checkpoint.root != signed.root {
            return Err(BundleCheckError::OtherCheckpoint {
                seq: proof.seq,
                size: proof.tree_size,
            });
        }
        let entry = &verified.entry;
        let envelope = &verified.event.envelope;
        let fact = Fact {
            seq: entry.seq,
            stored_at_ns: entry.stored_at_ns,
            event_id: envelope.event_id.clone(),
            actor: envelope.actor.clone(),
            occurred_at_ms: envelope.occurred_at_ms,
            entry_hash: entry.chain_hash(),
            body: envelope.body.clone(),
        };
        proven.insert(entry.seq, (fact, verified.event.kind));
    }
    Ok(proven)
}

/// Each commitment's facts as the bundle files them, each checked to be about it.
fn filed_facts(
    bundle: &ReportBundle,
    proven: &HashMap<u64, (Fact, Kind)>,
) -> Result<CommitmentFacts, BundleCheckError> {
    let mut commitments = CommitmentFacts::new();
    for (id, positions) in &bundle.commitments {
        let mut positions = positions.clone();
        positions.sort_unstable();
        positions.dedup();
        let mut facts = Vec::with_capacity(positions.len());
        let mut about = AboutOne::new(id);
        for seq in positions {
            let (fact, kind) = proven.get(&seq).ok_or_else(|| BundleCheckError::Unproven {
                commitment: id.clone(),
                seq,
            })?;
            if !about.admits(fact, kind) {
                return Err(BundleCheckError::NotAbout {
                    commitment: id.clone(),
                    seq,
                });
            }
            facts.push(fact.clone());
        }
        commitments.insert(id.clone(), facts);
    }
    Ok(commitments)
}

/// Decides, in log order, whether an event is a fact of one commitment: one that names it, a
/// succession of a body that has answered for it, or a retraction of one of its facts.
struct AboutOne<'a> {
    id: &'a str,
    /// Every body that has answered for it so far (a retracted succession hands it back, so
    /// any of them may pass it on later).
    owners: BTreeSet<String>,
    facts: BTreeSet<String>,
}

impl<'a> AboutOne<'a> {
    fn new(id: &'a str) -> Self {
        Self {
            id,
            owners: BTreeSet::new(),
            facts: BTreeSet::new(),
        }
    }

    fn admits(&mut self, fact: &Fact, kind: &Kind) -> bool {
        let about = match kind {
            Kind::ActorSucceeded(succession) => self.owners.contains(&succession.predecessor_id),
            Kind::Retraction(retraction) => self.facts.contains(&retraction.event_id),
            kind => super::is_about(kind, self.id),
        };
        if !about {
            return false;
        }
        match kind {
            Kind::CommitmentMade(_) | Kind::CommitmentAdopted(_) => {
                self.owners.insert(fact.actor.clone());
            }
            Kind::ActorSucceeded(succession) => {
                self.owners.insert(succession.successor_id.clone());
            }
            _ => {}
        }
        self.facts.insert(fact.event_id.clone());
        true
    }
}

type FigureKey = (i32, String);

/// A report's figures of both years by year and key, in the report's order.
fn figures_of(report: &Report) -> Vec<(FigureKey, &super::Figure)> {
    std::iter::once(&report.current)
        .chain(report.previous.as_ref())
        .flat_map(|year| {
            year.figures
                .iter()
                .map(move |figure| ((year.year, figure.key()), figure))
        })
        .collect()
}

/// Every figure of both years, claimed against recomputed, in the report's order (then any
/// figure only the recomputation gives).
fn compare_figures(claimed: &Report, recomputed: &Report) -> Vec<FigureCheck> {
    let claimed = figures_of(claimed);
    let recomputed = figures_of(recomputed);
    let mut order: Vec<&FigureKey> = claimed.iter().map(|(key, _)| key).collect();
    for (key, _) in &recomputed {
        if !order.contains(&key) {
            order.push(key);
        }
    }
    order
        .into_iter()
        .map(|key| {
            let (mine, theirs) = (find(&claimed, key), find(&recomputed, key));
            FigureCheck {
                year: key.0,
                key: key.1.clone(),
                claimed: mine.map(|figure| figure.value),
                recomputed: theirs.map(|figure| figure.value),
                counted_match: mine.map(|f| &f.counted) == theirs.map(|f| &f.counted),
            }
        })
        .collect()
}

fn find<'r>(
    figures: &[(FigureKey, &'r super::Figure)],
    key: &FigureKey,
) -> Option<&'r super::Figure> {
    figures
        .iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, figure)| *figure)
}
