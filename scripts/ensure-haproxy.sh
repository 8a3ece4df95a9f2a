#!/usr/bin/env bash
# Makes sure Debian's haproxy is installed: a test runs deploy/haproxy.cfg in front of two
# replicas.
set -euo pipefail
if command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ]; then
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian's haproxy for the load balancer test" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy >&2
