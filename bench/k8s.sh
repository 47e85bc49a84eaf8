#!/usr/bin/env bash
# berth deploy vs kubectl apply + rollout status on a real single-node
# cluster, and berth's rollback decision time (bench/k8sbench). Needs root
# and the cluster binaries (scripts/k8s-cluster.sh build). Takes the host's
# cluster lock, brings the cluster up, runs the benchmark, brings it down.
set -euo pipefail
cd "$(dirname "$0")/.."
make build
export BERTH="$PWD/bin/berth"
exec bash scripts/k8s-cluster.sh run -- go run ./bench/k8sbench -berth "$BERTH" "$@"
