//! Row errors: where a row came from, what was wrong with it, and which column a core field path
//! names, so that every message points at a spreadsheet cell or a flag.

/// Where a row came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A row of a file: the spreadsheet row number (the header is row 1) for CSV, the line for
    /// JSON lines, the 1-based position for a JSON array.
    Row(usize),
    /// Command-line flags: columns are shown as `--flag-names`.
    Flags,
}

/// A row that could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RowError {
    pub location: Location,
    /// The column (or, for whole-row problems, an empty string).
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.location, self.field.is_empty()) {
            (Location::Row(row), true) => write!(f, "row {row}: {}", self.problem),
            (Location::Row(row), false) => write!(f, "row {row}, {}: {}", self.field, self.problem),
            (Location::Flags, true) => write!(f, "{}", self.problem),
            (Location::Flags, false) => {
                write!(f, "--{}: {}", self.field.replace('_', "-"), self.problem)
            }
        }
    }
}

/// The column a core field path refers to: `commitment_made.indicator.measure` ->
/// `indicator_measure`, `action_recorded.money.amount_minor` -> `money_amount`.
pub(super) fn column_of(field_path: &str) -> String {
    let without_kind = match field_path.split_once('.') {
        Some((_, rest)) => rest,
        None => field_path,
    };
    let without_index = without_kind.split('[').next().unwrap_or(without_kind);
    match (field_path, without_index) {
        ("retraction.event_id", _) => "retracts".to_owned(),
        (_, "money.amount_minor") => "money_amount".to_owned(),
        (_, "changes") => "field".to_owned(),
        (_, rest) => rest.replace('.', "_"),
    }
}
