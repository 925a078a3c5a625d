#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-fuzzer.sh FUZZER CORPUS ARTIFACT_DIR [libFuzzer options...]
#
# Runs a libFuzzer target on a copy of the committed seed corpus, so that
# what it adds to its corpus never lands in the source tree. A crash, a leak,
# a timeout or a violated property is written to ARTIFACT_DIR (and printed in
# base64 by libFuzzer) and fails the test: add that input to the corpus once
# the bug is fixed.
set -euo pipefail

fuzzer=$1
corpus=$2
artifacts=$3
shift 3

if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
        echo "seed corpus $corpus is missing or empty" >&2
        exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hips-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$corpus/." "$work/"
mkdir -p "$artifacts"

# Exit status 77 means "skipped" to meson, and libFuzzer's default for a
# leak or another error it detects itself is 77: make every finding a failure.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
"$fuzzer" -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$@" "$work" || rc=$?

if [ "$rc" -ne 0 ]; then
        echo "$(basename "$fuzzer") failed (exit status $rc); inputs kept in $artifacts:" >&2
        ls -l "$artifacts" >&2 || :
        [ "$rc" -eq 77 ] && rc=1
fi
exit "$rc"
