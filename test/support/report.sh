# test/support/report.sh - the ok/FAIL lines and the closing
# "N passed, N failed" line shared by the test/*.sh scripts (sourced, not
# run).  A script sets nothing first; it calls pass/fail per check and
# finish at the end (exit status 0 only when nothing failed).
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
