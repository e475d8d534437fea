#!/usr/bin/env bash
# test/abi_diff.sh - compares the built libseqnet.so with the committed ABI
# baseline, abi/libseqnet.abi (abidw output of the current release; docs/ABI.md).
#
#   - an incompatible change fails, unless the SONAME major was bumped since
#     the baseline: a function or variable removed or changed (a parameter,
#     a return type, a struct it reaches), or anything abidiff itself calls
#     incompatible (exit bit 8).  Not counted: fields appended to the
#     size-prefixed structs (abi/libseqnet.suppr) and what abidiff deems
#     harmless (e.g. enumerators appended);
#   - any other change (a function added, ...) must be written down in the
#     [Unreleased] section of CHANGELOG.md: every function abidiff names
#     must appear there, or the check fails;
#   - no change: passes.
#
# The baseline is regenerated with `make abi-baseline` (at a release, after
# a SONAME bump, or once a recorded change is accepted).  `make check` runs
# this when abidiff is installed (Debian: abigail-tools) and skips it
# otherwise, except with SN_TEST_STRICT=1 (CI, `make abi-check`), where a
# missing abidiff fails.  SN_LIBDIR picks the library directory.  Last
# line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

libdir=${SN_LIBDIR:-lib}
baseline=${SN_ABI_BASELINE:-abi/libseqnet.abi}
header=include/seqnet.h
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support/report.sh"

if [ "${SN_SANITIZE:-}" = 1 ]; then
    echo "skipped: compares the normal build, not a SANITIZE=1 one"
    exit 0
fi
if ! command -v abidw >/dev/null 2>&1 || ! command -v abidiff >/dev/null 2>&1; then
    if [ "${SN_TEST_STRICT:-0}" = 1 ]; then
        fail "abidw/abidiff not installed (apt-get install abigail-tools)"
        finish
    fi
    echo "skipped: abidiff is not installed (apt-get install abigail-tools)"
    exit 0
fi

version_field() {
    sed -n -E "s/^[[:space:]]*#[[:space:]]*define[[:space:]]+SN_VERSION_$1[[:space:]]+([0-9]+).*/\\1/p" "$header"
}
version="$(version_field MAJOR).$(version_field MINOR).$(version_field PATCH)"
so="$libdir/libseqnet.so.$version"
if [ ! -f "$so" ]; then
    fail "$so not built"
    finish
fi
if [ ! -f "$baseline" ]; then
    fail "no ABI baseline $baseline (make abi-baseline)"
    finish
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-abi.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# The same flags as `make abi-baseline` (ABIDW_FLAGS in the Makefile).
if abidw --headers-dir include --drop-private-types --no-corpus-path \
        --no-comp-dir-path --out-file "$tmp/current.abi" "$so" >"$tmp/abidw.log" 2>&1; then
    pass "abidw $so"
else
    cat "$tmp/abidw.log"
    fail "abidw $so"
    finish
fi

old_soname=$(sed -n "1s/.* soname='\\([^']*\\)'.*/\\1/p" "$baseline")
new_soname=$(sed -n "1s/.* soname='\\([^']*\\)'.*/\\1/p" "$tmp/current.abi")

abidiff --no-show-locs --suppressions abi/libseqnet.suppr \
    "$baseline" "$tmp/current.abi" >"$tmp/report" 2>&1
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
    cat "$tmp/report"
    fail "abidiff could not compare (exit $rc)"
    finish
fi
if [ "$rc" -eq 0 ]; then
    pass "ABI identical to the baseline ($old_soname, $baseline)"
    finish
fi

sed 's/^/    /' "$tmp/report"
# "Functions changes summary: R Removed, C Changed (...), A Added functions"
breaking=$(awk '/changes summary:/ {
        for (i = 1; i <= NF; i++)
            if (($i == "Removed," || $i == "Changed" || $i == "Changed,") && $(i - 1) + 0 > 0)
                n += $(i - 1)
    } END { print n + 0 }' "$tmp/report")
if [ $((rc & 8)) -ne 0 ] || [ "$breaking" -gt 0 ]; then
    if [ "$old_soname" != "$new_soname" ]; then
        pass "incompatible changes, and the SONAME was bumped ($old_soname -> $new_soname); run make abi-baseline"
    else
        fail "incompatible ABI change with the same SONAME $new_soname (see the report above): keep the old ABI, or bump SN_VERSION_MAJOR (docs/ABI.md)"
    fi
else
    pass "only compatible changes against the baseline"
fi

# Every function the report names must be in CHANGELOG.md's [Unreleased].
unreleased=$(awk '/^## \[Unreleased\]/ { on = 1; next } /^## \[/ { on = 0 } on' CHANGELOG.md)
names=$(grep -oE "'function [^']*" "$tmp/report" | grep -oE '\bsn_[A-Za-z0-9_]+\(' | tr -d '(' | sort -u)
unrecorded=''
for n in $names; do
    if ! printf '%s\n' "$unreleased" | grep -q "\\b$n\\b"; then
        unrecorded="$unrecorded $n"
    fi
done
if [ -z "$names" ]; then
    fail "abidiff reported a change but named no function (see the report above)"
elif [ -z "$unrecorded" ]; then
    pass "every changed function is in CHANGELOG.md [Unreleased]: $(echo $names)"
else
    fail "ABI changes not recorded in CHANGELOG.md [Unreleased]:$unrecorded"
fi
finish
