#!/usr/bin/env bash
# test/doc_check.sh - keeps README.md and docs/ true to the header:
#
#   (a) every sn_* / SN_* name in README.md, docs/*.md and docs/tutorials/*.md
#       is declared in include/seqnet.h (or seqnet_mpi.h), unless it is an environment or make
#       variable (named in the Makefile, scripts/, .ci/run or test/*.sh, or
#       read with getenv in src/, test/ or examples/) or
#       the text says it is internal ("internal" or a src/ path on that
#       line or the ones beside it);
#   (b) every C code block with a main() is compiled and linked against the
#       built library as C11 with -Wall -Wextra -Wpedantic -Werror, and run
#       when it needs no data;
#   (c) the README's program is also compiled as C++ (-Wall -Wextra
#       -pedantic -Werror), as a host application would (skipped without a
#       C++ compiler, unless SN_TEST_STRICT=1).
#
# The other code blocks are fragments (they use names from the text around
# them); (a) checks their names.  `make check` runs it.  SN_LIBDIR picks the
# library directory (default lib).  Last line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

libdir=${SN_LIBDIR:-lib}
header=include/seqnet.h
cc_cmd=${CC:-cc}
cxx_cmd=${CXX:-c++}
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support/report.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-doc.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

docs=(README.md docs/*.md docs/tutorials/*.md)
ident='\b(sn|SN)_[A-Za-z0-9_]*[A-Za-z0-9]\b'

# (a) names
# seqnet_mpi.h: libseqnet-mpi's names (docs/DISTRIBUTED.md)
grep -ohE "$ident" "$header" include/seqnet_mpi.h | sort -u >"$tmp/declared"
{ cat Makefile scripts/* .ci/run test/*.sh 2>/dev/null | grep -ohE "$ident"
  grep -rohE 'getenv\("(sn|SN)_[A-Za-z0-9_]*"\)' src test examples | grep -oE "$ident"
} | sort -u >"$tmp/variables"
for f in "${docs[@]}"; do
    bad=$(awk -v declared="$tmp/declared" -v vars="$tmp/variables" -v re="$ident" '
        BEGIN {
            while ((getline n < declared) > 0) ok[n] = 1
            while ((getline n < vars) > 0) ok[n] = 1
        }
        { line[NR] = $0 }
        END {
            for (i = 1; i <= NR; i++) {
                s = line[i]
                ctx = line[i - 1] " " s " " line[i + 1]
                while (match(s, /(^|[^A-Za-z0-9_])(sn|SN)_[A-Za-z0-9_]*[A-Za-z0-9]/)) {
                    name = substr(s, RSTART, RLENGTH)
                    sub(/^[^sS]*/, "", name)
                    s = substr(s, RSTART + RLENGTH)
                    if (name in ok) continue
                    if (ctx ~ /internal|src\//) continue
                    print FILENAME_ ":" i ": " name
                }
            }
        }' "$f" | sed "s|^:|$f:|")
    if [ -z "$bad" ]; then
        pass "$f: every sn_/SN_ name is in $header"
    else
        fail "$f names what $header does not declare: $(echo "$bad" | tr '\n' ' ')"
    fi
done

# (b) full programs
if [ "${SN_SANITIZE:-}" = 1 ]; then
    echo "skipped (b), (c): compile against the normal build, not a SANITIZE=1 one"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi
if [ ! -e "$libdir/libseqnet.so" ]; then
    fail "$libdir/libseqnet.so not built"
    echo "$passed passed, $failed failed"
    exit 1
fi
n=0
for f in "${docs[@]}"; do
    # Writes each ```c block with a main() to $tmp/<n>.c; prints the names.
    blocks=$(awk -v out="$tmp/$(echo "$f" | tr '/.' '__')" '
        /^```c[[:space:]]*$/ { inb = 1; body = ""; next }
        /^```/ && inb {
            inb = 0
            if (body ~ /int[[:space:]]+main[[:space:]]*\(/) {
                k++; file = out "_" k ".c"
                printf "%s", body > file; close(file); print file
            }
            next
        }
        inb { body = body $0 "\n" }' "$f")
    for b in $blocks; do
        n=$((n + 1))
        exe=${b%.c}
        if $cc_cmd -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude "$b" \
                -o "$exe" -L"$libdir" -lseqnet -Wl,-rpath,"$PWD/$libdir" -lm \
                >"$exe.log" 2>&1; then
            pass "$f: program $(basename "$b") compiles and links as C11"
        else
            cat "$exe.log"
            fail "$f: program $(basename "$b") does not compile as C11"
            continue
        fi
        if grep -q 'fopen\|sn_imdb_load\|sn_csv_read\|argv' "$b"; then
            echo "     (not run: it reads files)"
        elif (cd "$tmp" && "$exe") >"$exe.out" 2>&1; then   # (files it writes land in $tmp)
            pass "$f: program $(basename "$b") runs ($(tail -n 1 "$exe.out"))"
        else
            cat "$exe.out"
            fail "$f: program $(basename "$b") exits with an error"
        fi
    done
done
if [ "$n" -gt 0 ]; then
    pass "$n full programs found in the docs"
else
    fail "no full program found in README.md or docs/"
fi

# (c) the README program as C++
readme=$(ls "$tmp"/README_md_1.c 2>/dev/null)
if [ -z "$readme" ]; then
    fail "README.md has no program with main()"
elif ! command -v "$cxx_cmd" >/dev/null 2>&1; then
    if [ "${SN_TEST_STRICT:-0}" = 1 ]; then
        fail "no C++ compiler ($cxx_cmd) (SN_TEST_STRICT=1)"
    else
        echo "     (skipped (c): no C++ compiler $cxx_cmd; apt-get install g++)"
    fi
else
    if $cxx_cmd -x c++ -Wall -Wextra -pedantic -Werror -Iinclude "$readme" \
            -o "$tmp/readme_cxx" -L"$libdir" -lseqnet -Wl,-rpath,"$PWD/$libdir" \
            >"$tmp/cxx.log" 2>&1 && "$tmp/readme_cxx" >/dev/null 2>&1; then
        pass "README.md program compiles as C++ (-Wall -Wextra -pedantic -Werror) and runs"
    else
        cat "$tmp/cxx.log"
        fail "README.md program as C++"
    fi
    for std in c++98 c++11 c++17 c++20; do
        if ! echo '#include <seqnet.h>' | $cxx_cmd -x c++ -std=$std -Wall -Wextra \
                -pedantic -Werror -Iinclude -fsyntax-only - >"$tmp/hdr.log" 2>&1; then
            cat "$tmp/hdr.log"
            fail "seqnet.h does not compile as $std"
            std=
            break
        fi
    done
    [ -n "$std" ] && pass "seqnet.h compiles cleanly as C++98, 11, 17 and 20"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
