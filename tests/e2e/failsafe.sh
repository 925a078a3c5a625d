#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fail-safe and bypass resistance (issue 6): crash recovery, decision
# deadline, unhashed files, critical processes, ring-buffer overload, gate
# tampering, /proc spoofing, scripts run through an interpreter.
. "$(dirname "$0")/lib.sh"
setup

make_prog allowed-a
make_prog allowed-b
make_prog blocked-x
make_prog critical-prog
make_prog argv-target
make_prog big-prog
make_prog toctou "toctou-$RANDOM-$$"
TOCTOU_SHA=$(sha256_of "$T/bin/toctou")
# A binary too big to hash within a tight deadline (~200 MiB: hashing takes >100 ms).
dd if=/dev/zero bs=1M count=200 status=none >> "$T/bin/big-prog"
printf '#!/bin/sh\ntouch "$1"\n' > "$T/bin/evil-script.sh"
chmod 755 "$T/bin/evil-script.sh"
cp "$T/bin/evil-script.sh" "$T/bin/renamed-script.sh"
SCRIPT_SHA=$(sha256_of "$T/bin/evil-script.sh")
printf '#!/bin/sh\ntouch "$1"\n# harmless\n' > "$T/bin/good-script.sh"
chmod 755 "$T/bin/good-script.sh"

# While hipsd is stopped on purpose, every exec it would gate waits: the
# tools the test itself runs meanwhile are on the kernel allowlist.
TOOLS=$(for t in setpriv ps awk mawk sleep wc head seq grep jq cat touch cp mv; do
        p=$(command -v $t) && printf '"%s",' "$(readlink -f "$p")"; done)
TOOLS=${TOOLS%,}

config() {  # config GATE [extra json members]
        cat > "$T/config.json" <<EOC
{
  "gate": "$1",
  "kernel_allowlist": [$TOOLS],
  "critical_processes": ["$T/bin/critical-prog"],
  "blocklist": [
    { "name": "block-x", "filename": "$T/bin/blocked-x" },
    { "name": "block-critical", "filename": "$T/bin/critical-prog" },
    { "name": "block-evil-argv", "filename": "$T/bin/argv-target", "cmdline": "* --evil*" },
    { "name": "block-script-by-name", "filename": "$T/bin/evil-script.sh" },
    { "name": "block-script-by-sha", "sha256": "$SCRIPT_SHA" },
    { "name": "block-toctou", "sha256": "$TOCTOU_SHA" }
  ]${2:-}
}
EOC
}

stopped_pids() { ps -u "$TEST_UID" -o pid=,stat= | awk '$2 ~ /^T/ {print $1}'; }

# --- Crash and restart: processes stopped when hipsd was SIGKILLed are decided by the next one.
config sigstop
: > "$LOG"
start_hipsd || fail "crash: hipsd starts"
# Two in one pid namespace would stop and resume each other's processes.
HIPS_NO_JOURNAL=1 "$HIPSD" --config "$T/config.json" --log-file "$T/second.log" > "$T/second.out" 2>&1
check "a second hipsd refuses to start" test $? = 1
check "and says why" grep -q "another hipsd (pid $HIPSD_PID) is already running" "$T/second.out"
kill -STOP "$HIPSD_PID"          # it can no longer answer: the gate keeps what it stops
as_user "$T/bin/allowed-a" "$T/markers/crash-a" & A=$!
as_user "$T/bin/allowed-b" "$T/markers/crash-b" & B=$!
as_user "$T/bin/blocked-x" "$T/markers/crash-x" & X=$!
for _ in $(seq 1 50); do [ "$(stopped_pids | wc -l)" -ge 3 ] && break; sleep 0.1; done
check "crash: three gated processes are stopped while hipsd cannot answer" test "$(stopped_pids | wc -l)" -ge 3
kill -KILL "$HIPSD_PID"; wait "$HIPSD_PID" 2>/dev/null; HIPSD_PID=
sleep 0.3
check "crash: after SIGKILL of hipsd they are still stopped (nothing resumed them)" test "$(stopped_pids | wc -l)" -ge 3
start_hipsd || fail "crash: hipsd restarts"
wait $A $B; wait $X; XRC=$?
check "crash: the restarted hipsd resumed the allowed ones" test -e "$T/markers/crash-a" -a -e "$T/markers/crash-b"
check "crash: and killed the blocked one (rc $XRC)" test ! -e "$T/markers/crash-x" -a "$XRC" = 137
check "crash: recovery is logged" wait_log '.reason == "recovered-after-restart" and .rule == "block-x" and .action == "kill"'
check "crash: nothing left stopped" no_stopped_processes

# --- Gate tampering: a SIGCONT from someone else before the verdict.
kill -STOP "$HIPSD_PID"
as_user "$T/bin/allowed-a" --delay-ms 1500 "$T/markers/tamper" & P=$!
for _ in $(seq 1 50); do [ -n "$(stopped_pids)" ] && break; sleep 0.1; done
TARGET=$(stopped_pids | head -1)
kill -CONT "$TARGET"             # the attacker resumes it
kill -CONT "$HIPSD_PID"
wait $P; PRC=$?
check "tamper: the tampered process was killed (tamper_action kill, rc $PRC)" test "$PRC" = 137 -a ! -e "$T/markers/tamper"
check "tamper: logged as tampering" wait_log ".event == \"tamper\" and .target_pid == \"$TARGET\" and .action == \"kill\""

# The race that remains, with hipsd running: a process held while a big file
# hashes is resumed by its "parent"; how long until hipsd kills it?
as_user "$T/bin/big-prog" --delay-ms 2000 "$T/markers/race" & P=$!
for _ in $(seq 1 100); do [ -n "$(stopped_pids)" ] && break; sleep 0.01; done
kill -CONT $(stopped_pids) 2>/dev/null
wait $P; PRC=$?
check "tamper race: the resumed process was killed before it finished (rc $PRC)" test "$PRC" = 137 -a ! -e "$T/markers/race"
check "tamper race: logged with the time it could run" wait_log '.event == "tamper" and (.latency_us | tonumber) >= 0'
RACE_US=$(jq -r -s 'map(select(.event == "tamper")) | last | .latency_us' "$LOG")
echo "tamper race window (SIGCONT to SIGKILL): $RACE_US us"

# --- TOCTOU: swapping the file at the path after the exec does not change what is judged.
kill -STOP "$HIPSD_PID"
as_user "$T/bin/toctou" --delay-ms 1000 "$T/markers/toctou" & P=$!
for _ in $(seq 1 50); do [ -n "$(stopped_pids)" ] && break; sleep 0.1; done
cp "$T/bin/allowed-b" "$T/bin/toctou.new" && mv -f "$T/bin/toctou.new" "$T/bin/toctou"
kill -CONT "$HIPSD_PID"
wait $P; PRC=$?
check "toctou: hashed what runs (/proc/PID/exe), not what the path names now (rc $PRC)" \
        test "$PRC" = 137 -a ! -e "$T/markers/toctou"
check "toctou: logged with the blocked hash" wait_log ".rule == \"block-toctou\" and .sha256 == \"$TOCTOU_SHA\""
stop_hipsd

# --- Decision deadline: a file too slow to hash gets the fail action; others are not held up.
for action in block allow; do
        config auto ", \"decision_timeout_ms\": 30, \"fail_action\": \"$action\""
        : > "$LOG"
        start_hipsd || fail "deadline: hipsd starts"
        sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
        as_user "$T/bin/big-prog" "$T/markers/big-$action" & BIG=$!
        sleep 0.01
        as_user "$T/bin/allowed-a" "$T/markers/small-$action"
        check "deadline($action): a small exec is judged while the big one hashes" test -e "$T/markers/small-$action"
        wait $BIG
        if [ "$action" = block ]; then
                check "deadline(block): the slow exec was denied" test ! -e "$T/markers/big-block"
                check "deadline(block): logged with reason timeout" wait_log '.reason == "timeout" and .action == "block"'
        else
                check "deadline(allow): the slow exec ran" test -e "$T/markers/big-allow"
                check "deadline(allow): logged with reason timeout" wait_log '.reason == "timeout" and .action == "allow"'
        fi
        stop_hipsd
done

# --- Files over hash_max_bytes are "unhashed", and rules can say what to do with them.
cat > "$T/config.json" <<EOC
{ "hash_max_bytes": 1048576, "blocklist": [ { "name": "no-unhashed", "sha256": "unhashed" } ] }
EOC
: > "$LOG"
start_hipsd || fail "unhashed: hipsd starts"
as_user "$T/bin/big-prog" "$T/markers/unhashed" 2>/dev/null
check "unhashed: a file over hash_max_bytes matched the \"unhashed\" rule" test ! -e "$T/markers/unhashed"
check "unhashed: logged" wait_log '.rule == "no-unhashed" and .reason == "unhashed-too-large" and .sha256 == null'
stop_hipsd

for GATE in auto sigstop; do
        config "$GATE"
        : > "$LOG"
        start_hipsd || fail "$GATE: hipsd starts"

        # Critical processes are never gated, not even by a matching block rule.
        as_user "$T/bin/critical-prog" "$T/markers/critical-$GATE"
        check "$GATE: critical process ran despite a block rule" test -e "$T/markers/critical-$GATE"
        check "$GATE: and was never held or judged" test "$(log_count ".filename == \"$T/bin/critical-prog\"")" = 0

        # Scripts: through an interpreter by path and by hash, and with a #! line.
        as_user /bin/sh "$T/bin/evil-script.sh" "$T/markers/sh-script-$GATE" 2>/dev/null
        check "$GATE: 'sh script.sh' blocked by the script's filename" test ! -e "$T/markers/sh-script-$GATE"
        as_user /bin/bash -e "$T/bin/renamed-script.sh" "$T/markers/bash-renamed-$GATE" 2>/dev/null
        check "$GATE: 'bash -e copy.sh' blocked by the script's sha256" test ! -e "$T/markers/bash-renamed-$GATE"
        ( cd "$T/bin" && as_user /bin/sh ./evil-script.sh "$T/markers/rel-script-$GATE" 2>/dev/null )
        check "$GATE: 'sh ./script.sh' (relative) blocked" test ! -e "$T/markers/rel-script-$GATE"
        as_user "$T/bin/evil-script.sh" "$T/markers/shebang-$GATE" 2>/dev/null
        check "$GATE: './script.sh' with #! blocked" test ! -e "$T/markers/shebang-$GATE"
        as_user /bin/sh "$T/bin/good-script.sh" "$T/markers/good-script-$GATE"
        check "$GATE: an unlisted script runs" test -e "$T/markers/good-script-$GATE"
        check "$GATE: script blocks are logged" wait_log '.reason == "script-blocked" and .rule == "block-script-by-sha"'
        stop_hipsd
done

# --- /proc spoofing: rewriting its own argv after the exec changes nothing.
config auto
: > "$LOG"
start_hipsd --functional || fail "spoof: hipsd starts"
as_user "$T/bin/argv-target" --scrub-argv --delay-ms 2000 "$T/markers/spoof" --evil-flag
SRC=$?
check "spoof: a process that scrubbed its argv is still killed by the cmdline rule (rc $SRC)" test "$SRC" = 137 -a ! -e "$T/markers/spoof"
check "spoof: the log has the argv of the exec, not the scrubbed one" \
        wait_log '.rule == "block-evil-argv" and (.cmdline | test("--evil-flag"))'
stop_hipsd

# --- Overload: a ring buffer too small for any event. Nothing may be left stopped.
config sigstop
: > "$LOG"
start_hipsd --ring-buffer-size 4096 || fail "overload: hipsd starts"
for i in 1 2 3; do as_user "$T/bin/allowed-a" "$T/markers/overload-$i"; done
check "overload: execs whose events were dropped ran, none was stopped" \
        test -e "$T/markers/overload-3" -a -z "$(stopped_pids)"
for _ in $(seq 1 30); do grep -q "events dropped" "$T/hipsd.out" && break; sleep 0.1; done
check "overload: the drops are logged" grep -q "exec events dropped (ring buffer full)" "$T/hipsd.out"
stop_hipsd
config sigstop ', "fail_action": "block"'
start_hipsd --ring-buffer-size 4096 || fail "overload(block): hipsd starts"
as_user "$T/bin/allowed-a" "$T/markers/overload-block"
ORC=$?
check "overload(block): with fail_action block a dropped exec is killed (rc $ORC)" test "$ORC" = 137 -a ! -e "$T/markers/overload-block"
stop_hipsd

# --- Logs lose nothing: an unwritable log does not stop decisions; writing resumes.
mkdir -p "$T/smalllog"
mount -t tmpfs -o size=64k tmpfs "$T/smalllog"
LOG="$T/smalllog/hips.log.json"
config auto
start_hipsd || fail "disk-full: hipsd starts"
dd if=/dev/zero of="$T/smalllog/filler" bs=4k count=100 status=none 2>/dev/null
# The log's last page may still have room for a few records: fill it too,
# a newline at a time (blank lines are nothing to a JSON-lines reader), then
# give back up to 200 of those bytes: the next record (longer) is cut short
# by the full disk, and hipsd must take its first part back.
n=0
while printf '\n' >> "$LOG" 2>/dev/null; do n=$((n + 1)); done
[ "$n" -gt 0 ] && truncate -s -$((n < 200 ? n : 200)) "$LOG"
for i in 1 2 3; do as_user "$T/bin/blocked-x" "$T/markers/full-$i" 2>/dev/null; done
check "disk-full: blocks still happen with the log full" test ! -e "$T/markers/full-3"
check "disk-full: the write error is reported once" test "$(grep -c 'No space left' "$T/hipsd.out")" = 1
log_parses() { jq -e . "$LOG" >/dev/null 2>&1; }
check "disk-full: no record was left cut short (every line parses)" log_parses
rm -f "$T/smalllog/filler"
as_user "$T/bin/allowed-b" "$T/markers/after-full"
check "disk-full: writing resumes when space is back" wait_log ".filename == \"$T/bin/allowed-b\""
stop_hipsd
umount "$T/smalllog"
