#!/usr/bin/env bash
# scripts/build-deb.sh - builds the Debian packages libseqnet1 and
# libseqnet-dev from debian/ and checks them with lintian.
#
#   scripts/build-deb.sh [OUTDIR]        (default OUTDIR: build/deb)
#
# Copies the working tree's files that git tracks or would track (not the
# ignored build outputs) into a temporary folder, runs `dpkg-buildpackage -us -uc -b` there
# (so that nothing is written beside the repository), runs lintian on the
# result and fails on any lintian error, then moves the .deb files, the
# .changes and .buildinfo and lintian's report into OUTDIR.  Needs
# dpkg-dev, debhelper, lintian and the Build-Depends of debian/control
# (.ci/run installs them).  Also checks that debian/changelog's version is
# the header's.  Install with `apt-get install ./build/deb/*.deb`.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-build/deb}

say() { printf 'build-deb: %s\n' "$*"; }

field() { sed -n -E "s/^[[:space:]]*#[[:space:]]*define[[:space:]]+SN_VERSION_$1[[:space:]]+([0-9]+).*/\\1/p" include/seqnet.h; }
version="$(field MAJOR).$(field MINOR).$(field PATCH)"
deb_version=$(dpkg-parsechangelog -S Version)
case $deb_version in
    "$version"|"$version"-*|"$version"+*) ;;
    *) say "debian/changelog says $deb_version but include/seqnet.h says $version"; exit 1 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src="$tmp/libseqnet-$version"
mkdir -p "$src"
# Tracked and new (not ignored) files as they are in the working tree
# (deleted ones skipped).
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$src"

say "dpkg-buildpackage -us -uc -b in $src"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=${JOBS:-2} ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 || {
    tail -n 60 "$tmp/build.log"
    say "dpkg-buildpackage failed (log above)"
    exit 1
}

mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
changes=$(ls "$tmp"/libseqnet_*.changes)
say "lintian $(basename "$changes")"
lintian --fail-on error --display-info "$changes" >"$out/lintian.txt" 2>&1 && lintian_rc=0 || lintian_rc=$?
sed 's/^/  /' "$out/lintian.txt"
mv "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out/"
cp "$tmp/build.log" "$out/build.log"
if [ "$lintian_rc" -ne 0 ]; then
    say "lintian reports errors (above, and in $out/lintian.txt)"
    exit 1
fi
say "built, lintian clean of errors: $(cd "$out" && ls ./*.deb | tr '\n' ' ')"
