#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The HIDS monitors end to end: real BPF programs, real connections, sends,
# lookups, opens and set*id calls by test programs, each event's fields
# checked against what the program says it did; the network kill rule, the
# privilege alert and allowlist, the exec rules' "ancestor" field, a reload
# that switches monitors on and off, and the same events on the bus
# (hipsctl monitor --type, hipsctl status counters).
. "$(dirname "$0")/lib.sh"
setup
trap 'stop_monitors; stop_private_buses; teardown' EXIT

[ -x "${HIPSCTL:-}" ] || skip_or_fail "hipsctl not built at ${HIPSCTL:-}"
[ -d "${HIPS_SOURCE_ROOT:-}" ] || skip_or_fail "HIPS_SOURCE_ROOT not set (the source tree, for the D-Bus policy)"
# Absolute, symlinks resolved: events name a process's executable by what
# /proc/PID/exe says, and exec decisions the file that was opened.
H=$(readlink -f "$HIPS_TEST_HELPERS")
NET=$H/hips-test-net
SH=$(readlink -f /bin/sh)
ip -6 addr show dev lo 2>/dev/null | grep -q "inet6 ::1/128" || skip_or_fail "needs IPv6 loopback (::1 on lo)"
findmnt -n -o OPTIONS -T "$T" | grep -qw nosuid && skip_or_fail "$T is on a nosuid mount: set-user-ID test programs would not gain anything"

# The programs under their own names, so that rules can name them.
cp "$H/hips-test-spawn" "$T/bin/fake-httpd"
cp "$NET" "$T/bin/net-killme"
for f in suid-helper allowed-suid; do
        cp "$H/hips-test-setuid" "$T/bin/$f"
        chown root:root "$T/bin/$f"
        chmod 4755 "$T/bin/$f"
done
echo secret > "$T/watched"
mkdir -p "$T/secrets"
echo key > "$T/secrets/key"
echo nothing > "$T/unwatched"
chmod 644 "$T/watched" "$T/unwatched" "$T/secrets/key"

write_config() {  # write_config DNS(true|false) LINEAGE_EVENTS(true|false)
        cat > "$T/config.json" <<EOC
{
  "tamper_action": "log",
  "kernel_allowlist": ["/usr/bin/true", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/bin/setpriv"],
  "blocklist": [
    { "name": "no-shell-from-httpd", "filename": "$SH", "ancestor": "fake-httpd" }
  ],
  "monitors": {
    "lineage": { "enabled": true, "depth": 8, "events": $2 },
    "network": { "enabled": true, "rules": [
      { "name": "kill-net-killme", "exe": "$T/bin/net-killme", "daddr": "127.0.0.0/8", "action": "kill" },
      { "name": "alert-v6-loopback", "exe": "*/hips-test-net", "daddr": "::1", "protocol": "tcp" }
    ] },
    "dns": { "enabled": $1 },
    "files": { "enabled": true, "paths": ["$T/watched", "$T/secrets/", "/etc/shadow"] },
    "privilege": { "enabled": true, "allow": ["$T/bin/allowed-suid", "/usr/bin/sudo", "/usr/bin/su"] }
  }
}
EOC
}

# Only one hipsd runs per pid namespace: one someone else started (another
# test on this machine) is waited out, not taken for a failure of this one.
start_hipsd_when_free() {
        for _ in $(seq 1 60); do
                start_hipsd "$@" && return 0
                grep -q "another hipsd .* is already running" "$T/hipsd.out" || return 1
                echo "# another hipsd is running in this pid namespace: retrying in 5 s"
                sleep 5
        done
        return 1
}

MONITOR_PIDS=
stop_monitors() {
        local pid
        for pid in $MONITOR_PIDS; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
        MONITOR_PIDS=
}

# jq_true ARGS...: jq -e, without printing the result.
jq_true() { jq -e "$@" > /dev/null; }

# word KEY TEXT: the value of "KEY=value" in a helper's output.
word() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n1; }

start_private_bus hipsd "$HIPS_SOURCE_ROOT/dbus/org.hipsd1.conf" || { fail "private bus starts"; exit 1; }
write_config true false
start_hipsd_when_free || { fail "hipsd starts with every monitor"; exit 1; }
pass "hipsd starts with every monitor"
for m in lineage network dns files privilege; do
        check "monitor $m is on" grep -q "Monitor $m on" "$T/hipsd.out"
done
"$HIPSCTL" monitor --json --type network > "$T/bus-network.out" 2>"$T/bus-network.err" &
MONITOR_PIDS="$MONITOR_PIDS $!"
"$HIPSCTL" monitor --json > "$T/bus-all.out" 2>"$T/bus-all.err" &
MONITOR_PIDS="$MONITOR_PIDS $!"
wait_file_has "$T/bus-network.err" "Monitoring" && wait_file_has "$T/bus-all.err" "Monitoring" ||
        fail "hipsctl monitor subscribes"

# Every monitor event: its type, the process, the chain up to this script.
common() {  # common PID: a jq condition
        echo ".pid == $1 and .uid == $TEST_UID and .exe != null and (.ancestors | any(.pid == $$))"
}

# --- network: TCP over 127.0.0.1 and [::1], UDP ------------------------------

OUT=$(as_user "$NET" tcp 127.0.0.1)
P=$(word pid "$OUT"); L=$(word listen "$OUT"); C=$(word client "$OUT")
check "tcp4: outbound connect logged with both ends ($OUT)" wait_log \
        ".event == \"network\" and .kind == \"connect\" and .protocol == \"tcp\" and .family == \"ipv4\" and
         .saddr == \"127.0.0.1\" and .sport == $C and .daddr == \"127.0.0.1\" and .dport == $L and
         .result == \"established\" and .direction == \"outbound\" and .comm == \"hips-test-net\" and
         .exe == \"$NET\" and .action == \"log\" and .rule == null and $(common "$P")"
check "tcp4: inbound accept logged, local end first" wait_log \
        ".event == \"network\" and .kind == \"accept\" and .saddr == \"127.0.0.1\" and .sport == $L and
         .daddr == \"127.0.0.1\" and .dport == $C and .direction == \"inbound\" and $(common "$P")"

OUT=$(as_user "$NET" tcp ::1)
P=$(word pid "$OUT"); L=$(word listen "$OUT"); C=$(word client "$OUT")
check "tcp6: outbound connect logged, matched by the alert rule ($OUT)" wait_log \
        ".event == \"network\" and .kind == \"connect\" and .family == \"ipv6\" and .saddr == \"::1\" and
         .sport == $C and .daddr == \"::1\" and .dport == $L and .rule == \"alert-v6-loopback\" and
         .action == \"alert\" and $(common "$P")"
check "tcp6: inbound accept logged" wait_log \
        ".event == \"network\" and .kind == \"accept\" and .family == \"ipv6\" and .saddr == \"::1\" and
         .sport == $L and .dport == $C and .action == \"log\" and $(common "$P")"

OUT=$(as_user "$NET" udp 127.0.0.1)
P=$(word pid "$OUT"); L=$(word port "$OUT"); C=$(word client "$OUT")
check "udp: sendto logged with source and destination ($OUT)" wait_log \
        ".event == \"network\" and .kind == \"udp_send\" and .protocol == \"udp\" and .saddr == \"127.0.0.1\" and
         .sport == $C and .daddr == \"127.0.0.1\" and .dport == $L and .count == 1 and $(common "$P")"

# The kill rule: the process that connects is killed while it holds the connection.
as_user "$T/bin/net-killme" tcp 127.0.0.1 3000 > "$T/killme.out"
RC=$?
check "network kill rule: the connecting process was killed (rc $RC)" test "$RC" = 137
check "network kill rule: logged with its rule and action" wait_log \
        ".event == \"network\" and .kind == \"connect\" and .rule == \"kill-net-killme\" and .action == \"kill\" and
         .exe == \"$T/bin/net-killme\" and .uid == $TEST_UID"

# --- dns ---------------------------------------------------------------------

OUT=$(as_user "$NET" resolve localhost)
RC=$?
P=$(word pid "$OUT")
check "getaddrinfo(localhost) resolved (rc $RC)" test "$RC" = 0
check "dns: the name, the answer and who asked" wait_log \
        ".event == \"dns\" and .kind == \"getaddrinfo\" and .name == \"localhost\" and .result == 0 and
         .error == null and .latency_us >= 0 and $(common "$P")"
as_user "$NET" resolve no-such-host.invalid >/dev/null
check "dns: a failed lookup carries the error" wait_log \
        ".event == \"dns\" and .name == \"no-such-host.invalid\" and .result != 0 and .error != null"

# --- files -------------------------------------------------------------------

as_user cat "$T/unwatched" > /dev/null
as_user cat "$T/watched" > /dev/null
check "files: an open of a watched file, read, by the test user" wait_log \
        ".event == \"file\" and .kind == \"open\" and .path == \"$T/watched\" and .access == \"read\" and
         (.flags | startswith(\"O_RDONLY\")) and .match == \"file\" and .result >= 0 and .comm == \"cat\" and
         .uid == $TEST_UID and .exe == \"/usr/bin/cat\""
check "files: an unwatched file is not reported" test "$(log_count ".event == \"file\" and .path == \"$T/unwatched\"")" = 0
echo more >> "$T/secrets/key"
check "files: a write to a file in a watched directory, with its flags" wait_log \
        ".event == \"file\" and .path == \"$T/secrets/key\" and .match == \"directory\" and .access == \"write\" and
         (.flags | test(\"O_WRONLY\")) and (.flags | test(\"O_APPEND\")) and (.flags | test(\"O_CREAT\")) and .uid == 0"
as_user cat /etc/shadow > /dev/null 2>&1
check "files: a refused open of /etc/shadow is reported with its error" wait_log \
        ".event == \"file\" and .path == \"/etc/shadow\" and .match == \"denied\" and .result == -13 and
         .error == \"EACCES\" and .uid == $TEST_UID"
# passwd and editors replace files by rename: the new inode is watched within a rescan.
cp "$T/watched" "$T/watched.new" && mv "$T/watched.new" "$T/watched"
sleep 6
as_user cat "$T/watched" > /dev/null
check "files: a file replaced by rename is still watched" wait_log \
        ".event == \"file\" and .path == \"$T/watched\" and .ino == $(stat -c %i "$T/watched")"

# --- privilege ---------------------------------------------------------------

OUT=$("$H/hips-test-setuid" "$TEST_UID")
P=$(word pid "$OUT")
check "privilege: setuid by root to the test uid, before and after ($OUT)" wait_log \
        ".event == \"privilege\" and .kind == \"setuid\" and .pid == $P and .args == \"$TEST_UID\" and
         .before_uid == 0 and .before_euid == 0 and .after_uid == $TEST_UID and .after_euid == $TEST_UID and
         .after_suid == $TEST_UID and .result == 0 and .action == \"log\" and .reason == null"

OUT=$(as_user "$T/bin/suid-helper" --become-root)
RC=$?
P=$(word pid "$OUT")
check "privilege: a set-user-ID root copy made the test user root (rc $RC, $OUT)" test "$RC" = 0
check "privilege: its exec is an alert: a non-root process gained uid 0" wait_log \
        ".event == \"privilege\" and .kind == \"exec\" and .pid == $P and .program == \"$T/bin/suid-helper\" and
         .before_uid == $TEST_UID and .before_euid == $TEST_UID and .after_uid == $TEST_UID and .after_euid == 0 and
         .reason == \"gained-root\" and .allowlisted == null and .action == \"alert\""
check "privilege: and its setuid(0) is logged, real uid 0 after" wait_log \
        ".event == \"privilege\" and .kind == \"setuid\" and .pid == $P and .before_uid == $TEST_UID and
         .before_euid == 0 and .after_uid == 0 and .action == \"log\""
OUT=$(as_user "$T/bin/allowed-suid" --become-root)
P=$(word pid "$OUT")
check "privilege: an allowlisted set-user-ID program is logged, not an alert" wait_log \
        ".event == \"privilege\" and .kind == \"exec\" and .pid == $P and .reason == \"gained-root-allowlisted\" and
         .allowlisted == \"$T/bin/allowed-suid\" and .action == \"log\""

# --- lineage: an "ancestor" exec rule ----------------------------------------

as_user "$T/bin/fake-httpd" "$SH" -c "$H/hips-test-marker $T/markers/httpd-sh" 2>/dev/null
RC=$?
check "ancestor rule: a shell spawned by fake-httpd did not run (rc $RC)" test ! -e "$T/markers/httpd-sh"
check "ancestor rule: logged as blocked, fake-httpd its parent" wait_log \
        ".event == \"exec\" and .rule == \"no-shell-from-httpd\" and .action == \"block\" and
         .ancestors[0].exe == \"$T/bin/fake-httpd\" and .ancestors[0].comm == \"fake-httpd\""
as_user "$T/bin/fake-httpd" /usr/bin/bash -c "$SH -c '$H/hips-test-marker $T/markers/httpd-deep'; true" 2>/dev/null
check "ancestor rule: also two levels down" test ! -e "$T/markers/httpd-deep"
check "ancestor rule: logged with fake-httpd as the grandparent" wait_log \
        ".event == \"exec\" and .rule == \"no-shell-from-httpd\" and .ancestors[1].comm == \"fake-httpd\""
as_user "$SH" -c "$H/hips-test-marker $T/markers/plain-sh"
check "ancestor rule: the same shell from elsewhere runs" test -e "$T/markers/plain-sh"
check "exec decisions carry the chain of ancestors" wait_log \
        ".event == \"exec\" and .filename == \"$SH\" and .action == \"allow\" and (.ancestors | any(.pid == $$))"
check "no process events while lineage \"events\" is off" test "$(log_count '.event == "process"')" = 0

# --- the bus: MonitorEvent, hipsctl monitor --type, status counters ----------

check "hipsctl monitor --type network: network events arrived" \
        wait_file_has "$T/bus-network.out" '"kind":"connect"'
check "hipsctl monitor --type network: nothing but network events" \
        test "$(jq -s 'map(select(.event != "network")) | length' "$T/bus-network.out")" = 0
check "MonitorEvent fields: the killed connection, its rule and the ancestors" \
        jq_true -s "map(select(.rule == \"kill-net-killme\" and .action == \"kill\" and .daddr == \"127.0.0.1\" and
                             (.ancestors | test(\"^[0-9]+:\")))) | length > 0" "$T/bus-network.out"
check "hipsctl monitor without --type: decisions and every monitor's events" \
        jq_true -s 'map(.event) | (index("network") != null) and (index("dns") != null) and (index("file") != null) and
                  (index("privilege") != null)' "$T/bus-all.out"
check "hipsctl monitor without --type: Decision signals too" \
        jq_true -s 'map(select(.exec_id != null and .filename != null)) | length > 0' "$T/bus-all.out"
"$HIPSCTL" monitor --type nonsense >/dev/null 2>&1
check "hipsctl monitor --type with an unknown type is a usage error" test $? = 2

ST="$T/status.json"
# Every process on the machine is watched: other network events may come in
# while this runs, so the status snapshot is bracketed by two log counts.
N_NET_BEFORE=$(log_count '.event == "network"')
"$HIPSCTL" status --json > "$ST"
N_NET_AFTER=$(log_count '.event == "network"')
check "status: every monitor on" jq_true '.MonitorLineageEnabled and .MonitorNetworkEnabled and .MonitorDnsEnabled and
                                        .MonitorFilesEnabled and .MonitorPrivilegeEnabled' "$ST"
check "status: network counters (events, alerts, kills)" \
        jq_true '.MonitorNetworkEvents >= 6 and .MonitorNetworkAlerts >= 2 and .MonitorNetworkKills == 1 and
               .MonitorNetworkKernelEvents >= .MonitorNetworkEvents and .MonitorNetworkKernelDrops == 0' "$ST"
check "status: dns, files, privilege counters" \
        jq_true '.MonitorDnsEvents >= 2 and .MonitorFilesEvents >= 4 and .MonitorPrivilegeEvents >= 4 and
               .MonitorPrivilegeAlerts >= 1' "$ST"
check "hipsctl status shows the monitors" grep -q "Monitors: lineage" <("$HIPSCTL" status)
N_NET_STATUS=$(jq .MonitorNetworkEvents "$ST")
check "the log counts what status says (network: $N_NET_BEFORE <= $N_NET_STATUS <= $N_NET_AFTER)" \
        test "$N_NET_BEFORE" -le "$N_NET_STATUS" -a "$N_NET_STATUS" -le "$N_NET_AFTER"

# --- reload: monitors off and on, lineage events -----------------------------

write_config false true
kill -HUP "$HIPSD_PID"
check "reload: dns off" wait_file_has "$T/hipsd.out" "Monitor dns off"
N_DNS=$(log_count '.event == "dns"')
OUT=$(as_user "$NET" resolve localhost)
P=$(word pid "$OUT")
check "reload: lineage events on: the helper's exec and exit" wait_log \
        ".event == \"process\" and .kind == \"exit\" and .pid == $P and .exit_status == 0"
check "reload: lineage events on: its fork, from this script's subshell" \
        log_has ".event == \"process\" and .kind == \"fork\" and .child_pid == $P"
check "reload: lineage events on: its exec" \
        log_has ".event == \"process\" and .kind == \"exec\" and .pid == $P and .filename == \"$NET\""
check "reload: no dns event once dns is off" test "$(log_count '.event == "dns"')" = "$N_DNS"
check "reload: status says dns is off" jq_true '.MonitorDnsEnabled == false' <("$HIPSCTL" status --json)

# --- the monitors are off by default, lineage aside --------------------------

stop_monitors
stop_hipsd
check "hipsd exits 0 on SIGTERM" test "$HIPSD_RC" = 0
cat > "$T/config.json" <<EOC
{ "tamper_action": "log", "kernel_allowlist": ["/usr/bin/true", "/usr/bin/setpriv"] }
EOC
: > "$LOG"
start_hipsd_when_free || fail "hipsd starts without a monitors section"
check "without \"monitors\": lineage on" grep -q "Monitor lineage on" "$T/hipsd.out"
check "without \"monitors\": no other monitor attached" test "$(grep -c 'Monitor \(network\|dns\|files\|privilege\) on' "$T/hipsd.out")" = 0
as_user "$NET" tcp 127.0.0.1 > /dev/null
as_user cat /etc/shadow > /dev/null 2>&1
as_user "$H/hips-test-marker" "$T/markers/sync"
wait_log ".event == \"exec\" and .filename == \"$H/hips-test-marker\"" || fail "exec decisions still logged"
check "without \"monitors\": no monitor events at all" \
        test "$(log_count '.event == "network" or .event == "file" or .event == "dns" or .event == "privilege"')" = 0
check "without \"monitors\": exec decisions still carry ancestors" \
        log_has ".event == \"exec\" and .filename == \"$H/hips-test-marker\" and (.ancestors | any(.pid == $$))"
check "status: network off" jq_true '.MonitorNetworkEnabled == false and .MonitorLineageEnabled == true' <("$HIPSCTL" status --json)
stop_hipsd
