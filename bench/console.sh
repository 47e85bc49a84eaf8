#!/usr/bin/env bash
# berth's web console against a real daemon running 50 services: time to
# first byte of each page kind, and the daemon's CPU with live streams
# open vs none (issue 14's targets: ≤50 ms, ≤1% of one CPU). Needs root,
# runc, the CNI plugins and busybox-static. Takes the e2e lock: the
# daemon uses the shared bridges, iptables and ports. Writes the
# Markdown table to bench/results/console.md as well.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /bin/busybox ] || apt-get install -y busybox-static
mkdir -p bench/results
exec flock /tmp/berth-e2e.lock go run ./bench/consolebench -md bench/results/console.md -json bench/results/console.json "$@"
