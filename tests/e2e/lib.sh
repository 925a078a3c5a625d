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

# A private system bus for a test: a copy of the defaults of
# /usr/share/dbus-1/system.conf (deny by default, holes punched by policy
# files) that includes the policy files given, listening in $T.
# start_private_bus NAME POLICY-FILE...: starts it, exports
# DBUS_SYSTEM_BUS_ADDRESS (hipsd, hipsctl and busctl use it) and BUS_ADDRESS.
# stop_private_buses stops every bus started so (only those).
PRIVATE_BUS_PIDS=
start_private_bus() {
        local name=$1 conf="$T/bus-$1.conf" sock="$T/bus-$1.sock" f i
        shift
        command -v dbus-daemon >/dev/null || skip_or_fail "needs dbus-daemon"
        {
                cat <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$sock</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
EOC
                for f in "$@"; do echo "  <include>$f</include>"; done
                echo "</busconfig>"
        } > "$conf"
        rm -f "$sock"
        dbus-daemon --config-file="$conf" --nofork --nosyslog --print-address=1 \
                >"$T/bus-$name.address" 2>"$T/bus-$name.err" &
        PRIVATE_BUS_PIDS="$PRIVATE_BUS_PIDS $!"
        BUS_PID=$!
        for i in $(seq 1 100); do
                [ -S "$sock" ] && [ -s "$T/bus-$name.address" ] && break
                sleep 0.05
        done
        if ! [ -S "$sock" ]; then
                echo "dbus-daemon did not start:"; cat "$T/bus-$name.err"
                return 1
        fi
        BUS_ADDRESS="unix:path=$sock"
        export DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDRESS"
}

stop_private_buses() {
        local pid
        for pid in $PRIVATE_BUS_PIDS; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        PRIVATE_BUS_PIDS=
}

# wait_file_has FILE PATTERN: up to 5 s for a line matching the grep pattern.
wait_file_has() {
        for _ in $(seq 1 100); do
                grep -q -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.05
        done
        return 1
}
