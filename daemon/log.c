/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_LEVEL_DEFAULT LOG_INFO

/* Longer messages are cut: this is for diagnostics, and a stack buffer keeps
 * logging free of allocations (it runs when memory is short, too). */
#define LOG_MESSAGE_MAX 4096

static int log_max_level = -1;  /* -1: not decided yet, HIPS_LOG_LEVEL is read at first use */

static int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg",
                [LOG_ALERT] = "alert",
                [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",
                [LOG_WARNING] = "warning",
                [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",
                [LOG_DEBUG] = "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;

        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';

        return -EINVAL;
}

int log_get_max_level(void) {
        if (log_max_level < 0) {
                const char *e = getenv("HIPS_LOG_LEVEL");
                int level = e ? log_level_from_string(e) : -EINVAL;

                /* An unknown value is ignored rather than reported: the
                 * logger has no one to report to but itself. */
                log_max_level = level >= 0 ? level : LOG_LEVEL_DEFAULT;
        }

        return log_max_level;
}

void log_set_max_level(int level) {
        log_max_level = LOG_PRI(level);
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected; stderr may since have been redirected, hence the fstat(). Not
 * cached: stderr can change at any time, and an fstat() is cheap next to the
 * write (diagnostics are not on a hot path). */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        uint64_t dev, ino;
        struct stat st;
        int n = 0;

        if (!e)
                return false;

        if (sscanf(e, "%" SCNu64 ":%" SCNu64 "%n", &dev, &ino, &n) != 2 || e[n] != '\0')
                return false;

        if (fstat(STDERR_FILENO, &st) < 0)
                return false;

        return (uint64_t) st.st_dev == dev && (uint64_t) st.st_ino == ino;
}

static void log_write_line(const char *prefix, const char *s, size_t n) {
        struct iovec iov[] = {
                { .iov_base = (char *) prefix, .iov_len = strlen(prefix) },
                { .iov_base = (char *) s, .iov_len = n },
                { .iov_base = (char *) "\n", .iov_len = 1 },
        };

        /* One writev() per line, so that lines of several writers do not
         * interleave. A failure has nowhere to be reported. */
        while (writev(STDERR_FILENO, iov, ELEMENTSOF(iov)) < 0 && errno == EINTR)
                ;
}

static void log_write(int level, const char *message) {
        char prefix[8] = "";
        const char *p = message;

        if (stderr_is_journal())
                (void) snprintf(prefix, sizeof(prefix), "<%d>", level);

        /* journald reads the priority prefix per line: a message with
         * newlines is written as several lines, each with the prefix. */
        do {
                size_t n = strcspn(p, "\n");

                log_write_line(prefix, p, n);
                p += n;
                if (*p == '\n')
                        p++;
        } while (*p != '\0');
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        int saved_errno = errno;
        int e = error == INT_MIN ? EINVAL : (error < 0 ? -error : error);

        level = LOG_PRI(level);
        if (level <= log_get_max_level()) {
                char buf[LOG_MESSAGE_MAX];
                va_list ap;

                /* For "%m". */
                if (e != 0)
                        errno = e;

                va_start(ap, format);
                (void) vsnprintf(buf, sizeof(buf), format, ap);
                va_end(ap);

                log_write(level, buf);
        }

        errno = saved_errno;
        return -e;
}
