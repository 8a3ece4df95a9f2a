//! The demo data set and the synthetic load, checked against the ledger's own validation rules
//! (covenant-core's state machine) and against what the story says happened.

use covenant_core::event::{Date, decode};
use covenant_core::proto;
use covenant_core::validate::{
    Decision, IndexedEvent, LedgerState, SignatureCheck, genesis_envelope, validate,
};
use covenant_demo::{Status, demo, end_date, synthetic};
use std::collections::{BTreeMap, HashMap};

/// Run envelopes through validation as the ledger would, after the genesis entry; panic naming
/// the first event that is not accepted.
fn replay(genesis: proto::Genesis, envelopes: &[Vec<u8>]) -> LedgerState {
    let mut state = LedgerState::default();
    let mut index: HashMap<String, IndexedEvent> = HashMap::new();
    let genesis_bytes = prost::Message::encode_to_vec(&genesis_envelope(genesis));
    let stored_at_ns = 1_800_000_000_000_000_000; // 2027-01-15: after every demo date
    let genesis_event = decode(&genesis_bytes).expect("genesis decodes");
    match validate(
        &state,
        &index,
        &genesis_event,
        0,
        stored_at_ns,
        SignatureCheck::Pending,
    ) {
        Decision::Accept(changes) => state.apply_all(changes),
        other => panic!("genesis not accepted: {other:?}"),
    }
    for (position, bytes) in envelopes.iter().enumerate() {
        let seq = position as u64 + 1;
        let event =
            decode(bytes).unwrap_or_else(|e| panic!("event {position} does not decode: {e}"));
        match validate(
            &state,
            &index,
            &event,
            seq,
            stored_at_ns,
            SignatureCheck::Pending,
        ) {
            Decision::Accept(changes) => state.apply_all(changes),
            other => panic!(
                "event {position} ({} by {}) not accepted: {other:?}",
                event.kind_name(),
                event.actor()
            ),
        }
        index.insert(
            event.event_id().to_owned(),
            IndexedEvent {
                seq,
                digest: event.digest,
                actor: event.actor().to_owned(),
            },
        );
    }
    state
}

#[test]
fn every_demo_event_is_accepted_by_the_ledger_rules() {
    let data = demo();
    assert!(
        (300..=700).contains(&data.events.len()),
        "several hundred events, found {}",
        data.events.len()
    );
    let state = replay(data.genesis.to_proto(), &data.events);
    assert_eq!(state.commitments.len(), data.summary.commitments.len());
    assert!(state.retracted.len() == 1);
}

#[test]
fn the_demo_is_the_same_every_time() {
    let (first, second) = (demo(), demo());
    assert_eq!(first.events, second.events);
    assert_eq!(first.genesis, second.genesis);
    assert_eq!(first.log_seed, second.log_seed);
    assert_eq!(first.summary, second.summary);
}

#[test]
fn every_demo_event_is_dated_within_the_two_simulated_years() {
    let data = demo();
    let start = Date::parse("2025-01-01").unwrap();
    let mut ids = std::collections::HashSet::new();
    for bytes in &data.events {
        let event = decode(bytes).unwrap();
        let on = Date::from_unix_ms(event.envelope.occurred_at_ms);
        assert!(
            on >= start && on <= end_date(),
            "{} is dated {on}",
            event.event_id()
        );
        assert!(ids.insert(event.event_id().to_owned()), "ids are unique");
    }
}

#[test]
fn the_covenant_story_shows_in_the_summary() {
    let summary = demo().summary;
    let status = |id: &str| summary.commitments[id].status;
    assert_eq!(status("dcms-covenant-council"), Status::Delivered);
    assert_eq!(status("dcms-covenant-secondments"), Status::PartlyDelivered);
    assert_eq!(status("dcms-covenant-annual-report"), Status::Delivered);
    assert!(
        summary.commitments["dcms-covenant-annual-report"].disputed,
        "the watchdog disputes it"
    );
    assert!(
        !summary.commitments["dcms-covenant-secondments"].disputed,
        "the council agrees"
    );
    assert_eq!(status("dcms-volunteering-strategy"), Status::Overdue);
    assert!(summary.commitments["dcms-volunteering-strategy"].deadline_moved);
    assert_eq!(status("dcms-youth-arts-fund"), Status::Withdrawn);

    // The department's other pledges of 2024 and 2025, for its annual report.
    assert_eq!(status("dcms-community-wealth-plan"), Status::Delivered);
    assert_eq!(status("dcms-charity-fees-review"), Status::Withdrawn);
    assert_eq!(status("dcms-volunteer-digital-skills"), Status::Overdue);
    assert_eq!(status("dcms-grant-decisions"), Status::NotDelivered);
    assert_eq!(status("dcms-civil-society-data"), Status::Delivered);
    let clubs = &summary.commitments["dcms-youth-clubs"];
    assert_eq!(clubs.status, Status::PartlyDelivered);
    assert!(clubs.deadline_moved && clubs.disputed);

    let dcms = &summary.actors["GB-GOV-23"];
    assert_eq!(dcms.name, "Department for Culture, Media and Sport");
    assert_eq!(dcms.commitments(), 11);
    // The secretariat funding was recorded twice and the copy retracted: it counts once.
    assert_eq!(dcms.committed_minor, (450_000 + 5_000_000) * 100);
    assert_eq!(dcms.pledged_minor, (1_200_000 + 25_000_000 + 600_000) * 100);
    assert_eq!(dcms.spent_minor, (815_000 + 3_200_000 + 120_000) * 100);
}

#[test]
fn the_quietly_moved_target_shows_as_a_moved_goalpost() {
    let summary = demo().summary;
    let homes = &summary.commitments["mhclg-homes-milestone"];
    assert_eq!(homes.status, Status::InProgress);
    assert_eq!(homes.amendments, 1);
    assert!(homes.target_moved);
    assert!(!homes.deadline_moved);
    let moved: Vec<&String> = summary
        .commitments
        .iter()
        .filter(|(_, c)| c.target_moved)
        .map(|(id, _)| id)
        .collect();
    // The homes milestone's lowered target and the homelessness milestone's loosened one.
    assert_eq!(
        moved,
        ["co-homelessness-milestone", "mhclg-homes-milestone"],
        "only these targets move"
    );
}

#[test]
fn shared_delivery_a_measured_claim_a_verdict_and_an_adopted_pledge() {
    let summary = demo().summary;
    let shared = &summary.commitments["co-homelessness-milestone"];
    assert_eq!(
        shared.owner, "GB-GOV-3",
        "the Cabinet Office answers for it"
    );
    // Claimed delivered; one of two targets missed.
    assert_eq!(shared.status, Status::PartlyDelivered);
    assert!(shared.disputed);
    let pledge = &summary.commitments["party-6500-teachers"];
    assert_eq!(pledge.made_by, "party:demo-governing");
    assert_eq!(
        pledge.owner, "GB-GOV-5",
        "adopted by the Department for Education"
    );
    assert_eq!(pledge.status, Status::InProgress);
}

#[test]
fn renamed_and_merged_bodies_hand_over_their_open_commitments() {
    let summary = demo().summary;
    for id in [
        "desnz-clean-power-2030",
        "desnz-warm-homes-2025",
        "desnz-community-energy",
    ] {
        assert_eq!(summary.commitments[id].made_by, "GB-GOV-16");
        assert_eq!(summary.commitments[id].owner, "GB-GOV-31", "{id}");
    }
    assert_eq!(summary.actors["GB-GOV-16"].commitments(), 0);
    // Money goes with the commitments: what the predecessors spent is now the successors'.
    assert_eq!(summary.actors["GB-GOV-16"].committed_minor, 0);
    assert_eq!(
        summary.actors["GB-GOV-31"].committed_minor,
        (1_600_000_000 + 1_100_000_000) * 100
    );
    assert_eq!(
        summary.actors["GB-GOV-AGY-101"].committed_minor,
        3_200_000 * 100
    );
    assert_eq!(summary.actors["GB-GOV-AGY-101"].pledged_minor, 0);
    assert_eq!(
        summary.actors["GB-GOV-7"].pledged_minor,
        (39_000_000_000 + 12_500_000) * 100
    );
    let successor = &summary.actors["GB-GOV-31"];
    assert_eq!(successor.count(Status::InProgress), 1);
    assert_eq!(successor.count(Status::NotDelivered), 1);
    assert_eq!(successor.count(Status::Withdrawn), 1);

    // The agency's delivered commitment stays with it; the open one moved and was finished.
    assert_eq!(
        summary.commitments["community-agency-volunteer-centres"].owner,
        "GB-GOV-AGY-101"
    );
    let hubs = &summary.commitments["community-agency-coastal-hubs"];
    assert_eq!(
        (hubs.owner.as_str(), hubs.status),
        ("GB-GOV-7", Status::PartlyDelivered)
    );
}

#[test]
fn the_members_answers_differ() {
    let summary = demo().summary;
    let members: Vec<_> = summary
        .actors
        .iter()
        .filter(|(id, _)| id.starts_with("uk-mp:"))
        .collect();
    assert_eq!(members.len(), 10);
    for (id, scorecard) in &members {
        assert_eq!(scorecard.commitments(), 5, "{id} answered all five asks");
    }
    let okafor = &summary.actors["uk-mp:9101"];
    assert_eq!(okafor.count(Status::Delivered), 5);
    let pryce = &summary.actors["uk-mp:9102"];
    assert_eq!(pryce.count(Status::Withdrawn), 1);
    assert_eq!(pryce.count(Status::Overdue), 1);
    assert_eq!(pryce.count(Status::PartlyDelivered), 2);
    let dunmore = &summary.actors["uk-mp:9106"];
    assert_eq!(dunmore.count(Status::NotStarted), 1);
    assert_eq!(
        summary.commitments["mp-9103-vision"].status,
        Status::Delivered
    );
    assert!(summary.commitments["mp-9103-vision"].deadline_moved);
}

#[test]
fn every_status_and_event_kind_appears() {
    let summary = demo().summary;
    let mut totals: BTreeMap<Status, usize> = BTreeMap::new();
    for scorecard in summary.actors.values() {
        for (status, count) in &scorecard.statuses {
            *totals.entry(*status).or_insert(0) += count;
        }
    }
    for status in Status::ALL {
        assert!(totals[&status] > 0, "no commitment is {}", status.as_str());
    }
    for kind in [
        "actor_registered",
        "key_granted",
        "key_revoked",
        "actor_succeeded",
        "commitment_made",
        "commitment_amended",
        "commitment_withdrawn",
        "action_recorded",
        "outcome_reported",
        "assessment_published",
        "retraction",
    ] {
        assert!(
            summary.events_by_kind.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}"
        );
    }
    assert_eq!(summary.events_by_kind["actor_succeeded"], 2);
    assert_eq!(summary.events_by_kind["key_revoked"], 3);
    assert_eq!(summary.events_by_kind["retraction"], 1);
    assert_eq!(summary.events, demo().events.len());
}

#[test]
fn an_earlier_date_shows_an_earlier_picture() {
    let data = demo();
    let early = data.summary_as_of(Date::parse("2025-06-30").unwrap());
    assert!(early.events < data.events.len());
    assert!(
        !early.commitments.contains_key("dcms-covenant-council"),
        "made in July 2025"
    );
    assert_eq!(
        early.commitments["desnz-warm-homes-2025"].owner, "GB-GOV-16",
        "before the rename"
    );
    assert_eq!(
        early.commitments["desnz-warm-homes-2025"].status,
        Status::InProgress
    );
}

#[test]
fn the_synthetic_load_has_the_demo_shape_and_is_valid() {
    let events: Vec<Vec<u8>> = synthetic(3_000).collect();
    assert_eq!(events.len(), 3_000);
    let state = replay(covenant_demo::genesis().to_proto(), &events);
    let per_commitment = 3_000.0 / state.commitments.len() as f64;
    assert!(
        (8.0..=13.0).contains(&per_commitment),
        "{per_commitment} events per commitment"
    );
    assert!(state.commitments.values().any(|c| c.withdrawn));
    assert!(state.commitments.values().any(|c| !c.outcomes.is_empty()));
}

#[test]
fn a_smaller_synthetic_load_is_a_prefix_of_a_larger_one() {
    let small: Vec<Vec<u8>> = synthetic(500).collect();
    let large: Vec<Vec<u8>> = synthetic(1_200).collect();
    assert_eq!(small[..], large[..500]);
    assert_eq!(synthetic(0).count(), 0);
    assert_eq!(synthetic(1_200).len(), 1_200);
}

#[test]
fn the_synthetic_load_spreads_over_650_members_and_400_bodies() {
    let mut members = std::collections::HashSet::new();
    let mut bodies = std::collections::HashSet::new();
    for bytes in synthetic(14_000) {
        if let proto::event_body::Kind::ActorRegistered(registered) = decode(&bytes).unwrap().kind {
            if registered.kind == proto::ActorKind::Mp as i32 {
                members.insert(registered.actor_id);
            } else {
                bodies.insert(registered.actor_id);
            }
        }
    }
    assert_eq!((members.len(), bodies.len()), (650, 400));
}
