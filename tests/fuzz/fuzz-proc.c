/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: the parsers for what the kernel tells about a process
 * and its mounts, all on the same bytes:
 * - proc_status_parse() (/proc/PID/status),
 * - proc_stat_parse() (/proc/PID/stat: state and start time),
 * - cmdline_from_nulsep() (/proc/PID/cmdline, the BPF argv buffer),
 * - mounts_parse() (/proc/self/mountinfo).
 * A process controls its comm and its argv, so these see hostile bytes.
 *
 * Properties, besides "no crash, no leak, no undefined behaviour": results
 * are NUL-terminated strings no longer than the input, the output of a
 * failed parse is left untouched, the cmdline is exactly the input with
 * trailing NULs dropped and the other NULs turned into spaces, and whatever
 * a process puts in its comm cannot change the state or start time read
 * from its stat line. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mounts.h"
#include "proc.h"
#include "util.h"

static void check_status(const char *text, size_t size) {
        ProcStatus st, untouched;
        int r;

        memset(&st, 0x5a, sizeof(st));
        untouched = st;

        r = proc_status_parse(text, size, &st);
        if (r < 0) {
                fuzz_check(r == -EBADMSG);
                /* ret_... is written only on success. */
                fuzz_check(memcmp(&st, &untouched, sizeof(st)) == 0);
                return;
        }

        fuzz_check(r == 0);
        fuzz_check(memchr(st.name, 0, sizeof(st.name)));
        fuzz_check(strlen(st.name) <= size);
        fuzz_check(st.ppid >= 0);
        /* The state is a byte of the input, or '?' when not given. */
        fuzz_check(st.state == '?' || memchr(text, st.state, size));
}

/* The bytes after the last ')' (the end of comm), or NULL. */
static const char *after_comm(const char *text, size_t size) {
        for (size_t i = size; i > 0; i--)
                if (text[i - 1] == ')')
                        return text + i;
        return NULL;
}

static bool mem_contains(const char *p, size_t n, const char *needle) {
        return memmem(p, n, needle, strlen(needle)) != NULL;
}

static void check_stat(const char *text, size_t size) {
        const char *tail;
        uint64_t start = 0x5a5a5a5a;
        char state = 0x5a, digits[32];
        int r;

        r = proc_stat_parse(text, size, &state, &start);
        if (r < 0) {
                fuzz_check(r == -EBADMSG);
                fuzz_check(state == 0x5a && start == 0x5a5a5a5a);
                return;
        }

        fuzz_check(r == 0);
        tail = after_comm(text, size);
        fuzz_check(tail);
        /* Both come from after comm: the state is a byte there (not a
         * blank), the start time a number written there. */
        fuzz_check(state != ' ' && state != '\t');
        fuzz_check(memchr(tail, state, (size_t) (text + size - tail)));
        (void) snprintf(digits, sizeof(digits), "%" PRIu64, start);
        fuzz_check(mem_contains(tail, (size_t) (text + size - tail), digits));
}

/* The input as the comm of a well-formed stat line: the kernel prints comm
 * as the process set it, spaces, ')' and newlines included. */
static void check_stat_hostile_comm(const char *text, size_t size) {
        _cleanup_free_ char *line = NULL;
        char head[32], tail[160];
        size_t n = size < 64 ? size : 64, hn, tn;
        uint64_t start = 0, parsed_start;
        char parsed_state;
        int r;

        for (size_t i = 0; i < n; i++)
                start = start * 31 + (unsigned char) text[i];
        start &= UINT64_MAX >> 4;

        hn = (size_t) snprintf(head, sizeof(head), "%d (", 4242);
        tn = (size_t) snprintf(tail, sizeof(tail),
                               ") T 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %" PRIu64 " 1000 100 0\n",
                               start);
        fuzz_check(hn < sizeof(head) && tn < sizeof(tail));

        /* Exactly the line's bytes on the heap: ASan sees a read past it. */
        line = malloc(hn + n + tn);
        fuzz_check(line);
        memcpy(line, head, hn);
        memcpy(line + hn, text, n);
        memcpy(line + hn + n, tail, tn);

        r = proc_stat_parse(line, hn + n + tn, &parsed_state, &parsed_start);
        fuzz_check(r == 0);
        fuzz_check(parsed_state == 'T');
        fuzz_check(parsed_start == start);
}

static void check_cmdline(const char *buf, size_t size) {
        _cleanup_free_ char *s = NULL;
        size_t n = size;
        int r;

        r = cmdline_from_nulsep(buf, size, &s);
        fuzz_check(r == 0);
        fuzz_check(s);

        while (n > 0 && buf[n - 1] == '\0')
                n--;

        fuzz_check(strlen(s) == n);
        for (size_t i = 0; i < n; i++)
                fuzz_check(s[i] == (buf[i] == '\0' ? ' ' : buf[i]));
}

static void check_mounts(const char *text, size_t size) {
        MountEntry *entries = NULL;
        size_t n = 0, lines = 1;
        int r;

        r = mounts_parse(text, size, &entries, &n);
        fuzz_check(r == 0);
        fuzz_check(entries || n == 0);

        for (size_t i = 0; i < size; i++)
                lines += text[i] == '\n';
        /* At most one entry per line. */
        fuzz_check(n <= lines);

        for (size_t i = 0; i < n; i++) {
                const MountEntry *e = &entries[i];

                fuzz_check(e->path && e->fstype);
                fuzz_check(strlen(e->path) <= size);
                fuzz_check(strlen(e->fstype) <= size);
                /* A field ends at a space or at the end of the line. (It
                 * may be empty: the kernel prints no NUL bytes, and one in a
                 * field just ends the string there.) */
                fuzz_check(!strpbrk(e->fstype, " \n"));

                /* One entry per device: the first mount point of each. */
                for (size_t k = 0; k < i; k++)
                        fuzz_check(entries[k].major != e->major || entries[k].minor != e->minor);
        }

        mounts_free(entries, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;

        /* libFuzzer hands over exactly size bytes, no terminator: ASan
         * reports any read past the end. */
        check_status(text, size);
        check_stat(text, size);
        check_stat_hostile_comm(text, size);
        check_cmdline(text, size);
        check_mounts(text, size);

        return 0;
}
