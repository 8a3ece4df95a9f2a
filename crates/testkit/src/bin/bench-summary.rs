//! `just bench all` ends here: every benchmark's figures in `target/bench/` gathered into
//! `target/bench/summary.json`.

fn main() -> std::process::ExitCode {
    let dir = covenant_testkit::bench::dir();
    match covenant_testkit::bench::summarise(&dir) {
        Ok(summary) => {
            let names: Vec<&String> = summary["benchmarks"]
                .as_object()
                .map(|benchmarks| benchmarks.keys().collect())
                .unwrap_or_default();
            println!(
                "wrote {} ({})",
                dir.join(covenant_testkit::bench::SUMMARY).display(),
                names
                    .iter()
                    .map(|name| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bench-summary: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
