#!/usr/bin/env bash
# test/examples_quick.sh - runs the course examples 01..05 with --quick and
# checks what they leave behind: a non-empty report.md and at least one PNG
# figure in build/examples-quick/NN/ (and, for an example listed in
# required_files below, those files).  `make examples-quick` builds the
# examples and runs this; an example whose source does not exist (yet) is
# skipped.  Each quick run is meant to take under 2 minutes.
#
# Environment:
#   SN_EXAMPLES_BIN   folder of the example programs (build/openblas/examples)
#   SN_EXAMPLES_OUT   where the outputs go (build/examples-quick)
#   SN_EXAMPLES_TIMEOUT  seconds one run may take (default 300)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

bin_dir=${SN_EXAMPLES_BIN:-build/openblas/examples}
out_root=${SN_EXAMPLES_OUT:-build/examples-quick}
limit=${SN_EXAMPLES_TIMEOUT:-300}

examples=(01_rnn_lstm_gru 02_bilstm_attention 03_text_classification
          04_time_series 05_seq2seq_attention)

# Files an example must write besides report.md (names in its output dir).
declare -A required_files=(
    [05_seq2seq_attention]="training_loss.png accuracy_vs_length.png
        alignment_bahdanau_1.png alignment_luong_1.png bahdanau.snm"
)

passed=0
failed=0
skipped=0
failures=()

for name in "${examples[@]}"; do
    number=${name%%_*}
    if [ ! -f "examples/$name.c" ]; then
        echo "== $name: skipped (examples/$name.c does not exist yet)"
        skipped=$((skipped + 1))
        continue
    fi
    echo "== $name --quick"
    exe=$bin_dir/$name
    out=$out_root/$number
    if [ ! -x "$exe" ]; then
        echo "FAIL $name: $exe was not built (run make examples)"
        failed=$((failed + 1))
        failures+=("$name")
        continue
    fi
    rm -rf "$out"
    mkdir -p "$out"
    start=$(date +%s)
    status=0
    if command -v timeout >/dev/null 2>&1; then
        timeout "$limit" "$exe" --quick --out "$out" >"$out/stdout.log" 2>&1 ||
            status=$?
    else
        "$exe" --quick --out "$out" >"$out/stdout.log" 2>&1 || status=$?
    fi
    seconds=$(($(date +%s) - start))
    problems=()
    if [ "$status" -eq 124 ]; then
        problems+=("timed out after ${limit}s")
    elif [ "$status" -ne 0 ]; then
        problems+=("exit status $status")
    fi
    if [ ! -s "$out/report.md" ]; then
        problems+=("no report.md (or an empty one)")
    fi
    pngs=$(find "$out" -maxdepth 1 -name '*.png' -size +0 | wc -l)
    if [ "$pngs" -lt 1 ]; then
        problems+=("no .png figure")
    fi
    for f in ${required_files[$name]:-}; do
        if [ ! -s "$out/$f" ]; then
            problems+=("no $f")
        fi
    done
    if [ "$seconds" -gt 120 ]; then
        echo "   note: $name --quick took ${seconds}s (meant to be under 120s)"
    fi
    if [ "${#problems[@]}" -eq 0 ]; then
        echo "ok   $name (${seconds}s, $pngs figures, $out/report.md)"
        passed=$((passed + 1))
    else
        echo "FAIL $name (${seconds}s): ${problems[*]}"
        echo "---- last lines of $out/stdout.log:"
        tail -n 20 "$out/stdout.log"
        echo "----"
        failed=$((failed + 1))
        failures+=("$name")
    fi
done

echo
if [ "$failed" -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed ($skipped skipped)"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
