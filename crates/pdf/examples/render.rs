//! Lays out a report's JSON as a PDF, and says how long it took:
//! `cargo run --release -p covenant-pdf --example render -- REPORT.json PAGE_URL OUT.pdf`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [report, page_url, out] = arguments.as_slice() else {
        return Err("usage: render REPORT.json PAGE_URL OUT.pdf".into());
    };
    let report: covenant_query::report::Report = serde_json::from_slice(&std::fs::read(report)?)?;
    for attempt in 1..=3 {
        let started = Instant::now();
        let pdf = covenant_pdf::report_pdf(&report, page_url)?;
        let took = started.elapsed();
        println!("render {attempt}: {took:.2?}, {} bytes", pdf.len());
        std::fs::write(out, &pdf)?;
    }
    Ok(())
}
