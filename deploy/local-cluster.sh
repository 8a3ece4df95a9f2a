#!/usr/bin/env bash
# A Covenant cluster on loopback: 3 NATS nodes forming a JetStream cluster (from
# deploy/nats/cluster/node-*.conf, with loopback ports and local directories) and 2 ledger
# replicas consuming the same stream at 3 replicas, each with its own store.
#
# Usage: deploy/local-cluster.sh WORKDIR CONFIG
#   WORKDIR  where node and replica data go (created)
#   CONFIG   a covenant configuration file ([log] and [keys], see deploy/covenant.example.toml)
#        deploy/local-cluster.sh --nats-configs WORKDIR
#   only writes WORKDIR/nats-{1,2,3}.conf and exits, for a caller that runs the nodes itself
#   (the chaos test kills and restarts them one by one)
# Environment:
#   NATS_SERVER  nats-server binary (default: .tools/bin/nats-server, then PATH)
#   COVENANT     covenant binary (default: target/release/covenant, then target/debug/covenant)
#   BASE_PORT    first port (default 14222): NATS clients BASE..BASE+2, routes BASE+10..12,
#                monitoring BASE+20..22, replica HTTP BASE+30 and BASE+31
# Prints "ready" when both replicas serve. Ctrl-C or SIGTERM stops everything.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

# Node i's configuration with loopback addresses, local storage and no authorization.
write_node_config() {
    local workdir=$1 base=$2 i=$3
    local client=$((base + i - 1)) route=$((base + 10 + i - 1)) monitor=$((base + 20 + i - 1))
    mkdir -p "$workdir/nats-$i"
    sed -e "s#0.0.0.0:4222#127.0.0.1:$client#" \
        -e "s#127.0.0.1:8222#127.0.0.1:$monitor#" \
        -e "s#0.0.0.0:6222#127.0.0.1:$route#" \
        -e "s#nats-1.internal:6222#127.0.0.1:$((base + 10))#" \
        -e "s#nats-2.internal:6222#127.0.0.1:$((base + 11))#" \
        -e "s#nats-3.internal:6222#127.0.0.1:$((base + 12))#" \
        -e "s#/var/lib/nats#$workdir/nats-$i#" \
        -e "/^include /d" \
        "$here/nats/cluster/node-$i.conf" > "$workdir/nats-$i.conf"
}

if [[ "${1:-}" == "--nats-configs" ]]; then
    workdir="${2:?usage: local-cluster.sh --nats-configs WORKDIR}"
    mkdir -p "$workdir"
    for i in 1 2 3; do write_node_config "$workdir" "${BASE_PORT:-14222}" "$i"; done
    exit 0
fi

workdir="${1:?usage: local-cluster.sh WORKDIR CONFIG}"
config="${2:?usage: local-cluster.sh WORKDIR CONFIG}"
base="${BASE_PORT:-14222}"

nats_server="${NATS_SERVER:-}"
if [[ -z "$nats_server" ]]; then
    if [[ -x "$root/.tools/bin/nats-server" ]]; then nats_server="$root/.tools/bin/nats-server"
    else nats_server="$(command -v nats-server || true)"; fi
fi
[[ -x "$nats_server" ]] || { echo "nats-server not found: run scripts/ensure-nats-server.sh or set NATS_SERVER" >&2; exit 1; }
covenant="${COVENANT:-}"
if [[ -z "$covenant" ]]; then
    for candidate in "$root/target/release/covenant" "$root/target/debug/covenant"; do
        if [[ -x "$candidate" ]]; then covenant="$candidate"; break; fi
    done
fi
[[ -x "$covenant" ]] || { echo "covenant binary not found: cargo build --release, or set COVENANT" >&2; exit 1; }

mkdir -p "$workdir"
pids=()
stop() {
    trap - EXIT INT TERM
    # Replicas first, so they finish their batch while NATS is still up.
    for pid in "${pids[@]:3}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]:3}"; do wait "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]:0:3}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

urls=()
for i in 1 2 3; do
    client=$((base + i - 1))
    write_node_config "$workdir" "$base" "$i"
    "$nats_server" -c "$workdir/nats-$i.conf" > "$workdir/nats-$i.log" 2>&1 &
    pids+=($!)
    urls+=("nats://127.0.0.1:$client")
done

# Wait until JetStream has a meta leader (every node healthy).
healthy() {
    local port=$1 reply
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    reply="$(cat <&3)"; exec 3<&-
    [[ "$reply" == *'"status":"ok"'* ]]
}
for _ in $(seq 1 300); do
    if healthy $((base + 20)) 2>/dev/null && healthy $((base + 21)) 2>/dev/null && healthy $((base + 22)) 2>/dev/null; then break; fi
    sleep 0.1
done

nats_urls="$(IFS=,; echo "${urls[*]}")"
for r in 1 2; do
    http=$((base + 30 + r - 1))
    "$covenant" serve --config "$config" --data "$workdir/ledger-$r" --listen "127.0.0.1:$http" \
        --nats "$nats_urls" --stream-replicas 3 > "$workdir/ledger-$r.log" 2>&1 &
    pids+=($!)
done
for r in 1 2; do
    http=$((base + 30 + r - 1))
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null; then break; fi
        if ! kill -0 "${pids[$((2 + r))]}" 2>/dev/null; then
            echo "ledger replica $r exited:" >&2; cat "$workdir/ledger-$r.log" >&2; exit 1
        fi
        sleep 0.1
    done
done
echo "nats $nats_urls"
echo "replicas http://127.0.0.1:$((base + 30)) http://127.0.0.1:$((base + 31))"
echo "ready"
wait
