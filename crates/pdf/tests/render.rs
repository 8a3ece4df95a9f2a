//! Renders the sample reports and reads them back with poppler: every page rasterised (not
//! blank), the page count, the text (the figures as a reader sees them) and the links.

use std::path::{Path, PathBuf};
use std::process::Command;

use covenant_pdf::{PdfError, report_pdf};
use covenant_query::report::Report;

const DCMS: &[u8] = include_bytes!("data/dcms-2025.json");
const GOVERNMENT: &[u8] = include_bytes!("data/government-2025.json");
const DCMS_PAGE: &str = "https://covenant.example/actors/dcms/report/2025";
const GOVERNMENT_PAGE: &str = "https://covenant.example/report/2025";

/// A directory of its own for one test, removed when dropped. (Not the tempfile crate: as a
/// dev-dependency it changes the features of crates deep under typst and so makes
/// `cargo test -p covenant-pdf` build typst a second time.)
struct TemporaryDirectory(PathBuf);

impl TemporaryDirectory {
    fn new(name: &str) -> TemporaryDirectory {
        let path = std::env::temp_dir().join(format!("covenant-pdf-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TemporaryDirectory(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A rendered report written to its own temporary directory, for poppler to read.
struct Rendered {
    directory: TemporaryDirectory,
    pdf: PathBuf,
}

/// A sample report, as `report.json` serves it.
fn report(json: &[u8]) -> Report {
    serde_json::from_slice(json).expect("the sample is a report")
}

fn render(name: &str, report: &Report, page_url: &str) -> Rendered {
    let bytes = report_pdf(report, page_url).expect("the sample report lays out");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let directory = TemporaryDirectory::new(name);
    let pdf = directory.path().join("report.pdf");
    std::fs::write(&pdf, bytes).expect("write the PDF");
    Rendered { directory, pdf }
}

/// Runs a poppler tool; a missing one is a failure that says how to install it.
fn poppler(tool: &str, args: &[&str], pdf: &Path, args_after: &[&str]) -> String {
    let output = match Command::new(tool)
        .args(args)
        .arg(pdf)
        .args(args_after)
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "{tool} is not installed: run scripts/ensure-poppler.sh (Debian's poppler-utils)"
        ),
        Err(error) => panic!("run {tool}: {error}"),
    };
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("poppler prints UTF-8")
}

fn text_of(rendered: &Rendered) -> String {
    poppler(
        "pdftotext",
        &["-layout", "-enc", "UTF-8"],
        &rendered.pdf,
        &["-"],
    )
}

/// The text of one page (1-based).
fn text_of_page(rendered: &Rendered, page: usize) -> String {
    let page = page.to_string();
    let args = ["-layout", "-enc", "UTF-8", "-f", &page, "-l", &page];
    poppler("pdftotext", &args, &rendered.pdf, &["-"])
}

/// A greyscale page image from `pdftoppm -gray` (binary PGM, P5, 8 bits).
struct Page {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Page {
    fn parse(bytes: &[u8]) -> Page {
        // Header: "P5", width, height, maxval, each separated by whitespace, then one
        // whitespace byte and the pixels.
        let mut fields = Vec::new();
        let mut position = 0;
        while fields.len() < 4 {
            while bytes[position].is_ascii_whitespace() {
                position += 1;
            }
            let start = position;
            while !bytes[position].is_ascii_whitespace() {
                position += 1;
            }
            fields.push(std::str::from_utf8(&bytes[start..position]).expect("ASCII header"));
        }
        assert_eq!(fields[0], "P5", "pdftoppm -gray writes binary PGM");
        assert_eq!(fields[3], "255", "8-bit grey");
        let width: usize = fields[1].parse().expect("width");
        let height: usize = fields[2].parse().expect("height");
        let pixels = bytes[position + 1..].to_vec();
        assert_eq!(pixels.len(), width * height, "whole image");
        Page {
            width,
            height,
            pixels,
        }
    }

    /// The share of pixels that carry ink (darker than light grey).
    fn inked(&self) -> f64 {
        let dark = self.pixels.iter().filter(|&&grey| grey < 160).count();
        dark as f64 / (self.width * self.height) as f64
    }
}

/// Every page as a greyscale image at 40 dpi.
fn pages_of(rendered: &Rendered) -> Vec<Page> {
    let prefix = rendered.directory.path().join("page");
    let prefix = prefix.to_str().expect("UTF-8 path");
    poppler("pdftoppm", &["-gray", "-r", "40"], &rendered.pdf, &[prefix]);
    // page-1.pgm, page-2.pgm, ... (zero-padded past nine pages): sorted by page number.
    let mut images: Vec<(usize, PathBuf)> = std::fs::read_dir(rendered.directory.path())
        .expect("list pages")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "pgm"))
        .map(|path| {
            let stem = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let number = stem
                .rsplit('-')
                .next()
                .expect("page number")
                .parse()
                .expect("number");
            (number, path)
        })
        .collect();
    images.sort();
    images
        .into_iter()
        .map(|(_, path)| Page::parse(&std::fs::read(path).expect("read page image")))
        .collect()
}

fn assert_no_blank_pages(pages: &[Page]) {
    for (index, page) in pages.iter().enumerate() {
        // A4 at 40 dpi is 331 by 468 pixels.
        assert_eq!(
            (page.width, page.height),
            (331, 468),
            "page {} is not A4",
            index + 1
        );
        let inked = page.inked();
        assert!(
            inked > 0.004,
            "page {} is blank ({:.4} of its pixels inked)",
            index + 1,
            inked
        );
    }
}

/// The first line of the text that starts with `start`, its runs of spaces made one: a row
/// of a table as pdftotext lays it out.
fn row(text: &str, start: &str) -> String {
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starts with {start:?} in:\n{text}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_department_report_reads_back_from_paper() {
    let rendered = render("dcms", &report(DCMS), DCMS_PAGE);
    let pages = pages_of(&rendered);
    // The first page holds the title, the checkpoint and the figures; the goalposts, the
    // dispute and the largest changes fill the second; the appendix of 60-odd counted events
    // and the checkpoint note starts on a page of its own and needs three.
    assert_eq!(pages.len(), 5, "page count");
    assert_no_blank_pages(&pages);

    let text = text_of(&rendered);
    for expected in [
        "Annual covenant report 2025",
        "Department for Culture, Media and Sport",
        "1 January 2025 to 31 December 2025",
        "covenant.example/log",
        "q7Ld3mBv0pY2n8ZsX1cR4kT9wQeH6uJfA5gNoVbE0iM=",
        "covenant audit check-report BUNDLE --key KEY",
        "As of log checkpoint size 1234",
        "Page 1 of 5",
        "Page 5 of 5",
        // A goalpost's before and after (dates as the rest of the report writes them), the
        // reason, the dispute and a status as words.
        "30 June 2025",
        "30 June 2026",
        "1,234 entries",
        "Supplier capacity in rural areas",
        "Assessor nao disputes the claim of delivered",
        "overstates what was done",
        "in progress",
        "partly delivered",
        "Appendix: the events counted",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the text:\n{text}"
        );
    }
    assert_eq!(row(&text, "Commitments made"), "Commitments made 12 14 −2");
    assert_eq!(row(&text, "Delivered"), "Delivered 7 5 +2");
    // Money as the web page writes it: 123456789 pence is £1,234,567.89, whole pounds have no
    // pence, and a currency other than pounds is named.
    assert_eq!(
        row(&text, "Money committed"),
        "Money committed £1,234,567.89 £980,000,000 −£978,765,432.11"
    );
    assert!(text.contains("£3,125,000,000"), "{text}");
    assert!(!text.contains("£3,125,000,000.00"), "{text}");
    assert!(
        !text.contains("2025-06-30"),
        "no ISO dates in the prose:\n{text}"
    );
    assert_eq!(
        row(&text, "Money pledged (EUR)"),
        "Money pledged (EUR) €45,000,000 €0 +€45,000,000"
    );
    // The goalposts start on the second page; the appendix on a page of its own.
    assert!(text_of_page(&rendered, 1).contains("The figures"));
    assert!(text_of_page(&rendered, 2).contains("Goalposts moved"));
    assert!(!text_of_page(&rendered, 2).contains("Appendix"));
    assert!(text_of_page(&rendered, 3).contains("Appendix: the events counted"));

    // Each figure's value links to where the web page lists its events.
    let urls = poppler("pdfinfo", &["-url"], &rendered.pdf, &[]);
    for anchor in [
        "figure-made",
        "figure-overdue",
        "figure-money_spent-GBP",
        "figure-money_pledged-EUR",
    ] {
        let url = format!("{DCMS_PAGE}#{anchor}");
        assert!(
            urls.lines().any(|line| line.ends_with(&url)),
            "no link to {url} in:\n{urls}"
        );
    }
}

#[test]
fn a_government_report_with_no_year_before_and_nothing_moved() {
    let rendered = render("government", &report(GOVERNMENT), GOVERNMENT_PAGE);
    let pages = pages_of(&rendered);
    // Everything but the appendix fits on the first page; the short appendix on the second.
    assert_eq!(pages.len(), 2, "page count");
    assert_no_blank_pages(&pages);

    let text = text_of(&rendered);
    for expected in [
        "All of government",
        "1 January 2025 to 30 June 2025",
        "As of log checkpoint size 87",
        "There is no report for 2024 to compare with",
        "goalposts were moved in 2025",
        "No assessor disputed",
        "No commitment changed status in 2025",
        "No events counted",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from the text:\n{text}"
        );
    }
    // No year before: two columns.
    assert_eq!(row(&text, "Commitments made"), "Commitments made 0");
    assert_eq!(row(&text, "Money spent"), "Money spent £0");
}

#[test]
fn the_same_report_gives_the_same_bytes() {
    let first = report_pdf(&report(DCMS), DCMS_PAGE).expect("lays out");
    let second = report_pdf(&report(DCMS), DCMS_PAGE).expect("lays out");
    assert!(first == second, "two renders of the same report differ");
}

#[test]
fn values_that_cannot_be_laid_out_are_errors_not_panics() {
    let mut bad_end = report(DCMS);
    bad_end.period_end = "the end of 2025".into();
    let error = report_pdf(&bad_end, DCMS_PAGE).expect_err("a period end that is not a date");
    assert_eq!(
        error.to_string(),
        "report field period_end is invalid: \"the end of 2025\" is not a YYYY-MM-DD date"
    );

    let mut bad_date = report(DCMS);
    bad_date.goalposts[1].effective_on = "15 September 2025".into();
    match report_pdf(&bad_date, DCMS_PAGE) {
        Err(PdfError::Typst { message, .. }) => assert!(!message.is_empty()),
        other => panic!("expected a Typst error, got {other:?}"),
    }
}

#[test]
fn text_from_the_report_is_text_not_markup() {
    // Titles, reasons and views come from departments and assessors: Typst must set them as
    // they are, never evaluate them.
    let hostile =
        "#panic(\"boom\") *not bold* $x^2$ <label> @reference `raw` \\ [brackets] // comment";
    let mut sample = report(DCMS);
    sample.goalposts[0].title = hostile.into();
    sample.goalposts[0].rationale = hostile.into();
    sample.disputes[0].view = hostile.into();
    sample.largest_changes[0].title = hostile.into();
    let rendered = render("hostile", &sample, DCMS_PAGE);
    let text = text_of(&rendered);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = hostile.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.matches(expected.as_str()).count() >= 3,
        "{expected:?} not set verbatim in:\n{text}"
    );
}

#[test]
fn money_recorded_only_the_year_before_shows_as_none_this_year() {
    let mut sample = report(DCMS);
    sample
        .current
        .figures
        .retain(|figure| figure.key() != "money_committed-GBP");
    let rendered = render("only-previous", &sample, DCMS_PAGE);
    let text = text_of(&rendered);
    assert_eq!(
        row(&text, "Money committed"),
        "Money committed £0 £980,000,000 −£980,000,000"
    );
}

#[test]
fn one_entry_is_an_entry_and_the_assessor_has_a_name() {
    let mut sample = report(DCMS);
    sample.checkpoint.size = 1;
    sample.name_assessors(|id| (id == "nao").then(|| "National Audit Office".to_owned()));
    let rendered = render("one-entry", &sample, DCMS_PAGE);
    let text = text_of(&rendered);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Size 1 entry",
        "from the first 1 entry of the log",
        "National Audit Office disputes the claim of delivered",
    ] {
        assert!(flat.contains(expected), "{expected:?} not in:\n{text}");
    }
    for unexpected in ["1 entries", "Assessor nao"] {
        assert!(!flat.contains(unexpected), "{unexpected:?} in:\n{text}");
    }
}

#[test]
fn a_moved_target_and_deadline_read_as_words() {
    use covenant_query::report::ChangedField;
    let mut sample = report(DCMS);
    sample.goalposts[0].changes = vec![
        ChangedField {
            field: "target_value:main".into(),
            before: Some("150".into()),
            after: "120".into(),
        },
        ChangedField {
            field: "due_by".into(),
            before: Some("2025-07-31".into()),
            after: "2025-12-31".into(),
        },
        ChangedField {
            field: "title".into(),
            before: Some("2025-07-31".into()),
            after: "Free text".into(),
        },
    ];
    let rendered = render("moved", &sample, DCMS_PAGE);
    let text = text_of(&rendered);
    assert_eq!(
        row(&text, "Target for indicator main"),
        "Target for indicator main 150 → 120"
    );
    assert_eq!(
        row(&text, "Deadline"),
        "Deadline 31 July 2025 → 31 December 2025"
    );
    // A title is free text: a date in it stays as written.
    assert_eq!(row(&text, "Title "), "Title 2025-07-31 → Free text");
}
