#!/usr/bin/env bash
# test/abi_check.sh - checks the shape of the built libseqnet ABI.
#
#   (a) the shared object exports only sn_* symbols, and no sn_* symbol
#       that include/seqnet.h does not declare with SN_API;
#   (b) every SN_API function in include/seqnet.h is exported;
#   (c) the SONAME is libseqnet.so.<SN_VERSION_MAJOR>;
#   (d) libseqnet.so.X.Y.Z, libseqnet.so.X and libseqnet.so exist, the links
#       pointing the right way;
#   (e) the static library holds objects and defines every SN_API function;
#   (f) SN_VERSION_STRING agrees with MAJOR.MINOR.PATCH.
#
# Run from anywhere after `make`; `make check` runs it.  SN_LIBDIR picks the
# library directory (default lib).  Last line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

libdir=${SN_LIBDIR:-lib}
header=include/seqnet.h
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }

version_field() {
    sed -n -E "s/^[[:space:]]*#[[:space:]]*define[[:space:]]+SN_VERSION_$1[[:space:]]+([0-9]+).*/\\1/p" "$header"
}

major=$(version_field MAJOR)
minor=$(version_field MINOR)
patch=$(version_field PATCH)
version="$major.$minor.$patch"
vstring=$(sed -n -E 's/^[[:space:]]*#[[:space:]]*define[[:space:]]+SN_VERSION_STRING[[:space:]]+"([^"]*)".*/\1/p' "$header")

so_real="$libdir/libseqnet.so.$version"
so_major="$libdir/libseqnet.so.$major"
so_dev="$libdir/libseqnet.so"
static="$libdir/libseqnet.a"

# (f) version macros
if [ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] && [ "$vstring" = "$version" ]; then
    pass "header version $version matches SN_VERSION_STRING"
else
    fail "header version '$version' vs SN_VERSION_STRING '$vstring'"
fi

# (d) files and links
if [ -f "$so_real" ] && [ ! -L "$so_real" ]; then
    pass "$so_real is a regular file"
else
    fail "$so_real missing or not a regular file"
fi
if [ -L "$so_major" ] && [ "$(readlink "$so_major")" = "libseqnet.so.$version" ]; then
    pass "$so_major -> libseqnet.so.$version"
else
    fail "$so_major is not a link to libseqnet.so.$version"
fi
if [ -L "$so_dev" ] && [ "$(readlink -f "$so_dev")" = "$(readlink -f "$so_real")" ]; then
    pass "$so_dev resolves to $so_real"
else
    fail "$so_dev is not a link resolving to $so_real"
fi
if [ -f "$static" ]; then
    pass "$static exists"
else
    fail "$static missing"
fi

if [ ! -f "$so_real" ]; then
    echo "$passed passed, $failed failed"
    exit 1
fi

# The SN_API functions: a declaration starts with SN_API and the name is the
# first sn_ identifier followed by '(' (possibly on a later line).
api=$(awk '
    /^[[:space:]]*SN_API[[:space:]]/ { decl = ""; collecting = 1 }
    collecting {
        decl = decl " " $0
        if (decl ~ /sn_[A-Za-z0-9_]*[[:space:]]*\(/) {
            match(decl, /sn_[A-Za-z0-9_]*[[:space:]]*\(/)
            name = substr(decl, RSTART, RLENGTH)
            sub(/[[:space:]]*\($/, "", name)
            print name
            collecting = 0
        }
    }' "$header" | sort -u)
n_api=$(printf '%s\n' "$api" | grep -c .)
if [ "$n_api" -gt 0 ]; then
    pass "found $n_api SN_API functions in $header"
else
    fail "no SN_API functions parsed from $header"
fi

# (a) dynamic symbol table
dyn=$(nm -D --defined-only "$so_real" | awk 'NF >= 3 { print $2, $3 }')
bad=$(printf '%s\n' "$dyn" | awk '
    $2 ~ /^sn_/ { next }
    NF { print $2 }')
if [ -z "$bad" ]; then
    pass "only sn_* symbols exported"
else
    fail "non-sn_ symbols exported: $(echo "$bad" | tr '\n' ' ')"
fi
exported=$(printf '%s\n' "$dyn" | awk '$2 ~ /^sn_/ { sub(/@.*/, "", $2); print $2 }' | sort -u)
extra=$(comm -23 <(printf '%s\n' "$exported") <(printf '%s\n' "$api") | grep . || true)
if [ -z "$extra" ]; then
    pass "no exported sn_* symbol outside the SN_API set (internal helpers hidden)"
else
    fail "exported but not SN_API in $header: $(echo "$extra" | tr '\n' ' ')"
fi

# (b) every SN_API function exported as a function
missing=$(comm -13 <(printf '%s\n' "$exported") <(printf '%s\n' "$api") | grep . || true)
if [ -z "$missing" ]; then
    pass "all $n_api SN_API functions exported"
else
    fail "SN_API functions not exported: $(echo "$missing" | tr '\n' ' ')"
fi
notfunc=$(printf '%s\n' "$dyn" | awk '$2 ~ /^sn_/ && $1 != "T" && $1 != "i" { print $2 }')
if [ -z "$notfunc" ]; then
    pass "every exported sn_* symbol is a function (no exported data)"
else
    fail "exported sn_* symbols that are not functions: $(echo "$notfunc" | tr '\n' ' ')"
fi

# (c) SONAME
soname=$(readelf -d "$so_real" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ "$soname" = "libseqnet.so.$major" ]; then
    pass "SONAME is $soname"
else
    fail "SONAME is '$soname', expected libseqnet.so.$major"
fi

# No undefined symbol is left that the recorded dependencies do not provide:
# ldd -r reports them.  (Skipped for sanitizer builds, whose runtime comes
# from the executable.)
if [ "${SN_SANITIZE:-}" != 1 ]; then
    undef=$(ldd -r "$so_real" 2>&1 | grep -i 'undefined symbol' || true)
    if [ -z "$undef" ]; then
        pass "ldd -r: no unresolved symbols"
    else
        fail "ldd -r: $undef"
    fi
fi

# (e) static library
members=$(ar t "$static" 2>/dev/null | grep -c '\.o$' || true)
if [ "${members:-0}" -gt 0 ]; then
    pass "$static holds $members objects"
else
    fail "$static holds no objects"
fi
static_defs=$(nm --defined-only "$static" 2>/dev/null | awk '$2 == "T" { print $3 }' | sort -u)
smissing=$(comm -13 <(printf '%s\n' "$static_defs") <(printf '%s\n' "$api") | grep . || true)
if [ -z "$smissing" ]; then
    pass "$static defines all SN_API functions"
else
    fail "$static lacks: $(echo "$smissing" | tr '\n' ' ')"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
