#!/usr/bin/env bash
# make bench: berth's registry vs CNCF distribution, side by side.
# Writes the Markdown table to bench/results/registry.md as well.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
go run ./bench/regbench -rounds "${ROUNDS:-3}" -md bench/results/registry.md -json bench/results/registry.json "$@"
