#!/usr/bin/env bash
# berth scan of examples/goapp against the whole Go vulnerability database
# plus the Debian fixtures (target ≤ 1 s). Writes bench/results/scan.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
go run ./bench/scanbench -rounds "${ROUNDS:-5}" "$@" | tee bench/results/scan.md
