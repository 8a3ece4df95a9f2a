use super::*;
use covenant_core::event::decode;
use covenant_core::proto;
use covenant_core::signing::EventSigner;

const NOW: i64 = 1_790_000_000_000; // 2026-09-21

fn speaker() -> Speaker {
    Speaker::new("GB-GOV-23", "dcms-1", EventSigner::from_seed([5; 32])).unwrap()
}

fn seal_all(rows: &[Row]) -> Result<Vec<SealedEvent>, RowError> {
    rows.iter()
        .map(|row| seal_row(&speaker(), row, NOW))
        .collect()
}

fn kind_of(event: &SealedEvent) -> Kind {
    decode(&event.bytes).unwrap().kind
}

const CSV: &str = "\
kind,commitment_id,title,text,made_on,due_by,themes,action_id,commitment_ids,type,taken_on,description,money_amount,money_stage,evidence,verdict,reported_on,summary
commitment,dcms-covenant-01,Joint council,We will set up a joint council.,2025-07-17,2026-03-31,community; Opportunity,,,,,,,,,,,
action,,,,,,,dcms-a-01,dcms-covenant-01,funding,2025-09-01,Secretariat funded.,\"£1,250,000.50\",pledged,Grant notice|https://example.org/g,,,
outcome,dcms-covenant-01,,,,,,,,,,,,,https://example.org/o,delivered,2026-03-20,The council met.
";

#[test]
fn csv_rows_become_the_events_they_describe() {
    let rows = read_csv(CSV.as_bytes()).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].location, Location::Row(2));
    let events = seal_all(&rows).unwrap();
    let Kind::CommitmentMade(made) = kind_of(&events[0]) else {
        panic!("not a commitment");
    };
    assert_eq!(made.commitment_id, "dcms-covenant-01");
    assert_eq!(made.due_by, "2026-03-31");
    assert_eq!(made.themes, ["community", "opportunity"]);
    let Kind::ActionRecorded(action) = kind_of(&events[1]) else {
        panic!("not an action");
    };
    let money = action.money.unwrap();
    assert_eq!(
        (money.amount_minor, money.currency.as_str(), money.stage),
        (125_000_050, "GBP", proto::MoneyStage::Pledged as i32)
    );
    assert_eq!(action.evidence[0].title, "Grant notice");
    assert_eq!(action.evidence[0].url, "https://example.org/g");
    let Kind::OutcomeReported(outcome) = kind_of(&events[2]) else {
        panic!("not an outcome");
    };
    assert_eq!(outcome.verdict, proto::Verdict::Delivered as i32);
    assert_eq!(outcome.evidence[0].url, "https://example.org/o");
}

#[test]
fn the_bad_row_and_column_are_named() {
    let mut csv = String::from("kind,commitment_id,title,text,made_on,due_by\n");
    for i in 0..5 {
        csv.push_str(&format!("commitment,c-{i},T,X,2025-01-01,2026-01-01\n"));
    }
    csv.push_str("commitment,c-9,T,X,2025-01-01,2026-02-30\n");
    let rows = read_csv(csv.as_bytes()).unwrap();
    let error = seal_all(&rows).unwrap_err();
    assert_eq!(
        error.to_string(),
        "row 7, due_by: \"2026-02-30\" is not a date (YYYY-MM-DD)"
    );
}

#[test]
fn field_checks_from_the_core_name_the_column() {
    let row =
        |pairs: &[(&str, &str)]| Row::from_pairs(Location::Row(3), pairs.iter().copied()).unwrap();
    let base = [
        ("kind", "commitment"),
        ("title", "T"),
        ("text", "X"),
        ("made_on", "2025-01-01"),
    ];
    let bad_id = row(&[base.as_slice(), &[("commitment_id", "has space")]].concat());
    let error = seal_row(&speaker(), &bad_id, NOW).unwrap_err();
    assert_eq!(error.field, "commitment_id");
    assert!(
        error.to_string().starts_with("row 3, commitment_id: "),
        "{error}"
    );

    let bad_theme = row(&[
        base.as_slice(),
        &[("commitment_id", "c"), ("themes", "civil society")],
    ]
    .concat());
    let error = seal_row(&speaker(), &bad_theme, NOW).unwrap_err();
    assert_eq!(error.field, "themes");

    let bad_currency = row(&[
        ("kind", "action"),
        ("action_id", "a"),
        ("commitment_ids", "c"),
        ("type", "funding"),
        ("taken_on", "2025-02-01"),
        ("description", "d"),
        ("money_amount", "10"),
        ("money_currency", "pounds"),
        ("money_stage", "spent"),
    ]);
    let error = seal_row(&speaker(), &bad_currency, NOW).unwrap_err();
    assert_eq!(error.field, "money_currency");
}

#[test]
fn header_typos_and_misplaced_columns_are_refused() {
    let error = read_csv(b"kind,due by\ncommitment,2026-01-01\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "row 2, due by: is not a known column (docs/EMITTERS.md lists them)"
    );
    let rows = read_csv(
        b"kind,action_id,commitment_ids,type,taken_on,description,due_by\naction,a,c,funding,2025-01-01,d,2026-01-01\n",
    )
    .unwrap();
    let error = seal_all(&rows).unwrap_err();
    assert_eq!(
        error.to_string(),
        "row 2, due_by: is not used by action rows"
    );
    let rows = read_csv(b"kind\npromise\n").unwrap();
    let error = seal_all(&rows).unwrap_err().to_string();
    assert!(
        error.starts_with("row 2, kind: \"promise\" is not one of commitment"),
        "{error}"
    );
}

#[test]
fn choices_list_the_allowed_values() {
    let row = Row::from_pairs(
        Location::Flags,
        [
            ("kind", "outcome"),
            ("commitment_id", "c"),
            ("verdict", "mostly"),
            ("reported_on", "2025-05-05"),
        ],
    )
    .unwrap();
    assert_eq!(
        seal_row(&speaker(), &row, NOW).unwrap_err().to_string(),
        "--verdict: \"mostly\" is not one of delivered, partly_delivered, not_delivered"
    );
    let spelled = Row::from_pairs(
        Location::Flags,
        [
            ("kind", "outcome"),
            ("commitment_id", "c"),
            ("verdict", "Partly delivered"),
            ("reported_on", "2025-05-05"),
        ],
    )
    .unwrap();
    assert!(seal_row(&speaker(), &spelled, NOW).is_ok());
}

#[test]
fn json_arrays_and_lines_read_alike() {
    let array = r#"[
        {"kind": "commitment", "commitment_id": "c-1", "title": "T", "text": "X",
         "made_on": "2025-03-01", "themes": ["equity", "dignity"],
         "indicator_measure": "people helped", "indicator_target_value": 5000,
         "indicator_higher_is_better": true},
        {"kind": "action", "action_id": "a-1", "commitment_ids": ["c-1"], "type": "publication",
         "taken_on": "2025-04-01", "description": "Plan published.",
         "evidence": [{"title": "Plan", "url": "https://example.org/plan"}]}
    ]"#;
    let lines = array
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .replace("\n         ", " ")
        .replace("},\n", "}\n");
    let from_array = seal_all(&read_json(array).unwrap()).unwrap();
    let from_lines = seal_all(&read_json(&lines).unwrap()).unwrap();
    assert_eq!(from_array, from_lines);
    let Kind::CommitmentMade(made) = kind_of(&from_array[0]) else {
        panic!("not a commitment");
    };
    assert_eq!(made.themes, ["equity", "dignity"]);
    assert_eq!(made.indicator.unwrap().target_value, Some(5000.0));
    let Kind::ActionRecorded(action) = kind_of(&from_array[1]) else {
        panic!("not an action");
    };
    assert_eq!(action.evidence[0].title, "Plan");

    let error = read_json("{\"kind\": \"commitment\"}\n[1]\n").unwrap_err();
    assert_eq!(error.to_string(), "row 2: must be a JSON object");
}

#[test]
fn sealing_a_row_twice_gives_the_same_bytes() {
    let rows = read_csv(CSV.as_bytes()).unwrap();
    assert_eq!(seal_all(&rows).unwrap(), seal_all(&rows).unwrap());
    // The id is keyed with the signer's secret: nobody without the key can compute it first.
    let other = Speaker::new("GB-GOV-23", "dcms-1", EventSigner::from_seed([6; 32])).unwrap();
    assert_ne!(
        seal_row(&other, &rows[0], NOW).unwrap().event_id,
        seal_all(&rows).unwrap()[0].event_id
    );
}

#[test]
fn times_default_to_the_event_date_and_never_the_future() {
    let rows = read_csv(CSV.as_bytes()).unwrap();
    let event = seal_row(&speaker(), &rows[0], NOW).unwrap();
    let occurred = decode(&event.bytes).unwrap().envelope.occurred_at_ms;
    assert_eq!(occurred, parse_timestamp("2025-07-17").unwrap());
    let future = Row::from_pairs(
        Location::Row(2),
        [
            ("kind", "commitment"),
            ("commitment_id", "c"),
            ("title", "T"),
            ("text", "X"),
            ("made_on", "2026-09-22"),
        ],
    )
    .unwrap();
    // Tomorrow, UTC, may already be today where the emitter is; its time is still now.
    let event = seal_row(&speaker(), &future, NOW).unwrap();
    assert_eq!(decode(&event.bytes).unwrap().envelope.occurred_at_ms, NOW);
    let given = Row::from_pairs(
        Location::Row(2),
        [
            ("kind", "withdrawal"),
            ("commitment_id", "c"),
            ("reason", "r"),
            ("occurred_at", "2026-01-02T03:04:05.678Z"),
            ("event_id", "01JZ0000000000000000000000"),
        ],
    )
    .unwrap();
    let event = seal_row(&speaker(), &given, NOW).unwrap();
    let envelope = decode(&event.bytes).unwrap().envelope;
    assert_eq!(envelope.event_id, "01JZ0000000000000000000000");
    assert_eq!(
        envelope.occurred_at_ms,
        parse_timestamp("2026-01-02").unwrap() + 11_045_678
    );
}

#[test]
fn rows_for_another_actor_are_refused() {
    let row = Row::from_pairs(
        Location::Row(4),
        [
            ("kind", "withdrawal"),
            ("actor", "GB-GOV-99"),
            ("commitment_id", "c"),
            ("reason", "r"),
        ],
    )
    .unwrap();
    assert_eq!(
        seal_row(&speaker(), &row, NOW).unwrap_err().to_string(),
        "row 4, actor: GB-GOV-99 is not the actor this key speaks for (GB-GOV-23)"
    );
}

#[test]
fn money_is_parsed_exactly() {
    assert_eq!(parse_money("1250000"), Some(125_000_000));
    assert_eq!(parse_money("£1,250,000.5"), Some(125_000_050));
    assert_eq!(parse_money("0.07"), Some(7));
    for bad in ["", "-5", "1.234", "12a", "1e6", ".5"] {
        assert_eq!(parse_money(bad), None, "{bad}");
    }
}

#[test]
fn timestamps_parse_in_three_forms() {
    assert_eq!(parse_timestamp("1970-01-02"), Some(86_400_000));
    assert_eq!(parse_timestamp("1970-01-01T00:01:00Z"), Some(60_000));
    assert_eq!(parse_timestamp("1970-01-01T00:00:01.5Z"), Some(1_500));
    assert_eq!(parse_timestamp("1752710400000"), Some(1_752_710_400_000));
    for bad in [
        "2026-02-30",
        "2026-01-01T25:00:00Z",
        "2026-01-01T10:00:00",
        "2026-01-01T10:00Z",
        "soon",
    ] {
        assert_eq!(parse_timestamp(bad), None, "{bad}");
    }
}

#[test]
fn amendments_check_the_new_value_against_the_field() {
    let row = |field: &str, value: &str| {
        Row::from_pairs(
            Location::Row(2),
            [
                ("kind", "amendment"),
                ("commitment_id", "c"),
                ("class", "deadline_change"),
                ("field", field),
                ("new_value", value),
                ("rationale", "r"),
            ],
        )
        .unwrap()
    };
    assert!(seal_row(&speaker(), &row("due_by", "2027-03-31"), NOW).is_ok());
    let error = seal_row(&speaker(), &row("due_by", "next spring"), NOW).unwrap_err();
    assert_eq!(error.field, "new_value");
    let error = seal_row(&speaker(), &row("target_value", "lots"), NOW).unwrap_err();
    assert_eq!(error.field, "new_value");
}

#[test]
fn core_paths_map_to_columns() {
    assert_eq!(
        column_of("commitment_made.indicator.measure"),
        "indicator_measure"
    );
    assert_eq!(
        column_of("action_recorded.money.amount_minor"),
        "money_amount"
    );
    assert_eq!(
        column_of("action_recorded.commitment_ids[2]"),
        "commitment_ids"
    );
    assert_eq!(column_of("retraction.event_id"), "retracts");
    assert_eq!(column_of("event_id"), "event_id");
}

#[test]
fn spreadsheet_exports_with_a_byte_order_mark_and_crlf_read_cleanly() {
    let exported =
        "\u{feff}kind,commitment_id,reason\r\nwithdrawal,c-1,Dropped in the spending review.\r\n";
    let rows = read_csv(exported.as_bytes()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("kind"), Some("withdrawal"));
    assert_eq!(
        rows[0].get("reason"),
        Some("Dropped in the spending review.")
    );
}

/// Real commitments as governments write them: a milestone owned by one body and delivered by
/// others, with two targets; an "at least 95%" target; a goalpost move that changes the target
/// and the wording in one event; a measured outcome; a watchdog's verdict; an adopted pledge.
const REAL_CSV: &str = "\
kind,commitment_id,title,text,made_on,delivery_partners,indicators,indicator_measure,indicator_unit,indicator_target_value,sources,class,changes,effective_on,rationale,verdict,reported_on,measurements,stance,assessed_verdict,summary,adopted_on,note
commitment,pfc-homes,1.5 million homes,Build 1.5 million safe and decent homes,2024-12-05,GB-GOV-MHCLG; GB-GOV-DFE,homes|net additional dwellings|>=1500000|homes; decisions|infrastructure decisions|at least 150|decisions,,,,policy_paper|Plan for Change|https://www.gov.uk/missions; speech|PM speech,,,,,,,,,,,,
commitment,nhs-18wk,Waiting lists,92% of patients seen within 18 weeks,2024-12-05,,,patients seen within 18 weeks,%,>=92,,,,,,,,,,,,,
amendment,clean-power,,,,,,,,,,target_change,target_value=95; text=Clean power by 2030,2024-12-13,Clean Power 2030 Action Plan,,,,,,,,
outcome,pfc-homes,,,,,,,,,,,,,,partly_delivered,2026-04-30,homes|1200000|2026-03-31; decisions|160,,,Programme closed: 1.2 million homes,,
assessment,pfc-homes,,,,,,,,,,,,,,,,,disputes,not_delivered,Counts conversions as new homes,,
adoption,pledge-teachers,,,,,,,,,,,,,,,,,,,,2024-07-17,King's Speech
";

#[test]
fn real_commitment_rows_carry_partners_targets_moves_measurements_verdicts_and_adoptions() {
    let rows = read_csv(REAL_CSV.as_bytes()).unwrap();
    let events = seal_all(&rows).unwrap();
    let Kind::CommitmentMade(homes) = kind_of(&events[0]) else {
        panic!("not a commitment");
    };
    assert_eq!(homes.delivery_partners, ["GB-GOV-MHCLG", "GB-GOV-DFE"]);
    assert_eq!(homes.indicators.len(), 2);
    assert_eq!(homes.indicators[1].indicator_id, "decisions");
    assert_eq!(
        homes.indicators[1].comparator,
        proto::Comparator::AtLeast as i32
    );
    assert_eq!(homes.indicators[1].target_value, Some(150.0));
    assert_eq!(homes.indicators[0].baseline_value, None);
    assert_eq!(homes.sources.len(), 2);
    assert_eq!(homes.sources[1].kind, proto::SourceKind::Speech as i32);
    assert_eq!(homes.sources[1].url, "");
    let Kind::CommitmentMade(nhs) = kind_of(&events[1]) else {
        panic!("not a commitment");
    };
    let target = &nhs.indicators[0];
    assert_eq!(
        (
            target.indicator_id.as_str(),
            target.comparator,
            target.target_value,
            target.unit.as_str()
        ),
        ("main", proto::Comparator::AtLeast as i32, Some(92.0), "%")
    );
    let Kind::CommitmentAmended(moved) = kind_of(&events[2]) else {
        panic!("not an amendment");
    };
    assert_eq!(moved.changes.len(), 2, "target and wording in one event");
    assert_eq!(
        moved.changes[0].field,
        proto::AmendedField::TargetValue as i32
    );
    assert_eq!(moved.changes[1].new_value, "Clean power by 2030");
    assert_eq!(moved.effective_on, "2024-12-13");
    let Kind::OutcomeReported(outcome) = kind_of(&events[3]) else {
        panic!("not an outcome");
    };
    assert_eq!(outcome.measurements.len(), 2);
    assert_eq!(outcome.measurements[0].measured_on, "2026-03-31");
    assert_eq!(
        outcome.measurements[1].measured_on, "2026-04-30",
        "defaults to reported_on"
    );
    let Kind::AssessmentPublished(assessment) = kind_of(&events[4]) else {
        panic!("not an assessment");
    };
    assert_eq!(assessment.outcome_event_id, "", "the latest outcome");
    assert_eq!(
        assessment.assessed_verdict,
        proto::Verdict::NotDelivered as i32
    );
    let Kind::CommitmentAdopted(adopted) = kind_of(&events[5]) else {
        panic!("not an adoption");
    };
    assert_eq!(
        (adopted.adopted_on.as_str(), adopted.note.as_str()),
        ("2024-07-17", "King's Speech")
    );
}

#[test]
fn targets_read_as_people_write_them() {
    use proto::Comparator::*;
    for (text, expected) in [
        (">=95", (AtLeast, 95.0, None)),
        ("at least 95%", (AtLeast, 95.0, None)),
        ("<= 30,000", (AtMost, 30_000.0, None)),
        ("no more than 4", (AtMost, 4.0, None)),
        ("=0", (Exactly, 0.0, None)),
        ("exactly 7", (Exactly, 7.0, None)),
        ("10..20", (Between, 10.0, Some(20.0))),
        ("between 10 and 20", (Between, 10.0, Some(20.0))),
        ("1500000", (AtLeast, 1_500_000.0, None)),
    ] {
        assert_eq!(parse_target(text), Ok(expected), "{text}");
    }
    for bad in [
        "",
        "lots",
        ">=",
        "20..10",
        "between 1 and x",
        "1_000",
        "NaN",
    ] {
        assert!(parse_target(bad).is_err(), "{bad}");
    }
}

#[test]
fn malformed_new_columns_are_named() {
    let cases = [
        (
            "kind,commitment_id,title,text,made_on,sources\ncommitment,c,t,x,2025-01-01,podcast|Pod|https://a.org\n",
            "row 2, sources",
        ),
        (
            "kind,commitment_id,title,text,made_on,indicators\ncommitment,c,t,x,2025-01-01,homes|only two\n",
            "row 2, indicators",
        ),
        (
            "kind,commitment_id,class,changes,rationale\namendment,c,correction,no equals sign,r\n",
            "row 2, changes",
        ),
        (
            "kind,commitment_id,class,rationale\namendment,c,correction,r\n",
            "row 2, changes: is required",
        ),
        (
            "kind,commitment_id,verdict,reported_on,measurements\noutcome,c,delivered,2026-01-01,homes|many\n",
            "row 2, measurements",
        ),
        (
            "kind,commitment_id,title,text,made_on,evidence\ncommitment,c,t,x,2025-01-01,a;b\n",
            "row 2, evidence",
        ),
        (
            "kind,commitment_id,class,field,new_value,rationale\namendment,c,deadline_change,target_value,90,r\n",
            "row 2, field",
        ),
    ];
    for (csv, expected) in cases {
        let rows = read_csv(csv.as_bytes()).unwrap();
        let error = seal_all(&rows).unwrap_err().to_string();
        assert!(
            error.starts_with(expected),
            "{error} should start with {expected}"
        );
    }
}

#[test]
fn an_event_dated_after_tomorrow_is_refused_naming_its_date_column() {
    let dated = |kind: &str, column: &str, on: &str| {
        let mut pairs = vec![("kind", kind), (column, on)];
        pairs.extend(match kind {
            "commitment" => vec![("commitment_id", "c"), ("title", "T"), ("text", "X")],
            "action" => vec![
                ("action_id", "a-1"),
                ("commitment_ids", "c"),
                ("type", "funding"),
                ("description", "d"),
            ],
            "outcome" => vec![
                ("commitment_id", "c"),
                ("verdict", "delivered"),
                ("summary", "s"),
                ("evidence", "https://example.org/o"),
            ],
            "amendment" => vec![
                ("commitment_id", "c"),
                ("class", "deadline_change"),
                ("changes", "due_by=2027-01-01"),
                ("rationale", "r"),
            ],
            _ => vec![("commitment_id", "c")],
        });
        Row::from_pairs(Location::Row(4), pairs).unwrap()
    };
    for (kind, column) in [
        ("amendment", "effective_on"),
        ("commitment", "made_on"),
        ("action", "taken_on"),
        ("outcome", "reported_on"),
        ("adoption", "adopted_on"),
    ] {
        assert!(
            seal_row(&speaker(), &dated(kind, column, "2026-09-22"), NOW).is_ok(),
            "{kind} tomorrow"
        );
        let error = seal_row(&speaker(), &dated(kind, column, "2026-09-23"), NOW).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "row 4, {column}: 2026-09-23 is in the future (today is 2026-09-21 UTC): publish what has happened, once it has; a date still to come belongs in due_by"
            ),
            "{kind}"
        );
    }
}

#[test]
fn a_required_column_missing_from_the_file_is_told_from_an_empty_cell() {
    let without = read_csv(b"kind,commitment_id,title,text\ncommitment,c,T,X\n").unwrap();
    assert_eq!(
        seal_row(&speaker(), &without[0], NOW)
            .unwrap_err()
            .to_string(),
        "row 2, made_on: is required, and this row has no such column"
    );
    let empty = read_csv(b"kind,commitment_id,title,text,made_on\ncommitment,c,T,X,\n").unwrap();
    assert_eq!(
        seal_row(&speaker(), &empty[0], NOW)
            .unwrap_err()
            .to_string(),
        "row 2, made_on: is required, and this row leaves it empty"
    );
}

#[test]
fn a_commitment_row_checks_its_deadline_source_and_named_indicator_columns() {
    let commitment = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("kind", "commitment"),
            ("commitment_id", "c"),
            ("title", "T"),
            ("text", "X"),
            ("made_on", "2025-07-17"),
        ];
        pairs.extend_from_slice(extra);
        Row::from_pairs(Location::Row(2), pairs).unwrap()
    };
    let made = |extra: &[(&str, &str)]| match kind_of(
        &seal_row(&speaker(), &commitment(extra), NOW).unwrap(),
    ) {
        Kind::CommitmentMade(made) => made,
        other => panic!("{other:?}"),
    };
    // Due the day it is made is allowed; the day before is not.
    assert_eq!(made(&[("due_by", "2025-07-17")]).due_by, "2025-07-17");
    let early = seal_row(&speaker(), &commitment(&[("due_by", "2025-07-16")]), NOW).unwrap_err();
    assert_eq!(
        early.to_string(),
        "row 2, due_by: 2025-07-16 is before made_on (2025-07-17)"
    );
    // Any one source column asks for the source's kind.
    let sourceless = seal_row(
        &speaker(),
        &commitment(&[("source_url", "https://example.org/manifesto")]),
        NOW,
    )
    .unwrap_err();
    assert_eq!(sourceless.field, "source_kind");
    let sourced = made(&[
        ("source_kind", "manifesto"),
        ("source_url", "https://example.org/manifesto"),
    ]);
    assert_eq!(
        sourced.source.expect("a source").url,
        "https://example.org/manifesto"
    );
    // An indicator id alone makes the single indicator a named one.
    let named = made(&[
        ("indicator_id", "homes"),
        ("indicator_measure", "homes built"),
        ("indicator_target_value", "100"),
    ]);
    assert_eq!(named.indicators.len(), 1);
    assert_eq!(named.indicators[0].indicator_id, "homes");
    assert!(named.indicator.is_none());
}
