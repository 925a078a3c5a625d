/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

/* /proc/PID/status is read up to this size. Everything we parse comes before
 * the "Groups:" line, which is the only one that can grow large (one number
 * per supplementary group); a truncated tail is fine for the parser. */
#define PROC_STATUS_READ_MAX 8192u

#define PROC_READLINK_MAX (PATH_MAX * 2)

/* In place: buf must have room for size + 1 bytes. Returns the new length. */
static size_t nulsep_join(char *buf, size_t size) {
        /* Trailing NULs terminate the last argument (or are the padding of
         * an argv that was shortened in place): they are not separators. */
        while (size > 0 && buf[size - 1] == '\0')
                size--;

        for (size_t i = 0; i < size; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';

        buf[size] = '\0';
        return size;
}

int cmdline_from_nulsep(const char *buf, size_t size, char **ret) {
        char *s;

        if (!buf && size > 0)
                return -EINVAL;

        while (size > 0 && buf[size - 1] == '\0')
                size--;

        if (size == SIZE_MAX)
                return -ENOMEM;

        s = malloc(size + 1);
        if (!s)
                return -ENOMEM;

        if (size > 0)
                memcpy(s, buf, size);
        (void) nulsep_join(s, size);

        *ret = s;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static const char *skip_blanks(const char *p, const char *end) {
        while (p < end && is_blank(*p))
                p++;
        return p;
}

/* The bytes after "key:" when the line [p, end) starts with it, else NULL.
 * Nothing here reads past end: the input is not NUL-terminated. */
static const char *status_value(const char *p, const char *end, const char *key) {
        size_t n = strlen(key);

        if ((size_t) (end - p) <= n || memcmp(p, key, n) != 0 || p[n] != ':')
                return NULL;

        return p + n + 1;
}

/* One unsigned decimal, after optional blanks; no sign, no base prefix, at
 * most max. *p is moved past the digits. */
static int parse_decimal(const char **p, const char *end, uint32_t max, uint32_t *ret) {
        const char *s = skip_blanks(*p, end);
        uint64_t v = 0;

        if (s >= end || !is_digit(*s))
                return -EBADMSG;

        for (; s < end && is_digit(*s); s++) {
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > max)            /* checked per digit: v never overflows */
                        return -EBADMSG;
        }

        *p = s;
        *ret = (uint32_t) v;
        return 0;
}

/* Exactly n numbers and nothing but blanks after them. */
static int parse_decimals(const char *p, const char *end, uint32_t max, uint32_t *ret, size_t n) {
        uint32_t v[4];
        int r;

        if (n > ELEMENTSOF(v))
                return -EINVAL;

        for (size_t i = 0; i < n; i++) {
                r = parse_decimal(&p, end, max, &v[i]);
                if (r < 0)
                        return r;
        }

        if (skip_blanks(p, end) != end)
                return -EBADMSG;

        memcpy(ret, v, n * sizeof(uint32_t));
        return 0;
}

int proc_status_parse(const char *text, size_t size, ProcStatus *ret) {
        ProcStatus s = {
                .ppid = -1,
                .uid_real = (uid_t) -1, .uid_effective = (uid_t) -1, .uid_saved = (uid_t) -1, .uid_fs = (uid_t) -1,
                .gid_real = (gid_t) -1, .gid_effective = (gid_t) -1, .gid_saved = (gid_t) -1, .gid_fs = (gid_t) -1,
                .state = '?',           /* unknown */
        };
        bool have_name = false, have_state = false, have_ppid = false, have_uid = false, have_gid = false;
        const char *end;
        uint32_t v[4];

        if (!text)
                return -EBADMSG;
        end = text + size;

        for (const char *p = text; p < end; ) {
                const char *eol, *line_end, *val;

                eol = memchr(p, '\n', (size_t) (end - p));
                line_end = eol ?: end;

                /* The first occurrence of a key counts; the kernel prints
                 * each once, and comm cannot contain a newline (it is
                 * escaped), so a process cannot fake a later line. */
                if (!have_name && (val = status_value(p, line_end, "Name"))) {
                        size_t n;

                        /* Exactly one tab separates: a comm may itself start with blanks. */
                        if (val < line_end && *val == '\t')
                                val++;
                        n = (size_t) (line_end - val);
                        if (n >= sizeof(s.name))
                                n = sizeof(s.name) - 1;
                        memcpy(s.name, val, n);
                        s.name[n] = '\0';
                        have_name = true;

                } else if (!have_state && (val = status_value(p, line_end, "State"))) {
                        val = skip_blanks(val, line_end);
                        if (val < line_end)
                                s.state = *val;
                        have_state = true;

                } else if (!have_ppid && (val = status_value(p, line_end, "PPid"))) {
                        if (parse_decimals(val, line_end, INT32_MAX, v, 1) < 0)
                                return -EBADMSG;
                        s.ppid = (pid_t) v[0];
                        have_ppid = true;

                } else if (!have_uid && (val = status_value(p, line_end, "Uid"))) {
                        if (parse_decimals(val, line_end, UINT32_MAX, v, 4) < 0)
                                return -EBADMSG;
                        s.uid_real = v[0];
                        s.uid_effective = v[1];
                        s.uid_saved = v[2];
                        s.uid_fs = v[3];
                        have_uid = true;

                } else if (!have_gid && (val = status_value(p, line_end, "Gid"))) {
                        /* Not required (see proc.h): a bad Gid line leaves the gids unknown. */
                        if (parse_decimals(val, line_end, UINT32_MAX, v, 4) >= 0) {
                                s.gid_real = v[0];
                                s.gid_effective = v[1];
                                s.gid_saved = v[2];
                                s.gid_fs = v[3];
                        }
                        have_gid = true;
                }

                p = eol ? eol + 1 : end;
        }

        if (!have_ppid || !have_uid)
                return -EBADMSG;

        *ret = s;
        return 0;
}

/* ENOENT from /proc/PID/... means the process is gone (or never was). */
static int proc_errno(int r) {
        return r == -ENOENT ? -ESRCH : r;
}

static int proc_open(pid_t pid, const char *what) {
        char path[sizeof("/proc//") + 3 * sizeof(pid_t) + 16];
        int fd;

        if (pid <= 0)
                return -EINVAL;

        (void) snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, what);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return proc_errno(negative_errno());

        return fd;
}

/* Read until EOF or max bytes. Returns the number of bytes read. */
static ssize_t read_upto(int fd, char *buf, size_t max) {
        size_t n = 0;

        while (n < max) {
                ssize_t k = read(fd, buf + n, max - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return proc_errno(negative_errno());
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }

        return (ssize_t) n;
}

int proc_read_cmdline(pid_t pid, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        ssize_t n;
        char *shrunk;

        fd = proc_open(pid, "cmdline");
        if (fd < 0)
                return fd;

        /* Read straight into the result and join in place: one allocation
         * per exec instead of a buffer and a copy. */
        buf = malloc(PROC_CMDLINE_MAX + 1);
        if (!buf)
                return -ENOMEM;

        n = read_upto(fd, buf, PROC_CMDLINE_MAX);
        if (n < 0)
                return (int) n;

        n = (ssize_t) nulsep_join(buf, (size_t) n);

        /* Give back the unused part of the 32 KiB; failing to is harmless. */
        shrunk = realloc(buf, (size_t) n + 1);
        if (shrunk)
                buf = shrunk;

        *ret = TAKE_PTR(buf);
        return 0;
}

int proc_read_status(pid_t pid, ProcStatus *ret) {
        _cleanup_close_ int fd = -EBADF;
        char buf[PROC_STATUS_READ_MAX];
        ssize_t n;

        fd = proc_open(pid, "status");
        if (fd < 0)
                return fd;

        n = read_upto(fd, buf, sizeof(buf));
        if (n < 0)
                return (int) n;

        return proc_status_parse(buf, (size_t) n, ret);
}

/* For "/proc/<digits>/...": whether /proc/<digits> is gone. A readlink()
 * ENOENT there is either a vanished process or a link that has no target
 * (the exe of a kernel thread), and only the process directory tells. */
static bool proc_path_pid_gone(const char *path) {
        const char *p;
        char dir[sizeof("/proc/") + 3 * sizeof(pid_t)];
        size_t n;

        if (strncmp(path, "/proc/", 6) != 0)
                return false;

        p = path + 6;
        n = strspn(p, "0123456789");
        if (n == 0 || p[n] != '/' || 6 + n >= sizeof(dir))
                return false;

        memcpy(dir, path, 6 + n);
        dir[6 + n] = '\0';

        return access(dir, F_OK) < 0 && errno == ENOENT;
}

int proc_readlink(const char *path, char **ret) {
        size_t size = 256;

        if (!path)
                return -EINVAL;

        for (;;) {
                _cleanup_free_ char *buf = NULL;
                ssize_t n;

                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;

                n = readlink(path, buf, size);
                if (n < 0) {
                        int r = negative_errno();

                        if (r == -ENOENT && proc_path_pid_gone(path))
                                return -ESRCH;
                        return r;
                }

                /* readlink() truncates silently: a full buffer may be a cut link. */
                if ((size_t) n < size) {
                        buf[n] = '\0';
                        *ret = TAKE_PTR(buf);
                        return 0;
                }

                if (size >= PROC_READLINK_MAX)
                        return -ENAMETOOLONG;
                size *= 2;
                if (size > PROC_READLINK_MAX)
                        size = PROC_READLINK_MAX;
        }
}

int proc_stat_parse(const char *text, size_t size, char *ret_state, uint64_t *ret_start_ticks) {
        const char *p = NULL, *end = text + size;
        uint64_t start = 0;
        char state;

        for (size_t i = size; i > 0; i--)
                if (text[i - 1] == ')') {
                        p = text + i;
                        break;
                }
        if (!p)
                return -EBADMSG;

        /* ") S ppid ..." : field 3 is the state, field 22 the start time. */
        p = skip_blanks(p, end);
        if (p >= end)
                return -EBADMSG;
        state = *p++;
        for (unsigned field = 4; field <= 22; field++) {
                if (p >= end || !is_blank(*p))
                        return -EBADMSG;
                p = skip_blanks(p, end);
                if (field < 22) {
                        while (p < end && !is_blank(*p))
                                p++;
                        continue;
                }
                if (p >= end || !is_digit(*p))
                        return -EBADMSG;
                for (; p < end && is_digit(*p); p++) {
                        if (start > (UINT64_MAX - 9) / 10)
                                return -EBADMSG;
                        start = start * 10 + (uint64_t) (*p - '0');
                }
        }

        *ret_state = state;
        *ret_start_ticks = start;
        return 0;
}

int proc_read_stat_start(pid_t pid, char *ret_state, uint64_t *ret_start_ticks) {
        _cleanup_close_ int fd = -EBADF;
        char buf[1024];
        ssize_t n;

        fd = proc_open(pid, "stat");
        if (fd < 0)
                return fd;
        n = read_upto(fd, buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        return proc_stat_parse(buf, (size_t) n, ret_state, ret_start_ticks);
}

int proc_read_cmdline_raw(pid_t pid, char *buf, size_t size, uint32_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = proc_open(pid, "cmdline");
        if (fd < 0)
                return fd;
        n = read_upto(fd, buf, size);
        if (n < 0)
                return (int) n;
        *ret_size = (uint32_t) n;
        return 0;
}
