#!/usr/bin/env bash
# berth's proxy vs nginx vs straight to the container (wrk), and a release
# of 3 replicas under steady load: `berth deploy` vs `docker-compose up -d`.
# Needs root. Installs what it needs from Debian, builds bin/berth, writes
# the Markdown table to bench/results/deploy.md as well.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in wrk:/usr/bin/wrk nginx:/usr/sbin/nginx docker-compose:/usr/bin/docker-compose docker.io:/usr/sbin/dockerd; do
	[ -x "${p#*:}" ] || missing+=("${p%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get install -y "${missing[@]}"
fi
aptrepo="${XDG_CACHE_HOME:-$HOME/.cache}/berth-test/aptrepo"
[ -e "$aptrepo/.complete" ] || bash scripts/aptrepo.sh "$aptrepo"
make build
mkdir -p bench/results
go run ./bench/deploybench -aptrepo "$aptrepo" -md bench/results/deploy.md -json bench/results/deploy.json "$@"
