//! The annual covenant report, laid out as a PDF.
//!
//! [`report_pdf`] takes the report as its JSON (what the report's web page serves at
//! `.../report.json`) and returns a printable A4 PDF: the figures of the year against the year
//! before, each a link to the web page that lists the events it counts; the goalposts moved, the
//! assessors' disputes and the largest changes; the signed checkpoint the report is computed as
//! of and how to check it; and an appendix listing every counted event, so that a reader can
//! check the figures on paper. The layout is done by [Typst](https://typst.app), used as a Rust
//! library: a real typesetting engine (line breaking, tables that break across pages, running
//! footers, links) driven by a template, `src/report.typ`, that a reader of the report can
//! read and change without knowing Rust, instead of hand-placed PDF drawing operators. Typst
//! runs in-process with no external binary and no network, and its fonts come embedded from
//! `typst-assets`, so the same report gives the same bytes on every machine.

#![forbid(unsafe_code)]

mod world;

use typst::WorldExt;
use typst::diag::{Severity, SourceDiagnostic};
use typst::foundations::{Datetime, Smart};
use typst::layout::PagedDocument;
use typst_pdf::PdfOptions;

use crate::world::ReportWorld;
use covenant_core::event::Date;
use covenant_query::report::{Report, ReportScope};

/// The template: reads `json("/report.json")` (the report as `report.json` serves it) and
/// `sys.inputs.page_url`.
const TEMPLATE: &str = include_str!("report.typ");

/// What went wrong laying out a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// A field's value cannot be laid out (a period end that is not a date, say).
    #[error("report field {field} is invalid: {reason}")]
    Field { field: String, reason: String },
    /// The page URL the figures link to is not an absolute URL.
    #[error("page url {url:?} is not an absolute http(s) url")]
    PageUrl { url: String },
    /// Typst refused the template or the data; `location` is `report.typ:LINE:COLUMN` where
    /// it can be told.
    #[error("typst {stage} failed at {location}: {message}")]
    Typst {
        stage: &'static str,
        message: String,
        location: String,
    },
}

/// Lay out the report as a PDF. `page_url` is the absolute URL of the report's web page; each
/// figure links to `{page_url}#figure-{key}` (`#figure-money_spent-GBP` for money), where the
/// events it counts are listed.
pub fn report_pdf(report: &Report, page_url: &str) -> Result<Vec<u8>, PdfError> {
    render(TEMPLATE, report, page_url).map(|rendered| rendered.pdf)
}

struct Rendered {
    pdf: Vec<u8>,
    /// Typst's warnings (an unknown font, say); the tests hold the template to none.
    #[cfg_attr(not(test), allow(dead_code))]
    warnings: Vec<String>,
}

fn render(template: &str, report: &Report, page_url: &str) -> Result<Rendered, PdfError> {
    let is_absolute = ["https://", "http://"]
        .iter()
        .any(|scheme| page_url.len() > scheme.len() && page_url.starts_with(scheme));
    if !is_absolute || page_url.contains('#') || page_url.chars().any(char::is_whitespace) {
        return Err(PdfError::PageUrl {
            url: page_url.to_owned(),
        });
    }
    let period_end = Date::parse(&report.period_end).ok_or_else(|| PdfError::Field {
        field: "period_end".into(),
        reason: format!("{:?} is not a YYYY-MM-DD date", report.period_end),
    })?;
    let (year, month, day) = period_end.year_month_day();
    // Serialising plain data into a Vec cannot fail.
    let json = serde_json::to_vec(report).expect("a report serialises to JSON");
    let world = ReportWorld::new(
        template,
        json,
        page_url,
        Datetime::from_ymd(year, month as u8, day as u8),
    );

    let compiled = typst::compile::<PagedDocument>(&world);
    let warnings = compiled
        .warnings
        .iter()
        .map(|warning| describe(&world, warning))
        .collect();
    let document = compiled
        .output
        .map_err(|errors| typst_error(&world, "layout", &errors))?;
    // A stable document identifier, so that the same report gives the same bytes.
    let ident = match &report.scope {
        ReportScope::Government => format!("covenant-report/government/{}", report.year),
        ReportScope::Actor { actor } => {
            format!("covenant-report/actor/{}/{}", actor.id, report.year)
        }
    };
    let options = PdfOptions {
        ident: Smart::Custom(&ident),
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options)
        .map_err(|errors| typst_error(&world, "export", &errors))?;
    // Typst memoises layout across calls; drop what the last few reports did not reuse so a
    // long-running server does not grow without bound.
    typst::comemo::evict(10);
    Ok(Rendered { pdf, warnings })
}

fn typst_error(world: &ReportWorld, stage: &'static str, errors: &[SourceDiagnostic]) -> PdfError {
    let first = errors
        .iter()
        .find(|diagnostic| diagnostic.severity == Severity::Error)
        .or(errors.first());
    let Some(first) = first else {
        return PdfError::Typst {
            stage,
            message: "no diagnostic given".to_owned(),
            location: "unknown".to_owned(),
        };
    };
    let mut message = first.message.to_string();
    for hint in &first.hints {
        message.push_str("; hint: ");
        message.push_str(hint);
    }
    if errors.len() > 1 {
        message.push_str(&format!(" (and {} more)", errors.len() - 1));
    }
    PdfError::Typst {
        stage,
        message,
        location: location(world, first),
    }
}

/// `report.typ:LINE:COLUMN` (1-based) of a diagnostic, or `unknown`.
fn location(world: &ReportWorld, diagnostic: &SourceDiagnostic) -> String {
    let source = world.main_source();
    let in_template = diagnostic.span.id() == Some(source.id());
    let place = in_template
        .then(|| world.range(diagnostic.span))
        .flatten()
        .and_then(|range| source.lines().byte_to_line_column(range.start));
    match place {
        Some((line, column)) => format!("report.typ:{}:{}", line + 1, column + 1),
        None => match diagnostic.span.id() {
            Some(id) => id.vpath().as_rootless_path().display().to_string(),
            None => "unknown".to_owned(),
        },
    }
}

fn describe(world: &ReportWorld, diagnostic: &SourceDiagnostic) -> String {
    format!("{} at {}", diagnostic.message, location(world, diagnostic))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE_JSON: &[u8] = include_bytes!("../tests/data/dcms-2025.json");
    const PAGE_URL: &str = "https://covenant.example/actors/dcms/report/2025";

    fn sample() -> Report {
        serde_json::from_slice(SAMPLE_JSON).expect("the sample is a report")
    }

    #[test]
    fn the_template_lays_out_without_warnings() {
        let rendered = render(TEMPLATE, &sample(), PAGE_URL).expect("sample renders");
        assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    }

    #[test]
    fn a_template_error_names_its_line_and_column() {
        let template = "#let report = json(\"/report.json\")\n\nHello #report.no_such_field\n";
        let error = render(template, &sample(), PAGE_URL)
            .err()
            .expect("a missing key is an error");
        match error {
            PdfError::Typst {
                stage,
                location,
                message,
                ..
            } => {
                assert_eq!(stage, "layout");
                assert_eq!(location, "report.typ:3:15", "{message}");
                assert!(message.contains("no_such_field"), "{message}");
            }
            other => panic!("expected a typst error, got {other:?}"),
        }
    }

    #[test]
    fn the_page_url_must_be_absolute() {
        for url in [
            "",
            "/actors/dcms/report/2025",
            "https://",
            "https://x/#frag",
        ] {
            assert!(
                matches!(
                    render(TEMPLATE, &sample(), url),
                    Err(PdfError::PageUrl { .. })
                ),
                "{url:?}"
            );
        }
    }
}
