//! What an event says, for people: labelled lines (its kind, who spoke, when, and the fields
//! that carry its meaning), shared by the audit tool's `check-proof` and the proof pages, so both
//! describe an event the same way.

/// An amended field's name as pages, exports, reports and proofs show it: `due_by`, `scope`,
/// `target_value:<indicator>` for a named indicator's field.
pub fn amended_field(change: &crate::proto::FieldChange) -> String {
    use crate::SchemaName;
    let field = crate::proto::AmendedField::name_of(change.field);
    amended_field_name(field, &change.indicator_id)
}

/// [`amended_field`] of a field already named: `indicator_id` is empty for the commitment's
/// own fields.
pub fn amended_field_name(field: &str, indicator_id: &str) -> String {
    if indicator_id.is_empty() {
        field.to_owned()
    } else {
        format!("{field}:{indicator_id}")
    }
}

/// What a proven event says, as labelled lines for a person: its kind, who spoke and when it
/// happened, then the fields that carry its meaning (the promise's text and targets, the
/// changed fields of an amendment, an outcome's verdict and measurements, ...). Enum values
/// are the schema's own names, in lower case.
pub fn facts(event: &crate::event::DecodedEvent) -> Vec<(&'static str, String)> {
    use crate::SchemaName;
    use crate::proto::{self, event_body::Kind};
    let verdict = proto::Verdict::name_of;
    let mut facts = vec![
        ("kind", event.kind_name().to_owned()),
        ("actor", event.actor().to_owned()),
        ("event id", event.event_id().to_owned()),
    ];
    let mut add = |label: &'static str, value: &str| {
        if !value.is_empty() {
            facts.push((label, value.to_owned()));
        }
    };
    match &event.kind {
        Kind::CommitmentMade(made) => {
            add("commitment", &made.commitment_id);
            add("made on", &made.made_on);
            add("due by", &made.due_by);
            add("title", &made.title);
            add("text", &made.text);
            add("delivery partners", &made.delivery_partners.join(", "));
            for indicator in &made.indicators {
                let target = format!(
                    "{}: {} {} {}",
                    indicator.indicator_id,
                    proto::Comparator::name_of(indicator.comparator),
                    indicator.target_value.unwrap_or_default(),
                    indicator.unit
                );
                add("target", target.trim_end());
            }
        }
        Kind::CommitmentAmended(amended) => {
            add("commitment", &amended.commitment_id);
            add("class", proto::AmendmentClass::name_of(amended.class));
            add("effective on", &amended.effective_on);
            for change in &amended.changes {
                let field = amended_field(change);
                add("changed", &format!("{field} -> {}", change.new_value));
            }
            add("rationale", &amended.rationale);
        }
        Kind::CommitmentWithdrawn(withdrawn) => {
            add("commitment", &withdrawn.commitment_id);
            add("reason", &withdrawn.reason);
        }
        Kind::ActionRecorded(action) => {
            add("commitments", &action.commitment_ids.join(", "));
            add("taken on", &action.taken_on);
            add("description", &action.description);
        }
        Kind::OutcomeReported(outcome) => {
            add("commitment", &outcome.commitment_id);
            add("reported on", &outcome.reported_on);
            add("verdict", verdict(outcome.verdict));
            for measured in &outcome.measurements {
                let line = format!(
                    "{} = {} on {}",
                    measured.indicator_id, measured.value, measured.measured_on
                );
                add("measured", &line);
            }
            if let Some(actual) = outcome.indicator_actual {
                let line = match outcome.actual_period.as_str() {
                    "" => actual.to_string(),
                    period => format!("{actual} in {period}"),
                };
                add("actual", &line);
            }
            add("summary", &outcome.summary);
            add("lessons", &outcome.lessons);
        }
        Kind::AssessmentPublished(assessment) => {
            add("commitment", &assessment.commitment_id);
            add("stance", proto::Stance::name_of(assessment.stance));
            if assessment.assessed_verdict != 0 {
                add("their verdict", verdict(assessment.assessed_verdict));
            }
            add("outcome", &assessment.outcome_event_id);
            add("summary", &assessment.summary);
        }
        Kind::CommitmentAdopted(adopted) => {
            add("commitment", &adopted.commitment_id);
            add("adopted on", &adopted.adopted_on);
        }
        Kind::Retraction(retraction) => {
            add("retracts", &retraction.event_id);
            add("reason", &retraction.reason);
        }
        Kind::ActorRegistered(registered) => {
            add("registers", &registered.actor_id);
            add("name", &registered.name);
        }
        Kind::ActorSucceeded(succession) => {
            add("from", &succession.predecessor_id);
            add("to", &succession.successor_id);
            add("effective on", &succession.effective_on);
        }
        Kind::KeyGranted(grant) => {
            add("key", &grant.key_id);
            add("for", &grant.actor_id);
        }
        Kind::KeyRevoked(revoke) => add("key", &revoke.key_id),
        Kind::Genesis(genesis) => add("origin", &genesis.origin),
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::facts as event_facts;
    use crate::event::decode;
    use crate::proto::{self, event_body::Kind};
    use crate::signing::{EnvelopeHeader, EventSigner, seal};
    use prost::Message;

    fn facts_of(kind: Kind) -> Vec<(&'static str, String)> {
        let header = EnvelopeHeader {
            event_id: "01JDQ7Z6X5K3T9V2B8N4M1P0QR",
            actor: "GB-GOV-3",
            occurred_at_ms: 1_767_225_600_000,
            key_id: "co-1",
        };
        let envelope = seal(header, kind, &EventSigner::from_seed([3; 32]));
        event_facts(&decode(&envelope.encode_to_vec()).unwrap())
    }

    #[test]
    fn an_outcome_reads_as_its_verdict_actual_summary_and_lessons() {
        let facts = facts_of(Kind::OutcomeReported(proto::OutcomeReported {
            commitment_id: "teachers".into(),
            verdict: proto::Verdict::PartlyDelivered as i32,
            reported_on: "2026-04-30".into(),
            indicator_actual: Some(38_500.0),
            actual_period: "2024-25".into(),
            summary: "most recruited".into(),
            lessons: "start sooner".into(),
            ..Default::default()
        }));
        let lines: Vec<String> = facts.iter().map(|(l, v)| format!("{l}: {v}")).collect();
        for expected in [
            "verdict: partly_delivered",
            "actual: 38500 in 2024-25",
            "summary: most recruited",
            "lessons: start sooner",
        ] {
            assert!(
                lines.contains(&expected.to_owned()),
                "{expected}: {lines:?}"
            );
        }
    }

    #[test]
    fn an_amendment_reads_as_its_changes_and_reason() {
        let facts = facts_of(Kind::CommitmentAmended(proto::CommitmentAmended {
            commitment_id: "homes".into(),
            class: proto::AmendmentClass::TargetChange as i32,
            changes: vec![
                proto::FieldChange {
                    field: proto::AmendedField::TargetValue as i32,
                    new_value: "110000".into(),
                    indicator_id: "temporary-accommodation".into(),
                },
                proto::FieldChange {
                    field: proto::AmendedField::Text as i32,
                    new_value: "new words".into(),
                    indicator_id: String::new(),
                },
            ],
            rationale: "demand rose".into(),
            ..Default::default()
        }));
        let lines: Vec<String> = facts.iter().map(|(l, v)| format!("{l}: {v}")).collect();
        for expected in [
            "kind: commitment_amended",
            "actor: GB-GOV-3",
            "class: target_change",
            "changed: target_value:temporary-accommodation -> 110000",
            "changed: text -> new words",
            "rationale: demand rose",
        ] {
            assert!(
                lines.iter().any(|line| line == expected),
                "{expected} in {lines:?}"
            );
        }
    }

    #[test]
    fn an_assessment_reads_with_its_stated_verdict() {
        let facts = facts_of(Kind::AssessmentPublished(proto::AssessmentPublished {
            commitment_id: "homes".into(),
            stance: proto::Stance::Disputes as i32,
            summary: "missed".into(),
            assessed_verdict: proto::Verdict::PartlyDelivered as i32,
            ..Default::default()
        }));
        assert!(facts.contains(&("stance", "disputes".into())));
        assert!(facts.contains(&("their verdict", "partly_delivered".into())));
        assert!(
            !facts.iter().any(|(label, _)| *label == "outcome"),
            "empty outcome id left out"
        );
    }
}
