#!/usr/bin/env bash
# berth build vs go build + docker build vs ko build, side by side.
# Writes the Markdown table to bench/results/build.md as well.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
go run ./bench/buildbench -rounds "${ROUNDS:-3}" -md bench/results/build.md -json bench/results/build.json "$@"
