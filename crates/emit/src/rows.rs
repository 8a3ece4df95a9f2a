//! Events from rows: a CSV file (one row per event), a JSON array or JSON lines (one object per
//! event), or command-line flags. Every row names its `kind`; the other columns are the event's
//! fields, listed in docs/EMITTERS.md. Errors name the row and the column:
//! `row 7, due_by: "2026-02-30" is not a date (YYYY-MM-DD)`.
//!
//! When a row gives no `event_id`, the id is derived from the row's content and `occurred_at`,
//! keyed with the emitter's secret key ([`crate::build::Speaker::derived_event_id`]): publishing
//! the same file twice publishes the same events, which the ledger takes once, and nobody
//! without the key can predict an id to publish something else under it first. When a row gives no `occurred_at`, it is midnight UTC
//! of the event's own date (`made_on`, `taken_on`, `reported_on`), or now for kinds without one.

use crate::build::{self, SealedEvent, Speaker};
use covenant_core::SchemaName;
use covenant_core::event::{Date, DecodeError};
use covenant_core::proto::{self, event_body::Kind};
use std::collections::BTreeMap;

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

/// One cell: text, or a list (JSON arrays; in CSV, lists are `;`-separated text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    List(Vec<String>),
}

/// One event's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub location: Location,
    cells: BTreeMap<String, Cell>,
}

/// Every column a row may have.
pub const COLUMNS: &[&str] = &[
    "kind",
    "event_id",
    "occurred_at",
    "actor",
    "commitment_id",
    "title",
    "text",
    "made_on",
    "due_by",
    "source_kind",
    "source_title",
    "source_url",
    "themes",
    "partners",
    "indicator_measure",
    "indicator_unit",
    "indicator_higher_is_better",
    "indicator_baseline_value",
    "indicator_baseline_date",
    "indicator_target_value",
    "indicator_target_period",
    "indicator_id",
    "indicator_deadline",
    "indicators",
    "delivery_partners",
    "sources",
    "class",
    "field",
    "new_value",
    "changes",
    "effective_on",
    "rationale",
    "reason",
    "action_id",
    "commitment_ids",
    "type",
    "taken_on",
    "description",
    "money_amount",
    "money_currency",
    "money_stage",
    "evidence",
    "verdict",
    "reported_on",
    "summary",
    "indicator_actual",
    "actual_period",
    "measurements",
    "lessons",
    "outcome_event_id",
    "stance",
    "assessed_verdict",
    "retracts",
    "adopted_on",
    "note",
];

const COMMON: &[&str] = &["kind", "event_id", "occurred_at", "actor"];

/// The event kinds a row can hold and the columns each uses (besides `kind`, `event_id`,
/// `occurred_at` and `actor`).
pub const KINDS: &[(&str, &[&str])] = &[
    (
        "commitment",
        &[
            "commitment_id",
            "title",
            "text",
            "made_on",
            "due_by",
            "source_kind",
            "source_title",
            "source_url",
            "themes",
            "partners",
            "indicator_measure",
            "indicator_unit",
            "indicator_higher_is_better",
            "indicator_baseline_value",
            "indicator_baseline_date",
            "indicator_target_value",
            "indicator_target_period",
            "indicator_id",
            "indicator_deadline",
            "indicators",
            "delivery_partners",
            "sources",
            "evidence",
        ],
    ),
    (
        "amendment",
        &[
            "commitment_id",
            "class",
            "field",
            "new_value",
            "indicator_id",
            "changes",
            "effective_on",
            "sources",
            "rationale",
        ],
    ),
    ("withdrawal", &["commitment_id", "reason"]),
    (
        "action",
        &[
            "action_id",
            "commitment_ids",
            "commitment_id",
            "type",
            "taken_on",
            "description",
            "money_amount",
            "money_currency",
            "money_stage",
            "evidence",
            "partners",
        ],
    ),
    (
        "outcome",
        &[
            "commitment_id",
            "verdict",
            "reported_on",
            "summary",
            "indicator_actual",
            "actual_period",
            "measurements",
            "evidence",
            "lessons",
        ],
    ),
    (
        "assessment",
        &[
            "commitment_id",
            "outcome_event_id",
            "stance",
            "assessed_verdict",
            "summary",
            "evidence",
        ],
    ),
    ("retraction", &["retracts", "reason"]),
    ("adoption", &["commitment_id", "adopted_on", "note"]),
];

impl Row {
    /// A row from column names and text values (for example from command-line flags).
    pub fn from_pairs<I, K, V>(location: Location, pairs: I) -> Result<Self, RowError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut row = Self {
            location,
            cells: BTreeMap::new(),
        };
        for (column, value) in pairs {
            row.insert(column.into(), Cell::Text(value.into()))?;
        }
        Ok(row)
    }

    /// A row from column names and cells (lists stay lists, whatever they contain).
    pub fn from_cells<I, K>(location: Location, cells: I) -> Result<Self, RowError>
    where
        I: IntoIterator<Item = (K, Cell)>,
        K: Into<String>,
    {
        let mut row = Self {
            location,
            cells: BTreeMap::new(),
        };
        for (column, cell) in cells {
            row.insert(column.into(), cell)?;
        }
        Ok(row)
    }

    fn insert(&mut self, column: String, cell: Cell) -> Result<(), RowError> {
        let column = column.trim().to_owned();
        if !COLUMNS.contains(&column.as_str()) {
            return Err(self.error(
                &column,
                "is not a known column (docs/EMITTERS.md lists them)",
            ));
        }
        self.cells.insert(column, cell);
        Ok(())
    }

    fn error(&self, field: &str, problem: impl Into<String>) -> RowError {
        RowError {
            location: self.location,
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    /// The trimmed text of a column, or None when it is absent or empty.
    pub fn get(&self, column: &str) -> Option<&str> {
        match self.cells.get(column) {
            Some(Cell::Text(text)) if !text.trim().is_empty() => Some(text.trim()),
            _ => None,
        }
    }

    fn is_filled(&self, column: &str) -> bool {
        match self.cells.get(column) {
            Some(Cell::Text(text)) => !text.trim().is_empty(),
            Some(Cell::List(items)) => !items.is_empty(),
            None => false,
        }
    }

    fn text(&self, column: &str) -> Result<String, RowError> {
        match self.cells.get(column) {
            Some(Cell::List(_)) => Err(self.error(column, "must be text, not a list")),
            _ => self
                .get(column)
                .map(str::to_owned)
                .ok_or_else(|| self.error(column, "is required")),
        }
    }

    fn optional_text(&self, column: &str) -> Result<String, RowError> {
        if self.is_filled(column) {
            self.text(column)
        } else {
            Ok(String::new())
        }
    }

    /// A list column: a JSON array, or text split on `;`.
    fn list(&self, column: &str) -> Vec<String> {
        let items: Vec<String> = match self.cells.get(column) {
            Some(Cell::List(items)) => items.clone(),
            Some(Cell::Text(text)) => text.split(';').map(str::to_owned).collect(),
            None => vec![],
        };
        items
            .into_iter()
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    }

    fn date(&self, column: &str) -> Result<Date, RowError> {
        let text = self.text(column)?;
        Date::parse(&text)
            .ok_or_else(|| self.error(column, format!("{text:?} is not a date (YYYY-MM-DD)")))
    }

    fn optional_date(&self, column: &str) -> Result<Option<Date>, RowError> {
        if self.is_filled(column) {
            self.date(column).map(Some)
        } else {
            Ok(None)
        }
    }

    fn number(&self, column: &str) -> Result<f64, RowError> {
        let text = self.text(column)?;
        text.replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| self.error(column, format!("{text:?} is not a number")))
    }

    fn optional_number(&self, column: &str) -> Result<Option<f64>, RowError> {
        if self.is_filled(column) {
            self.number(column).map(Some)
        } else {
            Ok(None)
        }
    }

    fn boolean(&self, column: &str) -> Result<bool, RowError> {
        let text = self.text(column)?;
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(true),
            "false" | "no" | "n" | "0" => Ok(false),
            _ => Err(self.error(column, format!("{text:?} is not true or false"))),
        }
    }

    /// The schema enum value named in `column` (case, hyphens and spaces aside).
    fn choice<T: SchemaName>(&self, column: &str) -> Result<T, RowError> {
        let text = self.text(column)?;
        schema_value(&text).ok_or_else(|| {
            self.error(
                column,
                format!("{text:?} is not one of {}", T::schema_names().join(", ")),
            )
        })
    }

    fn links(&self, column: &str) -> Vec<proto::Link> {
        self.list(column)
            .into_iter()
            .map(|item| match item.split_once('|') {
                Some((title, url)) => build::link(title.trim(), url.trim()),
                None => build::link("", item),
            })
            .collect()
    }

    /// A list of sources, each `kind|title|url` (the URL may be left out: `speech|Title`).
    fn sources(&self, column: &str) -> Result<Vec<proto::Source>, RowError> {
        self.list(column)
            .into_iter()
            .map(|item| {
                let parts: Vec<&str> = item.splitn(3, '|').map(str::trim).collect();
                let kind = schema_value::<proto::SourceKind>(parts[0]).ok_or_else(|| {
                    self.error(
                        column,
                        format!(
                            "{item:?}: the kind {:?} is not one of {}",
                            parts[0],
                            proto::SourceKind::schema_names().join(", ")
                        ),
                    )
                })?;
                Ok(build::source(
                    kind,
                    parts.get(1).copied().unwrap_or(""),
                    parts.get(2).copied().unwrap_or(""),
                ))
            })
            .collect()
    }

    /// The row's kind.
    pub fn kind(&self) -> Result<&'static str, RowError> {
        let kind = self.text("kind")?.to_ascii_lowercase();
        KINDS
            .iter()
            .find(|(name, _)| *name == kind)
            .map(|(name, _)| *name)
            .ok_or_else(|| {
                let names: Vec<&str> = KINDS.iter().map(|(name, _)| *name).collect();
                self.error(
                    "kind",
                    format!("{kind:?} is not one of {}", names.join(", ")),
                )
            })
    }

    /// Refuse filled columns the row's kind does not use: a due date on an action row is a
    /// mistake worth hearing about, not something to drop silently.
    fn check_columns(&self, kind: &str) -> Result<(), RowError> {
        let used = KINDS
            .iter()
            .find(|(name, _)| *name == kind)
            .map(|(_, columns)| *columns)
            .unwrap_or(&[]);
        for column in self.cells.keys() {
            if self.is_filled(column)
                && !COMMON.contains(&column.as_str())
                && !used.contains(&column.as_str())
            {
                return Err(self.error(column, format!("is not used by {kind} rows")));
            }
        }
        Ok(())
    }
}

/// Rows of a CSV file with a header row.
pub fn read_csv(data: &[u8]) -> Result<Vec<Row>, RowError> {
    let file_error = |problem: String| RowError {
        location: Location::Row(1),
        field: String::new(),
        problem,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(data);
    let headers = reader
        .headers()
        .map_err(|error| file_error(format!("cannot read the header row: {error}")))?
        .clone();
    let mut rows = vec![];
    for (index, record) in reader.records().enumerate() {
        let location = Location::Row(index + 2);
        let record = record.map_err(|error| RowError {
            location,
            field: String::new(),
            problem: format!("not valid CSV: {error}"),
        })?;
        let pairs = headers
            .iter()
            .zip(record.iter())
            .filter(|(header, _)| !header.trim().is_empty());
        rows.push(Row::from_pairs(location, pairs)?);
    }
    Ok(rows)
}

/// Rows of a JSON array of objects, or of JSON lines (one object per line).
pub fn read_json(text: &str) -> Result<Vec<Row>, RowError> {
    if text.trim_start().starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|error| RowError {
                location: Location::Row(error.line()),
                field: String::new(),
                problem: format!("not valid JSON (line {}): {error}", error.line()),
            })?;
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| json_row(Location::Row(index + 1), item))
            .collect()
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                let location = Location::Row(index + 1);
                let item = serde_json::from_str(line).map_err(|error| RowError {
                    location,
                    field: String::new(),
                    problem: format!("not valid JSON: {error}"),
                })?;
                json_row(location, item)
            })
            .collect()
    }
}

fn json_row(location: Location, item: serde_json::Value) -> Result<Row, RowError> {
    let error = |field: &str, problem: &str| RowError {
        location,
        field: field.to_owned(),
        problem: problem.to_owned(),
    };
    let serde_json::Value::Object(object) = item else {
        return Err(error("", "must be a JSON object"));
    };
    let mut row = Row {
        location,
        cells: BTreeMap::new(),
    };
    for (column, value) in object {
        let cell = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => Cell::Text(text),
            serde_json::Value::Number(number) => Cell::Text(number.to_string()),
            serde_json::Value::Bool(flag) => Cell::Text(flag.to_string()),
            serde_json::Value::Array(items) => Cell::List(
                items
                    .into_iter()
                    .map(|item| json_list_item(item).ok_or_else(|| error(&column, "list items must be text (or, for evidence, {\"title\", \"url\"} objects)")))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(_) => return Err(error(&column, "must be text, a number, true/false or a list")),
        };
        row.insert(column, cell)?;
    }
    Ok(row)
}

fn json_list_item(item: serde_json::Value) -> Option<String> {
    match item {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Object(link) => {
            let url = link.get("url")?.as_str()?;
            let title = link.get("title").and_then(|t| t.as_str()).unwrap_or("");
            Some(format!("{title}|{url}"))
        }
        _ => None,
    }
}

/// An event read from a row, before it is sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct RowEvent {
    pub kind: Kind,
    /// The row's `event_id`, if it gave one.
    pub event_id: Option<String>,
    /// The row's `occurred_at`, if it gave one.
    pub occurred_at_ms: Option<i64>,
    /// The event's own date (`made_on`, `taken_on`, `reported_on`), if its kind has one.
    pub dated: Option<Date>,
}

/// Turn a row into an event body, checking every column.
pub fn row_event(row: &Row) -> Result<RowEvent, RowError> {
    let kind_name = row.kind()?;
    row.check_columns(kind_name)?;
    let event_id = row.get("event_id").map(str::to_owned);
    if let Some(id) = &event_id
        && !covenant_core::event::is_valid_event_id(id)
    {
        return Err(row.error("event_id", format!("{id:?} is neither a ULID nor a UUIDv7")));
    }
    let occurred_at_ms = match row.get("occurred_at") {
        Some(text) => Some(
            parse_timestamp(text)
                .ok_or_else(|| row.error("occurred_at", format!("{text:?} is not a date (YYYY-MM-DD), a UTC time (YYYY-MM-DDTHH:MM:SSZ) or milliseconds since 1970")))?,
        ),
        None => None,
    };
    let (kind, dated) = match kind_name {
        "commitment" => commitment(row)?,
        "amendment" => amendment(row)?,
        "withdrawal" => (
            build::Withdrawal::new(row.text("commitment_id")?, row.text("reason")?).into(),
            None,
        ),
        "action" => action(row)?,
        "outcome" => outcome(row)?,
        "assessment" => (assessment(row)?, None),
        "adoption" => {
            let adopted_on = row.date("adopted_on")?;
            (
                build::Adoption::new(row.text("commitment_id")?, adopted_on)
                    .note(row.optional_text("note")?)
                    .into(),
                Some(adopted_on),
            )
        }
        "retraction" => {
            let retracts = row.text("retracts")?;
            if !covenant_core::event::is_valid_event_id(&retracts) {
                return Err(row.error(
                    "retracts",
                    format!("{retracts:?} is not an event id (ULID or UUIDv7)"),
                ));
            }
            (
                build::Retraction::new(retracts, row.text("reason")?).into(),
                None,
            )
        }
        _ => unreachable!("Row::kind returns only known kinds"),
    };
    Ok(RowEvent {
        kind,
        event_id,
        occurred_at_ms,
        dated,
    })
}

fn commitment(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let made_on = row.date("made_on")?;
    let mut commitment = build::Commitment::new(
        row.text("commitment_id")?,
        row.text("title")?,
        row.text("text")?,
        made_on,
    )
    .themes(row.list("themes").into_iter().map(|t| t.to_lowercase()))
    .partners(row.list("partners"))
    .delivery_partners(row.list("delivery_partners"));
    for source in row.sources("sources")? {
        commitment = commitment.add_source(source);
    }
    for link in row.links("evidence") {
        commitment = commitment.evidence(link);
    }
    for item in row.list("indicators") {
        commitment = commitment.add_indicator(
            parse_indicator(&item).map_err(|problem| row.error("indicators", problem))?,
        );
    }
    if let Some(due_by) = row.optional_date("due_by")? {
        if due_by < made_on {
            return Err(row.error("due_by", format!("{due_by} is before made_on ({made_on})")));
        }
        commitment = commitment.due_by(due_by);
    }
    if row.is_filled("source_kind") || row.is_filled("source_url") || row.is_filled("source_title")
    {
        let kind = row.choice("source_kind")?;
        commitment = commitment.source(
            kind,
            row.optional_text("source_title")?,
            row.optional_text("source_url")?,
        );
    }
    let indicator_columns = [
        "indicator_measure",
        "indicator_unit",
        "indicator_higher_is_better",
        "indicator_baseline_value",
        "indicator_baseline_date",
        "indicator_target_value",
        "indicator_target_period",
    ];
    let target_has_comparator = row
        .get("indicator_target_value")
        .is_some_and(|text| text.replace(',', "").parse::<f64>().is_err());
    if row.is_filled("indicator_id") || row.is_filled("indicator_deadline") || target_has_comparator
    {
        // One named indicator from the single-indicator columns: its target may carry the
        // comparator (">=95", "at most 30000", "10..20").
        let (comparator, target, upper) = row
            .get("indicator_target_value")
            .map(parse_target)
            .transpose()
            .map_err(|problem| row.error("indicator_target_value", problem))?
            .ok_or_else(|| {
                row.error(
                    "indicator_target_value",
                    "is required for a named indicator",
                )
            })?;
        let id = row.get("indicator_id").unwrap_or(DEFAULT_INDICATOR_ID);
        let mut indicator = build::Indicator::named(
            id,
            row.text("indicator_measure")?,
            row.optional_text("indicator_unit")?,
            comparator,
            target,
        );
        if let Some(upper) = upper {
            indicator = indicator.upper(upper);
        }
        if let Some(baseline) = row.optional_number("indicator_baseline_value")? {
            indicator = indicator.baseline(baseline, row.optional_date("indicator_baseline_date")?);
        }
        if let Some(deadline) = row.optional_date("indicator_deadline")? {
            indicator = indicator.deadline(deadline);
        }
        if row.is_filled("indicator_target_period") {
            indicator = indicator.target(target, row.text("indicator_target_period")?);
        }
        return Ok((commitment.add_indicator(indicator).into(), Some(made_on)));
    }
    if indicator_columns.iter().any(|c| row.is_filled(c)) {
        let higher_is_better = if row.is_filled("indicator_higher_is_better") {
            row.boolean("indicator_higher_is_better")?
        } else {
            true
        };
        let mut indicator = build::Indicator::new(
            row.text("indicator_measure")?,
            row.optional_text("indicator_unit")?,
            higher_is_better,
        );
        if let Some(baseline) = row.optional_number("indicator_baseline_value")? {
            let on = row.optional_date("indicator_baseline_date")?;
            indicator = indicator.baseline(baseline, on);
        } else if row.is_filled("indicator_baseline_date") {
            return Err(row.error(
                "indicator_baseline_value",
                "is required with indicator_baseline_date",
            ));
        }
        if let Some(target) = row.optional_number("indicator_target_value")? {
            indicator = indicator.target(target, row.optional_text("indicator_target_period")?);
        }
        commitment = commitment.indicator(indicator);
    }
    Ok((commitment.into(), Some(made_on)))
}

fn amendment(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let mut amendment = build::Amendment::new(
        row.text("commitment_id")?,
        row.choice("class")?,
        row.text("rationale")?,
    );
    if row.is_filled("field") || row.is_filled("new_value") {
        let (field, value) = amended_change(row, &row.text("field")?, row.text("new_value")?)?;
        amendment = amendment.change_indicator(row.optional_text("indicator_id")?, field, value);
    }
    for item in row.list("changes") {
        // `field=value` or `field:indicator=value`; the value may itself hold '='.
        let Some((field, value)) = item.split_once('=') else {
            return Err(row.error("changes", format!("{item:?} is not field=value")));
        };
        let (field, indicator) = field.trim().split_once(':').unwrap_or((field.trim(), ""));
        let (field, value) = amended_change(row, field, value.trim().to_owned())?;
        amendment = amendment.change_indicator(indicator.trim(), field, value);
    }
    if !row.is_filled("field") && !row.is_filled("changes") {
        return Err(row.error("changes", "is required (or field and new_value)"));
    }
    let effective_on = row.optional_date("effective_on")?;
    if let Some(on) = effective_on {
        amendment = amendment.effective_on(on);
    }
    for source in row.sources("sources")? {
        amendment = amendment.add_source(source);
    }
    Ok((amendment.into(), effective_on))
}

/// One amended field and its new value, checked as far as a row can be.
fn amended_change(
    row: &Row,
    field_name: &str,
    new_value: String,
) -> Result<(proto::AmendedField, String), RowError> {
    let Some(field) = schema_value::<proto::AmendedField>(field_name) else {
        return Err(row.error(
            "field",
            format!(
                "{field_name:?} is not one of {}",
                proto::AmendedField::schema_names().join(", ")
            ),
        ));
    };
    match field {
        proto::AmendedField::DueBy if Date::parse(&new_value).is_none() => {
            return Err(row.error(
                "new_value",
                format!("{new_value:?} is not a date (YYYY-MM-DD), as a due_by change needs"),
            ));
        }
        proto::AmendedField::TargetValue if !new_value.parse::<f64>().is_ok_and(f64::is_finite) => {
            return Err(row.error(
                "new_value",
                format!("{new_value:?} is not a number, as a target_value change needs"),
            ));
        }
        _ => {}
    }
    Ok((field, new_value))
}

fn action(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let mut commitment_ids = row.list("commitment_ids");
    commitment_ids.extend(row.get("commitment_id").map(str::to_owned));
    if commitment_ids.is_empty() {
        return Err(row.error(
            "commitment_ids",
            "is required (one or more commitment ids, separated by ;)",
        ));
    }
    let taken_on = row.date("taken_on")?;
    let mut action = build::Action::new(
        row.text("action_id")?,
        commitment_ids,
        row.choice("type")?,
        taken_on,
        row.text("description")?,
    )
    .partners(row.list("partners"));
    if row.is_filled("money_amount") || row.is_filled("money_stage") {
        let currency = row
            .get("money_currency")
            .unwrap_or("GBP")
            .to_ascii_uppercase();
        let amount = row.text("money_amount")?;
        let minor = parse_money(&amount).ok_or_else(|| {
            row.error(
                "money_amount",
                format!("{amount:?} is not an amount (for example 1250000 or 1,250,000.50)"),
            )
        })?;
        let stage = row.choice("money_stage")?;
        action = action.money(build::Money::new(minor, currency, stage));
    } else if row.is_filled("money_currency") {
        return Err(row.error("money_amount", "is required with money_currency"));
    }
    for link in row.links("evidence") {
        action = action.evidence(link);
    }
    Ok((action.into(), Some(taken_on)))
}

fn outcome(row: &Row) -> Result<(Kind, Option<Date>), RowError> {
    let reported_on = row.date("reported_on")?;
    let mut outcome = build::Outcome::new(
        row.text("commitment_id")?,
        row.choice("verdict")?,
        reported_on,
        row.optional_text("summary")?,
    )
    .lessons(row.optional_text("lessons")?);
    if let Some(actual) = row.optional_number("indicator_actual")? {
        outcome = outcome.indicator_actual(actual, row.optional_text("actual_period")?);
    }
    for item in row.list("measurements") {
        // `indicator|value|measured_on`; the date defaults to reported_on.
        let parts: Vec<&str> = item.split('|').map(str::trim).collect();
        let bad = || {
            row.error(
                "measurements",
                format!("{item:?} is not indicator|value|YYYY-MM-DD"),
            )
        };
        let (indicator, value, on) = match parts.as_slice() {
            [indicator, value] => (*indicator, *value, reported_on),
            [indicator, value, on] => (*indicator, *value, Date::parse(on).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        let value = value
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(bad)?;
        outcome = outcome.measurement(indicator, value, on);
    }
    for link in row.links("evidence") {
        outcome = outcome.evidence(link);
    }
    Ok((outcome.into(), Some(reported_on)))
}

fn assessment(row: &Row) -> Result<Kind, RowError> {
    // Without an outcome event id the assessment is of the latest outcome.
    let outcome_event_id = row.optional_text("outcome_event_id")?;
    if !outcome_event_id.is_empty() && !covenant_core::event::is_valid_event_id(&outcome_event_id) {
        return Err(row.error(
            "outcome_event_id",
            format!("{outcome_event_id:?} is not an event id (ULID or UUIDv7)"),
        ));
    }
    let mut assessment = build::Assessment::new(
        row.text("commitment_id")?,
        outcome_event_id,
        row.choice("stance")?,
        row.text("summary")?,
    );
    if row.is_filled("assessed_verdict") {
        assessment = assessment.verdict(row.choice("assessed_verdict")?);
    }
    for link in row.links("evidence") {
        assessment = assessment.evidence(link);
    }
    Ok(assessment.into())
}

/// Seal a row as `speaker`: assign its event id and time, sign, and check every field, naming
/// the column on failure. `now_ms` caps defaulted times so none lies in the future.
pub fn seal_row(speaker: &Speaker, row: &Row, now_ms: i64) -> Result<SealedEvent, RowError> {
    if let Some(actor) = row.get("actor")
        && actor != speaker.actor()
    {
        return Err(row.error(
            "actor",
            format!(
                "{actor} is not the actor this key speaks for ({})",
                speaker.actor()
            ),
        ));
    }
    let event = row_event(row)?;
    let occurred_at_ms = event.occurred_at_ms.unwrap_or_else(|| match event.dated {
        Some(date) => build::start_of_day_ms(date).min(now_ms),
        None => now_ms,
    });
    let event_id = match &event.event_id {
        Some(id) => id.clone(),
        None => {
            let body = prost::Message::encode_to_vec(&proto::EventBody {
                kind: Some(event.kind.clone()),
            });
            let entropy = [speaker.actor().as_bytes(), b"\n", &body].concat();
            speaker.derived_event_id(occurred_at_ms, &entropy)
        }
    };
    speaker
        .seal_with_id(&event_id, event.kind, occurred_at_ms)
        .map_err(|error| match error {
            crate::EmitError::InvalidEvent(DecodeError::Field(field)) => {
                row.error(&column_of(&field.field), field.problem)
            }
            other => row.error("", other.to_string()),
        })
}

/// The column a core field path refers to: `commitment_made.indicator.measure` ->
/// `indicator_measure`, `action_recorded.money.amount_minor` -> `money_amount`.
fn column_of(field_path: &str) -> String {
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

/// A target as people write it: `>=95`, `at least 95`, `<=30000`, `at most 30,000`, `=5`,
/// `exactly 5`, `10..20` or `between 10 and 20`. A bare number is "at least".
pub fn parse_target(text: &str) -> Result<(proto::Comparator, f64, Option<f64>), String> {
    let number = |text: &str| {
        text.trim()
            .trim_end_matches('%')
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("{text:?} is not a number"))
    };
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let between = lower
        .strip_prefix("between ")
        .and_then(|rest| rest.split_once(" and "))
        .or_else(|| lower.split_once(".."));
    if let Some((low, high)) = between {
        let (low, high) = (number(low)?, number(high)?);
        if high < low {
            return Err(format!("{text:?}: the upper bound is below the lower"));
        }
        return Ok((proto::Comparator::Between, low, Some(high)));
    }
    for (prefix, comparator) in [
        (">=", proto::Comparator::AtLeast),
        ("at least ", proto::Comparator::AtLeast),
        ("<=", proto::Comparator::AtMost),
        ("at most ", proto::Comparator::AtMost),
        ("no more than ", proto::Comparator::AtMost),
        ("exactly ", proto::Comparator::Exactly),
        ("=", proto::Comparator::Exactly),
    ] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return Ok((comparator, number(rest)?, None));
        }
    }
    Ok((proto::Comparator::AtLeast, number(text)?, None))
}

/// One item of an `indicators` list: `id|measure|target|unit`, the target as [`parse_target`]
/// reads it (`homes|net additional dwellings|>=1500000|homes`).
fn parse_indicator(item: &str) -> Result<build::Indicator, String> {
    let parts: Vec<&str> = item.split('|').map(str::trim).collect();
    let [id, measure, target, rest @ ..] = parts.as_slice() else {
        return Err(format!("{item:?} is not id|measure|target|unit"));
    };
    let (comparator, value, upper) = parse_target(target)?;
    let mut indicator = build::Indicator::named(
        *id,
        *measure,
        rest.first().copied().unwrap_or(""),
        comparator,
        value,
    );
    if let Some(upper) = upper {
        indicator = indicator.upper(upper);
    }
    Ok(indicator)
}

/// An amount in major units (pounds), with optional thousands commas, a leading '£' and up to
/// two decimal places, as minor units (pence). Exact: no floating point.
pub fn parse_money(text: &str) -> Option<i64> {
    let cleaned: String = text
        .trim()
        .trim_start_matches('£')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, fraction) = match cleaned.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let pence: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(pence)
}

/// `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DDTHH:MM:SS[.fff]Z`, or milliseconds since 1970.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let date = Date::parse(text.get(..10)?)?;
    let day_ms = build::start_of_day_ms(date);
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(day_ms);
    }
    let time = rest.strip_prefix(['T', ' '])?.strip_suffix(['Z', 'z'])?;
    let (clock, millis) = match time.split_once('.') {
        Some((clock, fraction)) => {
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let millis: i64 = format!("{:0<3}", &fraction[..fraction.len().min(3)])
                .parse()
                .ok()?;
            (clock, millis)
        }
        None => (time, 0),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [hours, minutes, seconds] = parts.as_slice() else {
        return None;
    };
    let field = |text: &str, max: i64| -> Option<i64> {
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
            .filter(|value| *value <= max)
    };
    let seconds_of_day = field(hours, 23)? * 3600 + field(minutes, 59)? * 60 + field(seconds, 59)?;
    Some(day_ms + seconds_of_day * 1000 + millis)
}

/// The id a single named indicator gets when its row names none.
pub const DEFAULT_INDICATOR_ID: &str = "main";

/// The schema enum value `text` names, read leniently: case, surrounding space, and hyphens or
/// spaces for underscores do not matter (`Partly delivered` is `partly_delivered`).
fn schema_value<T: SchemaName>(text: &str) -> Option<T> {
    T::from_schema_name(&text.trim().to_ascii_lowercase().replace(['-', ' '], "_"))
}

#[cfg(test)]
mod tests;
