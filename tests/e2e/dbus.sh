#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The control API end to end: a private dbus-daemon with hipsd's real policy
# file, hipsd on it (DBUS_SYSTEM_BUS_ADDRESS), driven with hipsctl and busctl,
# as root and as a test user. Asserts on exit codes, D-Bus error names,
# markers written or not, and log lines.
. "$(dirname "$0")/lib.sh"
setup
trap 'stop_private_buses; teardown' EXIT

for tool in busctl dbus-send perl; do
        command -v "$tool" >/dev/null || skip_or_fail "needs $tool"
done
[ -x "${HIPSCTL:-}" ] || skip_or_fail "hipsctl not built at ${HIPSCTL:-}"

POLICY="$HIPS_SOURCE_ROOT/dbus/org.hipsd1.conf"
XML="$HIPS_SOURCE_ROOT/dbus/org.hipsd1.Manager.xml"
MANPAGE="$HIPS_SOURCE_ROOT/man/org.hipsd1.5"
COMPLETION="$HIPS_SOURCE_ROOT/ctl/hipsctl.bash-completion"
OBJ=(org.hipsd1 /org/hipsd1 org.hipsd1.Manager)

make_prog blocked-a
make_prog blocked-b
make_prog free-prog
make_prog slow-blocked
ln -s "$T/bin/blocked-a" "$T/bin/link-to-blocked-a"

write_config() {  # write_config FILE [extra blocklist entry]
        cat > "$1" <<EOC
{
  "kernel_allowlist": ["/usr/bin/true", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/bin/setpriv"],
  "allowlist": [
    { "name": "root-may-run-a", "filename": "$T/bin/blocked-a", "uid": 0 }
  ],
  "blocklist": [
    { "name": "block-a", "filename": "$T/bin/blocked-a" },
    { "name": "block-evil-flag", "filename": "$T/bin/free-prog", "cmdline": "* --evil*" },
    { "name": "block-slow", "filename": "$T/bin/slow-blocked" }${2:+,
    $2}
  ]
}
EOC
}
write_config "$T/config-a.json"
write_config "$T/config-b.json" "{ \"name\": \"block-b\", \"filename\": \"$T/bin/blocked-b\" }"
cat > "$T/config-broken.json" <<EOC
{
  "mode": "sometimes",
  "blocklist": [ { "name": "typo", "filenme": "/usr/bin/nc" } ]
}
EOC
cp "$T/config-a.json" "$T/config.json"

ctl() { "$HIPSCTL" "$@"; }
quiet() { "$@" >/dev/null; }
ctl_user() { as_user "$HIPSCTL" "$@"; }
prop() { busctl --address="$BUS_ADDRESS" get-property "${OBJ[@]}" "$1"; }
status_json() { ctl status --json | jq -r "$1"; }

# runs NAME PROG...: the program ran as the test user (marker written).
runs() {
        local m="$T/markers/$1"; shift
        rm -f "$m"
        as_user "$@" "$m" && test -e "$m"
}
# blocked NAME PROG...: the exec failed with EPERM and nothing of it ran.
blocked() {
        local m="$T/markers/$1" rc; shift
        rm -f "$m"
        as_user "$@" "$m" 2>/dev/null
        rc=$?
        [ "$rc" = 126 ] && ! [ -e "$m" ]
}

# wait_for PID: its exit status, or 124 (and killed) if it runs past 10 s.
wait_for() {
        for _ in $(seq 1 200); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$1" 2>/dev/null; then
                kill -KILL "$1" 2>/dev/null
                wait "$1" 2>/dev/null
                return 124
        fi
        wait "$1"
}

# What a listing says, without the values of properties (they change).
introspect_shape() {
        awk '$1 ~ /^\./ { if ($2 == "property") print $1, $2, $3, $NF; else print $1, $2, $3, $4, $NF }'
}
# The org.hipsd1.Manager element of an introspection document, canonical:
# no comments, one element per line, <x ...></x> as <x .../>.
xml_shape() {
        perl -e 'undef $/; $_ = <STDIN>;
                 s/<!--.*?-->//gs;
                 m{(<interface name="org\.hipsd1\.Manager">.*?</interface>)}s or die "no org.hipsd1.Manager\n";
                 $_ = $1; s/>\s+</></g; s/\s+/ /g; s{<(\w+)([^<>]*?)\s*></\1>}{<$1$2/>}g; s/></>\n</g;
                 print "$_\n";'
}

# --- hipsctl alone: usage, help, completion ------------------------------

ctl --help > "$T/help.out"; RC=$?
check "hipsctl --help exits 0" test "$RC" = 0
check "--help documents the exit codes" grep -q "3  hipsd is not running" "$T/help.out"
check "hipsctl --version prints the version" grep -q "^hipsctl [0-9]" <(ctl --version)
ctl frobnicate 2>"$T/err"; RC=$?
check "unknown command is a usage error (rc $RC)" test "$RC" = 2
ctl mode sometimes 2>"$T/err"; RC=$?
check "hipsctl mode with an unknown mode is a usage error (rc $RC)" test "$RC" = 2
ctl evaluate --cmdline x 2>"$T/err"; RC=$?
check "evaluate without --filename is a usage error (rc $RC)" test "$RC" = 2
ctl status --filename /x 2>"$T/err"; RC=$?
check "evaluate options on another command are a usage error (rc $RC)" test "$RC" = 2

complete_words() {  # complete_words WORD...: what the completion offers for the last word
        bash -c '
                _init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${words[cword]}; prev=${words[cword-1]}; }
                _filedir() { :; }
                . "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                _hipsctl; echo "${COMPREPLY[*]}"' _ "$COMPLETION" "$@"
}
check "completion offers the commands" test "$(complete_words hipsctl mo)" = "mode monitor"
check "completion offers the modes" test "$(complete_words hipsctl mode "")" = "safe functional"
check "completion offers evaluate's options" \
        grep -q -- "--parent-cmdline" <(complete_words hipsctl evaluate --)

# --- no bus at all: hipsd gates anyway, hipsctl says so ------------------

DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-such-bus.sock" start_hipsd && pass "no bus: hipsd starts" || fail "no bus: hipsd starts"
check "no bus: one warning that the control API is off" \
        test "$(grep -c "D-Bus system bus unavailable, control API disabled" "$T/hipsd.out")" = 1
check "no bus: the gate still blocks" blocked nobus-a "$T/bin/blocked-a"
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-such-bus.sock" ctl status 2>"$T/err"; RC=$?
check "no bus: hipsctl status exits 3 (rc $RC)" test "$RC" = 3
check "no bus: hipsctl says it cannot reach the bus" grep -q "cannot connect to the system bus" "$T/err"
stop_hipsd

# --- the private bus, with the real policy -------------------------------

start_private_bus main "$POLICY" || { fail "private dbus-daemon starts"; exit 1; }
pass "private dbus-daemon starts"

ctl status 2>"$T/err"; RC=$?
check "before hipsd: hipsctl status exits 3 (rc $RC)" test "$RC" = 3
check "before hipsd: 'hipsd is not running'" grep -q "hipsd is not running" "$T/err"

: > "$LOG"
start_hipsd && pass "hipsd starts on the private bus" || { fail "hipsd starts on the private bus"; exit 1; }
check "hipsd owns org.hipsd1" wait_file_has "$T/hipsd.out" "Serving the control API as org.hipsd1"
HIPSD_MAIN_PID=$HIPSD_PID

# --- introspection matches the shipped XML and the man page --------------

busctl --address="$BUS_ADDRESS" introspect --xml-interface org.hipsd1 /org/hipsd1 > "$T/live.xml"
xml_shape < "$T/live.xml" > "$T/live.shape"
xml_shape < "$XML" > "$T/file.shape"
check "served interface has members" grep -q '<method name="Evaluate">' "$T/live.shape"
if diff -u "$T/file.shape" "$T/live.shape"; then
        pass "introspection matches dbus/org.hipsd1.Manager.xml"
else
        fail "introspection matches dbus/org.hipsd1.Manager.xml"
fi
check "every member of the XML is documented (a comment before it)" \
        test "$(perl -0777 -ne 'my $n = () = /-->\s*<(?:method|signal|property) /g; print $n' "$XML")" = \
             "$(grep -cE '<(method|signal|property) ' "$XML")"

busctl --address="$BUS_ADDRESS" introspect "${OBJ[@]}" | introspect_shape > "$T/live.listing"
sed -n '/busctl-introspect-begin/,/busctl-introspect-end/{/busctl-introspect-/d;p}' "$MANPAGE" |
        sed -e 's/^\\&//' -e 's/\\-/-/g' -e 's/\\e/\\/g' | introspect_shape > "$T/man.listing"
check "live listing has the interface's members" test "$(wc -l < "$T/live.listing")" -ge 20
if diff -u "$T/man.listing" "$T/live.listing"; then
        pass "org.hipsd1(5) listing matches busctl introspect"
else
        fail "org.hipsd1(5) listing matches busctl introspect"
fi
check "a non-root user may introspect" \
        quiet as_user busctl --address="$BUS_ADDRESS" introspect "${OBJ[@]}"

# --- properties and status -------------------------------------------------

check "Mode property reads safe" test "$(prop Mode)" = 's "safe"'
check "ConfigPath property" test "$(prop ConfigPath)" = "s \"$T/config.json\""
ctl status > "$T/status.out"; RC=$?
check "hipsctl status exits 0" test "$RC" = 0
check "status names the mode" grep -q "safe mode" "$T/status.out"
check "status counts the rules" grep -q "Rules: 1 allow, 3 block" "$T/status.out"
check "status shows the latency" grep -q "Latency: p50 [0-9]* us, p99 [0-9]* us" "$T/status.out"
check "status --json: mode, rule counts, paths, version" \
        test "$(status_json '[.Mode, .AllowRules, .BlockRules, .ConfigPath, .LogPath, .Version] | join(" ")')" = \
             "safe 1 3 $T/config.json $LOG $("$HIPSCTL" --version | cut -d' ' -f2)"
FAST0=$(status_json .FastPathHits); ALLOWED0=$(status_json .Allowed)
for _ in 1 2 3 4 5; do as_user /usr/bin/true; done
check "free program runs" runs free-1 "$T/bin/free-prog"
# No rule looks at the parent or the ancestors: hipsd reads them after its
# answer, for the log alone, and the log still has both.
check "without a rule needing them, the log still has parent_cmdline and ancestors" wait_log \
        ".filename == \"$T/bin/free-prog\" and .action == \"allow\" and (.parent_cmdline | type) == \"string\" and (.ancestors | length) > 0"
check "FastPathHits counts kernel-allowlisted execs" test "$(status_json .FastPathHits)" -ge $((FAST0 + 5))
check "Allowed counts the allowed exec" test "$(status_json .Allowed)" -gt "$ALLOWED0"
check "EventsSeen is Allowed + Blocked" test "$(status_json '.EventsSeen == .Allowed + .Blocked')" = true
check "latency figures are there" test "$(status_json '.DecisionLatencyP99USec >= .DecisionLatencyP50USec and .DecisionLatencyP50USec > 0')" = true
check "nothing pending, nothing dropped" test "$(status_json '.PendingDecisions + .RingbufDrops + .DecisionSignalsDropped')" = 0
BLOCKED0=$(prop Blocked | cut -d' ' -f2)
check "blocked-a is blocked" blocked count-a "$T/bin/blocked-a"
check "Blocked property counts the block" test "$(prop Blocked | cut -d' ' -f2)" -gt "$BLOCKED0"

# --- rules and evaluate ------------------------------------------------------

check "hipsctl rules lists every rule" \
        test "$(ctl rules --json | jq -r 'map(.list + ":" + .name) | join(" ")')" = \
             "allow:root-may-run-a block:block-a block:block-evil-flag block:block-slow"
check "rules show what a rule matches" grep -q "block-evil-flag.*cmdline=\"\\* --evil\\*\"" <(ctl rules)
check "ListRules signature" grep -q '^a(susssssbu) 4 ' <(busctl --address="$BUS_ADDRESS" call "${OBJ[@]}" ListRules)

evaluate() { ctl evaluate --json "$@" | jq -r '[.action, .list, (.rule // "-")] | join(" ")'; }
check "evaluate: blocked program, as a user" test "$(evaluate --filename "$T/bin/blocked-a" --uid "$TEST_UID")" = "block block block-a"
check "evaluate: the same program as root hits the allowlist" test "$(evaluate --filename "$T/bin/blocked-a" --uid 0)" = "allow allow root-may-run-a"
check "evaluate: a symlink matches by identity" test "$(evaluate --filename "$T/bin/link-to-blocked-a" --uid "$TEST_UID")" = "block block block-a"
check "evaluate: cmdline glob" test "$(evaluate --filename "$T/bin/free-prog" --cmdline "free-prog --evil" --uid "$TEST_UID")" = "block block block-evil-flag"
check "evaluate: without the flag, default allow" test "$(evaluate --filename "$T/bin/free-prog" --cmdline "free-prog --nice" --uid "$TEST_UID")" = "allow none -"
check "evaluate agrees with the real gate (flag blocks)" blocked evil "$T/bin/free-prog" --evil
check "evaluate: human output names the rule" \
        test "$(ctl evaluate --filename "$T/bin/blocked-a" --uid "$TEST_UID")" = "block (blocklist rule block-a)"
check "evaluate is allowed to a non-root user" \
        test "$(ctl_user evaluate --filename "$T/bin/blocked-a")" = "block (blocklist rule block-a)"
dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.Evaluate \
        string:"$T/bin/free-prog" string: string: string:xyz uint32:0 > "$T/out" 2>&1
check "evaluate: a malformed sha256 is InvalidArgs" grep -q "Error org.freedesktop.DBus.Error.InvalidArgs: sha256" "$T/out"
dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.Evaluate \
        string:bin/free-prog string: string: string: uint32:0 > "$T/out" 2>&1
check "evaluate: a relative filename is InvalidArgs" grep -q "Error org.freedesktop.DBus.Error.InvalidArgs: filename" "$T/out"

# --- a non-root caller --------------------------------------------------------

ctl_user status > "$T/out" 2>&1; RC=$?
check "non-root: status allowed (rc $RC)" test "$RC" = 0 -a -n "$(grep 'safe mode' "$T/out")"
check "non-root: rules allowed" quiet ctl_user rules
ctl_user reload 2>"$T/err"; RC=$?
check "non-root: reload refused (rc $RC)" test "$RC" = 1
check "non-root: reload refused as permission denied" grep -q "permission denied" "$T/err"
ctl_user mode functional 2>"$T/err"; RC=$?
check "non-root: mode refused (rc $RC)" test "$RC" = 1 -a -n "$(grep 'permission denied' "$T/err")"
ctl_user check-config "$T/config-b.json" 2>"$T/err"; RC=$?
check "non-root: check-config refused (rc $RC)" test "$RC" = 1
as_user dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.SetMode string:functional > "$T/out" 2>&1
check "non-root: SetMode is AccessDenied" grep -q "Error org.freedesktop.DBus.Error.AccessDenied" "$T/out"
check "non-root: Mode is still safe" test "$(prop Mode)" = 's "safe"'
check "non-root: the refused calls never reached hipsd" test -z "$(grep -E '(Reload|SetMode)\(\) called' "$T/hipsd.out")"
check "non-root: still blocked after the refused mode switch" blocked user-a "$T/bin/blocked-a"

# --- monitor: live decisions ------------------------------------------------

# Not through the shell functions: the pids must be hipsctl's own, for the signals.
"$HIPSCTL" monitor > "$T/mon.out" 2> "$T/mon.err" & MON=$!
"$HIPSCTL" monitor --json > "$T/monj.out" 2> "$T/monj.err" & MONJ=$!
setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$HIPSCTL" monitor --json \
        > "$T/monu.out" 2> "$T/monu.err" & MONU=$!
check "monitor subscribes" wait_file_has "$T/mon.err" "Monitoring hipsd decisions"
wait_file_has "$T/monj.err" "Monitoring hipsd decisions"; wait_file_has "$T/monu.err" "Monitoring hipsd decisions"
check "monitor: the exec during the test is blocked" blocked mon-a "$T/bin/blocked-a"
check "monitor prints the decision" wait_file_has "$T/mon.out" "block pid [0-9]* uid $TEST_UID $T/bin/blocked-a rule block-a layer hold"
check "monitor --json prints the decision" \
        wait_file_has "$T/monj.out" "\"filename\":\"$T/bin/blocked-a\".*\"action\":\"block\",\"rule\":\"block-a\""
check "monitor --json lines are JSON with the uid" \
        test "$(jq -s "map(select(.filename == \"$T/bin/blocked-a\" and .uid == $TEST_UID)) | length > 0" "$T/monj.out")" = true
sleep 0.5
check "monitor: a non-root user receives no decisions (bus policy)" test ! -s "$T/monu.out"
check "monitor: the non-root user was told so" grep -q "root only" "$T/monu.err"
kill -INT "$MON" "$MONJ" "$MONU"
wait_for "$MON"; RC=$?
check "monitor exits 0 on Ctrl-C (rc $RC)" test "$RC" = 0
wait_for "$MONJ"; RC=$?
check "monitor --json exits 0 on Ctrl-C (rc $RC)" test "$RC" = 0
wait_for "$MONU"

# --- reload: a good config changes the next exec ---------------------------

timeout 60 busctl --address="$BUS_ADDRESS" --json=short monitor org.hipsd1 > "$T/busmon.out" 2> "$T/busmon.err" & BUSMON=$!
wait_file_has "$T/busmon.err" "Monitoring bus message stream"
LOADED0=$(status_json .RulesLoadedAt)
check "before reload: blocked-b runs" runs b-before "$T/bin/blocked-b"
cp "$T/config-b.json" "$T/config.json"
ctl reload 2>"$T/err"; RC=$?
check "reload with a good config exits 0 (rc $RC)" test "$RC" = 0
check "after reload: the next exec of blocked-b is blocked" blocked b-after "$T/bin/blocked-b"
check "after reload: logged with the new rule" wait_log ".rule == \"block-b\" and .action == \"block\""
check "after reload: BlockRules is 4" test "$(prop BlockRules)" = "u 4"
check "after reload: RulesLoadedAt moved" test "$(status_json .RulesLoadedAt)" -gt "$LOADED0"
check "reload emitted PropertiesChanged with the new rule count" \
        wait_file_has "$T/busmon.out" '"member":"PropertiesChanged".*"BlockRules":{"type":"u","data":4}'

# --- reload: a broken config is refused, the old rules stay -----------------

LOADED1=$(status_json .RulesLoadedAt)
cp "$T/config-broken.json" "$T/config.json"
ctl reload 2>"$T/err"; RC=$?
check "reload of a broken config exits 1 (rc $RC)" test "$RC" = 1
check "hipsctl prints the problems with where they are" \
        test -n "$(grep 'blocklist\[0\]: unknown key "filenme"' "$T/err")" -a -n "$(grep 'error: mode:' "$T/err")"
check "hipsctl says the running rules stay" grep -q "running rules stay in force" "$T/err"
dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.Reload > "$T/out" 2>&1
check "Reload() fails with org.hipsd1.Error.InvalidConfig" grep -q "^Error org.hipsd1.Error.InvalidConfig: " "$T/out"
check "the error message names each problem and where" \
        test -n "$(grep 'error: blocklist\[0\]: unknown key' "$T/out")" -a -n "$(grep 'error: mode: ' "$T/out")"
check "old rules still block blocked-b" blocked b-broken "$T/bin/blocked-b"
check "old rules still block blocked-a" blocked a-broken "$T/bin/blocked-a"
check "rules unchanged (BlockRules 4, same RulesLoadedAt)" \
        test "$(status_json '[.BlockRules, .RulesLoadedAt] | join(" ")')" = "4 $LOADED1"
check "the rejection is logged" grep -q "Reload of $T/config.json rejected, previous rules stay in force" "$T/hipsd.out"

# check-config: problems without applying
ctl check-config "$T/config-broken.json" > "$T/out"; RC=$?
check "check-config of the broken file exits 1 (rc $RC)" test "$RC" = 1
check "check-config lists the problems" grep -q 'error: blocklist\[0\]: unknown key "filenme"' "$T/out"
check "check-config --json" \
        test "$(ctl check-config --json "$T/config-broken.json" | jq -r 'map(select(.severity == "error")) | map(.where) | sort | join(" ")')" = "blocklist[0] mode"
( cd "$T" && "$HIPSCTL" check-config config-b.json ) > "$T/out"; RC=$?
check "check-config of a good relative path exits 0 (rc $RC)" test "$RC" = 0 -a -n "$(grep "$T/config-b.json: OK" "$T/out")"
check "check-config applied nothing" blocked b-check "$T/bin/blocked-b"
ctl check-config "$T/missing.json" > "$T/out"; RC=$?
check "check-config of a missing file reports it (rc $RC)" test "$RC" = 1 -a -n "$(grep 'cannot read' "$T/out")"

# SIGHUP does what Reload() does.
cp "$T/config-a.json" "$T/config.json"
kill -HUP "$HIPSD_PID"
for _ in $(seq 1 100); do [ "$(prop BlockRules)" = "u 3" ] && break; sleep 0.05; done
check "SIGHUP reloads (BlockRules back to 3)" test "$(prop BlockRules)" = "u 3"
check "after SIGHUP blocked-b runs again" runs b-hup "$T/bin/blocked-b"
kill "$BUSMON" 2>/dev/null; wait "$BUSMON" 2>/dev/null

# --- SetMode flips the gate --------------------------------------------------

check "safe: a blocked exec is denied (EPERM)" blocked slow-safe "$T/bin/slow-blocked"
ctl mode functional 2>"$T/err"; RC=$?
check "mode functional exits 0 (rc $RC)" test "$RC" = 0
check "Mode property reads functional" test "$(prop Mode)" = 's "functional"'
check "mode switch in hipsd's log" grep -q "Mode is now functional" "$T/hipsd.out"
check "mode switch in the decision log" log_has '.event == "mode" and .mode == "functional"'
as_user "$T/bin/slow-blocked" --delay-ms 3000 "$T/markers/slow-functional" 2>/dev/null; RC=$?
check "functional: the blocked program is not held but started and killed (rc $RC)" test "$RC" = 137
check "functional: it did not get to write its marker" test ! -e "$T/markers/slow-functional"
check "functional: logged after the fact" \
        wait_log '.rule == "block-slow" and .action == "kill" and .layer == "after" and .mode == "functional"'
ctl mode safe; RC=$?
check "mode safe exits 0 (rc $RC)" test "$RC" = 0
check "safe again: denied at exec" blocked slow-safe2 "$T/bin/slow-blocked"
check "safe again: judged by the hold" log_has '.rule == "block-slow" and .action == "block" and .layer == "hold" and .mode == "safe"'
dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.SetMode string:sometimes > "$T/out" 2>&1
check "SetMode with an unknown mode is InvalidArgs" grep -q "^Error org.freedesktop.DBus.Error.InvalidArgs: Unknown mode 'sometimes'" "$T/out"
check "Mode unchanged after the bad call" test "$(prop Mode)" = 's "safe"'

# --- malformed calls get an error reply; hipsd keeps serving -----------------

busctl --address="$BUS_ADDRESS" call "${OBJ[@]}" SetMode u 5 > "$T/out" 2>&1; RC=$?
check "SetMode with the wrong signature fails (rc $RC)" test "$RC" != 0 -a -n "$(grep "Invalid arguments 'u'" "$T/out")"
dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.Evaluate string:/x > "$T/out" 2>&1
check "Evaluate with missing arguments is InvalidArgs" grep -q "Error org.freedesktop.DBus.Error.InvalidArgs" "$T/out"
dbus-send --system --print-reply --dest=org.hipsd1 /org/hipsd1 org.hipsd1.Manager.Frobnicate > "$T/out" 2>&1
check "an unknown method is UnknownMethod" grep -q "Error org.freedesktop.DBus.Error.UnknownMethod" "$T/out"
busctl --address="$BUS_ADDRESS" get-property "${OBJ[@]}" NoSuchProperty > "$T/out" 2>&1; RC=$?
check "an unknown property fails (rc $RC)" test "$RC" != 0
busctl --address="$BUS_ADDRESS" set-property "${OBJ[@]}" Mode s functional > "$T/out" 2>&1; RC=$?
check "properties are read-only (rc $RC)" test "$RC" != 0 -a "$(prop Mode)" = 's "safe"'
check "hipsd still serves after the malformed calls" quiet ctl status
check "hipsd is still the same process" kill -0 "$HIPSD_MAIN_PID"

# --- hipsd goes away ---------------------------------------------------------

"$HIPSCTL" monitor > "$T/mon2.out" 2> "$T/mon2.err" & MON=$!
wait_file_has "$T/mon2.err" "Monitoring hipsd decisions"
stop_hipsd
check "hipsd exits 0 on SIGTERM with the bus attached (rc $HIPSD_RC)" test "$HIPSD_RC" = 0
wait_for "$MON"; RC=$?
check "monitor exits 3 when hipsd stops (rc $RC)" test "$RC" = 3 -a -n "$(grep 'hipsd stopped' "$T/mon2.err")"
ctl status 2>"$T/err"; RC=$?
check "after hipsd stopped: status exits 3 (rc $RC)" test "$RC" = 3 -a -n "$(grep 'hipsd is not running' "$T/err")"
timeout 10 "$HIPSCTL" monitor 2>"$T/err"; RC=$?
check "after hipsd stopped: monitor exits 3 (rc $RC)" test "$RC" = 3

# --- a permissive bus: hipsd's own uid check refuses non-root ----------------

cat > "$T/permissive.conf" <<'EOC'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
        "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
        <policy user="root">
                <allow own="org.hipsd1"/>
        </policy>
        <policy context="default">
                <allow send_destination="org.hipsd1"/>
                <allow receive_sender="org.hipsd1"/>
        </policy>
</busconfig>
EOC
start_private_bus permissive "$T/permissive.conf" || fail "permissive dbus-daemon starts"
PERMISSIVE_BUS_PID=$BUS_PID
cp "$T/config-b.json" "$T/config.json"
start_hipsd && pass "hipsd starts on the permissive bus" || fail "hipsd starts on the permissive bus"
wait_file_has "$T/hipsd.out" "Serving the control API as org.hipsd1"
ctl_user reload 2>"$T/err"; RC=$?
check "permissive bus: non-root reload refused by hipsd (rc $RC)" test "$RC" = 1
check "permissive bus: the refusal is hipsd's" grep -q "Reload() is restricted to root; called by uid $TEST_UID" "$T/err"
ctl_user mode functional 2>"$T/err"; RC=$?
check "permissive bus: non-root mode refused (rc $RC)" test "$RC" = 1 -a -n "$(grep 'restricted to root' "$T/err")"
ctl_user check-config "$T/config-b.json" 2>"$T/err"; RC=$?
check "permissive bus: non-root check-config refused (rc $RC)" test "$RC" = 1
check "permissive bus: Mode is still safe" test "$(prop Mode)" = 's "safe"'
check "permissive bus: hipsd logged the refusals" \
        test "$(grep -c "Refused .*() from uid $TEST_UID" "$T/hipsd.out")" = 3
check "permissive bus: still blocked" blocked perm-b "$T/bin/blocked-b"
check "permissive bus: root may still reload" ctl reload

# --- the bus goes away: hipsd keeps gating -----------------------------------

kill "$PERMISSIVE_BUS_PID"
check "hipsd notices the bus is gone" wait_file_has "$T/hipsd.out" "Lost the connection to the system bus"
check "without the bus hipsd still blocks" blocked gone-b "$T/bin/blocked-b"
check "without the bus an allowed program still runs" runs gone-free "$T/bin/free-prog"
check "hipsd is still running" kill -0 "$HIPSD_PID"
stop_hipsd
check "hipsd exits 0 after losing the bus (rc $HIPSD_RC)" test "$HIPSD_RC" = 0
