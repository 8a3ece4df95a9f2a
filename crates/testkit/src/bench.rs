//! What every benchmark shares: where figures go (`target/bench/`), writing them as JSON, and
//! the machine's load average to read them by.

use std::path::PathBuf;

/// `target/bench` (under `CARGO_TARGET_DIR` when set), created if missing.
pub fn dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).expect("make target/bench");
    dir
}

/// Write `figures` to `target/bench/NAME.json` and say so.
pub fn write_json(name: &str, figures: &serde_json::Value) {
    let path = dir().join(format!("{name}.json"));
    let bytes = serde_json::to_vec_pretty(figures).expect("encode json");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    println!("wrote {}", path.display());
}

/// The 1, 5 and 15 minute load averages as `/proc/loadavg` gives them: other work on the
/// machine slows every contender, and the disk's fsync latency most of all.
pub fn load_averages() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The 1 minute load average (-1 when unknown).
pub fn load_average() -> f64 {
    load_averages()
        .split_whitespace()
        .next()
        .and_then(|first| first.parse().ok())
        .unwrap_or(-1.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_directory_is_target_bench_and_exists() {
        let dir = super::dir();
        assert!(dir.ends_with("target/bench"), "{}", dir.display());
        assert!(dir.is_dir());
    }

    #[test]
    fn load_averages_are_three_numbers() {
        let text = super::load_averages();
        assert_eq!(text.split_whitespace().count(), 3, "{text:?}");
        assert!(super::load_average() >= 0.0);
    }
}
