/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "read-full.h"
#include "util.h"

int read_full_fd(int fd, size_t limit, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        while (size < limit) {
                ssize_t k;

                if (size == allocated) {
                        size_t a = allocated == 0 ? 4096 : allocated * 2;
                        char *b;

                        if (a > limit)
                                a = limit;
                        b = realloc(buf, a + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = a;
                }

                k = read(fd, buf + size, allocated - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }

        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
