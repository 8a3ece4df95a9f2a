//! Page benchmark: how long each web page takes to serve on the demo data, against the JSON
//! answer it is built from, measured in the same run.
//!
//! The demo data goes in through `POST /v1/events` of the embedded ledger (as in the browser
//! tests); then each page and its JSON equivalent are fetched over loopback, one request at a
//! time. Figures: round-trip p50/p99 and the server's own render time (its `Server-Timing`
//! header) p50/p99, and the page-to-JSON ratio. The pages' target is under 100 ms each.
//!
//! `cargo bench -p covenant-http --bench pages` (or `just bench pages`); the figures print and
//! go to target/bench/pages.json.

// Shared with the browser tests, which use more of it.
#[allow(dead_code)]
#[path = "../tests/browser/server.rs"]
mod server;

use server::Server;
use std::time::{Duration, Instant};

const WARMUP: usize = 20;
const ROUNDS: usize = 300;
const TARGET_MS: f64 = 100.0;
/// The demo's culture department, whose 2025 report has a year before and every section.
const REPORT_ACTOR: &str = "GB-GOV-23";

struct Timing {
    round_trip: Vec<Duration>,
    /// The page's own render time from `Server-Timing` (pages only).
    render_ms: Vec<f64>,
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn render_ms(header: Option<&str>) -> Option<f64> {
    header?
        .split(';')
        .find_map(|part| part.trim().strip_prefix("dur="))
        .and_then(|number| number.parse().ok())
}

fn measure(agent: &ureq::Agent, url: &str) -> Timing {
    let mut timing = Timing {
        round_trip: Vec::with_capacity(ROUNDS),
        render_ms: Vec::with_capacity(ROUNDS),
    };
    for round in 0..WARMUP + ROUNDS {
        let started = Instant::now();
        let mut response = agent
            .get(url)
            .call()
            .unwrap_or_else(|error| panic!("GET {url}: {error}"));
        let body = response.body_mut().read_to_vec().expect("read the body");
        let elapsed = started.elapsed();
        assert!(!body.is_empty(), "GET {url} answered nothing");
        if round >= WARMUP {
            timing.round_trip.push(elapsed);
            let header = response
                .headers()
                .get("server-timing")
                .and_then(|value| value.to_str().ok());
            timing.render_ms.extend(render_ms(header));
        }
    }
    timing
}

fn summary(timing: &Timing) -> (f64, f64, f64, f64) {
    let mut trips: Vec<f64> = timing
        .round_trip
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    trips.sort_by(f64::total_cmp);
    let mut renders = timing.render_ms.clone();
    renders.sort_by(f64::total_cmp);
    (
        percentile(&trips, 0.5),
        percentile(&trips, 0.99),
        percentile(&renders, 0.5),
        percentile(&renders, 0.99),
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("start a runtime");
    let server = runtime.block_on(Server::with_demo());
    let scorecard = runtime.block_on(server.json("/v1/league?kind=department&min_resolved=1"));
    let actor = scorecard["rows"][0]["actor"]
        .as_str()
        .expect("the demo has a ranked department")
        .to_owned();
    let list = runtime.block_on(server.json(&format!("/v1/commitments?actor={actor}&limit=1")));
    let commitment = list["items"][0]["id"]
        .as_str()
        .expect("the department has a commitment")
        .to_owned();

    let cases = [
        ("home", "/".to_owned(), "/v1/scorecard".to_owned()),
        (
            "actor",
            format!("/actors/{actor}"),
            format!("/v1/actors/{actor}"),
        ),
        (
            "commitment",
            format!("/commitments/{commitment}"),
            format!("/v1/commitments/{commitment}"),
        ),
        (
            "search",
            "/search?q=report".to_owned(),
            "/v1/commitments?q=report".to_owned(),
        ),
        ("themes", "/themes".to_owned(), "/v1/themes".to_owned()),
        (
            "theme",
            "/themes/community".to_owned(),
            "/v1/themes/community".to_owned(),
        ),
        // The annual report: computed per request from the department's events, then the page,
        // the PDF laid out by Typst, and the proof bundle of every counted event.
        (
            "report",
            format!("/actors/{REPORT_ACTOR}/reports/2025"),
            format!("/actors/{REPORT_ACTOR}/reports/2025/report.json"),
        ),
        (
            "report-pdf",
            format!("/actors/{REPORT_ACTOR}/reports/2025/report.pdf"),
            format!("/actors/{REPORT_ACTOR}/reports/2025/report.json"),
        ),
        (
            "report-bundle",
            format!("/actors/{REPORT_ACTOR}/reports/2025/bundle.json"),
            format!("/actors/{REPORT_ACTOR}/reports/2025/report.json"),
        ),
    ];
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    println!(
        "{:<11} {:>10} {:>10} {:>11} {:>11} {:>10} {:>10} {:>7}",
        "page", "page p50", "page p99", "render p50", "render p99", "json p50", "json p99", "ratio"
    );
    let mut results = vec![];
    for (name, page_path, json_path) in &cases {
        let page = summary(&measure(&agent, &server.url(page_path)));
        let json = summary(&measure(&agent, &server.url(json_path)));
        let ratio = page.0 / json.0;
        println!(
            "{name:<11} {:>8.2}ms {:>8.2}ms {:>9.2}ms {:>9.2}ms {:>8.2}ms {:>8.2}ms {:>6.2}x",
            page.0, page.1, page.2, page.3, json.0, json.1, ratio
        );
        results.push(serde_json::json!({
            "page": name,
            "path": page_path,
            "json_path": json_path,
            "page_p50_ms": page.0,
            "page_p99_ms": page.1,
            "render_p50_ms": page.2,
            "render_p99_ms": page.3,
            "json_p50_ms": json.0,
            "json_p99_ms": json.1,
            "page_to_json_ratio": ratio,
            "under_target": page.1 < TARGET_MS,
        }));
    }
    let worst = results
        .iter()
        .filter_map(|result| result["page_p99_ms"].as_f64())
        .fold(0.0, f64::max);
    println!("slowest page p99 {worst:.2} ms (target under {TARGET_MS} ms)");
    let report = serde_json::json!({
        "benchmark": "pages",
        "data": "demo",
        "rounds": ROUNDS,
        "target_ms": TARGET_MS,
        "pages": results,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    std::fs::write(
        dir.join("pages.json"),
        serde_json::to_string_pretty(&report).expect("encode the report"),
    )
    .expect("write target/bench/pages.json");
    drop(server);
    runtime.shutdown_timeout(Duration::from_secs(1));
}
