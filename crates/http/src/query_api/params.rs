//! Query-string parameters: each endpoint names the ones it takes, and anything else, or any
//! bad value, is a 400 that names the parameter.

use super::ApiError;
use covenant_core::event::{Date, is_valid_id};
use covenant_query::{AsOf, CommitmentFilter, Flag, Status};
use std::collections::BTreeMap;

/// Largest page of a JSON list.
pub const MAX_LIMIT: usize = 500;
/// Page size of a JSON list when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest list inside a scorecard.
pub const MAX_LIST_LIMIT: usize = 1_000;
pub const DEFAULT_LIST_LIMIT: usize = 50;

/// The parameter every query takes: the least log size this replica must have projected.
pub const MIN_SIZE: &str = "min_size";

/// What a query asks of the projections: a point, and how far they must have come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub as_of: AsOf,
    /// Answer only when at least this many log entries are projected; `None`: any.
    pub min_size: Option<u64>,
}

/// The parameters of one request, checked against what the endpoint takes.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// The parameters in `raw`, each of which must be in `allowed` or be [`MIN_SIZE`], which
    /// every query takes.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut values = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if !allowed.contains(&name.as_ref()) && name != MIN_SIZE {
                return Err(ApiError::bad_parameter(
                    &name,
                    format!(
                        "unknown parameter {name:?}; this endpoint takes {}, {MIN_SIZE}",
                        allowed.join(", ")
                    ),
                ));
            }
            if values.insert(name.to_string(), value.to_string()).is_some() {
                return Err(ApiError::bad_parameter(
                    &name,
                    format!("parameter {name:?} is given more than once"),
                ));
            }
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every parameter, for building the link to a next page.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `as_of` and `recorded`: the two time axes (docs/API.md).
    pub fn as_of(&self) -> Result<AsOf, ApiError> {
        AsOf::parse(self.get("as_of"), self.get("recorded"))
            .map_err(|(name, message)| ApiError::bad_parameter(name, message))
    }

    /// The point asked for and the least log size the answer must come from.
    pub fn asked(&self) -> Result<Asked, ApiError> {
        Ok(Asked {
            as_of: self.as_of()?,
            min_size: self.min_size()?,
        })
    }

    fn min_size(&self) -> Result<Option<u64>, ApiError> {
        self.get(MIN_SIZE)
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    ApiError::bad_parameter(
                        MIN_SIZE,
                        format!("{MIN_SIZE} {text:?} must be a whole number (a log size)"),
                    )
                })
            })
            .transpose()
    }

    pub fn date(&self, name: &str) -> Result<Option<Date>, ApiError> {
        self.get(name)
            .map(|text| {
                Date::parse(text).ok_or_else(|| {
                    ApiError::bad_parameter(
                        name,
                        format!("{name} {text:?} is not a date (YYYY-MM-DD)"),
                    )
                })
            })
            .transpose()
    }

    pub fn number(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        match text.parse::<usize>() {
            Ok(value) if (1..=max).contains(&value) => Ok(value),
            _ => Err(ApiError::bad_parameter(
                name,
                format!("{name} {text:?} must be a whole number from 1 to {max}"),
            )),
        }
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        self.number("limit", DEFAULT_LIMIT, MAX_LIMIT)
    }

    pub fn list_limit(&self) -> Result<usize, ApiError> {
        self.number("list_limit", DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)
    }

    /// An identifier-shaped parameter (actor, cursor).
    pub fn id(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.get(name)
            .map(|text| {
                if is_valid_id(text) {
                    Ok(text.to_owned())
                } else {
                    Err(ApiError::bad_parameter(
                        name,
                        format!("{name} {text:?} is not an id (1-128 characters of A-Z a-z 0-9 . _ : / -)"),
                    ))
                }
            })
            .transpose()
    }

    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            Some("") => Err(ApiError::bad_parameter(name, format!("{name} is empty"))),
            Some(text) => Ok(Some(text.to_owned())),
            None => Ok(None),
        }
    }

    pub fn one_of(&self, name: &str, choices: &[&str]) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            Some(text) if choices.contains(&text) => Ok(Some(text.to_owned())),
            Some(text) => Err(ApiError::bad_parameter(
                name,
                format!("{name} {text:?} is not one of {}", choices.join(", ")),
            )),
            None => Ok(None),
        }
    }

    /// A schema enum value by its name (`kind=nhs_body`), or a 400 listing the names.
    pub fn schema_value<T: covenant_core::SchemaName>(
        &self,
        name: &str,
    ) -> Result<Option<T>, ApiError> {
        Ok(self
            .one_of(name, &T::schema_names())?
            .and_then(|text| T::from_schema_name(&text)))
    }

    /// Whether CSV was asked for with `format=csv`.
    pub fn wants_csv(&self) -> Result<bool, ApiError> {
        Ok(self.one_of("format", &["json", "csv"])?.as_deref() == Some("csv"))
    }

    pub fn commitment_filter(&self) -> Result<CommitmentFilter, ApiError> {
        let status = match self.get("status") {
            None => None,
            Some(text) => Some(Status::parse(text).ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::bad_parameter(
                    "status",
                    format!("status {text:?} is not one of {}", names.join(", ")),
                )
            })?),
        };
        let flag = self
            .one_of("flag", &Flag::NAMES)?
            .and_then(|name| Flag::parse(&name));
        let words = match self.text("q")? {
            Some(query) => {
                let words = covenant_query::words(&query);
                if words.is_empty() {
                    return Err(ApiError::bad_parameter(
                        "q",
                        format!("q {query:?} has no letters or digits to search for"),
                    ));
                }
                words
            }
            None => Default::default(),
        };
        let filter = CommitmentFilter {
            actor: self.id("actor")?,
            // Themes are lower-case by rule (docs/SPEC.md), so any spelling finds them.
            theme: self.text("theme")?.map(|theme| theme.to_lowercase()),
            status,
            words,
            made_from: self.date("made_from")?,
            made_to: self.date("made_to")?,
            due_from: self.date("due_from")?,
            due_to: self.date("due_to")?,
            flag,
        };
        for (from, to, name) in [
            (filter.made_from, filter.made_to, "made_to"),
            (filter.due_from, filter.due_to, "due_to"),
        ] {
            if let (Some(from), Some(to)) = (from, to)
                && to < from
            {
                return Err(ApiError::bad_parameter(
                    name,
                    format!("{name} {to} is before the start of the range ({from})"),
                ));
            }
        }
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        Params::parse(Some(raw), allowed)
    }

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        let error = parse("acter=x", &["actor"]).unwrap_err();
        assert_eq!(error.detail.parameter.as_deref(), Some("acter"));
        let error = parse("actor=a&actor=b", &["actor"]).unwrap_err();
        assert!(
            error.detail.message.contains("more than once"),
            "{}",
            error.detail.message
        );
    }

    #[test]
    fn as_of_is_a_size_or_a_date() {
        let params = |raw: &str| parse(raw, &["as_of", "recorded"]).unwrap();
        assert_eq!(params("as_of=42").as_of().unwrap(), AsOf::size(42));
        assert_eq!(
            params("as_of=2026-03-01").as_of().unwrap(),
            AsOf::date(Date::parse("2026-03-01").unwrap())
        );
        assert_eq!(params("").as_of().unwrap(), AsOf::LATEST);
        let day = Date::parse("2024-12-04").unwrap();
        assert_eq!(
            params("as_of=2024-12-04&recorded=412").as_of().unwrap(),
            AsOf {
                world: Some(day),
                recorded: covenant_query::Recorded::Size(412)
            }
        );
        assert_eq!(
            params("recorded=2024-12-04").as_of().unwrap(),
            AsOf::recorded_on(day)
        );
        for bad in [
            "as_of=42&recorded=40",
            "recorded=soon",
            "recorded=2026-02-30",
        ] {
            let error = params(bad).as_of().unwrap_err();
            assert_eq!(error.detail.parameter.as_deref(), Some("recorded"), "{bad}");
        }
        for bad in [
            "as_of=yesterday",
            "as_of=2026-02-30",
            "as_of=-1",
            "as_of=99999999999999999999999",
        ] {
            let error = params(bad).as_of().unwrap_err();
            assert_eq!(error.detail.parameter.as_deref(), Some("as_of"), "{bad}");
        }
    }

    #[test]
    fn filters_reject_bad_values_by_name() {
        let allowed = [
            "status",
            "flag",
            "q",
            "made_from",
            "made_to",
            "limit",
            "actor",
        ];
        for (raw, name) in [
            ("status=done", "status"),
            ("flag=shiny", "flag"),
            ("q=%20--%20", "q"),
            ("made_from=2026-13-01", "made_from"),
            ("made_from=2026-05-01&made_to=2026-04-01", "made_to"),
            ("actor=has%20space", "actor"),
        ] {
            let error = parse(raw, &allowed)
                .unwrap()
                .commitment_filter()
                .unwrap_err();
            assert_eq!(error.detail.parameter.as_deref(), Some(name), "{raw}");
        }
        for raw in ["limit=0", "limit=501", "limit=ten"] {
            let error = parse(raw, &allowed).unwrap().limit().unwrap_err();
            assert_eq!(error.detail.parameter.as_deref(), Some("limit"), "{raw}");
        }
    }
}
