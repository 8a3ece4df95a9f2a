# Covenant: the two commands are `just demo` and `just test`. `just --list` shows the rest.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Listen address of the demo's HTTP server.
listen := env_var_or_default("COVENANT_LISTEN", "127.0.0.1:8080")

default:
    @just --list

# Run the whole system on demo data: nats-server, the ledger and the web server. Ctrl-C stops it.
demo:
    cargo build --release --bin covenant
    NATS_SERVER="$(scripts/ensure-nats-server.sh)" COVENANT_LISTEN="{{listen}}" scripts/demo.sh

# The whole test suite, against a real nats-server and a real chromium (installed if missing).
test:
    #!/usr/bin/env bash
    set -euo pipefail
    export NATS_SERVER="$(scripts/ensure-nats-server.sh)"
    scripts/ensure-chromium.sh
    scripts/ensure-poppler.sh
    scripts/ensure-haproxy.sh
    # Not --all-targets: benchmarks are programs that print figures, run by `just bench`.
    cargo test --workspace --locked

# Benchmarks: store, ingest, checkpoint, query, verify, pages, catch-up, front-door, log-reads, or all. Figures print and go to target/bench/*.json;
# `all` gathers them, and the seconds each took, into target/bench/summary.json.
bench name="all":
    #!/usr/bin/env bash
    set -euo pipefail
    export NATS_SERVER="$(scripts/ensure-nats-server.sh)"
    mkdir -p target/bench
    case "{{name}}" in
        store)  cargo bench -p covenant-store --bench store ;;
        ingest) cargo bench -p covenant-ledger --bench ingest ;;
        checkpoint) cargo bench -p covenant-ledger --bench checkpoint ;;
        query)  cargo bench -p covenant-query --bench query ;;
        verify) cargo bench -p covenant-audit --bench verify ;;
        pages)  cargo bench -p covenant-http --bench pages ;;
        catch-up) cargo bench -p covenant-http --bench catch_up ;;
        front-door) cargo bench -p covenant-http --bench front_door ;;
        log-reads) cargo bench -p covenant-http --bench log_reads ;;
        all)    started=$(date +%s); timings=()
                for b in store ingest checkpoint query verify pages catch-up front-door log-reads; do
                    began=$(date +%s); just bench "$b"; timings+=("$b=$(( $(date +%s) - began ))")
                done
                timings+=("total=$(( $(date +%s) - started ))")
                echo "seconds: ${timings[*]}"
                cargo run -q --locked -p covenant-testkit --bin bench-summary -- "${timings[@]}" ;;
        *) echo "unknown benchmark {{name}}: choose store, ingest, checkpoint, query, verify, pages, catch-up, front-door, log-reads or all" >&2; exit 2 ;;
    esac

# Property tests over hostile input, longer than `just test` runs them: CASES per property.
# Failing inputs are kept in proptest-regressions/ and replayed first by every later run.
fuzz cases="20000":
    PROPTEST_CASES={{cases}} cargo test --release -p covenant-core fuzz::
    PROPTEST_CASES={{cases}} cargo test --release -p covenant-emit fuzz::
    PROPTEST_CASES={{cases}} cargo test --release --bin covenant fuzz::

# The junk flood through every door of `covenant serve` (figures in BENCHMARKS.md): ENVELOPES
# of 64 KB per door.
flood envelopes="10000":
    #!/usr/bin/env bash
    set -euo pipefail
    export NATS_SERVER="$(scripts/ensure-nats-server.sh)"
    COVENANT_FLOOD_ENVELOPES={{envelopes}} cargo test --release --test integration ledger::flood:: -- --nocapture

# The chaos test (docs/OPERATING.md, section 8) for ROUNDS rounds, in release: per round, under
# load, a NATS node killed, a replica killed, a NATS node frozen and every replica restarted.
chaos rounds="5":
    #!/usr/bin/env bash
    set -euo pipefail
    export NATS_SERVER="$(scripts/ensure-nats-server.sh)"
    COVENANT_CHAOS_ROUNDS={{rounds}} cargo test --release --test integration ledger::chaos:: -- --nocapture

# Rewrite the conformance vectors in spec/vectors/ from the reference implementation.
vectors:
    cargo run --locked -q -p covenant-vectors --bin covenant-vectors -- spec/vectors

# Format the code.
fmt:
    cargo fmt --all

# Formatting and clippy, as CI would want them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

