#!/usr/bin/env bash
# berth deploy vs kubectl apply + rollout status on a real single-node
# cluster, and berth's rollback decision time (bench/k8sbench). Needs root
# and the cluster binaries (scripts/k8s-cluster.sh build). Builds first,
# then takes the host's cluster lock, brings the cluster up, runs the
# benchmark and brings it down.
set -euo pipefail
cd "$(dirname "$0")/.."
make build
go build -o bin/k8sbench ./bench/k8sbench
export BERTH="$PWD/bin/berth"
exec bash scripts/k8s-cluster.sh run -- bin/k8sbench -berth "$BERTH" "$@"
