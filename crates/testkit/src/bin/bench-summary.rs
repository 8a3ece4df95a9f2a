//! `just bench all` ends here: every benchmark's figures in `target/bench/` gathered into
//! `target/bench/summary.json`, with the seconds each took given as arguments `NAME=SECONDS`
//! (`total=SECONDS` for the whole run).

fn main() -> std::process::ExitCode {
    let dir = covenant_testkit::bench::dir();
    let mut seconds = vec![];
    for argument in std::env::args().skip(1) {
        match argument
            .split_once('=')
            .and_then(|(name, s)| Some((name.to_owned(), s.parse().ok()?)))
        {
            Some(timed) => seconds.push(timed),
            None => {
                eprintln!("bench-summary: {argument:?} is not NAME=SECONDS");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    match covenant_testkit::bench::summarise(&dir, &seconds) {
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
