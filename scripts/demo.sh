#!/usr/bin/env bash
# make demo: start berth's registry on loopback, build the example Go app
# from Debian packages with `berth build` (no RUN steps, no Docker), push it,
# then show what the registry holds and what the image is made of.
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
echo "==> starting the engine (berth daemon) and running the app with berth up"
sock="$demo_dir/berth.sock"
if [[ -f "$demo_dir/daemon.pid" ]]; then
  BERTH_SOCKET="$sock" berth down -p goapp --file examples/goapp/berth.yaml >/dev/null 2>&1 || true
  kill "$(cat "$demo_dir/daemon.pid")" 2>/dev/null || true
  rm -f "$demo_dir/daemon.pid"
fi
berth daemon --root "$demo_dir/engine" --run-dir "$demo_dir/run" --socket "$sock" 2>"$demo_dir/daemon.log" &
echo $! >"$demo_dir/daemon.pid"
for _ in $(seq 1 100); do
  [[ -S "$sock" ]] && break
  sleep 0.1
done
export BERTH_SOCKET="$sock"
app_port="${BERTH_DEMO_APP_PORT:-8080}"
(cd examples/goapp && berth up --set APP_PORT="$app_port")
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$app_port/version" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "GET http://127.0.0.1:$app_port/version -> $(curl -fsS "http://127.0.0.1:$app_port/version")"
berth ps

echo
echo "catalog:"
crane catalog --insecure "$addr" | sed 's/^/  /'
echo "tags of example/app:"
crane ls --insecure "$addr/example/app" | sed 's/^/  /'
echo
echo "The registry keeps running on http://$addr (pid $(cat "$demo_dir/registry.pid"), log .demo/registry.log)."
echo "The app runs under berth's engine on http://127.0.0.1:$app_port (BERTH_SOCKET=$sock berth ps | logs | down)."
echo "Stop everything with: BERTH_SOCKET=$sock berth down -p goapp; kill \$(cat .demo/daemon.pid) \$(cat .demo/registry.pid)"
