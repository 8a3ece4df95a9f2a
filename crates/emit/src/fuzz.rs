//! Property tests over hostile rows: CSV files and JSON of arbitrary bytes, and
//! structure-aware files (the real columns with arbitrary cells), read, turned into events and
//! sealed. Nothing may panic; every refusal is a [`RowError`] that names where it is.
//! `just fuzz` runs more cases (`PROPTEST_CASES`); failing inputs are kept in
//! `crates/emit/proptest-regressions/fuzz.txt`.

use crate::build::Speaker;
use crate::envelope_file;
use crate::rows::{self, COLUMNS, RowError};
use covenant_core::signing::EventSigner;
use proptest::prelude::*;

fn speaker() -> Speaker {
    Speaker::new("GB-GOV-23", "dcms-1", EventSigner::from_seed([5; 32])).expect("valid ids")
}

fn check_rows(rows: Result<Vec<rows::Row>, RowError>) {
    match rows {
        Ok(rows) => {
            for row in rows {
                if let Err(error) = rows::row_event(&row) {
                    assert!(!error.to_string().is_empty());
                }
                if let Err(error) = rows::seal_row(&speaker(), &row, 1_767_225_600_000) {
                    assert!(!error.to_string().is_empty());
                }
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,20}",
        "[0-9.,-]{0,12}",
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}",
        ".{0,30}",
        Just("commitment_made".to_owned()),
        Just("action_recorded".to_owned()),
        Just("outcome_reported".to_owned()),
        Just("01JDQ7Z6X5K3T9V2B8N4M1P0QR".to_owned()),
    ]
}

proptest! {
    #[test]
    fn csv_of_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_rows(rows::read_csv(&bytes));
    }

    #[test]
    fn json_of_arbitrary_text(text in ".{0,300}") {
        check_rows(rows::read_json(&text));
        check_rows(rows::read_json(&format!("[{text}]")));
    }

    #[test]
    fn csv_with_real_columns_and_arbitrary_cells(
        columns in prop::collection::vec(prop::sample::select(COLUMNS), 1..12),
        cells in prop::collection::vec(prop::collection::vec(cell(), 12), 1..5),
    ) {
        let mut writer = csv::Writer::from_writer(vec![]);
        writer.write_record(&columns).expect("write");
        for row in &cells {
            writer.write_record(&row[..columns.len()]).expect("write");
        }
        let data = writer.into_inner().expect("flush");
        check_rows(rows::read_csv(&data));
    }

    #[test]
    fn envelope_files_of_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(error) = envelope_file::parse(&bytes) {
            prop_assert!(!error.to_string().is_empty());
        }
    }
}
