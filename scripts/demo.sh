#!/usr/bin/env bash
# make demo: start berth's registry on loopback, build the example Go app
# from Debian packages with `berth build` (no RUN steps, no Docker), push it,
# show what the image is made of, then start berth's engine, ship the app
# (build → push → deploy) with 2 replicas behind berth's proxy, and ship a
# second version under load with zero downtime.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD
export PATH="$repo_root/bin:$PATH"

demo_dir="$repo_root/.demo"
addr="${BERTH_DEMO_ADDR:-127.0.0.1:5000}"
apt_dir="${BERTH_TEST_APTREPO:-$HOME/.cache/berth-test/aptrepo}"
export BERTH_CACHE="$demo_dir/cache"
mkdir -p "$demo_dir"

# Stop a registry a previous demo left running.
if [[ -f "$demo_dir/registry.pid" ]]; then
  kill "$(cat "$demo_dir/registry.pid")" 2>/dev/null || true
  rm -f "$demo_dir/registry.pid"
fi

echo "==> starting berth registry on $addr (data in .demo/registry)"
berth registry serve --addr "$addr" --root "$demo_dir/registry" 2>"$demo_dir/registry.log" &
echo $! >"$demo_dir/registry.pid"
for _ in $(seq 1 100); do
  curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && break
  if ! kill -0 "$(cat "$demo_dir/registry.pid")" 2>/dev/null; then
    echo "registry failed to start:" >&2
    cat "$demo_dir/registry.log" >&2
    exit 1
  fi
  sleep 0.1
done

echo "==> a local apt repository from real Debian packages (scripts/aptrepo.sh, cached in $apt_dir)"
bash scripts/aptrepo.sh "$apt_dir" >"$demo_dir/aptrepo.log" 2>&1 || { cat "$demo_dir/aptrepo.log" >&2; exit 1; }
export BERTH_APT_URL="file://$apt_dir"

cd examples/goapp
echo
echo "==> berth build app --push $addr/example/app:1.0.0   (examples/goapp/berth.yaml)"
berth build app --push "$addr/example/app:1.0.0"
echo
echo "==> the same build again: every layer comes from the cache"
time berth build app --push "$addr/example/app:1.0.0" -q
echo
echo "==> the dev variant: the prod layers plus busybox"
berth build app --variant dev --push "$addr/example/app:1.0.0-dev" -q
cd "$repo_root"

echo
echo "==> berth inspect $addr/example/app:1.0.0"
berth inspect "$addr/example/app:1.0.0" --top 5

echo
echo "==> starting the engine (berth daemon; it starts berth's proxy for published ports)"
sock="$demo_dir/berth.sock"
export BERTH_SOCKET="$sock"
if [[ -f "$demo_dir/daemon.pid" ]]; then
  (cd examples/goapp && berth down -v >/dev/null 2>&1) || true
  kill "$(cat "$demo_dir/daemon.pid")" 2>/dev/null || true
  rm -f "$demo_dir/daemon.pid"
  for _ in $(seq 1 100); do [[ -S "$sock" ]] || break; sleep 0.1; done
fi
berth daemon --root "$demo_dir/engine" --run-dir "$demo_dir/run" --socket "$sock" 2>"$demo_dir/daemon.log" &
echo $! >"$demo_dir/daemon.pid"
for _ in $(seq 1 100); do
  [[ -S "$sock" ]] && break
  sleep 0.1
done
app_port="${BERTH_DEMO_APP_PORT:-8080}"
registry_port="${addr##*:}"
ship=(berth ship --environment demo --set APP_PORT="$app_port" --set REGISTRY_PORT="$registry_port")

echo
echo "==> berth ship --environment demo: build, push to $addr, deploy 2 replicas behind the proxy on 127.0.0.1:$app_port"
(cd examples/goapp && "${ship[@]}" --tag 1.0.0)
for _ in 1 2 3 4; do
  echo "GET http://127.0.0.1:$app_port/version -> $(curl -fsS "http://127.0.0.1:$app_port/version")"
done

echo
echo "==> shipping version 2.0.0 while 8 clients send requests without pause"
go build -o "$demo_dir/loadgen" ./test/loadgen/cmd/loadgen
"$demo_dir/loadgen" -url "http://127.0.0.1:$app_port/version" -c 8 >"$demo_dir/load.txt" 2>"$demo_dir/load.log" &
load_pid=$!
sleep 1
(cd examples/goapp && "${ship[@]}" --set VERSION=2.0.0 --tag 2.0.0)
sleep 1
kill -INT "$load_pid"
wait "$load_pid" || true
echo "load during the release: $(cat "$demo_dir/load.txt")"
echo "GET http://127.0.0.1:$app_port/version -> $(curl -fsS "http://127.0.0.1:$app_port/version")"

echo
echo "==> berth history app"
(cd examples/goapp && berth history app)
echo
echo "==> berth ps"
(cd examples/goapp && berth ps)

echo
echo "catalog:"
crane catalog --insecure "$addr" | sed 's/^/  /'
echo "tags of example/app:"
crane ls --insecure "$addr/example/app" | sed 's/^/  /'
echo
echo "The registry keeps running on http://$addr (pid $(cat "$demo_dir/registry.pid"), log .demo/registry.log)."
echo "The app runs under berth's engine on http://127.0.0.1:$app_port (cd examples/goapp; BERTH_SOCKET=$sock berth ps | logs | history app | rollback app)."
echo "Stop everything with: (cd examples/goapp && BERTH_SOCKET=$sock berth down -v); kill \$(cat .demo/daemon.pid) \$(cat .demo/registry.pid)"
