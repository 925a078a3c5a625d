/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"
#include "read-full.h"
#include "util.h"

#define MOUNTINFO_MAX (16u * 1024u * 1024u)

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n &&
                    s[i + 1] >= '0' && s[i + 1] <= '3' &&
                    s[i + 2] >= '0' && s[i + 2] <= '7' &&
                    s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) (((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = '\0';
        return out;
}

/* Split one line into space-separated fields (at most max). */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *flen, size_t max) {
        size_t n = 0, i = 0;

        while (i < len && n < max) {
                while (i < len && line[i] == ' ')
                        i++;
                if (i >= len)
                        break;
                f[n] = line + i;
                while (i < len && line[i] != ' ')
                        i++;
                flen[n] = (size_t) (line + i - f[n]);
                n++;
        }
        return n;
}

int mounts_parse(const char *text, size_t size, MountEntry **ret, size_t *ret_n) {
        MountEntry *entries = NULL;
        size_t n = 0, allocated = 0;
        const char *p = text, *end = text + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *f[32];
                size_t flen[32], nf, sep = 0;
                unsigned ma, mi;
                char devbuf[32];
                bool seen = false;

                nf = split_fields(p, len, f, flen, ELEMENTSOF(f));
                /* Not p += len + 1: after a last line without a newline
                 * that would point past the end of the buffer (undefined,
                 * even without a read). */
                p = nl ? nl + 1 : end;

                /* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
                for (size_t i = 6; i < nf; i++)
                        if (flen[i] == 1 && f[i][0] == '-') {
                                sep = i;
                                break;
                        }
                if (nf < 7 || sep == 0 || sep + 1 >= nf || flen[2] >= sizeof(devbuf))
                        continue;
                memcpy(devbuf, f[2], flen[2]);
                devbuf[flen[2]] = '\0';
                if (sscanf(devbuf, "%u:%u", &ma, &mi) != 2)
                        continue;

                for (size_t i = 0; i < n && !seen; i++)
                        seen = entries[i].major == ma && entries[i].minor == mi;
                if (seen)
                        continue;

                if (n == allocated) {
                        size_t k = allocated ? allocated * 2 : 32;
                        MountEntry *t = realloc(entries, k * sizeof(*t));
                        if (!t)
                                goto oom;
                        entries = t;
                        allocated = k;
                }
                entries[n] = (MountEntry) {
                        .major = ma,
                        .minor = mi,
                        .path = unescape_octal(f[4], flen[4]),
                        .fstype = strndup(f[sep + 1], flen[sep + 1]),
                };
                if (!entries[n].path || !entries[n].fstype) {
                        n++;
                        goto oom;
                }
                n++;
        }

        *ret = entries;
        *ret_n = n;
        return 0;

oom:
        mounts_free(entries, n);
        return -ENOMEM;
}

int mounts_read(MountEntry **ret, size_t *ret_n) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = read_full_fd(fd, MOUNTINFO_MAX + 1, &buf, &size);
        if (r < 0)
                return r;
        if (size > MOUNTINFO_MAX)
                return -E2BIG;
        return mounts_parse(buf, size, ret, ret_n);
}

void mounts_free(MountEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(entries[i].path);
                free(entries[i].fstype);
        }
        free(entries);
}
