//! A row: one event's cells by column, read as text, lists, dates, numbers, booleans, schema enum
//! values, links and sources, with errors that name the column.

use super::columns::{COLUMNS, COMMON, KINDS};
use super::error::{Location, RowError};
use super::values::schema_value;
use crate::build;
use covenant_core::SchemaName;
use covenant_core::event::Date;
use covenant_core::proto;
use std::collections::BTreeMap;

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

impl Row {
    /// A row from column names and text values (for example from command-line flags).
    pub fn from_pairs<I, K, V>(location: Location, pairs: I) -> Result<Self, RowError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut row = Self::empty(location);
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
        let mut row = Self::empty(location);
        for (column, cell) in cells {
            row.insert(column.into(), cell)?;
        }
        Ok(row)
    }

    /// A row with no cells yet, to fill with [`Row::insert`].
    pub(super) fn empty(location: Location) -> Self {
        Self {
            location,
            cells: BTreeMap::new(),
        }
    }

    pub(super) fn insert(&mut self, column: String, cell: Cell) -> Result<(), RowError> {
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

    pub(super) fn error(&self, field: &str, problem: impl Into<String>) -> RowError {
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

    pub(super) fn is_filled(&self, column: &str) -> bool {
        match self.cells.get(column) {
            Some(Cell::Text(text)) => !text.trim().is_empty(),
            Some(Cell::List(items)) => !items.is_empty(),
            None => false,
        }
    }

    pub(super) fn text(&self, column: &str) -> Result<String, RowError> {
        match self.cells.get(column) {
            Some(Cell::List(_)) => Err(self.error(column, "must be text, not a list")),
            _ => self.get(column).map(str::to_owned).ok_or_else(|| {
                let missing = match (self.cells.contains_key(column), self.location) {
                    (true, _) => "is required, and this row leaves it empty",
                    (false, Location::Flags) => "is required",
                    (false, Location::Row(_)) => "is required, and this row has no such column",
                };
                self.error(column, missing)
            }),
        }
    }

    pub(super) fn optional_text(&self, column: &str) -> Result<String, RowError> {
        if self.is_filled(column) {
            self.text(column)
        } else {
            Ok(String::new())
        }
    }

    /// A list column: a JSON array, or text split on `;`.
    pub(super) fn list(&self, column: &str) -> Vec<String> {
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

    pub(super) fn date(&self, column: &str) -> Result<Date, RowError> {
        let text = self.text(column)?;
        Date::parse(&text)
            .ok_or_else(|| self.error(column, format!("{text:?} is not a date (YYYY-MM-DD)")))
    }

    pub(super) fn optional_date(&self, column: &str) -> Result<Option<Date>, RowError> {
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

    pub(super) fn optional_number(&self, column: &str) -> Result<Option<f64>, RowError> {
        if self.is_filled(column) {
            self.number(column).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(super) fn boolean(&self, column: &str) -> Result<bool, RowError> {
        let text = self.text(column)?;
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(true),
            "false" | "no" | "n" | "0" => Ok(false),
            _ => Err(self.error(column, format!("{text:?} is not true or false"))),
        }
    }

    /// The schema enum value named in `column` (case, hyphens and spaces aside).
    pub(super) fn choice<T: SchemaName>(&self, column: &str) -> Result<T, RowError> {
        let text = self.text(column)?;
        schema_value(&text).ok_or_else(|| {
            self.error(
                column,
                format!("{text:?} is not one of {}", T::schema_names().join(", ")),
            )
        })
    }

    pub(super) fn links(&self, column: &str) -> Vec<proto::Link> {
        self.list(column)
            .into_iter()
            .map(|item| match item.split_once('|') {
                Some((title, url)) => build::link(title.trim(), url.trim()),
                None => build::link("", item),
            })
            .collect()
    }

    /// A list of sources, each `kind|title|url` (the URL may be left out: `speech|Title`).
    pub(super) fn sources(&self, column: &str) -> Result<Vec<proto::Source>, RowError> {
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
    pub(super) fn check_columns(&self, kind: &str) -> Result<(), RowError> {
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
