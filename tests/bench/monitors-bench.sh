#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What each monitor costs on the workload it watches, against the same
# hipsd with that monitor off: one hipsd, the monitor switched on and off by
# reloads, rounds interleaved (these machines are noisy: compare within one
# run only). Prints a table; with --json, one JSON object per row.
#
#   tests/bench/monitors-bench.sh [--rounds R] [--n N] [--json]
#
# Environment as for the e2e tests (meson sets HIPSD and HIPS_TEST_HELPERS).
. "$(dirname "$0")/../e2e/lib.sh"

ROUNDS=5
N=20000
JSON=
while [ $# -gt 0 ]; do
        case $1 in
                --rounds) ROUNDS=$2; shift 2 ;;
                --n) N=$2; shift 2 ;;
                --json) JSON=1; shift ;;
                *) echo "usage: $0 [--rounds R] [--n N] [--json]"; exit 2 ;;
        esac
done

setup
W=$HIPS_TEST_HELPERS/hips-test-workload
NET=$HIPS_TEST_HELPERS/hips-test-net
echo secret > "$T/watched"
echo plain > "$T/plain"
RELOADS=0

# config MONITOR: that monitor on, every other off (lineage too).
config() {
        local m=$1 on
        {
                echo '{ "tamper_action": "log", "kernel_allowlist": ["/usr/bin/true"], "monitors": {'
                for x in lineage network dns files privilege; do
                        on=false
                        [ "$x" = "$m" ] && on=true
                        printf '"%s": { "enabled": %s%s }%s\n' "$x" "$on" \
                                "$([ "$x" = files ] && echo ", \"paths\": [\"$T/watched\", \"/etc/ssh/\"]")" \
                                "$([ "$x" = privilege ] || echo ,)"
                done
                echo '} }'
        } > "$T/config.json"
}

# switch MONITOR: reload hipsd onto that config and wait until it is in force.
switch() {
        config "$1"
        kill -HUP "$HIPSD_PID"
        RELOADS=$((RELOADS + 1))
        for _ in $(seq 1 200); do
                [ "$(grep -c '^Reloaded ' "$T/hipsd.out")" -ge "$RELOADS" ] && return 0
                sleep 0.05
        done
        echo "reload did not finish"; cat "$T/hipsd.out"; exit 1
}

rate() { "$@" | sed -n 's/^per_second=//p'; }

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# row MONITOR LABEL COMMAND...: interleaved rounds with the monitor off and on.
row() {
        local m=$1 label=$2 off=() on=() i r_off r_on
        shift 2
        for i in $(seq 1 "$ROUNDS"); do
                switch none
                off+=("$(rate "$@")")
                switch "$m"
                on+=("$(rate "$@")")
        done
        r_off=$(printf '%s\n' "${off[@]}" | median)
        r_on=$(printf '%s\n' "${on[@]}" | median)
        awk -v m="$m" -v l="$label" -v a="$r_off" -v b="$r_on" -v json="$JSON" 'BEGIN {
                added_ns = 1e9 / b - 1e9 / a; pct = (a / b - 1) * 100
                if (json)
                        printf "{\"monitor\":\"%s\",\"workload\":\"%s\",\"off_per_s\":%d,\"on_per_s\":%d,\"added_ns_per_op\":%.0f,\"added_pct\":%.1f}\n", m, l, a, b, added_ns, pct
                else
                        printf "%-10s %-34s %12d %12d %+10.0f ns %+8.1f %%\n", m, l, a, b, added_ns, pct
        }'
}

config none
start_hipsd || exit 1
[ -n "$JSON" ] || printf "%-10s %-34s %12s %12s %13s %10s\n" monitor "workload (median of $ROUNDS)" "off /s" "on /s" "added/op" "added"
row lineage "fork+exit+wait" "$W" fork $((N / 4))
row lineage "fork+exec(/usr/bin/true)+wait" "$W" exec /usr/bin/true $((N / 10))
row network "tcp connect+accept+close, ipv4" "$NET" tcp-loop 127.0.0.1 $((N / 4))
row network "tcp connect+accept+close, ipv6" "$NET" tcp-loop ::1 $((N / 4))
row network "udp sendto+recv" "$NET" udp-loop 127.0.0.1 "$N"
row files "open+close, file not watched" "$W" open "$T/plain" $((N * 5))
row files "open+close, watched file (event)" "$W" open "$T/watched" "$N"
row files "open+close, /etc/passwd (in /etc)" "$W" open /etc/passwd $((N * 5))
row dns "getaddrinfo(localhost)" "$W" resolve localhost "$N"
row privilege "setresuid(-1,-1,-1): no change" "$W" setuid-same $((N * 5))
row privilege "seteuid flip (2 changes, events)" "$W" setuid-flip "$N"
stop_hipsd
