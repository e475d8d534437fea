#!/usr/bin/env bash
# test/fuzz_replay.sh - part of `make check`: builds the fuzz targets of
# test/fuzz/ as plain programs with the build's compiler and flags (ASan +
# UBSan under SANITIZE=1) and runs every file of their corpora once
# (`make fuzz-replay`; docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
args=(BLAS="${SN_BLAS:-openblas}")
if [ -n "${SN_SANITIZE:-}" ]; then
    args+=(SANITIZE="$SN_SANITIZE")
fi
exec ${MAKE:-make} --no-print-directory fuzz-replay "${args[@]}"
