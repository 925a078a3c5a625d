# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the end-to-end tests: a scratch dir, a test user, hipsd started
# on a config the test writes, and assertions on what really happened.
#
# Environment (set by meson): HIPSD, HIPS_TEST_HELPERS, HIPS_SOURCE_ROOT.

set -u

PASSED=0
FAILED=0
TEST_USER=hipstest
HIPSD_PID=

skip_or_fail() {
        # Outside CI a machine without root/BPF skips; in CI that is a failure.
        if [ "${CI:-}" = "true" ]; then
                echo "FAIL: cannot run under CI: $*"
                exit 1
        fi
        echo "SKIP: $*"
        exit 77
}

require_kernel() {
        [ "$(id -u)" = 0 ] || skip_or_fail "needs root to load BPF programs and hold execs"
        [ -r /sys/kernel/btf/vmlinux ] || skip_or_fail "kernel has no BTF (/sys/kernel/btf/vmlinux)"
        command -v jq >/dev/null || skip_or_fail "needs jq"
        [ -x "$HIPSD" ] || skip_or_fail "hipsd not built at $HIPSD"
}

setup() {
        require_kernel
        T=$(mktemp -d /tmp/hips-e2e.XXXXXX)
        chmod 755 "$T"
        mkdir -p "$T/bin" "$T/markers"
        chmod 1777 "$T/markers"
        if ! id -u "$TEST_USER" >/dev/null 2>&1; then
                useradd --system --no-create-home --shell /bin/bash "$TEST_USER" || skip_or_fail "useradd failed"
        fi
        TEST_UID=$(id -u "$TEST_USER")
        TEST_GID=$(id -g "$TEST_USER")
        LOG="$T/hips.log.json"
        trap teardown EXIT
}

teardown() {
        stop_hipsd
        # Nothing the gate touched may stay stopped.
        local stuck
        stuck=$(ps -u "$TEST_UID" -o pid=,stat=,args= 2>/dev/null | awk '$2 ~ /^T/')
        if [ -n "$stuck" ]; then
                echo "FAIL: processes left stopped:"; echo "$stuck"
                FAILED=$((FAILED + 1))
                pkill -KILL -u "$TEST_UID" 2>/dev/null
        fi
        pkill -KILL -u "$TEST_UID" 2>/dev/null
        [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
        echo "$PASSED passed, $FAILED failed"
        [ "$FAILED" = 0 ]
        exit $?
}

pass() { echo "ok - $*"; PASSED=$((PASSED + 1)); }
fail() { echo "not ok - $*"; FAILED=$((FAILED + 1)); }
check() {  # check DESCRIPTION COMMAND...
        local what=$1; shift
        if "$@"; then pass "$what"; else fail "$what"; fi
}

# start_hipsd [hipsd args...]: runs hipsd on $T/config.json, waits until it serves.
start_hipsd() {
        : > "$T/hipsd.out"
        HIPS_NO_JOURNAL=${HIPS_NO_JOURNAL:-1} "$HIPSD" --config "$T/config.json" --log-file "$LOG" "$@" \
                >>"$T/hipsd.out" 2>&1 &
        HIPSD_PID=$!
        for _ in $(seq 1 200); do
                if grep -q "hipsd started" "$T/hipsd.out"; then
                        return 0
                fi
                if ! kill -0 "$HIPSD_PID" 2>/dev/null; then
                        echo "hipsd exited early:"; cat "$T/hipsd.out"
                        HIPSD_PID=
                        return 1
                fi
                sleep 0.05
        done
        echo "hipsd did not start in 10 s:"; cat "$T/hipsd.out"
        return 1
}

stop_hipsd() {
        [ -n "$HIPSD_PID" ] || return 0
        kill -TERM "$HIPSD_PID" 2>/dev/null
        wait "$HIPSD_PID" 2>/dev/null
        HIPSD_RC=$?
        HIPSD_PID=
        return 0
}

# as_user CMD...: run as the unprivileged test user.
as_user() {
        setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$@"
}

# Copy the marker program under another name (optionally made unique so it has its own sha256).
make_prog() {  # make_prog NAME [unique-tag]
        cp "$HIPS_TEST_HELPERS/hips-test-marker" "$T/bin/$1"
        [ -n "${2:-}" ] && printf '%s' "$2" >> "$T/bin/$1"
        chmod 755 "$T/bin/$1"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# log_has JQ-FILTER: some line of the decision log satisfies the filter.
log_has() {
        [ -s "$LOG" ] && jq -e -s "map(select($1)) | length > 0" "$LOG" >/dev/null
}
log_count() {
        if [ -s "$LOG" ]; then jq -s "map(select($1)) | length" "$LOG"; else echo 0; fi
}

# Wait up to 5 s for a log line (decisions after the fact are asynchronous).
wait_log() {
        for _ in $(seq 1 100); do
                log_has "$1" && return 0
                sleep 0.05
        done
        return 1
}

no_stopped_processes() {
        [ -z "$(ps -u "$TEST_UID" -o stat= 2>/dev/null | grep '^T')" ]
}
