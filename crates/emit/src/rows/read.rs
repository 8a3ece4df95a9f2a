//! Reading CSV files, JSON arrays and JSON lines into rows, numbered as error messages show them.

use super::error::{Location, RowError};
use super::row::{Cell, Row};

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
    let mut row = Row::empty(location);
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
