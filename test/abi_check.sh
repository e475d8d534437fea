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
#   (f) SN_VERSION_STRING agrees with MAJOR.MINOR.PATCH;
#   (g) every exported function has a default symbol version SEQNET_<MAJOR>.<N>
#       with N <= MINOR (src/libseqnet.map), and no other version is defined;
#   (h) a program built against this library refuses, at load time and
#       naming the missing version, a libseqnet.so.<MAJOR> that lacks the
#       version node (a stand-in for a too-old library).
#
# Run from anywhere after `make`; `make check` runs it.  SN_LIBDIR picks the
# library directory (default lib).  Last line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

libdir=${SN_LIBDIR:-lib}
header=include/seqnet.h

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support/report.sh"

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
# (The version nodes themselves are absolute symbols: "A SEQNET_1.0".)
bad=$(printf '%s\n' "$dyn" | awk '
    $2 ~ /^sn_/ { next }
    $1 == "A" && $2 ~ /^SEQNET_[0-9]+\.[0-9]+$/ { next }
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

# (g) symbol versions
nodes=$(printf '%s\n' "$dyn" | awk '$1 == "A" { print $2 }' | sort -u)
badnodes=$(printf '%s\n' "$nodes" | awk -v major="$major" -v minor="$minor" '
    NF {
        if (split($1, p, /[_.]/) != 3 || p[1] != "SEQNET" || p[2] != major || p[3] + 0 > minor + 0)
            print $1
    }')
if [ -n "$nodes" ] && [ -z "$badnodes" ]; then
    pass "version nodes: $(echo "$nodes" | tr '\n' ' ')(SEQNET_$major.N, N <= $minor)"
else
    fail "version nodes '$(echo "$nodes" | tr '\n' ' ')', unexpected: $(echo "$badnodes" | tr '\n' ' ')"
fi
unversioned=$(printf '%s\n' "$dyn" | awk -v major="$major" '
    $2 ~ /^sn_/ && $2 !~ ("@@SEQNET_" major "\\.[0-9]+$") { print $2 }')
if [ -z "$unversioned" ]; then
    pass "every exported sn_* function has a default version SEQNET_$major.N"
else
    fail "sn_* symbols without a SEQNET_$major.N default version: $(echo "$unversioned" | head -5 | tr '\n' ' ')"
fi

# (h) too old a library is refused at load time
if [ "${SN_SANITIZE:-}" != 1 ]; then
    vt=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-ver.XXXXXX")
    printf '#include <seqnet.h>\n#include <stdio.h>\nint main(void) { puts(sn_version()); return 0; }\n' >"$vt/app.c"
    printf 'const char *sn_version(void);\nconst char *sn_version(void) { return "old"; }\n' >"$vt/old.c"
    printf 'SEQNET_OLD { global: sn_version; local: *; };\n' >"$vt/old.map"
    mkdir -p "$vt/old"
    if ${CC:-cc} -Iinclude -o "$vt/app" "$vt/app.c" -L"$libdir" -lseqnet >"$vt/log" 2>&1 &&
       ${CC:-cc} -shared -fPIC -Wl,-soname,libseqnet.so."$major" \
           -Wl,--version-script="$vt/old.map" -o "$vt/old/libseqnet.so.$major" "$vt/old.c" >>"$vt/log" 2>&1; then
        need=$(readelf -V "$vt/app" | grep -o 'SEQNET_[0-9.]*' | sort -u | tr '\n' ' ')
        if [ -n "$need" ] && LD_LIBRARY_PATH="$libdir" "$vt/app" >/dev/null 2>&1; then
            pass "a program built against it requires $need and runs with it"
        else
            fail "program built against $so_real: requires '$need', run failed"
        fi
        if LD_LIBRARY_PATH="$vt/old" "$vt/app" >"$vt/run" 2>&1; then
            fail "the program ran with a libseqnet.so.$major lacking its version nodes"
        elif grep -q "version .SEQNET_$major\.[0-9]*' not found" "$vt/run"; then
            pass "a too-old libseqnet.so.$major is refused at load: $(head -n 1 "$vt/run" | sed 's/.*: version/version/')"
        else
            fail "the program failed with an old library, but not at load: $(cat "$vt/run")"
        fi
    else
        cat "$vt/log"
        fail "building the version-refusal probe"
    fi
    rm -rf "$vt"
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
