#!/usr/bin/env bash
# berth's engine vs raw runc vs docker run: start latency, a 10-service
# `berth up`, daemon memory with 50 containers. Needs root.
# Writes the Markdown table to bench/results/engine.md as well. Other
# benchmarks skew it: run it as `flock /tmp/berth-bench.lock bash bench/engine.sh`
# where several may run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
go run ./bench/enginebench -md bench/results/engine.md -json bench/results/engine.json "$@"
