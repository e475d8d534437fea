#!/usr/bin/env bash
# scripts/get-data.sh - puts the IMDB Large Movie Review Dataset (aclImdb v1)
# into data/aclImdb/ (git-ignored), for sn_imdb_load and the examples.
#
#   scripts/get-data.sh            (or: make data)
#
# Uses the project's shared copy when there is one: $SN_SHARED/data/imdb/
# aclImdb_v1.tar.gz, by default ../shared relative to the repository root;
# otherwise downloads the upstream tarball from Stanford with curl or wget.
# Either way the tarball's sha256 must be one of the two known ones (the
# shared, normalised tarball or the upstream one) before anything is
# extracted.  Does nothing when data/aclImdb already holds every review.
set -euo pipefail

cd "$(dirname "$0")/.."

URL=https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz
SHA_SHARED=15efe61b046bab2235aba67dd0c29f9768a163a0b62ec53fbed7c6f03e292738
SHA_UPSTREAM=c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe
DEST=data
SHARED_TARBALL=${SN_SHARED:-../shared}/data/imdb/aclImdb_v1.tar.gz

say() { printf 'get-data: %s\n' "$*"; }
die() { printf 'get-data: error: %s\n' "$*" >&2; exit 1; }

# Number of review files in data/aclImdb/<folder>.
count_reviews() {
    local dir=$DEST/aclImdb/$1
    if [ -d "$dir" ]; then
        find "$dir" -maxdepth 1 -name '*_*.txt' | wc -l
    else
        echo 0
    fi
}

complete() {
    [ "$(count_reviews train/pos)" -eq 12500 ] &&
        [ "$(count_reviews train/neg)" -eq 12500 ] &&
        [ "$(count_reviews train/unsup)" -eq 50000 ] &&
        [ "$(count_reviews test/pos)" -eq 12500 ] &&
        [ "$(count_reviews test/neg)" -eq 12500 ]
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        die "neither sha256sum nor shasum is installed"
    fi
}

download() {
    local out=$1
    say "downloading $URL (about 80 MiB)"
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 3 -o "$out" "$URL" || die "download failed: $URL"
    elif command -v wget >/dev/null 2>&1; then
        wget -O "$out" "$URL" || die "download failed: $URL"
    else
        die "no shared tarball at $SHARED_TARBALL and neither curl nor" \
            "wget is installed to download $URL"
    fi
}

if complete; then
    say "$DEST/aclImdb is already complete (100,000 reviews); nothing to do"
    exit 0
fi

mkdir -p "$DEST"
tmp=$(mktemp -d "$DEST/.get-data.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -r "$SHARED_TARBALL" ]; then
    say "using the shared tarball $SHARED_TARBALL"
    tarball=$SHARED_TARBALL
else
    say "no shared tarball at $SHARED_TARBALL"
    tarball=$tmp/aclImdb_v1.tar.gz
    download "$tarball"
fi

sum=$(sha256_of "$tarball")
case $sum in
    "$SHA_SHARED") say "sha256 ok (the shared, normalised tarball)" ;;
    "$SHA_UPSTREAM") say "sha256 ok (the upstream tarball)" ;;
    *) die "$tarball has sha256 $sum, expected $SHA_SHARED (shared)" \
           "or $SHA_UPSTREAM (upstream); refusing to extract it" ;;
esac

say "extracting into $DEST/aclImdb"
tar -xzf "$tarball" -C "$tmp" aclImdb
rm -rf "$DEST/aclImdb"
mv "$tmp/aclImdb" "$DEST/aclImdb"

complete || die "$DEST/aclImdb is incomplete after extraction"
say "done: $DEST/aclImdb (train 25,000 + unsup 50,000 + test 25,000 reviews)"
