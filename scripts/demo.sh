#!/usr/bin/env bash
# make demo: start berth's registry on loopback, build a small image from
# busybox-static with crane, push it, and show what the registry holds.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD
export PATH="$repo_root/bin:$PATH"

demo_dir="$repo_root/.demo"
addr="${BERTH_DEMO_ADDR:-127.0.0.1:5000}"
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

echo "==> building a rootfs from busybox-static"
rootfs="$demo_dir/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for app in sh echo cat ls httpd wget; do ln -sf busybox "$rootfs/bin/$app"; done
echo "hello from an image stored in berth's registry" >"$rootfs/etc/motd"
# Reproducible tar: sorted names, fixed owner and mtime.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
  -C "$rootfs" -cf "$demo_dir/rootfs.tar" .

echo "==> pushing demo/busybox:v1"
crane append --insecure -f "$demo_dir/rootfs.tar" -t "$addr/demo/busybox:v1"
crane mutate --insecure "$addr/demo/busybox:v1" --entrypoint /bin/sh --cmd "-c,cat /etc/motd" -t "$addr/demo/busybox:v1" >/dev/null
echo "==> tagging v1 as latest and copying to a second repository (a cross-repository mount)"
crane tag --insecure "$addr/demo/busybox:v1" latest
crane copy --insecure "$addr/demo/busybox:v1" "$addr/demo/copy:v1"

echo
echo "catalog:"
crane catalog --insecure "$addr" | sed 's/^/  /'
echo "tags of demo/busybox:"
crane ls --insecure "$addr/demo/busybox" | sed 's/^/  /'
echo "manifest of demo/busybox:v1 ($(crane digest --insecure "$addr/demo/busybox:v1")):"
crane manifest --insecure "$addr/demo/busybox:v1" | sed 's/^/  /'
echo
echo "The registry keeps running on http://$addr (pid $(cat "$demo_dir/registry.pid"), log .demo/registry.log)."
echo "Stop it with: kill \$(cat .demo/registry.pid)"
