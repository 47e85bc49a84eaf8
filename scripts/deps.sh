#!/usr/bin/env bash
# deps.sh installs what berth's end-to-end tests drive: the real registry
# clients (skopeo, podman, docker, crane, regctl), the anchor registry
# (CNCF distribution, Debian's docker-registry), busybox-static for the test
# image, wrk for load tests, pebble (an ACME CA) for the proxy's automatic TLS,
# and chromium for the console's browser tests.
#
# Idempotent: it only touches apt when a package is missing and only runs
# `go install` when bin/ lacks the pinned version. Needs root for apt (CI runs
# it as root on a clean Debian 12). Downloads only through apt and the Go
# module proxy.
#
#   usage: scripts/deps.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bindir="$repo/bin"

# Pinned tool versions: bump deliberately, the e2e tests depend on their flags.
crane_module="github.com/google/go-containerregistry"
crane_pkg="$crane_module/cmd/crane"
crane_version="v0.22.1"
regctl_module="github.com/regclient/regclient"
regctl_pkg="$regctl_module/cmd/regctl"
regctl_version="v0.11.7"
# cosign: the trust interop tests (test/trust) sign and verify both ways.
# v3 is installed as bin/cosign3 beside v2 (both CLIs are called cosign).
cosign_module="github.com/sigstore/cosign/v2"
cosign_pkg="$cosign_module/cmd/cosign"
cosign_version="v2.6.5"
cosign3_module="github.com/sigstore/cosign/v3"
cosign3_pkg="$cosign3_module/cmd/cosign"
cosign3_version="v3.1.3"
# syft: the reference SBOM tool berth's SBOMs are compared with
# (test/e2e/build_sbom_test.go, bench/buildbench -sbom).
syft_module="github.com/anchore/syft"
syft_pkg="$syft_module/cmd/syft"
syft_version="v1.57.2"
# pebble: the ACME CA (and its DNS test server) the proxy's automatic-TLS
# tests get certificates from (internal/proxy, acme_*_test.go).
pebble_module="github.com/letsencrypt/pebble/v2"
pebble_pkg="$pebble_module/cmd/pebble"
challtestsrv_pkg="$pebble_module/cmd/pebble-challtestsrv"
pebble_version="v2.10.3"

# Debian packages. docker.io pulls containerd, runc and tini; podman pulls
# conmon and its runtime. podman needs some network stack even for
# --network none; naming netavark keeps apt from picking one at random.
# Tests run as root with the vfs storage driver and --network none, so
# neither fuse-overlayfs nor uidmap nor slirp4netns is needed.
apt_packages=(
	skopeo
	podman
	netavark
	docker.io
	docker-registry
	busybox-static
	runc
	iptables
	wrk
	ca-certificates
	# berth's engine: CNI plugins (bridge, host-local, portmap, firewall)
	containernetworking-plugins
	# scripts/aptrepo.sh: the local apt repository the build tests use
	gnupg
	dpkg-dev
	xz-utils
	# the console's browser tests (internal/console, test/engine's
	# TestConsole*) drive Debian's headless chromium with chromedp
	chromium
)

log() { printf 'deps: %s\n' "$*"; }

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for p in "${apt_packages[@]}"; do
	if ! installed "$p"; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	log "apt: all ${#apt_packages[@]} packages already installed"
else
	if [ "$(id -u)" -ne 0 ]; then
		log "apt: missing ${missing[*]} and not root; rerun as root" >&2
		exit 1
	fi
	log "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Go: CI images have it at /usr/local/go; PATH may not include it under sudo.
gobin="$(command -v go || true)"
if [ -z "$gobin" ] && [ -x /usr/local/go/bin/go ]; then
	gobin=/usr/local/go/bin/go
fi
if [ -z "$gobin" ]; then
	log "go: not found (need it for crane and regctl)" >&2
	exit 1
fi

# module_version prints the main module version a Go binary was built from,
# or nothing when the file is missing or not a Go binary.
module_version() {
	[ -x "$1" ] || return 0
	"$gobin" version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# go_tool NAME MODULE PKG VERSION [BINARY]: BINARY (default NAME) is the
# name `go install` gives the command; it is renamed to NAME in bin/.
go_tool() {
	local name="$1" module="$2" pkg="$3" want="$4" built="${5:-$1}" have tmp
	have="$(module_version "$bindir/$name")"
	if [ "$have" = "$want" ]; then
		log "$name: $want already in bin/"
		return
	fi
	log "$name: installing $pkg@$want into bin/ (had: ${have:-none})"
	mkdir -p "$bindir"
	tmp="$(mktemp -d "$bindir/.install.XXXXXX")"
	# GOFLAGS from the environment (e.g. -mod=vendor) must not leak into an
	# install outside this module; CGO off gives static binaries.
	if ! GOBIN="$tmp" GOFLAGS= CGO_ENABLED=0 "$gobin" install "$pkg@$want"; then
		rm -rf "$tmp"
		log "$name: go install $pkg@$want failed" >&2
		return 1
	fi
	mv -f "$tmp/$built" "$bindir/$name"
	rm -rf "$tmp"
	have="$(module_version "$bindir/$name")"
	if [ "$have" != "$want" ]; then
		log "$name: installed binary reports ${have:-nothing}, want $want ($module)" >&2
		exit 1
	fi
}

go_tool crane "$crane_module" "$crane_pkg" "$crane_version"
go_tool regctl "$regctl_module" "$regctl_pkg" "$regctl_version"
go_tool cosign "$cosign_module" "$cosign_pkg" "$cosign_version"
# cosign v3 needs a recent Go; the tests skip the v3 cases without it.
go_tool cosign3 "$cosign3_module" "$cosign3_pkg" "$cosign3_version" cosign ||
	log "cosign3: not installed; the cosign v3 interop cases will skip"

# The Go vulnerability database (its data/osv holds the published OSV
# records): internal/vuln's tests, the scan e2e test and bench/scanbench
# import it from the module cache. Not a dependency of berth's build.
vulndb_module="golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"
log "vulndb: $vulndb_module into the module cache"
GOFLAGS= "$gobin" mod download "$vulndb_module"
go_tool syft "$syft_module" "$syft_pkg" "$syft_version"
go_tool pebble "$pebble_module" "$pebble_pkg" "$pebble_version"
go_tool pebble-challtestsrv "$pebble_module" "$challtestsrv_pkg" "$pebble_version"

log "done"
