#!/usr/bin/env bash
# test/api_doc.sh - the API reference is complete: Doxygen (as `make doc`)
# runs over include/seqnet.h without a single warning (an undocumented
# public function, type, field or macro is one), writes the HTML index, and
# a section-3 man page exists for every SN_API function, every sn_* type
# and every SN_* macro the header declares, and no other (after
# docs/doxygen/postprocess.sh, as `make doc`).
#
# `make check` runs it; without doxygen it skips, unless SN_TEST_STRICT=1
# (CI), where it fails.  Last line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support/report.sh"

if ! command -v doxygen >/dev/null 2>&1; then
    if [ "${SN_TEST_STRICT:-0}" = 1 ]; then
        fail "doxygen not installed (SN_TEST_STRICT=1)"
        finish
    fi
    echo "skipped: doxygen is not installed (apt-get install doxygen)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-apidoc.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

header=include/seqnet.h
if SN_DOC_VERSION=test SN_DOC_OUT="$tmp" doxygen docs/doxygen/Doxyfile >"$tmp/log" 2>&1; then
    pass "doxygen docs/doxygen/Doxyfile"
else
    cat "$tmp/log"
    fail "doxygen failed"
    finish
fi
sh docs/doxygen/postprocess.sh "$tmp"
if [ -s "$tmp/warnings.log" ]; then
    sed "s|$PWD/||" "$tmp/warnings.log"
    fail "Doxygen warnings: $(grep -c . "$tmp/warnings.log") (document every public declaration)"
else
    pass "no Doxygen warning: every public declaration is documented"
fi
if [ -s "$tmp/html/index.html" ] && [ -s "$tmp/html/seqnet_8h.html" ]; then
    pass "HTML reference written (index.html, seqnet_8h.html)"
else
    fail "no HTML reference"
fi

# What the header declares.
funcs=$(awk '
    /^[[:space:]]*SN_API[[:space:]]/ { decl = ""; on = 1 }
    on {
        decl = decl " " $0
        if (match(decl, /sn_[A-Za-z0-9_]*[[:space:]]*\(/)) {
            name = substr(decl, RSTART, RLENGTH); sub(/[[:space:]]*\($/, "", name)
            print name; on = 0
        }
    }' "$header" | sort -u)
types=$(sed -n -E 's/^typedef[[:space:]]+(struct|enum|union)[[:space:]]+[a-z0-9_]+[[:space:]]+\**(sn_[a-z0-9_]+);.*/\2/p; s/^}[[:space:]]*(sn_[a-z0-9_]+);.*/\1/p; s/^typedef[^(]*\(\*(sn_[a-z0-9_]+)\).*/\1/p' "$header" | sort -u)
macros=$(sed -n -E 's/^#define[[:space:]]+(SN_[A-Z0-9_]+).*/\1/p' "$header" | sort -u)
man="$tmp/man/man3"
for kind in funcs types macros; do
    list=${!kind}
    count=$(printf '%s\n' "$list" | grep -c .)
    missing=$(for n in $list; do [ -e "$man/$n.3" ] || echo "$n"; done)
    if [ "$count" -gt 0 ] && [ -z "$missing" ]; then
        pass "a man page for each of the $count $kind (e.g. man 3 $(printf '%s\n' "$list" | head -n 1))"
    else
        fail "$kind without a man page: $(echo "$missing" | tr '\n' ' ')"
    fi
done
# Only seqnet's names: a page per struct field (free.3, size.3) would clash
# with other packages' man pages.
others=$(ls "$man" | grep -v -E '^(sn_|SN_|seqnet\.h\.3$)' || true)
if [ -z "$others" ]; then
    pass "only seqnet.h.3 and sn_*/SN_* pages ($(ls "$man" | wc -l))"
else
    fail "man pages with other names: $(echo "$others" | head -n 10 | tr '\n' ' ')"
fi
# troff reads a line starting with ' as a request.
if grep -l "^'" "$man"/*.3 >/dev/null 2>&1; then
    fail "man pages with a line starting with ': $(grep -l "^'" "$man"/*.3 | head -n 3 | tr '\n' ' ')"
else
    pass "no man page line starts with '"
fi
finish
