#!/usr/bin/env bash
# test/source_rules.sh - rules on the library's sources that no unit test
# can see (part of `make check`; docs/RELIABILITY.md):
#   * no strerror(): not thread-safe; use sn_errno_text (strerror_r);
#   * no setlocale(): the library never changes the host's locale, it only
#     switches the calling thread with uselocale (src/core/numbers.c);
#   * no strtod/strtof outside src/core/numbers.c: one number grammar, parsed in
#     the C locale;
#   * no fopen(): files are opened with sn_file_open_regular (a FIFO or a
#     device is refused, not read).
set -u
cd "$(dirname "$0")/.."
status=0
rule() {  # rule <description> <extended regex> [file to exempt]
    local hits
    hits=$(grep -rnE "$2" src --include='*.c' --include='*.h' |
           grep -v "^${3:-/none/}:" | grep -vE '^[^:]+:[0-9]+:\s*(/\*|\*)')
    if [ -n "$hits" ]; then
        echo "source_rules: $1:"
        echo "$hits"
        status=1
    fi
}
rule "strerror() is not thread-safe (use sn_errno_text)" '(^|[^_a-z])strerror\('
rule "the library must not call setlocale()" '(^|[^_a-z])setlocale\('
rule "numbers are parsed in src/core/numbers.c only" \
     '(^|[^_a-z])strto(d|f|ld)\(' src/core/numbers.c
rule "files are opened with sn_file_open_regular" '(^|[^_a-z])fopen\('
[ $status -eq 0 ] && echo "source_rules: ok"
exit $status
