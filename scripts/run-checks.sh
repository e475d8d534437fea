#!/usr/bin/env bash
# scripts/run-checks.sh JOBS FAILED_FILE - runs the test programs of
# `make check` JOBS at a time.
#
# Reads one test per line from stdin: a label, a tab, then the command (run
# with sh -c, environment assignments included), optionally a tab and
# "solo": such a test runs alone (the others before it finish first, and
# none starts beside it), for a test too big in memory to share the
# machine.  Each test's output is
# held until it ends, then printed whole under "== label", so parallel
# tests never interleave; the labels of the failed ones are appended to
# FAILED_FILE.  Exits 0 when every test ran (a failure is reported through
# FAILED_FILE, so that the caller still runs the rest of its checks).
#
# Why: `make check` runs about 40 programs, most of them single-threaded;
# one at a time they leave all but one core idle, and under qemu (make
# check-cross) or the sanitizers that serial walk was most of CI's time.
# The tests write only into their own mkdtemp folders, so they can share a
# machine.
set -u

jobs=${1:?usage: run-checks.sh JOBS FAILED_FILE}
failed_file=${2:?usage: run-checks.sh JOBS FAILED_FILE}
case $jobs in ''|*[!0-9]*|0) jobs=1 ;; esac

logs=$(mktemp -d "${TMPDIR:-/tmp}/sn-checks.XXXXXX")
trap 'rm -rf "$logs"' EXIT

declare -A label_of=()   # pid -> label
declare -A log_of=()     # pid -> log file

# Prints the output of the finished test pid and records a failure.
report() {
    local pid=$1 status=$2
    echo "== ${label_of[$pid]}"
    cat "${log_of[$pid]}"
    [ "$status" -eq 0 ] || echo "${label_of[$pid]}" >> "$failed_file"
    rm -f "${log_of[$pid]}"
    unset "label_of[$pid]" "log_of[$pid]"
}

# Waits for any one running test and reports it.
reap_one() {
    local pid status
    wait -n -p pid
    status=$?
    report "$pid" "$status"
}

n=0
while IFS=$'\t' read -r label command mode; do
    [ -n "$label" ] || continue
    limit=$jobs
    [ "$mode" != solo ] || limit=1
    while [ "${#label_of[@]}" -ge "$limit" ]; do
        reap_one
    done
    n=$((n + 1))
    log="$logs/$n.log"
    sh -c "$command" > "$log" 2>&1 < /dev/null &
    label_of[$!]=$label
    log_of[$!]=$log
    if [ "$mode" = solo ]; then
        reap_one
    fi
done
while [ "${#label_of[@]}" -gt 0 ]; do
    reap_one
done
exit 0
