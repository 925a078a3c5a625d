#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The terminal test: an interactive bash on a pseudo-terminal (tmux), as the
# test user, under the safe-mode gate with "gate": "auto". A program that
# reads the terminal (cat) must run normally, with no "Stopped" from job
# control; a blocked program fails with "Operation not permitted" and the
# shell carries on.
. "$(dirname "$0")/lib.sh"
setup
command -v tmux >/dev/null || skip_or_fail "needs tmux"

make_prog blocked-in-shell
cat > "$T/config.json" <<EOC
{
  "gate": "auto",
  "kernel_allowlist": ["/usr/bin/tmux", "/usr/bin/setpriv"],
  "blocklist": [ { "name": "block-in-shell", "filename": "$T/bin/blocked-in-shell" } ]
}
EOC
start_hipsd || { fail "hipsd starts"; exit 1; }

SOCK="$T/tmux.sock"
SESSION=hips-terminal
tmux -S "$SOCK" new-session -d -s "$SESSION" -x 200 -y 50 \
        "env -i HOME=$T TERM=xterm PATH=/usr/bin:/bin PS1='hips\$ ' setpriv --reuid=$TEST_UID --regid=$TEST_GID --clear-groups -- /bin/bash --norc --noprofile -i"
chmod 777 "$SOCK" 2>/dev/null

screen() { tmux -S "$SOCK" capture-pane -p -t "$SESSION" -S -200; }
wait_screen() {  # wait_screen REGEX
        for _ in $(seq 1 100); do
                screen | grep -q -- "$1" && return 0
                sleep 0.1
        done
        return 1
}
type_line() { tmux -S "$SOCK" send-keys -t "$SESSION" -l -- "$1"; tmux -S "$SOCK" send-keys -t "$SESSION" Enter; }

check "interactive bash prompt appears" wait_screen 'hips\$'
type_line "/usr/bin/cat"
sleep 0.5
type_line "typed-into-cat-42"
tmux -S "$SOCK" send-keys -t "$SESSION" C-d
type_line "echo cat-exit=\$?"
check "cat read its input and exited 0" wait_screen 'cat-exit=0'
check "cat echoed the line it read" test "$(screen | grep -c '^typed-into-cat-42$')" -ge 2
check "no job-control Stopped message" test -z "$(screen | grep -i 'stopped')"
check "cat's exec was judged by the hold layer" \
        wait_log '.filename == "/usr/bin/cat" and .layer == "hold" and .action == "allow"'

type_line "$T/bin/blocked-in-shell $T/markers/shell"
check "blocked program fails with Operation not permitted" wait_screen 'Operation not permitted\|Permission denied'
check "blocked program did not run" test ! -e "$T/markers/shell"
type_line "echo shell-still-alive"
check "the shell carries on" wait_screen '^shell-still-alive'
check "no Stopped after the block either" test -z "$(screen | grep -i 'stopped')"
check "nothing is in state T" no_stopped_processes

screen > "$T/screen.txt"
tmux -S "$SOCK" kill-server 2>/dev/null
