#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The exec gate end to end: real BPF programs, real execs as a test user,
# in both gate settings. Asserts on markers (did the program run?), exit
# codes (EPERM from the hold, SIGKILL from the stop layer) and the log.
. "$(dirname "$0")/lib.sh"
setup

make_prog blocked-name
make_prog allowed-prog
make_prog cmdline-target
make_prog parent-target
make_prog sha-blocked "unique-$RANDOM-$$"
make_prog slow-blocked
make_prog loader-target
LOADER=$(readlink -f /lib64/ld-linux-x86-64.so.2)
cp "$T/bin/sha-blocked" "$T/bin/renamed-copy"
ln -s "$T/bin/blocked-name" "$T/bin/symlink-to-blocked"
ln "$T/bin/blocked-name" "$T/bin/hardlink-to-blocked"
SHA=$(sha256_of "$T/bin/sha-blocked")

write_config() {  # write_config GATE
        cat > "$T/config.json" <<EOC
{
  "gate": "$1",
  "kernel_allowlist": ["/usr/bin/true", "/usr/bin/setpriv"],
  "allowlist": [
    { "name": "root-may-run-blocked-name", "filename": "$T/bin/blocked-name", "uid": 0 }
  ],
  "blocklist": [
    { "name": "block-by-name", "filename": "$T/bin/blocked-name" },
    { "name": "block-by-cmdline", "filename": "$T/bin/cmdline-target", "cmdline": "* --evil-flag*" },
    { "name": "block-by-parent", "filename": "$T/bin/parent-target", "parent_cmdline": "*hips-parent-tag*" },
    { "name": "block-by-sha256", "sha256": "$SHA" },
    { "name": "block-slow", "filename": "$T/bin/slow-blocked" },
    { "name": "block-loader-run", "filename": "$LOADER", "cmdline": "* $T/bin/loader-target *" }
  ]
}
EOC
}

# blocked NAME RULE CMD...: the program must not run, and the log names RULE.
blocked() {
        local name=$1 rule=$2; shift 2
        local m="$T/markers/$name"
        as_user "$@" "$m" 2>"$T/stderr.$name"
        local rc=$?
        check "$GATE: $name: program did not run (rc $rc)" test ! -e "$m"
        check "$GATE: $name: rc is EPERM-126 or SIGKILL-137" test "$rc" = 126 -o "$rc" = 137
        check "$GATE: $name: logged as blocked by $rule" \
                wait_log ".rule == \"$rule\" and (.action == \"block\" or .action == \"kill\")"
}

for GATE in auto sigstop; do
        write_config "$GATE"
        : > "$LOG"
        start_hipsd || { fail "$GATE: hipsd starts"; continue; }
        pass "$GATE: hipsd starts"

        # Kernel fast path: no event, nothing logged.
        for _ in $(seq 1 20); do as_user /usr/bin/true; done
        check "$GATE: kernel-allowlisted /usr/bin/true ran without an event" \
                test "$(log_count '.filename == "/usr/bin/true"')" = 0

        # Unmatched program: runs, and is logged as allowed.
        as_user "$T/bin/allowed-prog" "$T/markers/allowed"
        check "$GATE: unmatched program ran" test -e "$T/markers/allowed"
        check "$GATE: unmatched program logged as allowed" \
                wait_log ".filename == \"$T/bin/allowed-prog\" and .action == \"allow\" and .rule == null and .uid == $TEST_UID"
        # The dynamic loader (not on the kernel allowlist) is no event of its
        # own when the kernel loads it for a program; run directly, it is the
        # program, and is judged (by the stop layer: it has no hold).
        check "$GATE: ld.so loading programs is not an event" test "$(log_count ".filename == \"$LOADER\"")" = 0
        as_user "$LOADER" "$T/bin/allowed-prog" "$T/markers/loader-allowed"
        check "$GATE: ld.so run directly on an allowed program runs it" test -e "$T/markers/loader-allowed"
        check "$GATE: ld.so run directly is judged and logged" \
                wait_log ".filename == \"$LOADER\" and .action == \"allow\" and .layer == \"stop\""
        blocked by-loader-run block-loader-run "$LOADER" "$T/bin/loader-target"

        blocked by-name block-by-name "$T/bin/blocked-name"
        blocked by-symlink block-by-name "$T/bin/symlink-to-blocked"
        blocked by-hardlink block-by-name "$T/bin/hardlink-to-blocked"
        blocked by-relative-path block-by-name env -C "$T/bin" ./blocked-name
        blocked by-sha256-renamed block-by-sha256 "$T/bin/renamed-copy"
        blocked by-memfd block-by-sha256 "$HIPS_TEST_HELPERS/hips-test-memfd-exec" "$T/bin/sha-blocked" sha-blocked
        blocked by-fexecve block-by-name "$HIPS_TEST_HELPERS/hips-test-fexecve" "$T/bin/blocked-name" blocked-name

        # Allowlist before blocklist: the same file is allowed for root.
        "$T/bin/blocked-name" "$T/markers/root-allowed"
        check "$GATE: allowlist rule (uid 0) wins over the blocklist" test -e "$T/markers/root-allowed"
        check "$GATE: allowlist decision logged" \
                wait_log '.rule == "root-may-run-blocked-name" and .action == "allow" and .uid == 0'

        # cmdline glob: blocked with the flag, allowed without it.
        as_user "$T/bin/cmdline-target" "$T/markers/cmd-ok" --harmless
        check "$GATE: cmdline rule does not match other args" test -e "$T/markers/cmd-ok"
        as_user "$T/bin/cmdline-target" "$T/markers/cmd-evil" --evil-flag
        check "$GATE: blocked by cmdline glob" test ! -e "$T/markers/cmd-evil"
        check "$GATE: cmdline block logged" wait_log '.rule == "block-by-cmdline" and (.cmdline | test("--evil-flag"))'

        # parent cmdline: the same file from a parent without the tag runs.
        as_user /bin/bash -c "\"$T/bin/parent-target\" \"$T/markers/parent-ok\"; :"
        check "$GATE: parent rule does not match other parents" test -e "$T/markers/parent-ok"
        as_user /bin/bash -c "\"$T/bin/parent-target\" \"$T/markers/parent-evil\"; :" hips-parent-tag
        check "$GATE: blocked by parent cmdline" test ! -e "$T/markers/parent-evil"
        check "$GATE: parent block logged" wait_log '.rule == "block-by-parent" and (.parent_cmdline | test("hips-parent-tag"))'

        # The memfd exec is invisible to fanotify: the stop layer must have caught it.
        check "$GATE: memfd exec was judged by the stop layer" \
                log_has '.rule == "block-by-sha256" and .layer == "stop" and (.filename | startswith("/memfd:"))'
        if [ "$GATE" = auto ]; then
                check "auto: file execs are judged by the hold layer" \
                        log_has '.rule == "block-by-name" and .layer == "hold" and .action == "block"'
                check "auto: blocked exec failed with Operation not permitted" \
                        grep -q "Permission denied\|Operation not permitted" "$T/stderr.by-name"
        else
                check "sigstop: file execs are judged by the stop layer" \
                        log_has '.rule == "block-by-name" and .layer == "stop" and .action == "kill"'
        fi

        # Many gated execs: nothing left stopped.
        for i in $(seq 1 200); do as_user "$T/bin/allowed-prog" "$T/markers/many"; done
        check "$GATE: 200 gated execs leave nothing stopped" no_stopped_processes
        for i in $(seq 1 1000); do /usr/bin/true; done
        check "$GATE: 1000 runs of /bin/true leave nothing stopped" no_stopped_processes

        # SIGTERM while execs are in flight: all answered, none held or stopped.
        ( for i in $(seq 1 300); do as_user "$T/bin/allowed-prog" "$T/markers/storm" || true; done ) &
        STORM=$!
        sleep 0.3
        stop_hipsd
        check "$GATE: hipsd exits 0 on SIGTERM" test "$HIPSD_RC" = 0
        wait "$STORM"
        check "$GATE: after SIGTERM nothing is stopped" no_stopped_processes
        check "$GATE: execs run normally after hipsd is gone" \
                as_user "$T/bin/blocked-name" "$T/markers/after-stop"
done

# Functional mode: no hold, no stop; the blocked process is killed after the fact.
write_config auto
: > "$LOG"
start_hipsd --functional && pass "functional: hipsd starts" || fail "functional: hipsd starts"
as_user "$T/bin/slow-blocked" --delay-ms 3000 "$T/markers/functional"
RC=$?
check "functional: blocked program killed after the fact (rc $RC)" test "$RC" = 137
check "functional: it did not get to write its marker" test ! -e "$T/markers/functional"
check "functional: logged as killed, layer after" \
        wait_log '.rule == "block-slow" and .action == "kill" and .layer == "after" and .mode == "functional"'
as_user "$T/bin/allowed-prog" "$T/markers/functional-ok"
check "functional: unmatched program runs" test -e "$T/markers/functional-ok"
check "functional: no process was stopped" test "$(log_count '.layer == "stop" or .layer == "hold"')" = 0
stop_hipsd
