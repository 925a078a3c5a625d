#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hipsd as an admin meets it (issue 4): the build is installed with
# `meson install` into an overlay of the host's root, a real systemd boots
# in it under systemd-nspawn, and everything below runs inside, through
# systemctl, journalctl, hipsctl and busctl on the container's own system
# bus. The container's hipsd gates only the processes of the container.
#
# Environment (set by meson): HIPS_BUILD_ROOT (the build to install),
# HIPS_TEST_HELPERS, HIPS_SOURCE_ROOT.

# The whole script is one command list, read before it runs, so that
# editing the file cannot change a run in progress.
{
. "$(dirname "$0")/lib.sh"

T=
NSPAWN_PID=
LEADER=
LEADER_START=
PROGS=/usr/local/libexec/hipsd-nspawn-test
MARKERS=/var/tmp/hipsd-nspawn-markers
TUSER=hipsnspawn
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
MSG_BLOCKED=5b1e3c0f6a0c4c0e9d7a2b8e4f1c6a02

# Only what cannot run here skips (outside CI): no root, no nspawn.
[ "$(id -u)" = 0 ] || skip_or_fail "needs root to mount an overlay and boot a container"
for tool in systemd-nspawn nsenter jq mountpoint; do
        command -v $tool >/dev/null || skip_or_fail "needs $tool"
done
[ -r /sys/kernel/btf/vmlinux ] || skip_or_fail "kernel has no BTF (/sys/kernel/btf/vmlinux)"
if [ -z "${HIPS_BUILD_ROOT:-}" ] || [ ! -d "$HIPS_BUILD_ROOT/meson-info" ]; then
        echo "FAIL: HIPS_BUILD_ROOT does not name a meson build directory"
        exit 1
fi

# The container's pid 1, if it is still the process we found (pid reuse).
leader_alive() {
        [ -n "$LEADER" ] && [ "$(awk '{print $22}' "/proc/$LEADER/stat" 2>/dev/null)" = "$LEADER_START" ]
}

cleanup() {
        local rc=$? i
        trap - EXIT INT TERM
        if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
                echo "not ok - the test did not run to its end (exit status $rc)"
                FAILED=$((FAILED + 1))
        fi
        if [ "$FAILED" != 0 ] && leader_alive; then
                echo "--- diagnostics: systemctl status hipsd; journalctl -u hipsd (last 60 lines)"
                in_ct systemctl status hipsd --no-pager -l 2>&1 | head -40
                in_ct journalctl -u hipsd --no-pager -o short-monotonic 2>&1 | grep -v " exec of " | tail -40
                in_ct ls -la /var/log/hipsd
        fi
        if ! shutdown_container; then
                echo "not ok - container init $LEADER is still alive"
                FAILED=$((FAILED + 1))
        fi
        if [ -n "$T" ]; then
                if mountpoint -q "$T/root"; then
                        umount "$T/root" 2>/dev/null || umount -l "$T/root"
                fi
                if mountpoint -q "$T/root"; then
                        echo "FAIL: could not unmount $T/root, leaving $T"
                        FAILED=$((FAILED + 1))
                elif [ -z "${KEEP_TMP:-}" ]; then
                        rm -rf "$T"
                fi
        fi
        # A skip stays a skip (skip_or_fail has said why).
        [ "$rc" = 77 ] && [ "$FAILED" = 0 ] && exit 77
        echo "$PASSED passed, $FAILED failed"
        [ "$FAILED" = 0 ]
        exit $?
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_ct CMD...: run CMD in every namespace of the container, with a clean
# environment (nothing of the test's, such as a private bus address), for at
# most 5 minutes. nsenter -F: no nsenter waits for CMD, because nsenter
# stops itself when its child stops (job control) and would stay stopped
# after a gate resumed the child; a non-interactive sh in its place forks
# CMD into the container's pid namespace and just waits.
in_ct() {
        timeout -k 10 300 nsenter -t "$LEADER" -a -F -- /usr/bin/env -i PATH="$CT_PATH" LANG=C.UTF-8 \
                SYSTEMD_COLORS=0 SYSTEMD_PAGER= /bin/sh -c '"$@"; exit $?' sh "$@"
}

# as_tuser CMD...: as the container's unprivileged test user, the child of
# a shell in the container (so that its parent is one hipsd can see).
as_tuser() {
        in_ct /bin/sh -c 'u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"; exit $?' \
                sh "$TUID" "$TGID" "$@"
}

prop() {  # prop NAME: a property of hipsd.service
        in_ct systemctl show -p "$1" --value hipsd.service
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s.
wait_until() {
        local n=$(( $1 * 5 )) i
        shift
        for i in $(seq 1 "$n"); do
                "$@" && return 0
                sleep 0.2
        done
        return 1
}

is_running() {
        [ "$(prop ActiveState)/$(prop SubState)" = active/running ]
}

# journal_has JQ-FILTER: an entry of hipsd.service satisfies the filter.
journal_has() {
        in_ct journalctl -u hipsd.service -o json --no-pager 2>/dev/null |
                jq -e -s "map(select($1)) | length > 0" >/dev/null
}

# ran PROG TAG...: exec PROG as the test user with a marker; prints the exit status.
run_prog() {  # run_prog PROG TAG [marker-program args before the marker]
        local prog=$1 tag=$2
        shift 2
        as_tuser "$PROGS/$prog" "$@" "$MARKERS/$tag" >/dev/null 2>&1
        echo $?
}
marker() {
        in_ct test -e "$MARKERS/$1"
}
not() {
        ! "$@"
}
output_has() {  # output_has ERE CMD...: CMD's output has a line matching ERE
        local re=$1
        shift
        "$@" 2>&1 | grep -Eq -- "$re"
}

# A run that stopped half-way leaves nothing behind.
T=$(mktemp -d /tmp/hips-nspawn.XXXXXX)
mkdir -p "$T/upper" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/root" ||
        skip_or_fail "cannot mount an overlay of / on $T/root"
# The root is the host's: a decision log left there by hipsd run by hand (the
# README's first command) would stand in for the one the unit creates. Gone
# from the overlay only (a whiteout); the host keeps its own.
rm -rf "$T/root/var/log/hipsd"

# --- What `meson install` puts where.
if ! meson install -C "$HIPS_BUILD_ROOT" --destdir "$T/root" --no-rebuild >"$T/install.log" 2>&1; then
        fail "meson install into the container root"
        cat "$T/install.log"
        exit 1
fi
pass "meson install into the container root"

# No first-boot questions; a machine-id that is the host's is fine here.
mkdir -p "$T/root/etc/systemd/system"
ln -sf /dev/null "$T/root/etc/systemd/system/systemd-firstboot.service"

# Test programs: copies of the marker helper under names the rules key on.
mkdir -p "$T/root$PROGS"
for p in allowed-prog blocked-prog later-prog rot-prog; do
        cp "$HIPS_TEST_HELPERS/hips-test-marker" "$T/root$PROGS/$p"
done
# Its own content, so that a sha256 rule matches it and nothing else.
{ cat "$HIPS_TEST_HELPERS/hips-test-marker"; printf 'hipsd-nspawn-memfd-target'; } > "$T/root$PROGS/memfd-target"
cp "$HIPS_TEST_HELPERS/hips-test-memfd-exec" "$T/root$PROGS/memfd-exec"
chmod 755 "$T/root$PROGS"/*
MEMFD_SHA=$(sha256sum "$T/root$PROGS/memfd-target" | cut -d' ' -f1)

# --- Boot. The container's system call filter must let hipsd's through;
# that is nspawn's filter, not the unit's.
boot_container() {
        local state= i
        systemd-nspawn -D "$T/root" --register=no --link-journal=no --keep-unit -b \
                --capability=all --system-call-filter="bpf perf_event_open fanotify_init fanotify_mark" \
                --console=pipe </dev/null >>"$T/boot.log" 2>&1 &
        NSPAWN_PID=$!
        LEADER=
        for i in $(seq 1 200); do
                LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd | head -1)
                [ -n "$LEADER" ] && break
                kill -0 "$NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        if [ -z "$LEADER" ]; then
                tail -20 "$T/boot.log"
                skip_or_fail "systemd-nspawn could not boot a container here"
        fi
        LEADER_START=$(awk '{print $22}' "/proc/$LEADER/stat")

        # Booted: running, or degraded by a unit of this host's that fails in a
        # container. A unit of the host's that takes its time to start (a
        # database) keeps the state at "starting": after 30 s, basic.target and
        # the bus are all the tests need.
        for i in $(seq 1 300); do
                state=$(in_ct systemctl is-system-running 2>/dev/null)
                case $state in running|degraded) break ;; esac
                if [ "$i" -gt 60 ] && [ "$state" = starting ] &&
                   in_ct systemctl is-active -q basic.target dbus.socket systemd-journald.service; then
                        echo "(boot not finished after 30 s; still starting:)"
                        in_ct systemctl list-jobs --no-pager --no-legend
                        break
                fi
                sleep 0.5
        done
        case $state in
        running|degraded|starting) pass "container booted (system state $state)" ;;
        *)      fail "container booted (state '$state' after 150 s)"; tail -30 "$T/boot.log"; exit 1 ;;
        esac
        [ "$state" = degraded ] && in_ct systemctl --failed --no-legend --no-pager
        return 0
}

# systemd-nspawn turns SIGTERM into an orderly shutdown of the container.
shutdown_container() {
        local i
        if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
                kill -TERM "$NSPAWN_PID" 2>/dev/null
                for i in $(seq 1 300); do
                        kill -0 "$NSPAWN_PID" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$NSPAWN_PID" 2>/dev/null
        fi
        [ -n "$NSPAWN_PID" ] && wait "$NSPAWN_PID" 2>/dev/null
        NSPAWN_PID=
        # Killing a pid namespace's init kills every process in it.
        if leader_alive; then
                echo "container init $LEADER outlived systemd-nspawn: killing it"
                kill -KILL "$LEADER"
                for i in $(seq 1 100); do
                        leader_alive || break
                        sleep 0.1
                done
        fi
        ! leader_alive
}

boot_container

# --- Installed files, seen from inside.
check "unit installed where systemd finds it" in_ct systemctl cat hipsd.service >/dev/null
check "shipped default config passes hipsd --check-config" \
        in_ct hipsd --check-config --config /etc/hipsd/config.json
check "the shipped default config blocks an example program" \
        in_ct jq -e '.blocklist | map(.name) | index("example-demo-blocked") != null' /etc/hipsd/config.json
[ "${HIPS_WITH_MAN:-1}" = 1 ] && for page in hipsd.8 hipsctl.1 hipsd.conf.5 org.hipsd1.5; do
        check "man page ${page%.*}(${page##*.}) installed on the manual path" \
                in_ct man -w "${page##*.}" "${page%.*}"
done
check "D-Bus policy installed where the system bus reads it" \
        in_ct test -f /usr/share/dbus-1/system.d/org.hipsd1.conf
check "logrotate snippet installed" in_ct test -f /etc/logrotate.d/hipsd
check "bash completion for hipsctl installed" \
        in_ct sh -c 'for d in /usr/share /usr/local/share; do test -f $d/bash-completion/completions/hipsctl && exit 0; done; exit 1'
check "hipsctl installed" in_ct hipsctl --version

# --- Test user, and a config: the shipped default plus the test's rules.
in_ct useradd --no-create-home --shell /bin/bash "$TUSER" || fail "useradd in the container"
TUID=$(in_ct id -u "$TUSER")
TGID=$(in_ct id -g "$TUSER")
in_ct mkdir -p "$MARKERS"
in_ct chmod 1777 "$MARKERS"
cp "$T/root/etc/hipsd/config.json" "$T/shipped-config.json"
write_config() {  # write_config [extra jq filter]
        jq --arg progs "$PROGS" --arg sha "$MEMFD_SHA" "
                .blocklist += [
                        { name: \"nspawn-block\", filename: (\$progs + \"/blocked-prog\") },
                        { name: \"nspawn-block-memfd\", sha256: \$sha }
                ] ${1:+| $1}" "$T/shipped-config.json" > "$T/root/etc/hipsd/config.json"
}
write_config

# --- Plain boot: tracefs is the mount unit's job, not hipsd's (its system
# call filter has no mount(2)). Start from tracefs unmounted; bpffs as PID 1
# mounts it on a host (not in a container).
in_ct systemctl stop sys-kernel-tracing.mount
tracefs_gone() { not in_ct findmnt /sys/kernel/tracing >/dev/null; }
if ! wait_until 10 tracefs_gone; then
        in_ct findmnt /sys/kernel/tracing
        in_ct systemctl status sys-kernel-tracing.mount --no-pager
fi
check "tracefs unmounted before hipsd starts" tracefs_gone

# A sanitizer build: LeakSanitizer stops the world with ptrace(2), which the
# unit's system call filter refuses, so that its report at exit would fail
# hipsd and hipsctl there. Leaks are the other end-to-end tests' to find.
if [ "${HIPS_SANITIZE:-none}" != none ]; then
        mkdir -p "$T/root/etc/systemd/system/hipsd.service.d"
        cat > "$T/root/etc/systemd/system/hipsd.service.d/sanitizer.conf" <<EOC
[Service]
Environment=ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
EOC
        in_ct systemctl daemon-reload
fi
in_ct sh -c 'mountpoint -q /sys/fs/bpf || mount -t bpf -o mode=0700 bpf /sys/fs/bpf'

# --- systemctl enable --now: active (running) only through READY=1.
out=$(in_ct systemctl enable --now hipsd.service 2>&1)
rc=$?
echo "$out"
check "systemctl enable --now hipsd (rc $rc)" test "$rc" = 0
check "hipsd.service is active (running)" is_running
check "it is Type=notify, and says what it does in STATUS=" \
        test "$(prop Type)" = notify -a -n "$(prop StatusText)"
echo "StatusText: $(prop StatusText)"
status=$(in_ct systemctl status hipsd.service --no-pager 2>&1)
check "systemctl status shows active (running) and the status line" \
        sh -c 'echo "$1" | grep -q "Active: active (running)" && echo "$1" | grep -q "Status: \"mode safe"' _ "$status"
check "the unit pulled tracefs in" test "$(in_ct systemctl is-active sys-kernel-tracing.mount)" = active
check "hipsd did not have to mount tracefs itself" not journal_has '.MESSAGE | test("Mounted tracefs")'
# In a pid namespace the pin is named after it: stopped-pidns-INODE.
check "the stopped map is pinned in bpffs (ReadWritePaths=/sys/fs/bpf)" \
        output_has '^stopped' in_ct ls /sys/fs/bpf/hipsd
check "the watchdog is armed (WatchdogSec=30s)" test "$(prop WatchdogUSec)" = 30s
MAIN_PID=$(prop MainPID)

# --- hipsctl status, on the container's system bus.
out=$(in_ct hipsctl status 2>&1)
rc=$?
echo "$out"
check "hipsctl status (rc $rc)" test "$rc" = 0
check "hipsctl status: safe mode, the rules of the config" \
        sh -c 'echo "$1" | grep -q "safe mode" && echo "$1" | grep -Eq "Rules: [0-9]+ allow, $2 block"' _ "$out" \
        "$(jq '.blocklist | length' "$T/root/etc/hipsd/config.json")"

# --- The shipped examples: the demo program, and netcat running a shell.
in_ct cp "$PROGS/allowed-prog" /var/tmp/hipsd-demo-blocked
rc=$(as_tuser /var/tmp/hipsd-demo-blocked "$MARKERS/demo" >/dev/null 2>&1; echo $?)
check "the shipped example-demo-blocked blocks hipsd-demo-blocked (rc $rc)" \
        sh -c '[ "$1" = 126 ] || [ "$1" = 137 ]' _ "$rc"
check "hipsctl evaluate: nc -e /bin/sh is blocked by example-netcat-exec" output_has \
        '^block \(blocklist rule example-netcat-exec\)' in_ct hipsctl evaluate --filename /usr/bin/nc.traditional \
        --cmdline "nc -e /bin/sh 192.0.2.1 4444"
check "hipsctl evaluate: nc -v host 80 is allowed" output_has '^allow \(no rule' \
        in_ct hipsctl evaluate --filename /usr/bin/nc.traditional --cmdline "nc -v example.org 80"

# --- A blocklisted exec fails with EPERM (126), or is killed; an allowed one runs.
rc=$(run_prog allowed-prog allowed-1)
check "an allowed program runs (rc $rc)" test "$rc" = 0 -a "$(marker allowed-1 && echo y)" = y
rc=$(run_prog blocked-prog blocked-1)
check "the blocklisted program is stopped before it runs (rc $rc)" \
        sh -c '[ "$1" = 126 ] || [ "$1" = 137 ]' _ "$rc"
check "the blocklisted program wrote no marker" not marker blocked-1
check "journalctl -u hipsd has the block with its structured fields" wait_until 10 journal_has "
        .MESSAGE_ID == \"$MSG_BLOCKED\" and .PRIORITY == \"4\" and
        .HIPS_RULE == \"nspawn-block\" and (.HIPS_ACTION == \"block\" or .HIPS_ACTION == \"kill\") and
        .HIPS_FILENAME == \"$PROGS/blocked-prog\" and .HIPS_UID == \"$TUID\" and
        .HIPS_MODE == \"safe\" and .HIPS_LAYER == \"hold\" and (.HIPS_SHA256 | length) == 64 and
        (.HIPS_CMDLINE | startswith(\"$PROGS/blocked-prog \")) and (.HIPS_PARENT_CMDLINE | length) > 0 and
        (.HIPS_EXEC_ID | length) > 0 and (.HIPS_PID | length) > 0 and (.HIPS_LATENCY_US | length) > 0 and
        (.MESSAGE | startswith(\"Blocked exec of $PROGS/blocked-prog\"))"
in_ct journalctl -u hipsd.service -o json --no-pager HIPS_RULE=nspawn-block | head -1 |
        jq -c '{MESSAGE_ID, PRIORITY, HIPS_RULE, HIPS_ACTION, HIPS_FILENAME, HIPS_UID, HIPS_MODE, HIPS_LAYER,
                HIPS_SHA256, HIPS_CMDLINE, HIPS_PARENT_CMDLINE, HIPS_EXEC_ID, HIPS_PID, HIPS_LATENCY_US, MESSAGE}'
check "the decision log file has the block" in_ct jq -e -s \
        "map(select(.event == \"exec\" and .rule == \"nspawn-block\" and .uid == $TUID)) | length > 0" \
        /var/log/hipsd/hips.log.json
check "the decision log is root's alone (0600 in a 0750 directory)" \
        test "$(in_ct stat -c %a /var/log/hipsd/hips.log.json) $(in_ct stat -c %a /var/log/hipsd)" = "600 750"

# The stop layer under the sandbox: a memfd exec, which no fanotify mark
# sees, is stopped, read through /proc (ProtectProc=invisible, CAP_SYS_PTRACE)
# and killed (CAP_KILL).
as_tuser "$PROGS/memfd-exec" "$PROGS/memfd-target" memfd-target "$MARKERS/memfd-1" >/dev/null 2>&1
rc=$?
check "a blocked memfd exec is killed by the stop layer (rc $rc)" test "$rc" = 137
check "... before it wrote its marker" not marker memfd-1
check "journal: the memfd block, layer stop" wait_until 10 journal_has "
        .HIPS_RULE == \"nspawn-block-memfd\" and .HIPS_LAYER == \"stop\" and .HIPS_ACTION == \"kill\" and
        (.HIPS_FILENAME | startswith(\"/memfd:\"))"

# --- hipsctl mode functional, through the real system bus.
out=$(in_ct hipsctl mode functional 2>&1)
rc=$?
check "hipsctl mode functional (rc $rc: $out)" test "$rc" = 0
check "busctl reads Mode functional" \
        test "$(in_ct busctl get-property org.hipsd1 /org/hipsd1 org.hipsd1.Manager Mode)" = 's "functional"'
check "hipsctl status says functional" output_has "functional mode" in_ct hipsctl status
rc=$(run_prog blocked-prog blocked-func --delay-ms 3000)
check "functional mode: the blocklisted program is killed after the fact (rc $rc)" test "$rc" = 137
check "... before it wrote its marker" not marker blocked-func
check "journal: the kill, layer after, mode functional" wait_until 10 journal_has "
        .HIPS_RULE == \"nspawn-block\" and .HIPS_LAYER == \"after\" and .HIPS_ACTION == \"kill\" and
        .HIPS_MODE == \"functional\""
check "journal: the mode change" journal_has '.HIPS_EVENT == "mode" and .HIPS_MODE == "functional"'
out=$(in_ct hipsctl mode safe 2>&1)
rc=$?
check "hipsctl mode safe (rc $rc $out)" test "$rc" = 0
check "busctl reads Mode safe" \
        test "$(in_ct busctl get-property org.hipsd1 /org/hipsd1 org.hipsd1.Manager Mode)" = 's "safe"'

# --- busctl introspect shows the interface.
out=$(in_ct busctl introspect org.hipsd1 /org/hipsd1 2>&1)
check "busctl introspect org.hipsd1 /org/hipsd1 shows org.hipsd1.Manager" \
        sh -c 'for m in "^org.hipsd1.Manager +interface" "^\.Reload +method" "^\.SetMode +method" \
                        "^\.GetStatus +method" "^\.Mode +property" "^\.Decision +signal"; do
                       echo "$1" | grep -Eq "$m" || { echo "missing: $m"; exit 1; }
               done' _ "$out"

# --- hipsctl reload: a new rule is in force at once.
loaded_at() { in_ct busctl get-property org.hipsd1 /org/hipsd1 org.hipsd1.Manager RulesLoadedAt; }
before=$(loaded_at)
write_config '.blocklist += [{ name: "nspawn-block-later", filename: ($progs + "/later-prog") }]'
rc=$(run_prog later-prog later-0)
check "before the reload, the new rule is not in force (rc $rc)" test "$rc" = 0
out=$(in_ct hipsctl reload 2>&1)
rc=$?
check "hipsctl reload (rc $rc: $out)" test "$rc" = 0
check "RulesLoadedAt moved" test "$(loaded_at)" != "$before"
rc=$(run_prog later-prog later-1)
check "after hipsctl reload, the new rule blocks (rc $rc)" sh -c '[ "$1" = 126 ] || [ "$1" = 137 ]' _ "$rc"
check "hipsctl rules lists it" output_has nspawn-block-later in_ct hipsctl rules

# --- systemctl reload: the same, through ExecReload=; a bad config fails
# the reload and changes nothing.
write_config '.blocklist += [{ name: "nspawn-block-later", filename: ($progs + "/later-prog") }] | .no_such_key = 1'
out=$(in_ct systemctl reload hipsd.service 2>&1)
rc=$?
check "systemctl reload of an invalid config fails (rc $rc)" test "$rc" != 0
check "... and hipsd runs on, same pid, same rules" \
        sh -c '[ "$1" = active/running ] && [ "$2" = "$3" ] && [ "$4" = 126 ]' _ \
        "$(prop ActiveState)/$(prop SubState)" "$(prop MainPID)" "$MAIN_PID" "$(run_prog later-prog later-2)"
check "journal: the reload was rejected" wait_until 10 journal_has '.MESSAGE | test("Reload of .* rejected")'
check "journal: ... naming the problem" journal_has '.MESSAGE | test("unknown key .*no_such_key")'
write_config
before=$(loaded_at)
out=$(in_ct systemctl reload hipsd.service 2>&1)
rc=$?
check "systemctl reload hipsd (rc $rc $out)" test "$rc" = 0
check "the reload took effect: RulesLoadedAt moved, later-prog runs again" \
        sh -c '[ "$1" != "$2" ] && [ "$3" = 0 ]' _ "$(loaded_at)" "$before" "$(run_prog later-prog later-3)"
check "still active (running), same pid" test "$(prop SubState)/$(prop MainPID)" = "running/$MAIN_PID"

# --- Log rotation with the installed logrotate snippet: no line lost. Lines
# written between the rename and SIGHUP land in the renamed file.
rot_batch() {  # rot_batch TAG COUNT
        local i
        for i in $(seq 1 "$2"); do as_tuser "$PROGS/rot-prog" "$MARKERS/rot-$1-$i" >/dev/null; done
}
rot_batch a 10
if in_ct sh -c 'command -v logrotate' >/dev/null; then
        # logrotate renames, runs postrotate (the SIGHUP), hipsd reopens.
        out=$(in_ct logrotate -f -s /var/tmp/hipsd-logrotate.state /etc/logrotate.d/hipsd 2>&1)
        rc=$?
        check "logrotate -f /etc/logrotate.d/hipsd (rc $rc $out)" test "$rc" = 0
else
        # What logrotate does, with the snippet's own postrotate command.
        echo "(logrotate not installed: renaming and running the snippet's postrotate script by hand)"
        post=$(sed -n '/postrotate/,/endscript/p' "$T/root/etc/logrotate.d/hipsd" | sed '1d;$d')
        in_ct mv /var/log/hipsd/hips.log.json /var/log/hipsd/hips.log.json.1
        rot_batch b 10
        in_ct sh -c "$post"
fi
check "hipsd reopened the log after rotation" wait_until 10 in_ct test -e /var/log/hipsd/hips.log.json
rot_batch c 10
rot_lines() {
        in_ct sh -c 'cat /var/log/hipsd/hips.log.json.1 /var/log/hipsd/hips.log.json' |
                jq -s "map(select(.event == \"exec\" and .filename == \"$PROGS/rot-prog\") | .exec_id) | unique | length"
}
expect=$(( $(in_ct sh -c "ls $MARKERS | grep -c '^rot-'") ))
rot_complete() { [ "$(rot_lines)" = "$expect" ]; }
check "rotated logs lost no line ($(rot_lines) execs logged for $expect runs)" wait_until 10 rot_complete
has_run() {  # has_run FILE TAG: FILE has the decision of rot-prog's run TAG
        in_ct jq -e -s "map(select(.cmdline == \"$PROGS/rot-prog $MARKERS/rot-$2\")) | length > 0" "$1" >/dev/null
}
check "the rotated file has the lines from before the rotation" has_run /var/log/hipsd/hips.log.json.1 a-1
check "... and none from after it" not has_run /var/log/hipsd/hips.log.json.1 c-10
check "the new file has the lines from after the rotation" has_run /var/log/hipsd/hips.log.json c-10
check "... and none from before it" not has_run /var/log/hipsd/hips.log.json a-1
check "still the same hipsd" test "$(prop MainPID)" = "$MAIN_PID"

# --- systemd-analyze security: reported, and guarded against regressions.
sec=$(in_ct systemd-analyze security hipsd.service --no-pager 2>&1)
score=$(echo "$sec" | sed -n 's/.*Overall exposure level for hipsd.service: \([0-9.]*\).*/\1/p')
echo "$sec" | grep -E '✗' | sed 's/  */ /g'
echo "systemd-analyze security hipsd.service: $score"
check "exposure level $score is at most 2.5" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.5) }'

# --- systemctl stop leaves nothing behind.
out=$(in_ct systemctl stop hipsd.service 2>&1)
rc=$?
check "systemctl stop hipsd (rc $rc $out)" test "$rc" = 0
check "inactive, exited cleanly (Result=success)" test "$(prop ActiveState)/$(prop Result)" = inactive/success
check "no hipsd process is left" not in_ct pgrep -x hipsd
check "no process is left stopped" not output_has '^T' in_ct ps -e -o stat=
check "journal: hipsd stopped on SIGTERM" journal_has '.MESSAGE | test("Received SIGTERM, stopping")'
rc=$(run_prog blocked-prog blocked-stopped)
check "with hipsd stopped, nothing is gated (rc $rc)" test "$rc" = 0

# --- systemctl start, restart: back, with the same rules.
in_ct systemctl start hipsd.service
check "systemctl start hipsd" is_running
pid1=$(prop MainPID)
out=$(in_ct systemctl restart hipsd.service 2>&1)
rc=$?
check "systemctl restart hipsd (rc $rc $out)" test "$rc" = 0 -a "$(prop MainPID)" != "$pid1"
check "active (running) again" is_running
rc=$(run_prog blocked-prog blocked-2)
check "after the restart the blocklisted program is blocked again (rc $rc)" \
        sh -c '[ "$1" = 126 ] || [ "$1" = 137 ]' _ "$rc"
check "hipsctl status after the restart" in_ct hipsctl status >/dev/null

# --- Restart=on-failure: a killed hipsd comes back by itself.
restarts=$(prop NRestarts)
pid1=$(prop MainPID)
in_ct /bin/kill -KILL "$pid1"
restarted() { [ "$(prop NRestarts)" -gt "$restarts" ] && is_running && [ "$(prop MainPID)" != "$pid1" ]; }
check "after SIGKILL, Restart=on-failure brings hipsd back" wait_until 30 restarted
rc=$(run_prog blocked-prog blocked-3)
check "and it blocks (rc $rc)" sh -c '[ "$1" = 126 ] || [ "$1" = 137 ]' _ "$rc"

# --- The watchdog: pings from the event loop move WatchdogTimestamp.
wd=$(prop WatchdogTimestampMonotonic)
watchdog_moved() { [ "$(prop WatchdogTimestampMonotonic)" != "$wd" ]; }
check "WATCHDOG=1 pings arrive (WatchdogTimestamp moves within 20 s)" wait_until 20 watchdog_moved

# --- A plain boot: the enabled service starts with the system, with tracefs
# from its mount unit, and without bpffs (not mounted in a container) only
# warns.
check "hipsd.service is enabled" test "$(in_ct systemctl is-enabled hipsd.service)" = enabled
check "the container shuts down (hipsd stops with it)" shutdown_container
boot_container
check "after the boot, hipsd.service is active (running)" wait_until 30 is_running
check "tracefs is mounted, by its mount unit" test "$(in_ct systemctl is-active sys-kernel-tracing.mount)" = active
check "without bpffs hipsd warns and runs on" \
        journal_has "(.MESSAGE | test(\"Cannot use bpffs at /sys/fs/bpf\")) and ._PID == \"$(prop MainPID)\""
check "hipsctl status after the boot" in_ct hipsctl status >/dev/null
rc=$(run_prog blocked-prog blocked-boot)
check "after the boot the blocklisted program is blocked (rc $rc)" \
        sh -c '[ "$1" = 126 ] || [ "$1" = 137 ]' _ "$rc"

exit 0
}
