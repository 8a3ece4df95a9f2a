//! Gathering a report's facts from the projections.

use super::{CommitmentFacts, ReportRequest, ReportScope};
use crate::keys::{self, Key};
use crate::state::{self, Cut};
use crate::{Projections, QueryError};

impl Projections {
    /// The facts, within the first `request.size` entries, of every commitment in the report's
    /// scope at the end of its year or of the year before: what [`super::compute`] needs, and
    /// all a proof bundle has to prove.
    ///
    /// Refuses once more than `max_events` facts would be gathered, so that one request costs
    /// bounded memory however large the log.
    pub fn report_facts(
        &self,
        request: &ReportRequest,
        max_events: usize,
    ) -> Result<CommitmentFacts, QueryError> {
        if request.size > self.applied() {
            return Err(QueryError::AsOfBeyondLog {
                size: request.size,
                log_size: self.applied(),
            });
        }
        let (_, previous_end) = super::year_bounds(request.year - 1)?;
        let _gate = self.read_gate()?;
        let prefix = match &request.scope {
            ReportScope::Actor { actor } => Key::new(keys::EVER_OWNED).part(&actor.id).into_bytes(),
            ReportScope::Government => Key::new(keys::RECORD).into_bytes(),
        };
        let mut commitments = CommitmentFacts::new();
        let mut gathered = 0;
        for id in self.ids_under(prefix, None)? {
            let id = id?;
            let mut facts = self.facts(&id)?;
            facts.retain(|fact| fact.seq < request.size);
            let in_scope_at = |world| -> Result<bool, QueryError> {
                let cut = Cut {
                    size: request.size,
                    world: Some(world),
                };
                Ok(state::fold(&facts, cut)
                    .map_err(|problem| QueryError::Corrupt {
                        key: id.clone(),
                        problem,
                    })?
                    .is_some_and(|state| request.scope.includes(&state)))
            };
            if in_scope_at(request.period_end)? || in_scope_at(previous_end)? {
                gathered += facts.len();
                if gathered > max_events {
                    return Err(super::ReportError::TooManyEvents { limit: max_events }.into());
                }
                commitments.insert(id, facts);
            }
        }
        Ok(commitments)
    }
}
