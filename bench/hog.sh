#!/usr/bin/env bash
# bench/hog.sh - how much a CPU hog on one core slows a 2-thread training
# step (issue 11: at most 2.5x).
#
#   bench/hog.sh [--steps N] [--models core] [--isa avx512|avx2|generic]
#
# Runs build/bench/bench_rnn --threads 2 three times, interleaved: idle, with
# a busy loop pinned to the last CPU of this process's affinity mask (a
# `sh -c 'while :; do :; done'` under taskset, at the same priority), and
# idle again; prints each median and the ratio hogged / idle (the lower
# idle median).  Build first with `make bench-build`.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/build/bench/bench_rnn
steps=10
models=core
isa=

while [ $# -gt 0 ]; do
    case $1 in
        --steps) steps=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --isa) isa=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "hog.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || { echo "hog.sh: $bin missing (make bench-build)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "hog.sh: taskset missing (util-linux)" >&2; exit 1; }

run() { # prints "model mode ms" lines
    SN_CPU=${isa:-} "$bin" --steps "$steps" --models "$models" --threads 2 |
        awk '$1 == "RESULT" && ($4 == "train_ms" || $4 == "infer_ms") { print $3, $4, $5 }'
}

cpus=$(taskset -pc $$ | sed 's/.*: //')
last=$(echo "$cpus" | tr ',' '\n' | sed 's/.*-//' | sort -n | tail -1)
echo "# affinity $cpus; hog on CPU $last; path ${isa:-default}; steps $steps"
idle1=$(run)
taskset -c "$last" sh -c 'while :; do :; done' &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
sleep 1
hogged=$(run)
kill $hog 2>/dev/null
wait $hog 2>/dev/null
idle2=$(run)
printf '%s\n' "$idle1" | sed 's/^/idle1 /'
printf '%s\n' "$hogged" | sed 's/^/hog   /'
printf '%s\n' "$idle2" | sed 's/^/idle2 /'
awk '
$1 == "idle1" || $1 == "idle2" { k = $2 " " $3; if (!(k in idle) || $4 < idle[k]) idle[k] = $4 }
$1 == "hog" { hog[$2 " " $3] = $4 }
END {
    for (k in hog) {
        r = hog[k] / idle[k]
        printf "%-20s idle %8.2f ms  hogged %8.2f ms  slowdown %.2fx  %s\n", k, idle[k], hog[k], r, (r <= 2.5 ? "PASS (<= 2.5x)" : "MISS (> 2.5x)")
    }
}' <<<"$(printf '%s\n' "$idle1" | sed 's/^/idle1 /'; printf '%s\n' "$hogged" | sed 's/^/hog /'; printf '%s\n' "$idle2" | sed 's/^/idle2 /')"
