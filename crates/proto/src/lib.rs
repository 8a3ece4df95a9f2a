//! Generated protobuf types for Covenant's event schema (`proto/covenant/v1`).
//!
//! These types are the wire format only. `covenant-core` converts them into domain types with
//! fallible conversions that name the missing or bad field.

#![forbid(unsafe_code)]

/// Version 1 of the schema.
// Generated code: a commitment carries far more fields than a retraction, and boxing the
// variant would change every user's pattern for no gain at these sizes.
#[allow(clippy::large_enum_variant)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/covenant.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/event_kinds.rs"));
}

/// The names of a schema enum's values, as the API, CSV files, the command line and pages
/// spell them: the proto name without the enum's prefix, in lower case (`ACTOR_KIND_NHS_BODY`
/// is `nhs_body`). Generated from the schema for every enum, so there is one table of names
/// and a value added to the schema has its name everywhere at once.
pub trait SchemaName: Copy + Into<i32> + TryFrom<i32> + 'static {
    /// Each value's name and number, in schema order, the unspecified one (0) first.
    const NAMES: &'static [(&'static str, i32)];

    /// This value's name.
    fn schema_name(self) -> &'static str {
        Self::name_of(self.into())
    }

    /// The name of the value numbered `number`, as a message's enum field holds it;
    /// `unspecified` for a number the schema does not know.
    fn name_of(number: i32) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, value)| *value == number)
            .map_or("unspecified", |(name, _)| name)
    }

    /// The value named `name` (never the unspecified one).
    fn from_schema_name(name: &str) -> Option<Self> {
        Self::named()
            .find(|(known, _)| *known == name)
            .and_then(|(_, number)| Self::try_from(number).ok())
    }

    /// Every name but the unspecified one's, in schema order.
    fn schema_names() -> Vec<&'static str> {
        Self::named().map(|(name, _)| name).collect()
    }

    #[doc(hidden)]
    fn named() -> impl Iterator<Item = (&'static str, i32)> {
        Self::NAMES
            .iter()
            .copied()
            .filter(|(_, number)| *number != 0)
    }
}

mod schema_names {
    use crate::v1::*;
    include!(concat!(env!("OUT_DIR"), "/schema_names.rs"));
}

#[cfg(test)]
mod tests {
    use super::SchemaName;
    use super::v1::*;

    fn round_trips<T: SchemaName + PartialEq + std::fmt::Debug>() {
        for name in T::schema_names() {
            let value = T::from_schema_name(name).expect(name);
            assert_eq!(value.schema_name(), name);
        }
        assert_eq!(T::from_schema_name("unspecified"), None);
        assert_eq!(T::name_of(0), "unspecified");
        assert_eq!(T::name_of(10_000), "unspecified");
        assert_eq!(T::from_schema_name(""), None);
    }

    #[test]
    fn every_enum_value_is_named_as_the_api_spells_it_and_back() {
        round_trips::<ActorKind>();
        round_trips::<KeyRole>();
        round_trips::<SuccessionKind>();
        round_trips::<SourceKind>();
        round_trips::<Comparator>();
        round_trips::<AmendedField>();
        round_trips::<AmendmentClass>();
        round_trips::<ActionType>();
        round_trips::<MoneyStage>();
        round_trips::<Verdict>();
        round_trips::<Stance>();
    }

    #[test]
    fn event_kinds_are_the_fields_of_the_kind_oneof_by_name() {
        assert_eq!(EventKind::ALL.len(), 13);
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EventKind::CommitmentMade.name(), "commitment_made");
        assert_eq!(
            EventKind::AssessmentPublished.name(),
            "assessment_published"
        );
        assert_eq!(EventKind::from_name("made"), None);
        let outcome = event_body::Kind::OutcomeReported(OutcomeReported::default());
        assert_eq!(outcome.event_kind(), EventKind::OutcomeReported);
        let retraction = event_body::Kind::Retraction(Retraction::default());
        assert_eq!(retraction.event_kind().name(), "retraction");
    }

    #[test]
    fn names_are_the_schema_names_without_the_prefix_in_lower_case() {
        assert_eq!(ActorKind::NhsBody.schema_name(), "nhs_body");
        assert_eq!(Verdict::PartlyDelivered.schema_name(), "partly_delivered");
        assert_eq!(AmendedField::DueBy.schema_name(), "due_by");
        assert_eq!(Comparator::AtLeast.schema_name(), "at_least");
        assert_eq!(
            Verdict::name_of(Verdict::NotDelivered as i32),
            "not_delivered"
        );
        assert_eq!(
            ActorKind::from_schema_name("joint_body"),
            Some(ActorKind::JointBody)
        );
        assert_eq!(ActorKind::from_schema_name("JOINT_BODY"), None);
        assert_eq!(
            Stance::schema_names(),
            vec!["agrees", "disputes"],
            "in schema order, without unspecified"
        );
        assert_eq!(ActorKind::schema_names().len(), 9);
    }
}
