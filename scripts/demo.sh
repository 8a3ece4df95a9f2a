#!/usr/bin/env bash
# `just demo`: nats-server with JetStream, a witness, the ledger and the HTTP server on an
# embedded data directory (.demo/), the demo data loaded through NATS, running until Ctrl-C.
# The ledger publishes a checkpoint only once the witness has cosigned it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
covenant="${COVENANT_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/covenant}"
nats_server="${NATS_SERVER:-$(scripts/ensure-nats-server.sh)}"
listen="${COVENANT_LISTEN:-127.0.0.1:8080}"
# COVENANT_DEMO_DIR puts the data elsewhere (the test of this script uses a scratch directory).
demo="${COVENANT_DEMO_DIR:-$root/.demo}"
config="$demo/covenant.toml"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping the ledger, the witness and nats-server"
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "stopped; the data stays in $demo (delete it to start afresh)"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

if [ -f "$config" ]; then
    echo "reusing the demo data directory $demo (delete it to start afresh)"
else
    echo "creating a fresh demo data directory in $demo"
    mkdir -p "$demo"
fi

# JetStream keeps the stream in $demo/nats, so a second run resumes where the first stopped.
nats_port="$(free_port)"
nats_url="nats://127.0.0.1:$nats_port"
"$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$demo/nats" >"$demo/nats-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
    sleep 0.1
done

# The configuration names the demo's registrar key at genesis and the log's signing key; the
# NATS URL changes from run to run, so it is passed as a flag rather than kept in the file.
if [ ! -f "$config" ]; then
    "$covenant" demo config --out-dir "$demo" --data "$demo/ledger" --nats "$nats_url" --listen "$listen"
fi

# The witness keeps what it cosigned in $demo, so on every later run it checks that the log
# still extends the checkpoint it cosigned last.
witness_name="demo.covenant.local/witness"
if [ ! -f "$demo/witness.vkey" ]; then
    rm -f "$demo/witness.key"
    "$covenant" audit witness keygen --name "$witness_name" --key-file "$demo/witness.key" >"$demo/witness.vkey"
fi
witness_key="$(cat "$demo/witness.vkey")"
log_key="$("$covenant" keys show "$demo/log.key" | sed -n 's/^verifier key: //p')"
echo "$log_key" >"$demo/log.vkey"
witness_port="$(free_port)"
witness_url="http://127.0.0.1:$witness_port"
"$covenant" audit witness serve --name "$witness_name" --key-file "$demo/witness.key" \
    --log-key "$log_key" --state "$demo/witness-state.json" --listen "127.0.0.1:$witness_port" \
    >"$demo/witness.log" 2>&1 &
pids+=($!)

"$covenant" serve --config "$config" --nats "$nats_url" --listen "$listen" \
    --witness "$witness_key $witness_url" --witness-quorum 1 >"$demo/ledger.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
    (echo >"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null && break
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
        echo "error: the ledger stopped; its log follows" >&2
        cat "$demo/ledger.log" >&2
        exit 1
    fi
    sleep 0.1
done

"$covenant" demo load --config "$config" --nats "$nats_url" --listen "$listen" --wait-for-ledger 120

cat <<TEXT

Covenant is running.
  web pages    http://$listen/
  JSON API     http://$listen/v1/openapi.json
  scorecards   http://$listen/v1/actors
  log          http://$listen/log/checkpoint (cosigned by the witness at $witness_url)
  metrics      http://$listen/metrics
  2025 report  http://$listen/actors/GB-GOV-23/reports/2025 (the culture department's annual
               covenant report, with its PDF, CSV, JSON and proof bundle)

Check the log as a watchdog would, requiring the witness's cosignature:
  $covenant audit verify http://$listen --witness $demo/witness.vkey

Check every figure of the 2025 report from its proof bundle alone:
  $covenant report --server http://$listen --actor GB-GOV-23 --year 2025 --format bundle --out $demo/dcms-2025.json
  $covenant audit check-report $demo/dcms-2025.json --key $demo/log.vkey

WARNING: the demo's log, registrar and witness keys are public test keys, derived from fixed
seeds in the source code: anyone can sign with them. Never let them sign a real log; start
your own with "covenant init" (docs/OPERATING.md).

Logs: $demo/ledger.log, witness.log and nats-server.log. Ctrl-C stops everything.
TEXT
wait "${pids[@]}"
