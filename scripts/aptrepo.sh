#!/usr/bin/env bash
# aptrepo.sh DIR [PACKAGE...] — build a signed local apt repository from REAL
# Debian packages, for berth's tests (internal/deb, berth build e2e).
#
# What DIR holds afterwards:
#   pool/main/*.deb                    the dependency closure of PACKAGE...
#                                      (default: base-files netbase tzdata
#                                      ca-certificates libc6 nginx-light busybox)
#                                      as apt on this machine resolves it, via
#                                      `apt-cache depends --recurse` without
#                                      Recommends/Suggests (every alternative of
#                                      an OR-group is included, so the repository
#                                      is a superset of what a resolver picks)
#   pool/updates/*.deb                 a NEWER version of one small package
#                                      ($TWO_VERSION_PKG, default tzdata)
#   dists/bookworm/                    suite "bookworm", component main:
#       main/binary-amd64/Packages{,.gz,.xz}   all packages (arch amd64 + all)
#       main/binary-all/Packages{,.gz,.xz}     the Architecture: all ones only,
#                                              as Debian's own mirrors do
#       Release, InRelease, Release.gpg
#   dists/bookworm-updates/            suite "bookworm-updates", component main:
#                                      only the newer $TWO_VERSION_PKG, so that
#                                      `berth diff`/rebase tests see a package
#                                      version change when they add this suite.
#   keys/repo.gpg, keys/repo.asc       the public key (binary and armored) that
#                                      signs both suites; keys/gnupg is the
#                                      throwaway GnuPG home with the secret key
#
# The two versions of $TWO_VERSION_PKG: if apt knows two or more versions of it,
# suite bookworm gets the second-highest and bookworm-updates the highest (both
# are real Debian builds). Otherwise the package is repacked with dpkg-deb with
# Version "<version>+berth1" for bookworm-updates.
#
# Idempotent: DIR/.complete records the package list and the script revision;
# when it matches nothing is done. Debs already in the pool are not downloaded
# again. Concurrent runs on the same DIR are serialised with flock.
#
# Serve it with any static HTTP server on loopback, e.g.
#   cd DIR && python3 -m http.server --bind 127.0.0.1 8000
# and point a repository at http://127.0.0.1:8000 (suite bookworm, component
# main, keyring DIR/keys/repo.gpg). Tests use Go's http.FileServer instead.
#
# Needs: apt-get/apt-cache (with `apt-get update` done — run if the lists are
# empty), dpkg-scanpackages (dpkg-dev), gpg (gnupg), gzip, xz; missing ones are
# installed with apt-get when running as root.
set -euo pipefail

REVISION=2 # bump when the layout changes so existing caches are rebuilt
SUITE=bookworm
UPDATES_SUITE=bookworm-updates
ARCH=amd64
TWO_VERSION_PKG=${TWO_VERSION_PKG:-tzdata}
DEFAULT_PACKAGES=(base-files netbase tzdata ca-certificates libc6 nginx-light busybox)

log() { printf 'aptrepo: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -ge 1 ] || die "usage: $0 DIR [PACKAGE...]"
DIR=$1
shift
if [ $# -gt 0 ]; then PACKAGES=("$@"); else PACKAGES=("${DEFAULT_PACKAGES[@]}"); fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# One run at a time per DIR: tests in several packages may share the cache.
exec 9>"$DIR/.lock"
flock 9

WANT_MARKER="revision=$REVISION suite=$SUITE arch=$ARCH two=$TWO_VERSION_PKG packages=$(printf '%s\n' "${PACKAGES[@]}" | sort -u | tr '\n' ' ')"
if [ -f "$DIR/.complete" ] && [ "$(cat "$DIR/.complete")" = "$WANT_MARKER" ]; then
	log "$DIR is complete ($(ls "$DIR/pool/main" | wc -l) packages in main); nothing to do"
	exit 0
fi
rm -f "$DIR/.complete"

need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || die "$1 is missing (install $2)"
	log "installing $2 for $1"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >&2
}
need apt-get apt
need dpkg-scanpackages dpkg-dev
need gpg gnupg
need xz xz-utils
need flock util-linux

# (captured first: grep -q closing the pipe early would trip pipefail)
policy=$(apt-cache policy base-files 2>/dev/null || true)
if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
	log "apt lists are empty; running apt-get update"
	apt-get update -q >&2
fi

# --- dependency closure --------------------------------------------------
# Top-level lines of `apt-cache depends --recurse` are package names; virtual
# packages are printed as <name> and have nothing to download.
mapfile -t CLOSURE < <(
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "${PACKAGES[@]}" |
		grep -v '^[[:space:]<]' | sed 's/:'"$ARCH"'$//' | sort -u
)
[ ${#CLOSURE[@]} -gt 0 ] || die "empty closure for ${PACKAGES[*]}"
log "closure of ${PACKAGES[*]}: ${#CLOSURE[@]} packages"

mkdir -p "$DIR/pool/main" "$DIR/pool/updates"

# versions of TWO_VERSION_PKG known to apt, highest first
mapfile -t TWO_VERSIONS < <(apt-cache madison "$TWO_VERSION_PKG" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u | sort -r -V)
OLD_VERSION=""
NEW_VERSION=""
if [ ${#TWO_VERSIONS[@]} -ge 2 ]; then
	NEW_VERSION=${TWO_VERSIONS[0]}
	OLD_VERSION=${TWO_VERSIONS[1]}
	# sort -V is not dpkg ordering; let dpkg decide
	if dpkg --compare-versions "$OLD_VERSION" gt "$NEW_VERSION"; then
		t=$OLD_VERSION OLD_VERSION=$NEW_VERSION NEW_VERSION=$t
	fi
fi

# apt-get download writes name_version_arch.deb with ':' escaped as %3a.
download() { # download DEST SPEC...
	local dest=$1
	shift
	# as root apt would try to drop to _apt, which cannot write to DIR
	(cd "$dest" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2)
}

missing=()
for p in "${CLOSURE[@]}"; do
	if [ "$p" = "$TWO_VERSION_PKG" ] && [ -n "$OLD_VERSION" ]; then
		continue # downloaded below at the older version
	fi
	ls "$DIR/pool/main/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "downloading ${#missing[@]} packages into pool/main"
	download "$DIR/pool/main" "${missing[@]}"
else
	log "all closure packages already in pool/main"
fi

# --- the two versions ----------------------------------------------------
fabricate() {
	local src deb ver work
	src=$(ls "$DIR/pool/main/${TWO_VERSION_PKG}_"*.deb 2>/dev/null | head -n1)
	if [ -z "$src" ]; then
		download "$DIR/pool/main" "$TWO_VERSION_PKG"
		src=$(ls "$DIR/pool/main/${TWO_VERSION_PKG}_"*.deb | head -n1)
	fi
	ver=$(dpkg-deb --field "$src" Version)
	NEW_VERSION="$ver+berth1"
	work=$(mktemp -d)
	dpkg-deb -R "$src" "$work/root"
	sed -i "s/^Version: .*/Version: $NEW_VERSION/" "$work/root/DEBIAN/control"
	deb="$DIR/pool/updates/${TWO_VERSION_PKG}_${NEW_VERSION//:/%3a}_$(dpkg-deb --field "$src" Architecture).deb"
	dpkg-deb -Zxz --root-owner-group -b "$work/root" "$deb" >/dev/null
	rm -rf "$work"
	log "fabricated $TWO_VERSION_PKG $NEW_VERSION (repacked $ver) into pool/updates"
}

if ! ls "$DIR/pool/updates/${TWO_VERSION_PKG}_"*.deb >/dev/null 2>&1; then
	rm -f "$DIR/pool/updates/"*.deb
	if [ -n "$OLD_VERSION" ] &&
		download "$DIR/pool/main" "$TWO_VERSION_PKG=$OLD_VERSION" &&
		download "$DIR/pool/updates" "$TWO_VERSION_PKG=$NEW_VERSION"; then
		log "$TWO_VERSION_PKG: $OLD_VERSION in $SUITE, $NEW_VERSION in $UPDATES_SUITE (both from apt)"
	else
		OLD_VERSION=""
		fabricate
	fi
fi
# Keep exactly one version of every package in pool/main (an earlier run may
# have left the candidate of TWO_VERSION_PKG there as well).
n_two=$(ls "$DIR/pool/main/${TWO_VERSION_PKG}_"*.deb | wc -l)
if [ "$n_two" -gt 1 ] && [ -n "$OLD_VERSION" ]; then
	for f in "$DIR/pool/main/${TWO_VERSION_PKG}_"*.deb; do
		[ "$(dpkg-deb --field "$f" Version)" = "$OLD_VERSION" ] || rm -f "$f"
	done
fi

# apt-get download spells an epoch into the file name ("busybox_1%3a1.35…");
# Debian's pool leaves it out, and so do we.
for f in "$DIR"/pool/*/*%3a*.deb; do
	[ -e "$f" ] || continue
	mv -f "$f" "$(dirname "$f")/$(basename "$f" | sed -E 's/_[0-9]+%3a/_/')"
done

# --- indexes ---------------------------------------------------------------
# Packages for one suite/component/arch; pool paths are relative to DIR.
scan() { # scan POOLDIR SUITE ARCH
	local out="$DIR/dists/$2/main/binary-$3"
	mkdir -p "$out"
	(cd "$DIR" && dpkg-scanpackages -a "$3" "$1" /dev/null 2>/dev/null) >"$out/Packages"
	gzip -9n <"$out/Packages" >"$out/Packages.gz"
	xz -9 <"$out/Packages" >"$out/Packages.xz"
	log "dists/$2/main/binary-$3: $(grep -c '^Package:' "$out/Packages" || true) packages"
}

release() { # release SUITE — write Release listing every index file
	local suite=$1 d="$DIR/dists/$1" f
	{
		echo "Origin: berth-test"
		echo "Label: berth-test"
		echo "Suite: $suite"
		echo "Codename: $suite"
		echo "Date: $(LC_ALL=C date -u -R)"
		echo "Architectures: $ARCH all"
		echo "Components: main"
		echo "Description: berth test repository built by scripts/aptrepo.sh"
		echo "SHA256:"
		(cd "$d" && find main -type f -name 'Packages*' | LC_ALL=C sort) | while read -r f; do
			printf ' %s %16d %s\n' "$(sha256sum "$d/$f" | cut -d' ' -f1)" "$(stat -c %s "$d/$f")" "$f"
		done
	} >"$d/Release"
}

KEYS="$DIR/keys"
GNUPGHOME="$KEYS/gnupg"
export GNUPGHOME
mkdir -p "$GNUPGHOME"
chmod 700 "$GNUPGHOME"
secret=$(gpg --batch --list-secret-keys 2>/dev/null || true)
if ! grep -q '^sec' <<<"$secret"; then
	log "generating a throwaway signing key in $GNUPGHOME"
	gpg --batch -q --passphrase '' --quick-gen-key 'berth test repository <aptrepo@berth.invalid>' ed25519 sign never >&2
fi
gpg --batch -q --yes --export >"$KEYS/repo.gpg"
gpg --batch -q --yes --armor --export >"$KEYS/repo.asc"

sign() { # sign SUITE
	local d="$DIR/dists/$1"
	rm -f "$d/InRelease" "$d/Release.gpg"
	gpg --batch -q --yes --digest-algo SHA512 --clearsign -o "$d/InRelease" "$d/Release"
	gpg --batch -q --yes --digest-algo SHA512 --armor --detach-sign -o "$d/Release.gpg" "$d/Release"
}

rm -rf "$DIR/dists"
scan pool/main "$SUITE" "$ARCH"
scan pool/main "$SUITE" all
release "$SUITE"
sign "$SUITE"
scan pool/updates "$UPDATES_SUITE" "$ARCH"
scan pool/updates "$UPDATES_SUITE" all
release "$UPDATES_SUITE"
sign "$UPDATES_SUITE"
gpgconf --kill gpg-agent 2>/dev/null || true

echo "$WANT_MARKER" >"$DIR/.complete"
log "done: $DIR ($(ls "$DIR/pool/main" | wc -l) debs in pool/main, $(ls "$DIR/pool/updates" | wc -l) in pool/updates; keyring $KEYS/repo.gpg)"
