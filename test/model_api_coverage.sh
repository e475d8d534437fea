#!/usr/bin/env bash
# test/model_api_coverage.sh - test/check_model_states.c calls every public
# function that takes a model on a model in every state (NULL, new,
# unbuilt, built but uncompiled, recreated).  This script keeps that true:
# it lists the SN_API functions of include/seqnet.h with a parameter of
# type sn_model_t * (a model given, not one returned through
# sn_model_t **), and fails for each one missing from the table between
# the BEGIN MODEL API and END MODEL API lines of that test, and for each
# name of the table the header does not declare.
#
# `make check` runs it.  Last line: "N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 2

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support/report.sh"

header=include/seqnet.h
table=test/check_model_states.c

# One declaration per line: from SN_API to the closing ';'.
declared=$(awk '/^SN_API/ { d = "" } /^SN_API/, /;/ { d = d " " $0 }
                /;/ && d != "" { print d; d = "" }' "$header" |
    tr -s ' \t' ' ' |
    grep -E '[(,] ?(const )?sn_model_t \*[a-z_]' |
    sed -E 's/^.*[ *](sn_[a-z0-9_]+) ?\(.*$/\1/' | sort -u)
covered=$(sed -n '/BEGIN MODEL API/,/END MODEL API/p' "$table" |
    grep -oE '\{ "sn_[a-z0-9_]+"' | sed -E 's/\{ "//; s/"//' | sort -u)

[ -n "$declared" ] || { fail "no model-taking function found in $header"; finish; }
[ -n "$covered" ] || { fail "no table found in $table"; finish; }

for f in $declared; do
    if printf '%s\n' "$covered" | grep -qx "$f"; then
        pass "$f is called in every model state"
    else
        fail "$f takes a model but is not in the table of $table (add a call and its expected results per state)"
    fi
done
for f in $covered; do
    printf '%s\n' "$declared" | grep -qx "$f" ||
        fail "$f is in the table of $table but $header declares no such model-taking function"
done
finish
