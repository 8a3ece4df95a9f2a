//! The annual covenant report over real HTTP, on the demo log written through the embedded
//! ledger: the page, its JSON, CSV and proof bundle, the bundle checked against the pinned key,
//! and one altered number caught.

#[allow(dead_code)]
#[path = "browser/server.rs"]
mod server;

use covenant_core::event::Date;
use covenant_query::report::bundle::{self, BundleCheckError, ReportBundle};
use covenant_query::report::{FigureName, Report, ReportScope};
use covenant_store::LogReader;
use server::Server;

const DCMS: &str = "GB-GOV-23";

async fn get(server: &Server, path: &str) -> (u16, String, String) {
    let url = server.url(path);
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(&url)
            .call()
            .unwrap_or_else(|error| panic!("GET {url}: {error}"));
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, content_type, body)
    })
    .await
    .expect("request task")
}

async fn ok(server: &Server, path: &str) -> (String, String) {
    let (status, content_type, body) = get(server, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    (content_type, body)
}

fn figure(report: &Report, name: FigureName) -> i128 {
    report
        .current
        .figure(name, None)
        .unwrap_or_else(|| panic!("no figure {name:?}"))
        .value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_departments_2025_report_is_served_in_every_format_and_checks_out() {
    let server = Server::with_demo().await;
    let base = format!("/actors/{DCMS}/reports/2025");

    let (content_type, json) = ok(&server, &format!("{base}/report.json")).await;
    let disposition = header(
        &server,
        &format!("{base}/report.json"),
        "content-disposition",
    )
    .await;
    assert!(
        disposition.starts_with("attachment; filename=\"covenant-report-GB-GOV-23-2025-at-"),
        "{disposition}"
    );
    assert_eq!(content_type, "application/json");
    let report: Report = serde_json::from_str(&json).expect("the report JSON parses");
    let size = server.store.latest_checkpoint().unwrap().unwrap().0;
    assert_eq!(report.checkpoint.size, size, "as of the newest checkpoint");
    assert_eq!(report.period_end, "2025-12-31");
    match &report.scope {
        ReportScope::Actor { actor } => {
            assert_eq!(actor.id, DCMS);
            assert_eq!(actor.name, "Department for Culture, Media and Sport");
        }
        other => panic!("scope {other:?}"),
    }
    // The demo's story of the department (crates/demo/src/data/covenant.rs), figure by figure.
    let previous = report
        .previous
        .as_ref()
        .expect("the department made pledges in 2024");
    let count =
        |year: &covenant_query::report::YearFigures, name| year.figure(name, None).unwrap().value;
    for (name, in_2025, in_2024) in [
        (FigureName::Made, 6, 5),
        (FigureName::Delivered, 2, 1),
        (FigureName::PartlyDelivered, 1, 0),
        (FigureName::NotDelivered, 1, 0),
        (FigureName::Overdue, 1, 0),
        (FigureName::Withdrawn, 1, 0),
        (FigureName::GoalpostsMoved, 1, 0),
        (FigureName::Disputed, 1, 0),
    ] {
        assert_eq!(count(&report.current, name), in_2025, "{name:?} in 2025");
        assert_eq!(count(previous, name), in_2024, "{name:?} in 2024");
    }
    assert_eq!(report.goalposts.len(), 1);
    assert_eq!(report.goalposts[0].commitment_id, "dcms-youth-clubs");
    assert_eq!(
        report.goalposts[0].changes[0].before.as_deref(),
        Some("2025-06-30")
    );
    assert_eq!(report.goalposts[0].changes[0].after, "2025-12-31");
    assert_eq!(report.disputes.len(), 1);
    assert!(report.disputes[0].view.contains("280 clubs"));
    // The assessor by the registry's name, as the home page names them.
    assert_eq!(
        report.disputes[0].assessor_name.as_deref(),
        Some("Civic Audit Trust")
    );

    // An independent tally of the demo data: the money the department recorded by the end of
    // 2025 is what the report counts in 2024 and 2025.
    let demo = covenant_demo::demo();
    let summary = demo.summary_as_of(Date::parse("2025-12-31").unwrap());
    let department = &summary.actors[DCMS];
    let money = |name| {
        [&report.current, previous]
            .iter()
            .map(|year| {
                year.figure(name, Some("GBP"))
                    .map_or(0, |figure| figure.value)
            })
            .sum::<i128>()
    };
    assert_eq!(
        money(FigureName::MoneyCommitted),
        i128::from(department.committed_minor)
    );
    assert_eq!(
        money(FigureName::MoneySpent),
        i128::from(department.spent_minor)
    );
    assert_eq!(
        money(FigureName::MoneyPledged),
        i128::from(department.pledged_minor)
    );
    assert_eq!(
        report
            .current
            .figure(FigureName::MoneySpent, Some("GBP"))
            .unwrap()
            .value,
        332_000_000
    );

    // The page names the checkpoint and links every figure to its events.
    let (content_type, page) = ok(&server, &base).await;
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("Department for Culture, Media and Sport"));
    assert!(page.contains(&report.checkpoint.root_hash));
    assert!(page.contains("covenant audit check-report"));
    assert!(
        page.contains(">Civic Audit Trust</a>"),
        "the assessor by name"
    );
    assert!(
        page.contains("Deadline: 30 Jun 2025 → 31 Dec 2025"),
        "the moved deadline in words"
    );
    for figure in &report.current.figures {
        let anchor = format!("id=\"figure-{}\"", figure.key());
        assert!(page.contains(&anchor), "no {anchor} on the page");
        assert!(page.contains(&format!("href=\"#figure-{}\"", figure.key())));
    }

    // The PDF: its text carries the department, the checkpoint and the figures.
    let url = server.url(&format!("{base}/report.pdf?checkpoint={size}"));
    let pdf = tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url).call().expect("GET the PDF");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/pdf"
        );
        response.body_mut().read_to_vec().expect("read the PDF")
    })
    .await
    .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    assert!(
        !text.contains("£3,320,000.00"),
        "whole pounds without pence"
    );
    assert!(!text.contains("2025-06-30"), "dates in words:\n{text}");
    for expected in [
        "Department for Culture, Media and Sport".to_owned(),
        format!("As of log checkpoint size {size}"),
        "£3,320,000".to_owned(),
        "Reopen 500 youth clubs".to_owned(),
        "Civic Audit Trust disputes the claim".to_owned(),
        "30 June 2025".to_owned(),
        "31 December 2025".to_owned(),
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} not in the PDF:\n{text}"
        );
    }

    // CSV: one row per figure of each year, the same values.
    let (content_type, csv) = ok(&server, &format!("{base}/report.csv?checkpoint={size}")).await;
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|row| row.expect("a CSV row"))
        .collect();
    let figures =
        report.current.figures.len() + report.previous.as_ref().map_or(0, |y| y.figures.len());
    assert_eq!(rows.len(), figures);
    assert_eq!(&rows[0][3], "made");
    assert_eq!(rows[0][5], figure(&report, FigureName::Made).to_string());
    assert_eq!(&rows[0][6], "commitments");
    let spent = rows
        .iter()
        .find(|row| &row[0] == "2025" && &row[3] == "money_spent")
        .expect("a row for the money spent");
    assert_eq!((&spent[5], &spent[6]), ("332000000", "pence"));

    // The bundle proves every counted event against the signed checkpoint, and every figure
    // recomputes.
    let (_, bundle_json) = ok(&server, &format!("{base}/bundle.json?checkpoint={size}")).await;
    let bundle: ReportBundle = serde_json::from_str(&bundle_json).expect("the bundle parses");
    assert_eq!(bundle.report, report);
    let checked = bundle::check(&bundle, &server.verifier_key).expect("the bundle's proofs hold");
    assert!(checked.holds(), "{checked:#?}");
    assert!(checked.proven_entries >= 10, "{checked:#?}");

    // One altered number: the check names it.
    let mut altered = bundle.clone();
    let made = altered
        .report
        .current
        .figures
        .iter_mut()
        .find(|figure| figure.name == FigureName::Made)
        .unwrap();
    made.value += 1;
    let checked = bundle::check(&altered, &server.verifier_key).expect("proofs still hold");
    assert!(!checked.holds());
    let failing: Vec<&str> = checked
        .figures
        .iter()
        .filter(|figure| !figure.holds())
        .map(|figure| figure.key.as_str())
        .collect();
    assert_eq!(failing, ["made"]);

    // A dropped event changes what the figures recompute to: money no longer adds up, and a
    // commitment without its making does not fold at all.
    let passes = |bundle: &ReportBundle| {
        bundle::check(bundle, &server.verifier_key).is_ok_and(|checked| checked.holds())
    };
    for name in [FigureName::MoneyCommitted, FigureName::Made] {
        let mut thinned = bundle.clone();
        let dropped = report
            .current
            .figure(
                name,
                if name == FigureName::Made {
                    None
                } else {
                    Some("GBP")
                },
            )
            .unwrap()
            .counted[0]
            .seq;
        for positions in thinned.commitments.values_mut() {
            positions.retain(|seq| *seq != dropped);
        }
        assert!(
            !passes(&thinned),
            "dropping entry {dropped} ({name:?}) must show"
        );
    }
    assert!(passes(&bundle));

    // An event filed under a commitment it is not about is refused.
    let mut misfiled = bundle.clone();
    let mut ids = misfiled.commitments.keys().cloned();
    let (first, second) = (ids.next().unwrap(), ids.next().unwrap());
    let stray = misfiled.commitments[&second][0];
    misfiled.commitments.get_mut(&first).unwrap().push(stray);
    assert!(matches!(
        bundle::check(&misfiled, &server.verifier_key),
        Err(BundleCheckError::NotAbout { .. })
    ));

    // A tampered entry breaks its proof; another key proves nothing.
    let mut tampered = bundle.clone();
    tampered.proofs[1].entry = tampered.proofs[0].entry.clone();
    assert!(matches!(
        bundle::check(&tampered, &server.verifier_key),
        Err(BundleCheckError::Proof { .. })
    ));
    let other_key = covenant_core::checkpoint::LogSigner::new(covenant_demo::ORIGIN, [9; 32])
        .unwrap()
        .verifier_key();
    assert!(matches!(
        bundle::check(&bundle, &other_key),
        Err(BundleCheckError::Checkpoint(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_year_after_shows_the_year_before_and_bad_requests_are_named() {
    let server = Server::with_demo().await;
    let year_2025: Report = serde_json::from_str(
        &ok(&server, &format!("/actors/{DCMS}/reports/2025/report.json"))
            .await
            .1,
    )
    .unwrap();
    let year_2026: Report = serde_json::from_str(
        &ok(&server, &format!("/actors/{DCMS}/reports/2026/report.json"))
            .await
            .1,
    )
    .unwrap();
    assert_eq!(
        year_2026.previous.as_ref(),
        Some(&year_2025.current),
        "the 2026 report's year before is the 2025 report's year"
    );

    let (_, page) = ok(&server, "/reports/2025").await;
    assert!(page.contains("All of government"));
    let (_, json) = ok(&server, "/reports/2025/report.json").await;
    let government: Report = serde_json::from_str(&json).unwrap();
    assert!(figure(&government, FigureName::Made) > figure(&year_2025, FigureName::Made));

    let sizes = server.store.checkpoint_sizes().unwrap();
    let (below, above) = (sizes[0], sizes[1]);
    assert!(
        above - below > 1,
        "a size between two checkpoints: {sizes:?}"
    );
    let between = below + 1;
    for (path, status, says) in [
        (
            "/actors/nobody/reports/2025".to_owned(),
            404,
            "nobody".to_owned(),
        ),
        (
            format!("/actors/{DCMS}/reports/20x5"),
            400,
            "20x5".to_owned(),
        ),
        (
            "/reports/20x5/report.json".to_owned(),
            400,
            "20x5".to_owned(),
        ),
        ("/reports/2999".to_owned(), 404, "has not begun".to_owned()),
        (
            "/reports/2999/report.json".to_owned(),
            404,
            "has not begun".to_owned(),
        ),
        (
            "/reports/2025/report.txt".to_owned(),
            404,
            "report.txt".to_owned(),
        ),
        (
            "/reports/2025?checkpoint=abc".to_owned(),
            400,
            "abc".to_owned(),
        ),
        (
            "/reports/2025?foo=1".to_owned(),
            400,
            "unknown parameter".to_owned(),
        ),
        (
            "/reports/2025/report.csv?foo=1".to_owned(),
            400,
            "\"foo\"".to_owned(),
        ),
        (
            format!("/reports/2025/report.json?checkpoint={between}"),
            404,
            format!("size {between}; the nearest are {below} and {above}"),
        ),
    ] {
        let (got, content_type, body) = get(&server, &path).await;
        assert_eq!(got, status, "GET {path}: {body}");
        assert!(
            body.contains(&says),
            "GET {path} should say {says:?}: {body}"
        );
        // A report's files answer errors as /v1 does; its page answers a page.
        if path.contains("/report.") {
            assert_eq!(content_type, "application/json", "GET {path}");
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            let code = if status == 404 {
                "not_found"
            } else if path.contains("foo") {
                "bad_parameter"
            } else {
                "bad_request"
            };
            assert_eq!(answer["error"]["code"], code, "GET {path}: {body}");
            if path.contains("foo") {
                assert_eq!(answer["error"]["parameter"], "foo");
            }
        } else {
            assert!(
                content_type.starts_with("text/html"),
                "GET {path}: {content_type}"
            );
        }
    }
}

/// The text of a PDF, by poppler's pdftotext (scripts/ensure-poppler.sh installs it).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|error| {
            panic!("run pdftotext: {error}; install it with scripts/ensure-poppler.sh")
        });
    assert!(output.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn header(server: &Server, path: &str, name: &'static str) -> String {
    let url = server.url(path);
    tokio::task::spawn_blocking(move || {
        let response = ureq::get(&url).call().expect("GET");
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    })
    .await
    .unwrap()
}
