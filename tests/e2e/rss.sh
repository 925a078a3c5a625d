#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# No leak per event: hipsd's resident memory stays flat over 100,000 gated
# execs (judged by the hold layer, logged to both logs).
. "$(dirname "$0")/lib.sh"
setup

N=${HIPS_RSS_EXECS:-100000}
make_prog loop-target
cat > "$T/config.json" <<EOC
{ "kernel_allowlist": ["/usr/bin/setpriv"], "blocklist": [ { "name": "unrelated", "filename": "/nonexistent/x" } ] }
EOC
start_hipsd || { fail "hipsd starts"; exit 1; }
# Anonymous memory (heap, stacks): what a leak grows. File-backed RSS also
# counts the BPF ring buffers' pages, which become resident as the producer
# first wraps around them, leak or not.
rss() { awk '/^RssAnon:/ {print $2}' "/proc/$HIPSD_PID/status"; }

as_user "$HIPS_TEST_HELPERS/hips-test-exec-loop" 5000 "$T/bin/loop-target" /dev/null
WARM=$(rss)
as_user "$HIPS_TEST_HELPERS/hips-test-exec-loop" "$N" "$T/bin/loop-target" /dev/null
check "all $N execs ran" test $? = 0
END=$(rss)
echo "RssAnon after 5,000 execs: $WARM KiB; after $((N + 5000)): $END KiB"
check "every exec was judged and logged" test "$(grep -c loop-target "$LOG")" -ge "$N"
check "anonymous RSS grew by less than 1 MiB over $N execs ($WARM -> $END KiB)" test $((END - WARM)) -lt 1024
stop_hipsd
check "hipsd exits cleanly" test "$HIPSD_RC" = 0
