#!/usr/bin/env bash
# test/cmake_consumer.sh - installs libseqnet into a staging DESTDIR and
# builds a CMake project outside the tree the way a host application would:
#
#     find_package(seqnet 1.0 CONFIG REQUIRED)
#     target_link_libraries(app PRIVATE seqnet::seqnet)
#
# (and seqnet::seqnet_static for a second program), then runs both and
# checks which library each one uses.  A third program is the same source
# compiled as C++, when a C++ compiler is there.  `make check` runs it;
# without cmake it skips, unless SN_TEST_STRICT=1 (CI), where it fails.
# Last line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

if [ "${SN_SANITIZE:-}" = 1 ]; then
    echo "skipped: installs the normal build, not a SANITIZE=1 one"
    exit 0
fi
if ! command -v cmake >/dev/null 2>&1; then
    if [ "${SN_TEST_STRICT:-0}" = 1 ]; then
        echo "FAIL - cmake not installed (SN_TEST_STRICT=1)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "skipped: cmake is not installed (apt-get install cmake)"
    exit 0
fi

make_cmd=${MAKE:-make}
prefix=/usr

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support/report.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-cmake.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

stage="$tmp/stage"
# A multiarch LIBDIR, as a distribution installs it: the package file must
# find the headers three folders up, not two.
libdir=$prefix/lib/$(${CC:-cc} -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
if $make_cmd --no-print-directory install PREFIX="$prefix" LIBDIR="$libdir" \
        DESTDIR="$stage" >"$tmp/install.log" 2>&1; then
    pass "make install PREFIX=$prefix LIBDIR=$libdir DESTDIR=<tmp>"
else
    cat "$tmp/install.log"
    fail "make install"
    finish
fi

have_cxx=0
if command -v "${CXX:-c++}" >/dev/null 2>&1; then
    have_cxx=1
fi

mkdir -p "$tmp/app"
cat >"$tmp/app/app.c" <<'SRC'
#include <seqnet.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    sn_model_t *m = sn_model_new(NULL);
    int x = sn_input(m, SN_NO_TIME, 3);
    x = sn_apply(m, sn_dense(2, SN_RELU, NULL), x);
    if (x < 0 || sn_model_build(m) != SN_OK) {
        fprintf(stderr, "%s: %s\n", sn_strerror((sn_status)x), sn_last_error());
        sn_model_free(m);
        return 1;
    }
    const float in[3] = { 0.5f, -1.0f, 2.0f };
    const void *inputs[1] = { in };
    float y[2] = { -1.0f, -1.0f };
    float *outputs[1] = { y };
    int rc = sn_model_predict(m, 1, inputs, NULL, outputs) == SN_OK &&
             y[0] >= 0.0f && y[1] >= 0.0f &&
             strcmp(sn_version(), SN_VERSION_STRING) == 0 ? 0 : 1;
    printf("libseqnet %s, params %zu, rc %d\n", sn_version(),
           sn_model_count_params(m, NULL), rc);
    sn_model_free(m);
    return rc;
}
SRC
cp "$tmp/app/app.c" "$tmp/app/app_cxx.cpp"
langs=C
[ "$have_cxx" = 1 ] && langs="C CXX"
# seqnet::seqnet_static needs the BLAS's own static dependencies (OpenBLAS:
# libgfortran-12-dev); without them, that part is skipped (not in CI).
have_static=1
printf 'int main(void) { return 0; }\n' >"$tmp/probe.c"
# shellcheck disable=SC2046
if ! ${CC:-cc} "$tmp/probe.c" -o "$tmp/probe" $(sed -n 's/^Libs.private: //p' \
        "$stage$libdir/pkgconfig/seqnet.pc") >"$tmp/probe.log" 2>&1; then
    if [ "${SN_TEST_STRICT:-0}" = 1 ]; then
        cat "$tmp/probe.log"
        fail "the static dependencies of seqnet.pc do not link (SN_TEST_STRICT=1)"
    else
        echo "     (seqnet::seqnet_static skipped: $(grep -o 'cannot find -l[^:]*' "$tmp/probe.log" | head -n 1))"
    fi
    have_static=0
fi
cat >"$tmp/app/CMakeLists.txt" <<CML
cmake_minimum_required(VERSION 3.13)
project(seqnet_consumer LANGUAGES $langs)
find_package(seqnet 1.0 CONFIG REQUIRED)
message(STATUS "seqnet \${seqnet_VERSION} (BLAS \${seqnet_BLAS}) from \${seqnet_DIR}")
add_executable(app app.c)
target_link_libraries(app PRIVATE seqnet::seqnet)
if($have_static)
  add_executable(app_static app.c)
  target_link_libraries(app_static PRIVATE seqnet::seqnet_static)
endif()
if(CMAKE_CXX_COMPILER)
  add_executable(app_cxx app_cxx.cpp)
  target_compile_options(app_cxx PRIVATE -Wall -Wextra -pedantic -Werror)
  target_link_libraries(app_cxx PRIVATE seqnet::seqnet)
endif()
CML

if cmake -S "$tmp/app" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$stage$prefix" \
        -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1; then
    pass "cmake configure: $(grep -o 'seqnet 0[^ ]* (BLAS [a-z]*)' "$tmp/cmake.log" | head -1)"
else
    cat "$tmp/cmake.log"
    fail "cmake configure (find_package(seqnet 1.0 CONFIG REQUIRED))"
    finish
fi
if grep -q "from $stage$libdir/cmake/seqnet" "$tmp/cmake.log"; then
    pass "found the staged package in $libdir/cmake/seqnet"
else
    fail "seqnet_DIR is not the staged one: $(grep 'seqnet 0' "$tmp/cmake.log")"
fi
if cmake --build "$tmp/build" >"$tmp/build.log" 2>&1; then
    pass "cmake --build (seqnet::seqnet$([ "$have_static" = 1 ] && echo ', seqnet::seqnet_static')$([ "$have_cxx" = 1 ] && echo ', C++'))"
else
    cat "$tmp/build.log"
    fail "cmake --build"
    finish
fi

export LD_LIBRARY_PATH="$stage$libdir"
for exe in app $([ "$have_static" = 1 ] && echo app_static) $([ "$have_cxx" = 1 ] && echo app_cxx); do
    if "$tmp/build/$exe" >"$tmp/run.log" 2>&1; then
        pass "$exe runs: $(tr '\n' ';' <"$tmp/run.log")"
    else
        cat "$tmp/run.log"
        fail "$exe failed"
    fi
done
if ldd "$tmp/build/app" | grep -q "libseqnet.so.[0-9]* => $stage$libdir/"; then
    pass "app uses the staged libseqnet.so"
else
    fail "app: $(ldd "$tmp/build/app" | grep libseqnet)"
fi
if [ "$have_static" = 1 ]; then
    if ldd "$tmp/build/app_static" | grep -q libseqnet; then
        fail "app_static needs libseqnet.so"
    else
        pass "app_static has libseqnet linked in"
    fi
fi

# A request the package must refuse: the next MAJOR.
major=$(sed -n -E 's/^#define SN_VERSION_MAJOR ([0-9]+).*/\1/p' include/seqnet.h)
sed -i "s/find_package(seqnet 1.0 CONFIG REQUIRED)/find_package(seqnet $((major + 1)).0 CONFIG REQUIRED)/" \
    "$tmp/app/CMakeLists.txt"
if cmake -S "$tmp/app" -B "$tmp/build2" -DCMAKE_PREFIX_PATH="$stage$prefix" \
        >"$tmp/cmake2.log" 2>&1; then
    fail "find_package(seqnet $((major + 1)).0) accepted version $major.x"
else
    pass "find_package(seqnet $((major + 1)).0) refused"
fi

finish
