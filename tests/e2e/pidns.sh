#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hipsd in a pid namespace (a container) gates the processes it can see and
# only those: it could never resume or judge the others, so it must not stop
# them.
. "$(dirname "$0")/lib.sh"
setup
command -v unshare >/dev/null || skip_or_fail "needs unshare"

make_prog blocked-ns
cp "$HIPS_TEST_HELPERS/hips-test-memfd-exec" "$T/bin/memfd-exec"
cat > "$T/config.json" <<EOC
{ "gate": "auto", "blocklist": [ { "name": "block-ns", "filename": "$T/bin/blocked-ns" },
                                  { "name": "block-ns-sha", "sha256": "$(sha256_of "$T/bin/blocked-ns")" } ] }
EOC
HIPS_NO_JOURNAL=1 unshare --pid --fork --mount-proc "$HIPSD" --config "$T/config.json" --log-file "$LOG" \
        > "$T/hipsd.out" 2>&1 &
UNSHARE_PID=$!
for _ in $(seq 1 100); do grep -q "hipsd started" "$T/hipsd.out" && break; sleep 0.05; done
NS_HIPSD=$(pgrep -P "$UNSHARE_PID" -x hipsd)
check "hipsd started in its own pid namespace" test -n "$NS_HIPSD"
check "it says it gates only that namespace" grep -q "gating only the processes in it" "$T/hipsd.out"

# Run as the test user inside hipsd's namespace. nsenter itself must not be
# the parent: it waits with WUNTRACED and stops itself when its child is
# stopped by the gate, and nobody in the namespace could resume it. With -F
# it execs a shell (outside the namespace) whose child enters it.
in_ns() {
        nsenter -t "$NS_HIPSD" -p -m -F /bin/sh -c \
                'u=$0 g=$1; shift; setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@" 2>/dev/null; exit $?' \
                "$TEST_UID" "$TEST_GID" "$@"
}

as_user "$T/bin/blocked-ns" "$T/markers/host"
check "a host process outside the namespace is not gated" test -e "$T/markers/host"
as_user "$T/bin/memfd-exec" "$T/bin/blocked-ns" x "$T/markers/host-memfd" 2>/dev/null
check "nor stopped by its stop layer (memfd exec ran, nothing in state T)" \
        test -e "$T/markers/host-memfd" -a -z "$(ps -u "$TEST_UID" -o stat= | grep '^T')"

in_ns "$T/bin/blocked-ns" "$T/markers/inside"
check "a process inside the namespace is held and blocked" test ! -e "$T/markers/inside"
in_ns "$T/bin/memfd-exec" "$T/bin/blocked-ns" x "$T/markers/inside-memfd"
check "and its memfd exec is stopped and killed" test ! -e "$T/markers/inside-memfd"
check "pids in the log are as the namespace sees them" \
        wait_log '.rule == "block-ns-sha" and .layer == "stop" and .pid < 1000'
kill -TERM "$NS_HIPSD"
wait "$UNSHARE_PID"
check "nothing left stopped" no_stopped_processes
